"""Figures of experiment 1: closed-form curves beside the exact operator, and the M and N sweeps."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, convention_label, new_figure, save_figure

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context


def draw(data: dict, s: Settings, ctx: Context) -> None:
    """``curves.png`` and ``dependence_on_M_N.png`` from the runner's data (keys of the sweeps are M or N as text)."""
    _plot_curves(s, data["curves"], ctx.figure("curves.png"))
    by_M = {int(m): _finite(v) for m, v in data["iterations_to_target_by_M"].items()}
    by_N = {int(n): _finite(v) for n, v in data["iterations_to_target_by_N"].items()}
    _plot_sweeps(s, data["accuracy_by_M"], data["accuracy_by_N"], by_M, by_N, ctx.figure("dependence_on_M_N.png"))


def _finite(v) -> float:
    """A stored iteration count: None (never reached, stored as null) becomes NaN, drawn as a gap."""
    return np.nan if v is None else v

def _plot_curves(s, curves: dict, path) -> None:
    fig, axes = new_figure(ncols=2, width=5.4)
    t = np.arange(s.iterations + 1)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for (lam, c), color in zip(curves.items(), colors):
        axes[0, 0].plot(t, c["accuracy"], "-", color=color, label=f"closed form, lam0={lam}")
        axes[0, 0].plot(t, c["exact_accuracy"], "o", ms=4, mfc="none", color=color, label=f"exact operator (64x64 matrices), lam0={lam}")
        lam_arr = np.asarray(c["lam"])
        for n in range(lam_arr.shape[1]):
            axes[0, 1].plot(t, lam_arr[:, n], ["-", "--", ":", "-."][n % 4], color=color,
                            label=f"lam0={lam}, step {n + 1}")
    axes[0, 0].set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    axes[0, 0].legend(fontsize=7)
    axes[0, 1].set(xlabel=ITERATION_LABEL, ylim=(-0.02, 1.02))
    axes[0, 1].set_ylabel(convention_label("lam"), fontsize=8)
    axes[0, 1].legend(fontsize=7, ncol=2)
    fig.suptitle(f"Exact STaR on the symmetric family, M={s.M}, N={s.N} (convention: lam)", fontsize=10)
    save_figure(fig, path)


def _plot_sweeps(s, curves_M, curves_N, by_M, by_N, path) -> None:
    fig, axes = new_figure(ncols=3, width=4.4)
    t = np.arange(s.iterations + 1)
    for m, acc in curves_M.items():
        axes[0, 0].plot(t, acc, "-", label=f"M={m}")
    axes[0, 0].set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, title=f"N={s.N}, lam0={s.sweep_lam}", ylim=(-0.02, 1.02))
    axes[0, 0].legend(fontsize=7)
    for n, acc in curves_N.items():
        axes[0, 1].plot(t, acc, "-", label=f"N={n}")
    axes[0, 1].set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, title=f"M={s.M}, lam0={s.sweep_lam}", ylim=(-0.02, 1.02))
    axes[0, 1].legend(fontsize=7)
    ax = axes[0, 2]
    ax.plot(list(by_M), [v if np.isfinite(v) else np.nan for v in by_M.values()], "-o", label=f"vs M (N={s.N})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("M (states per level, log scale)")
    ax.set_ylabel(f"iterations to reach J >= {s.target} (log scale)")
    ax2 = ax.twiny()
    ax2.plot(list(by_N), [v if np.isfinite(v) else np.nan for v in by_N.values()], "-s", color="tab:red", label=f"vs N (M={s.M})")
    ax2.set_xlabel("N (reasoning steps)", color="tab:red")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="upper left")
    fig.suptitle(f"Dependence on M and N of exact STaR (convention: lam, initial lam0={s.sweep_lam} on every step)", fontsize=10)
    save_figure(fig, path)

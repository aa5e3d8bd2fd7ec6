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


def _iterations_panel(ax, by: dict, color: str, marker: str, xlabel: str, fixed: str, target: float) -> None:
    """Iterations to the target against one size (the other fixed), on log-log axes of their own."""
    ax.plot(list(by), [v if np.isfinite(v) else np.nan for v in by.values()], "-" + marker, color=color)
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(list(by), [str(k) for k in by])  # the sizes swept, as numbers
    ax.xaxis.set_minor_formatter(NullFormatter())
    finite = [v for v in by.values() if np.isfinite(v) and v > 0]
    wide = bool(finite) and max(finite) / min(finite) > 10  # over a decade: label the minor ticks 2 and 5 only

    def minor(v, _):
        lead = round(v / 10 ** np.floor(np.log10(v))) if v > 0 else 0
        return f"{v:g}" if not wide or lead in (2, 5) else ""

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_formatter(FuncFormatter(minor))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(f"iterations to reach J >= {target} (log scale)")
    ax.set_title(f"iterations to the target against {xlabel.split()[0]}, {fixed}", fontsize=9)


def _plot_sweeps(s, curves_M, curves_N, by_M, by_N, path) -> None:
    fig, axes = new_figure(ncols=2, nrows=2, width=5.2, height=4.4)
    t = np.arange(s.iterations + 1)
    for m, acc in curves_M.items():
        axes[0, 0].plot(t, acc, "-", label=f"M={m}")
    axes[0, 0].set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    axes[0, 0].set_title(f"accuracy for each M: N={s.N}, lam0={s.sweep_lam}", fontsize=9)
    axes[0, 0].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), title="M", title_fontsize=7)
    for n, acc in curves_N.items():
        axes[0, 1].plot(t, acc, "-", label=f"N={n}")
    axes[0, 1].set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    axes[0, 1].set_title(f"accuracy for each N: M={s.M}, lam0={s.sweep_lam}", fontsize=9)
    axes[0, 1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5), title="N", title_fontsize=7)
    _iterations_panel(axes[1, 0], by_M, "tab:blue", "o", "M (states per level, log scale)", f"N={s.N}", s.target)
    _iterations_panel(axes[1, 1], by_N, "tab:red", "s", "N (reasoning steps, log scale)", f"M={s.M}", s.target)
    fig.suptitle(f"Dependence on M and N of exact STaR (convention: lam, initial lam0={s.sweep_lam} on every step)", fontsize=10)
    save_figure(fig, path)

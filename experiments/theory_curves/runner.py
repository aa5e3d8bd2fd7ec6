"""Closed-form STaR trajectories for the analysis's setting, and their dependence on M and N.

The closed form is checked against the exact operator on explicit 64x64 matrices (independent
code paths: algebra of the family versus forward/backward passes on the tabular policy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from star_theory import (
    exact_star_step,
    fit_symmetric,
    iterations_to_accuracy,
    star_trajectory,
    symmetric_policy,
    symmetric_task,
    symmetric_trajectory,
    accuracy,
)
from star_theory.config import check, option
from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, convention_label, new_figure, save_figure


@dataclass(frozen=True)
class Settings:
    M: int = option(64, "states per level (the analysis: 64)")
    N: int = option(3, "reasoning steps (the analysis: 3)")
    lams: tuple[float, ...] = option([0.1, 0.2], "initial lam (same for every step), one curve each")
    iterations: int = option(12, "STaR iterations T")
    target: float = option(0.99, "target accuracy for 'iterations to target'")
    M_values: tuple[int, ...] = option([4, 64, 1024], "M values of the dependence-on-M sweep")
    N_values: tuple[int, ...] = option([1, 3, 5], "N values of the dependence-on-N sweep")
    sweep_lam: float = option(0.2, "initial lam of the M and N sweeps")

    def __post_init__(self):
        check(self.M >= 2 and self.N >= 1, f"need M >= 2 and N >= 1, got M={self.M}, N={self.N}")
        check(self.iterations >= 1, f"iterations must be >= 1, got {self.iterations}")
        check(0 < self.target <= 1, f"target must be in (0, 1], got {self.target}")
        check(all(m >= 2 for m in self.M_values), "M_values must be >= 2")
        check(all(n >= 1 for n in self.N_values), "N_values must be >= 1")


def run(s: Settings, ctx) -> dict:
    curves = {}
    task = symmetric_task(s.M, s.N, seed=ctx.child_seed("task"))
    for lam in s.lams:
        tr = symmetric_trajectory(s.M, s.iterations, lam=[lam] * s.N)
        exact = star_trajectory(symmetric_policy(task, lam=[lam] * s.N), task, s.iterations, step=exact_star_step)
        exact_acc = np.array([accuracy(p, task) for p in exact])
        exact_lam = np.array([fit_symmetric(p, task).lam for p in exact])
        curves[str(lam)] = {
            "accuracy": tr.accuracy,
            "lam": tr.lam,
            "eps": tr.eps,
            "flawed_share": tr.flawed_share,
            "exact_accuracy": exact_acc,
            "exact_lam": exact_lam,
            "max_abs_diff_closed_vs_exact": float(max(np.abs(exact_acc - tr.accuracy).max(),
                                                      np.abs(exact_lam - tr.lam).max())),
            "iterations_to_target": float(iterations_to_accuracy(s.M, s.target, lam=[lam] * s.N)),
        }
    by_M = {int(m): float(iterations_to_accuracy(m, s.target, lam=[s.sweep_lam] * s.N)) for m in s.M_values}
    by_N = {int(n): float(iterations_to_accuracy(s.M, s.target, lam=[s.sweep_lam] * n)) for n in s.N_values}
    curves_M = {int(m): symmetric_trajectory(m, s.iterations, lam=[s.sweep_lam] * s.N).accuracy for m in s.M_values}
    curves_N = {int(n): symmetric_trajectory(s.M, s.iterations, lam=[s.sweep_lam] * n).accuracy for n in s.N_values}
    _plot_curves(s, curves, ctx.figure("curves.png"))
    _plot_sweeps(s, curves_M, curves_N, by_M, by_N, ctx.figure("dependence_on_M_N.png"))
    return {"curves": curves, "iterations_to_target_by_M": by_M, "iterations_to_target_by_N": by_N,
            "accuracy_by_M": curves_M, "accuracy_by_N": curves_N, "convention": "lam"}


def _plot_curves(s: Settings, curves: dict, path) -> None:
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

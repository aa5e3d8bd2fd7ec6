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
from star_theory.config import check

from ..shared_settings import AnalysisSize, setting


@dataclass(frozen=True)
class Settings(AnalysisSize):
    lams: tuple[float, ...] = setting("initial lam (same for every step), one curve each")
    iterations: int = setting("STaR iterations T")
    target: float = setting("target accuracy for 'iterations to target'")
    M_values: tuple[int, ...] = setting("M values of the dependence-on-M sweep")
    N_values: tuple[int, ...] = setting("N values of the dependence-on-N sweep")
    sweep_lam: float = setting("initial lam of the M and N sweeps")

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
    return {"curves": curves, "iterations_to_target_by_M": by_M, "iterations_to_target_by_N": by_N,
            "accuracy_by_M": curves_M, "accuracy_by_N": curves_N, "convention": "lam"}

r"""The ``N = 3`` zero-step cases of experiment 3: every step at ``base_lam`` except the steps of a
*zero set*, which start at :math:`\lambda = 0`, run three ways: the closed form, the exact operator on
explicit ``M x M`` matrices (fitted back to ``lam``), and sampled STaR with ``K`` chains per question
over ``seeds`` runs (fitted ``lam`` and the distance of the refit kernels from the family per iteration)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory import (
    accuracy,
    fit_symmetric,
    iterations_to_accuracy,
    make_variant,
    star_trajectory,
    symmetric_policy,
    symmetric_trajectory,
)
from star_theory.sim.summary import first_reach, seed_band

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context
    from star_theory import ReasoningTask


def zero_step_case(s: Settings, task: ReasoningTask, name: str, lam0: np.ndarray, ctx: Context) -> dict:
    """One case from the initial vector ``lam0``: closed form, exact matrices and sampled runs."""
    T = s.iterations
    tr = symmetric_trajectory(s.M, T, lam=lam0)
    policies = star_trajectory(symmetric_policy(task, lam=lam0), task, T)
    ex_acc = np.array([accuracy(p, task) for p in policies])
    ex_lam = np.stack([fit_symmetric(p, task).lam for p in policies])
    moved = [max(float(np.max(np.abs(a - b))) for a, b in zip(p.kernels, q.kernels))
             for p, q in zip(policies[:-1], policies[1:])]
    return {
        "initial_lam": lam0.tolist(),
        "closed_form": {"accuracy": tr.accuracy, "lam": tr.lam,
                        "iterations_to_target": float(iterations_to_accuracy(s.M, s.target, lam=lam0, max_iterations=T))},
        "exact_matrices": {"accuracy": ex_acc, "lam": ex_lam, "max_kernel_change": moved,
                           "iterations_to_target": first_reach(ex_acc, s.target)},
        "max_abs_diff_closed_vs_exact": float(max(np.abs(ex_acc - tr.accuracy).max(), np.abs(ex_lam - tr.lam).max())),
        "sampled": _sampled_runs(s, task, name, lam0, ctx),
    }


def _sampled_runs(s, task, name: str, lam0: np.ndarray, ctx) -> dict:
    """``s.seeds`` runs of sampled STaR (K chains per question): J, fitted lam and misfit per run and iteration."""
    T = s.iterations
    seeds = [ctx.child_seed("case", name, i) for i in range(s.seeds)]
    acc_runs = np.empty((s.seeds, T + 1))
    lam_runs = np.empty((s.seeds, T + 1, s.N))
    misfit_runs = np.empty((s.seeds, T + 1, s.N))
    for i, seed in enumerate(seeds):
        step = make_variant("star").sampled(s.K, np.random.default_rng(seed))
        runs = star_trajectory(symmetric_policy(task, lam=lam0), task, T, step=step)
        fits = [fit_symmetric(p, task) for p in runs]
        acc_runs[i] = [accuracy(p, task) for p in runs]
        lam_runs[i] = [f.lam for f in fits]
        misfit_runs[i] = [f.distance for f in fits]
    mean, lo, hi = seed_band(acc_runs, "percentile", s.level)
    return {
        "K": s.K, "seeds": seeds, "accuracy_runs": acc_runs, "lam_runs": lam_runs, "misfit_runs": misfit_runs,
        "mean_accuracy": mean, "band_lo": lo, "band_hi": hi,
        "mean_lam": lam_runs.mean(axis=0), "sd_lam": lam_runs.std(axis=0, ddof=1),
        "mean_misfit": misfit_runs.mean(axis=0),
    }

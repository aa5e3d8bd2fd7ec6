"""Tabular STaR started from any kernel: finite-sample runs over seeds, summarised.

The finite-sample theory beside a measured model: :func:`tabular_star_runs` runs STaR with ``K``
chains per question from a given policy (for instance the kernel measured from an LLM) and
returns each run's accuracy ``J``, fitted ``lam`` (bijective tasks) and flawed-chain share, with
the mean and the 5-95% band over runs.
"""

from __future__ import annotations

import numpy as np

from ..exact import accuracy, flawed_chain_share
from ..model import fit_symmetric
from ..sizes import check_memory, simulate_bytes
from ..validation import _as_int, as_iterations, as_seeds
from .sampling import _check_pair
from .summary import percentile_band
from .variants import make_variant


def tabular_star_runs(policy, task, K: int, iterations: int, seeds) -> dict:
    """Finite-sample STaR (``K`` chains per question) from ``policy``: accuracy, lam and flawed share per run."""
    _check_pair(policy, task)
    K = _as_int(K, "K (chains per question)", 1)
    iterations = as_iterations(iterations)
    seeds = as_seeds(seeds)
    check_memory(simulate_bytes(task.sizes, K, len(seeds), iterations), f"tabular STaR runs with K={K}, "
                 f"{len(seeds)} seeds and {iterations} iterations")
    star = make_variant("star")
    acc = np.empty((len(seeds), iterations + 1))
    share = np.empty((len(seeds), iterations + 1))
    lam = np.full((len(seeds), iterations + 1, task.n_steps), np.nan)
    dist = np.full((len(seeds), iterations + 1, task.n_steps), np.nan)
    for i, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        p = policy
        for t in range(iterations + 1):
            acc[i, t] = accuracy(p, task)
            share[i, t] = flawed_chain_share(p, task)
            if task.is_bijective():
                fit = fit_symmetric(p, task)
                lam[i, t], dist[i, t] = fit.lam, fit.distance
            if t < iterations:
                p = star.sampled_step(p, task, K, rng, "keep", 1.0).policy
    mean, lo, hi = percentile_band(acc, 5, 95)
    share_mean, share_lo, share_hi = percentile_band(share, 5, 95)
    return {"seeds": list(seeds), "accuracy_runs": acc, "mean": mean, "lo": lo, "hi": hi,
            "lam_mean": np.nanmean(lam, axis=0) if task.is_bijective() else None,
            "lam_runs": lam if task.is_bijective() else None,
            "distance_runs": dist if task.is_bijective() else None,
            "flawed_share_mean": share_mean, "flawed_share_lo": share_lo, "flawed_share_hi": share_hi}

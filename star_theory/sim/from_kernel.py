"""Tabular STaR started from any kernel: finite-sample runs over seeds, summarised.

The finite-sample theory beside a measured model: :func:`tabular_star_runs` runs STaR with ``K``
chains per question from a given policy (for instance the kernel measured from an LLM) and
returns each run's accuracy ``J``, fitted ``lam`` (bijective tasks) and flawed-chain share, with
the mean and the 5-95% band over runs. Its rule for rows with no kept data is ``empty_rows``
(:mod:`star_theory.empty_rows`), and ``questions`` restricts the kept chains to a subset of the
questions (STaR trained on part of them; every question is still sampled and measured).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..aliases import RandomSource, StepStrings
from ..errors import InputError
from ..exact import accuracy, accuracy_on, flawed_chain_share, question_mask
from ..model import ReasoningTask, TabularPolicy, check_pair, fit_symmetric
from ..sizes import check_memory, simulate_bytes
from ..validation import as_int, as_iterations, as_seeds
from ..sampling import as_generator, keep_mask, refit_from_counts, sample_chains
from .summary import percentile_band
from ..variants import kept_counts


def tabular_star_step(policy: TabularPolicy, task: ReasoningTask, K: int, rng: RandomSource, empty_rows: str = "keep",
                      questions: ArrayLike | None = None, strings: StepStrings | None = None,
                      rule: Any = None) -> TabularPolicy:
    """One finite-sample STaR step: ``K`` chains per question, keep the correct chains of
    ``questions`` (default all), refit from the kept counts with ``empty_rows``. With ``rule`` (an
    update-rule object, :mod:`star_theory.rule_protocol`): that rule's sampled form instead
    (``questions`` and ``strings`` are STaR's only)."""
    rng = as_generator(rng)
    if rule is not None:
        if questions is not None or strings is not None:
            raise InputError("questions and strings apply to the plain STaR step only, not to a rule's sampled form")
        return rule.sampled_step(policy, task, K, rng, empty_rows).policy
    chains = sample_chains(policy, task, K, rng)
    keep = keep_mask(chains, task)
    if questions is not None:
        keep &= question_mask(questions, task)[chains[:, 0]]
    return refit_from_counts(kept_counts(chains[keep], task), policy, empty_rows, strings=strings)


def tabular_star_runs(policy: TabularPolicy, task: ReasoningTask, K: int, iterations: int, seeds: Sequence[int],
                      empty_rows: str = "keep", questions: ArrayLike | None = None, strings: StepStrings | None = None,
                      rule: Any = None) -> dict:
    """Finite-sample STaR (``K`` chains per question) from ``policy``: accuracy, lam and flawed share per run.

    ``empty_rows``, ``questions``, ``strings`` and ``rule`` as in :func:`tabular_star_step`. With
    ``questions``, the result also holds ``accuracy_train_runs`` / ``accuracy_heldout_runs``
    (``J`` over the kept questions and over the others; shape ``(runs, iterations + 1)``) and their bands.
    """
    check_pair(policy, task)
    K = as_int(K, "K (chains per question)", 1)
    iterations = as_iterations(iterations)
    seeds = as_seeds(seeds)
    check_memory(simulate_bytes(task.sizes, K, len(seeds), iterations), f"tabular STaR runs with K={K}, "
                 f"{len(seeds)} seeds and {iterations} iterations")
    acc = np.empty((len(seeds), iterations + 1))
    share = np.empty((len(seeds), iterations + 1))
    lam = np.full((len(seeds), iterations + 1, task.n_steps), np.nan)
    dist = np.full((len(seeds), iterations + 1, task.n_steps), np.nan)
    split = questions is not None
    if split:
        trained = question_mask(questions, task)
        heldout = np.flatnonzero(~trained)
        acc_train = np.empty_like(acc)
        acc_held = np.full_like(acc, np.nan)
    for i, seed in enumerate(seeds):
        rng = np.random.default_rng(seed)
        p = policy
        for t in range(iterations + 1):
            acc[i, t] = accuracy(p, task)
            share[i, t] = flawed_chain_share(p, task)
            if split:
                acc_train[i, t] = accuracy_on(p, task, np.flatnonzero(trained))
                if heldout.size:
                    acc_held[i, t] = accuracy_on(p, task, heldout)
            if task.is_bijective():
                fit = fit_symmetric(p, task)
                lam[i, t], dist[i, t] = fit.lam, fit.distance
            if t < iterations:
                p = tabular_star_step(p, task, K, rng, empty_rows, questions, strings, rule)
    mean, lo, hi = percentile_band(acc, 5, 95)
    share_mean, share_lo, share_hi = percentile_band(share, 5, 95)
    out = {"seeds": list(seeds), "accuracy_runs": acc, "mean": mean, "lo": lo, "hi": hi,
           "lam_mean": np.nanmean(lam, axis=0) if task.is_bijective() else None,
           "lam_runs": lam if task.is_bijective() else None,
           "distance_runs": dist if task.is_bijective() else None,
           "flawed_share_mean": share_mean, "flawed_share_lo": share_lo, "flawed_share_hi": share_hi,
           "empty_rows": empty_rows, "questions": None if questions is None else np.flatnonzero(trained).tolist()}
    if split:
        for name, runs in (("train", acc_train), ("heldout", acc_held)):
            out[f"accuracy_{name}_runs"] = runs
            if np.all(np.isfinite(runs)):  # NaN: that part has no question of positive weight
                out[f"accuracy_{name}_mean"], out[f"accuracy_{name}_lo"], out[f"accuracy_{name}_hi"] = \
                    percentile_band(runs, 5, 95)
    return out

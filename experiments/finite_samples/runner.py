"""Finite-sample STaR (the simulator) for several K beside the exact curve and the closed forms
for the first iteration: P(no kept chain) = prod_s0 (1 - J(s0))^K and E[kept] = K sum_s0 J(s0).

The first-iteration statistics are also measured directly over ``first_step_trials`` independent
draws, so the closed forms are checked against frequencies with a known binomial error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from star_theory import (
    SimulateConfig,
    accuracy,
    exact_star_step,
    make_variant,
    star_trajectory,
    expected_kept_count,
    keep_mask,
    kept_count_variance,
    prob_no_kept_chain,
    sample_chains,
    simulate,
    symmetric_policy,
    symmetric_task,
)
from star_theory.config import check

from ..shared_settings import AnalysisSize, setting


@dataclass(frozen=True)
class Settings(AnalysisSize):
    lam: float = setting("initial lam on every step")
    K_values: tuple[int, ...] = setting("chains per question, one sweep each")
    seeds: int = setting("independent runs per K (seeds derive from the experiment seed)")
    iterations: int = setting("STaR iterations")
    first_step_trials: int = setting("independent first iterations drawn to measure P(no kept) and E[kept]")
    coverage_M: int = setting("states per level of the coverage run (K large against M: the band should hold the exact curve)")
    coverage_lam: float = setting("initial lam of the coverage run")
    coverage_K: int = setting("chains per question of the coverage run")
    coverage_seeds: int = setting("runs of the coverage run (enough for the mean test to resolve the lag of a few 0.001 in J)")
    one_step_from: tuple[int, ...] = setting("exact iterates P^t from which single sampled steps are drawn (coverage M, K)")
    one_step_draws: int = setting("sampled steps drawn from each exact iterate (measures the bias of one refit)")

    def __post_init__(self):
        check(self.M >= 2 and self.N >= 1, "need M >= 2 and N >= 1")
        check(all(k >= 1 for k in self.K_values) and len(self.K_values) >= 1, "K_values must be >= 1")
        check(self.seeds >= 2, f"seeds must be >= 2, got {self.seeds}")
        check(self.iterations >= 1 and self.first_step_trials >= 10, "iterations >= 1 and first_step_trials >= 10")
        check(self.one_step_draws >= 2 and all(t >= 0 for t in self.one_step_from), "one_step_draws >= 2, one_step_from >= 0")


def _first_step(s: Settings, K: int, seed: int) -> dict:
    task = symmetric_task(s.M, s.N)
    policy = symmetric_policy(task, lam=s.lam)
    rng = np.random.default_rng(seed)
    kept = np.array([keep_mask(sample_chains(policy, task, K, rng), task).sum() for _ in range(s.first_step_trials)])
    return {
        "p_no_kept_closed": prob_no_kept_chain(policy, task, K),
        "p_no_kept_measured": float((kept == 0).mean()),
        "expected_kept_closed": expected_kept_count(policy, task, K),
        "kept_sd_closed": float(np.sqrt(kept_count_variance(policy, task, K))),
        "kept_mean_measured": float(kept.mean()),
        "trials": s.first_step_trials,
    }


def _one_step(s: Settings, seed: int) -> dict:
    """J of single sampled steps (coverage M and K) from exact iterates P^t, against J of the exact step.

    The sampled refit is a ratio of pooled counts, so its expectation differs from the exact operator
    by O(1/n); this measures how large that is at these settings, per starting iterate.
    """
    task = symmetric_task(s.coverage_M, s.N)
    star = make_variant("star")
    traj = star_trajectory(symmetric_policy(task, lam=s.coverage_lam), task, max(s.one_step_from) + 1)
    rng = np.random.default_rng(seed)
    out = {}
    for t in s.one_step_from:
        draws = [accuracy(star.sampled_step(traj[t], task, s.coverage_K, rng, "keep", 1.0).policy, task)
                 for _ in range(s.one_step_draws)]
        out[str(t)] = {"exact_next": accuracy(exact_star_step(traj[t], task), task), "sampled_next": draws}
    return out


def run(s: Settings, ctx) -> dict:
    out = {}
    for K in s.K_values:
        seeds = [ctx.child_seed("K", K, i) for i in range(s.seeds)]
        cfg = SimulateConfig(task="symmetric", M=s.M, N=s.N, lam=(s.lam,), chains_per_question=K,
                             seeds=tuple(seeds), iterations=s.iterations, band="percentile", level=0.9)
        res = simulate(cfg, progress=ctx.progress)
        res["first_step"] = _first_step(s, K, ctx.child_seed("first", K))
        out[str(K)] = res
    cfg = SimulateConfig(task="symmetric", M=s.coverage_M, N=s.N, lam=(s.coverage_lam,), chains_per_question=s.coverage_K,
                         seeds=tuple(ctx.child_seed("coverage", i) for i in range(s.coverage_seeds)),
                         iterations=s.iterations, band="percentile", level=0.9)
    coverage = simulate(cfg, progress=ctx.progress)
    one_step = _one_step(s, ctx.child_seed("one-step"))
    return {"by_K": out, "coverage": coverage, "one_step": one_step, "convention": "lam"}

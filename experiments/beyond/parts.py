"""The four computations of the ``beyond`` experiment, one function each (see :mod:`.runner`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from star_theory import (
    accuracy,
    add_task,
    exact_star_step,
    make_variant,
    mixture_policy,
    random_tabular_case,
    star_trajectory,
    symmetric_policy,
    symmetric_task,
)
from star_theory.beyond import (
    chain_accuracy,
    chain_distribution,
    chain_level_update,
    chain_tv,
    enumerate_chains,
    exact_accumulate_trajectory,
    exact_balance_score,
    exact_bstar_trajectory,
    expected_sampled_accuracy,
    expected_unique_correct,
    pass_at_k,
    pass_at_k_estimator,
    per_step_refit,
    sampled_accuracy_sd,
    question_accuracy,
    sampled_accumulate_trajectory,
    sampled_balance_score,
    sampled_bstar_trajectory,
    sampled_chain_level_update,
    sampled_pass_at_k,
)
from star_theory.beyond.bstar import BALANCE_SCORES
from star_theory.sim.summary import seed_band

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context

ACC_RULES = (("replace", 1, False), ("accumulate", None, False), ("accumulate + corpus", None, True))
"""(label, window, with corpus) of the data rules: replace = plain STaR."""

EPS = np.finfo(float).eps


def _setup(s, ctx):
    task = symmetric_task(s.M, s.N, seed=ctx.child_seed("task"))
    return task, symmetric_policy(task, lam=s.lam)


def _summary(runs, level: float) -> dict:
    """Mean, percentile band and standard error over seeds (axis 0) of per-iteration values."""
    runs = np.asarray(runs, dtype=float)
    mean, lo, hi = seed_band(runs, "percentile", level)
    return {"runs": runs, "mean": mean, "band_lo": lo, "band_hi": hi,
            "se": runs.std(axis=0, ddof=1) / np.sqrt(runs.shape[0])}


# ----------------------------------------------------------------------------- accumulate


def accumulate(s: Settings, ctx: Context) -> dict:
    task, p0 = _setup(s, ctx)
    chains = enumerate_chains(task)
    d0 = chain_distribution(p0, task, chains)
    out = {}
    for filtered in (True, False):
        if filtered:
            def err(p):
                return 1.0 - accuracy(p, task)
        else:
            def err(p):
                return chain_tv(chain_distribution(p, task, chains), d0, task)
        by_K = {}
        for K in s.acc_K:
            rules = {}
            for label, window, corpus in ACC_RULES:
                n0 = K * s.corpus_per_K if corpus else 0
                exact = exact_accumulate_trajectory(p0, task, s.iterations, window, n0 / K, filtered)
                runs = []
                for i in range(s.seeds):  # the same seeds for every rule: paired comparisons
                    seed = ctx.child_seed("accumulate", filtered, K, i)
                    pols = sampled_accumulate_trajectory(p0, task, s.iterations, K, seed, window, n0, filtered=filtered)
                    runs.append([err(p) for p in pols])
                rules[label] = {"window": window, "corpus_chains": n0, "exact": [err(p) for p in exact],
                                "sampled": _summary(runs, s.level)}
            by_K[str(K)] = rules
        key = "filtered" if filtered else "unfiltered"
        out[key] = {"error": "1 - J" if filtered else "TV of the chain distribution from the base policy's",
                    "by_K": by_K}
    return out


# ----------------------------------------------------------------------------- B-STaR


def _bstar_rule(s, ctx, task, p0, grid, score: str) -> dict:
    """Exact and sampled adaptive/fixed-temperature runs of one grid under one balance score (the
    sampled runs share their seeds across rules and scores: paired comparisons)."""
    pols, choices = exact_bstar_trajectory(p0, task, s.iterations, grid, s.bstar_K, s.bstar_k0, score)
    acc_runs, temp_runs = [], []
    for i in range(s.bstar_seeds):
        seed, probe_seed = ctx.child_seed("bstar", i), ctx.child_seed("bstar-probe", i)
        sp, sc = sampled_bstar_trajectory(p0, task, s.iterations, grid, s.bstar_K, s.bstar_k0, seed,
                                          s.bstar_probe, probe_seed, score)
        acc_runs.append([accuracy(p, task) for p in sp])
        temp_runs.append([c.chosen for c in sc])
    return {"grid": grid, "exact_accuracy": [accuracy(p, task) for p in pols],
            "exact_chosen": [c.chosen for c in choices], "sampled": _summary(acc_runs, s.level),
            "sampled_chosen": temp_runs}


def bstar(s: Settings, ctx: Context) -> dict:
    task, p0 = _setup(s, ctx)
    chains = enumerate_chains(task)
    score = s.bstar_score
    rules = [("adaptive", tuple(s.bstar_grid))] + [(f"T={T:g}", (float(T),)) for T in s.bstar_fixed]
    out = {label: _bstar_rule(s, ctx, task, p0, grid, score) for label, grid in rules}
    other = next(x for x in BALANCE_SCORES if x != score)
    alternative = {"score": other, "adaptive": _bstar_rule(s, ctx, task, p0, tuple(s.bstar_grid), other)}
    star = star_trajectory(p0, task, s.iterations)
    rho = task.question_dist
    explore = {
        "unique_correct": [float(rho @ expected_unique_correct(p, task, s.bstar_K, chains)) for p in star],
        "balance_score": [float(rho @ exact_balance_score(p, task, s.bstar_K, s.bstar_k0, chains, score)) for p in star],
        "accuracy": [accuracy(p, task) for p in star],
        "score_by_T": [[float(rho @ exact_balance_score(make_variant("temperature", temperature=T).sampling_policy(p),
                                                           task, s.bstar_K, s.bstar_k0, chains, score))
                        for T in s.bstar_grid] for p in star],
    }
    # the sampled score at T = 1 along the same (exact) trajectory, mean and standard error over seeds
    smp = np.array([[float(rho @ sampled_balance_score(p, task, s.bstar_K, s.bstar_k0, ctx.child_seed("score-t", t, i),
                                                       score))
                     for t, p in enumerate(star)] for i in range(s.seeds)])
    explore["sampled_score"] = smp.mean(axis=0)
    explore["sampled_score_se"] = smp.std(axis=0, ddof=1) / np.sqrt(s.seeds)
    # the plug-in exact score against the sampled score's mean, at the base policy (information)
    plug = {}
    for T in s.bstar_grid:
        q = make_variant("temperature", temperature=T).sampling_policy(p0)
        vals = [float(sampled_balance_score(q, task, s.bstar_K, s.bstar_k0, ctx.child_seed("score", T, i), score).mean())
                for i in range(s.seeds)]
        plug[f"{T:g}"] = {"exact_plug_in": float(rho @ exact_balance_score(q, task, s.bstar_K, s.bstar_k0, chains, score)),
                          "sampled_mean": float(np.mean(vals)), "sampled_se": float(np.std(vals, ddof=1) / np.sqrt(len(vals)))}
    return {"K": s.bstar_K, "k0": s.bstar_k0, "probe": s.bstar_probe, "score": score, "seeds": s.bstar_seeds,
            "rules": out, "alternative": alternative, "exploration": explore, "plug_in_vs_sampled": plug}


# ----------------------------------------------------------------------------- pass@k


def _pass_curves(policy, task, ks, iterations, T) -> tuple[np.ndarray, list]:
    pols = star_trajectory(policy, task, iterations, step=make_variant("temperature", temperature=T).exact())
    return np.array([pass_at_k(p, task, ks) for p in pols]), pols  # (T+1, len(ks))


def _estimator_sd(policy, task, n: int, k: int) -> float:
    """Exact standard deviation of one sampled pass@k estimate (binomial correct counts per question)."""
    from scipy.stats import binom

    c = np.arange(n + 1)
    est = pass_at_k_estimator(c, n, k)
    support = task.question_dist > 0
    var = []
    for J in question_accuracy(policy, task)[support]:
        pmf = binom.pmf(c, n, J)
        var.append(pmf @ (est - pmf @ est) ** 2)
    return float(np.sqrt(task.question_dist[support] ** 2 @ np.asarray(var)))


def passk(s: Settings, ctx: Context) -> dict:
    task, p0 = _setup(s, ctx)
    ks = list(s.pass_k)
    sym = {}
    for T in s.pass_temperatures:
        curves, pols = _pass_curves(p0, task, ks, s.iterations, T)
        entry = {"exact": curves, "accuracy": [accuracy(p, task) for p in pols],
                 "min_change": (curves - curves[0]).min(axis=0)}
        if T == 1.0:  # the sampled estimator along the exact trajectory
            est_rows = [[sampled_pass_at_k(p, task, s.pass_n, ks, ctx.child_seed("passk", t, i)) for t, p in enumerate(pols)]
                        for i in range(s.seeds)]
            est = np.asarray(est_rows)  # (seeds, T+1, len(ks))
            entry["sampled_mean"] = est.mean(axis=0)
            entry["sampled_se"] = est.std(axis=0, ddof=1) / np.sqrt(s.seeds)
            entry["estimator_se"] = np.array([[_estimator_sd(p, task, s.pass_n, k) for k in ks] for p in pols]) / np.sqrt(s.seeds)
        sym[f"{T:g}"] = entry
    base_seed = ctx.child_seed("general")
    general = {}
    for T in s.pass_temperatures:
        worst: dict[str, Any] | None
        drops, gains, worst = [], [], None
        for i in range(s.general_cases):
            gtask, gp = random_tabular_case(base_seed + i)
            curves, _ = _pass_curves(gp, gtask, ks, s.general_iterations, T)
            drop = float((curves[:, -1] - curves[0, -1]).min())
            drops.append(drop)
            gains.append(float(curves[-1, 0] - curves[0, 0]))
            if worst is None or drop < worst["drop"]:
                worst = {"seed": base_seed + i, "drop": drop, "curves": curves}
        general[f"{T:g}"] = {"min_change_large_k": drops, "final_change_pass1": gains, "worst": worst}
    return {"k": ks, "n": s.pass_n, "symmetric": sym, "general": general, "general_seed": base_seed,
            "general_iterations": s.general_iterations}


# ----------------------------------------------------------------------------- chain level


def _chain_case(name, task, p0, iterations) -> dict:
    chains = enumerate_chains(task)
    d = chain_distribution(p0, task, chains)
    q = chain_level_update(d, task, chains)
    p1 = exact_star_step(p0, task)
    kept_weights = task.question_dist * question_accuracy(p0, task)  # STaR's kept data weigh s0 by rho J(s0)
    refit = per_step_refit(q, task, chains, p0, kept_weights)
    diff = max(float(np.abs(a - b).max()) for a, b in zip(refit.kernels, p1.kernels))
    rho_refit = per_step_refit(q, task, chains, p0)  # every question weighted as asked
    markov = star_trajectory(p0, task, iterations)
    return {"task": name, "sizes": list(task.sizes), "bijective": task.is_bijective(),
            "n_terms": int(chains.shape[0] * task.sizes[0]),
            "refit_vs_star_max_diff": diff,
            "tolerance": float(8 * EPS * chains.shape[0] * task.sizes[0]),
            "J0": accuracy(p0, task), "J_chain": chain_accuracy(q, task, chains), "J_markov": accuracy(p1, task),
            "tv_chain_vs_markov": chain_tv(q, chain_distribution(p1, task, chains), task),
            "tv_base_vs_chain": chain_tv(d, q, task),
            "J_rho_refit": accuracy(rho_refit, task),
            "J_markov_curve": [accuracy(p, task) for p in markov]}


def chain(s: Settings, ctx: Context) -> dict:
    task, p0 = _setup(s, ctx)
    cases = [_chain_case(f"symmetric M={s.M} N={s.N}", task, p0, s.general_iterations)]
    dt = add_task(s.add_digits, s.add_base)
    cases.append(_chain_case(f"add D={s.add_digits} b={s.add_base}", dt.task, mixture_policy(dt.task, lam=s.lam),
                             s.general_iterations))
    base_seed = ctx.child_seed("general")
    general = [_chain_case(f"random seed {base_seed + i}", *random_tabular_case(base_seed + i), s.general_iterations)
               for i in range(s.general_cases)]
    chains = enumerate_chains(task)
    d = chain_distribution(p0, task, chains)
    J_q = question_accuracy(p0, task)
    sampled = {}
    for K in s.chain_K:
        vals = [chain_accuracy(sampled_chain_level_update(d, task, chains, K, ctx.child_seed("chain", K, i)), task, chains)
                for i in range(s.chain_seeds)]
        sampled[str(K)] = {"mean": float(np.mean(vals)), "se": float(np.std(vals, ddof=1) / np.sqrt(len(vals))),
                           "closed_form": expected_sampled_accuracy(J_q, task.question_dist, K),
                           "exact_se": sampled_accuracy_sd(J_q, task.question_dist, K) / np.sqrt(len(vals)),
                           "K_times_J0": float(K * accuracy(p0, task))}
    return {"cases": cases, "general": general, "sampled": sampled, "seeds": s.chain_seeds, "J0": accuracy(p0, task),
            "J_q": J_q, "rho": task.question_dist}

"""The outcome-reward part of the ``beyond`` experiment: REINFORCE, RLOO, GRPO and Dr. GRPO beside
STaR on the same tabular bench (:mod:`star_theory.beyond.policy_gradient`). Compute only.

* ``symmetric``: from the base policy of the symmetric family, the exact STaR operator and each
  method's expected update at learning rate ``pg_lr`` (logit space), per iteration: J, entropy of
  the kernels on the policy's own chains (nats), expected distinct correct chains among
  ``pg_distinct_k`` samples per question, exact pass@k, the zero-signal probability of a group;
  sampled runs of every method and of sampled STaR at the matched budget (``K = G`` chains per
  question per iteration) over ``pg_seeds`` seeds;
* ``poor``: the exact curves from a poor pretrained policy (``pg_poor_lam``), where most groups carry no signal;
* ``estimator``: ``pg_draws`` sampled updates at the base policy of a random task, projected on the
  exact expected update's direction and on the direction of GRPO's exact update off the line of
  grad J; GRPO's per-question weights; the zero-signal share of sampled groups;
* ``general``: the exact trajectories on ``pg_cases`` seeded random non-bijective tasks, through the
  checks machinery (improvement at ``pg_lr`` and at ``pg_large_lr``), and pass@k on the random tasks of
  the ``passk`` part where exact STaR's pass@k at the largest k fell (the same horizon).

Exact REINFORCE and RLOO are the same update (both are the gradient of J), so the exact curves are
``reinforce = rloo``, ``dr-grpo`` and ``grpo``; the sampled runs keep all four (their noise differs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from star_theory import accuracy, make_variant, random_tabular_case, star_trajectory, symmetric_policy, symmetric_task
from star_theory.beyond import enumerate_chains, expected_unique_correct, pass_at_k
from star_theory.beyond.policy_gradient import (
    accuracy_gradient,
    expected_trajectory,
    expected_update,
    policy_entropy,
    policy_gradient_rule,
    question_success,
    question_weights_of,
    sampled_trajectory,
    sampled_update,
    zero_signal_probability,
)
from star_theory.checks import check_improvement
from star_theory.sampling import keep_mask, sample_chains

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context

EXACT_METHODS = ("reinforce", "dr-grpo", "grpo")
"""Exact curves drawn: ``reinforce`` stands for ``rloo`` too (the same expected update)."""


def _metrics(policies, task, G: int, ks, distinct_k: int, chains) -> dict:
    rho = task.question_dist
    return {"J": [accuracy(p, task) for p in policies],
            "entropy": [policy_entropy(p, task) for p in policies],
            "distinct": [float(rho @ expected_unique_correct(p, task, distinct_k, chains)) for p in policies],
            "pass": [pass_at_k(p, task, ks).tolist() for p in policies],
            "zero_signal": [zero_signal_probability(p, task, G) for p in policies]}


def _sampled_star(policy, task, K: int, iterations: int, seed: int) -> list:
    """Sampled STaR with K chains per question (the matched budget), J per iteration."""
    step = make_variant("star").sampled(K, seed)
    return [accuracy(p, task) for p in star_trajectory(policy, task, iterations, step=step)]


def _case(s, ctx, lam: float, label: str, sampled: bool) -> dict:
    task = symmetric_task(s.M, s.N, seed=ctx.child_seed("task"))
    p0 = symmetric_policy(task, lam=lam)
    T, G = s.pg_iterations, s.pg_group
    chains = enumerate_chains(task)
    star = star_trajectory(p0, task, T)
    out = {"lam": lam, "STaR": _metrics(star, task, G, s.pass_k, s.pg_distinct_k, chains)}
    for m in EXACT_METHODS:
        pols = expected_trajectory(p0, task, m, G, s.pg_lr, T)
        out[m] = _metrics(pols, task, G, s.pass_k, s.pg_distinct_k, chains)
    if sampled:
        smp = {}
        for m in s.pg_methods:
            runs, zero = [], []
            for i in range(s.pg_seeds):
                pols, infos = sampled_trajectory(p0, task, m, G, s.pg_lr, T, ctx.child_seed("pg", label, m, i))
                runs.append([accuracy(p, task) for p in pols])
                zero.append([inf["zero_signal_groups"] / (inf["chains"] // G) for inf in infos])
            smp[m] = {"J": np.asarray(runs), "zero_signal_share": np.asarray(zero)}
        smp["STaR"] = {"J": np.asarray([_sampled_star(p0, task, G, T, ctx.child_seed("pg", label, "star", i))
                                        for i in range(s.pg_seeds)])}
        out["sampled"] = smp
    return out


def _estimator(s, ctx) -> dict:
    """Sampled updates at the base policy of one random task against the exact expected update."""
    task, p0 = random_tabular_case(ctx.child_seed("pg-estimator"))
    G = s.pg_group
    out: dict[str, Any] = {"sizes": list(task.sizes)}
    j = np.concatenate([g.ravel() for g in accuracy_gradient(p0, task)])
    grpo = np.concatenate([g.ravel() for g in expected_update(p0, task, "grpo", G)])
    off = grpo - (grpo @ j) / (j @ j) * j  # GRPO's exact update minus its best multiple of grad J
    off_unit = off / np.linalg.norm(off) if np.linalg.norm(off) > 0 else off
    for m in s.pg_methods:
        exact = np.concatenate([g.ravel() for g in expected_update(p0, task, m, G)])
        draws = np.array([np.concatenate([g.ravel() for g in sampled_update(
            p0, task, m, G, ctx.child_seed("pg-draw", m, i), s.pg_groups)[0]]) for i in range(s.pg_draws)])
        unit = exact / np.linalg.norm(exact)
        # scalar projections (sums over many components, so the central limit applies at pg_draws draws;
        # single components are heavy-tailed where a transition is rare)
        out[m] = {"exact_norm": float(np.linalg.norm(exact)), "along_exact": draws @ unit, "off_line": draws @ off_unit}
    out["off_line_norm"] = float(np.linalg.norm(off))
    out["grpo_norm"] = float(np.linalg.norm(grpo))
    out["grpo_weights"] = (question_weights_of(p0, task, "grpo", G) / np.where(task.question_dist > 0, task.question_dist, 1.0))
    out["p"] = question_success(p0, task)
    # the zero-signal share of the sampled groups at the base policy, against the exact probability
    chains = sample_chains(p0, task, G * s.pg_groups * s.pg_draws, ctx.child_seed("pg-zero"))
    r = keep_mask(chains, task).reshape(-1, G)
    support = np.flatnonzero(task.question_dist > 0)
    p = question_success(p0, task)[support]
    q = p ** G + (1 - p) ** G
    per_q = s.pg_groups * s.pg_draws
    out["zero_signal"] = {"count": int(np.all(r == r[:, :1], axis=1).sum()), "groups": int(r.shape[0]),
                          "expected": float(per_q * q.sum()), "sd": float(np.sqrt(per_q * (q * (1 - q)).sum()))}
    return out


def _general(s, ctx, reversal_seeds) -> dict:
    base = ctx.child_seed("pg-general")
    ks = list(s.pass_k)
    out = {"seed": base, "improvement": {}, "passk": {}}
    for label, lr in (("lr", s.pg_lr), ("large lr", s.pg_large_lr)):
        res = {}
        for m in EXACT_METHODS:
            worst, fails, first = np.inf, 0, None
            for i in range(s.pg_cases):
                task, p0 = random_tabular_case(base + i)
                r = check_improvement(p0, task, s.pg_general_iterations, step=policy_gradient_rule(m, s.pg_group, lr))
                worst = min(worst, float(np.min(r.accuracy_change)))
                if not r.accuracy_holds:
                    fails += 1
                    first = first if first is not None else {"seed": base + i, "iteration": r.counterexample.iteration,
                                                             "before": r.counterexample.before,
                                                             "after": r.counterexample.after}
            res[m] = {"failures": fails, "worst_change": worst, "counterexample": first}
        out["improvement"][label] = {"lr": lr, "methods": res}
    # pass@k on the random tasks where exact STaR's pass@k at the largest k fell below the base's (the
    # ``passk`` part's tasks and horizon), at most pg_cases of them
    for m in EXACT_METHODS:
        drops, gains = [], []
        for seed in reversal_seeds[:s.pg_cases]:
            task, p0 = random_tabular_case(seed)
            pols = expected_trajectory(p0, task, m, s.pg_group, s.pg_lr, s.general_iterations)
            first, last = pass_at_k(pols[0], task, ks), pass_at_k(pols[-1], task, ks)
            drops.append(float(last[-1] - first[-1]))
            gains.append(float(last[0] - first[0]))
        out["passk"][m] = {"change_large_k": drops, "change_pass1": gains}
    out["reversal_seeds"] = list(reversal_seeds[:s.pg_cases])
    out["example"] = _reversal_example(s, reversal_seeds[:s.pg_cases])
    return out


def _reversal_example(s, seeds) -> dict | None:
    """pass@k against k (powers of 2 up to the largest k) on the task of the deepest STaR reversal: the base
    policy, exact STaR and each method's expected update after the pass@k section's horizon."""
    if not seeds:
        return None
    ks = [int(k) for k in 2 ** np.arange(int(np.log2(max(s.pass_k))) + 1)]
    cases = []
    for seed in seeds:
        task, p0 = random_tabular_case(seed)
        star = star_trajectory(p0, task, s.general_iterations)[-1]
        cases.append((float(pass_at_k(star, task, ks)[-1] - pass_at_k(p0, task, ks)[-1]), seed, task, p0, star))
    _, seed, task, p0, star = min(cases, key=lambda c: c[0])
    out = {"seed": seed, "k": ks, "base": pass_at_k(p0, task, ks), "STaR": pass_at_k(star, task, ks)}
    for m in EXACT_METHODS:
        out[m] = pass_at_k(expected_trajectory(p0, task, m, s.pg_group, s.pg_lr, s.general_iterations)[-1], task, ks)
    return out


def outcome(s: Settings, ctx: Context, reversal_seeds: Sequence[int] = ()) -> dict:
    """The part's data; ``reversal_seeds``: random-task seeds where exact STaR's pass@k fell (``passk`` part)."""
    return {"methods": list(s.pg_methods), "exact_methods": list(EXACT_METHODS), "G": s.pg_group, "lr": s.pg_lr,
            "k": list(s.pass_k), "distinct_k": s.pg_distinct_k,
            "symmetric": _case(s, ctx, s.lam, "symmetric", True),
            "poor": _case(s, ctx, s.pg_poor_lam, "poor", False),
            "estimator": _estimator(s, ctx), "general": _general(s, ctx, list(reversal_seeds))}

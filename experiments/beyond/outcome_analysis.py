r"""Findings of the outcome-reward part of experiment 8 (:mod:`.outcome`): policy-gradient methods
beside STaR. Each finding states the analysis's claim (improvement, convergence) or a property of
an estimator, and a tolerance that is a statistic of the run: a Student-t quantile over the draws,
Bonferroni-corrected over the components tested, a binomial standard deviation, or a float64
rounding bound for exact curves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import norm, t as student

from ..framework import Finding, Info

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings

ALPHA = 0.01
"""Family-wise error rate of each statistical finding."""

ULP_TOL = 64 * np.finfo(float).eps
"""Rounding bound of an exact quantity from a few dozen float64 operations."""

TARGET = 0.9
"""Accuracy whose first crossing defines a method's speed (iterations, and chains = iterations x G x questions)."""

CLAIM = "outcome reward"


def _crossing(curve, target: float = TARGET):
    """First iteration with J >= target (None if never)."""
    hit = np.flatnonzero(np.asarray(curve) >= target)
    return int(hit[0]) if hit.size else None


def _mean_se(x) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))


def _estimator(d, s) -> list:
    e = d["estimator"]
    methods = d["methods"]
    q = float(student.ppf(1 - ALPHA / (2 * len(methods)), s.pg_draws - 1))
    dev = {}
    for m in methods:
        mean, se = _mean_se(e[m]["along_exact"])
        dev[m] = (mean - e[m]["exact_norm"]) / se
    out = [Finding(
        CLAIM, f"the sampled update (G={d['G']}, {s.pg_groups} groups per question, random task of level sizes "
        f"{e['sizes']}) averages to the exact expected update of each method: its projection on the exact update's "
        f"direction, mean over {s.pg_draws} draws, against the exact update's norm", 0.0,
        {m: round(v, 3) for m, v in dev.items()},
        f"|mean - norm| <= {q:.2f} standard errors (Student t, {s.pg_draws - 1} dof, Bonferroni over {len(methods)} "
        f"methods, level {ALPHA})", all(abs(v) <= q for v in dev.values()),
        note="measured: (mean - norm) / standard error per method; the projection sums many components, so its mean "
             "is near normal at this many draws (a single component is heavy-tailed where a transition is rare)")]
    qq = float(student.ppf(1 - ALPHA / 2, s.pg_draws - 1))
    g_mean, g_se = _mean_se(e["grpo"]["off_line"])
    ctrl = {m: round(_mean_se(e[m]["off_line"])[0] / _mean_se(e[m]["off_line"])[1], 3)
            for m in methods if m != "grpo"}
    w = np.asarray(e["grpo_weights"])
    out.append(Finding(
        CLAIM, "GRPO's update is the gradient of J up to one scale factor (its std-normalisation only rescales): the "
        "sampled GRPO update's component off the line of grad J (projection on the unit direction of the exact "
        "GRPO update minus its best multiple of grad J) averages to 0", 0.0, [round(g_mean, 6), round(g_se, 6)],
        f"|mean| <= {qq:.2f} standard errors (Student t, {s.pg_draws - 1} dof, level {ALPHA})",
        abs(g_mean) <= qq * g_se,
        note=f"measured [mean, standard error]; exact off-line component {e['off_line_norm']:.3g} of a GRPO update of "
             f"norm {e['grpo_norm']:.3g}; per-question weight (a1 - a0)(p(s0)) of GRPO: {np.round(w, 3).tolist()} at "
             f"p(s0) = {np.round(e['p'], 3).tolist()} (REINFORCE and RLOO: 1, Dr. GRPO: (G-1)/G for every question); "
             f"control, the same projection of the other methods in standard errors (expected 0): {ctrl}"))
    z = e["zero_signal"]
    zq = float(norm.ppf(1 - ALPHA / 2))
    out.append(Finding(
        CLAIM, f"the share of sampled groups whose rewards are all equal (no signal for RLOO, GRPO, Dr. GRPO) matches "
        f"sum_s0 rho (p^G + (1-p)^G) per question ({z['groups']} groups)", round(z["expected"], 2), z["count"],
        f"within {zq:.2f} binomial standard deviations ({z['sd']:.2f})", abs(z["count"] - z["expected"]) <= zq * z["sd"]))
    return out


def _improvement(d, s) -> list:
    out: list[Finding | Info] = []
    sym = d["symmetric"]
    methods = ["STaR"] + d["exact_methods"]
    drops = {m: float(np.min(np.diff(sym[m]["J"]))) for m in methods}
    gen = d["general"]["improvement"]
    fails = {f"{lab} ({v['lr']:g})": {m: r["failures"] for m, r in v["methods"].items()} for lab, v in gen.items()}
    ok = all(x >= -ULP_TOL for x in drops.values()) and all(r["failures"] == 0 for r in gen["lr"]["methods"].values())
    out.append(Finding(
        CLAIM, f"the analysis's improvement claim carries over to the exact expected update: J never falls, on the "
        f"symmetric task ({s.pg_iterations} iterations) and on {s.pg_cases} random tasks ({s.pg_general_iterations} "
        f"iterations, checks machinery), learning rate {d['lr']:g}", ">= 0",
        {"symmetric, smallest change": {m: float(f"{v:.3g}") for m, v in drops.items()},
         "random tasks, failures": fails["lr (%g)" % d["lr"]]},
        f"a fall beyond the rounding bound {ULP_TOL:.1e} counts", ok,
        note="reinforce stands for rloo (the same expected update); dr-grpo is reinforce at lr (G-1)/G"))
    big = gen["large lr"]
    cx = {m: r["counterexample"] for m, r in big["methods"].items() if r["counterexample"]}
    out.append(Finding(
        CLAIM, f"... and at the large learning rate {big['lr']:g} on the same random tasks", "0 failures",
        fails[f"large lr ({big['lr']:g})"], f"a fall beyond {ULP_TOL:.1e} counts",
        all(r["failures"] == 0 for r in big["methods"].values()),
        note=("first counterexamples: " + "; ".join(
            f"{m}: seed {c['seed']}, iteration {c['iteration']}, J {c['before']:.4f} -> {c['after']:.4f}"
            for m, c in cx.items())) if cx else "no counterexample among these tasks"))
    smp = sym["sampled"]
    falls = {m: int((np.diff(np.asarray(v["J"]), axis=1) < -1e-12).sum()) for m, v in smp.items()}
    total = int(np.asarray(smp["STaR"]["J"]).shape[0] * (np.asarray(smp["STaR"]["J"]).shape[1] - 1))
    out.append(Finding(
        CLAIM, f"the improvement claim for the sampled (noisy) steps: J never falls along a sampled run (G = K = "
        f"{d['G']} chains per question per iteration, {s.pg_seeds} runs per method)", "0 falls",
        {m: f"{v} of {total}" for m, v in falls.items()}, "a fall beyond 1e-12 counts",
        all(v == 0 for v in falls.values()),
        note="counted: iterations at which a sampled run's J fell"))
    return out


def _convergence(d, s) -> list:
    sym, G = d["symmetric"], d["G"]
    methods = ["STaR"] + d["exact_methods"]
    n_q = s.M  # questions of the symmetric family
    final = {m: sym[m]["J"][-1] for m in methods}
    out = [Finding(
        CLAIM, f"the convergence claim: every method's exact curve ends at the optimum J = 1 within {s.pg_iterations} "
        f"iterations (symmetric task, learning rate {d['lr']:g})", 1.0, {m: round(v, 4) for m, v in final.items()},
        "1 - J_T <= 1e-3", all(v >= 1 - 1e-3 for v in final.values()),
        note="softmax policy gradient approaches the optimum only as fast as the logits grow (no finite step reaches it)")]
    exact_it = {m: _crossing(sym[m]["J"]) for m in methods}
    smp = {m: _crossing(np.asarray(v["J"]).mean(axis=0)) for m, v in sym["sampled"].items()}
    star = exact_it["STaR"]
    others = [v for m, v in exact_it.items() if m != "STaR"]
    out.append(Finding(
        CLAIM, f"speed: exact STaR reaches J >= {TARGET} in fewer iterations than each policy-gradient method at "
        f"learning rate {d['lr']:g} (matched budget: G = K = {G} chains per question per iteration)",
        "STaR first", {"exact": exact_it, "sampled mean": smp},
        "first iteration with J >= target (None: not within the run)",
        star is not None and all(v is None or v > star for v in others),
        note="chains to the target = iterations x G x questions: " + ", ".join(
            f"{m}: {v * G * n_q}" for m, v in {**{f'exact {k}': x for k, x in exact_it.items()},
                                              **{f'sampled {k}': x for k, x in smp.items()}}.items() if v is not None)))
    return out


def _coverage(d, s) -> list:
    out: list[Finding | Info] = []
    ks = d["k"]
    res = {}
    for m, v in d["general"]["passk"].items():
        drop, gain = np.asarray(v["change_large_k"]), np.asarray(v["change_pass1"])
        res[m] = int(((drop < -1e-9) & (gain > 1e-9)).sum())
    n = len(d["general"]["reversal_seeds"])
    out.append(Finding(
        CLAIM, f"on the {n} random tasks where exact STaR's pass@{ks[-1]} fell below the base's while pass@1 rose "
        f"({s.general_iterations} iterations, the pass@k section), each policy-gradient method's expected update at "
        f"learning rate {d['lr']:g} does the same on some of them (arXiv 2504.13837: RL narrows coverage)",
        "> 0 tasks per method", {m: f"{v} of {n}" for m, v in res.items()},
        "a change counts beyond 1e-9 (far above rounding)", n > 0 and all(v > 0 for v in res.values()),
        note="worst pass@%d change per method: " % ks[-1] + ", ".join(
            f"{m}: {min(v['change_large_k'], default=float('nan')):.3f}" for m, v in d["general"]["passk"].items())))
    sym = d["symmetric"]
    out.append(Info(
        CLAIM, f"symmetric task after {s.pg_iterations} iterations: entropy of the kernels on the policy's own chains "
        f"(nats), expected distinct correct chains among {d['distinct_k']} samples, pass@k (k = {ks})",
        {m: {"entropy": round(sym[m]["entropy"][-1], 3), "distinct": round(sym[m]["distinct"][-1], 3),
             "pass@k": [round(x, 4) for x in sym[m]["pass"][-1]]} for m in ["STaR"] + d["exact_methods"]},
        note=f"base: entropy {sym['STaR']['entropy'][0]:.3f}, distinct {sym['STaR']['distinct'][0]:.3f}"))
    poor = d["poor"]
    out.append(Info(
        CLAIM, f"poor pretrained policy (lam = {poor['lam']:g}, convention lam): J after {s.pg_iterations} exact "
        f"iterations, and the zero-signal probability of a group of G = {d['G']} at the start",
        {m: round(poor[m]["J"][-1], 4) for m in ["STaR"] + d["exact_methods"]},
        note=f"zero-signal probability at the start: {poor['STaR']['zero_signal'][0]:.4f}; J0 = {poor['STaR']['J'][0]:.4f}; "
             "the exact STaR operator is the infinite-sample limit and does not see the zero-signal groups"))
    return out


def analyze_outcome(d: dict, s: Settings) -> list:
    return _estimator(d, s) + _improvement(d, s) + _convergence(d, s) + _coverage(d, s)

r"""Findings of experiment 8 (beyond RL-STaR). Each finding states a claim (a source's claim in the
setting the source studies, or the analysis's claim carried to another rule), what the bench
measured, and a tolerance that is a statistic of the run: a paired standard error over seeds
(sampled runs share their seeds across rules), a Bonferroni-corrected normal quantile when many
comparisons are made at once, or a float64 rounding bound with its reason for exact forms.
``agree`` says whether the claim holds on the tabular bench; claims that do not hold are
reported as disagreements, with the reason in the note.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy.stats import norm

from ..framework import Finding, Info
from .outcome_analysis import analyze_outcome

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings

ALPHA = 0.01
"""Family-wise error rate of the statistical comparisons (split over the comparisons made)."""

Z_PAIRED = float(norm.ppf(1 - ALPHA / 2))
"""Two-sided normal quantile for one paired comparison at level ALPHA (about 2.58)."""

ULP_TOL = 64 * np.finfo(float).eps
"""Rounding bound for an exact quantity computed by a few dozen float64 operations (no sampling)."""


def _z(m: int) -> float:
    """Bonferroni: the normal quantile that keeps the family-wise error at ALPHA over ``m`` comparisons."""
    return float(norm.ppf(1 - ALPHA / (2 * max(m, 1))))


def _paired(a, b, t: int = -1) -> tuple[float, float]:
    """Mean and standard error of ``a[:, t] - b[:, t]`` over seeds (the runs share seeds)."""
    d = np.asarray(a, dtype=float)[:, t] - np.asarray(b, dtype=float)[:, t]
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def _growth(runs, t0: int = 1) -> np.ndarray:
    r = np.asarray(runs, dtype=float)
    return r[:, -1] - r[:, t0]


# ----------------------------------------------------------------------------- accumulate


def _accumulate(d, s) -> list:
    return _unfiltered(d["unfiltered"]["by_K"], s) + _filtered(d["filtered"]["by_K"], s)


def _unfiltered(un, s) -> list:
    out = []
    grow = {K: _growth(r["replace"]["sampled"]["runs"]) for K, r in un.items()}
    stats = {K: (float(g.mean()), float(g.std(ddof=1) / np.sqrt(g.size))) for K, g in grow.items()}
    z = _z(len(stats))
    out.append(Finding(
        "data reuse", f"unfiltered control (every chain kept, arXiv 2404.01413's setting): replacing the data each "
        f"round moves the policy ever further from the base: the TV of the chain distribution from the base "
        f"policy's grows from round 1 to round {s.iterations}, K in {list(s.acc_K)}",
        "growth > 0", {f"K={K}": [round(m, 4), round(se, 4)] for K, (m, se) in stats.items()},
        f"mean growth > {z:.2f} standard errors over {s.seeds} seeds (Bonferroni over K, family error {ALPHA})",
        all(m > z * se for m, se in stats.values()), note="measured [mean growth, standard error]"))
    res = {}
    for K, r in un.items():
        for rule in ("accumulate", "accumulate + corpus"):
            a = _growth(r[rule]["sampled"]["runs"])
            diff = grow[K] - a
            res[f"K={K}, {rule}"] = (float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size)))
    z = _z(len(res))
    incr = {K: np.diff(np.asarray(r["accumulate"]["sampled"]["mean"])[1:]) for K, r in un.items()}
    out.append(Finding(
        "data reuse", "unfiltered control: accumulating the data (with or without the pretraining corpus) keeps the "
        "drift from the base policy smaller than replacing does (rounds 1 to the last, paired seeds)",
        "replace growth - accumulate growth > 0", {k: [round(m, 4), round(se, 4)] for k, (m, se) in res.items()},
        f"> {z:.2f} standard errors of the paired difference (Bonferroni over {len(res)} comparisons)",
        all(m > z * se for m, se in res.values()),
        note="accumulate's mean drift per round, first and last: " + ", ".join(
            f"K={K}: {v[0]:.4f} -> {v[-1]:.4f} ({'shrinking' if v[-1] < v[0] else 'not shrinking'})"
            for K, v in incr.items()) + " (information: shrinking increments are what a bounded drift looks like)"))
    return out


def _filtered(fi, s) -> list:
    """Under the verifier: what the tabular model shows (no source makes a claim about this setting)."""
    out: list[Finding | Info] = []
    ch = {}
    for K, r in fi.items():
        g = _growth(r["replace"]["sampled"]["runs"], t0=0)
        ch[K] = (float(g.mean()), float(g.std(ddof=1) / np.sqrt(g.size)))
    z = _z(len(ch))
    out.append(Finding(
        "data reuse", f"with the verifier's filter, replacing the data each round is plain STaR, and the error 1 - J "
        f"falls over the iterations (the analysis's improvement claim, sampled runs), K in {list(s.acc_K)}",
        "error(T) - error(0) < 0", {f"K={K}": [round(m, 4), round(se, 4)] for K, (m, se) in ch.items()},
        f"< -{z:.2f} standard errors over {s.seeds} seeds", all(m < -z * se for m, se in ch.values()),
        note="the exact replace rule is the RL-STaR operator (exact error after "
             f"{s.iterations} iterations: " + ", ".join(f"K={K}: {r['replace']['exact'][-1]:.3g}" for K, r in fi.items())
             + "); arXiv 2404.01413 studies unfiltered self-training and makes no claim about this setting"))
    cmp = {}
    for K, r in fi.items():
        for rule in ("accumulate", "accumulate + corpus"):
            cmp[f"K={K}, {rule}"] = _paired(r[rule]["sampled"]["runs"], r["replace"]["sampled"]["runs"])
    out.append(Info(
        "data reuse", "with the verifier's filter: final error 1 - J of accumulating minus replacing (paired seeds) "
        "[mean, standard error]", {k: [round(m, 4), round(se, 4)] for k, (m, se) in cmp.items()},
        note="not a test: the sign is set by the set-up. Accumulating refits on every round's kept chains, the early "
             "ones rich in right answers reached through wrong steps, and the corpus adds unfiltered chains with "
             f"weight {s.corpus_per_K} x K per question; the more weight old or unfiltered data carry, the slower the "
             f"refit (exact error after {s.iterations} iterations, K={s.acc_K[-1]}: " + ", ".join(
                 f"{rule} {fi[str(s.acc_K[-1])][rule]['exact'][-1]:.3g}" for rule in fi[str(s.acc_K[-1])]) + ")"))
    return out


# ----------------------------------------------------------------------------- B-STaR


def _bstar(d, s) -> list:
    out: list[Finding | Info] = []
    ex = d["exploration"]
    u0, uT = ex["unique_correct"][0], ex["unique_correct"][-1]
    out.append(Finding(
        "exploration", f"exploration deteriorates over iterations (arXiv 2412.17256): the expected number of distinct "
        f"correct chains among K={d['K']} samples per question falls along exact plain STaR", "falls",
        [round(u0, 4), round(uT, 4)], f"exact; a fall larger than the rounding bound {ULP_TOL * d['K']:.1e}",
        uT < u0 - ULP_TOL * d["K"],
        note=f"measured [t=0, t={s.iterations}]; exact balance score of plain STaR: "
             f"{ex['balance_score'][0]:.3f} -> {ex['balance_score'][-1]:.3f}"))
    rules = d["rules"]
    ad = rules["adaptive"]["sampled"]["runs"]
    star = rules["T=1"]["sampled"]["runs"]
    m, se = _paired(ad, star)
    plug = d["plug_in_vs_sampled"]
    seeds = len(ad)
    decided = "above" if m > Z_PAIRED * se else "below" if m < -Z_PAIRED * se else "undecided"
    out.append(Finding(
        "exploration", f"B-STaR's adaptive temperature (grid {list(s.bstar_grid)}, {d['score']} balance score with "
        f"k0={d['k0']}, {d['probe']} probe chains) ends above plain STaR (K={d['K']}, {s.iterations} iterations, "
        f"sampled)", "J(adaptive) - J(STaR) > 0", [round(m, 4), round(se, 4)],
        f"> {Z_PAIRED:.2f} standard errors of the paired difference over {seeds} seeds", m > Z_PAIRED * se,
        note=f"at {seeds} seeds the difference is {decided} (|mean| against {Z_PAIRED:.2f} standard errors); "
             "temperatures chosen (exact form): " + str(rules["adaptive"]["exact_chosen"]) + "; the balance score at "
             "the base policy, exact plug-in vs sampled mean (information): " + ", ".join(
                 f"T={T}: {v['exact_plug_in']:.3f} vs {v['sampled_mean']:.3f}" for T, v in plug.items())))
    fixed = {k: v for k, v in rules.items() if k != "adaptive"}
    best = max(fixed, key=lambda k: np.mean(np.asarray(fixed[k]["sampled"]["runs"])[:, -1]))
    m, se = _paired(ad, fixed[best]["sampled"]["runs"])
    out.append(Finding(
        "exploration", f"adapting T by the balance score is no worse than the best fixed temperature "
        f"({', '.join(fixed)}; best: {best})", "J(adaptive) - J(best fixed) >= 0", [round(m, 4), round(se, 4)],
        f"not below -{Z_PAIRED:.2f} standard errors of the paired difference", m >= -Z_PAIRED * se,
        note="final sampled accuracy per rule: " + ", ".join(
            f"{k}: {np.mean(np.asarray(v['sampled']['runs'])[:, -1]):.3f}" for k, v in rules.items())
             + "; the score rewards distinct correct chains, which a sharp policy has few of, so it keeps T away from "
               "the sharp temperatures that finish STaR fastest"))
    ea, es = rules["adaptive"]["exact_accuracy"][-1], rules["T=1"]["exact_accuracy"][-1]
    out.append(Finding(
        "exploration", f"exact forms (infinite samples, {d['score']} score): the adaptive rule ends at least as high as "
        "plain STaR", "J(adaptive) >= J(STaR)", [round(ea, 6), round(es, 6)], f"exact; rounding bound {ULP_TOL:.1e}",
        ea >= es - ULP_TOL, note="measured [adaptive, plain STaR] after the last iteration"))
    alt = d["alternative"]
    am, ase = _paired(alt["adaptive"]["sampled"]["runs"], star)
    out.append(Info(
        "exploration", f"the adaptive rule under the alternative ({alt['score']}) balance score: exact final J, chosen "
        f"temperatures, and the sampled paired difference from plain STaR over {seeds} seeds [mean, standard error]",
        {"exact J_T": round(alt["adaptive"]["exact_accuracy"][-1], 4), "exact chosen": alt["adaptive"]["exact_chosen"],
         "sampled J(adaptive) - J(STaR)": [round(am, 4), round(ase, 4)]},
        note=f"base J0 = {rules['T=1']['exact_accuracy'][0]:.4f}"))
    return out


# ----------------------------------------------------------------------------- pass@k


def _passk(d, s) -> list:
    out = []
    ks = d["k"]
    sym = d["symmetric"]
    worst = {T: float(np.min(v["min_change"])) for T, v in sym.items()}
    out.append(Finding(
        "coverage", f"symmetric family (every question has the same J): pass@k never falls along exact STaR, for k in "
        f"{ks} and T in {list(sym)} (RL-STaR's improvement theorem; pass@k grows with a common J)", ">= 0",
        {f"T={T}": w for T, w in worst.items()}, f"most negative change not below -{ULP_TOL:.1e} (rounding)",
        all(w >= -ULP_TOL for w in worst.values())))
    gen = d["general"]
    for T, g in gen.items():
        drops = np.asarray(g["min_change_large_k"])
        gains = np.asarray(g["final_change_pass1"]) - 1e-9  # > 0: pass@1 rose beyond rounding
        fell = drops < -1e-9
        out.append(Finding(
            "coverage", f"random non-bijective tasks, STaR at T={T} ({drops.size} tasks, {d['general_iterations']} exact "
            f"iterations): pass@{ks[-1]} falls below the base policy's on some tasks while pass@1 rises "
            f"(arXiv 2504.13837, 2312.06585)", "> 0 tasks",
            f"{int((fell & (gains > 0)).sum())} of {drops.size} (pass@{ks[-1]} fell on {int(fell.sum())}, pass@1 rose on "
            f"{int((gains[fell] > 0).sum())} of those; worst drop {drops.min():.3f}, seed {g['worst']['seed']})",
            "a change counts beyond 1e-9 (far above rounding)", bool((fell & (gains > 0)).sum() > 0),
            note="STaR shares one Markov policy between questions: sharpening a shared state towards what most kept "
                 "chains need starves the questions that needed another continuation, so their J(s0), and pass@k, fall"))
    e = sym["1"]
    if "sampled_mean" in e:
        diff = np.abs(np.asarray(e["sampled_mean"]) - np.asarray(e["exact"]))
        se = np.asarray(e["estimator_se"])
        z = _z(diff.size)
        out.append(Finding(
            "coverage", f"the unbiased pass@k estimator from n={d['n']} chains per question follows the exact pass@k "
            f"along the symmetric STaR trajectory (k in {ks}, every iteration, {s.seeds} seeds)", 0.0,
            float(np.max(diff / np.maximum(se, 1e-300))), f"every |mean - exact| within {z:.2f} exact standard errors "
            f"of the mean (Bonferroni over {diff.size})", bool(np.all(diff <= z * se + 1e-15)),
            note="measured: the largest |mean - exact| in units of its standard error (computed from the binomial "
                 "law of the correct counts)"))
    return out


# ----------------------------------------------------------------------------- chain level


def _chain(d, s) -> list:
    out = []
    cases = d["cases"] + d["general"]
    bad = [c["task"] for c in cases if c["refit_vs_star_max_diff"] > c["tolerance"]]
    out.append(Finding(
        "curated retraining", f"the per-step refit of the chain-level update, pooled as STaR pools its kept data "
        f"(question s0 weighted by rho(s0) J(s0)), is the exact STaR operator ({len(cases)} tasks: symmetric, add, random)",
        0.0, max(c["refit_vs_star_max_diff"] for c in cases),
        "per task, 8 eps x (questions x chains) (float64 rounding of that many sums)", not bad,
        note=f"tasks over tolerance: {bad[:5]}"))
    jc = min(c["J_chain"] for c in cases)
    out.append(Finding(
        "curated retraining", "the chain-level update (arXiv 2407.09499: the base conditioned on success) reaches "
        "accuracy 1 in one step on every task where each question has a correct chain", 1.0, jc,
        f"{ULP_TOL:.1e} (rounding)", jc >= 1 - ULP_TOL * 16))
    named = {c["task"]: {"J0": round(c["J0"], 4), "J_markov": round(c["J_markov"], 4),
                         "J_rho_refit": round(c["J_rho_refit"], 4), "TV": round(c["tv_chain_vs_markov"], 4)}
             for c in d["cases"]}
    slack = min(c["tv_chain_vs_markov"] - (1 - c["J_markov"]) for c in cases)
    lossy = sum(1 - c["J_markov"] > 1e-9 for c in d["general"])
    named_loss = min(1 - c["J_markov"] for c in d["cases"])
    out.append(Finding(
        "curated retraining", "the per-step (Markov) refit is a lossy projection where questions share intermediate "
        "states: one STaR step ends below the chain-level update's J = 1 on the symmetric and add tasks, and the loss "
        "1 - J(P^1) is at most the TV between the two chain distributions",
        {"loss on named tasks": "> 0", "TV - loss": ">= 0"},
        {"named": named, "min TV - loss over all tasks": round(slack, 6),
         "random tasks with a loss > 1e-9": f"{lossy} of {len(d['general'])}"},
        f"loss above the rounding bound {ULP_TOL:.1e}; TV - loss not below -{ULP_TOL:.1e}",
        named_loss > ULP_TOL and slack >= -ULP_TOL,
        note="TV >= loss because the chain-level update puts mass 1 on the correct chains and the refit only "
             f"J(P^1); measured, the bound is nearly tight (largest TV - loss: "
             f"{max(c['tv_chain_vs_markov'] - (1 - c['J_markov']) for c in cases):.4f}). Lossless random tasks are "
             "those whose questions' conditioned chains fit one shared Markov policy (for example N = 1). "
             "J_rho_refit: the same projection with every question weighted by rho (the refit of the per-question "
             "conditionals rather than of the kept data)"))
    sym_final = d["cases"][0]["J_markov_curve"][-1]
    stalled = [c for c in d["general"] if c["J_markov_curve"][-1] < 1 - 1e-3
               and abs(c["J_markov_curve"][-1] - c["J_markov_curve"][-2]) < 1e-6]
    out.append(Finding(
        "curated retraining", f"the projection's loss is temporary on the bijective task (J -> 1 within "
        f"{s.general_iterations} iterations) but permanent on some non-bijective ones (STaR stalls below 1, the "
        "chain-level update is at 1 after one step)", {"symmetric J_T": ">= 1 - 1e-6", "stalled random tasks": "> 0"},
        {"symmetric J_T": sym_final, "stalled random tasks": f"{len(stalled)} of {len(d['general'])}"},
        "stalled: J_T < 1 - 1e-3 and |J_T - J_(T-1)| < 1e-6", sym_final >= 1 - 1e-6 and len(stalled) > 0,
        note=f"lowest stalled J_T: {min((c['J_markov_curve'][-1] for c in stalled), default=float('nan')):.3f}"))
    smp = d["sampled"]
    z = _z(len(smp))
    dev = {K: (v["mean"] - v["closed_form"]) / max(v["exact_se"], 1e-300) for K, v in smp.items()}
    out.append(Finding(
        "finite samples", f"sampled chain-level step (best-of-K then refit the chain distribution, arXiv 2412.01951): "
        f"its accuracy follows 1 - f + f J(s0), f = (1 - J(s0))^K: a question is solved once one of its K samples is "
        f"correct, so K of order 1/J0 = {1 / d['J0']:.1f} samples are needed",
        {K: round(v["closed_form"], 4) for K, v in smp.items()}, {K: round(v["mean"], 4) for K, v in smp.items()},
        f"within {z:.2f} exact standard errors of the mean over {d['seeds']} seeds (Bonferroni over {len(smp)} K)",
        all(abs(x) <= z for x in dev.values()),
        note="K * J0: " + ", ".join(f"K={K}: {v['K_times_J0']:.2f}" for K, v in smp.items())))
    return out


def analyze(data: dict, s: Settings) -> list:
    return (_accumulate(data["accumulate"], s) + _bstar(data["bstar"], s) + _passk(data["passk"], s)
            + _chain(data["chain"], s) + analyze_outcome(data["outcome"], s))

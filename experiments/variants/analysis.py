r"""Findings of experiment 7 (STaR variants). The predictions come from :mod:`.theory` (derived in
its docstring): noisy verifier = a partial fit with weight :math:`w = cJ/(fp + cJ)`,
:math:`c = 1 - fn - fp`, so it improves iff ``fp < 1 - fn`` and converges at rate ``fp/(1 - fn)``;
partial fit converges at rate ``1 - eta``; temperature acts through :math:`U(\lambda_T)`;
rationalize equals ``star`` exactly in the family and adds :math:`R|S_0|(1-J)^K` chains per iteration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..framework import Finding, Info
from ..stats import MEAN_LEVEL, mean_test, mean_words

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings

RATE_RTOL = 0.01
"""Relative tolerance of a measured contraction rate: the last ratio (1-J^{t+1})/(1-J^t) before 1 - J reaches
1e-12 approaches the asymptotic rate with an error of order 1 - J, far below 1% at these settings."""


def _by(data, name):
    return [c for c in data["curves"] if c["variant"] == name]


def _closed_form(data, s) -> list:
    diffs = {c["label"]: c["max_abs_diff_closed_vs_exact"] for c in data["curves"]}
    worst = max(diffs.values())
    rat = data["rationalize"]
    return [
        Finding("closed form", f"M={s.M}, N={s.N}: every variant's exact form on explicit matrices equals its closed "
                f"form in the family (J and fitted lam over {s.iterations} iterations; {len(diffs)} settings)",
                0.0, worst, "1e-12", worst <= 1e-12,
                note="closed forms (star_theory/sim/variant_theory.py): noisy verifier lam' = (1-w) lam + w U(lam) with "
                     "w = cJ/(fp + cJ), c = 1 - fn - fp; partial fit lam' = (1-eta) lam + eta U(lam); temperature "
                     "lam' = U(lam_T), lam_T = (1-r)/(1+(M-1)r), r = (q/p)^(1/T)"),
        Finding("closed form", f"M={rat['M']}: rationalize's exact form equals plain STaR in the family (questions all "
                f"have the same J, so the re-weighting is uniform), for K in {list(s.rat_K)} and R in {list(s.rationales)}",
                0.0, rat["max_abs_diff_exact_rationalize_vs_star"], "1e-12",
                rat["max_abs_diff_exact_rationalize_vs_star"] <= 1e-12),
    ]


def _noisy(data, s) -> list:
    out = []
    nm = data["noisy_map"]
    counts = {k: int(np.sum(np.asarray(nm["outcome"]) == k)) for k in ("improves", "constant", "worsens", "mixed")}
    out.append(Finding(
        "improvement", f"noisy verifier, {len(nm['fp'])}x{len(nm['fn'])} grid of (fp, fn) in [0, 1]^2: J rises iff "
        f"fp < 1 - fn, stays on the line, falls above it ({nm['iterations']} exact iterations, explicit matrices)",
        1.0, nm["agreement"], "every grid point (share 1.0)", nm["agreement"] == 1.0, note=f"measured outcomes: {counts}"))
    good = [c for c in _by(data, "noisy-verifier") if c["parameters"]["fp"] < 1 - c["parameters"]["fn"]]
    pos = [c for c in good if c["parameters"]["fp"] > 0]
    if pos:
        pred = [c["parameters"]["fp"] / (1 - c["parameters"]["fn"]) for c in pos]
        got = [c["convergence"]["rate"] for c in pos]
        out.append(Finding(
            "convergence", f"noisy verifier with 0 < fp < 1 - fn ({', '.join(c['label'] for c in pos)}): 1 - J contracts "
            f"near the optimum by fp/(1 - fn) per iteration (linear, not quadratic)",
            pred, got, f"{RATE_RTOL:.0%} relative", all(abs(g - p) <= RATE_RTOL * p for p, g in zip(pred, got)),
            note="noisy-verifier iterations to J >= {}: {}".format(
                s.target, {c["label"]: c["convergence"]["iterations_to_target"] for c in good})))
    bad = [c for c in _by(data, "noisy-verifier") if c["parameters"]["fp"] > 1 - c["parameters"]["fn"]]
    if bad:
        ok = [(not c["improvement"]["accuracy_holds"]) and c["improvement"]["counterexample"]["iteration"] == 0
              and np.all(np.diff(c["exact_accuracy"]) < 0) for c in bad]
        out.append(Finding(
            "improvement", f"noisy verifier with fp > 1 - fn ({', '.join(c['label'] for c in bad)}): J falls at every "
            f"iteration from the first", "J_t decreasing",
            [[round(float(c["exact_accuracy"][0]), 5), round(float(c["exact_accuracy"][-1]), 5)] for c in bad],
            "strictly decreasing, first counterexample at iteration 0", all(ok),
            note="measured [J_0, J_T] on explicit matrices; the refit learns from accepted wrong answers more than "
                 "from right ones"))
    return out


def _partial(data, s) -> list:
    out: list[Finding | Info] = []
    pf = _by(data, "partial-fit")
    if not pf:
        return out
    holds = [c["improvement"]["holds"] for c in pf]
    out.append(Finding(
        "improvement", f"partial fit ({', '.join(c['label'] for c in pf)}): J and every fitted lam_n never decrease",
        "holds", [c["improvement"]["min_accuracy_change"] for c in pf], "min change of J >= -1e-12, lam likewise",
        all(holds)))
    pred = [1 - c["parameters"]["eta"] for c in pf]
    got = [c["convergence"]["rate"] for c in pf]
    out.append(Finding(
        "convergence", "partial fit: 1 - J contracts near the optimum by 1 - eta per iteration",
        pred, got, f"{RATE_RTOL:.0%} relative", all(abs(g - p) <= RATE_RTOL * p for p, g in zip(pred, got))))
    star = _by(data, "star")[0]
    order = sorted(pf, key=lambda c: -c["parameters"]["eta"])
    its = [star["convergence"]["iterations_to_target"]] + [c["convergence"]["iterations_to_target"] for c in order]
    finite = [x if x is not None else float("inf") for x in its]
    out.append(Finding(
        "convergence", f"partial fit converges slower: iterations to J >= {s.target} grow as eta falls "
                       f"(eta = 1 (plain STaR), {', '.join(str(c['parameters']['eta']) for c in order)})",
        "increasing", its, f"strictly increasing (None: not within {s.convergence_iterations})",
        all(a < b for a, b in zip(finite, finite[1:]))))
    return out


def _temperature(data, s) -> list:
    out = []
    tm = data["temperature_map"]
    T = np.asarray(tm["T"])
    outcome = np.asarray(tm["outcome"])
    out.append(Finding(
        "improvement", f"temperature, {outcome.shape[0]}x{outcome.shape[1]} grid of (lam0, T): the closed form "
        f"U(lam_T) predicts where J ever falls within {tm['iterations']} iterations (explicit matrices)",
        1.0, tm["agreement"], "every grid point (share 1.0)", tm["agreement"] == 1.0))
    cold = int(np.sum(outcome[:, T <= 1] == "worsens"))
    hot = int(np.sum(outcome[:, T > 1] == "worsens"))
    n_hot = int(np.sum(T > 1)) * outcome.shape[0]
    out.append(Finding(
        "improvement", "temperature: T <= 1 never breaks improvement in the family (lam_T >= lam), T > 1 can "
                       "(sampling flattens the policy and the refit lands below the start)",
        {"T<=1 failures": 0, "T>1 failures": "> 0"}, {"T<=1 failures": cold, "T>1 failures": f"{hot} of {n_hot}"},
        "exact counts", cold == 0 and (hot > 0 or n_hot == 0)))
    star = _by(data, "star")[0]
    for c in _by(data, "temperature"):
        T0 = c["parameters"]["temperature"]
        if T0 > 1:
            out.append(Finding(
                "improvement", f"{c['label']} from lam={s.lam}: J falls (improvement fails)", "J_T < J_0",
                [round(float(c["exact_accuracy"][0]), 5), round(float(c["exact_accuracy"][-1]), 5)], "exact",
                (not c["improvement"]["accuracy_holds"]) and c["exact_accuracy"][-1] < c["exact_accuracy"][0],
                note=f"limit J {c['convergence']['limit_accuracy']:.4g} after {s.convergence_iterations} iterations "
                     f"(1/M = {1 / s.M:.4g})"))
        elif T0 < 1:
            a, b = c["convergence"]["iterations_to_target"], star["convergence"]["iterations_to_target"]
            out.append(Finding(
                "convergence", f"{c['label']}: sharper sampling reaches J >= {s.target} no later than plain STaR",
                f"<= {b}", a, "exact", a is not None and b is not None and a <= b))
    return out


def _rationalize(data, s) -> list:
    out = []
    rat = data["rationalize"]
    Ks = sorted(rat["by_K"], key=int)
    pred, got, ok = [], [], []
    for K in Ks:
        for R, run in rat["by_K"][K].items():
            if R == "0":
                continue
            se = run["sd_rationales_first"] / np.sqrt(len(run["seeds"]))
            pred.append(round(run["expected_rationales_first"], 3))
            got.append(run["rationalized_mean"][0])
            ok.append(abs(run["rationalized_mean"][0] - run["expected_rationales_first"]) <= 4 * se + 1e-12)
    out.append(Finding(
        "finite samples", f"rationalize, M={rat['M']}, lam0={rat['lam']}: rationales at iteration 0 = R M (1 - J0)^K "
        f"(every question whose K samples all fail gets R hinted chains), K in {[int(k) for k in Ks]}, "
        f"R in {list(s.rationales)}", pred, got, "4 standard errors (binomial over questions)", all(ok)))

    def gain(K, R):
        a = np.asarray(rat["by_K"][K][R]["final_runs"])
        b = np.asarray(rat["by_K"][K]["0"]["final_runs"])
        return float(a.mean() - b.mean()), float(np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size))

    small, large = Ks[0], Ks[-1]
    J0 = rat["initial_accuracy"]
    g_small = {R: gain(small, R) for R in rat["by_K"][small] if R != "0"}
    out.append(Finding(
        "finite samples", f"rationalize helps when K*J is small (K={small}, K*J0={int(small) * J0:.2g}): final accuracy "
        f"after {s.rat_iterations} iterations above plain STaR's, for R in {list(s.rationales)}",
        "gain > 3 standard errors", [round(g, 4) for g, _ in g_small.values()], "3 standard errors of the difference",
        all(g > 3 * se for g, se in g_small.values()),
        note=f"plain STaR at K={small}: most questions have no kept chain in an iteration (probability "
             f"(1 - J0)^K = {(1 - J0) ** int(small):.3f} each), so rows are refit from very few chains"))
    g_large = {R: gain(large, R) for R in rat["by_K"][large] if R != "0"}
    out.append(Finding(
        "finite samples", f"the gain of rationalize shrinks as K*J grows (K={small} -> K={large}, K*J0 "
        f"{int(small) * J0:.2g} -> {int(large) * J0:.2g})", "gain(large K) < gain(small K)",
        {f"R={R}": [round(g_small[R][0], 4), round(g_large[R][0], 4)] for R in g_small}, "per R",
        all(g_large[R][0] < g_small[R][0] for R in g_small),
        note=f"at K={large} the gain is within {max(2 * se for _, se in g_large.values()):.3g} (2 standard errors) of "
             f"zero for {sum(abs(g) <= 2 * se for g, se in g_large.values())} of {len(g_large)} R values"))
    return out


def _sampled(data, s) -> list:
    curves = [c for c in data["curves"] if "accuracy_runs" in c["sampled"]]
    if not curves:
        gaps = {c["label"]: round(c["sampled"]["max_gap_to_exact"], 4) for c in data["curves"]}
        return [Info("finite samples", f"M={s.M}, K={s.K}/question: largest gap between the mean of the sampled runs "
                                       f"and each variant's exact curve (no per-run data recorded)", gaps)]
    level = 1 - (1 - MEAN_LEVEL) / len(curves)  # simultaneous over the variants as well
    tests = {c["label"]: mean_test(c["sampled"]["accuracy_runs"], c["sampled"]["exact_accuracy"], level=level,
                                   floor=1.0 / (s.K * s.M)) for c in curves}
    worst = {k: round(float(t["z"][np.argmax(np.abs(t["z"]))]), 1) for k, t in tests.items()}
    return [Finding(
        "finite samples", f"M={s.M}, K={s.K}/question: the mean of {s.seeds} sampled runs equals each variant's exact "
        f"curve at every iteration", "mean = exact", {k: f"{t['n_inside']} of {t['n']}" for k, t in tests.items()},
        mean_words(next(iter(tests.values())), "1/(K M)") + f", per variant ({len(tests)} variants)",
        all(t["all"] for t in tests.values()),
        note=f"most significant gap per variant, in standard errors (negative: the runs lag the exact curve): {worst}")]


def _general(data, s) -> list:
    out = []
    g = data["general"]
    res = g["results"]
    em = [r for r in res if r["variant"] in ("star", "partial-fit")
          or (r["variant"] == "noisy-verifier" and r["parameters"]["fp"] < 1 - r["parameters"]["fn"])]
    out.append(Finding(
        "improvement", f"general tabular tasks ({res[0]['n_cases']} random, non-bijective): J never decreases under "
        f"the EM-type rules ({', '.join(r['label'] for r in em)})",
        0, {r["label"]: r["n_failures"] for r in em}, "no failure (decrease > 1e-12)",
        all(r["n_failures"] == 0 for r in em),
        note="star is an EM step for log J, partial fit a generalised EM step, the noisy verifier an EM step for the "
             "acceptance probability fp + (1 - fn - fp) J, which grows with J iff fp < 1 - fn"))
    rev = [r for r in res if r["variant"] == "noisy-verifier" and r["parameters"]["fp"] > 1 - r["parameters"]["fn"]]
    if rev:
        worst = max(r["max_change"] for r in rev)
        out.append(Finding(
            "improvement", f"general tabular tasks: with fp > 1 - fn ({', '.join(r['label'] for r in rev)}) J never "
            f"increases (the EM step raises fp + (1 - fn - fp) J, which falls with J)", "<= 0", worst, "1e-12",
            worst <= 1e-12))
    other = [r for r in res if r["variant"] in ("temperature", "rationalize")
             and not (r["variant"] == "temperature" and r["parameters"]["temperature"] == 1)]
    if other:
        rules = sorted({r["variant"] for r in other})
        found = {v: sum(r["n_failures"] for r in other if r["variant"] == v) for v in rules}
        out.append(Finding(
            "improvement", f"general tabular tasks: {' and '.join(rules)} are not EM steps, and J can fall",
            "some task where J falls", {r["label"]: f"{r['n_failures']} of {r['n_cases']} (worst {r['min_change']:.2g})"
                                        for r in other},
            "at least one counterexample per rule (any of its settings); a count, no tolerance", all(n > 0 for n in found.values()),
            note="counterexamples reproduce with star_theory.random_tabular_case(first_failure_seed) in result.json"))
    return out


def analyze(data: dict, s: Settings) -> list:
    return (_closed_form(data, s) + _noisy(data, s) + _partial(data, s) + _temperature(data, s)
            + _rationalize(data, s) + _sampled(data, s) + _general(data, s))

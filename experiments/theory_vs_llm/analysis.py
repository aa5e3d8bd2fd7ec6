"""Findings of experiment 5: measured pretrained lam, improvement, and the two theory curves."""

from __future__ import annotations

import numpy as np

from llm.star import phase_walls

from ..framework import Finding, Info


def analyze(data: dict, s) -> list:
    out = analyze_tiny(data, s)
    return out + analyze_paper_cpu(data.get("paper_cpu") or {})


def analyze_tiny(data: dict, s) -> list:
    """The tiny-preset runs (fixed fine-tuning budget): tested against the tabular band and the exact operator."""
    out = []
    for lam, r in data["runs"].items():
        recs, pred, sim = r["records"], r["prediction"], r["simulated"]
        lam0 = np.asarray(recs[0]["lam"])
        tag = f"corpus lam={lam}"
        out.append(Info("pretrained quality", f"{tag}: measured initial lam_n (the corpus's sampling error is not "
                        "recorded, so no test)", np.round(lam0, 4).tolist(),
                        note=f"largest |lam_n - corpus| {float(np.abs(lam0 - float(lam)).max()):.3g}; distance from "
                             f"the family {np.round(recs[0]['family_distance'], 4).tolist()}"))
        acc = [x["sampled_accuracy"] for x in recs]
        ex = [x["exact_accuracy"] for x in recs]
        out.append(Finding("improvement", f"{tag}: accuracy rises over {len(recs) - 1} LLM STaR iterations",
                           "rises", [round(a, 4) for a in ex], "last > first (exact J and sampled)",
                           ex[-1] > ex[0] and acc[-1] > acc[0]))
        out.append(Info("improvement", f"{tag}: largest change of the LLM's exact J between iterations (negative: a "
                        "drop; finite-sample STaR may drop, the exact operator never does)",
                        round(float(min(np.diff(ex))), 4)))
        out += accuracy_findings(tag + f" (tiny, K={r['K']})", recs, pred["symmetric"]["accuracy"], sim,
                                 np.zeros(len(recs)), "exact operator from the measured lam_n")
    return out


def accuracy_findings(tag: str, recs, exact, sim, floor_j, exact_name: str) -> list:
    """J inside the tabular prediction band (widened by ``floor_j``), and J against the exact operator."""
    ex = np.array([x["exact_accuracy"] for x in recs])
    T = len(recs) - 1
    acc_runs = np.asarray(sim["accuracy_runs"])
    ok, worst, half = band_check(ex, acc_runs, floor_j, T + 1)
    floor_words = f" + the run's refit error (largest {np.max(floor_j):.4f})" if np.max(floor_j) > 0 else ""
    out = [Finding("convergence", f"{tag}: LLM's exact J inside the prediction band of tabular STaR at the same K "
                   "from the measured initial kernel, at every iteration",
                   [round(a, 4) for a in acc_runs.mean(axis=0)], [round(a, 4) for a in ex],
                   f"{LEVEL:.0%} prediction band of {acc_runs.shape[0]} runs (t, Bonferroni over {T + 1}){floor_words}; "
                   f"largest half-width {half.max():.4f}", ok, note=f"worst excess over the tolerance {worst:+.4f}")]
    exact = np.asarray(exact)
    lag = np.abs(acc_runs.mean(axis=0) - exact)
    dev = np.abs(ex - exact)
    out.append(Finding("convergence", f"{tag}: {exact_name} against the LLM's exact J", [round(a, 4) for a in exact],
                       [round(a, 4) for a in ex], "finite-K lag of the tabular mean from the exact operator + its "
                       f"prediction half-width{floor_words}, per iteration",
                       bool(np.all(dev <= lag + half + floor_j + 1e-12)),
                       note=f"largest |J(LLM) - exact| {dev.max():.4f} at t={int(dev.argmax())}; largest lag of tabular "
                            f"STaR at the same K {lag.max():.4f}"))
    return out


# ----------------------------------------------------------------------------- paper-cpu runs
# Every tolerance below is a statistic of the run: a prediction band of the tabular runs (one more
# draw like them; t quantile, Bonferroni over the iterations compared, 95%), widened only by the
# refit error the fine-tuning left, measured on the run itself (the LLM's kernel against the exact
# refit of the same kept chains), or a binomial bound.

LEVEL = 0.95



def prediction_halfwidth(runs: np.ndarray, comparisons: int, level: float = LEVEL) -> np.ndarray:
    """Half-width of the simultaneous prediction band for one more draw at each column of ``runs`` ``(R, ...)``."""
    from scipy.stats import t as student

    R = runs.shape[0]
    q = student.ppf(1 - (1 - level) / (2 * comparisons), R - 1)
    return q * runs.std(axis=0, ddof=1) * np.sqrt(1 + 1 / R)


def band_check(values, runs, floor, comparisons: int) -> tuple[bool, float, np.ndarray]:
    """Whether ``values`` lie within ``runs``' prediction band widened by ``floor``; the worst excess."""
    values, runs, floor = np.asarray(values, float), np.asarray(runs, float), np.asarray(floor, float)
    half = prediction_halfwidth(runs, comparisons)
    excess = np.abs(values - runs.mean(axis=0)) - half - floor
    return bool(np.all(excess <= 1e-12)), float(excess.max()), half


def analyze_paper_cpu(runs: dict) -> list:
    from scipy.stats import norm

    out = []
    for lam, r in runs.items():
        recs, pred, sim, ref, K = r["records"], r["prediction"], r["simulated"], r["refit"], r["K"]
        T = len(recs) - 1
        ex = np.array([x["exact_accuracy"] for x in recs])
        floor_j = np.abs(ex - np.asarray(ref["accuracy"]))  # refit error of the fine-tuning, in J
        tag = f"paper-cpu lam={lam} (M={r['M']}, N={r['N']}, K={K})"
        out += accuracy_findings(tag, recs, pred["kernel"]["accuracy"], sim, floor_j,
                                 "exact-operator prediction (from the measured kernel)")
        for key, runs_key, name in (("lam", "lam_runs", "per-step lam_n"), ("family_distance", "distance_runs",
                                                                            "per-step distance from the family")):
            meas = np.array([x[key] for x in recs])  # (T+1, N)
            floor = np.abs(meas - np.asarray(ref["lam" if key == "lam" else "distance"]))
            sim_runs = np.asarray(sim[runs_key])
            okk, worst_k, _ = band_check(meas, sim_runs, floor, (T + 1) * meas.shape[1])
            out.append(Finding("convergence", f"{tag}: LLM's {name} inside the prediction band of tabular STaR at "
                               "the same K, every iteration and step",
                               np.round(sim_runs.mean(axis=0), 4).tolist(), np.round(meas, 4).tolist(),
                               f"{LEVEL:.0%} prediction band (Bonferroni over {(T + 1) * meas.shape[1]}) + the run's "
                               f"refit error in this quantity (largest {floor.max():.4f})", okk,
                               note=f"worst excess {worst_k:+.4f}"))
        sampled = np.array([x["sampled_accuracy"] for x in recs])
        C = np.array([x["chains"] for x in recs])
        z = norm.ppf(1 - (1 - LEVEL) / (2 * (T + 1)))
        bound = z * np.sqrt(ex * (1 - ex) / C) + 1 / C
        out.append(Finding("convergence", f"{tag}: sampled accuracy against the exact J of the same model "
                           "(the trie sampler draws from the measured kernel)",
                           [round(a, 4) for a in ex], [round(a, 4) for a in sampled],
                           f"binomial bound z*sqrt(J(1-J)/C) + 1/C, {LEVEL:.0%} Bonferroni over {T + 1}",
                           bool(np.all(np.abs(sampled - ex) <= bound))))
        tv = [x.get("refit_tv") for x in recs[1:]]
        gaps = [x.get("refit_gap") for x in recs[1:]]
        pinsker = [t_ <= np.sqrt(max(g, 0) / 2) + 1e-9 for t_, g in zip(tv, gaps)]
        out.append(Finding("convergence", f"{tag}: the fine-tuning is a refit: count-weighted TV between the measured "
                           "kernel and the empirical kernel of the kept chains (rows with >= 20 kept)",
                           "<= sqrt(gap/2) (Pinsker, gap = the run's exact NLL - entropy)", np.round(tv, 4).tolist(),
                           "Pinsker's bound from the run's measured gap", all(pinsker)))
        out.append(Info("convergence", f"{tag}: exact NLL gap of each refit (nats per transition) and fit steps",
                        {"gap": np.round(gaps, 5).tolist(), "steps": [x.get("train_steps") for x in recs[1:]]}))
        out.append(Info("convergence", f"{tag}: wall time per phase (s), summed over iterations",
                        phase_walls(recs, 1)))
    return out

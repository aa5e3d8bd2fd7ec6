"""Findings of experiment 2: closed forms of the first iteration vs frequencies; band vs exact curve."""

from __future__ import annotations

import numpy as np

from ..framework import Finding


def analyze(data: dict, s) -> list:
    out = []
    Ks = sorted(data["by_K"], key=int)
    for K in Ks:
        f = data["by_K"][K]["first_step"]
        p, n = f["p_no_kept_closed"], f["trials"]
        tol = 4 * np.sqrt(max(p * (1 - p), 1.0 / n) / n)
        out.append(Finding(
            "finite samples", f"P(no kept chain at iteration 0), K={K}", p, f["p_no_kept_measured"],
            f"4 binomial sd ({tol:.3g})", abs(f["p_no_kept_measured"] - p) <= tol))
        se = f["kept_sd_closed"] / np.sqrt(n)
        out.append(Finding(
            "finite samples", f"E[kept chains at iteration 0], K={K}", f["expected_kept_closed"], f["kept_mean_measured"],
            f"4 standard errors ({4 * se:.3g})", abs(f["kept_mean_measured"] - f["expected_kept_closed"]) <= 4 * se + 1e-12))
    cov = data["coverage"]
    inside = [r["exact_in_band"] for r in cov["iterations"]]
    out.append(Finding(
        "convergence", f"K={s.coverage_K} chains per question, M={s.coverage_M}: exact curve inside the 90% band of the runs at every iteration",
        "inside", f"{sum(inside)} of {len(inside)} iterations", "all iterations", all(inside),
        note="with K large against the number of states the sampled refit concentrates around the exact operator; "
             "where it leaves the band, finite-sample STaR lags the exact curve in its steepest iterations"))
    gap = max(abs(r["mean_accuracy"] - r["exact_accuracy"]) for r in cov["iterations"])
    out.append(Finding(
        "convergence", f"K={s.coverage_K}, M={s.coverage_M}: largest gap between the mean of the runs and the exact curve",
        0.0, gap, "0.05 in accuracy", gap <= 0.05))
    K = Ks[-1]
    rows = data["by_K"][K]["iterations"]
    out.append(Finding(
        "convergence", f"M={s.M}, K={K}: final accuracy of finite-sample STaR against the exact operator",
        rows[-1]["exact_accuracy"], rows[-1]["mean_accuracy"], "inside the 90% band of the runs",
        bool(rows[-1]["exact_in_band"]),
        note=(f"M={s.M}, K={K}: the sampled refit fits each row to a handful of kept transitions, mostly from chains "
              "that reached the answer through wrong states; rows become nearly deterministic and finite-sample STaR "
              "first outpaces, then stalls below the exact curve (see docs/reproduce.md)")))
    K0 = Ks[0]
    r0 = data["by_K"][K0]["iterations"][0]
    out.append(Finding(
        "finite samples", f"smallest K={K0}: chance that STaR cannot start (no kept chain), closed form at exact P^0",
        r0["p_no_kept_exact"], r0["no_kept_rate"], "reported (seeds are few)", True,
        note=f"K={K0}: expected kept {r0['expected_kept_exact']:.3g} chains at iteration 0"))
    return out

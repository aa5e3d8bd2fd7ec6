"""Findings of experiment 2: closed forms of the first iteration vs frequencies; mean of the runs vs
the exact curve (standard errors over runs, with the resolution of one sampled iteration)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..framework import Finding, Info
from ..stats import Z, binomial_halfwidth, mean_test, mean_words

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings


def _resolution(K: int, M: int) -> float:
    """Smallest change of J one sampled iteration resolves: one chain among the K*M of an iteration."""
    return 1.0 / (int(K) * int(M))


def _curve_test(res: dict, K, M: int) -> dict:
    rows = res["iterations"]
    exact = [r["exact_accuracy"] for r in rows]
    return mean_test(res["accuracy_runs"], exact, floor=_resolution(K, M))


def _first_step(data: dict) -> list:
    out = []
    for K in sorted(data["by_K"], key=int):
        f = data["by_K"][K]["first_step"]
        p, n = f["p_no_kept_closed"], f["trials"]
        tol = binomial_halfwidth(p, n)
        out.append(Finding(
            "finite samples", f"P(no kept chain at iteration 0), K={K}", p, f["p_no_kept_measured"],
            f"{Z:g} binomial sd of {n} trials ({tol:.3g})", abs(f["p_no_kept_measured"] - p) <= tol))
        se = f["kept_sd_closed"] / np.sqrt(n)
        out.append(Finding(
            "finite samples", f"E[kept chains at iteration 0], K={K}", f["expected_kept_closed"], f["kept_mean_measured"],
            f"{Z:g} standard errors of {n} trials ({Z * se:.3g})",
            abs(f["kept_mean_measured"] - f["expected_kept_closed"]) <= Z * se + 1e-12))
    return out


def analyze(data: dict, s: Settings) -> list:
    out = _first_step(data)
    cov = data["coverage"]
    R = len(cov["seeds"])
    t = _curve_test(cov, s.coverage_K, s.coverage_M)
    worst = int(np.argmax(np.abs(t["z"])))
    out.append(Finding(
        "convergence", f"K={s.coverage_K} chains per question, M={s.coverage_M}: the mean of {R} runs equals the exact "
        f"curve at every iteration", "mean = exact", f"{t['n_inside']} of {t['n']} iterations",
        mean_words(t, f"1/(K M) = {_resolution(s.coverage_K, s.coverage_M):.2g} (one chain of an iteration)"), t["all"],
        note=f"K={s.coverage_K}, M={s.coverage_M}: most significant gap mean - exact {t['gap'][worst]:+.4f} at t={worst} "
             f"({t['z'][worst]:+.1f} standard errors); gaps {np.round(t['gap'], 4).tolist()}"))
    out.append(Info(
        "convergence", f"K={s.coverage_K}, M={s.coverage_M}: mean of the runs minus the exact curve per iteration, "
                       f"in standard errors", np.round(t["z"], 2).tolist(),
        note="a negative z is a lag of finite-sample STaR behind the exact operator"))
    if "one_step" in data:
        tests = {t: mean_test(d["sampled_next"], d["exact_next"]) for t, d in data["one_step"].items()}
        out.append(Info(
            "finite samples", f"K={s.coverage_K}, M={s.coverage_M}: bias of one sampled step from the exact iterate P^t "
            f"(mean over {s.one_step_draws} draws of J(sampled step) - J(exact step), and in standard errors), per t",
            {f"t={t}": f"{x['gap'][0]:+.2g} ({x['z'][0]:+.1f} se)" for t, x in tests.items()},
            note="the refit is a ratio of pooled counts, biased by O(1/n); a gap within a few standard errors means the "
                 "bias is below what these draws resolve, not that it is zero"))
    Ks = sorted(data["by_K"], key=int)
    K = Ks[-1]
    res = data["by_K"][K]
    t = _curve_test(res, K, s.M)
    out.append(Finding(
        "convergence", f"M={s.M}, K={K}: the mean of {len(res['seeds'])} runs of finite-sample STaR equals the exact "
        f"accuracy after {s.iterations} iterations", res["iterations"][-1]["exact_accuracy"], float(t["mean"][-1]),
        mean_words(t, "1/(K M)") + " (tested at every iteration; the final one is the verdict)", bool(t["inside"][-1]),
        note=(f"M={s.M}, K={K}: the sampled refit fits each row to a handful of kept transitions, mostly from chains "
              "that reached the answer through wrong states; rows become nearly deterministic and finite-sample STaR "
              "first outpaces, then stalls below the exact curve (see docs/reproduce.md)")))
    K0 = Ks[0]
    r0 = data["by_K"][K0]["iterations"][0]
    out.append(Info(
        "finite samples", f"smallest K={K0}: share of the {len(data['by_K'][K0]['seeds'])} runs whose iteration 0 kept "
        f"no chain (closed form at the exact P^0: {r0['p_no_kept_exact']:.3g}; tested with "
        f"{data['by_K'][K0]['first_step']['trials']} trials above)", r0["no_kept_rate"],
        note=f"K={K0}: expected kept {r0['expected_kept_exact']:.3g} chains at iteration 0"))
    return out

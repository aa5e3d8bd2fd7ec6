"""Findings of experiment 1: closed form = exact operator; improvement; convergence."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..framework import Finding

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings


def analyze(data: dict, s: Settings) -> list:
    out = []
    for lam, c in data["curves"].items():
        acc = np.asarray(c["accuracy"])
        lam_arr = np.asarray(c["lam"])
        out.append(Finding(
            "closed form", f"closed form equals the exact operator on explicit matrices, lam0={lam}",
            0.0, c["max_abs_diff_closed_vs_exact"], "1e-12 (round-off of explicit 64x64 matrix products)",
            c["max_abs_diff_closed_vs_exact"] <= 1e-12))
        out.append(Finding(
            "improvement", f"J and every lam_n never decrease over {s.iterations} iterations, lam0={lam}",
            "min increase >= 0", float(min(np.diff(acc).min(), np.diff(lam_arr, axis=0).min())), "-1e-15 (round-off)",
            bool(np.diff(acc).min() >= -1e-15 and np.diff(lam_arr, axis=0).min() >= -1e-15)))
        reached = c["iterations_to_target"]
        out.append(Finding(
            "convergence", f"J reaches {s.target} within {s.iterations} iterations, lam0={lam}",
            f"<= {s.iterations}", reached, "exact (an iteration count)",
            bool(reached is not None and np.isfinite(reached) and reached <= s.iterations),
            note=f"lam0={lam}: J goes {acc[0]:.4f} -> {acc[-1]:.6f} in {s.iterations} iterations"))
    by_M = data["iterations_to_target_by_M"]
    ms = sorted(by_M, key=int)
    vals = [np.inf if by_M[m] is None else by_M[m] for m in ms]
    out.append(Finding(
        "convergence", "more states per level (larger M) never slow convergence at fixed lam0 (iterations to target non-increasing in M)",
        "non-increasing", vals, "exact", bool(all(a >= b for a, b in zip(vals, vals[1:])))))
    by_N = data["iterations_to_target_by_N"]
    ns = sorted(by_N, key=int)
    vals = [np.inf if by_N[n] is None else by_N[n] for n in ns]
    out.append(Finding(
        "convergence", "more reasoning steps (larger N) never speed convergence at fixed lam0 (iterations to target non-decreasing in N)",
        "non-decreasing", vals, "exact", bool(all(a <= b for a, b in zip(vals, vals[1:])))))
    return out

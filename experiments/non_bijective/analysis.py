"""Findings of experiment 6: improvement and convergence off the symmetric family."""

from __future__ import annotations

import numpy as np

from ..framework import Finding


def analyze(data: dict, s) -> list:
    out = []
    acc = np.asarray(data["exact"]["accuracy"])
    out.append(Finding("improvement", "exact operator on the add task: J never decreases (the pooled refit is an EM step)",
                       ">= 0", float(np.diff(acc).min()), "-1e-12", bool(np.diff(acc).min() >= -1e-12)))
    out.append(Finding("convergence", f"exact operator on the add task reaches J >= 0.99 within {s.sim_iterations} iterations",
                       ">= 0.99", float(acc[-1]), "exact", bool(acc[-1] >= 0.99)))
    sc = np.asarray(data["exact"]["step_correct"])[-1]
    out.append(Finding("convergence", "add task: the exact operator's limit is the optimal reasoner (every step correct with probability 1)",
                       1.0, [round(float(x), 4) for x in sc], "1e-3 on every step", bool(np.all(sc >= 1 - 1e-3)),
                       note=("add task: J -> 1 while intermediate steps stay wrong with positive probability; the steps are not "
                             "injective, so a wrong state can carry the same future (same remaining sum) as the right one, and "
                             "the answer filter cannot tell them apart: optimal accuracy, not the ground-truth reasoner")))
    share0 = data["exact"]["flawed_share"][0]
    out.append(Finding("robustness", "add task: kept chains at iteration 0 include wrong intermediate states, yet J rises",
                       "share > 0, J rises", f"share {share0:.3f}, J {acc[0]:.3f} -> {acc[-1]:.3f}", "exact",
                       bool(share0 > 0 and acc[-1] > acc[0])))
    K = max(data["sampled"], key=int)
    sim = data["sampled"][K]
    inside = (acc >= np.asarray(sim["lo"]) - 0.05) & (acc <= np.asarray(sim["hi"]) + 0.05)
    out.append(Finding("convergence", f"add task: exact curve inside the band of tabular STaR with K={K} (+-0.05)",
                       "inside", f"{int(inside.sum())} of {inside.size} iterations", "every iteration", bool(inside.all())))
    L = data["llm"]
    ex = np.asarray([x["exact_accuracy"] for x in L["records"]])
    out.append(Finding("improvement", "LLM on the add task: accuracy rises over the STaR iterations",
                       "rises", [round(float(a), 4) for a in ex], "last > first", bool(ex[-1] > ex[0])))
    lo, hi = np.asarray(L["simulated"]["lo"]), np.asarray(L["simulated"]["hi"])
    inside = (ex >= lo - 0.05) & (ex <= hi + 0.05)
    out.append(Finding("convergence", f"LLM on the add task: exact J inside the band of tabular STaR at the same K={L['K']} (+-0.05)",
                       "inside", f"{int(inside.sum())} of {inside.size} iterations", "every iteration", bool(inside.all())))
    pred = np.asarray(L["prediction"]["kernel"]["accuracy"])
    gap = float(np.abs(pred - ex).max())
    out.append(Finding("convergence", "LLM on the add task: exact operator from the measured kernel against the LLM's exact J",
                       [round(float(a), 4) for a in pred], [round(float(a), 4) for a in ex], "0.1 at every iteration", gap <= 0.1,
                       note=f"add task: largest gap {gap:.3f} between the infinite-sample prediction and the LLM"))
    return out

"""Findings of experiment 6: improvement and convergence off the symmetric family."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..framework import Finding, band_finding
from ..stats import mean_test, mean_words

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings


def _simulator(data: dict, s) -> list:
    out = []
    acc = np.asarray(data["exact"]["accuracy"])
    out.append(Finding("improvement", "exact operator on the add task: J never decreases (the pooled refit is an EM step)",
                       ">= 0", float(np.diff(acc).min()), "-1e-12 (round-off)", bool(np.diff(acc).min() >= -1e-12)))
    out.append(Finding("convergence", f"exact operator on the add task reaches J >= 0.99 within {s.sim_iterations} iterations",
                       ">= 0.99", float(acc[-1]), "exact", bool(acc[-1] >= 0.99)))
    sc = np.asarray(data["exact"]["step_correct"])[-1]
    gap = float(1 - acc[-1])
    out.append(Finding("convergence", "add task: the exact operator's limit is the optimal reasoner (every step correct with probability 1)",
                       1.0, [round(float(x), 4) for x in sc], f"1 - J at the last iteration ({gap:.2g}): a step right "
                       "less often than the answer is not explained by an unfinished iteration", bool(np.all(sc >= 1 - gap - 1e-12)),
                       note=("add task: J -> 1 while intermediate steps stay wrong with positive probability; the steps are not "
                             "injective, so a wrong state can carry the same future (same remaining sum) as the right one, and "
                             "the answer filter cannot tell them apart: optimal accuracy, not the ground-truth reasoner. This is "
                             "a property of the exact operator itself, not of finite samples")))
    share0 = data["exact"]["flawed_share"][0]
    out.append(Finding("robustness", "add task: kept chains at iteration 0 include wrong intermediate states, yet J rises",
                       "share > 0, J rises", f"share {share0:.3f}, J {acc[0]:.3f} -> {acc[-1]:.3f}", "exact",
                       bool(share0 > 0 and acc[-1] > acc[0])))
    K = max(data["sampled"], key=int)
    sim = data["sampled"][K]
    S0 = data["sizes"][0]
    t = mean_test(sim["accuracy_runs"], acc, floor=1.0 / (int(K) * S0))
    out.append(Finding("convergence", f"add task: the mean of {len(sim['seeds'])} runs of tabular STaR with K={K} equals "
                                      f"the exact curve at every iteration",
                       "mean = exact", f"{t['n_inside']} of {t['n']} iterations",
                       mean_words(t, "1/(K |S0|)"), t["all"],
                       note=f"add task, K={K}: gaps mean - exact {np.round(t['gap'], 4).tolist()} "
                            f"({np.round(t['z'], 1).tolist()} standard errors)"))
    return out


def _llm(data: dict) -> list:
    out = []
    L = data["llm"]
    ex = np.asarray([x["exact_accuracy"] for x in L["records"]])
    out.append(Finding("improvement", "LLM on the add task: accuracy rises over the STaR iterations",
                       "rises", [round(float(a), 4) for a in ex], "last > first (exact J of the model's kernel)",
                       bool(ex[-1] > ex[0])))
    finding, t = band_finding("convergence", f"LLM on the add task: exact J behaves like tabular STaR at the same "
                                             f"K={L['K']} from the measured kernel", "add task LLM: J", ex,
                              L["simulated"]["accuracy_runs"])
    out.append(finding)
    pred = np.asarray(L["prediction"]["kernel"]["accuracy"])
    half = (t["hi"] - t["lo"]) / 2
    inside = np.abs(ex - pred) <= half
    out.append(Finding("convergence", "LLM on the add task: the exact operator from the measured kernel predicts the "
                                      "LLM's exact J",
                       [round(float(a), 4) for a in pred], [round(float(a), 4) for a in ex],
                       "the prediction band's half-width at each iteration (the spread of one run of STaR at the LLM's K)",
                       bool(inside.all()),
                       note=f"add task: largest gap {float(np.abs(pred - ex).max()):.3f} between the infinite-sample "
                            f"prediction and the LLM; inside at {int(inside.sum())} of {inside.size} iterations"))
    return out


def analyze(data: dict, s: Settings) -> list:
    return _simulator(data, s) + _llm(data)

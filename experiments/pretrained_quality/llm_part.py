"""The LLM part of experiment 3: pretrain the tiny GPT-2 (zip, N=2, M=16) on corpora with one
step, or both, at lam = 0, run STaR, and lay beside it the exact operator from the measured
initial lam_n (closed form) and tabular STaR at the LLM's K from the measured kernel (compute
only: the figure is in :mod:`.figures`, the findings in :mod:`.analysis`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from star_theory import symmetric_trajectory

from ..llm_common import llm_case

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context


def llm_cases(base_lam: float, zero_sets: Iterable[Sequence[int]]) -> dict[str, list[float]]:
    """Initial lam vectors of the LLM cases (N = 2): one step, or both, at zero."""
    out = {}
    for z in zero_sets:
        lam = [float(base_lam)] * 2
        for k in z:
            lam[k - 1] = 0.0
        out["zero_" + "_".join(map(str, z))] = lam
    return out


def run_llm_cases(s: Settings, ctx: Context) -> dict:
    cases = {}
    for name, lam in llm_cases(s.llm_base_lam, s.llm_zero_sets).items():
        r = llm_case(ctx, {"lam": lam, "iterations": s.llm_iterations},
                     [ctx.child_seed("llm-sim", name, i) for i in range(s.seeds)], s.llm_iterations)
        tt, K, sim = r["text_task"], r["K"], r["simulated"]
        M = tt.task.sizes[0]
        lam0 = np.clip(np.asarray(r["records"][0]["lam"]), -1 / (M - 1), 1)
        theory = symmetric_trajectory(M, s.llm_iterations, lam=lam0)
        cases[name] = {"corpus_lam": lam, "M": M, "K": K, "records": r["records"],
                       "theory_accuracy": theory.accuracy, "theory_lam": theory.lam,
                       "simulated": sim, "folder": r["folder"]}
    return cases

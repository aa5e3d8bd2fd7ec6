"""Pretrain a tiny GPT-2 on a corpus of the symmetric family, run STaR on it, and lay beside it:

* the exact operator from the measured initial ``lam_n`` (the analysis's prediction, a line),
* the exact operator from the measured initial kernel itself (a dashed line),
* tabular finite-sample STaR with the LLM's own K chains per question from the measured kernel
  (a band over seeds: the theory at the LLM's sample size).
"""

from __future__ import annotations

from dataclasses import dataclass

from star_theory.config import check, option

from ..llm_common import llm_case
from ..llm_settings import llm_settings
from .paper_cpu import run_paper_cpu


@dataclass(frozen=True)
class Settings:
    lams: tuple[float, ...] = option([0.1, 0.2], "corpus lam (same on every step), one LLM run each")
    iterations: int = option(4, "STaR iterations of each LLM run")
    sim_seeds: int = option(24, "runs of the finite-sample simulator beside each LLM run")
    llm_preset: str = option("tiny", "LLM preset: tiny (CPU) or paper (GPU)", choices=("tiny", "paper"))
    paper_cpu_lams: tuple[float, ...] = option(
        [0.1, 0.2], "corpus lam of the paper-cpu runs (zip M=64, N=3, K=4096; see paper_cpu.py); empty = none"
    )
    paper_cpu_iterations: int = option(10, "STaR iterations of each paper-cpu run")
    paper_cpu_sim_seeds: int = option(16, "tabular finite-sample runs beside each paper-cpu run (>= 8)")

    def __post_init__(self):
        check(len(self.lams) >= 1, "lams must hold at least one value")
        check(self.iterations >= 1 and self.sim_seeds >= 2, "iterations >= 1 and sim_seeds >= 2")
        check(self.paper_cpu_iterations >= 1 and self.paper_cpu_sim_seeds >= 8,
              "paper_cpu_iterations >= 1 and paper_cpu_sim_seeds >= 8")


def run(s: Settings, ctx) -> dict:
    runs = {}
    for lam in s.lams:
        r = llm_case(ctx, llm_settings(lam, s.iterations, s.llm_preset),
                     [ctx.child_seed("sim", lam, i) for i in range(s.sim_seeds)], s.iterations)
        tt, K, sim = r["text_task"], r["K"], r["simulated"]
        runs[str(lam)] = {"records": r["records"], "prediction": r["prediction"], "simulated": sim,
                          "K": K, "llm_folder": r["folder"], "llm_config": r["config"],
                          "M": tt.task.sizes[0], "N": tt.task.n_steps}
    paper = run_paper_cpu(s.paper_cpu_lams, s.paper_cpu_iterations, s.paper_cpu_sim_seeds, ctx)
    return {"runs": runs, "paper_cpu": paper, "convention": "lam"}

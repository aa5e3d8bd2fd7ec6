"""Pretrain a tiny GPT-2 on a corpus of the symmetric family, run STaR on it, and lay beside it:

* the exact operator from the measured initial ``lam_n`` (the analysis's prediction, a line),
* the exact operator from the measured initial kernel itself (a dashed line),
* tabular finite-sample STaR with the LLM's own K chains per question from the measured kernel
  (a band over seeds: the theory at the LLM's sample size).

Each LLM case runs ``llm_seeds`` STaR seeds from one shared pretrained model (see
:mod:`experiments.llm_common`), so every finding is a statistic over the LLM's seeds.
"""

from __future__ import annotations

from dataclasses import dataclass

from star_theory.config import check

from ..llm_common import seed_cases
from ..llm_settings import llm_settings
from ..shared_settings import setting
from .paper_cpu import run_paper_cpu


@dataclass(frozen=True)
class Settings:
    lams: tuple[float, ...] = setting("corpus lam (same on every step), one LLM run each")
    iterations: int = setting("STaR iterations of each LLM run")
    sim_seeds: int = setting("runs of the finite-sample simulator beside each LLM case")
    llm_seeds: int = setting("STaR seeds of each LLM case (one shared pretrained model; >= 2: findings are over seeds)")
    llm_preset: str = setting("LLM preset: tiny (CPU) or paper (GPU)", choices=("tiny", "paper"))
    paper_cpu_lams: tuple[float, ...] = setting(
        "corpus lam of the paper-cpu runs (zip M=64, N=3, K=4096; see paper_cpu.py); empty = none")
    paper_cpu_iterations: int = setting("STaR iterations of each paper-cpu run")
    paper_cpu_sim_seeds: int = setting("tabular finite-sample runs beside each paper-cpu run (>= 8)")

    def __post_init__(self):
        check(len(self.lams) >= 1, "lams must hold at least one value")
        check(self.iterations >= 1 and self.sim_seeds >= 2, "iterations >= 1 and sim_seeds >= 2")
        check(self.llm_seeds >= 2, f"llm_seeds must be >= 2 (findings are statistics over seeds), got {self.llm_seeds}")
        check(self.paper_cpu_iterations >= 1 and self.paper_cpu_sim_seeds >= 8,
              "paper_cpu_iterations >= 1 and paper_cpu_sim_seeds >= 8")


def run(s: Settings, ctx) -> dict:
    runs = {str(lam): seed_cases(ctx, llm_settings(lam, s.iterations, s.llm_preset),
                                [ctx.child_seed("sim", lam, i) for i in range(s.sim_seeds)], s.iterations, s.llm_seeds)
            for lam in s.lams}
    paper = run_paper_cpu(s.paper_cpu_lams, s.paper_cpu_iterations, s.paper_cpu_sim_seeds, s.llm_seeds, ctx)
    return {"runs": runs, "paper_cpu": paper, "convention": "lam"}

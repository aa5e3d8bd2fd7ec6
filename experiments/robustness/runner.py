"""Flawed-chain share per iteration: closed form and LLM.

For each LLM run (the same as experiment 5's, so ``OUT/_llm`` shares them) this records the
share among the kept sampled chains, the exact share of the measured kernel, the closed form at
the measured ``lam_n`` of each iteration, the closed-form trajectory from the initial ``lam_n``,
and tabular finite-sample STaR at the same K. A theory panel shows the analysis's setting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from star_theory import symmetric_flawed_distribution, symmetric_flawed_share, symmetric_trajectory
from star_theory.config import check

from star_theory.sim import tabular_star_runs

from ..llm_common import llm_case
from ..llm_settings import llm_settings
from ..shared_settings import setting


@dataclass(frozen=True)
class Settings:
    lams: tuple[float, ...] = setting("corpus lam of the LLM runs (as in experiment 5)")
    iterations: int = setting("STaR iterations of each LLM run (as in experiment 5)")
    sim_seeds: int = setting("runs of tabular finite-sample STaR beside each LLM run")
    theory_M: int = setting("M of the theory panel (the analysis's setting)")
    theory_N: int = setting("N of the theory panel")
    theory_iterations: int = setting("iterations of the theory panel")
    llm_preset: str = setting("LLM preset (as in experiment 5): tiny (CPU) or paper (GPU)", choices=("tiny", "paper"))

    def __post_init__(self):
        check(len(self.lams) >= 1 and self.iterations >= 1 and self.sim_seeds >= 2, "need lams, iterations >= 1, sim_seeds >= 2")


def run(s: Settings, ctx) -> dict:
    runs = {}
    for lam in s.lams:
        base = llm_settings(lam, s.iterations, s.llm_preset)
        seeds = [ctx.child_seed("sim", lam, i) for i in range(s.sim_seeds)]
        r = llm_case(ctx, base, seeds, s.iterations)
        tt, K, sim = r["text_task"], r["K"], r["simulated"]
        M = tt.task.sizes[0]
        recs = r["records"]
        lam0 = np.asarray(recs[0]["lam"])
        # one run per seed (the same runs) for the per-run shares that a prediction band needs
        share_runs = [tabular_star_runs(r["initial_policy"], tt.task, K, s.iterations, [x])["flawed_share_mean"]
                      for x in seeds]
        runs[str(lam)] = {
            "M": M, "N": tt.task.n_steps, "K": K, "llm_folder": r["folder"],
            "kept": [x["kept"] for x in recs],
            "measured_sampled": [x["flawed_chain_share_sampled"] for x in recs],
            "measured_exact": [x["flawed_chain_share_exact"] for x in recs],
            "closed_form_at_measured_lam": [float(symmetric_flawed_share(M, lam=x["lam"])) for x in recs],
            "closed_form_trajectory": symmetric_trajectory(M, s.iterations, lam=lam0).flawed_share,
            "simulated_mean": sim["flawed_share_mean"], "simulated_lo": sim["flawed_share_lo"],
            "simulated_hi": sim["flawed_share_hi"], "simulated_share_runs": np.asarray(share_runs),
            "accuracy": [x["exact_accuracy"] for x in recs],
            "distribution_at_measured_lam0": symmetric_flawed_distribution(M, lam=lam0),
        }
    theory = {str(lam): symmetric_trajectory(s.theory_M, s.theory_iterations, lam=[lam] * s.theory_N) for lam in s.lams}
    theory = {k: {"flawed_share": v.flawed_share, "accuracy": v.accuracy} for k, v in theory.items()}
    return {"runs": runs, "theory": theory, "convention": "lam"}

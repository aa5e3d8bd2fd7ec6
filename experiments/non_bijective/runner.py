"""The ``add`` task: exact operator and finite-sample STaR in the simulator, and STaR on the LLM
with the exact operator and tabular STaR (same K) started from the LLM's measured kernel."""

from __future__ import annotations

from dataclasses import dataclass

from star_theory import accuracy, add_task, flawed_chain_share, mixture_policy, star_trajectory, step_correctness
from star_theory.config import check

from star_theory.sim import tabular_star_runs

from ..llm_common import llm_case
from ..shared_settings import setting


@dataclass(frozen=True)
class Settings:
    sim_digits: int = setting("digits D of the simulator's add task (N = D steps)")
    sim_lam: float = setting("initial lam of the simulator's mixture policy on every step")
    sim_K: tuple[int, ...] = setting("chains per question of the finite-sample runs")
    sim_seeds: int = setting("finite-sample runs per K")
    sim_iterations: int = setting("iterations in the simulator")
    llm_lam: float = setting("corpus lam of the LLM run (tiny preset, add task D=2)")
    llm_iterations: int = setting("STaR iterations of the LLM run")

    def __post_init__(self):
        check(self.sim_digits >= 1 and self.sim_iterations >= 1 and self.llm_iterations >= 1, "digits and iterations >= 1")
        check(self.sim_seeds >= 2 and all(k >= 1 for k in self.sim_K), "sim_seeds >= 2 and sim_K >= 1")


def run(s: Settings, ctx) -> dict:
    dt = add_task(s.sim_digits, 2)
    task = dt.task
    p0 = mixture_policy(task, lam=s.sim_lam)
    traj = star_trajectory(p0, task, s.sim_iterations)
    exact = {"accuracy": [accuracy(p, task) for p in traj],
             "flawed_share": [flawed_chain_share(p, task) for p in traj],
             "step_correct": [step_correctness(p, task)[0] for p in traj]}
    sampled = {str(K): tabular_star_runs(p0, task, K, s.sim_iterations,
                                             [ctx.child_seed("sim", K, i) for i in range(s.sim_seeds)]) for K in s.sim_K}
    r = llm_case(ctx, {"task": "add", "lam": [s.llm_lam], "iterations": s.llm_iterations},
                 [ctx.child_seed("llm-sim", i) for i in range(s.sim_seeds)], s.llm_iterations)
    tt, K, llm_sim = r["text_task"], r["K"], r["simulated"]
    data = {"sizes": list(task.sizes), "exact": exact, "sampled": sampled,
            "llm": {"records": r["records"], "prediction": r["prediction"], "simulated": llm_sim, "K": K,
                    "sizes": list(tt.task.sizes), "folder": r["folder"], "config": r["config"]},
            "convention": "lam"}
    return data

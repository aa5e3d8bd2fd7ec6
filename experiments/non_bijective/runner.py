"""The ``add`` task: exact operator and finite-sample STaR in the simulator, and STaR on the LLM
with the exact operator and tabular STaR (same K) started from the LLM's measured kernel."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from star_theory import accuracy, add_task, flawed_chain_share, mixture_policy, star_trajectory, step_correctness
from star_theory.config import check, option
from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, integer_ticks, new_figure, save_figure

from ..llm_common import draw_llm_accuracy, llm_case
from star_theory.sim import tabular_star_runs


@dataclass(frozen=True)
class Settings:
    sim_digits: int = option(3, "digits D of the simulator's add task (N = D steps)")
    sim_lam: float = option(0.2, "initial lam of the simulator's mixture policy on every step")
    sim_K: tuple[int, ...] = option([32, 1024], "chains per question of the finite-sample runs")
    sim_seeds: int = option(12, "finite-sample runs per K")
    sim_iterations: int = option(10, "iterations in the simulator")
    llm_lam: float = option(0.3, "corpus lam of the LLM run (tiny preset, add task D=2)")
    llm_iterations: int = option(4, "STaR iterations of the LLM run")

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
    _plot(s, data, ctx.figure("non_bijective.png"))
    return data


def _plot(s: Settings, d: dict, path) -> None:
    fig, axes = new_figure(ncols=3, width=4.8, height=4.6)
    ax = axes[0, 0]
    t = np.arange(s.sim_iterations + 1)
    ax.plot(t, d["exact"]["accuracy"], "-", color="black", label="exact operator")
    for (K, sim), c in zip(d["sampled"].items(), ["tab:orange", "tab:blue", "tab:green"]):
        ax.fill_between(t, sim["lo"], sim["hi"], color=c, alpha=0.2)
        ax.plot(t, sim["mean"], "o", ms=3, color=c, label=f"tabular STaR K={K} (mean, 90% band)")
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    ax.set_title(f"Simulator: add D={s.sim_digits}, levels {d['sizes']}, lam0={s.sim_lam}", fontsize=8)
    ax.legend(fontsize=6, loc="lower right")
    ax = axes[0, 1]
    sc = np.asarray(d["exact"]["step_correct"])
    for n in range(sc.shape[1]):
        ax.plot(t, sc[:, n], "-", label=f"Pr(s_{n + 1} correct), exact operator")
    ax.plot(t, d["exact"]["flawed_share"], "--", color="tab:red", label="flawed-chain share of kept chains")
    ax.set(xlabel=ITERATION_LABEL, ylabel="probability / share", ylim=(-0.02, 1.02))
    ax.set_title("Simulator: per-step correctness and flawed share", fontsize=8)
    ax.legend(fontsize=6, loc="center right")
    ax = axes[0, 2]
    L = d["llm"]
    recs, pred, sim = L["records"], L["prediction"], L["simulated"]
    draw_llm_accuracy(ax, recs, sim, L["K"], lines=[
        ("theory: exact operator from measured kernel", pred["kernel"]["accuracy"], "--", "0.3")])
    ax.set_title(f"LLM: add D=2, levels {L['sizes']}, corpus lam={s.llm_lam}", fontsize=8)
    ax.legend(fontsize=6, loc="lower right")
    integer_ticks(axes)
    fig.suptitle("Outside the symmetric family: addition with carries (no closed form; initial policy lam P* + (1-lam) U, convention lam)", fontsize=9)
    save_figure(fig, path)

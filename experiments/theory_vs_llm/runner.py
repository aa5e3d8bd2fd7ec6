"""Pretrain a tiny GPT-2 on a corpus of the symmetric family, run STaR on it, and lay beside it:

* the exact operator from the measured initial ``lam_n`` (the analysis's prediction, a line),
* the exact operator from the measured initial kernel itself (a dashed line),
* tabular finite-sample STaR with the LLM's own K chains per question from the measured kernel
  (a band over seeds: the theory at the LLM's sample size).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from star_theory.config import check, option
from star_theory.plots.style import ITERATION_LABEL, convention_label, integer_ticks, new_figure, save_figure

from ..llm_common import draw_llm_accuracy, llm_case
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


def llm_settings(s: Settings, lam: float) -> dict:
    base = {"lam": [lam], "iterations": s.iterations}
    if s.llm_preset == "paper":
        from llm.config import preset

        base = {**preset("paper"), **base}
    return base


def run(s: Settings, ctx) -> dict:
    runs = {}
    for lam in s.lams:
        r = llm_case(ctx, llm_settings(s, lam), [ctx.child_seed("sim", lam, i) for i in range(s.sim_seeds)],
                     s.iterations)
        tt, K, sim = r["text_task"], r["K"], r["simulated"]
        runs[str(lam)] = {"records": r["records"], "prediction": r["prediction"], "simulated": sim,
                          "K": K, "llm_folder": r["folder"], "llm_config": r["config"],
                          "M": tt.task.sizes[0], "N": tt.task.n_steps}
    _plot(s, runs, ctx.figure("theory_vs_llm.png"))
    paper = run_paper_cpu(s.paper_cpu_lams, s.paper_cpu_iterations, s.paper_cpu_sim_seeds, ctx)
    return {"runs": runs, "paper_cpu": paper, "convention": "lam"}


def _plot(s: Settings, runs: dict, path) -> None:
    fig, axes = new_figure(ncols=2, nrows=len(runs), width=5.6, height=4.8)
    for row, (lam, r) in enumerate(runs.items()):
        recs, pred, sim = r["records"], r["prediction"], r["simulated"]
        ax = axes[row, 0]
        draw_llm_accuracy(ax, recs, sim, r["K"], lines=[
            ("theory: exact operator from measured lam_n", pred["symmetric"]["accuracy"], "-", "black"),
            ("theory: exact operator from measured kernel", pred["kernel"]["accuracy"], "--", "0.4")])
        t = np.array([x["iteration"] for x in recs])
        pt = np.array(pred["iterations"])
        st = np.arange(len(sim["mean"]))
        ax.set_title(f"corpus lam={lam}: zip M={r['M']}, N={r['N']}, K={r['K']} chains/question", fontsize=9)
        ax.legend(fontsize=6, loc="lower right")
        ax = axes[row, 1]
        lam_pred = np.asarray(pred["symmetric"]["lam"])
        lam_meas = np.asarray([x["lam"] for x in recs])
        for n in range(lam_meas.shape[1]):
            c = f"C{n}"
            ax.plot(pt, lam_pred[:, n], "-", color=c, label=f"theory (exact), step {n + 1}")
            if sim["lam_mean"] is not None:
                ax.plot(st, np.asarray(sim["lam_mean"])[:, n], ":", color=c, label=f"theory (K={r['K']}, mean), step {n + 1}")
            ax.plot(t, lam_meas[:, n], "o", color=c, label=f"LLM measured, step {n + 1}")
        ax.axhline(float(lam), color="0.6", lw=0.8, ls="--", label=f"corpus lam={lam}")
        ax.set(xlabel=ITERATION_LABEL, ylim=(-0.05, 1.05))
        ax.set_ylabel(convention_label("lam"), fontsize=8)
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    integer_ticks(axes)
    fig.suptitle("STaR on a tiny GPT-2 (state tokens) against the theory (convention: lam)", fontsize=10)
    save_figure(fig, path)

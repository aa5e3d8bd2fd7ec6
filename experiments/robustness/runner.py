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
from star_theory.config import check, option
from star_theory.plots.style import ITERATION_LABEL, integer_ticks, new_figure, save_figure

from ..llm_common import llm_case
from star_theory.sim import tabular_star_runs
from ..theory_vs_llm.runner import Settings as LLMSettings
from ..theory_vs_llm.runner import llm_settings

SHARE_LABEL = "flawed-chain share of kept chains"


@dataclass(frozen=True)
class Settings:
    lams: tuple[float, ...] = option([0.1, 0.2], "corpus lam of the LLM runs (as in experiment 5)")
    iterations: int = option(4, "STaR iterations of each LLM run (as in experiment 5)")
    sim_seeds: int = option(24, "runs of tabular finite-sample STaR beside each LLM run")
    theory_M: int = option(64, "M of the theory panel (the analysis's setting)")
    theory_N: int = option(3, "N of the theory panel")
    theory_iterations: int = option(6, "iterations of the theory panel")
    llm_preset: str = option("tiny", "LLM preset (as in experiment 5): tiny (CPU) or paper (GPU)", choices=("tiny", "paper"))

    def __post_init__(self):
        check(len(self.lams) >= 1 and self.iterations >= 1 and self.sim_seeds >= 2, "need lams, iterations >= 1, sim_seeds >= 2")


def run(s: Settings, ctx) -> dict:
    runs = {}
    for lam in s.lams:
        base = llm_settings(LLMSettings(lams=(lam,), iterations=s.iterations, llm_preset=s.llm_preset), lam)
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
    _plot(s, runs, theory, ctx.figure("robustness.png"))
    return {"runs": runs, "theory": theory, "convention": "lam"}


def _plot(s: Settings, runs: dict, theory: dict, path) -> None:
    fig, axes = new_figure(ncols=len(runs) + 1, width=4.8, height=5.0)
    for i, (lam, r) in enumerate(runs.items()):
        ax = axes[0, i]
        t = np.arange(len(r["kept"]))
        ax.plot(t, r["closed_form_trajectory"], "-", color="black", label="theory: closed form from measured lam_0")
        ax.fill_between(t, r["simulated_lo"], r["simulated_hi"], color="tab:green", alpha=0.2)
        ax.plot(t, r["simulated_mean"], ":", color="tab:green", label=f"theory: tabular STaR K={r['K']} (90% band)")
        ax.plot(t, r["closed_form_at_measured_lam"], "x", color="0.3", label="closed form at each measured lam_t")
        sampled = np.asarray(r["measured_sampled"], dtype=float)
        n = np.maximum(np.asarray(r["kept"]), 1)
        err = 1.96 * np.sqrt(np.clip(sampled * (1 - sampled), 1e-4, None) / n)
        ax.errorbar(t, sampled, yerr=err, fmt="o", color="tab:blue", capsize=3, label="LLM: share among kept samples (95% CI)")
        ax.plot(t, r["measured_exact"], "s", mfc="none", color="tab:red", label="LLM: exact share of measured kernel")
        ax.set(xlabel=ITERATION_LABEL, ylabel=SHARE_LABEL, ylim=(-0.02, 1.02))
        ax.set_title(f"LLM, corpus lam={lam}: zip M={r['M']}, N={r['N']}", fontsize=9)
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    ax = axes[0, -1]
    for lam, th in theory.items():
        tt = np.arange(len(th["flawed_share"]))
        ax.plot(tt, th["flawed_share"], "-", label=f"flawed share, lam0={lam}")
        ax.plot(tt, th["accuracy"], "--", label=f"accuracy J, lam0={lam}")
    ax.set(xlabel=ITERATION_LABEL, ylabel="share of kept chains / accuracy J", ylim=(-0.02, 1.02))
    ax.set_title(f"Theory, M={s.theory_M}, N={s.theory_N} (the analysis's setting)", fontsize=9)
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    integer_ticks(axes)
    fig.suptitle("Kept chains that reach the right answer through a wrong intermediate state (convention: lam)", fontsize=10)
    save_figure(fig, path)

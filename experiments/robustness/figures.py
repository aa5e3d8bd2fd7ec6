"""Figure of experiment 4: flawed-chain share per iteration, LLM beside the closed form and tabular STaR."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory.plots.style import ITERATION_LABEL, integer_ticks, new_figure, save_figure

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context

SHARE_LABEL = "flawed-chain share of kept chains"


def draw(data: dict, s: Settings, ctx: Context) -> None:
    """``robustness.png`` from the runner's data."""
    _plot(s, data["runs"], data["theory"], ctx.figure("robustness.png"))


def _plot(s, runs: dict, theory: dict, path) -> None:
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

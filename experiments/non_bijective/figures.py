"""Figure of experiment 6: the add task in the simulator (exact and sampled) and on the LLM."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, integer_ticks, new_figure, save_figure

from ..llm_common import draw_llm_accuracy

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context


def draw(data: dict, s: Settings, ctx: Context) -> None:
    """``non_bijective.png`` from the runner's data."""
    _plot(s, data, ctx.figure("non_bijective.png"))


def _plot(s, d: dict, path) -> None:
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

"""Figures of experiment 5: the tiny GPT-2 runs against the theory, and the paper-cpu runs (when run)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, convention_label, integer_ticks, new_figure, save_figure
from star_theory.sim.summary import seed_band

from ..llm_common import draw_llm_accuracy

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context
    from pathlib import Path


def draw(data: dict, s: Settings, ctx: Context) -> None:
    """``theory_vs_llm.png``, and ``theory_vs_llm_paper_cpu.png`` when the preset ran paper-cpu runs."""
    _plot(s, data["runs"], ctx.figure("theory_vs_llm.png"))
    if data["paper_cpu"]:
        plot_paper_cpu(data["paper_cpu"], ctx.figure("theory_vs_llm_paper_cpu.png"))


def _plot(s, runs: dict, path) -> None:
    fig, axes = new_figure(ncols=2, nrows=len(runs), width=5.6, height=4.8)
    for row, (lam, r) in enumerate(runs.items()):
        recs, pred, sim = r["seeds"][0]["records"], r["prediction"], r["simulated"]
        ax = axes[row, 0]
        draw_llm_accuracy(ax, recs, sim, r["K"], more_seeds=[x["records"] for x in r["seeds"][1:]], lines=[
            ("theory: exact operator from measured lam_n", pred["symmetric"]["accuracy"], "-", "black"),
            ("theory: exact operator from measured kernel", pred["kernel"]["accuracy"], "--", "0.4")])
        t = np.array([x["iteration"] for x in recs])
        pt = np.array(pred["iterations"])
        st = np.arange(len(sim["mean"]))
        ax.set_title(f"corpus lam={lam}: zip M={r['M']}, N={r['N']}, K={r['K']} chains/question (markers: seed 0)",
                     fontsize=9)
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


def plot_paper_cpu(runs: dict, path: Path) -> None:
    fig, axes = new_figure(ncols=3, nrows=len(runs), width=4.6, height=4.4)
    axes = np.atleast_2d(axes)
    for row, (lam, r) in enumerate(runs.items()):
        recs, pred, sim, K = r["seeds"][0]["records"], r["prediction"], r["simulated"], r["K"]
        t = np.array([x["iteration"] for x in recs])
        st = np.arange(len(sim["mean"]))
        ax = axes[row, 0]
        ax.plot(np.arange(len(pred["kernel"]["accuracy"])), pred["kernel"]["accuracy"], "-", color="black",
                label="theory: exact operator from the measured kernel")
        ax.fill_between(st, sim["lo"], sim["hi"], color="tab:green", alpha=0.25)
        ax.plot(st, sim["mean"], ":", color="tab:green", label=f"theory: tabular STaR, K={K}, 5-95% of {len(sim['seeds'])} runs")
        acc = np.array([x["sampled_accuracy"] for x in recs])
        se = np.array([x["sampled_accuracy_se"] for x in recs])
        ax.errorbar(t, acc, yerr=1.96 * se, fmt="o", color="tab:blue", ms=4, capsize=2, label="LLM: sampled accuracy (95% CI)")
        ax.plot(t, [x["exact_accuracy"] for x in recs], "s", mfc="none", color="tab:red", label="LLM: exact J (seed 0)")
        for i, sd in enumerate(r["seeds"][1:]):
            ax.plot(t, [x["exact_accuracy"] for x in sd["records"]], "x", ms=4, color="tab:red",
                    label="LLM: exact J, other seeds" if i == 0 else None)
        ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
        ax.set_title(f"corpus lam={lam}: zip M={r['M']}, N={r['N']}, K={K}, {len(r['seeds'])} seeds (lam_n: seed 0)",
                     fontsize=9)
        ax.legend(fontsize=6, loc="lower right")
        for col, key, runs_key, label in ((1, "lam", "lam_runs", convention_label("lam")),
                                          (2, "family_distance", "distance_runs", "distance from the family (mean TV)")):
            ax = axes[row, col]
            sim_runs = np.asarray(sim[runs_key])  # (R, T+1, N)
            meas = np.asarray([x[key] for x in recs])
            for n in range(meas.shape[1]):
                c = f"C{n}"
                mean, lo, hi = seed_band(sim_runs[:, :, n], "percentile", 0.9)  # 5-95% of the runs
                ax.fill_between(st, lo, hi, color=c, alpha=0.15)
                ax.plot(st, mean, ":", color=c, label=f"tabular K={K}, step {n + 1}")
                if col == 1:
                    ax.plot(np.arange(len(pred["kernel"]["lam"])), np.asarray(pred["kernel"]["lam"])[:, n], "-",
                            color=c, lw=0.8, label=f"exact operator, step {n + 1}")
                ax.plot(t + 0.1 * (n - 1), meas[:, n], "o", color=c, ms=4, label=f"LLM, step {n + 1}")
            ax.set(xlabel=ITERATION_LABEL, ylabel=label)
            if col == 1:
                ax.set_ylim(-0.05, 1.05)
            ax.legend(fontsize=6, loc="best", ncol=1)
    integer_ticks(axes)
    fig.suptitle("paper-cpu: STaR on a 2-layer GPT-2 (state tokens), trie sampler, count-weighted refit "
                 "(convention: lam)", fontsize=10)
    save_figure(fig, path)

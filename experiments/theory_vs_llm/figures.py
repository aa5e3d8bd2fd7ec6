"""Figures of experiment 5: the tiny GPT-2 runs against the theory, and the paper-cpu runs (when run)."""

from __future__ import annotations

import numpy as np

from star_theory.plots.style import (ACCURACY_LABEL, ITERATION_LABEL, convention_label, integer_ticks, legend_below,
                                     new_figure, save_figure)

#: per step: line style of its theory curve and marker of its measurement, so that coinciding steps stay visible
STEP_LINES = ("-", "--", "-.", (0, (1, 1)))
STEP_MARKERS = ("o", "^", "s", "D")


def step_width(n: int, thick: float = 3.2) -> float:
    """Line width of step ``n``'s curve: thinner for each later step, drawn over the earlier ones, so that
    steps whose curves coincide (the symmetric family) stay visible side by side."""
    return max(thick * (1 - 0.3 * n), 0.7)

from ..framework import verdict_band
from ..llm_common import draw_llm_accuracy
from ..stats import LEVEL


def draw(data: dict, s, ctx) -> None:
    """``theory_vs_llm.png``, and ``theory_vs_llm_paper_cpu.png`` when the preset ran paper-cpu runs."""
    _plot(s, data["runs"], ctx.figure("theory_vs_llm.png"))
    if data["paper_cpu"]:
        plot_paper_cpu(data["paper_cpu"], ctx.figure("theory_vs_llm_paper_cpu.png"))


def _theory_lines(ax, pred: dict) -> None:
    """The exact operator from the measured lam_n (thick) and from the measured kernel (thin, dashed, on top):
    where they coincide both stay visible."""
    for key, words, style, lw, color in (("symmetric", "lam_n", "-", 3.0, "0.55"), ("kernel", "kernel", "--", 1.2, "black")):
        acc = pred[key]["accuracy"]
        ax.plot(np.arange(len(acc)), acc, style, lw=lw, color=color, label=f"theory: exact operator from measured {words}")


def _plot(s, runs: dict, path) -> None:
    fig, axes = new_figure(ncols=2, nrows=len(runs), width=5.6, height=6.2)
    for row, (lam, r) in enumerate(runs.items()):
        recs, pred, sim = r["seeds"][0]["records"], r["prediction"], r["simulated"]
        ax = axes[row, 0]
        S = len(r["seeds"])
        lo, hi = verdict_band(sim["accuracy_runs"], draws=S)  # the band the finding tests the seeds' mean J against
        _theory_lines(ax, pred)
        draw_llm_accuracy(ax, recs, sim, r["K"], more_seeds=[x["records"] for x in r["seeds"][1:]],
                          band=(lo, hi, f"{LEVEL:.0%} band for a mean of {S} (the finding's), from"))
        t = np.array([x["iteration"] for x in recs])
        pt = np.array(pred["iterations"])
        st = np.arange(len(sim["mean"]))
        ax.set_title(f"accuracy, corpus lam={lam}: zip M={r['M']}, N={r['N']}, K={r['K']} chains/question\n"
                     f"(markers: seed 0)", fontsize=9)
        legend_below(ax, ncol=2, fontsize=6)
        ax = axes[row, 1]
        lam_pred = np.asarray(pred["symmetric"]["lam"])
        lam_meas = np.asarray([x["lam"] for x in recs])
        for n in range(lam_meas.shape[1]):
            c, ls, mk = f"C{n}", STEP_LINES[n % len(STEP_LINES)], STEP_MARKERS[n % len(STEP_MARKERS)]
            ax.plot(pt, lam_pred[:, n], ls=ls, color=c, lw=step_width(n), alpha=0.85, label=f"theory (exact), step {n + 1}")
            if sim["lam_mean"] is not None:
                ax.plot(st, np.asarray(sim["lam_mean"])[:, n], ls=ls, color=c, lw=step_width(n, 1.2), alpha=0.5,
                        label=f"theory (K={r['K']}, mean), step {n + 1}")
            ax.plot(t + 0.08 * n, lam_meas[:, n], mk, color=c, ms=5, mfc="none", label=f"LLM measured, step {n + 1}")
        ax.axhline(float(lam), color="0.6", lw=0.8, ls=":", label=f"corpus lam={lam}")
        ax.set(xlabel=ITERATION_LABEL, ylim=(-0.05, 1.05))
        ax.set_ylabel(convention_label("lam"), fontsize=8)
        ax.set_title(f"lam_n per step, corpus lam={lam}, from the measured lam_n\n"
                     f"thick: exact operator; thin: tabular K={r['K']}; markers: LLM seed 0", fontsize=9)
        legend_below(ax, ncol=3, fontsize=6)
    integer_ticks(axes)
    fig.suptitle("STaR on a tiny GPT-2 (state tokens) against the theory (convention: lam)", fontsize=10)
    save_figure(fig, path)


def plot_paper_cpu(runs: dict, path) -> None:
    fig, axes = new_figure(ncols=3, nrows=len(runs), width=4.6, height=5.8)
    axes = np.atleast_2d(axes)
    for row, (lam, r) in enumerate(runs.items()):
        recs, pred, sim, K = r["seeds"][0]["records"], r["prediction"], r["simulated"], r["K"]
        t = np.array([x["iteration"] for x in recs])
        st = np.arange(len(sim["mean"]))
        ax = axes[row, 0]
        ax.plot(np.arange(len(pred["kernel"]["accuracy"])), pred["kernel"]["accuracy"], "-", color="black",
                label="theory: exact operator from the measured kernel")
        S = len(r["seeds"])
        lo, hi = verdict_band(sim["accuracy_runs"], draws=S)  # the band the finding tests the seeds' mean J against
        ax.fill_between(st, lo, hi, color="tab:green", alpha=0.25)
        ax.plot(st, sim["mean"], ":", color="tab:green", label=f"tabular STaR, K={K}: mean of {len(sim['seeds'])} runs;\n"
                f"band: {LEVEL:.0%} for a mean of {S} (the finding's)")
        acc = np.array([x["sampled_accuracy"] for x in recs])
        se = np.array([x["sampled_accuracy_se"] for x in recs])
        ax.errorbar(t, acc, yerr=1.96 * se, fmt="o", color="tab:blue", ms=4, capsize=2, label="LLM: sampled accuracy (95% CI)")
        ax.plot(t, [x["exact_accuracy"] for x in recs], "s", mfc="none", color="tab:red", label="LLM: exact J (seed 0)")
        for i, sd in enumerate(r["seeds"][1:]):
            ax.plot(t, [x["exact_accuracy"] for x in sd["records"]], "x", ms=4, color="tab:red",
                    label="LLM: exact J, other seeds" if i == 0 else None)
        if S > 1:
            ax.plot(t, np.mean([[x["exact_accuracy"] for x in sd["records"]] for sd in r["seeds"]], axis=0), "-", lw=0.8,
                    color="tab:red", label=f"LLM: mean exact J of {S} seeds")
        ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
        ax.set_title(f"accuracy, corpus lam={lam}: zip M={r['M']}, N={r['N']}, K={K}, {len(r['seeds'])} seeds",
                     fontsize=9)
        legend_below(ax, ncol=1, fontsize=6)
        for col, key, runs_key, label in ((1, "lam", "lam_runs", convention_label("lam")),
                                          (2, "family_distance", "distance_runs", "distance from the family (mean TV)")):
            ax = axes[row, col]
            sim_runs = np.asarray(sim[runs_key])  # (R, T+1, N)
            R, T1, N = sim_runs.shape
            # the finding's band: every iteration and step at once (Bonferroni over T+1 x N), for the mean of S seeds
            lo, hi = (b.reshape(T1, N) for b in verdict_band(sim_runs.reshape(R, -1), draws=S))
            meas = np.mean([[x[key] for x in sd["records"]] for sd in r["seeds"]], axis=0)  # (T+1, N): mean of seeds
            for n in range(N):
                c, ls, mk = f"C{n}", STEP_LINES[n % len(STEP_LINES)], STEP_MARKERS[n % len(STEP_MARKERS)]
                ax.fill_between(st, lo[:, n], hi[:, n], color=c, alpha=0.12)
                ax.plot(st, sim_runs[:, :, n].mean(axis=0), ls=ls, color=c, lw=step_width(n, 1.2), alpha=0.6,
                        label=f"tabular K={K}, step {n + 1}")
                if col == 1:
                    ax.plot(np.arange(len(pred["kernel"]["lam"])), np.asarray(pred["kernel"]["lam"])[:, n], ls=ls,
                            color=c, lw=step_width(n), alpha=0.85, label=f"exact operator, step {n + 1}")
                ax.plot(t + 0.1 * (n - 1), meas[:, n], mk, color=c, ms=5, mfc="none",
                        label=f"LLM (mean of {S}), step {n + 1}")
            ax.set(xlabel=ITERATION_LABEL, ylabel=label)
            what = "lam_n per step" if col == 1 else "distance from the family per step"
            ax.set_title(f"{what}, corpus lam={lam}\nbands: {LEVEL:.0%} for a mean of {S} seeds (the finding's)",
                         fontsize=9)
            if col == 1:
                ax.set_ylim(-0.05, 1.05)
            legend_below(ax, ncol=2, fontsize=6)
    integer_ticks(axes)
    fig.suptitle("paper-cpu: STaR on a 2-layer GPT-2 (state tokens), trie sampler, count-weighted refit "
                 "(convention: lam)", fontsize=10)
    save_figure(fig, path)

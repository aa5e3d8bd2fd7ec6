"""Figures of experiment 8: exact forms as lines, sampled runs as markers with a percentile band
over seeds; every axis names its quantity, the symmetric family uses convention ``lam``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory.beyond import expected_sampled_accuracy
from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, integer_ticks, new_figure, save_figure

from .outcome_figures import plot_outcome

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context
    from pathlib import Path

RULE_COLORS = {"replace": "black", "accumulate": "tab:blue", "accumulate + corpus": "tab:green"}
T_COLORS = ["tab:purple", "tab:blue", "black", "tab:orange", "tab:red", "tab:brown"]


def draw(data: dict, s: Settings, ctx: Context) -> None:
    """``accumulate.png``, ``bstar.png``, ``passk.png``, ``chain_level.png`` and ``outcome.png`` from the runner's data."""
    plot_accumulate(s, data, ctx.figure("accumulate.png"))
    plot_bstar(s, data, ctx.figure("bstar.png"))
    plot_passk(s, data, ctx.figure("passk.png"))
    plot_chain(s, data, ctx.figure("chain_level.png"))
    plot_outcome(s, data, ctx.figure("outcome.png"))


def _sampled(ax, t, smp, color, label, shift=0.0):
    ax.fill_between(t, smp["band_lo"], smp["band_hi"], color=color, alpha=0.15)
    ax.plot(t + shift, smp["mean"], "o", color=color, ms=3.5, label=label)


def plot_accumulate(s: Settings, data: dict, path: Path) -> None:
    fig, axes = new_figure(ncols=2, nrows=2, width=5.4, height=3.6)
    acc = data["accumulate"]
    t = np.arange(s.iterations + 1)
    for row, key in enumerate(("filtered", "unfiltered")):
        for col, K in enumerate(s.acc_K):
            ax = axes[row, col]
            rules = acc[key]["by_K"][str(K)]
            for j, (rule, r) in enumerate(rules.items()):
                c = RULE_COLORS[rule]
                if key == "filtered":
                    ax.plot(t, r["exact"], "-", color=c, lw=1.3, label=f"{rule}: exact form")
                extra = f" ({s.corpus_per_K} x K corpus chains/question)" if r["corpus_chains"] else ""
                _sampled(ax, t, r["sampled"], c, f"{rule}{extra}: sampled mean and band", shift=0.08 * j)
            if key == "filtered":
                ax.set(ylabel="error 1 - J", ylim=(-0.02, 1.0))
                ax.set_title(f"STaR (exact filter), K={K} chains/question", fontsize=9)
            else:
                ax.plot(t, rules["replace"]["exact"], "-", color="gray", lw=1.3,
                        label="exact form, every rule: 0 (the base policy is a fixed point)")
                ax.set(ylabel="TV of chain distribution from base", ylim=(-0.02, 1.0))
                ax.set_title(f"unfiltered control (every chain kept), K={K}", fontsize=9)
            ax.set_xlabel(ITERATION_LABEL)
        handles, labels = axes[row, 0].get_legend_handles_labels()
        axes[row, 1].legend(handles, labels, fontsize=7, loc="center left", bbox_to_anchor=(1.02, 0.5))
    integer_ticks(axes)
    fig.suptitle(f"Replace vs accumulate the data (arXiv 2404.01413): symmetric M={s.M}, N={s.N}, lam={s.lam} "
                 f"(convention lam); bands: central {s.level:.0%} of {s.seeds} runs", fontsize=10)
    save_figure(fig, path)


def plot_bstar(s: Settings, data: dict, path: Path) -> None:
    fig, axes = new_figure(ncols=3, width=5.0, height=4.2)
    b = data["bstar"]
    t = np.arange(s.iterations + 1)
    ax = axes[0, 0]
    for j, (label, r) in enumerate(b["rules"].items()):
        c = "tab:green" if label == "adaptive" else T_COLORS[j % len(T_COLORS)]
        name = "adaptive T (balance score)" if label == "adaptive" else label + (" (plain STaR)" if label == "T=1" else "")
        style = dict(ls="--", lw=2.4, zorder=5) if label == "adaptive" else dict(ls="-", lw=1.2)
        ax.plot(t, r["exact_accuracy"], color=c, label=f"{name}: exact", **style)
        _sampled(ax, t, r["sampled"], c, f"{name}: sampled mean", shift=0.06 * j)
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)  # below: bands fill the panel
    ax.set_title(f"accuracy, K={b['K']} chains/question, k0={b['k0']:g}", fontsize=9)
    ax = axes[0, 1]
    ti = np.arange(s.iterations)
    runs = np.asarray(b["rules"]["adaptive"]["sampled_chosen"], dtype=float)
    jitter = np.linspace(-0.2, 0.2, runs.shape[0])
    for i, r in enumerate(runs):
        ax.plot(ti + jitter[i], r, ".", color="tab:green", alpha=0.5, ms=5, label="sampled runs" if i == 0 else None)
    ax.plot(ti, b["rules"]["adaptive"]["exact_chosen"], "s-", color="black", ms=4, label="exact form")
    ax.set_yscale("log")
    ax.set_yticks(list(s.bstar_grid), [f"{x:g}" for x in s.bstar_grid])
    ax.minorticks_off()
    ax.set(xlabel=ITERATION_LABEL, ylabel="temperature T chosen (log scale)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)  # below: points fill the panel
    ax.set_title(f"T chosen by the balance score ({b['probe']} probe chains/question when sampled)", fontsize=9)
    ax = axes[0, 2]
    ex = b["exploration"]
    scores = np.asarray(ex["score_by_T"])
    for j, T in enumerate(s.bstar_grid):
        ax.plot(t, scores[:, j], "-", color=T_COLORS[j % len(T_COLORS)], label=f"balance score at T={T:g}")
    ax.errorbar(t, ex["sampled_score"], yerr=2 * np.asarray(ex["sampled_score_se"]), fmt="o", color="black", ms=3.5,
                label=f"balance score at T=1, sampled (mean of {s.seeds} seeds, 2 s.e.)")
    ax.plot(t, np.asarray(ex["unique_correct"]) / b["K"], "k--", label="distinct correct chains / K (T=1)")
    ax.plot(t, ex["accuracy"], "k:", label="accuracy J (T=1)")
    ax.set(xlabel=ITERATION_LABEL, ylabel="value (lines: exact, plug-in score)", ylim=(-0.02, 1.02))
    ax.legend(fontsize=6.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)  # below: curves cross the panel
    ax.set_title("along exact plain STaR: the score falls as the policy sharpens", fontsize=9)
    integer_ticks(axes[0, [0, 2]])
    fig.suptitle(f"B-STaR (arXiv 2412.17256), {b['score']} balance score, on symmetric M={s.M}, N={s.N}, lam={s.lam} "
                 f"(convention lam); bands: central {s.level:.0%} of {s.bstar_seeds} runs", fontsize=10)
    save_figure(fig, path)


def plot_passk(s: Settings, data: dict, path: Path) -> None:
    fig, axes = new_figure(ncols=2, nrows=2, width=5.2, height=3.8)
    p = data["passk"]
    ks = p["k"]
    ax = axes[0, 0]
    for j, (T, e) in enumerate(p["symmetric"].items()):
        cur = np.asarray(e["exact"])
        t = np.arange(cur.shape[0])
        for i, k in enumerate((ks[0], ks[-1])):
            colour = ["tab:blue", "tab:red"][i]
            ax.plot(t, cur[:, ks.index(k)], "-" if T == "1" else "--", color=colour, label=f"pass@{k}, T={T}: exact")
        if "sampled_mean" in e:
            sm = np.asarray(e["sampled_mean"])
            for i, k in enumerate((ks[0], ks[-1])):
                ax.plot(t, sm[:, ks.index(k)], "o", color=["tab:blue", "tab:red"][i], ms=3.5,
                        label=f"pass@{k}, T=1: estimator from n={p['n']} (mean of {s.seeds} seeds)")
    ax.set(xlabel=ITERATION_LABEL, ylabel="pass@k", ylim=(-0.02, 1.02))
    ax.legend(fontsize=6.5)
    ax.set_title(f"symmetric M={s.M}, N={s.N}, lam={s.lam}: every question has the same J", fontsize=9)
    for col, T in enumerate(p["general"]):
        ax = axes[0, 1] if col == 0 else axes[1, 0]
        w = p["general"][T]["worst"]
        cur = np.asarray(w["curves"])
        t = np.arange(cur.shape[0])
        ax.plot(t, cur[:, 0], "-", color="tab:blue", label=f"pass@{ks[0]}")
        ax.plot(t, cur[:, -1], "-", color="tab:red", label=f"pass@{ks[-1]}")
        ax.axhline(cur[0, -1], color="tab:red", ls=":", lw=1, label=f"base policy's pass@{ks[-1]}")
        ax.set(xlabel=ITERATION_LABEL, ylabel="pass@k (exact)", ylim=(-0.02, 1.02))
        ax.legend(fontsize=7)
        ax.set_title(f"worst random non-bijective task at T={T} (case seed {w['seed']})", fontsize=9)
    ax = axes[1, 1]
    for j, (T, g) in enumerate(p["general"].items()):
        d = np.asarray(g["min_change_large_k"])
        ax.plot(g["final_change_pass1"], d, "o^"[j % 2], ms=4, mfc="none", color=["tab:gray", "tab:orange"][j % 2],
                label=f"T={T}: pass@{ks[-1]} falls below base on {int((d < -1e-9).sum())} of {d.size} tasks")
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set(xlabel=f"change of pass@{ks[0]} = J over {p['general_iterations']} iterations",
           ylabel=f"lowest pass@{ks[-1]} minus the base's")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("random non-bijective tasks (exact STaR), one marker per task", fontsize=9)
    integer_ticks(axes[0, :])
    integer_ticks(axes[1, 0])
    fig.suptitle("Coverage: exact pass@k over STaR iterations (arXiv 2504.13837, 2312.06585)", fontsize=10)
    save_figure(fig, path)


def plot_chain(s: Settings, data: dict, path: Path) -> None:
    fig, axes = new_figure(ncols=3, width=4.9, height=4.2)
    c = data["chain"]
    ax = axes[0, 0]
    g = c["general"]
    ax.plot([x["tv_chain_vs_markov"] for x in g], [1 - x["J_markov"] for x in g], ".", color="tab:gray",
            label=f"random non-bijective tasks ({len(g)})")
    for x, m in zip(c["cases"], ("s", "D")):
        ax.plot(x["tv_chain_vs_markov"], 1 - x["J_markov"], m, ms=8, label=x["task"])
    ax.plot([0, 1], [0, 1], ":", color="black", lw=1, label="bound: loss <= TV")
    ax.set(xlabel="TV between chain-level update and per-step refit (mean over questions)",
           ylabel="accuracy lost by the refit, 1 - J(P^1)", xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7)
    ax.set_title("one step from the base policy: the chain-level update has J = 1", fontsize=9)
    ax = axes[0, 1]
    stalled = [x for x in g if x["J_markov_curve"][-1] < 1 - 1e-3]
    shown = c["cases"] + ([min(stalled, key=lambda x: x["J_markov_curve"][-1])] if stalled else [])
    for x, col in zip(shown, ("tab:blue", "tab:orange", "tab:red")):
        cur = x["J_markov_curve"]
        ax.plot(np.arange(len(cur)), cur, "o-", ms=3, color=col, label=f"per-step refit (STaR): {x['task']}")
        ax.plot([0, 1, len(cur) - 1], [cur[0], 1, 1], "--", color=col, lw=1, label=f"chain-level update: {x['task']}")
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    ax.legend(fontsize=6)
    ax.set_title("exact iterations: the refit catches up, or stalls below 1", fontsize=9)
    integer_ticks(axes[0, 1])
    ax = axes[0, 2]
    Ks = np.array([int(k) for k in c["sampled"]])
    fine = np.unique(np.round(np.geomspace(1, max(Ks.max(), 2) * 2, 60)).astype(int))
    ax.plot(fine, [expected_sampled_accuracy(c["J_q"], c["rho"], int(k)) for k in fine], "-", color="black",
            label="closed form: sum rho [1 - f + f J(s0)], f = (1 - J(s0))^K")
    mean = [c["sampled"][str(k)]["mean"] for k in Ks]
    se = [c["sampled"][str(k)]["exact_se"] for k in Ks]
    ax.errorbar(Ks, mean, yerr=2 * np.asarray(se), fmt="o", color="tab:red", ms=5,
                label=f"sampled mean of {c['seeds']} runs (bars: 2 standard errors)")
    ax.axvline(1 / c["J0"], color="gray", ls=":", label=f"K = 1/J0 = {1 / c['J0']:.1f}")
    ax.set_xscale("log")
    ax.set(xlabel="K samples per question (log scale)", ylabel="accuracy after one chain-level step",
           ylim=(-0.02, 1.02))
    ax.legend(fontsize=6.5, loc="lower right")
    ax.set_title(f"sampled chain-level step (best-of-K), symmetric M={s.M}", fontsize=9)
    fig.suptitle(f"Chain-level update (arXiv 2407.09499) against the per-step Markov refit; symmetric family "
                 f"lam={s.lam} (convention lam)", fontsize=10)
    save_figure(fig, path)

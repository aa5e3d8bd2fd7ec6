"""Figures of experiment 9: per regime, J against t for every LLM seed and their mean beside the exact-operator
line, the finite-K tabular band and the one-step predictions; held-out regimes also show J on the trained and
the held-out questions; and the mean TV of each empty-row rule's prediction on the unvisited rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory.empty_rows import EMPTY_ROWS
from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, integer_ticks, new_figure, save_figure
from star_theory.sim.summary import seed_band

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context
    from pathlib import Path


def draw(data: dict, s: Settings, ctx: Context) -> None:
    """``llm_regimes.png`` and ``llm_regimes_rules.png``."""
    regimes = data["regimes"]
    plot_regimes(regimes, ctx.figure("llm_regimes.png"))
    plot_rules(regimes, ctx.figure("llm_regimes_rules.png"))


def _band(ax, runs, color, label):
    mean, lo, hi = seed_band(np.asarray(runs, dtype=float), "percentile", 0.9)
    x = np.arange(len(mean))
    ax.fill_between(x, lo, hi, color=color, alpha=0.18, lw=0)
    ax.plot(x, mean, ":", color=color, label=label)


def plot_regimes(regimes: dict, path: Path) -> None:
    names = list(regimes)
    rows = 2 if any(r["heldout"] for r in regimes.values()) else 1
    fig, axes = new_figure(ncols=len(names), nrows=rows, width=3.6, height=3.9)
    axes = np.atleast_2d(axes)
    for col, name in enumerate(names):
        r, ax = regimes[name], axes[0, col]
        seeds = r["seeds"]
        J = np.array([sd["J"] for sd in seeds])
        x = np.arange(J.shape[1])
        _band(ax, np.concatenate([sd["tabular_runs"] for sd in seeds]), "tab:green",
              f"theory: tabular STaR, K={r['K']} (5-95%)")
        ax.plot(x, np.mean([sd["exact"] for sd in seeds], axis=0), "-", color="black", lw=1.2,
                label="theory: exact operator from measured kernel")
        for i, sd in enumerate(seeds):
            ax.plot(x, sd["J"], "-", color="tab:red", lw=0.6, alpha=0.6, label="LLM: exact J, each seed" if i == 0 else None)
            ax.plot(x[1:], sd["one_step"][1:], "v", ms=4, mfc="none", color="tab:purple",
                    label="theory: one step from the LLM's kernel at t-1" if i == 0 else None)
        ax.plot(x, J.mean(axis=0), "o-", color="tab:red", ms=4, lw=1.6, label=f"LLM: mean of {len(seeds)} seeds")
        ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
        ax.set_title(f"{name}\nzip M={r['M']}, N={r['N']}, K={r['K']}, {r['tokenization']} tokens", fontsize=8)
        if col == 0:
            ax.legend(fontsize=5.5, loc="lower right")
        if rows == 2:
            ax = axes[1, col]
            if not r["heldout"]:
                ax.axis("off")
                ax.text(0.5, 0.5, "every question trained", ha="center", va="center", fontsize=8, transform=ax.transAxes)
                continue
            _band(ax, np.concatenate([sd["tabular_train_runs"] for sd in seeds]), "tab:blue", "tabular: trained questions")
            _band(ax, np.concatenate([sd["tabular_heldout_runs"] for sd in seeds]), "tab:orange", "tabular: held-out questions")
            for i, sd in enumerate(seeds):
                ax.plot(x, sd["J_train"], "o-", color="tab:blue", ms=3, lw=0.7, label="LLM: trained questions" if i == 0 else None)
                ax.plot(x, sd["J_heldout"], "s--", color="tab:orange", ms=3, lw=0.7,
                        label="LLM: held-out questions" if i == 0 else None)
            ax.set(xlabel=ITERATION_LABEL, ylabel="J on a half of the questions", ylim=(-0.02, 1.02))
            ax.set_title(f"{name}:\ntrained vs held-out questions, each seed", fontsize=8)
            ax.legend(fontsize=5.5, loc="best")
    integer_ticks(axes)
    fig.suptitle("STaR on a GPT-2 that is not a table: LLM seeds against the tabular theory from their measured "
                 "kernels", fontsize=10)
    save_figure(fig, path)


def plot_rules(regimes: dict, path: Path) -> None:
    fig, axes = new_figure(ncols=1, width=7.5, height=3.6)
    ax = axes[0, 0]
    names = list(regimes)
    w = 0.8 / len(EMPTY_ROWS)
    for k, rule in enumerate(EMPTY_ROWS):
        vals = [[sd["rules"]["tv"][rule] for sd in regimes[n]["seeds"]] for n in names]
        mean = [np.mean(v) if all(x is not None for x in v) else np.nan for v in vals]
        x = np.arange(len(names)) + (k - (len(EMPTY_ROWS) - 1) / 2) * w
        ax.bar(x, mean, w, color=f"C{k}", label=f"rule: {rule}")
        for xi, v in zip(x, vals):
            if all(y is not None for y in v):
                ax.plot([xi] * len(v), v, ".", color="black", ms=3)
    for i, n in enumerate(names):
        if any(sd["rules"]["unvisited_rows"] == 0 for sd in regimes[n]["seeds"]):
            ax.text(i, 0.02, "no unvisited\nrows", ha="center", fontsize=6)
    ax.set_xticks(np.arange(len(names)), names, fontsize=7, rotation=15)
    ax.set_ylabel("mean TV, LLM row vs rule's prediction")
    ax.set_title("Rows with no kept transition: which rule predicts the LLM's next row (bars: mean of seeds; "
                 "dots: seeds)", fontsize=8)
    ax.set_ylim(0, 1.12)  # TV is at most 1; the room above holds the legend
    ax.legend(fontsize=6, loc="upper center", ncol=len(EMPTY_ROWS))
    save_figure(fig, path)

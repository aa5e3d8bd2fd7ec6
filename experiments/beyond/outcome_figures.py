"""``outcome.png``: outcome-reward policy gradient beside STaR (exact curves as lines, sampled means as
markers), J, entropy and the zero-signal probability over iterations on the symmetric task, and
pass@k against k on the random task of the deepest STaR coverage loss."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from star_theory.plots.style import ACCURACY_LABEL, integer_ticks, new_figure, save_figure

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from pathlib import Path

COLORS = {"STaR": "black", "reinforce": "tab:blue", "rloo": "tab:cyan", "dr-grpo": "tab:green", "grpo": "tab:red"}
NAMES = {"STaR": "STaR (exact operator)", "reinforce": "REINFORCE = RLOO (expected update)",
         "dr-grpo": "Dr. GRPO (expected update)", "grpo": "GRPO (expected update)"}


def plot_outcome(s: Settings, data: dict, path: Path) -> None:
    d = data["outcome"]
    sym = d["symmetric"]
    fig, axes = new_figure(ncols=2, nrows=3, width=5.6, height=3.2)
    gs = axes[0, 0].get_gridspec()
    gs.set_height_ratios([1, 1, 0.25])  # the last row, one axes across both columns, holds the legend
    for ax in axes[2]:
        ax.remove()
    legend_ax = fig.add_subplot(gs[2, :])
    legend_ax.set_axis_off()
    t = np.arange(s.pg_iterations + 1)
    curves = ["STaR"] + d["exact_methods"]
    ax = axes[0, 0]
    for m in curves:
        ax.plot(t, sym[m]["J"], "-", color=COLORS[m], lw=1.4, label=NAMES[m])
    for j, (m, v) in enumerate(sym["sampled"].items()):
        mean = np.asarray(v["J"]).mean(axis=0)
        lab = "sampled STaR, K = G" if m == "STaR" else f"sampled {m}"
        ax.plot(t[::4] + 0.25 * j, mean[::4], "o", ms=3.2, color=COLORS[m], label=f"{lab} (mean of {s.pg_seeds})")
    ax.set(xlabel="iteration t", ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    ax.set_title(f"accuracy; policy gradient at learning rate {d['lr']:g} (logits), G = {d['G']}", fontsize=9)
    ax = axes[0, 1]
    for m in curves:
        ax.plot(t, sym[m]["entropy"], "-", color=COLORS[m], lw=1.4, label=NAMES[m])
    ax.set(xlabel="iteration t", ylabel="entropy of the kernels on the policy's chains (nats)")
    ax.set_title("entropy E_s0 H(chain | s0), exact", fontsize=9)
    ax = axes[1, 0]
    for m in curves:
        ax.plot(t, sym[m]["zero_signal"], "-", color=COLORS[m], lw=1.4, label=NAMES[m])
        ax.plot(t, d["poor"][m]["zero_signal"], ":", color=COLORS[m], lw=1.4)
    ax.set(xlabel="iteration t", ylabel=f"P(all {d['G']} rewards of a group equal)", ylim=(-0.02, 1.02))
    ax.set_title(f"zero-signal probability; dotted: poor start lam = {s.pg_poor_lam:g}", fontsize=9)
    integer_ticks(axes[:2, 0])
    integer_ticks(axes[0, 1:])
    ax = axes[1, 1]
    ex = d["general"]["example"]
    if ex is not None:
        ax.plot(ex["k"], ex["base"], "--", color="gray", lw=1.4, label="base policy")
        for m in curves:
            ax.plot(ex["k"], ex[m], "-o", ms=3, color=COLORS[m], lw=1.2, label=NAMES[m])
        ax.set_xscale("log", base=2)
        ax.set(xlabel="k (samples per question)", ylabel="exact pass@k")
        ax.set_title(f"random task, seed {ex['seed']}: pass@k after {s.general_iterations} iterations "
                     f"(lr {d['lr']:g})", fontsize=9)
        ax.legend(fontsize=6.5, loc="lower right")
    else:
        ax.text(0.5, 0.5, "no random task where STaR lost pass@k", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    handles, labels = axes[0, 0].get_legend_handles_labels()
    legend_ax.legend(handles, labels, loc="center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Outcome-reward RL beside STaR, matched budget G = K = {d['G']} chains per question per iteration\n"
                 f"accuracy, entropy, zero signal: symmetric M={s.M}, N={s.N}, lam={s.lam} (convention lam); pass@k: a "
                 f"random non-bijective task", fontsize=10)
    save_figure(fig, path)

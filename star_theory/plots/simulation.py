"""Finite-sample STaR figures: the exact curve (line) and the sampled runs (markers with a band)."""

from __future__ import annotations

import numpy as np

from .style import ACCURACY_LABEL, ITERATION_LABEL, new_figure, save_figure


def plot_simulation(result: dict, path: str) -> str:
    """Two panels from a :func:`star_theory.sim.runner.simulate` result, written to ``path`` (PNG).

    Left: accuracy per iteration, exact form as a line, the sampled mean as markers with the
    band over seeds. Right: kept chains per iteration, observed mean (markers) against the
    closed form ``E[kept] = K sum_s0 J(s0)`` (lines), and the observed rate of iterations
    that kept no chain against ``P(no kept) = prod_s0 (1 - J(s0))^K`` on a second axis.
    """
    rows = result["iterations"]
    t = np.array([r["t"] for r in rows])
    fig, axes = new_figure(ncols=2, width=5.6, height=4.2)
    ax = axes[0, 0]
    ax.plot(t, [r["exact_accuracy"] for r in rows], "-", color="C0", label="exact form (infinite data)")
    ax.fill_between(t, [r["band_lo"] for r in rows], [r["band_hi"] for r in rows], color="C1", alpha=0.25,
                    label=f"band: {result['band']['meaning']}")
    ax.plot(t, [r["mean_accuracy"] for r in rows], "o", color="C1", ms=4, label="sampled, mean over seeds")
    ax.set_xlabel(ITERATION_LABEL)
    ax.set_ylabel(ACCURACY_LABEL)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="best")
    cfg = result["config"]
    conv = result["convention"]
    init = cfg["lam"] if conv == "lam" else cfg["eps"]
    ax.set_title(f"{result['task']['description']}, {result['variant']}\n"
                 f"initial {conv}={init}, K={result['chains_per_question']}/question", fontsize=9)

    ax = axes[0, 1]
    tk = t[:-1]
    ax.plot(tk, [rows[i]["expected_kept_exact"] for i in tk], "-", color="C0", label="E[kept], closed form at exact $P^t$")
    ax.plot(tk, [rows[i]["expected_kept_closed_mean"] for i in tk], "--", color="C2", label="E[kept], closed form at runs' $P^t$ (mean)")
    ax.plot(tk, [rows[i]["kept_mean"] for i in tk], "o", color="C1", ms=4, label="kept chains, observed mean")
    ax.set_xlabel(ITERATION_LABEL)
    ax.set_ylabel("kept chains per iteration")
    ax.set_ylim(bottom=0)
    ax2 = ax.twinx()
    ax2.plot(tk, [rows[i]["p_no_kept_closed_mean"] for i in tk], ":", color="C3", label="P(no kept chain), closed form (runs' mean)")
    ax2.plot(tk, [rows[i]["no_kept_rate"] for i in tk], "s", color="C3", ms=4, mfc="none", label="no kept chain, observed rate")
    ax2.set_ylim(-0.02, 1.02)
    ax2.set_ylabel("probability of no kept chain", color="C3")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7, loc="best")
    ax.set_title(f"kept data per iteration ({result['chains_per_iteration']} chains sampled)", fontsize=9)
    return save_figure(fig, path)

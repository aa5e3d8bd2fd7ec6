"""Figure of experiment 2: finite-sample bands against the exact curve, and where STaR cannot start."""

from __future__ import annotations

import numpy as np

from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, legend_below, new_figure, save_figure


def draw(data: dict, s, ctx) -> None:
    """``finite_samples.png`` from the runner's data."""
    _plot(s, data["by_K"], data["coverage"], ctx.figure("finite_samples.png"))


def _bands(ax, t, res, color, label):
    rows = res["iterations"]
    ax.fill_between(t, [r["band_lo"] for r in rows], [r["band_hi"] for r in rows], color=color, alpha=0.15)
    ax.plot(t, [r["mean_accuracy"] for r in rows], "o", ms=4, color=color, label=label)


def _plot(s, out: dict, coverage: dict, path) -> None:
    fig, axes = new_figure(ncols=3, width=5.0, height=5.2)
    ax = axes[0, 0]
    first = next(iter(out.values()))
    t = np.arange(s.iterations + 1)
    ax.plot(t, [r["exact_accuracy"] for r in first["iterations"]], "-", color="black", lw=2, label="exact operator (K = inf)")
    colors = ["tab:red", "tab:orange", "tab:green", "tab:blue", "tab:purple", "tab:brown", "tab:pink"]
    for (K, res), c in zip(out.items(), colors):
        _bands(ax, t, res, c, f"K={K}: mean of {len(res['seeds'])} runs, 90% band")
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    legend_below(ax)
    ax.set_title(f"Symmetric family M={s.M}, N={s.N}, initial lam={s.lam} (convention: lam)", fontsize=9)
    ax = axes[0, 1]
    ax.plot(t, [r["exact_accuracy"] for r in coverage["iterations"]], "-", color="black", lw=2, label="exact operator (K = inf)")
    _bands(ax, t, coverage, "tab:blue", f"K={s.coverage_K}: mean of {s.coverage_seeds} runs, 90% band")
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    legend_below(ax)
    ax.set_title(f"Large K: M={s.coverage_M}, N={s.N}, initial lam={s.coverage_lam} (convention: lam)", fontsize=9)
    ax = axes[0, 2]
    Ks = [int(k) for k in out]
    closed = [out[str(k)]["first_step"]["p_no_kept_closed"] for k in Ks]
    meas = [out[str(k)]["first_step"]["p_no_kept_measured"] for k in Ks]
    n = out[str(Ks[0])]["first_step"]["trials"]
    err = [1.96 * np.sqrt(max(p * (1 - p), 1.0 / n) / n) for p in closed]
    ax.plot(Ks, closed, "-", color="black", label="closed form prod(1 - J(s0))^K")
    ax.errorbar(Ks, meas, yerr=err, fmt="o", color="tab:red", capsize=3, label=f"measured over {n} first iterations (95% binomial)")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="K (chains per question, log scale)", ylabel="P(iteration keeps no chain)", ylim=(-0.02, 1.02))
    ax.set_title(f"Where STaR cannot start: no kept chain at iteration 0\n"
                 f"M={s.M}, N={s.N}, initial lam={s.lam} (convention: lam)", fontsize=9)
    legend_below(ax)
    save_figure(fig, path)

"""Figures of experiment 3 (convention lam): the N = 2 phase diagrams with the derived boundary, the
zero-step cases (closed form, exact matrices, sampled band), and the LLM cases when they ran."""

from __future__ import annotations

import numpy as np

from star_theory.plots.phase import OUTCOME_COLORS, draw_two_step_boundary
from star_theory.plots.style import (ACCURACY_LABEL, ITERATION_LABEL, convention_label, integer_ticks, legend_below,
                                     new_figure, save_figure)

from ..framework import verdict_band
from ..llm_common import draw_llm_accuracy
from ..stats import LEVEL
from .runner import REFERENCE, case_label


def draw(data: dict, s, ctx) -> None:
    """``phase_N2.png``, ``zero_steps.png`` and (with LLM cases) ``zero_steps_llm.png`` from the runner's data."""
    _plot_phase(s, data["phase"], ctx.figure("phase_N2.png"))
    _plot_cases(s, data["cases"], ctx.figure("zero_steps.png"))
    if data["llm_cases"]:
        _plot_llm(s, data["llm_cases"], ctx.figure("zero_steps_llm.png"))


def _edges(v: np.ndarray) -> np.ndarray:
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _draw_boundary(ax, M: int, lo: float) -> None:
    """The derived boundary lam_2 = -lam_1 / (1 + (M-2) lam_1) inside the square (a theory line)."""
    draw_two_step_boundary(ax, M, lo)


def _axes_lam(ax, v) -> None:
    e = _edges(np.asarray(v))
    ax.set_xlim(e[0], e[-1])
    ax.set_ylim(e[0], e[-1])
    ax.set_xlabel(r"$\lambda_1$ (lam of step 1, mixture weight)")
    ax.set_ylabel(r"$\lambda_2$ (lam of step 2, mixture weight)")
    ax.axhline(0, color="grey", ls=":", lw=0.7)
    ax.axvline(0, color="grey", ls=":", lw=0.7)
    ax.grid(False)


def _plot_phase(s, phase: dict, path) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    labels = list(OUTCOME_COLORS)
    cmap = ListedColormap([OUTCOME_COLORS[k] for k in labels])
    fig, axes = new_figure(ncols=3, width=4.9, height=5.6)
    M = s.phase_M[0]
    d = phase["exact"][str(M)]
    v = np.asarray(d["values"])
    code = np.vectorize(labels.index)(np.asarray(d["outcome"])).astype(float)
    ax = axes[0, 0]
    ax.pcolormesh(_edges(v), _edges(v), code.T, cmap=cmap, vmin=-0.5, vmax=2.5, shading="flat")
    _draw_boundary(ax, M, v[0])
    handles = [Patch(color=OUTCOME_COLORS[k], label=f"{k} ({d['counts'][k]} points)") for k in labels]
    legend_below(ax, handles=handles + ax.get_lines()[-1:], ncol=1)
    ax.set_title(f"exact STaR (closed form), M={M}, {s.phase_iterations} iterations\n"
                 f"agreement with the theory boundary: {d['boundary_agreement']:.1%}", fontsize=9)
    _axes_lam(ax, v)

    sp = phase["sampled"]
    v = np.asarray(sp["values"])
    ax = axes[0, 1]
    mesh = ax.pcolormesh(_edges(v), _edges(v), np.asarray(sp["optimum_fraction"]).T, cmap="Greens", vmin=0, vmax=1,
                         shading="flat")
    fig.colorbar(mesh, ax=ax).set_label(f"share of {len(sp['seeds'])} runs reaching J >= 1 - 1e-9")
    _draw_boundary(ax, sp["M"], v[0])
    legend_below(ax)
    ax.set_title(f"finite-sample STaR, M={sp['M']}, K={sp['K']}/question, {sp['iterations']} iterations\n"
                 "exact STaR is stuck below the line", fontsize=9)
    _axes_lam(ax, v)

    ax = axes[0, 2]
    lam1 = np.asarray(sp["final_lam"])[..., 0]
    mesh = ax.pcolormesh(_edges(v), _edges(v), lam1.T, cmap="coolwarm_r", vmin=-1.0, vmax=1.0, shading="flat")
    fig.colorbar(mesh, ax=ax).set_label(r"final fitted $\lambda_1$ (mean over runs)")
    _draw_boundary(ax, sp["M"], v[0])
    legend_below(ax)
    ax.set_title("same runs: fitted lam of step 1 after the last iteration\n"
                 f"(-1/(M-1) = {-1 / (sp['M'] - 1):.2f}: every step-1 transition wrong)", fontsize=9)
    _axes_lam(ax, v)
    fig.suptitle("Pretrained quality, N = 2 (convention lam: $P_n=\\lambda_n P_n^*+(1-\\lambda_n)U_M$): "
                 "where STaR starts improving", fontsize=10)
    save_figure(fig, path)


def _style_legend(ax, s, names, cases, colors, loc="upper left") -> None:
    """One entry per case (its colour) and one per kind of curve (theory line, exact squares, sampled dots)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[n], lw=6, alpha=0.5, label=case_label(cases[n]["zero_steps"])) for n in names]
    handles += [
        Line2D([], [], color="black", ls="-", label="closed form (theory)"),
        Line2D([], [], color="black", marker="s", ls="", mfc="none", label=f"exact operator on {s.M}x{s.M} matrices"),
        Line2D([], [], color="black", marker="o", ls="", ms=4, label=f"sampled: mean, {s.level:.0%} band of {s.seeds} runs"),
    ]
    ax.legend(handles=handles, fontsize=7, loc=loc)


def _plot_cases(s, cases: dict, path) -> None:
    fig, axes = new_figure(ncols=2, nrows=2, width=5.6, height=4.6)
    t = np.arange(s.iterations + 1)
    palette = ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:gray"]
    colors = {n: ("black" if n == REFERENCE else palette[i % len(palette)]) for i, n in enumerate(cases)}
    one = [n for n, c in cases.items() if len(c["zero_steps"]) <= 1]
    many = [n for n, c in cases.items() if len(c["zero_steps"]) >= 2]
    for ax, names, title in ((axes[0, 0], one, "one step at lam = 0 (closed-form curves coincide), and none"),
                             (axes[0, 1], many, "two steps at lam = 0: the exact operator is stuck at J = 1/M")):
        for k, name in enumerate(names):
            c, col = cases[name], colors[name]
            smp = c["sampled"]
            ax.plot(t, c["closed_form"]["accuracy"], "-", color=col, lw=1.5)
            ax.plot(t, c["exact_matrices"]["accuracy"], "s", color=col, ms=7, mfc="none")
            ax.fill_between(t, smp["band_lo"], smp["band_hi"], color=col, alpha=0.15)
            ax.plot(t + 0.08 * (k - 1), smp["mean_accuracy"], "o", color=col, ms=4)
        ax.axhline(1.0 / s.M, color="black", ls=":", lw=0.8)
        ax.text(t[-1], 1.0 / s.M + 0.01, "J = 1/M", ha="right", va="bottom", fontsize=7)
        ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
        ax.set_title(title, fontsize=9)
        if names:
            _style_legend(ax, s, names, cases, colors, loc="lower right" if ax is axes[0, 0] else "upper left")
    zero = [n for n in cases if cases[n]["zero_steps"]]
    ax = axes[1, 0]
    for name in zero:
        c, col = cases[name], colors[name]
        for j, n in enumerate(c["zero_steps"]):
            mk = "o" if j == 0 else "^"
            ax.plot(t, np.asarray(c["closed_form"]["lam"])[:, n - 1], "-", color=col, lw=1.2)
            ax.plot(t, np.asarray(c["sampled"]["mean_lam"])[:, n - 1], mk, color=col, ms=4,
                    label=f"{case_label(c['zero_steps'])}: step {n}")
    ax.set(xlabel=ITERATION_LABEL, ylim=(-0.05, 1.02))
    ax.set_ylabel("fitted " + convention_label("lam") + "\nof the steps that start at 0", fontsize=7)
    ax.set_title("lam of the zero steps: closed form (lines), sampled mean (markers)", fontsize=9)
    ax.legend(fontsize=6.5, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax = axes[1, 1]
    for name in zero:
        c, col = cases[name], colors[name]
        for j, n in enumerate(c["zero_steps"]):
            mk = "o-" if j == 0 else "^--"
            ax.plot(t, np.asarray(c["sampled"]["mean_misfit"])[:, n - 1], mk, color=col, ms=4, lw=0.8,
                    label=f"{case_label(c['zero_steps'])}: step {n}")
    ax.axhline(0.0, color="black", lw=1.2, label="closed form / exact operator: in the family (0)")
    ax.set(xlabel=ITERATION_LABEL, ylabel="distance of the step's kernel from the family\n(mean total variation per row)",
           ylim=(-0.02, 1.02))
    ax.set_title("sampled runs (mean) leave the family: wrong but consistent steps", fontsize=9)
    ax.legend(fontsize=6.5, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    fig.suptitle(f"Zero steps in the pretrained policy: symmetric family M={s.M}, N={s.N}, other steps lam={s.base_lam} "
                 f"(convention lam), sampled with K={s.K} chains/question", fontsize=10)
    save_figure(fig, path)


def _plot_llm(s, cases: dict, path) -> None:
    fig, axes = new_figure(ncols=len(cases), width=4.8, height=5.4)
    for ax, (name, c) in zip(axes[0], cases.items()):
        recs, sim = c["records"], c["simulated"]
        lo, hi = verdict_band(sim["accuracy_runs"])  # the band its finding tests the LLM's exact J against
        draw_llm_accuracy(ax, recs, sim, c["K"], band=(lo, hi, f"{LEVEL:.0%} prediction band (the finding's)"), lines=[
            ("theory: exact operator from measured lam_n", c["theory_accuracy"], "-", "black")])
        ax.axhline(1 / c["M"], color="0.6", ls="--", lw=0.8, label="1/M (stuck level)")
        lam0 = ", ".join(f"{x:.3f}" for x in recs[0]["lam"])
        ax.set_title(f"{name}: corpus lam={c['corpus_lam']}, measured lam_n ({lam0})\nK={c['K']} chains/question",
                     fontsize=8)
        legend_below(ax, fontsize=6)
    integer_ticks(axes)
    first = next(iter(cases.values()))
    fig.suptitle(f"Pretrained quality on the tiny GPT-2 (zip M={first['M']}, N={len(first['records'][0]['lam'])}):\n"
                 "steps at lam=0 (convention: lam)", fontsize=10)
    save_figure(fig, path)

"""Figures of experiment 7: accuracy curves per variant against plain STaR, and the improvement maps.

Theory (closed forms of :mod:`.theory`) is drawn as lines or shaded regions, measurements as
markers (sampled runs: mean with a band over seeds; maps: explicit-matrix outcomes).
"""

from __future__ import annotations

import numpy as np

from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, legend_below, new_figure, save_figure

COLORS = ["tab:blue", "tab:orange", "tab:red", "tab:green", "tab:purple", "tab:brown"]
OUTCOME_STYLE = {"improves": ("o", "tab:green"), "worsens": ("x", "tab:red"), "constant": ("s", "tab:gray"),
                 "mixed": ("d", "black")}


def draw(data: dict, s, ctx) -> None:
    """``variant_curves.png`` and ``improvement_maps.png`` from the runner's data."""
    plot_curves(s, data, ctx.figure("variant_curves.png"))
    plot_maps(s, data, ctx.figure("improvement_maps.png"))


def _curve_panel(ax, s, curves, name, title):
    from matplotlib.lines import Line2D

    t = np.arange(s.iterations + 1)
    star = curves[0]
    ax.plot(t, star["closed_form_accuracy"], "-", color="black", lw=2, label="plain STaR: closed form")
    ax.plot(t, star["sampled"]["mean_accuracy"], "o", color="black", ms=3)
    picked = [c for c in curves if c["variant"] == name]
    for k, (c, col) in enumerate(zip(picked, COLORS)):
        smp = c["sampled"]
        ax.plot(t, c["closed_form_accuracy"], "-", color=col, lw=1.5, label=f"{c['label']}: closed form")
        ax.fill_between(t, smp["band_lo"], smp["band_hi"], color=col, alpha=0.18)
        ax.plot(t + 0.1 * (k + 1), smp["mean_accuracy"], "o", color=col, ms=4)
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Line2D([], [], color="grey", marker="o", ls="", ms=4))
    labels.append(f"markers: sampled mean, {s.level:.0%} band of {s.seeds} runs, K={s.K}")
    legend_below(ax, handles=handles, labels=labels)
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    ax.set_title(f"{title}\nM={s.M}, N={s.N}, initial lam={s.lam} on every step (convention: lam)", fontsize=9)


def plot_curves(s, data: dict, path) -> None:
    fig, axes = new_figure(ncols=2, nrows=2, width=6.0, height=5.6)
    curves = data["curves"]
    _curve_panel(axes[0, 0], s, curves, "noisy-verifier",
                 "noisy verifier (accepts a wrong answer w.p. fp, rejects a right one w.p. fn)")
    _curve_panel(axes[0, 1], s, curves, "partial-fit", "partial fit: P <- (1 - eta) P + eta Refit(P)")
    _curve_panel(axes[1, 0], s, curves, "temperature", "temperature: chains sampled from P^(1/T), renormalised")
    ax = axes[1, 1]
    rat = data["rationalize"]
    Ks = list(rat["by_K"])
    t = np.arange(s.rat_iterations + 1)
    first = rat["by_K"][Ks[0]]["0"]
    ax.plot(t, first["exact_accuracy"], "-", color="black", lw=2, label="exact STaR = exact rationalize (family)")
    markers = ["o", "s", "^", "v", "D"]
    for kk, K in enumerate(Ks):
        for r, (R, run) in enumerate(rat["by_K"][K].items()):
            col = "dimgray" if R == "0" else COLORS[(r - 1) % len(COLORS)]
            filled = kk == 0
            ax.fill_between(t, run["band_lo"], run["band_hi"], color=col, alpha=0.12 if filled else 0.06)
            ax.plot(t + 0.06 * r, run["mean_accuracy"], markers[kk % len(markers)] + ("-" if filled else "--"), color=col,
                    ms=4, lw=0.8, mfc=col if filled else "none",
                    label=f"{'plain STaR' if R == '0' else run['label']}, K={K} (K*J0={int(K) * rat['initial_accuracy']:.2g})")
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
    legend_below(ax, ncol=2, fontsize=6.5)
    ax.set_title(f"rationalize (R hinted chains per failed question)\nM={rat['M']}, N={s.N}, initial lam={rat['lam']} "
                 f"on every step (convention: lam)\nmarkers: sampled mean, {s.level:.0%} band of {s.rat_seeds} runs",
                 fontsize=9)
    fig.suptitle("STaR variants against plain STaR on the symmetric family (each panel names its M, N and initial lam); "
                 "lines = closed forms, markers = sampled runs", fontsize=10)
    save_figure(fig, path)


def _outcome_markers(ax, x, y, outcome):
    outcome = np.asarray(outcome)
    for lab, (mk, col) in OUTCOME_STYLE.items():
        m = outcome == lab
        if m.any():
            X, Y = np.meshgrid(x, y, indexing="ij")
            ax.plot(X[m], Y[m], mk, color=col, ms=6, mew=1.6, mfc="none" if mk in "os" else col,
                    label=f"measured: J {lab} ({int(m.sum())} points)")


def plot_maps(s, data: dict, path) -> None:
    from matplotlib.colors import ListedColormap

    fig, axes = new_figure(ncols=3, width=5.0, height=5.0)
    nm = data["noisy_map"]
    fp, fn = np.asarray(nm["fp"]), np.asarray(nm["fn"])
    ax = axes[0, 0]
    F, N = np.meshgrid(np.linspace(0, 1, 201), np.linspace(0, 1, 201), indexing="ij")
    ax.contourf(F, N, (1 - N - F > 0).astype(float), levels=[-0.5, 0.5, 1.5],
                cmap=ListedColormap(["#f4c7c3", "#cde8cd"]))
    ax.plot([0, 1], [1, 0], "-", color="black", lw=1.6, label="theory: fp = 1 - fn (improves iff below)")
    _outcome_markers(ax, fp, fn, nm["outcome"])
    ax.set(xlabel="fp (probability of accepting a wrong answer)", ylabel="fn (probability of rejecting a right answer)",
           xlim=(-0.04, 1.04), ylim=(-0.04, 1.04))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    ax.set_title(f"noisy verifier: does J rise over {nm['iterations']} exact iterations?\n"
                 f"shading: theory (green improves, red worsens); agreement {nm['agreement']:.0%}", fontsize=9)
    ax.grid(False)

    ax = axes[0, 1]
    e = np.concatenate([[fp[0] - (fp[1] - fp[0]) / 2], (fp[1:] + fp[:-1]) / 2, [fp[-1] + (fp[-1] - fp[-2]) / 2]])
    mesh = ax.pcolormesh(e, e, np.asarray(nm["final_accuracy"]).T, cmap="viridis", vmin=0, vmax=1, shading="flat")
    fig.colorbar(mesh, ax=ax).set_label(f"accuracy J after {nm['iterations']} iterations (J0 = {nm['initial_accuracy']:.3f})")
    ax.plot([0, 1], [1, 0], "-", color="white", lw=1.6, label="fp = 1 - fn")
    ax.set(xlabel="fp (probability of accepting a wrong answer)", ylabel="fn (probability of rejecting a right answer)")
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("noisy verifier: accuracy reached (explicit matrices)\nimprovement slows as fp approaches 1 - fn",
                 fontsize=9)
    ax.grid(False)

    tm = data["temperature_map"]
    ax = axes[0, 2]
    fine = tm["fine"]
    FL, FT = np.meshgrid(np.asarray(fine["lam0"]), np.asarray(fine["T"]), indexing="ij")
    ok = (np.asarray(fine["min_change"]) >= -1e-12).astype(float)
    ax.contourf(FL, FT, ok, levels=[-0.5, 0.5, 1.5], cmap=ListedColormap(["#f4c7c3", "#cde8cd"]))
    ax.contour(FL, FT, ok, levels=[0.5], colors="black", linewidths=1.6)
    ax.plot([], [], "-", color="black", lw=1.6, label="theory: boundary of 'J never falls'")
    _outcome_markers(ax, np.asarray(tm["lam0"]), np.asarray(tm["T"]), tm["outcome"])
    ax.axhline(1.0, color="black", ls=":", lw=0.8)
    ax.set_yscale("log")
    ticks = sorted({float(x) for x in tm["T"]} | {1.0})
    ax.set_yticks(ticks, [f"{x:g}" for x in ticks])
    ax.minorticks_off()
    ax.set(xlabel=r"initial $\lambda$ on every step (lam, mixture weight)", ylabel="temperature T (log scale)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    ax.set_title(f"temperature: does J never fall over {tm['iterations']} exact iterations?\n"
                 f"shading: theory (green: never falls); agreement {tm['agreement']:.0%}", fontsize=9)
    ax.grid(False)
    fig.suptitle(f"Where improvement fails: symmetric family M={s.M}, N={s.N} (convention lam); noisy-verifier maps from "
                 f"initial lam={s.lam}", fontsize=10)
    save_figure(fig, path)

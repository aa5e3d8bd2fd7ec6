r"""Pretrained quality: which initial ``lam`` vectors let STaR start improving, and which leave it stuck.

Convention ``lam`` throughout: :math:`P_n = \lambda_n P_n^* + (1 - \lambda_n) U_M`.

* ``N = 2`` phase diagrams over :math:`(\lambda_1, \lambda_2) \in [-1/(M-1), 1]^2`: the exact
  operator by the closed form (:func:`star_theory.phase_diagram`), the same on explicit matrices
  on a coarse grid, and finite-sample STaR (``K`` chains per question, several seeds). The
  derived boundary is :math:`s = \lambda_1 + \lambda_2 + (M-2)\lambda_1\lambda_2`: optimum iff
  :math:`s > 0`, stuck otherwise (``docs/theory.md``, fact 5).
* ``N = 3`` cases: every step at ``base_lam`` except the steps of a *zero set*, which start at
  :math:`\lambda = 0` (uniform). Theory (fact 3): one zero step ``n`` is lifted to
  :math:`\lambda_n' = \Lambda_{-n} = \prod_{k \ne n} \lambda_k` in one iteration, the others stay;
  two zero steps are a fixed point with :math:`J = 1/M`. Each case is run three ways: the closed
  form, the exact operator on explicit ``M x M`` matrices (fitted back to ``lam``), and sampled
  STaR with ``K`` chains per question over ``seeds`` runs (fitted ``lam`` and the distance of the
  refit kernels from the family recorded per iteration).

LLM hook: :func:`case_vectors` gives every case's initial ``lam`` vector, and ``run`` returns them
under ``data["cases"][name]["initial_lam"]`` (with ``data["llm_hook"]``), so an LLM runner can
pretrain on the same policies and add its measured curves beside these.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from star_theory import (
    accuracy,
    fit_symmetric,
    iterations_to_accuracy,
    make_variant,
    phase_diagram,
    star_trajectory,
    symmetric_policy,
    symmetric_task,
    symmetric_trajectory,
)
from star_theory.config import check, option
from star_theory.plots.phase import OUTCOME_COLORS
from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, convention_label, new_figure, save_figure

REFERENCE = "reference"


@dataclass(frozen=True)
class Settings:
    phase_M: tuple[int, ...] = option([8, 64], "M of the exact N=2 phase diagrams (closed form)")
    phase_points: int = option(41, "grid points per axis of the exact N=2 diagrams")
    phase_iterations: int = option(200, "STaR iterations of the exact N=2 diagrams")
    explicit_M: int = option(4, "M of the N=2 diagram iterated on explicit matrices (checks the closed form)")
    explicit_points: int = option(13, "grid points per axis of the explicit-matrix diagram")
    explicit_iterations: int = option(60, "iterations of the explicit-matrix diagram (and of its closed-form twin)")
    sampled_M: int = option(4, "M of the sampled N=2 diagram")
    sampled_points: int = option(13, "grid points per axis of the sampled diagram")
    sampled_K: int = option(32, "chains per question of the sampled diagram")
    sampled_seeds: int = option(4, "runs per grid point of the sampled diagram")
    sampled_iterations: int = option(30, "iterations of the sampled diagram")
    M: int = option(64, "states per level of the N=3 cases (the analysis: 64)")
    N: int = option(3, "reasoning steps of the cases (the analysis: 3)")
    base_lam: float = option(0.2, "lam of every step that is not set to zero")
    zero_sets: tuple[tuple[int, ...], ...] = option([[1], [2], [3], [1, 2], [1, 3], [2, 3]],
                                                    "cases: the steps (1-based) that start at lam = 0")
    reference: bool = option(True, "also run the reference case with no step at zero")
    K: int = option(4096, "chains per question of the sampled runs of the cases")
    seeds: int = option(8, "sampled runs per case (seeds derive from the experiment seed)")
    iterations: int = option(8, "STaR iterations of the cases")
    target: float = option(0.99, "target accuracy for 'iterations to target'")
    level: float = option(0.9, "central share of the runs inside the band (percentiles over seeds)")
    llm_zero_sets: tuple[tuple[int, ...], ...] = option([[1], [2], [1, 2]],
                                                        "LLM cases (tiny GPT-2, zip N=2): steps at lam = 0; [] for none")
    llm_base_lam: float = option(0.3, "corpus lam of the LLM cases' other steps")
    llm_iterations: int = option(3, "STaR iterations of the LLM cases")

    def __post_init__(self):
        check(all(m >= 2 for m in self.phase_M) and len(self.phase_M) >= 1, "phase_M must list values >= 2")
        check(min(self.phase_points, self.explicit_points, self.sampled_points) >= 3, "grid points must be >= 3")
        check(min(self.phase_iterations, self.explicit_iterations, self.sampled_iterations, self.iterations) >= 1,
              "iterations must be >= 1")
        check(self.explicit_M >= 2 and self.sampled_M >= 2 and self.M >= 2, "M values must be >= 2")
        check(self.N >= 2, f"N must be >= 2 (cases set steps to zero), got {self.N}")
        check(0 < self.base_lam <= 1, f"base_lam must lie in (0, 1], got {self.base_lam}")
        check(len(self.zero_sets) >= 1, "zero_sets must list at least one case")
        for z in self.zero_sets:
            check(len(z) >= 1 and len(set(z)) == len(z) and all(1 <= k <= self.N for k in z),
                  f"each zero set must list distinct steps in 1..{self.N}, got {list(z)}")
        check(self.K >= 1 and self.sampled_K >= 1, "K and sampled_K must be >= 1")
        check(self.seeds >= 2 and self.sampled_seeds >= 1, "seeds must be >= 2 and sampled_seeds >= 1")
        check(0 < self.target <= 1, f"target must lie in (0, 1], got {self.target}")
        check(0 < self.level < 1, f"level must lie in (0, 1), got {self.level}")
        for z in self.llm_zero_sets:
            check(len(z) >= 1 and all(k in (1, 2) for k in z), f"LLM zero sets list steps 1 or 2 (N=2), got {list(z)}")
        check(self.llm_iterations >= 1 and 0 < self.llm_base_lam <= 1, "llm_iterations >= 1 and llm_base_lam in (0, 1]")


def case_name(zero_steps) -> str:
    """``zero_1``, ``zero_1_2``, ... (``reference`` for no zero step)."""
    return "zero_" + "_".join(str(k) for k in zero_steps) if len(zero_steps) else REFERENCE


def case_label(zero_steps) -> str:
    if not len(zero_steps):
        return "no step at 0"
    return ("step " if len(zero_steps) == 1 else "steps ") + ",".join(str(k) for k in zero_steps) + " at lam=0"


def case_vectors(s: Settings) -> dict[str, dict]:
    """Every case: ``{name: {"zero_steps": [...], "initial_lam": [lam_1..lam_N]}}`` (convention lam).

    The hook for the LLM runner: pretrain on ``symmetric_policy(task, lam=initial_lam)``.
    """
    sets = [tuple(z) for z in s.zero_sets] + ([()] if s.reference else [])
    out = {}
    for z in sets:
        lam = np.full(s.N, float(s.base_lam))
        lam[[k - 1 for k in z]] = 0.0
        out[case_name(z)] = {"zero_steps": list(z), "initial_lam": lam.tolist()}
    return out


def _boundary_s(M: int, values) -> np.ndarray:
    l1, l2 = np.meshgrid(np.asarray(values, dtype=float), np.asarray(values, dtype=float), indexing="ij")
    return l1 + l2 + (M - 2) * l1 * l2


def _phase(s: Settings, ctx) -> dict:
    exact = {}
    for M in s.phase_M:
        d = phase_diagram(M, 2, points=s.phase_points, iterations=s.phase_iterations, target=s.target, progress=False)
        sv = _boundary_s(M, d.values)
        off = np.abs(sv) > 1e-9
        predicted = np.where(sv > 0, "optimum", "stuck")
        exact[str(M)] = {
            "values": d.values,
            "outcome": d.outcome.tolist(),
            "iterations_to_target": d.iterations_to_target,
            "final_accuracy": d.final_accuracy,
            "counts": d.counts(),
            "boundary_agreement": float(np.mean((d.outcome == predicted)[off])),
            "points_off_curve": int(off.sum()),
        }
    # the same question on explicit matrices (independent path: forward/backward passes)
    kw = dict(points=s.explicit_points, iterations=s.explicit_iterations, target=s.target, progress=False)
    ex = phase_diagram(s.explicit_M, 2, use_closed_form=False, **kw)
    cf = phase_diagram(s.explicit_M, 2, **kw)
    explicit = {
        "M": s.explicit_M, "values": ex.values, "outcome_explicit": ex.outcome.tolist(),
        "outcome_closed_form": cf.outcome.tolist(),
        "optimum_agreement": float(np.mean((ex.outcome == "optimum") == (cf.outcome == "optimum"))),
        "counts_explicit": ex.counts(), "counts_closed_form": cf.counts(),
    }
    seeds = [ctx.child_seed("phase", i) for i in range(s.sampled_seeds)]
    sp = phase_diagram(s.sampled_M, 2, points=s.sampled_points, iterations=s.sampled_iterations, target=s.target,
                       mode="sampled", chains_per_question=s.sampled_K, seeds=seeds, progress=False)
    twin = phase_diagram(s.sampled_M, 2, values=sp.values, iterations=s.sampled_iterations, target=s.target)
    sv = _boundary_s(s.sampled_M, sp.values)
    above, below = sv > 1e-9, sv < -1e-9
    frac = np.asarray(sp.optimum_fraction, dtype=float)
    escaped = below & (frac >= 0.5)
    sampled = {
        "M": s.sampled_M, "K": s.sampled_K, "seeds": seeds, "iterations": s.sampled_iterations,
        "values": sp.values, "outcome": sp.outcome.tolist(), "optimum_fraction": frac,
        "final_accuracy": sp.final_accuracy, "final_lam": sp.final_lam,
        "exact_optimum_share_above": float(np.mean(twin.outcome[above] == "optimum")),
        "exact_optimum_share_below": float(np.mean(twin.outcome[below] == "optimum")),
        "optimum_fraction_above": float(frac[above].mean()),
        "optimum_fraction_below": float(frac[below].mean()),
        "points_above": int(above.sum()), "points_below": int(below.sum()),
        "escaped_below": int(escaped.sum()),
        "escaped_mean_final_lam": (np.asarray(sp.final_lam)[escaped].mean(axis=0) if escaped.any() else None),
        "escaped_mean_final_accuracy": (float(np.asarray(sp.final_accuracy)[escaped].mean()) if escaped.any() else None),
    }
    return {"exact": exact, "explicit": explicit, "sampled": sampled}


def _first_reach(curve, target):
    hit = np.flatnonzero(np.asarray(curve) >= target)
    return int(hit[0]) if hit.size else None


def _case(s: Settings, task, name: str, lam0: np.ndarray, ctx) -> dict:
    T = s.iterations
    tr = symmetric_trajectory(s.M, T, lam=lam0)
    policies = star_trajectory(symmetric_policy(task, lam=lam0), task, T)
    ex_acc = np.array([accuracy(p, task) for p in policies])
    ex_lam = np.stack([fit_symmetric(p, task).lam for p in policies])
    moved = [max(float(np.max(np.abs(a - b))) for a, b in zip(p.kernels, q.kernels))
             for p, q in zip(policies[:-1], policies[1:])]
    seeds = [ctx.child_seed("case", name, i) for i in range(s.seeds)]
    acc_runs = np.empty((s.seeds, T + 1))
    lam_runs = np.empty((s.seeds, T + 1, s.N))
    misfit_runs = np.empty((s.seeds, T + 1, s.N))
    for i, seed in enumerate(seeds):
        step = make_variant("star").sampled(s.K, np.random.default_rng(seed))
        runs = star_trajectory(symmetric_policy(task, lam=lam0), task, T, step=step)
        fits = [fit_symmetric(p, task) for p in runs]
        acc_runs[i] = [accuracy(p, task) for p in runs]
        lam_runs[i] = [f.lam for f in fits]
        misfit_runs[i] = [f.distance for f in fits]
    q = 100 * (1 - s.level) / 2
    return {
        "initial_lam": lam0.tolist(),
        "closed_form": {"accuracy": tr.accuracy, "lam": tr.lam,
                        "iterations_to_target": float(iterations_to_accuracy(s.M, s.target, lam=lam0, max_iterations=T))},
        "exact_matrices": {"accuracy": ex_acc, "lam": ex_lam, "max_kernel_change": moved,
                           "iterations_to_target": _first_reach(ex_acc, s.target)},
        "max_abs_diff_closed_vs_exact": float(max(np.abs(ex_acc - tr.accuracy).max(), np.abs(ex_lam - tr.lam).max())),
        "sampled": {
            "K": s.K, "seeds": seeds, "accuracy_runs": acc_runs, "lam_runs": lam_runs, "misfit_runs": misfit_runs,
            "mean_accuracy": acc_runs.mean(axis=0),
            "band_lo": np.percentile(acc_runs, q, axis=0), "band_hi": np.percentile(acc_runs, 100 - q, axis=0),
            "mean_lam": lam_runs.mean(axis=0), "sd_lam": lam_runs.std(axis=0, ddof=1),
            "mean_misfit": misfit_runs.mean(axis=0),
        },
    }


def run(s: Settings, ctx) -> dict:
    phase = _phase(s, ctx)
    task = symmetric_task(s.M, s.N, seed=ctx.child_seed("task"))
    cases = {}
    for name, c in case_vectors(s).items():
        cases[name] = dict(c, **_case(s, task, name, np.asarray(c["initial_lam"]), ctx))
    _plot_phase(s, phase, ctx.figure("phase_N2.png"))
    _plot_cases(s, cases, ctx.figure("zero_steps.png"))
    from .llm_part import run_llm_cases

    return {
        "phase": phase, "cases": cases, "llm_cases": run_llm_cases(s, ctx), "convention": "lam", "M": s.M, "N": s.N, "base_lam": s.base_lam,
        "band": f"central {s.level:.0%} of the {s.seeds} sampled runs (percentiles over seeds)",
        "llm_hook": "cases[name]['initial_lam'] is the pretrained lam vector of each case (symmetric family, "
                    "M and N above); an LLM runner pretrains on it and adds its accuracy curve beside "
                    "closed_form / exact_matrices / sampled",
    }


# ----------------------------------------------------------------------------- figures


def _edges(v: np.ndarray) -> np.ndarray:
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def _draw_boundary(ax, M: int, lo: float) -> None:
    """The derived boundary lam_2 = -lam_1 / (1 + (M-2) lam_1) inside the square (a theory line)."""
    l1 = np.linspace(lo, 1.0, 2001)
    den = 1.0 + (M - 2) * l1
    with np.errstate(divide="ignore", invalid="ignore"):
        l2 = np.where(np.abs(den) > 1e-9, -l1 / den, np.nan)
    l2[(l2 < lo - 1e-9) | (l2 > 1.0 + 1e-9)] = np.nan
    ax.plot(l1, l2, "-", color="black", lw=1.6, label=r"theory: $\lambda_1+\lambda_2+(M-2)\lambda_1\lambda_2=0$")


def _axes_lam(ax, v) -> None:
    e = _edges(np.asarray(v))
    ax.set_xlim(e[0], e[-1])
    ax.set_ylim(e[0], e[-1])
    ax.set_xlabel(r"$\lambda_1$ (lam of step 1, mixture weight)")
    ax.set_ylabel(r"$\lambda_2$ (lam of step 2, mixture weight)")
    ax.axhline(0, color="grey", ls=":", lw=0.7)
    ax.axvline(0, color="grey", ls=":", lw=0.7)
    ax.grid(False)


def _plot_phase(s: Settings, phase: dict, path) -> None:
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    labels = list(OUTCOME_COLORS)
    cmap = ListedColormap([OUTCOME_COLORS[k] for k in labels])
    fig, axes = new_figure(ncols=3, width=4.9, height=4.6)
    M = s.phase_M[0]
    d = phase["exact"][str(M)]
    v = np.asarray(d["values"])
    code = np.vectorize(labels.index)(np.asarray(d["outcome"])).astype(float)
    ax = axes[0, 0]
    ax.pcolormesh(_edges(v), _edges(v), code.T, cmap=cmap, vmin=-0.5, vmax=2.5, shading="flat")
    _draw_boundary(ax, M, v[0])
    handles = [Patch(color=OUTCOME_COLORS[k], label=f"{k} ({d['counts'][k]} points)") for k in labels]
    ax.legend(handles=handles + ax.get_lines()[-1:], fontsize=7, loc="upper right", framealpha=0.9)
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
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title(f"finite-sample STaR, M={sp['M']}, K={sp['K']}/question, {sp['iterations']} iterations\n"
                 "exact STaR is stuck below the line", fontsize=9)
    _axes_lam(ax, v)

    ax = axes[0, 2]
    lam1 = np.asarray(sp["final_lam"])[..., 0]
    mesh = ax.pcolormesh(_edges(v), _edges(v), lam1.T, cmap="coolwarm_r", vmin=-1.0, vmax=1.0, shading="flat")
    fig.colorbar(mesh, ax=ax).set_label(r"final fitted $\lambda_1$ (mean over runs)")
    _draw_boundary(ax, sp["M"], v[0])
    ax.legend(fontsize=7, loc="upper right")
    ax.set_title("same runs: fitted lam of step 1 after the last iteration\n"
                 f"(-1/(M-1) = {-1 / (sp['M'] - 1):.2f}: every step-1 transition wrong)", fontsize=9)
    _axes_lam(ax, v)
    fig.suptitle("Pretrained quality, N = 2 (convention lam: $P_n=\\lambda_n P_n^*+(1-\\lambda_n)U_M$): "
                 "where STaR starts improving", fontsize=10)
    save_figure(fig, path)


def _style_legend(ax, s: Settings, names, cases, colors, loc="upper left") -> None:
    """One entry per case (its colour) and one per kind of curve (theory line, exact squares, sampled dots)."""
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=colors[n], lw=6, alpha=0.5, label=case_label(cases[n]["zero_steps"])) for n in names]
    handles += [
        Line2D([], [], color="black", ls="-", label="closed form (theory)"),
        Line2D([], [], color="black", marker="s", ls="", mfc="none", label=f"exact operator on {s.M}x{s.M} matrices"),
        Line2D([], [], color="black", marker="o", ls="", ms=4, label=f"sampled: mean, {s.level:.0%} band of {s.seeds} runs"),
    ]
    ax.legend(handles=handles, fontsize=7, loc=loc)


def _plot_cases(s: Settings, cases: dict, path) -> None:
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

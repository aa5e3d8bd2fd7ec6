"""Pretrained-quality phase diagrams: outcome and iterations to a target accuracy over (lam_1, lam_2)."""

from __future__ import annotations

import numpy as np

from ..checks.pretrained import two_step_boundary_curve
from .style import new_figure, save_figure

OUTCOME_COLORS = {"optimum": "#2ca02c", "stuck": "#d62728", "other": "#7f7f7f"}


def _edges(values: np.ndarray) -> np.ndarray:
    mid = (values[1:] + values[:-1]) / 2
    return np.concatenate([[values[0] - (mid[0] - values[0])], mid, [values[-1] + (values[-1] - mid[-1])]])


BOUNDARY_LABEL = r"theory (exact STaR): $\lambda_1+\lambda_2+(M-2)\lambda_1\lambda_2=0$ (optimum above, stuck below)"


def draw_two_step_boundary(ax, M: int, lo: float, hi: float = 1.0, color: str = "black"):
    """The derived ``N = 2`` boundary (:func:`star_theory.checks.pretrained.two_step_boundary_curve`) over
    ``lam_1`` in ``[lo, hi]``, as a line labelled :data:`BOUNDARY_LABEL`; returns the line."""
    l1 = np.linspace(lo, hi, 2001)
    l2 = two_step_boundary_curve(M, l1)
    l2[(l2 < lo - 1e-9) | (l2 > hi + 1e-9)] = np.nan
    (line,) = ax.plot(l1, l2, "-", color=color, lw=1.8, label=BOUNDARY_LABEL)
    return line


def plot_phase(diagram, path: str) -> str:
    """Two panels from a :class:`star_theory.sim.phase.PhaseDiagram`, written to ``path`` (PNG).

    Left: the outcome per grid point (``optimum`` / ``stuck`` / ``other``); right: iterations to
    the target accuracy (grey where not reached). Axes are ``lam_1`` and ``lam_2`` in the ``lam``
    convention; dashed lines mark ``lam = 0``. For ``N = 2`` and plain STaR (``star``) both panels draw
    the derived boundary (:func:`draw_two_step_boundary`), the exact operator's prediction (a sampled
    diagram is read against it); for ``N > 2`` or another variant there is no derived boundary to draw.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    d = diagram
    v = np.asarray(d.values)
    e = _edges(v)
    labels = list(OUTCOME_COLORS)
    code = np.vectorize(labels.index)(d.outcome).astype(float)
    fig, axes = new_figure(ncols=2, width=5.4, height=5.4)
    ax = axes[0, 0]
    ax.pcolormesh(e, e, code.T, cmap=ListedColormap([OUTCOME_COLORS[k] for k in labels]), vmin=-0.5, vmax=2.5,
                  shading="flat")
    boundary = d.N == 2 and d.variant == "star"
    handles = [Patch(color=OUTCOME_COLORS[k], label=f"{k} ({int(np.sum(d.outcome == k))})") for k in labels]
    if boundary:
        handles.append(draw_two_step_boundary(ax, d.M, e[0], e[-1]))
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2,
              title="outcome (points)", title_fontsize=8)
    ax.set_title("outcome after %d iterations" % d.iterations, fontsize=9)

    ax = axes[0, 1]
    its = np.ma.masked_invalid(np.asarray(d.iterations_to_target, dtype=float))
    ax.set_facecolor("#cccccc")
    mesh = ax.pcolormesh(e, e, its.T, cmap="viridis", shading="flat")
    cb = fig.colorbar(mesh, ax=ax)
    cb.set_label(f"iterations to accuracy J >= {d.target:g} (grey: not reached)")
    ax.set_title("iterations to the target accuracy", fontsize=9)
    if boundary:
        draw_two_step_boundary(ax, d.M, e[0], e[-1])
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14))

    fixed = ", ".join(f"$\\lambda_{n + 3}$={x:g}" for n, x in enumerate(d.fixed))
    sampled = f", K={d.chains_per_question}/question, {len(d.seeds)} seeds" if d.mode == "sampled" else ""
    title = (f"STaR phase diagram, convention lam: $P_n=\\lambda_n P_n^*+(1-\\lambda_n)U_M$; M={d.M}, N={d.N}"
             f"{' (slice: ' + fixed + ')' if fixed else ''}; {d.mode} {d.variant}{sampled}")
    if "theory_agreement" in d.notes:
        title += f"\nagreement with the derived boundary lam1+lam2+(M-2)lam1 lam2 > 0: {d.notes['theory_agreement']:.1%}"
    fig.suptitle(title, fontsize=9)
    for ax in axes.ravel():
        ax.set_xlabel(r"$\lambda_1$ (lam of step 1, mixture weight)")
        ax.set_ylabel(r"$\lambda_2$ (lam of step 2, mixture weight)")
        ax.axhline(0, color="k", ls="--", lw=0.7)
        ax.axvline(0, color="k", ls="--", lw=0.7)
        ax.set_xlim(e[0], e[-1])
        ax.set_ylim(e[0], e[-1])
        ax.grid(False)
    return save_figure(fig, path)

r"""The ``N = 2`` phase diagrams of experiment 3 over :math:`(\lambda_1, \lambda_2) \in [-1/(M-1), 1]^2`:
exact STaR by the closed form, the same on explicit matrices on a coarse grid, and finite-sample
STaR, each against the derived boundary :math:`s = \lambda_1 + \lambda_2 + (M-2)\lambda_1\lambda_2`
(optimum iff :math:`s > 0`; ``docs/theory.md``, fact 5)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from star_theory import boundary_agreement, phase_diagram, two_step_boundary
from star_theory.checks.pretrained import BOUNDARY_TOL

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .runner import Settings
    from experiments.framework import Context


def phase(s: Settings, ctx: Context) -> dict:
    """The three diagrams: ``{"exact": {M: ...}, "explicit": ..., "sampled": ...}``."""
    return {"exact": exact_phase(s), "explicit": explicit_phase(s), "sampled": sampled_phase(s, ctx)}


def exact_phase(s: Settings) -> dict:
    """Closed-form diagrams for each ``M`` of ``s.phase_M``, with their agreement with the boundary off the curve."""
    exact = {}
    for M in s.phase_M:
        d = phase_diagram(M, 2, points=s.phase_points, iterations=s.phase_iterations, target=s.target, progress=False)
        sv = two_step_boundary(M, d.values)
        exact[str(M)] = {
            "values": d.values,
            "outcome": d.outcome.tolist(),
            "iterations_to_target": d.iterations_to_target,
            "final_accuracy": d.final_accuracy,
            "counts": d.counts(),
            "boundary_agreement": boundary_agreement(d.outcome, sv),
            "points_off_curve": int((np.abs(sv) > BOUNDARY_TOL).sum()),
        }
    return exact


def explicit_phase(s: Settings) -> dict:
    """The same question on explicit matrices (independent path: forward/backward passes) beside its closed-form twin."""
    kw: dict[str, Any] = dict(points=s.explicit_points, iterations=s.explicit_iterations, target=s.target, progress=False)
    ex = phase_diagram(s.explicit_M, 2, use_closed_form=False, **kw)
    cf = phase_diagram(s.explicit_M, 2, **kw)
    return {
        "M": s.explicit_M, "values": ex.values, "outcome_explicit": ex.outcome.tolist(),
        "outcome_closed_form": cf.outcome.tolist(),
        "optimum_agreement": float(np.mean((ex.outcome == "optimum") == (cf.outcome == "optimum"))),
        "counts_explicit": ex.counts(), "counts_closed_form": cf.counts(),
    }


def sampled_phase(s: Settings, ctx: Context) -> dict:
    """Finite-sample STaR on the grid (``sampled_seeds`` runs a point) against its exact twin, above and below the boundary."""
    seeds = [ctx.child_seed("phase", i) for i in range(s.sampled_seeds)]
    sp = phase_diagram(s.sampled_M, 2, points=s.sampled_points, iterations=s.sampled_iterations, target=s.target,
                       mode="sampled", chains_per_question=s.sampled_K, seeds=seeds, progress=False)
    twin = phase_diagram(s.sampled_M, 2, values=sp.values, iterations=s.sampled_iterations, target=s.target)
    sv = two_step_boundary(s.sampled_M, sp.values)
    above, below = sv > BOUNDARY_TOL, sv < -BOUNDARY_TOL
    frac = np.asarray(sp.optimum_fraction, dtype=float)
    escaped = below & (frac >= 0.5)
    return {
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

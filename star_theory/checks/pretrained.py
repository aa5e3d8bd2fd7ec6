r"""Pretrained quality: which initial ``lam`` vectors of the symmetric family STaR takes to the
optimum, which get stuck at a fixed point below it, and the derived ``N = 2`` boundary.

* :func:`classify_symmetric` labels many initial vectors at once by the closed form;
  :func:`classify_pretrained` one vector, by the closed form or any update rule on explicit matrices;
* :func:`two_step_boundary` is the derived boundary
  :math:`s = \lambda_1 + \lambda_2 + (M-2)\lambda_1\lambda_2` (optimum iff :math:`s > 0`) on a
  grid (:func:`two_step_boundary_curve`: its curve ``s = 0``, as figures draw it),
  :func:`boundary_agreement` compares labels with it, :func:`pretrained_boundary` does both
  for the closed form;
* :func:`fixed_point_condition` says exactly where the closed-form update leaves ``lam`` unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ..closed_form import symmetric_trajectory
from ..errors import InputError
from ..family_params import family_params
from ..model import resolve_lam, symmetric_policy, symmetric_task, validate_lam
from ..validation import MAX_STATES, as_float_array, as_int, as_nonnegative_float, is_bool
from .common import IMPROVEMENT_TOL, OPTIMUM_TOL, Step, check_iterations, kernel_change, run_trajectory

PRETRAINED_LABELS = ("optimum", "stuck", "other")

BOUNDARY_TOL = 1e-9
r"""Grid points with :math:`|s| \le` this lie on the ``N = 2`` boundary curve: there the fixed point
``lam = 0`` is repelling and round-off decides, so they are left out of every agreement."""


@dataclass(frozen=True)
class PretrainedQuality:
    """Where STaR goes from one initial policy.

    ``label``: ``optimum`` (:math:`1 - J^T \\le` ``OPTIMUM_TOL``), ``stuck`` (a fixed point below
    the optimum: the last iteration moved nothing by more than ``fixed_tol``), ``other`` (neither
    within ``iterations``: still moving). ``lam_monotone``: no fitted ``lam_n`` ever decreased.
    """

    label: str
    initial_lam: np.ndarray | None
    final_lam: np.ndarray | None
    initial_accuracy: float
    final_accuracy: float
    iterations: int
    lam_monotone: bool | None
    accuracy_monotone: bool


def _label(err_last: np.ndarray, moved: np.ndarray, fixed_tol: float) -> np.ndarray:
    """``optimum`` where ``1 - J`` is at most ``OPTIMUM_TOL``, else ``stuck`` where the last step moved at most ``fixed_tol``, else ``other``."""
    return np.where(err_last <= OPTIMUM_TOL, "optimum", np.where(moved <= fixed_tol, "stuck", "other"))


def classify_symmetric(M: ArrayLike, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None, iterations: int = 200, fixed_tol: float = 1e-12) -> np.ndarray:
    """Labels (``optimum``/``stuck``/``other``) of many initial vectors at once (closed form).

    ``lam``/``eps`` of shape ``(..., N)``; returns a string array of shape ``(...)``.
    """
    fixed_tol = as_nonnegative_float(fixed_tol, "fixed_tol")
    tr = symmetric_trajectory(M, check_iterations(iterations), lam=lam, eps=eps)
    moved = np.max(np.abs(tr.lam[-1] - tr.lam[-2]), axis=-1)
    return _label(tr.error_rate[-1], moved, fixed_tol)


def _closed_form_run(M, lam0: np.ndarray, T: int):
    """``(lam_t, J_t, moved, 1 - J_T)`` of ``T`` closed-form iterations; ``moved``: the last step's largest change of ``lam``."""
    tr = symmetric_trajectory(M, T, lam=lam0)
    moved = float(np.max(np.abs(tr.lam[-1] - tr.lam[-2])))
    return tr.lam, tr.accuracy, moved, float(tr.error_rate[-1])


def _explicit_run(M: int, lam0: np.ndarray, T: int, step: Step):
    """The same from ``T`` steps of ``step`` on explicit matrices (``lam`` fitted back); ``moved`` of a kernel entry."""
    task = symmetric_task(M, lam0.size)
    policies, J, lam_t = run_trajectory(symmetric_policy(task, lam=lam0), task, T, step)
    return lam_t, J, kernel_change(policies[-1], policies[-2]), float(1.0 - J[-1])


def classify_pretrained(
    M: int,
    *,
    lam: ArrayLike | None = None,
    eps: ArrayLike | None = None,
    N: int | None = None,
    iterations: int = 200,
    step: Step | None = None,
    fixed_tol: float = 1e-12,
) -> PretrainedQuality:
    r"""Classify one initial vector of the symmetric family.

    With ``step=None`` the closed form is iterated (any ``M``); with a ``step`` callable the
    explicit matrices of :func:`symmetric_task`/:func:`symmetric_policy` are iterated and
    ``lam`` is fitted back (small ``M``). Caveat: with two or more steps at (or driven to)
    :math:`\lambda_n = -1/(M-1)` the family is invariant but unstable, and round-off in the
    explicit matrices grows into policies outside it (wrong intermediate steps that cancel); the
    two ways then part after some tens of iterations (``docs/theory.md``).
    """
    given = lam if lam is not None else eps
    fixed_tol = as_nonnegative_float(fixed_tol, "fixed_tol")
    if given is None:
        raise InputError("give exactly one of lam or eps")
    n = N if N is not None else int(np.atleast_1d(as_float_array(given, "lam" if lam is not None else "eps")).size)
    lam0 = resolve_lam(M, n, lam=lam, eps=eps)
    T = check_iterations(iterations)
    if step is None:
        lam_t, J, moved, err_last = _closed_form_run(M, lam0, T)
    else:
        lam_t, J, moved, err_last = _explicit_run(M, lam0, T, step)
    label = str(_label(np.asarray(err_last), np.asarray(moved), fixed_tol))
    return PretrainedQuality(
        label=label,
        initial_lam=lam0,
        final_lam=lam_t[-1],
        initial_accuracy=float(J[0]),
        final_accuracy=float(J[-1]),
        iterations=T,
        lam_monotone=bool(np.all(np.diff(lam_t, axis=0) >= -IMPROVEMENT_TOL)),
        accuracy_monotone=bool(np.all(np.diff(J) >= -IMPROVEMENT_TOL)),
    )


@dataclass(frozen=True)
class PretrainedGrid:
    """Labels of the two-step (``N = 2``) family over a grid ``values x values`` of ``(lam_1, lam_2)``.

    ``labels[i, j]`` is the label of ``(values[i], values[j])``; ``agreement`` is the share of grid
    points off the boundary curve (``|s| >`` ``BOUNDARY_TOL``) where ``labels == predicted``. ``predicted`` is the theory's
    label: after one iteration both steps equal
    :math:`\\lambda' = (\\lambda_1 + \\lambda_2 + (M-2)\\lambda_1\\lambda_2)/(1 + (M-1)\\lambda_1\\lambda_2)`,
    and the equal-step map has fixed points :math:`0, 1, -1/(M-1)` only, with 0 repelling; so the
    optimum is reached iff :math:`\\lambda_1 + \\lambda_2 + (M-2)\\lambda_1\\lambda_2 > 0` and it is
    stuck otherwise (at ``lam = 0``, ``J = 1/M``, on the boundary curve; at ``lam = -1/(M-1)`` below it).
    """

    M: int
    values: np.ndarray
    labels: np.ndarray
    predicted: np.ndarray
    agreement: float
    iterations: int


def two_step_boundary(M: int, values: ArrayLike) -> np.ndarray:
    r"""The derived ``N = 2`` boundary on the grid ``values x values``: ``s[i, j]`` is
    :math:`s = \lambda_1 + \lambda_2 + (M-2)\lambda_1\lambda_2` at
    :math:`(\lambda_1, \lambda_2) = (` ``values[i], values[j]`` :math:`)`; shape ``(n, n)``.

    STaR from that vector reaches the optimum iff :math:`s > 0` and is stuck iff :math:`s < 0`
    (see :class:`PretrainedGrid`); the curve :math:`s = 0` is
    :math:`\lambda_2 = -\lambda_1/(1 + (M-2)\lambda_1)`.
    """
    M = as_int(M, "M (states per level)", 2)
    values = validate_lam(values, M)
    if values.ndim != 1:
        raise InputError(f"values must be a 1-d grid of lam values, got shape {values.shape}")
    l1, l2 = np.meshgrid(values, values, indexing="ij")
    return l1 + l2 + (M - 2) * l1 * l2


def two_step_boundary_curve(M: int, lam1) -> np.ndarray:
    r"""The curve :math:`s = 0` of :func:`two_step_boundary` as :math:`\lambda_2` of :math:`\lambda_1`:
    :math:`\lambda_2 = -\lambda_1/(1 + (M-2)\lambda_1)`, same shape as ``lam1``; NaN where the
    denominator vanishes (the curve's pole at :math:`\lambda_1 = -1/(M-2)`) or the point leaves the
    lam range :math:`[-1/(M-1), 1]`."""
    M = as_int(M, "M (states per level)", 2)
    l1 = as_float_array(lam1, "lam1")
    den = 1.0 + (M - 2) * l1
    with np.errstate(divide="ignore", invalid="ignore"):
        l2 = np.where(np.abs(den) > 1e-9, -l1 / np.where(np.abs(den) > 1e-9, den, 1.0), np.nan)
    lo = -1.0 / (M - 1)
    return np.where((l2 >= lo - 1e-12) & (l2 <= 1.0 + 1e-12), l2, np.nan)


def boundary_agreement(labels: ArrayLike, s: ArrayLike) -> float:
    """Share of the grid points off the boundary curve (``|s| >`` ``BOUNDARY_TOL``) whose label is the
    derived one (``optimum`` where ``s > 0``, ``stuck`` where ``s < 0``); ``s`` from :func:`two_step_boundary`."""
    s = as_float_array(s, "s")
    labels = np.asarray(labels)
    if labels.shape != s.shape or labels.dtype.kind not in "UO" or is_bool(labels):
        raise InputError(f"labels must be label strings of the shape of s {s.shape}, got {labels.dtype} {labels.shape}")
    if not np.any(np.abs(s) > BOUNDARY_TOL):
        raise InputError("every grid point lies on the boundary curve (|s| <= BOUNDARY_TOL): no label to compare")
    predicted = np.where(s > 0, "optimum", "stuck")
    off_curve = np.abs(s) > BOUNDARY_TOL
    return float(np.mean((labels == predicted)[off_curve]))


def pretrained_boundary(M: int, values: ArrayLike | None = None, iterations: int = 400) -> PretrainedGrid:
    """Classify the ``N = 2`` grid and compare with the derived boundary (see :class:`PretrainedGrid`)."""
    M = as_int(M, "M (states per level)", 2, MAX_STATES)
    values = np.linspace(-1.0 / (M - 1), 1.0, 41) if values is None else validate_lam(values, M)
    s = two_step_boundary(M, values)
    l1, l2 = np.meshgrid(values, values, indexing="ij")
    labels = classify_symmetric(M, lam=np.stack([l1, l2], axis=-1), iterations=iterations)
    return PretrainedGrid(
        M=M,
        values=values,
        labels=labels,
        predicted=np.where(s > 0, "optimum", "stuck"),
        agreement=boundary_agreement(labels, s),
        iterations=int(iterations),
    )


def fixed_point_condition(M: ArrayLike, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> np.ndarray:
    r"""True where the closed-form update leaves every ``lam_n`` unchanged (shape ``(...)``).

    From :math:`\lambda_n' - \lambda_n = \Lambda_{-n}(1 - \lambda_n)(1 + (M-1)\lambda_n)/(1 + (M-1)\Lambda)`:
    a fixed point has, for every step, :math:`\lambda_n = 1`, :math:`\lambda_n = -1/(M-1)`
    (the correct step is never taken) or :math:`\Lambda_{-n} = 0` (two or more zero steps);
    or :math:`J = 0`. Evaluated exactly on the given values (no iteration).
    """
    p = family_params(M, lam, eps)  # the same input check as the closed forms
    lamv, m = p.lam, p.M
    N = lamv.shape[-1]
    zeros = np.sum(lamv == 0, axis=-1)
    others_zero = (zeros[..., None] - (lamv == 0)) > 0
    at_bound = (lamv == 1.0) | np.isclose(lamv, -1.0 / (m - 1.0), rtol=0, atol=1e-15)
    dead = np.isclose(1.0 + (m[..., 0] - 1.0) * np.prod(lamv, axis=-1), 0.0, atol=1e-15)
    if N == 1:
        others_zero = np.zeros_like(others_zero)
    return np.all(at_bound | others_zero, axis=-1) | dead

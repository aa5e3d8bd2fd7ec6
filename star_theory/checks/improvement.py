r"""The improvement and convergence claims, from one policy under one update rule.

* improvement: :math:`J(P^{t+1}) \ge J(P^t)` and, on bijective tasks, every fitted
  :math:`\lambda_n` non-decreasing (:func:`check_improvement`);
* convergence: limit, observed contraction of :math:`1 - J`, iterations to a target accuracy,
  and whether the run ends at the optimum or at a fixed point below it (:func:`check_convergence`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..exact import accuracy, exact_star_step
from ..model import ReasoningTask, TabularPolicy
from ..validation import as_nonnegative_float, validate_target
from .common import IMPROVEMENT_TOL, OPTIMUM_TOL, Counterexample, Step, check_iterations, kernel_change, run_trajectory


@dataclass(frozen=True)
class ImprovementResult:
    r"""Per-iteration change of ``J`` (and of each fitted :math:`\lambda_n` on bijective tasks).

    ``accuracy`` ``(T+1,)``, ``accuracy_change`` ``(T,)``; ``lam`` ``(T+1, N)`` and ``lam_change``
    ``(T, N)`` or None when the task is not bijective. ``holds`` = accuracy and lam claims both hold.
    """

    holds: bool
    accuracy_holds: bool
    lam_holds: bool | None
    accuracy: np.ndarray
    accuracy_change: np.ndarray
    lam: np.ndarray | None
    lam_change: np.ndarray | None
    counterexample: Counterexample | None
    tol: float


def check_improvement(
    policy: TabularPolicy,
    task: ReasoningTask,
    iterations: int = 10,
    step: Step = exact_star_step,
    tol: float = IMPROVEMENT_TOL,
) -> ImprovementResult:
    r"""Claim: :math:`J(P^{t+1}) \ge J(P^t)` and (bijective tasks) :math:`\lambda_n^{t+1} \ge \lambda_n^t`."""
    tol = as_nonnegative_float(tol, "tol")
    policies, J, lam = run_trajectory(policy, task, iterations, step)
    dJ = np.diff(J)
    acc_ok = bool(np.all(dJ >= -tol))
    counter = None
    if not acc_ok:
        t = int(np.flatnonzero(dJ < -tol)[0])
        counter = Counterexample("improvement", "accuracy", t, None, float(J[t]), float(J[t + 1]), task, policy)
    lam_ok, dlam = None, None
    if lam is not None:
        dlam = np.diff(lam, axis=0)
        lam_ok = bool(np.all(dlam >= -tol))
        if not lam_ok and counter is None:
            t, n = (int(i) for i in np.argwhere(dlam < -tol)[0])
            counter = Counterexample("improvement", "lam", t, n, float(lam[t, n]), float(lam[t + 1, n]), task, policy)
    return ImprovementResult(
        holds=acc_ok and lam_ok is not False,
        accuracy_holds=acc_ok,
        lam_holds=lam_ok,
        accuracy=J,
        accuracy_change=dJ,
        lam=lam,
        lam_change=dlam,
        counterexample=counter,
        tol=tol,
    )


@dataclass(frozen=True)
class ConvergenceResult:
    r"""Convergence of STaR from one policy.

    Over the first ``T = iterations`` steps: ``error`` is :math:`1 - J(P^t)` ``(T+1,)``;
    ``contraction`` the ratios :math:`(1-J^{t+1})/(1-J^t)` ``(T,)`` (NaN once the error is 0);
    ``rate`` the last finite contraction factor with :math:`1 - J^t > 10^{-12}` (a rate falling to
    0 means faster than linear convergence); ``iterations_to_target`` is None if the target is not
    reached within ``T``; ``limit_accuracy`` is :math:`J^T`; ``fixed_point`` = the step at ``T``
    changed no kernel entry by more than ``fixed_tol``.

    Then the iteration goes on (up to ``max_iterations`` steps in all) until it is decided:
    ``outcome`` is ``"optimum"`` (:math:`1 - J \le` ``OPTIMUM_TOL``), ``"local optimum"`` (a fixed
    point below the optimum: one step moved no kernel entry by more than ``fixed_tol`` while
    :math:`1 - J >` ``OPTIMUM_TOL``) or ``"moving"`` (neither within ``max_iterations``: slow, not
    a counterexample). ``stop_iteration`` / ``stop_accuracy`` say where and at which ``J`` it was
    decided. ``holds`` = ``outcome == "optimum"``; ``counterexample`` is set for a local optimum only.
    """

    holds: bool
    limit_accuracy: float
    limit_lam: np.ndarray | None
    error: np.ndarray
    contraction: np.ndarray
    rate: float
    monotone: bool
    fixed_point: bool
    target: float
    iterations_to_target: int | None
    counterexample: Counterexample | None
    outcome: str = "moving"
    stop_iteration: int = 0
    stop_accuracy: float = float("nan")


CONVERGENCE_OUTCOMES = ("optimum", "local optimum", "moving")


def _run_to_decision(policy: TabularPolicy, task: ReasoningTask, start: int, max_iterations: int,
                     step: Step, fixed_tol: float) -> tuple[str, int, float]:
    """Step from ``policy`` (iteration ``start``) until the optimum, a fixed point below it, or ``max_iterations``."""
    p, J = policy, accuracy(policy, task)
    for t in range(start, max_iterations):
        if 1.0 - J <= OPTIMUM_TOL:
            return "optimum", t, J
        q = step(p, task)
        moved = kernel_change(q, p)
        p, J = q, accuracy(q, task)
        if moved <= fixed_tol and 1.0 - J > OPTIMUM_TOL:
            return "local optimum", t + 1, J
    return ("optimum" if 1.0 - J <= OPTIMUM_TOL else "moving"), max_iterations, J


def check_convergence(
    policy: TabularPolicy,
    task: ReasoningTask,
    iterations: int = 50,
    target: float = 0.99,
    step: Step = exact_star_step,
    max_iterations: int = 10000,
    fixed_tol: float = 1e-12,
) -> ConvergenceResult:
    """Claim: STaR converges to the optimal policy (``J -> 1``); at what rate; when ``target`` is reached.

    A local optimum is reported only when a fixed point below the optimum is detected (see
    :class:`ConvergenceResult`), never because ``J`` is not yet 1 after ``iterations`` steps.
    """
    target = validate_target(target)
    policies, J, lam = run_trajectory(policy, task, iterations, step)
    max_iterations = max(check_iterations(max_iterations), len(J) - 1)
    if not (isinstance(fixed_tol, (int, float)) and 0 <= fixed_tol < 1):
        raise InputError(f"fixed_tol must be a number in [0, 1), got {fixed_tol!r}")
    err = np.clip(1.0 - J, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err[:-1] > 0, err[1:] / np.where(err[:-1] > 0, err[:-1], 1.0), np.nan)
    usable = np.flatnonzero(np.isfinite(ratio) & (err[:-1] > 1e-12))
    rate = float(ratio[usable[-1]]) if usable.size else float("nan")
    reached = np.flatnonzero(J >= target)
    fixed = kernel_change(policies[-1], policies[-2]) <= fixed_tol
    optimum = np.flatnonzero(err <= OPTIMUM_TOL)
    stuck = [t for t in range(1, len(J)) if err[t] > OPTIMUM_TOL
             and kernel_change(policies[t], policies[t - 1]) <= fixed_tol]
    if optimum.size and (not stuck or optimum[0] < stuck[0]):
        outcome, stop, J_stop = "optimum", int(optimum[0]), float(J[optimum[0]])
    elif stuck:
        outcome, stop, J_stop = "local optimum", stuck[0], float(J[stuck[0]])
    else:
        outcome, stop, J_stop = _run_to_decision(policies[-1], task, len(J) - 1, max_iterations, step, fixed_tol)
    counter = None
    if outcome == "local optimum":
        counter = Counterexample("convergence", "accuracy", stop, None, float(J[0]), float(J_stop), task, policy)
    return ConvergenceResult(
        holds=outcome == "optimum",
        limit_accuracy=float(J[-1]),
        limit_lam=None if lam is None else lam[-1],
        error=err,
        contraction=ratio,
        rate=rate,
        monotone=bool(np.all(np.diff(J) >= -IMPROVEMENT_TOL)),
        fixed_point=bool(fixed),
        target=target,
        iterations_to_target=int(reached[0]) if reached.size else None,
        counterexample=counter,
        outcome=outcome,
        stop_iteration=int(stop),
        stop_accuracy=float(J_stop),
    )

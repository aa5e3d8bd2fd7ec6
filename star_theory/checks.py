r"""The analysis's claims as computations: one function per claim, returning frozen dataclasses.

Every check runs an update rule ``step(policy, task) -> policy`` (default: the exact operator
:func:`~star_theory.exact.exact_star_step`; also a :class:`~star_theory.sim.variants.StarVariant`, a
plug-in :class:`~star_theory.rules.Rule` or a rule name, see :func:`star_theory.rules.as_rule`) on any
:class:`~star_theory.model.ReasoningTask` / :class:`~star_theory.model.TabularPolicy`, and
reports what holds, what fails, and the first counterexample. Nothing here prints.

Claims (``docs/theory.md`` has the derivations):

* improvement: :math:`J(P^{t+1}) \ge J(P^t)` and, on bijective tasks, every fitted
  :math:`\lambda_n` non-decreasing. For the exact operator the first part is a theorem for *every*
  tabular task (the operator is an EM step for the likelihood of ``r = 1``); the second holds in
  the symmetric family iff :math:`\Lambda_{-n} \ge 0` (it fails with negative entries).
* convergence: limit, observed contraction of :math:`1 - J`, iterations to a target accuracy.
* robustness: the flawed-chain share per iteration while ``J`` still improves.
* pretrained quality: which initial ``lam`` vectors reach the optimum, get stuck, or neither.
* the improvement/convergence checks over seeded random general tabular tasks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .closed_form import symmetric_trajectory
from .errors import InputError
from .exact import accuracy, diagnostics, exact_star_step
from .rules import star_trajectory
from .model import ReasoningTask, TabularPolicy, fit_symmetric, resolve_lam, symmetric_policy, symmetric_task, validate_lam
from .validation import _as_int, as_nonnegative_float, validate_target

Step = Callable[[TabularPolicy, ReasoningTask], TabularPolicy]

IMPROVEMENT_TOL = 1e-12
"""A decrease smaller than this (float round-off) does not count as a failure."""

OPTIMUM_TOL = 1e-9
"""``1 - J`` at or below this counts as the optimum."""

PRETRAINED_LABELS = ("optimum", "stuck", "other")


@dataclass(frozen=True)
class Counterexample:
    """Where a claim fails: from ``P^iteration`` to ``P^(iteration+1)`` (``step`` 0-based, or None).

    ``before``/``after`` are the quantity (``accuracy`` or ``lam``) at the two iterations; for a
    convergence failure ``iteration`` is the last one and ``after`` the limit accuracy.
    ``task``/``policy`` (the initial policy) and ``seed`` reproduce it.
    """

    claim: str
    quantity: str
    iteration: int
    step: int | None
    before: float
    after: float
    task: ReasoningTask | None = field(default=None, repr=False)
    policy: TabularPolicy | None = field(default=None, repr=False)
    seed: int | None = None


def _check_iterations(iterations, minimum: int = 1) -> int:
    if isinstance(iterations, bool):
        raise InputError(f"iterations must be an integer, got {iterations!r}")
    return _as_int(iterations, "iterations", minimum)


def _run(policy: TabularPolicy, task: ReasoningTask, iterations: int, step: Step):
    policies = star_trajectory(policy, task, _check_iterations(iterations), step=step)
    J = np.array([accuracy(p, task) for p in policies])
    lam = None
    if task.is_bijective() and len(set(task.sizes)) == 1:
        lam = np.stack([fit_symmetric(p, task).lam for p in policies])
    return policies, J, lam


# ----------------------------------------------------------------------------- improvement


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
    policies, J, lam = _run(policy, task, iterations, step)
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


# ----------------------------------------------------------------------------- convergence


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


def _kernel_change(a: TabularPolicy, b: TabularPolicy) -> float:
    """Largest change of one kernel entry between two policies."""
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a.kernels, b.kernels))


def _run_to_decision(policy: TabularPolicy, task: ReasoningTask, start: int, max_iterations: int,
                     step: Step, fixed_tol: float) -> tuple[str, int, float]:
    """Step from ``policy`` (iteration ``start``) until the optimum, a fixed point below it, or ``max_iterations``."""
    p, J = policy, accuracy(policy, task)
    for t in range(start, max_iterations):
        if 1.0 - J <= OPTIMUM_TOL:
            return "optimum", t, J
        q = step(p, task)
        moved = _kernel_change(q, p)
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
    policies, J, lam = _run(policy, task, iterations, step)
    max_iterations = max(_check_iterations(max_iterations), len(J) - 1)
    if not (isinstance(fixed_tol, (int, float)) and 0 <= fixed_tol < 1):
        raise InputError(f"fixed_tol must be a number in [0, 1), got {fixed_tol!r}")
    err = np.clip(1.0 - J, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(err[:-1] > 0, err[1:] / np.where(err[:-1] > 0, err[:-1], 1.0), np.nan)
    usable = np.flatnonzero(np.isfinite(ratio) & (err[:-1] > 1e-12))
    rate = float(ratio[usable[-1]]) if usable.size else float("nan")
    reached = np.flatnonzero(J >= target)
    fixed = _kernel_change(policies[-1], policies[-2]) <= fixed_tol
    optimum = np.flatnonzero(err <= OPTIMUM_TOL)
    stuck = [t for t in range(1, len(J)) if err[t] > OPTIMUM_TOL
             and _kernel_change(policies[t], policies[t - 1]) <= fixed_tol]
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


# ----------------------------------------------------------------------------- robustness


@dataclass(frozen=True)
class RobustnessResult:
    """Flawed-chain share of the kept data per iteration, and whether ``J`` still improves.

    ``flawed_share`` ``(T+1,)``, ``flawed_distribution`` ``(T+1, N)`` (``[t, k]`` = share of kept
    chains with ``k`` wrong intermediate states), ``accuracy`` ``(T+1,)``. ``holds`` = accuracy
    never decreases although the kept data contain flawed chains (``max_flawed_share``).
    """

    holds: bool
    flawed_share: np.ndarray
    flawed_distribution: np.ndarray
    accuracy: np.ndarray
    max_flawed_share: float
    trained_on_flawed_chains: bool


def check_robustness(
    policy: TabularPolicy, task: ReasoningTask, iterations: int = 10, step: Step = exact_star_step
) -> RobustnessResult:
    """Claim: STaR improves although kept chains contain wrong intermediate steps."""
    policies = star_trajectory(policy, task, _check_iterations(iterations), step=step)
    diags = [diagnostics(p, task) for p in policies]
    J = np.array([d.accuracy for d in diags])
    share = np.array([d.flawed_share for d in diags])
    dist = np.stack([d.flawed_distribution for d in diags])
    improves = bool(np.all(np.diff(J) >= -IMPROVEMENT_TOL))
    max_share = float(np.nanmax(share)) if np.any(np.isfinite(share)) else float("nan")
    return RobustnessResult(
        holds=improves,
        flawed_share=share,
        flawed_distribution=dist,
        accuracy=J,
        max_flawed_share=max_share,
        trained_on_flawed_chains=bool(max_share > 0),
    )


# ----------------------------------------------------------------------------- pretrained quality


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
    return np.where(err_last <= OPTIMUM_TOL, "optimum", np.where(moved <= fixed_tol, "stuck", "other"))


def classify_symmetric(M, *, lam=None, eps=None, iterations: int = 200, fixed_tol: float = 1e-12) -> np.ndarray:
    """Labels (``optimum``/``stuck``/``other``) of many initial vectors at once (closed form).

    ``lam``/``eps`` of shape ``(..., N)``; returns a string array of shape ``(...)``.
    """
    tr = symmetric_trajectory(M, _check_iterations(iterations), lam=lam, eps=eps)
    moved = np.max(np.abs(tr.lam[-1] - tr.lam[-2]), axis=-1)
    return _label(tr.error_rate[-1], moved, fixed_tol)


def classify_pretrained(
    M: int,
    *,
    lam=None,
    eps=None,
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
    try:
        n = N if N is not None else int(np.atleast_1d(np.asarray(given, dtype=float)).size)
    except (TypeError, ValueError):
        raise InputError(f"{'lam' if lam is not None else 'eps'} must be numeric, got {given!r}") from None
    lam0 = resolve_lam(M, n, lam=lam, eps=eps)
    T = _check_iterations(iterations)
    if step is None:
        tr = symmetric_trajectory(M, T, lam=lam0)
        lam_t, J = tr.lam, tr.accuracy
        moved = float(np.max(np.abs(lam_t[-1] - lam_t[-2])))
        err_last = float(tr.error_rate[-1])
    else:
        task = symmetric_task(M, n)
        policies = star_trajectory(symmetric_policy(task, lam=lam0), task, T, step=step)
        lam_t = np.stack([fit_symmetric(p, task).lam for p in policies])
        J = np.array([accuracy(p, task) for p in policies])
        moved = max(float(np.max(np.abs(a - b))) for a, b in zip(policies[-1].kernels, policies[-2].kernels))
        err_last = float(1.0 - J[-1])
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
    points off the boundary curve (``|s| > 1e-9``) where ``labels == predicted``. ``predicted`` is the theory's
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


def pretrained_boundary(M: int, values=None, iterations: int = 400) -> PretrainedGrid:
    """Classify the ``N = 2`` grid and compare with the derived boundary (see :class:`PretrainedGrid`)."""
    M = _as_int(M, "M (states per level)", 2)
    lo = -1.0 / (M - 1)
    values = np.linspace(lo, 1.0, 41) if values is None else validate_lam(values, M)
    if values.ndim != 1:
        raise InputError(f"values must be a 1-d grid of lam values, got shape {values.shape}")
    l1, l2 = np.meshgrid(values, values, indexing="ij")
    grid = np.stack([l1, l2], axis=-1)
    labels = classify_symmetric(M, lam=grid, iterations=iterations)
    s = l1 + l2 + (M - 2) * l1 * l2
    predicted = np.where(s > 0, "optimum", "stuck")
    # on the curve itself (s = 0 up to round-off) the fixed point lam = 0 is repelling, so
    # round-off decides; those points are left out of the agreement
    off_curve = np.abs(s) > 1e-9
    return PretrainedGrid(
        M=M,
        values=values,
        labels=labels,
        predicted=predicted,
        agreement=float(np.mean((labels == predicted)[off_curve])),
        iterations=int(iterations),
    )


def fixed_point_condition(M, *, lam=None, eps=None) -> np.ndarray:
    r"""True where the closed-form update leaves every ``lam_n`` unchanged (shape ``(...)``).

    From :math:`\lambda_n' - \lambda_n = \Lambda_{-n}(1 - \lambda_n)(1 + (M-1)\lambda_n)/(1 + (M-1)\Lambda)`:
    a fixed point has, for every step, :math:`\lambda_n = 1`, :math:`\lambda_n = -1/(M-1)`
    (the correct step is never taken) or :math:`\Lambda_{-n} = 0` (two or more zero steps);
    or :math:`J = 0`. Evaluated exactly on the given values (no iteration).
    """
    from .closed_form import _params  # the same input validation as the closed forms

    p = _params(M, lam, eps)
    lamv, m = p.lam, p.M
    N = lamv.shape[-1]
    zeros = np.sum(lamv == 0, axis=-1)
    others_zero = (zeros[..., None] - (lamv == 0)) > 0
    at_bound = (lamv == 1.0) | np.isclose(lamv, -1.0 / (m - 1.0), rtol=0, atol=1e-15)
    dead = np.isclose(1.0 + (m[..., 0] - 1.0) * np.prod(lamv, axis=-1), 0.0, atol=1e-15)
    if N == 1:
        others_zero = np.zeros_like(others_zero)
    return np.all(at_bound | others_zero, axis=-1) | dead


# ----------------------------------------------------------------------------- general tasks


def random_tabular_case(seed: int, max_states: int = 4, max_steps: int = 3, concentration: float = 0.5):
    """A seeded random task (non-bijective maps, random level sizes and questions) and policy.

    Kernels have Dirichlet(``concentration``) rows, so they are strictly positive.
    """
    rng = np.random.default_rng(_as_int(seed, "seed", 0))
    N = int(rng.integers(1, max_steps + 1))
    sizes = rng.integers(2, max_states + 1, N + 1)
    maps = [rng.integers(0, sizes[n + 1], sizes[n]) for n in range(N)]
    task = ReasoningTask(maps, question_dist=rng.dirichlet(np.ones(sizes[0])), final_size=int(sizes[-1]))
    kernels = [rng.dirichlet(np.full(sizes[n + 1], concentration), size=sizes[n]) for n in range(N)]
    return task, TabularPolicy(kernels)


@dataclass(frozen=True)
class GeneralCheckResult:
    """A claim over ``n_cases`` seeded random tabular tasks (case ``i`` uses seed ``seed + i``).

    ``counterexample`` is the first failing case (its task, initial policy, seed and iteration).
    For convergence a failure is a local optimum (a detected fixed point below the optimum);
    ``n_undecided`` counts the cases still moving after ``check_convergence``'s ``max_iterations``
    (``holds`` needs none of either); ``slow`` lists ``(seed, iteration)`` of the cases that reach
    the optimum only after ``iterations``.
    """

    claim: str
    holds: bool
    n_cases: int
    n_failures: int
    seed: int
    iterations: int
    worst: float
    counterexample: Counterexample | None
    n_undecided: int = 0
    slow: tuple[tuple[int, int], ...] = ()


def check_general(
    claim: str = "improvement",
    n_cases: int = 200,
    seed: int = 0,
    iterations: int = 30,
    step: Step = exact_star_step,
    target: float = 0.99,
    max_states: int = 4,
    max_steps: int = 3,
) -> GeneralCheckResult:
    """Run ``check_improvement`` or ``check_convergence`` on random general tabular tasks.

    ``worst`` is the most negative accuracy change (improvement) or the lowest limit accuracy
    (convergence) over all cases.
    """
    if claim not in ("improvement", "convergence"):
        raise InputError(f"claim must be 'improvement' or 'convergence', got {claim!r}")
    n_cases = _as_int(n_cases, "n_cases", 1)
    seed = _as_int(seed, "seed", 0)
    failures, undecided, first, worst, slow = 0, 0, None, np.inf, []
    for i in range(n_cases):
        task, policy = random_tabular_case(seed + i, max_states, max_steps)
        if claim == "improvement":
            r = check_improvement(policy, task, iterations, step)
            worst = min(worst, float(np.min(r.accuracy_change)))
            failed = not r.accuracy_holds
        else:
            r = check_convergence(policy, task, iterations, target, step)
            worst = min(worst, r.stop_accuracy)
            failed = r.outcome == "local optimum"
            undecided += r.outcome == "moving"
            if r.outcome == "optimum" and r.stop_iteration > iterations:
                slow.append((seed + i, r.stop_iteration))
        if failed:
            failures += 1
            if first is None:
                c = r.counterexample
                first = Counterexample(c.claim, c.quantity, c.iteration, c.step, c.before, c.after, task, policy, seed + i)
    return GeneralCheckResult(claim, failures == 0 and undecided == 0, n_cases, failures, seed, int(iterations), worst,
                              first, undecided, tuple(slow))


# ----------------------------------------------------------------------------- default report


@dataclass(frozen=True)
class CheckRow:
    """One line of the report: a claim on a setting, whether it holds, and where it fails.

    ``must_hold`` marks a theorem (derived in ``docs/theory.md``): a failure is a bug. Other rows
    are the analysis's claims tested outside the range where they are proved: a failure there is
    a finding, reported with its counterexample.
    """

    claim: str
    setting: str
    holds: bool
    must_hold: bool
    detail: str


@dataclass(frozen=True)
class CheckReport:
    rows: tuple[CheckRow, ...]
    seed: int

    @property
    def n_failures(self) -> int:
        return sum(not r.holds for r in self.rows)

    @property
    def theorems_hold(self) -> bool:
        """True when every ``must_hold`` row holds."""
        return all(r.holds for r in self.rows if r.must_hold)


DEFAULT_GRID_M = (2, 4, 16, 64)
DEFAULT_GRID_N = (1, 2, 3, 5)
DEFAULT_GRID_LAM = (0.05, 0.2, 0.5, 0.9)


def _fmt(x) -> str:
    return str(np.round(np.asarray(x, dtype=float), 4).tolist())


def _symmetric_rows(M: int, N: int, rng: np.random.Generator, iterations: int) -> list[CheckRow]:
    from .closed_form import iterations_to_accuracy, symmetric_accuracy, symmetric_star_update

    task = symmetric_task(M, N, seed=int(rng.integers(2**31)))
    setting = f"symmetric M={M} N={N}"
    positive = [np.full(N, l) for l in DEFAULT_GRID_LAM] + [rng.uniform(0.0, 1.0, N) for _ in range(2)]
    negative = []
    if N >= 2:
        for _ in range(2):
            v = rng.uniform(0.0, 1.0, N)
            v[int(rng.integers(N))] = -rng.uniform(0.1, 1.0) / (M - 1)
            negative.append(v)
    rows = []
    cf_err, acc_fail, lam_fail, share_max, sign_fail, to_target = 0.0, [], [], 0.0, [], []
    for lam in positive + negative:
        policy = symmetric_policy(task, lam=lam)
        imp = check_improvement(policy, task, iterations=5)
        if not imp.accuracy_holds:
            acc_fail.append(lam)
        if any(lam is v for v in positive) and imp.lam_holds is False:
            lam_fail.append((lam, imp.counterexample))
        nxt = exact_star_step(policy, task)
        lam_next = fit_symmetric(nxt, task).lam
        cf_err = max(
            cf_err,
            float(np.max(np.abs(lam_next - symmetric_star_update(M, lam=lam)))),
            abs(accuracy(policy, task) - float(symmetric_accuracy(M, lam=lam))),
        )
        # derived sign rule: lam_n' < lam_n  iff  Lambda_-n < 0 (for -1/(M-1) < lam_n < 1, J > 0)
        others = np.array([np.prod(np.delete(lam, n)) for n in range(N)])
        predicted_down = others < 0
        observed_down = lam_next < lam - IMPROVEMENT_TOL
        if not np.array_equal(predicted_down, observed_down):
            sign_fail.append(lam)
        share_max = max(share_max, check_robustness(policy, task, iterations=2).max_flawed_share)
    for lam in positive:
        to_target.append(float(iterations_to_accuracy(M, 0.99, lam=lam, max_iterations=20000)))
    rows.append(CheckRow("closed form = exact operator", setting, cf_err <= 1e-12, True, f"max |diff| {cf_err:.1e}"))
    n_vec = len(positive) + len(negative)
    rows.append(
        CheckRow("improvement of J", setting, not acc_fail, True, f"{len(acc_fail)} of {n_vec} lam vectors fail (incl. negative entries)")
    )
    detail = f"{len(lam_fail)} of {len(positive)} non-negative lam vectors fail"
    if lam_fail:
        lam, c = lam_fail[0]
        detail += f"; first: lam0={_fmt(lam)}, iteration {c.iteration}, step {c.step + 1}: {c.before:.4g} -> {c.after:.4g}"
    rows.append(CheckRow("improvement of every lam_n (lam >= 0)", setting, not lam_fail, True, detail))
    if negative:
        lam = negative[0]
        nxt = fit_symmetric(exact_star_step(symmetric_policy(task, lam=lam), task), task).lam
        down = np.flatnonzero(nxt < lam - IMPROVEMENT_TOL)
        detail = f"{len(sign_fail)} of {n_vec} vectors disagree; e.g. lam0={_fmt(lam)} -> {_fmt(nxt)} (steps {(down + 1).tolist()} decrease)"
        rows.append(CheckRow("lam_n decreases iff Lambda_-n < 0", setting, not sign_fail, True, detail))
    finite = [t for t in to_target if np.isfinite(t)]
    rows.append(
        CheckRow(
            "convergence to optimum (lam > 0)",
            setting,
            len(finite) == len(to_target),
            True,
            f"J >= 0.99 after {int(min(finite)) if finite else '-'}..{int(max(finite)) if finite else '-'} iterations "
            f"({len(finite)} of {len(to_target)} vectors within 20000)",
        )
    )
    rows.append(
        CheckRow(
            "robustness (J improves on flawed data)",
            setting,
            not acc_fail and (N == 1 or share_max > 0),
            True,
            f"max flawed share of kept chains {share_max:.3f}",
        )
    )
    if N >= 2:
        two = np.full(N, 0.5)
        two[:2] = 0.0
        pol = symmetric_policy(task, lam=two)
        same = max(float(np.max(np.abs(a - b))) for a, b in zip(exact_star_step(pol, task).kernels, pol.kernels))
        rows.append(CheckRow("two zero steps: fixed point", setting, same <= 1e-12, True, f"lam0={_fmt(two)}, max change {same:.1e}"))
        one = np.linspace(0.3, 0.9, N)
        one[0] = 0.0
        lifted = fit_symmetric(exact_star_step(symmetric_policy(task, lam=one), task), task).lam
        expected = one.copy()
        expected[0] = np.prod(one[1:])
        err = float(np.max(np.abs(lifted - expected)))
        rows.append(
            CheckRow(
                "one zero step: lifted to Lambda_-n, others fixed",
                setting,
                err <= 1e-12,
                True,
                f"lam0={_fmt(one)} -> {_fmt(lifted)}",
            )
        )
    return rows


def run_default_checks(seed: int = 0, n_cases: int = 150, iterations: int = 30) -> CheckReport:
    """Every claim over a default grid of the symmetric family (explicit matrices, exact operator,
    closed forms for long runs) and over ``n_cases`` random general tabular tasks (``seed``).
    Used by ``rlstar check``."""
    seed = _as_int(seed, "seed", 0)
    rows: list[CheckRow] = []
    rng = np.random.default_rng(seed)
    for M in DEFAULT_GRID_M:
        for N in DEFAULT_GRID_N:
            rows += _symmetric_rows(M, N, rng, iterations)
    for M in (4, 64):
        for zeros in (1, 2):
            lam = np.full(3, 0.3)
            lam[:zeros] = 0.0
            q = classify_pretrained(M, lam=lam)
            expected = "optimum" if zeros == 1 else "stuck"
            rows.append(
                CheckRow(
                    "pretrained quality",
                    f"M={M} lam0={lam.tolist()}",
                    q.label == expected,
                    True,
                    f"{q.label} (expected {expected}), final J={q.final_accuracy:.4g}",
                )
            )
        grid = pretrained_boundary(M, iterations=300)
        counts = {k: int(np.sum(grid.labels == k)) for k in PRETRAINED_LABELS}
        rows.append(
            CheckRow(
                "pretrained boundary (N=2)",
                f"M={M}, 41x41 grid of lam in [-1/(M-1), 1]",
                grid.agreement == 1.0,
                True,
                f"agreement with 'optimum iff lam1+lam2+(M-2)lam1*lam2 > 0': {grid.agreement:.3f}; {counts}",
            )
        )
    for claim in ("improvement", "convergence"):
        g = check_general(claim, n_cases=n_cases, seed=seed, iterations=iterations if claim == "convergence" else 10)
        detail = f"{g.n_failures} of {g.n_cases} tasks fail"
        if claim == "improvement":
            detail += f"; most negative change of J {g.worst:.1e}"
        else:
            detail = (f"{g.n_failures} of {g.n_cases} tasks stop at a fixed point below the optimum (a step moves no kernel "
                      f"entry by more than 1e-12 while 1 - J > 1e-9), {g.n_undecided} still moving; lowest limit J "
                      f"{g.worst:.4g}; {len(g.slow)} reach the optimum only after {g.iterations} iterations "
                      f"(seed, iteration: {list(g.slow)})")
        if g.counterexample is not None:
            c = g.counterexample
            detail += f"; first: case seed {c.seed}, {c.task!r}, J {c.before:.4g} -> {c.after:.4g} after {c.iteration} iterations"
        rows.append(
            CheckRow(
                f"{claim} (general tabular tasks)",
                f"{n_cases} random tasks, seed {seed}",
                g.holds,
                claim == "improvement",  # EM monotonicity is a theorem; convergence is not
                detail,
            )
        )
    return CheckReport(tuple(rows), seed)

"""The default report of ``rlstar check``: every claim over a grid of the symmetric family and
over random general tabular tasks, as :class:`CheckRow` lines (:func:`run_default_checks`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..closed_form import iterations_to_accuracy, other_steps_product, symmetric_accuracy, symmetric_star_update
from ..exact import accuracy, exact_star_step
from ..model import ReasoningTask, fit_symmetric, mixture_policy, symmetric_policy, symmetric_task
from ..validation import as_int
from .common import IMPROVEMENT_TOL, kernel_change
from .general import check_general
from .improvement import ImprovementResult, check_convergence, check_improvement
from .pretrained import PRETRAINED_LABELS, classify_pretrained, pretrained_boundary
from .robustness import check_robustness


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
    """The rows of :func:`run_default_checks` and the seed they were drawn with."""

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
    """A vector rounded to 4 decimals, as a list."""
    return str(np.round(np.asarray(x, dtype=float), 4).tolist())


# ----------------------------------------------------------------------------- symmetric family


def _grid_vectors(M: int, N: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The initial ``lam`` vectors of one grid setting: non-negative ones (the grid values and two
    uniform draws), and for ``N >= 2`` two with one negative entry in ``[-1/(M-1), -0.1/(M-1)]``."""
    nonnegative = [np.full(N, l) for l in DEFAULT_GRID_LAM] + [rng.uniform(0.0, 1.0, N) for _ in range(2)]
    negative = []
    if N >= 2:
        for _ in range(2):
            v = rng.uniform(0.0, 1.0, N)
            v[int(rng.integers(N))] = -rng.uniform(0.1, 1.0) / (M - 1)
            negative.append(v)
    return nonnegative, negative


@dataclass(frozen=True)
class _VectorOutcome:
    r"""What the exact operator does from one initial vector ``lam`` on the explicit matrices.

    ``nonnegative``: ``lam`` is one of the grid's non-negative vectors (the lam claim is tested on
    those only). ``lam_next``: ``lam`` fitted after one step. ``closed_form_error``: largest
    difference of the closed forms (``lam'`` and ``J``) from the exact operator. ``sign_rule``: the
    steps that decrease are exactly those with :math:`\Lambda_{-n} < 0`. ``flawed_share``: the
    largest flawed-chain share of the kept data over two iterations.
    """

    lam: np.ndarray
    nonnegative: bool
    improvement: ImprovementResult  # 5 iterations
    lam_next: np.ndarray
    closed_form_error: float
    sign_rule: bool
    flawed_share: float


def _vector_outcome(M: int, task: ReasoningTask, lam: np.ndarray, nonnegative: bool) -> _VectorOutcome:
    """Run the exact operator from ``lam`` and compare with the closed forms and the sign rule."""
    policy = symmetric_policy(task, lam=lam)
    lam_next = fit_symmetric(exact_star_step(policy, task), task).lam
    closed_form_error = max(
        float(np.max(np.abs(lam_next - symmetric_star_update(M, lam=lam)))),
        abs(accuracy(policy, task) - float(symmetric_accuracy(M, lam=lam))),
    )
    # derived sign rule: lam_n' < lam_n  iff  Lambda_-n < 0 (for -1/(M-1) < lam_n < 1, J > 0)
    sign_rule = np.array_equal(other_steps_product(lam) < 0, lam_next < lam - IMPROVEMENT_TOL)
    return _VectorOutcome(
        lam=lam,
        nonnegative=nonnegative,
        improvement=check_improvement(policy, task, iterations=5),
        lam_next=lam_next,
        closed_form_error=closed_form_error,
        sign_rule=bool(sign_rule),
        flawed_share=check_robustness(policy, task, iterations=2).max_flawed_share,
    )


def _lam_row(outcomes: list[_VectorOutcome], setting: str) -> CheckRow:
    """Every fitted ``lam_n`` non-decreasing from the non-negative vectors, with the first failure."""
    tested = [o for o in outcomes if o.nonnegative]
    failed = [o for o in tested if o.improvement.lam_holds is False]
    detail = f"{len(failed)} of {len(tested)} non-negative lam vectors fail"
    if failed:
        c = failed[0].improvement.counterexample
        assert c is not None  # a failed claim carries its counterexample
        where = "J" if c.step is None else f"step {c.step + 1}"  # J fell first: its counterexample is J's
        detail += (f"; first: lam0={_fmt(failed[0].lam)}, iteration {c.iteration}, {where}: "
                   f"{c.before:.4g} -> {c.after:.4g}")
    return CheckRow("improvement of every lam_n (lam >= 0)", setting, not failed, True, detail)


def _sign_row(outcomes: list[_VectorOutcome], setting: str) -> CheckRow:
    """The sign rule over all vectors, shown on the first vector with a negative entry."""
    failed = [o for o in outcomes if not o.sign_rule]
    example = next(o for o in outcomes if not o.nonnegative)
    down = np.flatnonzero(example.lam_next < example.lam - IMPROVEMENT_TOL)
    detail = (f"{len(failed)} of {len(outcomes)} vectors disagree; e.g. lam0={_fmt(example.lam)} -> "
              f"{_fmt(example.lam_next)} (steps {(down + 1).tolist()} decrease)")
    return CheckRow("lam_n decreases iff Lambda_-n < 0", setting, not failed, True, detail)


def _convergence_row(M: int, outcomes: list[_VectorOutcome], setting: str) -> CheckRow:
    """Closed-form iterations to ``J >= 0.99`` from every non-negative vector (at most 20000)."""
    to_target = [float(iterations_to_accuracy(M, 0.99, lam=o.lam, max_iterations=20000))
                 for o in outcomes if o.nonnegative]
    finite = [t for t in to_target if np.isfinite(t)]
    span = f"{int(min(finite)) if finite else '-'}..{int(max(finite)) if finite else '-'}"
    return CheckRow("convergence to optimum (lam > 0)", setting, len(finite) == len(to_target), True,
                    f"J >= 0.99 after {span} iterations ({len(finite)} of {len(to_target)} vectors within 20000)")


def _zero_step_rows(task: ReasoningTask, N: int, setting: str) -> list[CheckRow]:
    r"""Two zero steps: a fixed point; one zero step: lifted to :math:`\Lambda_{-n}`, the others fixed."""
    two = np.full(N, 0.5)
    two[:2] = 0.0
    pol = symmetric_policy(task, lam=two)
    same = kernel_change(exact_star_step(pol, task), pol)
    one = np.linspace(0.3, 0.9, N)
    one[0] = 0.0
    lifted = fit_symmetric(exact_star_step(symmetric_policy(task, lam=one), task), task).lam
    expected = one.copy()
    expected[0] = other_steps_product(one)[0]
    err = float(np.max(np.abs(lifted - expected)))
    return [
        CheckRow("two zero steps: fixed point", setting, same <= 1e-12, True, f"lam0={_fmt(two)}, max change {same:.1e}"),
        CheckRow("one zero step: lifted to Lambda_-n, others fixed", setting, err <= 1e-12, True,
                 f"lam0={_fmt(one)} -> {_fmt(lifted)}"),
    ]


def _symmetric_rows(M: int, N: int, rng: np.random.Generator) -> list[CheckRow]:
    """The rows of one setting ``(M, N)`` of the grid (task and random vectors drawn from ``rng``)."""
    task = symmetric_task(M, N, seed=int(rng.integers(2**31)))
    setting = f"symmetric M={M} N={N}"
    nonnegative, negative = _grid_vectors(M, N, rng)
    outcomes = ([_vector_outcome(M, task, lam, True) for lam in nonnegative]
                + [_vector_outcome(M, task, lam, False) for lam in negative])
    cf_err, share_max = 0.0, 0.0
    for o in outcomes:
        cf_err = max(cf_err, o.closed_form_error)
        share_max = max(share_max, o.flawed_share)
    acc_fail = [o for o in outcomes if not o.improvement.accuracy_holds]
    rows = [
        CheckRow("closed form = exact operator", setting, cf_err <= 1e-12, True, f"max |diff| {cf_err:.1e}"),
        CheckRow("improvement of J", setting, not acc_fail, True,
                 f"{len(acc_fail)} of {len(outcomes)} lam vectors fail (incl. negative entries)"),
        _lam_row(outcomes, setting),
    ]
    if negative:
        rows.append(_sign_row(outcomes, setting))
    rows.append(_convergence_row(M, outcomes, setting))
    rows.append(CheckRow("robustness (J improves on flawed data)", setting, not acc_fail and (N == 1 or share_max > 0),
                         True, f"max flawed share of kept chains {share_max:.3f}"))
    if N >= 2:
        rows += _zero_step_rows(task, N, setting)
    return rows


# ----------------------------------------------------------------------------- pretrained quality and general tasks


def _pretrained_rows(M: int) -> list[CheckRow]:
    """One zero step reaches the optimum, two get stuck (``N = 3``); the ``N = 2`` grid against its boundary."""
    rows = []
    for zeros in (1, 2):
        lam = np.full(3, 0.3)
        lam[:zeros] = 0.0
        q = classify_pretrained(M, lam=lam)
        expected = "optimum" if zeros == 1 else "stuck"
        rows.append(CheckRow("pretrained quality", f"M={M} lam0={lam.tolist()}", q.label == expected, True,
                             f"{q.label} (expected {expected}), final J={q.final_accuracy:.4g}"))
    grid = pretrained_boundary(M, iterations=300)
    counts = {k: int(np.sum(grid.labels == k)) for k in PRETRAINED_LABELS}
    rows.append(CheckRow(
        "pretrained boundary (N=2)",
        f"M={M}, 41x41 grid of lam in [-1/(M-1), 1]",
        grid.agreement == 1.0,
        True,
        f"agreement with 'optimum iff lam1+lam2+(M-2)lam1*lam2 > 0': {grid.agreement:.3f}; {counts}",
    ))
    return rows


def _general_row(claim: str, n_cases: int, seed: int, iterations: int) -> CheckRow:
    """One claim over ``n_cases`` random general tabular tasks (EM monotonicity is a theorem; convergence is not)."""
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
    return CheckRow(f"{claim} (general tabular tasks)", f"{n_cases} random tasks, seed {seed}", g.holds,
                    claim == "improvement", detail)


def run_default_checks(seed: int = 0, n_cases: int = 150, iterations: int = 30) -> CheckReport:
    """Every claim over a default grid of the symmetric family (explicit matrices, exact operator,
    closed forms for long runs) and over ``n_cases`` random general tabular tasks (``seed``).
    Used by ``rlstar check``."""
    seed = as_int(seed, "seed", 0)
    rows: list[CheckRow] = []
    rng = np.random.default_rng(seed)
    for M in DEFAULT_GRID_M:
        for N in DEFAULT_GRID_N:
            rows += _symmetric_rows(M, N, rng)
    for M in (4, 64):
        rows += _pretrained_rows(M)
    for claim in ("improvement", "convergence"):
        rows.append(_general_row(claim, n_cases, seed, iterations))
    return CheckReport(tuple(rows), seed)


def task_rows(task: ReasoningTask, setting: str, iterations: int = 30, lams=DEFAULT_GRID_LAM) -> tuple[CheckRow, ...]:
    r"""The claims on one given task (``rlstar check --task NAME``), from the mixture policy
    :math:`P_n = \lambda P_n^* + (1-\lambda) U` at each ``lam``: improvement of ``J`` under exact
    STaR over ``iterations`` steps (EM monotonicity: a theorem on every task) and convergence to
    the optimum (proved for the symmetric family only: a failure is a finding)."""
    if not isinstance(task, ReasoningTask):
        raise TypeError(f"task must be a ReasoningTask, got {type(task).__name__}")
    rows = []
    for lam in lams:
        policy = mixture_policy(task, lam=lam)
        imp = check_improvement(policy, task, iterations)
        worst = float(imp.accuracy_change.min()) if imp.accuracy_change.size else 0.0
        rows.append(CheckRow("improvement (given task)", f"{setting}, lam={lam}", imp.accuracy_holds, True,
                             f"J {imp.accuracy[0]:.4g} -> {imp.accuracy[-1]:.4g} over {iterations} iterations; "
                             f"most negative change {min(worst, 0.0):.1e}"))
        conv = check_convergence(policy, task, iterations)
        rows.append(CheckRow("convergence (given task)", f"{setting}, lam={lam}", conv.holds, False,
                             f"{conv.outcome} at iteration {conv.stop_iteration}, J {conv.stop_accuracy:.4g}"))
    return tuple(rows)

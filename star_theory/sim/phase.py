r"""Pretrained-quality phase diagrams: where STaR goes from each initial ``lam`` vector.

A diagram covers a grid of :math:`(\lambda_1, \lambda_2)` over the whole admissible square
:math:`[-1/(M-1), 1]^2` (negative, zero and positive values) of the symmetric family with ``M``
states per level; for ``N = 3`` it is a *slice* with :math:`\lambda_3` (and beyond) fixed. The
convention is ``lam`` throughout (:math:`P_n = \lambda_n P_n^* + (1-\lambda_n) U_M`).

Each grid point gets

* an **outcome**, the theory core's label (:data:`star_theory.checks.PRETRAINED_LABELS`):
  ``optimum`` (:math:`1 - J^T \le` ``OPTIMUM_TOL``), ``stuck`` (a fixed point below the optimum:
  the last iteration moved no kernel entry), ``other`` (still moving after ``iterations``);
* the **iterations to reach a target accuracy** (NaN where it is not reached within
  ``iterations``), the final accuracy and the final fitted ``lam`` vector
  (:func:`star_theory.model.fit_symmetric`). ``optimum`` is about accuracy: a sampled run can
  reach :math:`J = 1` through consistently *wrong* intermediate steps (final ``lam`` far from 1).

Modes: ``exact`` (the variant's exact form; for ``star`` the vectorised closed form of
:mod:`star_theory.closed_form`, via :func:`star_theory.checks.classify_symmetric`; other
variants iterate explicit matrices through :func:`star_theory.checks.classify_pretrained`) and
``sampled`` (``K`` chains per question, one run per seed, explicit matrices; ``outcome`` is the
most frequent label over seeds and ``optimum_fraction`` the share of seeds that reach the
optimum; ``iterations_to_target`` is the median over the seeds that reach it).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ..checks import PRETRAINED_LABELS, classify_pretrained, classify_symmetric, pretrained_boundary
from ..closed_form import iterations_to_accuracy, symmetric_trajectory
from ..errors import InputError
from ..exact import accuracy
from ..model import lam_bounds, validate_lam
from ..rule_protocol import Rule, as_rule_object
from ..validation import MAX_ITERATIONS, MAX_STATES, MAX_STEPS, as_float_array, as_int, as_seeds, is_text, validate_target
from ..sampling import check_empty_rows
from .summary import first_reach
from ..variants import StarVariant

MODES = ("exact", "sampled")


@dataclass(frozen=True)
class PhaseDiagram:
    """A pretrained-quality diagram over ``(lam_1, lam_2)`` (``[i, j]`` = ``(values[i], values[j])``)."""

    M: int
    N: int
    values: np.ndarray
    fixed: tuple[float, ...]
    mode: str
    variant: str
    iterations: int
    target: float
    outcome: np.ndarray
    iterations_to_target: np.ndarray
    final_accuracy: np.ndarray
    final_lam: np.ndarray | None = None
    optimum_fraction: np.ndarray | None = None
    chains_per_question: int | None = None
    seeds: tuple[int, ...] | None = None
    convention: str = "lam"
    notes: dict = field(default_factory=dict)

    def counts(self) -> dict:
        """Grid points per outcome label."""
        return {lab: int(np.sum(self.outcome == lab)) for lab in PRETRAINED_LABELS}

    def to_json(self) -> dict:
        """A JSON-ready dict (NaN becomes ``null`` through :func:`star_theory.io.to_jsonable`)."""
        return {
            "kind": "rlstar-phase/1",
            "convention": self.convention,
            "axes": {"x": "lam_1 (step 1)", "y": "lam_2 (step 2)", "index": "outcome[i][j] is (lam_1=values[i], lam_2=values[j])"},
            "M": self.M,
            "N": self.N,
            "fixed": {f"lam_{n + 3}": v for n, v in enumerate(self.fixed)},
            "mode": self.mode,
            "variant": self.variant,
            "iterations": self.iterations,
            "target": self.target,
            "chains_per_question": self.chains_per_question,
            "seeds": list(self.seeds) if self.seeds is not None else None,
            "values": self.values,
            "outcome": self.outcome.tolist(),
            "counts": self.counts(),
            "iterations_to_target": self.iterations_to_target,
            "final_accuracy": self.final_accuracy,
            "final_lam": self.final_lam,
            "optimum_fraction": self.optimum_fraction,
            "labels": {
                "optimum": "1 - J <= 1e-9 after the last iteration",
                "stuck": "a fixed point below the optimum (the last iteration changed nothing)",
                "other": "neither: still moving after the last iteration",
            },
            "notes": self.notes,
        }


MAX_POINTS = 4097
"""Most grid points per axis (a grid of MAX_POINTS^2 cells)."""


def default_values(M: int, points: int) -> np.ndarray:
    """``points`` values over ``[-1/(M-1), 1]`` that include 0 (the two halves spaced separately)."""
    points = as_int(points, "points", 3)
    if points > MAX_POINTS:
        raise InputError(f"points must be <= {MAX_POINTS}, got {points}")
    lo, hi = lam_bounds(M)
    n_neg = max(1, int(round((points - 1) * (-lo) / (hi - lo))))
    neg = np.linspace(lo, 0.0, n_neg + 1)
    pos = np.linspace(0.0, hi, points - n_neg)
    return np.concatenate([neg, pos[1:]])


def _grid(values: np.ndarray, fixed: tuple[float, ...]) -> np.ndarray:
    l1, l2 = np.meshgrid(values, values, indexing="ij")
    parts = [l1, l2] + [np.full_like(l1, v) for v in fixed]
    return np.stack(parts, axis=-1)  # (n, n, N)


@dataclass(frozen=True)
class _Grid:
    """The validated inputs of one diagram."""

    M: int
    N: int
    values: np.ndarray
    fixed: tuple[float, ...]
    T: int
    target: float
    rule: Rule | StarVariant
    K: int | None
    seeds: tuple[int, ...]

    @property
    def points(self) -> np.ndarray:
        """Every grid point's ``lam`` vector, shape ``(n, n, N)``."""
        return _grid(self.values, self.fixed)


def phase_diagram(
    M: int = 8,
    N: int = 2,
    values: ArrayLike | None = None,
    fixed: ArrayLike = (),
    *,
    points: int = 41,
    iterations: int = 200,
    target: float = 0.99,
    mode: str = "exact",
    variant: StarVariant | str = "star",
    chains_per_question: int | None = None,
    seeds: Sequence[int] = (0,),
    empty_rows: str = "keep",
    alpha: float = 1.0,
    progress: bool | None = None,
    use_closed_form: bool = True,
) -> PhaseDiagram:
    r"""Outcome and iterations to ``target`` over a :math:`(\lambda_1, \lambda_2)` grid.

    ``values``: the grid on each axis (default :func:`default_values` with ``points``);
    ``fixed``: :math:`\lambda_3, \dots, \lambda_N` (``N - 2`` values: a slice of ``N = 3``).
    ``mode="sampled"`` needs ``chains_per_question``; ``variant`` is a built-in rule's name,
    a :class:`~star_theory.variants.StarVariant`, a :class:`~star_theory.rule_protocol.Rule` (a plug-in's
    from :func:`star_theory.rules.get_rule`) or a callable ``(policy, task) -> policy``
    (:func:`star_theory.rule_protocol.as_rule_object`; ``rationalize``'s
    exact form uses ``chains_per_question``; sampled mode needs the rule's sampled form).
    ``use_closed_form=False`` iterates explicit matrices even for ``star`` (slower; the two
    agree off the boundary).
    """
    g = _check_inputs(M, N, values, fixed, points, iterations, target, mode, variant, chains_per_question, seeds)
    check_empty_rows(empty_rows, alpha)
    for name, flag in (("progress", progress), ("use_closed_form", use_closed_form)):
        if not (flag is None and name == "progress") and not isinstance(flag, (bool, np.bool_)):
            raise InputError(f"{name} must be True or False, got {flag!r}")
    if mode == "exact" and g.rule.is_neutral and use_closed_form:
        return _closed_form_diagram(g)
    if mode == "exact":
        labels, its, final, final_lam = _iterate_grid(g, [None], "exact", empty_rows, alpha, progress)
        notes = {"method": f"explicit {g.M}x{g.M} matrices iterated with the variant's exact form (star_theory.checks.classify_pretrained)"}
        return PhaseDiagram(g.M, g.N, g.values, g.fixed, mode, g.rule.label(), g.T, g.target, labels[0].astype(str), its[0],
                            final[0], final_lam[0], chains_per_question=g.K, notes=notes)
    return _sampled_diagram(g, *_iterate_grid(g, list(g.seeds), "sampled", empty_rows, alpha, progress), empty_rows, alpha)


def _check_inputs(M, N, values, fixed, points, iterations, target, mode, variant, chains_per_question, seeds) -> _Grid:
    """Every argument of :func:`phase_diagram` checked, in the order the errors name them."""
    M = as_int(M, "M (states per level)", 2, MAX_STATES)
    N = as_int(N, "N (steps)", 2, MAX_STEPS)
    if not isinstance(mode, str) or mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if is_text(fixed):
        raise InputError(f"fixed must hold numbers (lam_3..lam_N), got {fixed!r}")
    fixed = tuple(float(v) for v in np.atleast_1d(as_float_array(fixed, "fixed (lam_3..lam_N)")).ravel()) \
        if np.ndim(fixed) <= 1 else None
    if fixed is None:
        raise InputError("fixed must be a 1-d sequence of numbers (lam_3..lam_N)")
    if len(fixed) != N - 2:
        raise InputError(f"fixed must hold N-2={N - 2} values (lam_3..lam_N), got {len(fixed)}")
    validate_lam(fixed, M)
    values = default_values(M, points) if values is None else validate_lam(as_float_array(values, "values"), M)
    if values.ndim != 1 or values.size < 2:
        raise InputError(f"values must be a 1-d grid of at least 2 lam values, got shape {values.shape}")
    T = as_int(iterations, "iterations", 1, MAX_ITERATIONS)
    target = validate_target(target)
    rule = as_rule_object(variant, "variant")
    K = None if chains_per_question is None else as_int(chains_per_question, "chains_per_question", 1)
    if mode == "sampled" and K is None:
        raise InputError("mode 'sampled' needs chains_per_question")
    if mode == "sampled" and not getattr(rule, "has_sampled_form", True):
        raise InputError(f"variant {rule.label()!r} has no sampled form; mode 'sampled' needs one")
    seeds = (as_int(seeds, "seed", 0),) if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool) \
        else as_seeds(seeds, "seeds", 0)
    if mode == "sampled" and not seeds:
        raise InputError("mode 'sampled' needs at least one seed")
    return _Grid(M, N, values, fixed, T, target, rule, K, seeds)


def _closed_form_diagram(g: _Grid) -> PhaseDiagram:
    """``star``'s exact diagram from the closed form of the symmetric family, vectorised over the grid."""
    grid = g.points
    outcome = classify_symmetric(g.M, lam=grid, iterations=g.T)
    its = iterations_to_accuracy(g.M, g.target, lam=grid, max_iterations=g.T)
    its = np.where(np.isinf(its), np.nan, its)
    tr = symmetric_trajectory(g.M, g.T, lam=grid)
    notes = {"method": "closed form of the symmetric family (star_theory.closed_form), vectorised over the grid"}
    if g.N == 2:
        pb = pretrained_boundary(g.M, g.values, iterations=g.T)
        notes["theory_boundary"] = "optimum iff lam_1 + lam_2 + (M-2) lam_1 lam_2 > 0 (star_theory.checks.pretrained_boundary)"
        notes["theory_agreement"] = pb.agreement
    return PhaseDiagram(g.M, g.N, g.values, g.fixed, "exact", g.rule.label(), g.T, g.target, outcome, its,
                        tr.accuracy[-1], tr.lam[-1], notes=notes)


def _iterate_grid(g: _Grid, runs: list, mode: str, empty_rows: str, alpha: float,
                  progress) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every grid point iterated with explicit matrices, once per run (``None``: the exact form; a
    seed: the sampled form). Returns ``(labels, iterations_to_target, final_accuracy, final_lam)``,
    each with a leading axis over runs."""
    grid, n = g.points, g.values.size
    labels = np.empty((len(runs), n, n), dtype=object)
    its = np.full((len(runs), n, n), np.nan)
    final = np.empty((len(runs), n, n))
    final_lam = np.empty((len(runs), n, n, g.N))
    from tqdm import tqdm  # the progress bar only: an optional, slow-to-import dependency

    bar = tqdm(total=len(runs) * n * n, desc=f"phase ({mode})", unit="pt", file=sys.stderr,
               disable=(None if progress is None else not progress), leave=False)
    try:
        for r, seed in enumerate(runs):
            rng = None if seed is None else np.random.default_rng(seed)
            for i in range(n):
                for j in range(n):
                    q, curve = _iterate_point(g, grid[i, j], rng, empty_rows, alpha)
                    labels[r, i, j], final[r, i, j], final_lam[r, i, j] = q.label, q.final_accuracy, q.final_lam
                    reached = first_reach(curve, g.target)
                    if reached is not None:
                        its[r, i, j] = reached
                    bar.update(1)
    finally:
        bar.close()
    return labels, its, final, final_lam


def _iterate_point(g: _Grid, lam: np.ndarray, rng, empty_rows: str, alpha: float):
    """One grid point classified (:func:`star_theory.checks.classify_pretrained`) with the rule's
    exact form (``rng`` None) or sampled form; returns the classification and the accuracy curve."""
    rule, K = g.rule, g.K
    acc_t: list[float] = []

    def step(policy, task):
        if rng is None:
            new = rule.exact_step(policy, task, K)
        else:
            assert K is not None  # sampled mode needs chains_per_question (_check_inputs)
            new = rule.sampled_step(policy, task, K, rng, empty_rows, alpha).policy
        acc_t.append(accuracy(new, task))
        return new

    q = classify_pretrained(g.M, lam=lam, N=g.N, iterations=g.T, step=step)
    return q, np.array([q.initial_accuracy] + acc_t)


def _sampled_diagram(g: _Grid, labels, its, final, final_lam, empty_rows: str, alpha: float) -> PhaseDiagram:
    """The sampled runs summarised over seeds: majority label, median iterations, mean finals."""
    # majority label over seeds (ties resolved in the order of PRETRAINED_LABELS)
    votes = np.stack([(labels == lab).sum(axis=0) for lab in PRETRAINED_LABELS])  # (3, n, n)
    outcome = np.asarray(PRETRAINED_LABELS)[np.argmax(votes, axis=0)]
    med = np.median(np.where(np.isnan(its), np.inf, its), axis=0)  # a run that never reaches counts as inf
    med = np.where(np.isinf(med), np.nan, med)
    notes = {
        "method": (
            f"explicit {g.M}x{g.M} matrices, {g.K} sampled chains per question per iteration, one run per seed; outcome = "
            "majority label over seeds; iterations_to_target = median over seeds (NaN if the median run does not reach it)"
        ),
        "empty_rows": empty_rows if empty_rows == "keep" else f"{empty_rows} (alpha={alpha})",
    }
    return PhaseDiagram(
        g.M, g.N, g.values, g.fixed, "sampled", g.rule.label(), g.T, g.target, outcome, med, final.mean(axis=0),
        final_lam.mean(axis=0), optimum_fraction=votes[0] / labels.shape[0], chains_per_question=g.K, seeds=g.seeds,
        notes=notes,
    )

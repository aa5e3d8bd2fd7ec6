r"""Hypothesis strategies for the toolkit's objects, for property tests of your own claims.

Every strategy draws only valid objects (no filtering of invalid draws), and shrinks towards
small, readable ones: few states and steps, identity maps, uniform questions, uniform rows.

* :func:`reasoning_tasks` -- a :class:`~star_theory.model.ReasoningTask` with at most
  ``max_states`` states per level and ``max_steps`` steps; bijective or general, uniform or any
  question distribution (zero weights included);
* :func:`tabular_policies` -- a :class:`~star_theory.model.TabularPolicy` for a given task (zero
  entries allowed unless ``min_prob > 0``);
* :func:`task_and_policy` -- a ``(task, policy)`` pair;
* :func:`lam_vectors` / :func:`eps_vectors` -- per-step parameters of the symmetric family,
  inside ``[-1/(M-1), 1]`` (``lam``) or ``[-1/M, (M-1)/M]`` (``eps``), with the bounds, 0 and 1
  drawn often;
* :func:`symmetric_cases` -- ``(M, N, lam)`` triples.

Example (a property test in your own test file)::

    from hypothesis import given
    from star_theory import accuracy, exact_star_step
    from star_theory.strategies import task_and_policy

    @given(task_and_policy())
    def test_star_never_lowers_accuracy(case):
        task, policy = case
        assert accuracy(exact_star_step(policy, task), task) >= accuracy(policy, task) - 1e-12

hypothesis is an optional dependency (``pip install "rlstar[test]"``); without it, importing
this module raises :class:`ImportError` saying so.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from hypothesis.strategies import SearchStrategy

try:
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - depends on the environment
    raise ImportError(
        'star_theory.strategies needs hypothesis, an optional dependency: pip install "rlstar[test]" (or hypothesis)'
    ) from None

from .errors import InputError
from .model import ReasoningTask, TabularPolicy, check_task, eps_bounds, lam_bounds
from .validation import as_int

QUESTION_DISTS = ("any", "uniform")

_UNIT = st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)


def _check_sizes(max_states, max_steps, min_states) -> tuple[int, int, int]:
    min_states = as_int(min_states, "min_states", 1)
    max_states = as_int(max_states, "max_states", max(min_states, 2))
    max_steps = as_int(max_steps, "max_steps", 1)
    return max_states, max_steps, min_states


def _question_dist(draw, size: int, question_dist: str):
    """``None`` (uniform) or a probability vector from integer weights (zeros allowed)."""
    if question_dist == "uniform":
        return None
    weights = np.array(draw(st.lists(st.integers(0, 9), min_size=size, max_size=size)), dtype=float)
    if weights.sum() == 0:  # the shrink target: all weights zero means uniform
        return None
    return weights / weights.sum()


@st.composite
def _bijective_tasks(draw, max_states: int, max_steps: int, question_dist: str) -> ReasoningTask:
    M = draw(st.integers(2, max_states))
    N = draw(st.integers(1, max_steps))
    maps = [np.array(draw(st.permutations(range(M)))) for _ in range(N)]
    return ReasoningTask(maps, question_dist=_question_dist(draw, M, question_dist), final_size=M)


@st.composite
def _general_tasks(draw, max_states: int, max_steps: int, min_states: int, question_dist: str,
                   non_bijective: bool) -> ReasoningTask:
    N = draw(st.integers(1, max_steps))
    sizes = draw(st.lists(st.integers(min_states, max_states), min_size=N + 1, max_size=N + 1))
    maps = [np.array(draw(st.lists(st.integers(0, sizes[n + 1] - 1), min_size=sizes[n], max_size=sizes[n])))
            for n in range(N)]
    if non_bijective and all(sizes[n] == sizes[n + 1] and np.unique(m).size == m.size for n, m in enumerate(maps)):
        # every step came out a bijection: merge two states of one drawn step (sizes >= 2 here)
        n = draw(st.integers(0, N - 1))
        maps[n][1] = maps[n][0]
    return ReasoningTask(maps, question_dist=_question_dist(draw, sizes[0], question_dist), final_size=sizes[-1])


def reasoning_tasks(max_states: int = 8, max_steps: int = 4, bijective: bool | None = None,
                    question_dist: str = "any", min_states: int = 2) -> SearchStrategy:
    """Tasks with ``min_states..max_states`` states per level and ``1..max_steps`` steps.

    ``bijective=True``: every level has the same size ``M >= 2`` and every step is a permutation
    (the symmetric family's tasks, shrinking to identity steps); ``False``: level sizes drawn per
    level and maps drawn freely, at least one step not a bijection; ``None``: either kind.
    ``question_dist="uniform"``: :math:`\\rho` uniform; ``"any"``: integer weights ``0..9``
    normalised (some questions may have weight 0; shrinks to uniform).
    """
    max_states, max_steps, min_states = _check_sizes(max_states, max_steps, min_states)
    if bijective not in (None, True, False):
        raise InputError(f"bijective must be None, True or False, got {bijective!r}")
    if question_dist not in QUESTION_DISTS:
        raise InputError(f"question_dist must be one of {', '.join(QUESTION_DISTS)}, got {question_dist!r}")
    if bijective is False and min_states < 2:
        min_states = 2  # a non-bijective step needs two states to merge
    if bijective:
        return _bijective_tasks(max_states, max_steps, question_dist)
    general = _general_tasks(max_states, max_steps, min_states, question_dist, non_bijective=bijective is False)
    if bijective is False:
        return general
    return st.one_of(general, _bijective_tasks(max_states, max_steps, question_dist))


@st.composite
def _rows(draw, n_rows: int, width: int, min_prob: float) -> np.ndarray:
    raw = np.array(draw(st.lists(st.lists(_UNIT, min_size=width, max_size=width), min_size=n_rows, max_size=n_rows)))
    sums = raw.sum(axis=1, keepdims=True)
    rows = np.where(sums > 0, raw / np.where(sums > 0, sums, 1.0), 1.0 / width)  # all-zero row: uniform
    return min_prob + (1.0 - width * min_prob) * rows


def tabular_policies(task: ReasoningTask, min_prob: float = 0.0) -> SearchStrategy:
    """Policies for ``task``: rows drawn as non-negative weights and normalised.

    Zero entries (and one-hot rows) are drawn unless ``min_prob > 0``, which puts every entry in
    ``[min_prob, 1]`` (``min_prob`` must be at most ``1 / |S_n|`` for every level). Rows shrink
    to uniform.
    """
    check_task(task)
    try:
        min_prob = float(min_prob)
    except (TypeError, ValueError):
        raise InputError(f"min_prob must be a number, got {min_prob!r}") from None
    widest = max(task.sizes[1:])
    if not (0.0 <= min_prob <= 1.0 / widest):
        raise InputError(f"min_prob must lie in [0, 1/{widest}] for level sizes {list(task.sizes)}, got {min_prob!r}")
    steps = [_rows(task.sizes[n], task.sizes[n + 1], min_prob) for n in range(task.n_steps)]
    return st.tuples(*steps).map(TabularPolicy)


def task_and_policy(max_states: int = 8, max_steps: int = 4, bijective: bool | None = None,
                    question_dist: str = "any", min_prob: float = 0.0, min_states: int = 2) -> SearchStrategy:
    """``(task, policy)`` pairs: a task of :func:`reasoning_tasks` and a policy of :func:`tabular_policies`.

    ``min_prob`` must be at most ``1 / max_states`` (so that every drawn task admits it).
    """
    max_states, _, _ = _check_sizes(max_states, max_steps, min_states)
    try:
        ok = 0.0 <= float(min_prob) <= 1.0 / max_states
    except (TypeError, ValueError):
        raise InputError(f"min_prob must be a number, got {min_prob!r}") from None
    if not ok:
        raise InputError(f"min_prob must lie in [0, 1/max_states] = [0, {1.0 / max_states!r}], got {min_prob!r}")
    tasks = reasoning_tasks(max_states, max_steps, bijective, question_dist, min_states)
    return tasks.flatmap(lambda task: st.tuples(st.just(task), tabular_policies(task, min_prob)))


def _bounded_vectors(lo: float, hi: float, N: int, special: list[float]):
    value = st.one_of(st.sampled_from(special), st.floats(lo, hi, allow_nan=False, allow_subnormal=False))
    return st.lists(value, min_size=N, max_size=N).map(np.array)


def lam_vectors(M: int, N: int, allow_negative: bool = True) -> SearchStrategy:
    """Per-step ``lam`` (shape ``(N,)``) inside ``[-1/(M-1), 1]`` (``[0, 1]`` without negatives).

    The values 0, 1 and (with negatives) the bound ``-1/(M-1)`` are drawn often; draws shrink
    towards 0.
    """
    M, N = as_int(M, "M (states per level)", 2), as_int(N, "N (steps)", 1)
    lo = lam_bounds(M)[0] if allow_negative else 0.0
    return _bounded_vectors(lo, 1.0, N, [0.0, 1.0] + ([lo] if allow_negative else []))


def eps_vectors(M: int, N: int, allow_negative: bool = True) -> SearchStrategy:
    """Per-step ``eps`` (shape ``(N,)``) inside ``[-1/M, (M-1)/M]`` (``[0, (M-1)/M]`` without negatives)."""
    M, N = as_int(M, "M (states per level)", 2), as_int(N, "N (steps)", 1)
    lo, hi = eps_bounds(M)
    lo = lo if allow_negative else 0.0
    return _bounded_vectors(lo, hi, N, [0.0, hi] + ([lo] if allow_negative else []))


def symmetric_cases(max_M: int = 8, max_N: int = 4, allow_negative: bool = True) -> SearchStrategy:
    """``(M, N, lam)`` of the symmetric family: ``2 <= M <= max_M``, ``1 <= N <= max_N``,
    ``lam`` from :func:`lam_vectors` (build the objects with :func:`~star_theory.model.symmetric_task`
    and :func:`~star_theory.model.symmetric_policy`)."""
    max_M, max_N = as_int(max_M, "max_M", 2), as_int(max_N, "max_N", 1)
    pairs = st.tuples(st.integers(2, max_M), st.integers(1, max_N))
    return pairs.flatmap(lambda mn: st.tuples(st.just(mn[0]), st.just(mn[1]), lam_vectors(mn[0], mn[1], allow_negative)))

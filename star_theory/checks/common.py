"""What every check shares: the update-rule type, the tolerances, the counterexample record, and
running a rule from one policy (accuracies and, on the symmetric family's tasks, fitted ``lam``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import InputError
from ..exact import accuracy
from ..model import ReasoningTask, TabularPolicy, fit_symmetric
from ..rule_protocol import trajectory
from ..validation import MAX_ITERATIONS, as_int

Step = Callable[[TabularPolicy, ReasoningTask], TabularPolicy]
"""An update rule ``step(policy, task) -> policy``."""

IMPROVEMENT_TOL = 1e-12
"""A decrease smaller than this (float round-off) does not count as a failure."""

OPTIMUM_TOL = 1e-9
"""``1 - J`` at or below this counts as the optimum."""


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


def check_iterations(iterations: object, minimum: int = 1) -> int:
    """``iterations`` as an int ``>= minimum`` (a bool is refused)."""
    if isinstance(iterations, bool):
        raise InputError(f"iterations must be an integer, got {iterations!r}")
    return as_int(iterations, "iterations", minimum, MAX_ITERATIONS)


def run_trajectory(policy: TabularPolicy, task: ReasoningTask, iterations: int,
                   step: Step) -> tuple[list[TabularPolicy], np.ndarray, np.ndarray | None]:
    """``(policies, J, lam)``: ``iterations`` steps of ``step``, accuracies ``(T+1,)`` and, on a bijective
    task with equal level sizes, fitted ``lam`` ``(T+1, N)`` (None otherwise)."""
    policies = trajectory(policy, task, check_iterations(iterations), step=step)
    J = np.array([accuracy(p, task) for p in policies])
    lam = None
    if task.is_bijective() and len(set(task.sizes)) == 1:
        lam = np.stack([fit_symmetric(p, task).lam for p in policies])
    return policies, J, lam


def kernel_change(a: TabularPolicy, b: TabularPolicy) -> float:
    """Largest change of one kernel entry between two policies."""
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a.kernels, b.kernels))

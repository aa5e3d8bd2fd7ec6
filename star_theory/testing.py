r"""Assertion helpers for claims about update rules, in the manner of :mod:`numpy.testing`.

Each helper states its claim, checks it, and on failure raises :class:`AssertionError` whose
message names the claim, the smallest failing piece (the first failing iteration, as a one-step
counterexample ``P^t -> P^{t+1}``; the first failing entry of a bound) and the case as Python
source that rebuilds it exactly (:func:`case_source`). Under hypothesis
(:mod:`star_theory.strategies`) the inputs are shrunk first, so the message shows a minimal case.

* :func:`assert_monotone_accuracy` -- :math:`J(P^{t+1}) \ge J(P^t) - \mathrm{tol}` along ``step``;
* :func:`assert_converges` -- :math:`1 - J(P^t) \le \mathrm{tol}` within ``max_iter`` iterations;
* :func:`assert_within` -- ``quantity(*args) <= bound(*args) + tol`` (or inside ``(lo, hi)``).

``step`` is any update rule: a callable ``(policy, task) -> policy`` (the exact operator
:func:`~star_theory.exact.exact_star_step`, a :class:`~star_theory.variants.StarVariant`, a
:class:`~star_theory.rules.Rule`) or a rule name (see :mod:`star_theory.rules`). hypothesis is
not needed here.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InputError
from .exact import accuracy
from .model import ReasoningTask, TabularPolicy, check_pair, check_task
from .rules import as_rule
from .validation import as_iterations, as_nonnegative_float

__all__ = ["assert_monotone_accuracy", "assert_converges", "assert_within", "case_source"]


def _floats(a) -> str:
    """An array as nested lists of exact floats (``repr`` round-trips float64)."""
    return repr(np.asarray(a, dtype=float).tolist())


def case_source(task: ReasoningTask | None = None, policy: TabularPolicy | None = None) -> str:
    """Python source that rebuilds ``task`` and ``policy`` bit for bit (names from :mod:`star_theory`)."""
    lines = []
    if task is not None:
        maps = [m.tolist() for m in task.maps]
        lines.append(f"task = ReasoningTask({maps!r}, question_dist={_floats(task.question_dist)}, "
                     f"final_size={task.sizes[-1]})")
    if policy is not None:
        lines.append(f"policy = TabularPolicy([{', '.join(_floats(k) for k in policy.kernels)}])")
    return "\n".join(lines)


def _as_step(step) -> Callable:
    return as_rule(step, "step")


def _step_name(step) -> str:
    label = getattr(step, "label", None)
    if callable(label):
        return label()
    return getattr(step, "__name__", type(step).__name__)


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError(f"{name} must be a positive integer, got {value!r}")
    return as_iterations(value, name, 1)


def _apply(step, policy: TabularPolicy, task: ReasoningTask) -> TabularPolicy:
    new = step(policy, task)
    if not isinstance(new, TabularPolicy) or new.sizes != policy.sizes:
        raise InputError(f"step {_step_name(step)} must return a TabularPolicy of level sizes {policy.sizes}, "
                         f"got {new!r}")
    return new


def assert_monotone_accuracy(step: Callable[[TabularPolicy, ReasoningTask], TabularPolicy], task: ReasoningTask,
                             policy: TabularPolicy, iterations: int = 1,
                             tol: float = 1e-12) -> np.ndarray:
    r"""Claim: every iteration of ``step`` keeps :math:`J(P^{t+1}) \ge J(P^t) - \mathrm{tol}`.

    Runs ``iterations`` steps from ``policy``; returns the accuracies ``(iterations + 1,)``. On
    failure the message gives the first failing iteration and the policy just before it (a
    one-step counterexample).
    """
    check_task(task)  # the helpers take (task, policy): the first argument is named first
    check_pair(policy, task)
    step, T, tol = _as_step(step), _check_count(iterations, "iterations"), as_nonnegative_float(tol, "tol")
    J, p = [accuracy(policy, task)], policy
    for t in range(T):
        new = _apply(step, p, task)
        J.append(accuracy(new, task))
        if J[-1] < J[-2] - tol:
            raise AssertionError(
                f"claim: one iteration of {_step_name(step)} never lowers the accuracy J (tolerance {tol:g})\n"
                f"fails at iteration {t}: J {J[-2]!r} -> {J[-1]!r} (drop {J[-2] - J[-1]:.3g})\n"
                f"counterexample (the policy before the failing iteration):\n{case_source(task, p)}"
            )
        p = new
    return np.array(J)


def assert_converges(step: Callable[[TabularPolicy, ReasoningTask], TabularPolicy], task: ReasoningTask,
                     policy: TabularPolicy, tol: float = 1e-9,
                     max_iter: int = 200) -> int:
    r"""Claim: iterating ``step`` from ``policy`` reaches :math:`1 - J(P^t) \le \mathrm{tol}`
    within ``max_iter`` iterations; returns the first such ``t``.

    On failure the message gives the last accuracy, whether the run stopped at a fixed point
    (the last iteration moved no kernel entry by more than ``1e-12``) and the case.
    """
    check_task(task)  # the helpers take (task, policy): the first argument is named first
    check_pair(policy, task)
    step, T, tol = _as_step(step), _check_count(max_iter, "max_iter"), as_nonnegative_float(tol, "tol")
    p, J = policy, accuracy(policy, task)
    for t in range(T + 1):
        if 1.0 - J <= tol:
            return t
        if t == T:
            break
        prev, p = p, _apply(step, p, task)
        J = accuracy(p, task)
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(p.kernels, prev.kernels)) if T else float("nan")
    where = "a fixed point" if moved <= 1e-12 else f"still moving (last change {moved:.3g})"
    raise AssertionError(
        f"claim: {_step_name(step)} converges to the optimum, 1 - J <= {tol:g} within {T} iterations\n"
        f"fails: after {T} iterations J = {J!r} (1 - J = {1.0 - J:.3g}), {where}\n"
        f"counterexample (the initial policy):\n{case_source(task, policy)}"
    )


def _describe(arg) -> str:
    if isinstance(arg, ReasoningTask):
        return case_source(task=arg)
    if isinstance(arg, TabularPolicy):
        return case_source(policy=arg)
    if isinstance(arg, np.ndarray):
        return _floats(arg) if arg.dtype.kind == "f" else repr(arg.tolist())
    return repr(arg)


def assert_within(bound_fn: Callable, quantity_fn: Callable, *args: Any, tol: float = 0.0, **kwargs: Any):
    """Claim: ``quantity_fn(*args, **kwargs)`` lies within ``bound_fn(*args, **kwargs)``.

    ``bound_fn`` returns an upper bound (a number or an array broadcasting with the quantity) or a
    pair ``(lower, upper)``. The claim is ``lower - tol <= quantity <= upper + tol`` elementwise.
    Returns the quantity. On failure the message names both functions, the first failing entry
    (index, value, bound, excess) and every argument.
    """
    if not callable(bound_fn):
        raise InputError(f"bound_fn must be a callable, got {type(bound_fn).__name__}")
    if not callable(quantity_fn):
        raise InputError(f"quantity_fn must be a callable, got {type(quantity_fn).__name__}")
    tol = as_nonnegative_float(tol, "tol")
    value = np.asarray(quantity_fn(*args, **kwargs), dtype=float)
    bound = bound_fn(*args, **kwargs)
    lower, upper = bound if isinstance(bound, tuple) and len(bound) == 2 else (None, bound)
    hi = np.broadcast_to(np.asarray(upper, dtype=float), value.shape) if upper is not None else None
    lo = np.broadcast_to(np.asarray(lower, dtype=float), value.shape) if lower is not None else None
    bad = np.isnan(value)
    if hi is not None:
        bad |= ~(value <= hi + tol)
    if lo is not None:
        bad |= ~(value >= lo - tol)
    if np.any(bad):
        i = tuple(int(x) for x in np.argwhere(bad)[0])
        v = float(value[i])
        edges = f"[{float(lo[i])!r}, {float(hi[i])!r}]" if lo is not None and hi is not None else (
            f"<= {float(hi[i])!r}" if hi is not None else f">= {float(lo[i])!r}")  # type: ignore[index]  # lo or hi is given
        name = lambda f: getattr(f, "__name__", type(f).__name__)  # noqa: E731
        shown = [_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
        raise AssertionError(
            f"claim: {name(quantity_fn)}(...) within {name(bound_fn)}(...) (tolerance {tol:g})\n"
            f"fails at index {i if value.ndim else '()'}: {name(quantity_fn)} = {v!r}, bound {edges} "
            f"({int(bad.sum())} of {bad.size} entries fail)\n"
            "arguments:\n" + "\n".join(shown)
        )
    return value

"""Argument checks shared by the theory core: integers, numbers, numeric arrays, seeds, iteration
counts, targets, question sets, and calls into plug-in code (:func:`call_foreign`).

This is the one module of entry checks used across modules, each defined once; it imports nothing
of the project but :mod:`star_theory.errors`, so every module may use it. Each check returns the
value in its canonical type or raises a one-line :class:`~star_theory.errors.InputError` naming
the argument. :mod:`star_theory.model` builds the model's own checks (level sizes, ``lam``/``eps``
ranges, :func:`~star_theory.model.check_pair`) on these.

Numbers are numbers: a ``bool`` (Python or numpy) is refused wherever a number is asked for, and
so are text, bytes, sets and values beyond float range. Seeds are a sequence of distinct
non-negative integers. Iteration counts are capped at :data:`MAX_ITERATIONS`, step counts at
:data:`MAX_STEPS` and states per level at :data:`MAX_STATES`, so that no call runs for ever.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .errors import InputError, numbers

MAX_ITERATIONS = 1_000_000
"""Most iterations any trajectory, check or diagram runs (``iterations``, ``max_iterations``)."""

MAX_STEPS = 1_000_000
"""Most reasoning steps ``N`` of a task."""

MAX_STATES = 2**53
"""Most states ``M`` per level (every integer up to it is exact in float64)."""


def as_int(value, name: str, minimum: int | None = None, maximum: int | None = None) -> int:
    """``value`` as an ``int`` (an integral float is accepted, a bool is not) in ``[minimum, maximum]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InputError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        shown = value if value.bit_length() < 64 else (f"{float(value):g}" if value.bit_length() < 1000
                                                       else f"an integer of {len(str(value))} digits")
        raise InputError(f"{name} must be <= {maximum}, got {shown}")
    return value


def as_iterations(value: Any, name: str = "iterations", minimum: int = 0) -> int:
    """An iteration count: an integer in ``[minimum, MAX_ITERATIONS]`` (a bool is refused)."""
    return as_int(value, name, minimum, MAX_ITERATIONS)


def is_bool(value) -> bool:
    """True for a Python or numpy bool, or an array/sequence holding one (``True`` is not the number 1 here)."""
    if isinstance(value, (bool, np.bool_)):
        return True
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "b" or (value.dtype.kind == "O" and any(isinstance(v, (bool, np.bool_)) for v in value.ravel()[:10**6]))
    if isinstance(value, (list, tuple)):
        for v in value:
            if isinstance(v, (bool, np.bool_)) or (isinstance(v, (list, tuple, np.ndarray)) and is_bool(v)):
                return True
    return False


def as_float(value: Any, name: str) -> float:
    """``value`` as a finite ``float``; a bool, text, a non-number or a value beyond float range is refused."""
    if is_bool(value) or isinstance(value, (str, bytes)):
        raise InputError(f"{name} must be a number, got {value!r}")
    try:
        out = float(value)
    except OverflowError:
        raise InputError(f"{name} must be a number within float range, got an integer of {len(str(value))} digits") from None
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {_short(value)}") from None
    if not np.isfinite(out):
        raise InputError(f"{name} must be finite, got {out!r}")
    return out


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_seeds(seeds: Any, name: str = "seeds", minimum_count: int = 1) -> tuple[int, ...]:
    """``seeds`` as a tuple of distinct non-negative integers; a set, a string, bytes, a mapping, a
    bool or a scalar is refused (a sequence fixes the order in which results are reported)."""
    if isinstance(seeds, (str, bytes, bytearray, set, frozenset, dict)) or is_bool(seeds) or not hasattr(seeds, "__len__"):
        raise InputError(f"{name} must be a sequence of distinct non-negative integers, got {_short(seeds)}")
    if isinstance(seeds, np.ndarray) and seeds.ndim != 1:
        raise InputError(f"{name} must be a 1-d sequence of integers, got shape {seeds.shape}")
    out = tuple(as_int(s, f"{name}[{i}]", 0) for i, s in enumerate(seeds))
    if len(out) < minimum_count:
        raise InputError(f"{name} must hold at least {minimum_count} seed(s), got {len(out)}")
    if len(set(out)) != len(out):
        dup = next(s for s in out if out.count(s) > 1)
        raise InputError(f"{name} must be distinct, got {dup} twice")
    return out


def is_text(values) -> bool:
    """True for a string, bytes, or an array of them (numbers written as text are refused)."""
    if isinstance(values, (str, bytes)):
        return True
    try:
        return np.asarray(values).dtype.kind in "USV"
    except (TypeError, ValueError):
        return False


def as_float_array(values, name: str, ndim: int | None = None) -> np.ndarray:
    """``values`` as a finite real float array (of ``ndim`` dimensions when given); text and complex refused."""
    if is_text(values):
        raise InputError(f"{name} must be numeric, got {values!r}")
    if is_bool(values):
        raise InputError(f"{name} must be numeric, got a boolean ({_short(values)})")
    raw = values if isinstance(values, np.ndarray) else None
    if raw is None:
        try:
            raw = np.asarray(values)
        except (TypeError, ValueError, OverflowError, RecursionError):
            raw = None
    if raw is not None and (raw.dtype.kind == "c" or (raw.dtype.kind == "O" and any(isinstance(v, complex) for v in raw.ravel()[:10**6]))):
        raise InputError(f"{name} must hold real numbers, got complex values")  # never drop an imaginary part
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError, OverflowError, RecursionError):
        raise InputError(f"{name} must be numeric, got {values!r}") from None
    if ndim is not None and arr.ndim != ndim:
        raise InputError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = arr[~np.isfinite(arr)].ravel()[0]
        raise InputError(f"{name} must be finite, got {bad}")
    return arr


def as_nonnegative_float(value: Any, name: str) -> float:
    """``value`` as a finite float ``>= 0`` (InputError naming ``name`` otherwise; booleans refused)."""
    value = as_float(value, name)
    if not value >= 0:
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def validate_target(target: Any) -> float:
    """A target accuracy as a float in ``(0, 1]`` (InputError otherwise)."""
    if isinstance(target, (float, np.floating)) and np.isnan(target):
        raise InputError(f"target accuracy must be in (0, 1], got {target!r}")
    target = as_float(target, "target accuracy")
    if not (0.0 < target <= 1.0):
        raise InputError(f"target accuracy must be in (0, 1], got {target!r}")
    return target


def check_range(values: np.ndarray, lo: float, hi: float, name: str, tol: float = 1e-12) -> None:
    """InputError naming the first entry of ``values`` outside ``[lo, hi]`` (by more than ``tol``)."""
    bad = (values < lo - tol) | (values > hi + tol)
    if np.any(bad):
        v = float(values[bad].ravel()[0])
        lo_, hi_ = numbers(v, lo, hi)[1:]  # the bounds rounded, the value as given
        raise InputError(f"{name}={v!r} is outside [{lo_}, {hi_}]")


def check_questions(questions: Any, n_questions: int) -> np.ndarray:
    """``questions`` as a 1-d int64 array of start states, each in ``[0, n_questions)`` (level 0)."""
    try:
        s0 = np.asarray(questions)
    except (TypeError, ValueError):
        s0 = np.asarray([None])
    if s0.ndim != 1 or (s0.size and not np.issubdtype(s0.dtype, np.integer)):
        raise InputError(f"questions must be a 1-d array of start states (question indices), got {questions!r}")
    s0 = s0.astype(np.int64)
    if s0.size and (s0.min() < 0 or s0.max() >= n_questions):
        raise InputError(f"questions hold a state outside level 0 of size {n_questions}")
    return s0


# ----------------------------------------------------------------------------- foreign code


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), for one-line errors."""
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else "(no message)"


def call_foreign(kind: str, name: str, what: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn``, code of the plug-in ``name`` of ``kind`` (``"rule"``, ``"task"``): any failure,
    ``SystemExit`` included (but not ``KeyboardInterrupt``, the user's own stop), becomes a one-line
    InputError naming the plug-in and the call (``what``)."""
    try:
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except InputError as exc:
        raise InputError(f"{kind} {name!r}: {what} refused its input: {exc}") from None
    except BaseException as exc:  # foreign code: SystemExit, GeneratorExit, anything
        raise InputError(f"{kind} {name!r}: {what} failed: {type(exc).__name__}: {first_line(exc)}") from None

"""Argument checks shared by the theory core: integers, numeric arrays, non-negative numbers, targets.

Each check returns the value in its canonical type or raises a one-line
:class:`~star_theory.errors.InputError` naming the argument. :mod:`star_theory.model` builds the
model's own checks (level sizes, ``lam``/``eps`` ranges) on these.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError, numbers


def _as_int(value, name: str, minimum: int | None = None) -> int:
    """``value`` as an ``int`` (an integral float is accepted, a bool is not), at least ``minimum``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise InputError(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return value


def _is_text(values) -> bool:
    """True for a string, bytes, or an array of them (numbers written as text are refused)."""
    if isinstance(values, (str, bytes)):
        return True
    try:
        return np.asarray(values).dtype.kind in "USV"
    except (TypeError, ValueError):
        return False


def _as_float_array(values, name: str, ndim: int | None = None) -> np.ndarray:
    """``values`` as a finite real float array (of ``ndim`` dimensions when given); text and complex refused."""
    if _is_text(values):
        raise InputError(f"{name} must be numeric, got {values!r}")
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


def as_nonnegative_float(value, name: str) -> float:
    """``value`` as a finite float ``>= 0`` (InputError naming ``name`` otherwise; booleans refused)."""
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} must be a number >= 0, got {value!r}")
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number >= 0, got {value!r}") from None
    if not (np.isfinite(value) and value >= 0):
        raise InputError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def validate_target(target) -> float:
    """A target accuracy as a float in ``(0, 1]`` (InputError otherwise)."""
    if isinstance(target, bool):
        raise InputError(f"target accuracy must be a number, got {target!r}")
    try:
        target = float(target)
    except (TypeError, ValueError):
        raise InputError(f"target accuracy must be a number, got {target!r}") from None
    if not (0.0 < target <= 1.0):
        raise InputError(f"target accuracy must be in (0, 1], got {target!r}")
    return target


def _check_range(values: np.ndarray, lo: float, hi: float, name: str, tol: float = 1e-12) -> None:
    """InputError naming the first entry of ``values`` outside ``[lo, hi]`` (by more than ``tol``)."""
    bad = (values < lo - tol) | (values > hi + tol)
    if np.any(bad):
        v = float(values[bad].ravel()[0])
        lo_, hi_ = numbers(v, lo, hi)[1:]  # the bounds rounded, the value as given
        raise InputError(f"{name}={v!r} is outside [{lo_}, {hi_}]")

r"""Parameters of the symmetric family as broadcast arrays: the input check of every closed form.

:func:`family_params` takes ``M`` (an integer or integer array) and exactly one of ``lam``
(mixture weight) or ``eps`` (excess probability, :math:`\varepsilon = \lambda (M-1)/M`) of
shape ``(..., N)``, checks their ranges with one-line :class:`~star_theory.errors.InputError`
messages, and returns ``lam`` and ``1 - lam`` broadcast against ``M``
(:class:`FamilyParams`). Used by :mod:`star_theory.closed_form` and the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import InputError, numbers
from .validation import as_float_array, is_bool, is_text

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from numpy.typing import ArrayLike

MAX_M = 2.0**53
"""Largest ``M`` accepted (integers are exact in float64 up to here)."""


@dataclass(frozen=True)
class FamilyParams:
    """Validated parameters of the symmetric family, broadcast together.

    ``M`` ``(..., 1)`` float; ``lam`` and ``gap`` = ``1 - lam`` ``(..., N)`` (both exact for a
    float input, whichever convention was given); ``convention`` is ``"lam"`` or ``"eps"``.
    """

    M: np.ndarray  # (..., 1), float
    lam: np.ndarray  # (..., N)
    gap: np.ndarray  # 1 - lam, (..., N)
    convention: str


def as_states(M: ArrayLike) -> np.ndarray:
    """``M`` (states per level; an integer or integer array in ``[2, 2^53]``) as a float array."""
    if is_text(M) or is_bool(M):
        raise InputError(f"M (states per level) must be an integer, got {M!r}")
    try:
        arr = np.asarray(M, dtype=float)
    except OverflowError:
        raise InputError("M (states per level) must be <= 2^53, got an integer beyond float range") from None
    except (TypeError, ValueError):
        raise InputError(f"M (states per level) must be an integer, got {M!r}") from None
    if not np.all(np.isfinite(arr)):
        raise InputError(f"M (states per level) must be finite, got {arr[~np.isfinite(arr)].ravel()[0]}")
    if np.any(arr != np.round(arr)):
        raise InputError(f"M (states per level) must be an integer, got {arr[arr != np.round(arr)].ravel()[0]}")
    if np.any(arr < 2):
        raise InputError(f"M (states per level) must be >= 2, got {arr[arr < 2].ravel()[0]:g}")
    if np.any(arr > MAX_M):
        raise InputError(f"M (states per level) must be <= 2^53, got {arr[arr > MAX_M].ravel()[0]:g}")
    return arr


def family_params(M: ArrayLike, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> FamilyParams:
    r"""Check exactly one of ``lam`` (in :math:`[-1/(M-1), 1]`) or ``eps`` (in :math:`[-1/M, (M-1)/M]`)
    against ``M`` and broadcast them; ``lam`` and ``1 - lam`` are computed without cancellation."""
    if (lam is None) == (eps is None):
        raise InputError("give exactly one of lam or eps")
    name = "lam" if lam is not None else "eps"
    x = np.atleast_1d(as_float_array(lam if lam is not None else eps, name))
    if x.shape[-1] == 0:
        raise InputError(f"{name} must hold at least one step")
    Ms = as_states(M)
    try:
        Mb = np.broadcast_to(Ms[..., None], np.broadcast_shapes(Ms.shape + (1,), x.shape[:-1] + (1,)))
    except ValueError:
        raise InputError(f"M of shape {Ms.shape} does not broadcast with {name} of shape {x.shape}") from None
    Mb = np.array(Mb, dtype=float)
    x = np.broadcast_to(x, Mb.shape[:-1] + x.shape[-1:])
    if name == "lam":
        lo, hi = -1.0 / (Mb - 1.0), np.ones_like(Mb)
    else:
        lo, hi = -1.0 / Mb, (Mb - 1.0) / Mb
    tol = 1e-12
    bad = (x < lo - tol) | (x > hi + tol)
    if np.any(bad):
        idx = tuple(np.argwhere(bad)[0])
        v = float(x[idx])
        lo_, hi_ = numbers(v, np.broadcast_to(lo, x.shape)[idx], np.broadcast_to(hi, x.shape)[idx])[1:]  # bounds rounded
        raise InputError(f"{name}={v!r} is outside [{lo_}, {hi_}] for M={Mb[idx[:-1] + (0,)]:g}")
    x = np.clip(x, lo, hi)
    if name == "lam":
        lamv = x
        gap = 1.0 - x
    else:
        lamv = x * (Mb / (Mb - 1.0))
        gap = ((Mb - 1.0) / Mb - x) * (Mb / (Mb - 1.0))
    return FamilyParams(Mb, np.array(lamv, dtype=float), np.array(gap, dtype=float), name)


def in_convention(lam: np.ndarray, M: np.ndarray, convention: str) -> np.ndarray:
    r"""``lam`` in ``convention``: itself, or :math:`\varepsilon = \lambda (M-1)/M`."""
    return lam if convention == "lam" else lam * ((M - 1.0) / M)

"""Summaries of finite-sample runs over seeds: a band around the mean, the first iteration to a target."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..validation import as_float, as_float_array

BAND_KINDS = ("percentile", "ci", "mean-se")  # "mean-se" (simulate's name) is "ci"


def _runs(values) -> np.ndarray:
    values = as_float_array(values, "values")
    if values.ndim < 1 or values.shape[0] < 1:
        raise InputError(f"values must hold at least one run along axis 0, got shape {values.shape}")
    return values


def seed_band(values: ArrayLike, kind: str = "percentile", level: float = 0.9) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Mean over axis 0 (seeds) and a band at ``level``: ``(mean, lo, hi)``.

    ``kind="percentile"``: the empirical :math:`(1-level)/2` and :math:`(1+level)/2` quantiles of the
    runs; ``kind="ci"`` (or ``"mean-se"``): the normal interval of the mean, :math:`\bar x \pm z_{(1+level)/2}\, s/\sqrt{n}`
    (zero width for one run).
    """
    values = _runs(values)
    if not isinstance(kind, str) or kind not in BAND_KINDS:
        raise InputError(f"kind must be one of {', '.join(BAND_KINDS)}, got {kind!r}")
    level = as_float(level, "level")
    if not 0.0 < level < 1.0:
        raise InputError(f"level must lie in (0, 1), got {level!r}")
    if kind == "percentile":
        q = 100 * (1 - level) / 2
        return percentile_band(values, q, 100 - q)
    mean = values.mean(axis=0)
    from scipy.stats import norm  # scipy only for this kind (0.3 s to import)

    z = norm.ppf((1 + level) / 2)
    se = values.std(axis=0, ddof=1) / np.sqrt(values.shape[0]) if values.shape[0] > 1 else np.zeros_like(mean)
    return mean, mean - z * se, mean + z * se


def percentile_band(values: ArrayLike, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over axis 0 (seeds) and the ``lo``-th and ``hi``-th percentiles of the runs: ``(mean, lo, hi)``."""
    values = _runs(values)
    return values.mean(axis=0), np.percentile(values, lo, axis=0), np.percentile(values, hi, axis=0)


def first_reach(curve: ArrayLike, target: float) -> int | None:
    """The first index where ``curve >= target``, or None when it never gets there."""
    curve = as_float_array(curve, "curve", ndim=1)
    hit = np.flatnonzero(curve >= as_float(target, "target"))
    return int(hit[0]) if hit.size else None

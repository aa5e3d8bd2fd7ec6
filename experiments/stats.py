"""Tolerances that are statistics of a run, for the experiments' findings.

* :func:`mean_test` — the mean of ``R`` independent runs against a predicted value: ``|mean - pred|
  <= q * se + floor`` per column, ``se`` the standard error of the mean over runs and ``q`` the
  Student t quantile (``R - 1`` degrees of freedom) of a 99% test simultaneous over the columns
  (Bonferroni), so that few runs give a wide tolerance rather than a false alarm;
* :func:`prediction_band` — where one more draw like the runs is expected, or the mean of ``S``
  more draws: ``mean +- t * sd * sqrt(1/S + 1/R)``, Student t with ``R - 1`` degrees of freedom,
  simultaneous over the columns (Bonferroni); used to ask whether the mean of ``S`` LLM runs (its
  seeds) behaves like the mean of ``S`` runs of tabular STaR;
* :func:`binomial_halfwidth` — ``z`` binomial standard deviations of a frequency over ``n`` trials.

``floor`` is a numerical resolution with its reason, stated where it is used (round-off, or the
smallest change one sampled iteration can make).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from numpy.typing import ArrayLike

Z = 4.0
"""Binomial standard deviations of a frequency test (two-sided false alarm about 6e-5)."""

MEAN_LEVEL = 0.99
"""Simultaneous level of a mean test over the columns."""

LEVEL = 0.95
"""Simultaneous level of a prediction band."""


def _runs(runs) -> np.ndarray:
    a = np.asarray(runs, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    if a.shape[0] < 2:
        raise ValueError(f"need at least 2 runs, got {a.shape[0]}")
    return a


def mean_test(runs: ArrayLike, predicted: ArrayLike, level: float = MEAN_LEVEL, floor: float = 0.0) -> dict:
    """Mean of ``runs`` ``(R, T)`` against ``predicted`` ``(T,)``: per column gap, standard error, ``z`` = gap / se,
    the threshold ``q`` (t quantile, simultaneous ``level`` over the T columns) and the verdict."""
    a = _runs(runs)
    R, T = a.shape
    from scipy import stats  # heavy: imported when a band is computed, never by `rlstar --help`

    q = float(stats.t.ppf(1 - (1 - level) / (2 * T), R - 1))
    mean = a.mean(axis=0)
    se = a.std(axis=0, ddof=1) / np.sqrt(R)
    gap = mean - np.broadcast_to(np.asarray(predicted, dtype=float), mean.shape)
    ok = np.abs(gap) <= q * se + floor
    with np.errstate(divide="ignore", invalid="ignore"):
        zs = np.where(se > 0, gap / np.where(se > 0, se, 1.0), np.inf)
    zs = np.where(np.abs(gap) <= floor, 0.0, zs)  # below the resolution: no evidence of a difference
    return {"mean": mean, "se": se, "gap": gap, "z": zs, "q": q, "R": R, "inside": ok, "all": bool(ok.all()),
            "n_inside": int(ok.sum()), "n": int(ok.size), "level": level}


def mean_words(test: dict, floor_words: str = "") -> str:
    """The tolerance of a :func:`mean_test`, in words."""
    extra = f" + {floor_words}" if floor_words else ""
    return (f"{test['q']:.2f} standard errors of {test['R']} runs (t, {100 * test['level']:.4g}% simultaneous over "
            f"{test['n']} iteration{'s' if test['n'] > 1 else ''}){extra}")


def prediction_band(runs: ArrayLike, level: float = LEVEL, floor: float = 0.0, draws: int = 1) -> tuple[np.ndarray,
                    np.ndarray]:
    """Simultaneous ``level`` prediction band for the mean of ``draws`` more draws at each column of ``runs`` ``(R, T)``:
    ``mean +- q sd sqrt(1/draws + 1/R) + floor`` (the mean of ``draws`` new draws minus the runs' mean has
    variance ``sd^2 (1/draws + 1/R)``)."""
    a = _runs(runs)
    R, T = a.shape
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    from scipy import stats  # heavy: imported when a band is computed, never by `rlstar --help`

    q = stats.t.ppf(1 - (1 - level) / (2 * T), R - 1)
    half = q * a.std(axis=0, ddof=1) * np.sqrt(1 / draws + 1 / R) + floor
    mean = a.mean(axis=0)
    return mean - half, mean + half


def band_test(values: ArrayLike, runs: ArrayLike, level: float = LEVEL, floor: float = 0.0, draws: int = 1) -> dict:
    """Whether ``values`` ``(T,)`` (one run, or the mean of ``draws`` runs) lie in the prediction band of ``runs``
    (for the mean of ``draws`` draws) at every column; ``excess`` is the distance outside the band (<= 0 inside)."""
    lo, hi = prediction_band(runs, level, floor, draws)
    v = np.asarray(values, dtype=float)
    ok = (v >= lo) & (v <= hi)
    excess = np.maximum(lo - v, v - hi)
    return {"lo": lo, "hi": hi, "inside": ok, "all": bool(ok.all()), "n_inside": int(ok.sum()), "n": int(ok.size),
            "draws": int(draws), "excess": excess}


def band_words(test: dict, R: int, level: float = LEVEL) -> str:
    """The tolerance of a :func:`band_test`, in words."""
    of = f"the mean of {test['draws']} draws, from " if test.get("draws", 1) > 1 else ""
    return (f"{level:.0%} simultaneous prediction band for {of}{R} runs (t, Bonferroni over {test['n']} "
            f"comparisons); half-widths {np.round((test['hi'] - test['lo']) / 2, 3).tolist()}")


def binomial_halfwidth(p: float, n: int, z: float = Z) -> float:
    """``z`` binomial standard deviations of a frequency over ``n`` trials at probability ``p``
    (at least that of one event in ``n``, so that p = 0 or 1 still has a resolution)."""
    n = max(int(n), 1)
    return float(z * np.sqrt(max(p * (1 - p), 1.0 / n) / n))

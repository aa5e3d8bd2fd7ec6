r"""Rules for a kernel row that the kept chains never visit, declared once.

A refit (exact, :func:`star_theory.exact.refit_rows`, or from counts,
:func:`star_theory.sampling.refit_from_counts`) defines row :math:`s` of step ``n`` only when
the kept chains pass through :math:`s` (kept mass :math:`\sum_{s'} W_n(s, s') > 0`). The other
rows follow one of :data:`EMPTY_ROWS`; with :math:`V` the visited rows of the step,
:math:`\hat P(\cdot \mid v)` their refit rows and :math:`M = |S_n|`:

* ``keep``: the previous row, :math:`P^{t+1}(\cdot \mid s) = P^t(\cdot \mid s)` (the rule of the
  exact operator, and of a tabular model that gets no gradient on the row);
* ``uniform``: :math:`1/M` (a model that forgets the row);
* ``mean``: the mean refit row of the level, :math:`\bar P = |V|^{-1} \sum_{v \in V} \hat P(\cdot \mid v)`
  (each visited row counts once: a model whose rows are pulled towards what it was trained on);
* ``marginals``: for states written as strings of ``L`` characters (``strings``, one per state
  of level ``n``, all of length ``L``), the product of the per-position character marginals of
  :math:`\bar P`, normalised over the states,

  .. math::

      q_i(c) = \sum_{s'\,:\,\mathrm{str}(s')_i = c} \bar P(s'), \qquad
      P^{t+1}(s' \mid s) \propto \prod_{i=1}^{L} q_i(\mathrm{str}(s')_i),

  (a model with one token per character that learnt each character independently of the others
  and of the previous state).

``mean`` and ``marginals`` need a visited row; on a level that has none they keep the previous
rows (there is nothing to estimate from). Visited rows are the refit under every rule.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from .errors import InputError

EMPTY_ROWS = ("keep", "uniform", "mean", "marginals")
"""Rules for a kernel row with no kept mass (see the module docstring)."""


def check_empty_rows(rule: str) -> str:
    """``rule`` if it is one of :data:`EMPTY_ROWS`, else a one-line InputError."""
    if rule not in EMPTY_ROWS:
        raise InputError(f"empty_rows must be one of {', '.join(EMPTY_ROWS)}, got {rule!r}")
    return rule


def check_strings(strings: Sequence[str] | None, size: int, where: str = "strings") -> list[str]:
    """``strings``: ``size`` strings of one common length (the states of one level)."""
    if strings is None:
        raise InputError("empty_rows='marginals' needs the states' strings (strings=...)")
    try:
        strings = [str(x) for x in strings] if not isinstance(strings, str) else None
    except TypeError:
        strings = None
    if strings is None or len(strings) != size:
        raise InputError(f"{where} must hold {size} strings, one per state of the next level")
    if len({len(x) for x in strings}) != 1 or not strings[0]:
        raise InputError(f"{where} must be non-empty strings of one common length")
    return strings


def marginal_product(row: np.ndarray, strings: list[str]) -> np.ndarray:
    r"""The product of ``row``'s per-position character marginals, normalised over the states.

    ``row`` (shape ``(M,)``) is a distribution over ``M`` states written as ``strings``;
    returns :math:`\prod_i q_i(\mathrm{str}(s')_i)` normalised over ``s'`` (shape ``(M,)``).
    """
    chars = np.array([list(x) for x in strings])  # (M, L)
    out = np.ones(len(strings))
    for i in range(chars.shape[1]):
        _, code = np.unique(chars[:, i], return_inverse=True)
        q = np.bincount(code, weights=row)  # q_i(c) for every character c at position i
        out *= q[code]
    return out / out.sum()


def fill_empty_rows(new_kernel: np.ndarray, previous_kernel: np.ndarray, visited: np.ndarray, rule: str, strings: Sequence[str] | None = None) -> np.ndarray:
    """The kernel with ``new_kernel``'s visited rows and the unvisited ones filled by ``rule``.

    ``new_kernel`` and ``previous_kernel``: shape ``(|S_{n-1}|, |S_n|)``, the refit (its rows
    outside ``visited`` are ignored) and the kernel before the refit; ``visited``: boolean, shape
    ``(|S_{n-1}|,)``; ``rule``: one of :data:`EMPTY_ROWS`; ``strings``: the ``|S_n|`` states' strings
    (``marginals`` only). Returns a new array; the arguments are not changed.
    """
    rule = check_empty_rows(rule)
    try:
        new = np.asarray(new_kernel, dtype=float)
        old = np.asarray(previous_kernel, dtype=float)
        visited = np.asarray(visited)
    except (TypeError, ValueError):
        raise InputError("new_kernel and previous_kernel must be numeric matrices") from None
    if new.ndim != 2 or old.shape != new.shape:
        raise InputError(f"new_kernel {new.shape} and previous_kernel {old.shape} must be matrices of one shape")
    if visited.dtype != bool or visited.shape != (new.shape[0],):
        raise InputError(f"visited must be a boolean array of shape ({new.shape[0]},), "
                         f"got {visited.dtype} {visited.shape}")
    if not np.all(np.isfinite(new[visited])) or np.any(new[visited] < 0):
        raise InputError("new_kernel's visited rows must hold finite non-negative values")
    if rule == "marginals":
        strings = check_strings(strings, new.shape[1])
    out = np.array(old, copy=True)
    out[visited] = new[visited]
    empty = ~visited
    if not empty.any() or rule == "keep" or (rule in ("mean", "marginals") and not visited.any()):
        return out
    if rule == "uniform":
        out[empty] = 1.0 / new.shape[1]
        return out
    mean = new[visited].mean(axis=0)  # (|S_n|,)
    out[empty] = mean if rule == "mean" else marginal_product(mean, strings)  # type: ignore[arg-type]  # checked above
    return out

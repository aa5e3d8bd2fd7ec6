r"""One step of many chains at once: the next state of every chain from its row of a kernel.

Walker's alias method (:func:`alias_table`, built for all rows at once; O(1) per draw) or, for
very large kernels, inverse-CDF sampling with one ``searchsorted`` over the cumulative rows laid
end to end (``C[s, j] + s``; the offset costs about ``|S| * 2^-52`` of absolute resolution on
each probability). :func:`sample_next` picks between them.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .model import TabularPolicy

ALIAS_MAX_WORK = 1 << 26
"""Largest ``rows * cols**2`` for which :func:`alias_table` is built (its cost); above, inverse CDF."""


def alias_table(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Walker's alias tables of every row of a stochastic ``kernel`` (shape ``(R, M)``).

    Returns ``(prob, alias)``, each ``(R, M)``: to sample row ``s``, pick a column ``j`` uniformly
    and keep it with probability ``prob[s, j]``, else take ``alias[s, j]``. Exactness:
    :math:`P(s, j) = \big(\mathrm{prob}[s, j] + \sum_{i: \mathrm{alias}[s,i] = j} (1 - \mathrm{prob}[s, i])\big) / M`.
    Built by pairing, in every row at once, the smallest remaining scaled entry :math:`M P \le 1`
    with the largest (:math:`\ge 1`), ``M - 1`` times.
    """
    TabularPolicy([kernel])  # a 2-d, finite, row-stochastic kernel, or InputError
    R, M = np.shape(kernel)
    q = np.array(kernel, dtype=float) * M
    prob = np.ones((R, M))
    alias = np.tile(np.arange(M), (R, 1))
    active = np.ones((R, M), dtype=bool)
    rows = np.arange(R)
    for _ in range(M - 1):
        small = np.argmin(np.where(active, q, np.inf), axis=1)
        large = np.argmax(np.where(active, q, -np.inf), axis=1)
        qs = q[rows, small]
        prob[rows, small] = qs
        alias[rows, small] = large
        q[rows, large] -= 1.0 - qs
        active[rows, small] = False
    return np.clip(prob, 0.0, 1.0), alias


def _inverse_cdf_table(kernel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offset cumulative rows ``C[s, j] + s`` (flattened) and each row's last positive column."""
    cum = np.cumsum(kernel, axis=1)
    cum = cum / cum[:, -1:]  # exactly 1.0 at the last column and at trailing zero columns
    offset = cum + np.arange(kernel.shape[0], dtype=float)[:, None]
    positive = kernel > 0
    last = kernel.shape[1] - 1 - np.argmax(positive[:, ::-1], axis=1)
    return offset.ravel(), last


def sample_next(kernel: np.ndarray, states: np.ndarray, u: np.ndarray, method: str = "auto") -> np.ndarray:
    r"""Next states of chains at ``states``, one uniform ``u`` in [0, 1) each, vectorised over chains.

    ``method="alias"``: :func:`alias_table`; column :math:`j = \lfloor M u \rfloor` and the
    fraction :math:`Mu - j` (uniform, independent of ``j``) decides between ``j`` and its alias.
    ``method="cdf"``: inverse CDF, the ``j`` with :math:`C(s, j-1) \le u < C(s, j)` for the row's
    cumulative sum ``C``, by one ``searchsorted`` over all rows laid end to end.
    ``"auto"`` uses the alias method when ``rows * cols**2 <= ALIAS_MAX_WORK``.
    """
    R, M = kernel.shape
    if method == "auto":
        method = "alias" if R * M * M <= ALIAS_MAX_WORK else "cdf"
    if method == "alias":
        prob, alias = alias_table(kernel)
        x = u * M
        j = np.minimum(x.astype(np.int64), M - 1)
        idx = states * M + j
        return np.where(x - j < prob.ravel()[idx], j, alias.ravel()[idx])
    if method != "cdf":
        raise InputError(f"method must be 'auto', 'alias' or 'cdf', got {method!r}")
    flat, last = _inverse_cdf_table(kernel)
    pos = np.searchsorted(flat, states + u, side="right")
    nxt = pos - states * M
    # s + u can round up to s + 1 when u is within 2^-53 of 1; stay inside the row.
    return np.minimum(nxt, last[states])

r"""Exact and sampled pass@k of a tabular policy (Yue et al., arXiv 2504.13837; ReST-EM, arXiv 2312.06585).

pass@k is the probability that at least one of ``k`` independent chains of a question has the
correct answer, averaged over questions :math:`s_0 \sim \rho`:

.. math::

    \mathrm{pass@}k(P) = \sum_{s_0} \rho(s_0) \big[1 - (1 - J(s_0))^k\big],

with :math:`J(s_0) = \alpha_N(s_0, s_N^*(s_0))` the per-question accuracy
(:func:`star_theory.sampling.question_keep_probability`). So ``pass@1 = J`` and pass@k is
non-decreasing in ``k``. It depends on the *spread* of :math:`J(s_0)` over questions, not only on
its mean: a STaR step that raises ``J`` on most questions and lowers it on a few can raise
pass@1 and lower pass@k at large ``k``.

Sampled form: ``n >= k`` chains per question, ``c`` of them correct, and the unbiased estimator
:math:`1 - \binom{n-c}{k} / \binom{n}{k}` (Chen et al. 2021), averaged with weights :math:`\rho`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..model import ReasoningTask, TabularPolicy, check_pair
from ..sampling import as_generator, keep_mask, question_keep_probability, sample_chains
from ..validation import as_int

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from numpy.typing import ArrayLike
    from star_theory.aliases import RandomSource


def question_accuracy(policy: TabularPolicy, task: ReasoningTask) -> np.ndarray:
    r"""Per-question accuracy :math:`J(s_0)` (shape ``(|S_0|,)``)."""
    check_pair(policy, task)
    return question_keep_probability(policy, task)


def _ks(k) -> np.ndarray:
    arr = np.atleast_1d(np.asarray(k))
    if arr.ndim != 1 or arr.size == 0:
        raise InputError(f"k must be a positive integer or a 1-d list of them, got {k!r}")
    return np.array([as_int(v, "k", 1) for v in arr.tolist()], dtype=float)


def pass_at_k_from_accuracy(J_q, rho, k) -> np.ndarray:
    r""":math:`\sum_{s_0} \rho(s_0) [1 - (1 - J(s_0))^k]` for each ``k`` (shape ``(len(k),)``).

    ``J_q`` and ``rho`` have the same shape; computed as ``-expm1(k log1p(-J))`` (no cancellation
    when ``J`` is small).
    """
    J_q = np.clip(np.asarray(J_q, dtype=float), 0.0, 1.0)
    rho = np.asarray(rho, dtype=float)
    if J_q.shape != rho.shape:
        raise InputError(f"J_q has shape {J_q.shape} but rho {rho.shape}")
    ks = _ks(k)
    with np.errstate(divide="ignore"):  # J = 1: log1p(-1) = -inf, miss probability 0
        log_miss = np.log1p(-J_q)
    hit = -np.expm1(ks[:, None] * log_miss[None, :])  # (len(k), |S0|)
    return np.clip(hit @ rho, 0.0, 1.0)  # a sum of rho to 1 + 1 ulp must not give pass@k > 1


def pass_at_k(policy: TabularPolicy, task: ReasoningTask, k: ArrayLike) -> np.ndarray:
    """Exact pass@k of ``policy`` for each ``k`` (a positive integer or a list; shape ``(len(k),)``)."""
    return pass_at_k_from_accuracy(question_accuracy(policy, task), task.question_dist, k)


def pass_at_k_estimator(n_correct: ArrayLike, n: int, k: int) -> np.ndarray:
    r"""Unbiased estimate of :math:`1 - (1-J)^k` from ``n`` draws with ``n_correct`` successes.

    :math:`1 - \binom{n-c}{k}/\binom{n}{k} = 1 - \prod_{i=n-c+1}^{n} (1 - k/i)` (elementwise).
    """
    n = as_int(n, "n (chains per question)", 1)
    k = as_int(k, "k", 1)
    if k > n:
        raise InputError(f"the pass@k estimator needs n >= k chains, got n={n}, k={k}")
    c = np.asarray(n_correct)
    if np.any(c < 0) or np.any(c > n):
        raise InputError(f"n_correct must lie in [0, {n}]")
    c = c.astype(np.int64)
    i = np.arange(1, n + 1, dtype=float)
    with np.errstate(divide="ignore"):  # i <= k: a factor 0, the estimate is 1
        log_terms = np.log1p(-np.minimum(k / i, 1.0))
    # cumulative sums from the top: sum_{i = n-c+1}^{n} log(1 - k/i)
    tail = np.concatenate([[0.0], np.cumsum(log_terms[::-1])])  # tail[c] = sum over the c largest i
    return 1.0 - np.exp(tail[c])


def sampled_pass_at_k(policy: TabularPolicy, task: ReasoningTask, n: int, k: ArrayLike,
                      rng: RandomSource) -> np.ndarray:
    """pass@k estimated from ``n`` sampled chains per question (unbiased; shape ``(len(k),)``)."""
    check_pair(policy, task)
    n = as_int(n, "n (chains per question)", 1)
    chains = sample_chains(policy, task, n, as_generator(rng))
    correct = keep_mask(chains, task).reshape(-1, n).sum(axis=1)  # rows grouped by question
    support = np.flatnonzero(task.question_dist > 0)
    rho = task.question_dist[support]
    return np.array([pass_at_k_estimator(correct, n, int(kk)) @ rho for kk in _ks(k)])

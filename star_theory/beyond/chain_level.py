r"""The chain-level update (curated retraining, Ferbach et al., arXiv 2407.09499) against the
per-step Markov refit of the analysis.

A policy gives every question :math:`s_0` a distribution over whole chains
:math:`c = (s_1, \dots, s_N)`, :math:`P(c \mid s_0) = \prod_n P_n(s_{n-1}, s_n)`. Retraining a model
that can represent *any* chain distribution on the chains an exact filter keeps gives, in the
infinite-sample limit, the base distribution conditioned on success:

.. math::

    Q(c \mid s_0) = P(c \mid s_0)\, [s_N = s_N^*(s_0)] / J(s_0)

(a question with :math:`J(s_0) = 0` keeps :math:`P(\cdot \mid s_0)`: it has no kept chain). The
analysis refits a *shared Markov* policy instead: every step's kernel from the kept transitions
pooled over questions. That is the projection of :math:`Q` onto Markov policies shared by all
questions in the sense of maximum likelihood (the minimiser of
:math:`\sum_{s_0} \rho(s_0) J(s_0)\, \mathrm{KL}(Q(\cdot|s_0) \,\|\, P'(\cdot|s_0))`, whose solution is
the row-normalised pooled transition mass). Pooled as STaR pools its kept data (question
:math:`s_0` weighted by :math:`\rho(s_0) J(s_0)`, the share of kept chains it yields), it is the
exact STaR operator (:func:`star_theory.exact.exact_star_step`); pooled with weights
:math:`\rho` (every question as much as it is asked) it is a different projection unless every
question has the same :math:`J(s_0)`, as in the symmetric family.

Sampled form: ``K`` chains per question from :math:`P(\cdot \mid s_0)`; the new chain distribution
of a question is the empirical distribution of its kept chains (a question with no kept chain
keeps its distribution). Its accuracy after one step has the closed form
:math:`\sum_{s_0} \rho(s_0) [1 - f(s_0) + f(s_0) J(s_0)]` with :math:`f = (1 - J(s_0))^K`: a question
is solved for good once one of its ``K`` samples is correct, which takes about
:math:`1 / J(s_0)` samples (Huang et al., arXiv 2412.01951, the start-up regime ``K J`` small).

Chains are enumerated: ``chains[j]`` is the ``j``-th tuple :math:`(s_1..s_N)` in row-major order over
levels ``1..N``; a distribution is an array ``(|S_0|, n_chains)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..exact import refit_rows
from ..model import ReasoningTask, TabularPolicy, check_pair, check_task
from ..sampling import as_generator
from ..validation import as_int

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from numpy.typing import ArrayLike
    from star_theory.aliases import RandomSource

MAX_CHAINS = 1 << 22
"""Most entries ``|S_0| * n_chains`` an enumerated chain distribution may hold."""


def enumerate_chains(task: ReasoningTask) -> np.ndarray:
    """Every chain ``(s_1, ..., s_N)`` of the task's levels (shape ``(n_chains, N)``, row-major)."""
    check_task(task)
    sizes = task.sizes[1:]
    total = int(np.prod(sizes, dtype=np.int64))
    if total * task.sizes[0] > MAX_CHAINS:
        raise InputError(
            f"level sizes {list(task.sizes)} give {total} chains per question (limit {MAX_CHAINS} entries in all)"
        )
    grids = np.indices(sizes).reshape(len(sizes), -1).T
    return grids.astype(np.int64)


def chain_distribution(policy: TabularPolicy, task: ReasoningTask, chains: np.ndarray | None = None) -> np.ndarray:
    r""":math:`P(c \mid s_0) = \prod_n P_n(s_{n-1}, s_n)` for every question and chain (``(|S_0|, n_chains)``)."""
    check_pair(policy, task)
    chains = enumerate_chains(task) if chains is None else chains
    s0 = np.arange(task.sizes[0])
    prob = policy.kernels[0][s0[:, None], chains[None, :, 0]]  # (|S0|, C)
    for n in range(1, task.n_steps):
        prob = prob * policy.kernels[n][chains[:, n - 1], chains[:, n]][None, :]
    return prob


def success_mask(task: ReasoningTask, chains: np.ndarray) -> np.ndarray:
    """``[s_N = s_N^*(s_0)]`` for every question and chain (boolean ``(|S_0|, n_chains)``)."""
    return chains[None, :, -1] == task.answers[:, None]


def chain_accuracy(dist: np.ndarray, task: ReasoningTask, chains: np.ndarray) -> float:
    r"""Accuracy of a chain distribution: :math:`\sum_{s_0} \rho(s_0) \sum_c Q(c|s_0) [s_N = s_N^*(s_0)]`."""
    return float(task.question_dist @ (dist * success_mask(task, chains)).sum(axis=1))


def chain_level_update(dist: np.ndarray, task: ReasoningTask, chains: np.ndarray) -> np.ndarray:
    r"""Condition every question's chain distribution on success: :math:`Q \propto P\,[s_N = s_N^*]`.

    A question with no successful chain (``J(s0) = 0``) keeps its distribution.
    """
    dist = _check_dist(dist, task, chains)
    kept = dist * success_mask(task, chains)
    J = kept.sum(axis=1, keepdims=True)
    return np.where(J > 0, kept / np.where(J > 0, J, 1.0), dist)


def per_step_refit(
    dist: np.ndarray, task: ReasoningTask, chains: np.ndarray, previous: TabularPolicy, weights: ArrayLike | None = None
) -> TabularPolicy:
    r"""The shared Markov refit of a chain distribution: each step's kernel from the transition mass
    :math:`\sum_{s_0} w(s_0) \sum_c Q(c|s_0) [s_{n-1} = s, s_n = s']`, row-normalised
    (:func:`star_theory.exact.refit_rows`; unvisited rows keep ``previous``'s row).

    ``weights`` :math:`w` (default :math:`\rho`) say how much each question counts. The kept data of
    STaR weigh question :math:`s_0` by :math:`\rho(s_0) J(s_0)` (a hard question yields fewer kept
    chains); with those weights the refit of :func:`chain_level_update` is the exact STaR operator.
    """
    dist = _check_dist(dist, task, chains)
    w = task.question_dist if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (task.sizes[0],) or np.any(w < 0) or not np.all(np.isfinite(w)):
        raise InputError(f"weights must be {task.sizes[0]} finite non-negative numbers, one per question")
    weighted = dist * w[:, None]  # (|S0|, C)
    mass = []
    for n in range(task.n_steps):
        a, b = task.sizes[n], task.sizes[n + 1]
        if n == 0:
            m = weighted @ np.eye(b)[chains[:, 0]]  # (|S0|, C) @ (C, |S1|): m[s0, s1] = sum_c [c_1 = s1] Q
        else:
            per_chain = weighted.sum(axis=0)
            m = np.bincount(chains[:, n - 1] * b + chains[:, n], weights=per_chain, minlength=a * b).reshape(a, b)
        mass.append(m)
    return refit_rows(mass, previous)


def markov_cross_entropy(
    dist: np.ndarray, policy: TabularPolicy, task: ReasoningTask, chains: np.ndarray, weights: ArrayLike | None = None
) -> float:
    r""":math:`-\sum_{s_0} w(s_0) \sum_c Q(c|s_0) \log P'(c|s_0)`: the objective :func:`per_step_refit`
    minimises over shared Markov policies ``P'`` (``weights`` as there, default :math:`\rho`)."""
    w = task.question_dist if weights is None else np.asarray(weights, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 log 0 = 0; Q > 0 where P' = 0 gives +inf
        logp = np.log(chain_distribution(policy, task, chains))
        terms = np.where(dist > 0, dist * logp, 0.0)
    return float(-(w @ terms.sum(axis=1)))


def chain_tv(p: np.ndarray, q: np.ndarray, task: ReasoningTask) -> float:
    r"""Mean total variation over questions, :math:`\sum_{s_0} \rho(s_0)\, \tfrac12 \sum_c |p - q|`."""
    return float(task.question_dist @ (0.5 * np.abs(np.asarray(p) - np.asarray(q)).sum(axis=1)))


def sampled_chain_level_update(
    dist: np.ndarray, task: ReasoningTask, chains: np.ndarray, chains_per_question: int, rng: RandomSource
) -> np.ndarray:
    """One finite-sample chain-level step: ``K`` draws per question, the empirical distribution of
    the kept ones (a question with no kept chain keeps its distribution)."""
    dist = _check_dist(dist, task, chains)
    K = as_int(chains_per_question, "chains_per_question K", 1)
    counts = as_generator(rng).multinomial(K, dist)  # (|S0|, C)
    kept = counts * success_mask(task, chains)
    n_kept = kept.sum(axis=1, keepdims=True)
    return np.where(n_kept > 0, kept / np.maximum(n_kept, 1), dist)


def expected_sampled_accuracy(J_q: np.ndarray, rho: np.ndarray, chains_per_question: int) -> float:
    r"""Closed form of the accuracy after one sampled chain-level step:
    :math:`\sum_{s_0} \rho(s_0) [1 - f + f J(s_0)]`, :math:`f = (1 - J(s_0))^K`."""
    K = as_int(chains_per_question, "chains_per_question K", 1)
    J_q = np.clip(np.asarray(J_q, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        f = np.exp(K * np.log1p(-J_q))
    return float(np.asarray(rho) @ (1.0 - f + f * J_q))


def sampled_accuracy_sd(J_q: np.ndarray, rho: np.ndarray, chains_per_question: int) -> float:
    r"""Standard deviation of that accuracy over draws: question :math:`s_0` ends at 1 with probability
    :math:`1 - f` and at :math:`J(s_0)` otherwise, independently, so the variance is
    :math:`\sum_{s_0} \rho(s_0)^2 f (1 - f) (1 - J(s_0))^2`."""
    K = as_int(chains_per_question, "chains_per_question K", 1)
    J_q = np.clip(np.asarray(J_q, dtype=float), 0.0, 1.0)
    with np.errstate(divide="ignore"):
        f = np.exp(K * np.log1p(-J_q))
    return float(np.sqrt(np.asarray(rho) ** 2 @ (f * (1.0 - f) * (1.0 - J_q) ** 2)))


def _check_dist(dist, task: ReasoningTask, chains: np.ndarray) -> np.ndarray:
    dist = np.asarray(dist, dtype=float)
    if dist.shape != (task.sizes[0], chains.shape[0]):
        raise InputError(f"chain distribution must have shape {(task.sizes[0], chains.shape[0])}, got {dist.shape}")
    if np.any(dist < 0) or not np.allclose(dist.sum(axis=1), 1.0, atol=1e-9):
        raise InputError("a chain distribution must hold one probability vector per question")
    return dist

r"""B-STaR's balance score and its adaptive temperature (Zeng et al., arXiv 2412.17256).

For one query, B-STaR samples ``K`` responses, *selects* those its reward accepts, and scores

.. math::

    \mathrm{bs} = \min(n_{\mathrm{correct}} / k_0, 1) \cdot n_{\mathrm{correct}} / n_{\mathrm{selected}},

with :math:`n_{\mathrm{correct}}` the number of *distinct* correct responses among the selected ones
(B-STaR deduplicates) and :math:`n_{\mathrm{selected}}` the number selected: the first factor rewards
enough different correct chains (exploration, capped at :math:`k_0`), the second the share of the
selected data that is new and correct (exploitation). In the tabular model the selector is the
exact verifier, so the selected chains are the kept (correct) ones, counted with multiplicity,
and the second factor is the share of distinct chains among them; ``bs = 0`` for a query with no
kept chain, and :math:`\mathrm{bs} \in [0, 1]` always.

**Exact form** (from the tabular policy, no sampling): the score at the exact expected counts,

.. math::

    \bar u(s_0) = \sum_{c:\, s_N = s_N^*(s_0)} \big[1 - (1 - P(c \mid s_0))^K\big], \qquad
    \bar n(s_0) = K J(s_0), \qquad
    \overline{\mathrm{bs}}(s_0) = \min(\bar u / k_0, 1)\, \bar u / \bar n,

with chains enumerated (:mod:`.chain_level`). It is a plug-in value, not the mean of the sampled
score: the two differ by the curvature of the score in the counts, and tend to the same limit as
``K`` grows.

**Adaptive temperature.** Each iteration scores every temperature ``T`` of a grid on the tempered
policy :math:`P^{(T)}` (:func:`star_theory.sim.variants.tempered_policy`) by the :math:`\rho`-mean
balance score (exact, or sampled from ``probe`` chains per question with a separate generator),
takes the best (the first in grid order on ties) and runs one ``temperature`` step of
:mod:`star_theory.sim.variants` at that ``T``. A grid of one temperature ``T = 1`` is plain STaR
(exact form: the same operator; sampled form: the same draws, since no probe is drawn).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..model import ReasoningTask, TabularPolicy
from ..sim.sampling import _check_pair, as_generator, keep_mask, question_keep_probability, sample_chains
from ..sim.variants import make_variant, tempered_policy
from ..validation import MAX_ITERATIONS, _as_int
from .chain_level import chain_distribution, enumerate_chains, success_mask


def balance_score(n_correct, n_selected, k0) -> np.ndarray:
    r""":math:`\min(u/k_0, 1)\, u / n_{\mathrm{sel}}` elementwise, 0 where nothing is selected
    (``0 <= u <= n_sel``, ``k0 > 0``; counts may be expected, non-integer values)."""
    u = np.asarray(n_correct, dtype=float)
    n = np.asarray(n_selected, dtype=float)
    if np.any(u < 0) or np.any(u > n * (1 + 1e-12)):
        raise InputError("balance score needs 0 <= n_correct <= n_selected")
    k0 = float(k0)
    if not (np.isfinite(k0) and k0 > 0):
        raise InputError(f"k0 must be > 0, got {k0!r}")
    ratio = np.divide(u, n, out=np.zeros(np.broadcast(u, n).shape), where=n > 0)
    return np.minimum(u / k0, 1.0) * np.minimum(ratio, 1.0)


def expected_unique_correct(policy: TabularPolicy, task: ReasoningTask, chains_per_question, chains=None) -> np.ndarray:
    r""":math:`\bar u(s_0) = \sum_{c \text{ correct}} 1 - (1 - P(c|s_0))^K` (shape ``(|S_0|,)``)."""
    K = _as_int(chains_per_question, "chains_per_question K", 1)
    chains = enumerate_chains(task) if chains is None else chains
    p = chain_distribution(policy, task, chains)
    with np.errstate(divide="ignore"):
        seen = -np.expm1(K * np.log1p(-np.minimum(p, 1.0)))
    return (seen * success_mask(task, chains)).sum(axis=1)


def exact_balance_score(policy: TabularPolicy, task: ReasoningTask, chains_per_question, k0, chains=None) -> np.ndarray:
    """The plug-in balance score of every question (module docstring; shape ``(|S_0|,)``)."""
    K = _as_int(chains_per_question, "chains_per_question K", 1)
    J_q = question_keep_probability(policy, task)
    return balance_score(expected_unique_correct(policy, task, K, chains), K * J_q, k0)


def sampled_balance_score(policy: TabularPolicy, task: ReasoningTask, chains_per_question, k0, rng) -> np.ndarray:
    """The balance score of every question of the support from ``K`` sampled chains each."""
    _check_pair(policy, task)
    K = _as_int(chains_per_question, "chains_per_question K", 1)
    chains = sample_chains(policy, task, K, as_generator(rng))
    ok = keep_mask(chains, task)
    code = np.zeros(chains.shape[0], dtype=np.int64)
    for n in range(task.n_steps + 1):  # one integer per chain (mixed radix over the levels)
        code = code * task.sizes[n] + chains[:, n]
    groups = range(chains.shape[0] // K)  # rows grouped by question, K each
    u = np.array([np.unique(code[i * K:(i + 1) * K][ok[i * K:(i + 1) * K]]).size for i in groups])
    return balance_score(u, ok.reshape(-1, K).sum(axis=1), k0)


@dataclass(frozen=True)
class BalanceChoice:
    """One iteration's choice: the grid, the mean score of each temperature, the chosen one."""

    temperatures: tuple[float, ...]
    scores: tuple[float, ...]
    chosen: float


def choose_temperature(policy, task, temperatures, chains_per_question, k0, probe=None, rng=None, chains=None) -> BalanceChoice:
    """The temperature of the grid with the largest mean balance score (exact, or sampled with ``probe``)."""
    grid = tuple(float(t) for t in temperatures)
    if not grid:
        raise InputError("the temperature grid is empty")
    if len(grid) == 1:
        return BalanceChoice(grid, (float("nan"),), grid[0])
    scores = []
    for T in grid:
        q = tempered_policy(policy, T)
        rho = task.question_dist
        if probe is None:  # every question of level 0
            scores.append(float(rho @ exact_balance_score(q, task, chains_per_question, k0, chains)))
        else:  # the questions of the support of rho, in increasing order
            scores.append(float(rho[rho > 0] @ sampled_balance_score(q, task, probe, k0, rng)))
    return BalanceChoice(grid, tuple(scores), grid[int(np.argmax(scores))])


def exact_bstar_trajectory(policy, task, iterations, temperatures, chains_per_question, k0):
    """Exact adaptive-temperature STaR: ``(policies [P^0..P^T], choices)``."""
    _check_pair(policy, task)
    T = _as_int(iterations, "iterations", 0, MAX_ITERATIONS)
    chains = enumerate_chains(task) if len(tuple(temperatures)) > 1 else None
    out, choices = [policy], []
    for _ in range(T):
        c = choose_temperature(out[-1], task, temperatures, chains_per_question, k0, chains=chains)
        choices.append(c)
        out.append(make_variant("temperature", temperature=c.chosen).exact_step(out[-1], task))
    return out, choices


def sampled_bstar_trajectory(policy, task, iterations, temperatures, chains_per_question, k0, rng, probe, probe_rng):
    """Sampled adaptive-temperature STaR: the choice from ``probe`` chains per question drawn with
    ``probe_rng``, the step from ``K`` chains per question drawn with ``rng``."""
    _check_pair(policy, task)
    T = _as_int(iterations, "iterations", 0, MAX_ITERATIONS)
    gen, pgen = as_generator(rng), as_generator(probe_rng)
    out, choices = [policy], []
    for _ in range(T):
        c = choose_temperature(out[-1], task, temperatures, chains_per_question, k0, probe=probe, rng=pgen)
        choices.append(c)
        step = make_variant("temperature", temperature=c.chosen).sampled_step(out[-1], task, chains_per_question, gen)
        out.append(step.policy)
    return out, choices

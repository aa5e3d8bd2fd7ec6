r"""B-STaR's balance score and its adaptive temperature (Zeng et al., arXiv 2412.17256).

For one query, B-STaR samples ``K`` responses, *selects* those its reward accepts, and scores

.. math::

    \mathrm{bs} = \min(n_{\mathrm{correct}} / k_0, 1) \cdot n_{\mathrm{correct}} / n_{\mathrm{selected}}.

**Official score** (``score="official"``, the default). It follows the authors' code,
``train_code/determine_hyper.py`` of github.com/hkust-nlp/B-STaR at commit
``a0f5d95eaba692327be71bb57716f621024af4ec`` (functions ``get_unique_trn_json`` and
``cal_modi_acc_soft``, where ``k0 = 8``): the reference solution is appended to each query's pool
with the top score, the selected responses are *deduplicated* (by query and output), and then
:math:`n_{\mathrm{correct}}` counts the distinct selected responses with the right answer and
:math:`n_{\mathrm{selected}}` the distinct selected ones. In the tabular model the reference is the
ground-truth chain :math:`c^*(s_0)` and the selector is the exact verifier, so every selected chain is
correct, :math:`n_{\mathrm{correct}} = n_{\mathrm{selected}} = u'`, the number of distinct chains
among the kept samples and :math:`c^*`, and :math:`\mathrm{bs} = \min(u'/k_0, 1) \ge \min(1/k_0, 1)`.
(The official code also caps the selected responses per query so that the whole set reaches a
target size, and scans the reward threshold; neither has a counterpart with an exact verifier: the
threshold that keeps exactly the correct responses maximises the score.)

**Multiplicity score** (``score="multiplicity"``, this toolkit's earlier definition, kept as a named
alternative): no reference, and :math:`n_{\mathrm{selected}}` counts the kept chains *with*
multiplicity, so the second factor is the share of distinct chains among the kept ones; ``bs = 0`` for
a query with no kept chain.

**Exact form** (from the tabular policy, no sampling): the score at the exact expected counts,

.. math::

    \bar u(s_0) = \sum_{c:\, s_N = s_N^*(s_0)} \big[1 - (1 - P(c \mid s_0))^K\big], \qquad
    \bar u'(s_0) = 1 + \sum_{c \ne c^*(s_0):\, s_N = s_N^*(s_0)} \big[1 - (1 - P(c \mid s_0))^K\big],

official :math:`\min(\bar u' / k_0, 1)`, multiplicity :math:`\min(\bar u / k_0, 1)\, \bar u / (K J(s_0))`,
with chains enumerated (:mod:`.chain_level`). :math:`\bar u, \bar u'` are exact expectations; the score
is a plug-in value, not the mean of the sampled score: the two differ by the curvature of the score in
the counts (the official score's cap is its only curvature).

**Adaptive temperature.** Each iteration scores every temperature ``T`` of a grid on the tempered
policy :math:`P^{(T)}` (:func:`star_theory.variants.tempered_policy`) by the :math:`\rho`-mean
balance score (exact, or sampled from ``probe`` chains per question with a separate generator),
takes the best (the first in grid order on ties) and runs one ``temperature`` step of
:mod:`star_theory.variants` at that ``T``. A grid of one temperature ``T = 1`` is plain STaR
(exact form: the same operator; sampled form: the same draws, since no probe is drawn).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..errors import InputError
from ..model import ReasoningTask, TabularPolicy, check_pair
from ..sampling import as_generator, keep_mask, question_keep_probability, sample_chains
from ..variants import make_variant, tempered_policy
from ..validation import MAX_ITERATIONS, as_int
from .chain_level import chain_distribution, enumerate_chains, success_mask

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from numpy.typing import ArrayLike
    from star_theory.aliases import RandomSource

BALANCE_SCORES = ("official", "multiplicity")
"""The balance-score definitions (module docstring); the first is the default."""


def _check_score(score: str) -> str:
    if score not in BALANCE_SCORES:
        raise InputError(f"score must be one of {', '.join(BALANCE_SCORES)}, got {score!r}")
    return score


def _reference_index(task: ReasoningTask) -> np.ndarray:
    """Row of the reference chain :math:`c^*(s_0)` in :func:`enumerate_chains` order, per question."""
    return np.ravel_multi_index(tuple(task.correct_chains[:, 1:].T), task.sizes[1:])


def balance_score(n_correct: ArrayLike, n_selected: ArrayLike, k0: float) -> np.ndarray:
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


def expected_unique_correct(policy: TabularPolicy, task: ReasoningTask, chains_per_question: int,
                            chains: np.ndarray | None = None,
                            with_reference: bool = False) -> np.ndarray:
    r""":math:`\bar u(s_0) = \sum_{c \text{ correct}} 1 - (1 - P(c|s_0))^K` (shape ``(|S_0|,)``);
    ``with_reference``: :math:`\bar u'`, the reference chain :math:`c^*(s_0)` counted as always present."""
    K = as_int(chains_per_question, "chains_per_question K", 1)
    chains = enumerate_chains(task) if chains is None else chains
    p = chain_distribution(policy, task, chains)
    with np.errstate(divide="ignore"):
        seen = -np.expm1(K * np.log1p(-np.minimum(p, 1.0)))
    if with_reference:
        seen[np.arange(task.sizes[0]), _reference_index(task)] = 1.0
    return (seen * success_mask(task, chains)).sum(axis=1)


def exact_balance_score(policy: TabularPolicy, task: ReasoningTask, chains_per_question: int, k0: int,
                        chains: np.ndarray | None = None,
                        score: str = "official") -> np.ndarray:
    """The plug-in balance score of every question (module docstring; shape ``(|S_0|,)``)."""
    K = as_int(chains_per_question, "chains_per_question K", 1)
    if _check_score(score) == "official":
        u = expected_unique_correct(policy, task, K, chains, with_reference=True)
        return balance_score(u, u, k0)
    J_q = question_keep_probability(policy, task)
    return balance_score(expected_unique_correct(policy, task, K, chains), K * J_q, k0)


def sampled_balance_score(policy: TabularPolicy, task: ReasoningTask, chains_per_question: int, k0: int,
                          rng: RandomSource | None,
                          score: str = "official") -> np.ndarray:
    """The balance score of every question of the support from ``K`` sampled chains each."""
    check_pair(policy, task)
    _check_score(score)
    K = as_int(chains_per_question, "chains_per_question K", 1)
    chains = sample_chains(policy, task, K, as_generator(rng))
    ok = keep_mask(chains, task)

    def encode(c):  # one integer per chain (mixed radix over the levels)
        code = np.zeros(c.shape[0], dtype=np.int64)
        for n in range(task.n_steps + 1):
            code = code * task.sizes[n] + c[:, n]
        return code

    code, ref = encode(chains), encode(task.correct_chains)
    groups = range(chains.shape[0] // K)  # rows grouped by question, K each
    selected = [code[i * K:(i + 1) * K][ok[i * K:(i + 1) * K]] for i in groups]
    if score == "official":  # the pool gets the reference; the selected set is deduplicated
        s0 = chains[::K, 0]
        u = np.array([np.unique(np.append(sel, ref[q])).size for sel, q in zip(selected, s0)])
        return balance_score(u, u, k0)
    u = np.array([np.unique(sel).size for sel in selected])
    return balance_score(u, ok.reshape(-1, K).sum(axis=1), k0)


@dataclass(frozen=True)
class BalanceChoice:
    """One iteration's choice: the grid, the mean score of each temperature, the chosen one."""

    temperatures: tuple[float, ...]
    scores: tuple[float, ...]
    chosen: float


def choose_temperature(policy: TabularPolicy, task: ReasoningTask, temperatures: Sequence[float],
                       chains_per_question: int, k0: int, probe: int | None = None, rng: RandomSource | None = None,
                       chains: np.ndarray | None = None,
                       score: str = "official") -> BalanceChoice:
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
            scores.append(float(rho @ exact_balance_score(q, task, chains_per_question, k0, chains, score)))
        else:  # the questions of the support of rho, in increasing order
            scores.append(float(rho[rho > 0] @ sampled_balance_score(q, task, probe, k0, rng, score)))
    return BalanceChoice(grid, tuple(scores), grid[int(np.argmax(scores))])


def exact_bstar_trajectory(policy: TabularPolicy, task: ReasoningTask, iterations: int, temperatures: Sequence[float],
                           chains_per_question: int, k0: int, score: str = "official") -> tuple[list[TabularPolicy],
                           list[BalanceChoice]]:
    """Exact adaptive-temperature STaR: ``(policies [P^0..P^T], choices)``."""
    check_pair(policy, task)
    T = as_int(iterations, "iterations", 0, MAX_ITERATIONS)
    chains = enumerate_chains(task) if len(tuple(temperatures)) > 1 else None
    out, choices = [policy], []
    for _ in range(T):
        c = choose_temperature(out[-1], task, temperatures, chains_per_question, k0, chains=chains, score=score)
        choices.append(c)
        out.append(make_variant("temperature", temperature=c.chosen).exact_step(out[-1], task))
    return out, choices


def sampled_bstar_trajectory(policy: TabularPolicy, task: ReasoningTask, iterations: int,
                             temperatures: Sequence[float], chains_per_question: int, k0: int, rng: RandomSource,
                             probe: int, probe_rng: RandomSource,
                             score: str = "official") -> tuple[list[TabularPolicy], list[BalanceChoice]]:
    """Sampled adaptive-temperature STaR: the choice from ``probe`` chains per question drawn with
    ``probe_rng``, the step from ``K`` chains per question drawn with ``rng``."""
    check_pair(policy, task)
    T = as_int(iterations, "iterations", 0, MAX_ITERATIONS)
    gen, pgen = as_generator(rng), as_generator(probe_rng)
    out, choices = [policy], []
    for _ in range(T):
        c = choose_temperature(out[-1], task, temperatures, chains_per_question, k0, probe=probe, rng=pgen, score=score)
        choices.append(c)
        step = make_variant("temperature", temperature=c.chosen).sampled_step(out[-1], task, chains_per_question, gen)
        out.append(step.policy)
    return out, choices

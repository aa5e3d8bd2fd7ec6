r"""Replace or accumulate the training data across STaR rounds (the two data rules of Gerstgrasser et
al., arXiv 2404.01413, who study them for unfiltered self-training; under STaR's verifier this module
only computes what the tabular model does, a setting that paper makes no claim about).

Plain STaR *replaces* its data: round ``t`` refits on the chains kept in round ``t`` only. The
*accumulate* rule refits on the kept chains of the last ``window`` rounds (``window=None``: all
rounds so far), optionally together with a pretraining corpus of unfiltered chains drawn once from
the base policy :math:`P^0`.

**Sampled form.** Round ``t`` draws ``K`` chains per question from :math:`P^t` and keeps the
correct ones (:meth:`star_theory.variants.StarVariant.sampled_step` of ``star``, whose counts are
reused); the refit (:func:`star_theory.sampling.refit_from_counts`) uses

.. math::

    C^t_n = c^{\mathrm{corpus}}_n + \sum_{i = t - w + 1}^{t} c^i_n,

where :math:`c^{\mathrm{corpus}}` counts the transitions of ``corpus_chains`` unfiltered chains per
question drawn once from :math:`P^0` (weighted like the kept counts when :math:`\rho` is not
uniform). ``window=1`` and no corpus is plain STaR, draw for draw.

**Exact form.** Expected counts are proportional to the exact kept mass :math:`W_n(P^i)`
(:func:`star_theory.exact.kept_transition_mass`) and to the unfiltered transition mass
:math:`\bar M_n(P^0)` (the same function with every answer accepted), so

.. math::

    P^{t+1} = \mathrm{Refit}\Big(\kappa\, \bar M(P^0) + \sum_{i = t - w + 1}^{t} W(P^i)\Big),
    \qquad \kappa = \frac{\text{corpus chains per question}}{K},

rows with no mass keeping their previous row. ``window=1``, :math:`\kappa = 0` is the exact STaR
operator.

**Unfiltered control** (``filtered=False``): every sampled chain is kept (the setting of
Gerstgrasser et al., a model trained on its own unfiltered outputs). Its exact form is a fixed
point (the refit of :math:`\bar M(P)` is ``P``); its sampled form drifts away from :math:`P^0`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..exact import kept_transition_mass, refit_rows
from ..model import ReasoningTask, TabularPolicy, check_pair
from ..validation import MAX_ITERATIONS, as_int, as_nonnegative_float
from ..sampling import (
    as_generator,
    question_support,
    question_weights,
    refit_from_counts,
    sample_chains,
    transition_counts,
)
from ..variants import make_variant

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from star_theory.aliases import RandomSource


def _window(window) -> int | None:
    return None if window is None else as_int(window, "window (rounds of data kept)", 1)


def _recent(history: list, window: int | None) -> list:
    return history if window is None else history[-window:]


def _sum(masses: list[list[np.ndarray]]) -> list[np.ndarray]:
    return [np.sum(parts, axis=0) for parts in zip(*masses)]


def unfiltered_mass(policy: TabularPolicy, task: ReasoningTask) -> list[np.ndarray]:
    r""":math:`\bar M_n(s, s') = \Pr(s_{n-1} = s, s_n = s')`: every chain kept (accept = 1 everywhere)."""
    return kept_transition_mass(policy, task, np.ones((task.sizes[0], task.sizes[-1])))


def _round_mass(policy: TabularPolicy, task: ReasoningTask, filtered: bool) -> list[np.ndarray]:
    return kept_transition_mass(policy, task) if filtered else unfiltered_mass(policy, task)


def exact_accumulate_trajectory(
    policy: TabularPolicy, task: ReasoningTask, iterations: int, window: int | None = None, corpus_weight: float = 0.0,
    filtered: bool = True,
) -> list[TabularPolicy]:
    """Policies ``[P^0, ..., P^T]`` of the exact accumulate rule (module docstring)."""
    check_pair(policy, task)
    T = as_int(iterations, "iterations", 0, MAX_ITERATIONS)
    w = _window(window)
    kappa = as_nonnegative_float(corpus_weight, "corpus_weight")
    base = [kappa * m for m in unfiltered_mass(policy, task)] if kappa > 0 else None
    out, history = [policy], []
    for _ in range(T):
        history.append(_round_mass(out[-1], task, filtered))
        parts = _recent(history, w) + ([base] if base is not None else [])
        out.append(refit_rows(_sum(parts), out[-1]))
    return out


def corpus_counts(policy: TabularPolicy, task: ReasoningTask, chains_per_question: int,
                  rng: RandomSource) -> list[np.ndarray]:
    """Transition counts of an unfiltered corpus: ``chains_per_question`` chains per question from ``policy``."""
    chains = sample_chains(policy, task, chains_per_question, rng)
    w = question_weights(task)
    weights = None if np.allclose(w[question_support(task)], 1.0) else w[chains[:, 0]]
    return transition_counts(chains, task, weights)


def sampled_accumulate_trajectory(
    policy: TabularPolicy,
    task: ReasoningTask,
    iterations: int,
    chains_per_question: int,
    rng: RandomSource,
    window: int | None = None,
    corpus_chains: int = 0,
    empty_rows: str = "keep",
    filtered: bool = True,
) -> list[TabularPolicy]:
    """Policies ``[P^0, ..., P^T]`` of the sampled accumulate rule; the corpus (if any) is drawn first."""
    check_pair(policy, task)
    T = as_int(iterations, "iterations", 0, MAX_ITERATIONS)
    w = _window(window)
    n0 = as_int(corpus_chains, "corpus_chains", 0)
    gen = as_generator(rng)
    base = corpus_counts(policy, task, n0, gen) if n0 > 0 else None
    # unfiltered: a verifier that accepts every answer (fp = 1, fn = 0)
    star = make_variant("star") if filtered else make_variant("noisy-verifier", fp=1.0, fn=0.0)
    out, history = [policy], []
    for _ in range(T):
        step = star.sampled_step(out[-1], task, chains_per_question, gen, empty_rows)
        history.append(list(step.counts))
        parts = _recent(history, w) + ([base] if base is not None else [])
        out.append(refit_from_counts(_sum(parts), out[-1], empty_rows))
    return out

r"""Outcome-reward policy gradient (REINFORCE, RLOO, GRPO, Dr. GRPO) on the tabular model, exactly.

**Policy.** Each step's kernel is a softmax of logits, :math:`P_n(\cdot \mid s) =
\mathrm{softmax}(\theta_n(s, \cdot))`; a :class:`~star_theory.model.TabularPolicy` is read as the
logits :math:`\theta_n = \log P_n` (a zero entry is the logit :math:`-\infty`: it stays 0 under every
update here). The score of a chain :math:`c = (s_0, \dots, s_N)` is

.. math::

    \partial \log \pi(c) / \partial \theta_n(s, a) = [s_{n-1} = s]\,([s_n = a] - P_n(s, a)).

**Groups.** A question :math:`s_0 \sim \rho`; a group is ``G`` chains :math:`c_1..c_G` drawn from
:math:`P(\cdot \mid s_0)`, rewards :math:`r_i \in \{0, 1\}` (1 for the right answer; with ``accept``, 1
with probability ``accept[s0, s_N]``), advantages :math:`A_i` from the group's rewards, and the update

.. math::

    g_n = \mathbb E\Big[\frac1G \sum_i A_i\, \nabla_{\theta_n} \log \pi(c_i)\Big].

Methods (:data:`METHODS`; :func:`group_advantages`):

* ``reinforce``: :math:`A_i = r_i - b` with a constant baseline ``b``;
* ``rloo``: :math:`A_i = r_i - \frac{1}{G-1}\sum_{j \ne i} r_j` (needs ``G >= 2``);
* ``grpo``: :math:`A_i = (r_i - \bar r) / (\sigma + \delta)`. ``std="sample"`` (default) is the
  Bessel-corrected :math:`\sigma^2 = \frac{1}{G-1}\sum_j (r_j - \bar r)^2` (``torch.Tensor.std``'s default,
  which TRL-style GRPO code calls), ``std="population"`` divides by ``G``; ``delta`` defaults to
  ``1e-4`` (the constant those implementations add). A group of equal rewards has :math:`A = 0`;
* ``dr-grpo``: :math:`A_i = r_i - \bar r` (no std; chains here have one length, so Dr. GRPO's removal of
  the length normalisation changes nothing else).

**Exact expected update.** Given :math:`s_0`, the other ``G - 1`` rewards are independent of
:math:`c_1` and binomial with the question's success probability :math:`p(s_0)`, so
:math:`\mathbb E[A_1 \mid r_1 = r, s_0] = a_r(p(s_0))` is a binomial sum over
:math:`k = \sum_{j > 1} r_j` (:func:`advantage_weights`). Since :math:`\mathbb E[\nabla \log \pi \mid s_0] = 0`,

.. math::

    g_n(s, a) = \sum_{s_0} w(s_0)\, \big[X_n(s, a) - P_n(s, a) \textstyle\sum_{a'} X_n(s, a')\big],\quad
    X_n(s, a) = \alpha_{n-1}(s_0, s) P_n(s, a) \beta_n(s_0, a),

with :math:`w(s_0) = \rho(s_0)\,(a_1 - a_0)(p(s_0))` and :math:`\alpha, \beta` the forward/backward
messages of :mod:`star_theory.exact`: :math:`\sum_{s_0} w X_n` is
:func:`~star_theory.exact.kept_transition_mass` with :math:`\rho` replaced by ``w``
(:func:`weighted_score_gradient`). The update costs the matrix products of one exact STaR step.
Consequences (tested): ``reinforce`` and ``rloo`` give :math:`a_1 - a_0 = 1`, the gradient
:math:`\nabla_\theta J` itself (unbiased); ``dr-grpo`` gives :math:`(G-1)/G \cdot \nabla_\theta J`;
``grpo`` gives a question-dependent weight :math:`c_G(p) = a_1 - a_0`, so its update is the gradient of
:math:`\sum_{s_0} \rho(s_0) \Phi_G(p(s_0))` with :math:`\Phi_G' = c_G`, not a multiple of
:math:`\nabla J` once questions differ in :math:`p(s_0)` (its std-normalisation bias). The exact STaR
step is :math:`P^{t+1}_n = W_n / \mathrm{rowsum}(W_n)`, so :math:`P^{t+1}_n - P_n =
\nabla_{\theta_n} J / \mathrm{rowsum}(W_n)` row by row: STaR moves the kernels (not the logits) along
the same gradient, each row scaled by the inverse of its kept mass.

**Zero signal.** A group whose rewards are all equal gives every advantage of ``rloo``, ``grpo`` and
``dr-grpo`` the value 0: probability :math:`\sum_{s_0} \rho(s_0) (p^G + (1-p)^G)`
(:func:`zero_signal_probability`).

**Dynamics.** :func:`expected_trajectory` iterates :math:`\theta \leftarrow \theta + \eta\, g(\theta)`
(the expected update at learning rate :math:`\eta`); :func:`gradient_flow` integrates the mean-field
limit :math:`d\theta/dt = g(\theta)` (small steps :math:`\eta \to 0` with :math:`t = \eta \times`
iterations) by classical Runge-Kutta (RK4); :func:`sampled_trajectory` takes the finite-sample step
(:func:`sampled_update`: ``groups`` groups of ``G`` chains per question of the support, the
stratified estimator :math:`\sum_{s_0} \rho(s_0) \frac{1}{\text{groups}} \sum_{\text{groups}} \frac1G
\sum_i A_i \nabla \log \pi(c_i)`, unbiased for :math:`g`).
"""

from __future__ import annotations

from math import comb
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from ..errors import InputError
from ..exact import accept_matrix, backward_success, forward_marginals
from ..model import ReasoningTask, TabularPolicy, check_pair, check_policy
from ..rules import Rule
from ..sampling import (
    SampledStep,
    as_generator,
    keep_mask,
    question_keep_probability,
    question_support,
    sample_chains,
    transition_counts,
)
from ..validation import as_int, as_nonnegative_float

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from numpy.typing import ArrayLike
    from star_theory.aliases import RandomSource

METHODS = ("reinforce", "rloo", "grpo", "dr-grpo")
"""The advantage estimators (module docstring)."""

STD_KINDS = ("sample", "population")
"""GRPO's standard deviation: Bessel-corrected (``sample``, divides by ``G - 1``) or by ``G``."""

GRPO_DELTA = 1e-4
"""GRPO's default constant added to the group standard deviation."""


def _check_method(method: str, group_size, std: str = "sample", delta=GRPO_DELTA) -> int:
    if method not in METHODS:
        raise InputError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    G = as_int(group_size, "group_size G", 1)
    if method != "reinforce" and G < 2:
        raise InputError(f"method {method!r} needs group_size G >= 2, got {G}")
    if std not in STD_KINDS:
        raise InputError(f"std must be one of {', '.join(STD_KINDS)}, got {std!r}")
    as_nonnegative_float(delta, "delta")
    return G


def group_advantages(rewards: ArrayLike, method: str, baseline: float = 0.0, std: str = "sample",
                     delta: float = GRPO_DELTA) -> np.ndarray:
    r"""Advantages :math:`A_i` of each group (the last axis of ``rewards``, size ``G``; module docstring)."""
    r = np.asarray(rewards, dtype=float)
    if r.ndim < 1 or r.shape[-1] < 1 or not np.all(np.isfinite(r)):
        raise InputError(f"rewards must be a finite array with groups on the last axis, got shape {r.shape}")
    G = _check_method(method, r.shape[-1], std, delta)
    if method == "reinforce":
        return r - float(baseline)
    total = r.sum(axis=-1, keepdims=True)
    if method == "rloo":
        return r - (total - r) / (G - 1)
    centred = r - total / G
    if method == "dr-grpo":
        return centred
    var = (centred ** 2).sum(axis=-1, keepdims=True) / (G - 1 if std == "sample" else G)
    scale = np.sqrt(var) + float(delta)
    return np.divide(centred, scale, out=np.zeros_like(centred), where=scale > 0)


def advantage_weights(p: ArrayLike, method: str, group_size: int, baseline: float = 0.0, std: str = "sample",
                      delta: float = GRPO_DELTA) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`(a_0, a_1)` with :math:`a_r(p) = \mathbb E[A_1 \mid r_1 = r]` when the other ``G - 1``
    rewards are Bernoulli(``p``): :math:`a_r = \sum_{k=0}^{G-1} \binom{G-1}{k} p^k (1-p)^{G-1-k}
    A_1(r, 1^k, 0^{G-1-k})` (shapes of ``p``, ``0 <= p <= 1``)."""
    G = _check_method(method, group_size, std, delta)
    p = np.asarray(p, dtype=float)
    if not np.all((p >= 0) & (p <= 1)):
        raise InputError("p must hold probabilities in [0, 1]")
    ks = np.arange(G)
    groups = np.zeros((2, G, G))  # [r_1, k, member]: r_1 first, then k ones, then zeros
    groups[1, :, 0] = 1.0
    groups[:, :, 1:] = (np.arange(G - 1)[None, None, :] < ks[None, :, None])
    first = group_advantages(groups, method, baseline, std, delta)[:, :, 0]  # (2, G): A_1(r, k)
    pmf = np.stack([comb(G - 1, int(k)) * p ** k * (1.0 - p) ** (G - 1 - k) for k in ks], axis=-1)
    return pmf @ first[0], pmf @ first[1]


def question_success(policy: TabularPolicy, task: ReasoningTask, accept: ArrayLike | None = None) -> np.ndarray:
    r""":math:`p(s_0) = \Pr(r = 1 \mid s_0)` (shape ``(|S_0|,)``; ``accept`` as in :mod:`star_theory.exact`)."""
    check_pair(policy, task)
    return np.clip(question_keep_probability(policy, task, accept), 0.0, 1.0)


def _score_direction(mass: list[np.ndarray], policy: TabularPolicy) -> list[np.ndarray]:
    r""":math:`X_n - P_n \odot \mathrm{rowsum}(X_n)`: the logit direction of a per-step transition mass."""
    return [x - k * x.sum(axis=1, keepdims=True) for x, k in zip(mass, policy.kernels)]


def weighted_score_gradient(policy: TabularPolicy, task: ReasoningTask, weights: ArrayLike,
                            accept: ArrayLike | None = None) -> list[np.ndarray]:
    r""":math:`\sum_{s_0} w(s_0)\, \mathbb E[r\, \nabla_{\theta_n} \log \pi(c) \mid s_0]` for every step
    (``weights`` of shape ``(|S_0|,)``; :math:`w = \rho` gives :math:`\nabla_\theta J`)."""
    check_pair(policy, task)
    w = np.asarray(weights, dtype=float)
    if w.shape != (task.sizes[0],) or not np.all(np.isfinite(w)):
        raise InputError(f"weights must be {task.sizes[0]} finite numbers, got shape {w.shape}")
    alphas = forward_marginals(policy, task)
    betas = backward_success(policy, task, None if accept is None else accept_matrix(accept, task, True))
    mass = [k * ((alphas[n] * w[:, None]).T @ betas[n + 1]) for n, k in enumerate(policy.kernels)]
    return _score_direction(mass, policy)


def accuracy_gradient(policy: TabularPolicy, task: ReasoningTask, accept: ArrayLike | None = None) -> list[np.ndarray]:
    r""":math:`\nabla_{\theta_n} J` for every step (the softmax logits' gradient of the accuracy)."""
    return weighted_score_gradient(policy, task, task.question_dist, accept)


def question_weights_of(policy: TabularPolicy, task: ReasoningTask, method: str, group_size: int, baseline: float = 0.0,
                        std: str = "sample", delta: float = GRPO_DELTA, accept: ArrayLike | None = None) -> np.ndarray:
    r""":math:`w(s_0) = \rho(s_0)\,(a_1 - a_0)(p(s_0))`: how much each question weighs in the update."""
    a0, a1 = advantage_weights(question_success(policy, task, accept), method, group_size, baseline, std, delta)
    return task.question_dist * (a1 - a0)


def expected_update(policy: TabularPolicy, task: ReasoningTask, method: str, group_size: int, baseline: float = 0.0,
                    std: str = "sample", delta: float = GRPO_DELTA,
                    accept: ArrayLike | None = None) -> list[np.ndarray]:
    r"""The exact expected update :math:`g_n` of ``method`` with groups of ``group_size`` chains: one
    logit-gradient matrix per step (shape of ``kernels[n]``; module docstring)."""
    w = question_weights_of(policy, task, method, group_size, baseline, std, delta, accept)
    return weighted_score_gradient(policy, task, w, accept)


def zero_signal_probability(policy: TabularPolicy, task: ReasoningTask, group_size: int,
                            accept: ArrayLike | None = None) -> float:
    r""":math:`\sum_{s_0} \rho(s_0) (p^G + (1-p)^G)`: the probability that a group's rewards are all equal."""
    G = as_int(group_size, "group_size G", 1)
    p = question_success(policy, task, accept)
    return float(task.question_dist @ (p ** G + (1.0 - p) ** G))


# ----------------------------------------------------------------------------- logits and steps


def policy_logits(policy: TabularPolicy) -> list[np.ndarray]:
    r""":math:`\theta_n = \log P_n` (``-inf`` where :math:`P_n = 0`)."""
    check_policy(policy)
    with np.errstate(divide="ignore"):
        return [np.log(k) for k in policy.kernels]


def softmax_policy(logits: Sequence[ArrayLike]) -> TabularPolicy:
    r""":math:`P_n = \mathrm{softmax}(\theta_n)` row by row (every row needs one finite logit)."""
    out = []
    for n, th in enumerate(logits):
        th = np.asarray(th, dtype=float)
        top = th.max(axis=1, keepdims=True)
        if th.ndim != 2 or np.any(np.isnan(th)) or np.any(np.isposinf(th)) or not np.all(np.isfinite(top)):
            raise InputError(f"logits[{n}] must be a 2-d array with a finite logit in every row and no NaN or +inf")
        e = np.exp(th - top)
        out.append(e / e.sum(axis=1, keepdims=True))
    return TabularPolicy(out)


def logit_step(policy: TabularPolicy, update: list[np.ndarray], learning_rate: float) -> TabularPolicy:
    r""":math:`\mathrm{softmax}(\log P_n + \eta\, g_n)` for every step."""
    eta = as_nonnegative_float(learning_rate, "learning_rate")
    logits = policy_logits(policy)
    if len(update) != len(logits) or any(np.shape(g) != th.shape for g, th in zip(update, logits)):
        raise InputError("update must hold one matrix per step, shaped as the kernels")
    return softmax_policy([th + eta * np.asarray(g, dtype=float) for th, g in zip(logits, update)])


def expected_step(policy: TabularPolicy, task: ReasoningTask, method: str, group_size: int, learning_rate: float,
                  **kw: Any) -> TabularPolicy:
    """One expected step :math:`\\theta + \\eta\\, g(\\theta)` (``kw``: baseline, std, delta, accept)."""
    return logit_step(policy, expected_update(policy, task, method, group_size, **kw), learning_rate)


def expected_trajectory(policy: TabularPolicy, task: ReasoningTask, method: str, group_size: int,
                        learning_rate: float, iterations: int, **kw: Any) -> list[TabularPolicy]:
    """Policies ``[P^0, ..., P^T]`` of the expected update at ``learning_rate`` (``kw`` as :func:`expected_update`)."""
    T = as_int(iterations, "iterations", 0)
    out = [policy]
    for _ in range(T):
        out.append(expected_step(out[-1], task, method, group_size, learning_rate, **kw))
    return out


def gradient_flow(policy: TabularPolicy, task: ReasoningTask, method: str, group_size: int, time: float, steps: int,
                  **kw: Any) -> list[TabularPolicy]:
    r"""The mean-field limit :math:`d\theta/dt = g(\theta)` by RK4 with ``steps`` equal steps up to
    ``time``: policies at :math:`t = 0, h, \dots, \text{time}` (:math:`h` = time / steps)."""
    t_end = as_nonnegative_float(time, "time")
    m = as_int(steps, "steps", 1)
    h = t_end / m

    def g(th):
        return expected_update(softmax_policy(th), task, method, group_size, **kw)

    def add(th, d, c):
        return [a + c * b for a, b in zip(th, d)]

    th = policy_logits(policy)
    out = [policy]
    for _ in range(m):
        k1 = g(th)
        k2 = g(add(th, k1, h / 2))
        k3 = g(add(th, k2, h / 2))
        k4 = g(add(th, k3, h))
        th = [a + h / 6 * (b1 + 2 * b2 + 2 * b3 + b4) for a, b1, b2, b3, b4 in zip(th, k1, k2, k3, k4)]
        out.append(softmax_policy(th))
    return out


# ----------------------------------------------------------------------------- finite samples


def _signed_counts(chains, task, weights) -> list[np.ndarray]:
    """Per-step transition counts weighted by signed ``weights`` (positive part minus negative part)."""
    pos = transition_counts(chains, task, np.maximum(weights, 0.0))
    neg = transition_counts(chains, task, np.maximum(-weights, 0.0))
    return [a - b for a, b in zip(pos, neg)]


def sampled_update(policy: TabularPolicy, task: ReasoningTask, method: str, group_size: int, rng: RandomSource,
                   groups: int = 1,
                   baseline: float = 0.0, std: str = "sample", delta: float = GRPO_DELTA,
                   accept: ArrayLike | None = None):
    r"""One finite-sample estimate of :math:`g` (module docstring): ``(update, info)`` with ``info`` a
    dict of ``chains`` (drawn), ``correct`` (rewarded) and ``zero_signal_groups`` (groups of equal rewards)."""
    check_pair(policy, task)
    G = _check_method(method, group_size, std, delta)
    B = as_int(groups, "groups (per question)", 1)
    gen = as_generator(rng)
    chains = sample_chains(policy, task, B * G, gen)  # rows grouped by question, B * G each
    r = keep_mask(chains, task, gen, accept).astype(float)
    support = question_support(task)
    R = r.reshape(support.size, B, G)
    A = group_advantages(R, method, baseline, std, delta)
    w = (task.question_dist[support][:, None, None] * A / (B * G)).ravel()
    update = _score_direction(_signed_counts(chains, task, w), policy)
    flat = R.reshape(-1, G)
    info = {"chains": int(chains.shape[0]), "correct": int(r.sum()),
            "zero_signal_groups": int(np.sum(np.all(flat == flat[:, :1], axis=1))),
            "rewarded_counts": tuple(transition_counts(chains[r > 0], task))}
    return update, info


def sampled_trajectory(policy: TabularPolicy, task: ReasoningTask, method: str, group_size: int, learning_rate: float,
                       iterations: int, rng: RandomSource, groups: int = 1, **kw: Any):
    """Policies ``[P^0, ..., P^T]`` of the finite-sample step, and the per-iteration ``info`` dicts."""
    T = as_int(iterations, "iterations", 0)
    gen = as_generator(rng)
    out, infos = [policy], []
    for _ in range(T):
        g, info = sampled_update(out[-1], task, method, group_size, gen, groups, **kw)
        out.append(logit_step(out[-1], g, learning_rate))
        infos.append(info)
    return out, infos


# ----------------------------------------------------------------------------- entropy and the plug-in rule


def policy_entropy(policy: TabularPolicy, task: ReasoningTask) -> float:
    r""":math:`\mathbb E_{s_0 \sim \rho} H(c \mid s_0) = \sum_n \sum_s \mu_{n-1}(s) H(P_n(s, \cdot))` in
    nats, with :math:`\mu_{n-1}(s) = \sum_{s_0} \rho(s_0) \alpha_{n-1}(s_0, s)` (the entropy of the
    kernels where the policy's own chains visit them)."""
    alphas = forward_marginals(policy, task)
    total = 0.0
    for n, k in enumerate(policy.kernels):
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(k > 0, k * np.log(k), 0.0).sum(axis=1)
        total += float(task.question_dist @ alphas[n] @ h)
    return total


def policy_gradient_rule(method: str, group_size: int, learning_rate: float, **kw: Any) -> Rule:
    """The method as a plug-in :class:`~star_theory.rules.Rule`: exact form = the expected step; sampled
    form with ``K`` chains per question = ``K / G`` groups per question (``K`` a multiple of ``G``)."""
    G = _check_method(method, group_size, kw.get("std", "sample"), kw.get("delta", GRPO_DELTA))
    eta = as_nonnegative_float(learning_rate, "learning_rate")

    def exact(policy, task):
        return expected_step(policy, task, method, G, eta, **kw)

    def sampled(policy, task, K, rng):
        if K % G:
            raise InputError(f"chains per question K={K} must be a multiple of the group size G={G}")
        g, info = sampled_update(policy, task, method, G, rng, K // G, **kw)
        return SampledStep(logit_step(policy, g, eta), info["chains"], info["correct"], 0, info["rewarded_counts"])

    return Rule(f"{method}-G{G}-lr{eta:g}", exact, sampled,
                description=f"{method} policy gradient, groups of {G}, learning rate {eta:g} on the logits")

r"""Exact (infinite-sample) quantities of STaR on any tabular policy.

All functions are vectorised over states and questions with forward/backward passes:

* forward marginals :math:`\alpha_n(s_0, s) = \Pr_P(s_n = s \mid s_0)`,
  :math:`\alpha_0 = I`, :math:`\alpha_n = \alpha_{n-1} P_n`;
* backward success :math:`\beta_n(s_0, s) = \Pr_P(r = 1 \mid s_n = s, s_0)`,
  :math:`\beta_N(s_0, s) = [s = s_N^*(s_0)]`, :math:`\beta_{n-1} = \beta_n P_n^\top`.

Accuracy is :math:`J(P) = \sum_{s_0} \rho(s_0)\, \alpha_N(s_0, s_N^*(s_0))`.

The exact STaR operator refits every step on the kept (``r = 1``) transitions, pooled over
questions:

.. math::

    W_n(s, s') = \Pr(s_{n-1} = s, s_n = s', r = 1)
               = P_n(s, s') \sum_{s_0} \rho(s_0)\, \alpha_{n-1}(s_0, s)\, \beta_n(s_0, s'),

    P^{t+1}_n(s' \mid s) = W_n(s, s') / \sum_{s''} W_n(s, s'').

**Unvisited states.** A row whose kept mass :math:`\sum_{s'} W_n(s, s')` is zero (the kept chains
never pass through ``s`` at level ``n-1``) keeps its previous row by default (``empty_rows="keep"``).
If no chain is ever kept (``J = 0``) the operator therefore returns the policy unchanged. The
other rules (``uniform``, ``mean``, ``marginals``) are those of :mod:`star_theory.empty_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .aliases import StepStrings
from .empty_rows import check_empty_rows, fill_empty_rows
from .errors import InputError
from .model import ReasoningTask, TabularPolicy, check_pair, check_policy, check_task
from .validation import check_questions


def accept_matrix(accept, task: ReasoningTask, probabilities: bool = False) -> np.ndarray:
    """The verifier's acceptance weights (shape ``(|S_0|, |S_N|)``, finite, >= 0; ``<= 1`` too
    with ``probabilities``); ``None``: the exact verifier."""
    if accept is None:
        acc = np.zeros((task.sizes[0], task.sizes[-1]))
        acc[np.arange(task.sizes[0]), task.answers] = 1.0
        return acc
    try:
        acc = np.asarray(accept, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"accept must be a numeric matrix, got {accept!r}") from None
    if acc.shape != (task.sizes[0], task.sizes[-1]):
        raise InputError(f"accept must have shape {(task.sizes[0], task.sizes[-1])}, got {acc.shape}")
    if probabilities and not (np.all(np.isfinite(acc)) and np.all(acc >= 0) and np.all(acc <= 1)):
        raise InputError("accept must hold probabilities in [0, 1]")
    if not np.all(np.isfinite(acc)) or np.any(acc < 0):
        raise InputError("accept must hold finite non-negative weights")
    return acc


def forward_marginals(policy: TabularPolicy, task: ReasoningTask) -> list[np.ndarray]:
    r""":math:`\alpha_n(s_0, s) = \Pr(s_n = s \mid s_0)` for ``n = 0..N`` (each ``(|S_0|, |S_n|)``)."""
    check_pair(policy, task)
    alphas = [np.eye(task.sizes[0])]
    for k in policy.kernels:
        alphas.append(alphas[-1] @ k)  # (|S0|, |S_{n-1}|) @ (|S_{n-1}|, |S_n|)
    return alphas


def backward_success(
    policy: TabularPolicy, task: ReasoningTask, accept: np.ndarray | None = None
) -> list[np.ndarray]:
    r""":math:`\beta_n(s_0, s) = \Pr(r = 1 \mid s_n = s, s_0)` for ``n = 0..N``.

    ``accept`` (shape ``(|S_0|, |S_N|)``) replaces the indicator :math:`[s = s_N^*(s_0)]` by a
    general acceptance probability of answer ``s`` for question ``s0`` (a noisy verifier).
    """
    check_pair(policy, task)
    betas = [accept_matrix(accept, task)]
    for k in reversed(policy.kernels):
        betas.append(betas[-1] @ k.T)  # (|S0|, |S_n|) @ (|S_n|, |S_{n-1}|)
    return betas[::-1]


def accuracy(policy: TabularPolicy, task: ReasoningTask) -> float:
    r"""Accuracy :math:`J(P) = \Pr(s_N = s_N^*(s_0))` for :math:`s_0 \sim \rho`."""
    alpha_N = forward_marginals(policy, task)[-1]
    rows = np.arange(task.sizes[0])
    return float(task.question_dist @ alpha_N[rows, task.answers])


def kept_transition_mass(
    policy: TabularPolicy, task: ReasoningTask, accept: np.ndarray | None = None
) -> list[np.ndarray]:
    r""":math:`W_n(s, s') = \Pr(s_{n-1}=s, s_n=s', \text{kept})` for every step (unnormalised).

    ``accept`` as in :func:`backward_success`; by default a chain is kept when ``r = 1``.
    """
    alphas = forward_marginals(policy, task)
    betas = backward_success(policy, task, accept)
    rho = task.question_dist
    out = []
    for n, k in enumerate(policy.kernels):
        # (|S_{n-1}|, |S0|) @ (|S0|, |S_n|) -> (|S_{n-1}|, |S_n|)
        w = (alphas[n] * rho[:, None]).T @ betas[n + 1]
        out.append(k * w)
    return out


def refit_rows(mass: list[np.ndarray], previous: TabularPolicy, empty_rows: str = "keep",
               strings: StepStrings | None = None) -> TabularPolicy:
    """Row-normalise per-step transition masses; rows of zero mass follow ``empty_rows``
    (:data:`star_theory.empty_rows.EMPTY_ROWS`; default ``keep``: ``previous``'s row).

    ``strings``: for ``empty_rows="marginals"``, one list per step of the strings of the states
    that step leads to (``strings[n]`` has ``|S_{n+1}|`` entries in the 0-based level numbering).
    """
    check_policy(previous, "previous")
    check_empty_rows(empty_rows)
    try:
        mass = [np.asarray(w, dtype=float) for w in mass]
    except (TypeError, ValueError):
        raise InputError("mass must be a list of numeric matrices, one per step") from None
    if len(mass) != previous.n_steps:
        raise InputError(f"mass has {len(mass)} steps, the policy {previous.n_steps}")
    for n, (w, old) in enumerate(zip(mass, previous.kernels)):
        if w.shape != old.shape:
            raise InputError(f"mass[{n}] has shape {w.shape}, kernel {old.shape}")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise InputError(f"mass[{n}] must hold finite non-negative values")
    if empty_rows == "marginals" and (strings is None or len(strings) != previous.n_steps):
        raise InputError(f"empty_rows='marginals' needs strings: one list of state strings per step "
                         f"({previous.n_steps})")
    kernels = []
    for n, (w, old) in enumerate(zip(mass, previous.kernels)):
        sums = w.sum(axis=1, keepdims=True)
        visited = sums[:, 0] > 0
        refit = w / np.where(visited[:, None], sums, 1.0)
        kernels.append(fill_empty_rows(refit, old, visited, empty_rows, None if strings is None else strings[n]))
    return TabularPolicy(kernels)


def question_mask(questions: ArrayLike | None, task: ReasoningTask) -> np.ndarray:
    """Boolean mask over ``S_0`` of the questions ``questions`` (None: all of them)."""
    check_task(task)
    mask = np.ones(task.sizes[0], dtype=bool)
    if questions is None:
        return mask
    q = check_questions(questions, task.sizes[0])
    mask[:] = False
    mask[q] = True
    return mask


def accuracy_on(policy: TabularPolicy, task: ReasoningTask, questions: ArrayLike | None = None) -> float:
    r"""Accuracy over a subset :math:`Q` of the questions,
    :math:`J_Q(P) = \sum_{s_0 \in Q} \rho(s_0)\, \alpha_N(s_0, s_N^*(s_0)) / \sum_{s_0 \in Q} \rho(s_0)`
    (NaN when :math:`\rho(Q) = 0`; ``questions=None``: :func:`accuracy`)."""
    alpha_N = forward_marginals(policy, task)[-1]
    rho = task.question_dist * question_mask(questions, task)
    total = rho.sum()
    return float(rho @ alpha_N[np.arange(task.sizes[0]), task.answers] / total) if total > 0 else float("nan")


def exact_star_step(policy: TabularPolicy, task: ReasoningTask, empty_rows: str = "keep",
                    strings: StepStrings | None = None, questions: ArrayLike | None = None) -> TabularPolicy:
    r"""One exact STaR iteration: :math:`P^{t+1}_n(s'|s) = \Pr_{P^t}(s_n=s' \mid s_{n-1}=s, r=1)`.

    Rows that kept chains never visit follow ``empty_rows`` (default: keep their previous value;
    see the module docstring and :mod:`star_theory.empty_rows`; ``strings`` as in :func:`refit_rows`).
    ``questions``: keep only the chains of these questions (the acceptance of the others is 0;
    default all), as STaR trained on a subset of the questions.
    """
    accept = None
    if questions is not None:
        accept = accept_matrix(None, task) * question_mask(questions, task)[:, None]
    return refit_rows(kept_transition_mass(policy, task, accept), policy, empty_rows, strings)


def step_correctness(policy: TabularPolicy, task: ReasoningTask) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-step correctness, unconditional and among kept chains.

    Returns ``(p, p_kept)``, each of shape ``(N,)``: ``p[n] = Pr(s_{n+1} = s^*_{n+1})`` and
    ``p_kept[n] = Pr(s_{n+1} = s^*_{n+1} | r = 1)`` (NaN when ``J = 0``).
    """
    alphas = forward_marginals(policy, task)
    betas = backward_success(policy, task)
    rho = task.question_dist
    rows = np.arange(task.sizes[0])
    star = task.correct_chains
    J = float(rho @ alphas[-1][rows, task.answers])
    p = np.array([rho @ alphas[n][rows, star[:, n]] for n in range(1, task.n_steps + 1)])
    joint = np.array(
        [rho @ (alphas[n][rows, star[:, n]] * betas[n][rows, star[:, n]]) for n in range(1, task.n_steps + 1)]
    )
    p_kept = joint / J if J > 0 else np.full(task.n_steps, np.nan)
    return p, p_kept


def flawed_chain_distribution(policy: TabularPolicy, task: ReasoningTask) -> np.ndarray:
    r"""Distribution of the number of wrong intermediate states among kept chains.

    Returns ``d`` of shape ``(N,)`` with ``d[k] = Pr(#\{n < N : s_n \ne s_n^*(s_0)\} = k \mid r = 1)``
    for ``k = 0..N-1`` (all NaN when ``J = 0``). The flawed-chain share is ``1 - d[0]``.
    Computed by a forward pass over (question, state, count).
    """
    check_pair(policy, task)
    N = task.n_steps
    S0 = task.sizes[0]
    rows = np.arange(S0)
    star = task.correct_chains
    # f[k, s0, s] = Pr(s_n = s, k wrong states among s_1..s_n | s0)
    f = np.zeros((N, S0, S0))
    f[0] = np.eye(S0)
    for n, k in enumerate(policy.kernels[:-1], start=1):
        g = f @ k  # (N, S0, |S_{n-1}|) @ (|S_{n-1}|, |S_n|) -> (N, S0, |S_n|)
        on = np.zeros(g.shape[1:], dtype=bool)
        on[rows, star[:, n]] = True
        f = np.where(on, g, 0.0)
        f[1:] += np.where(on, 0.0, g)[:-1]
    final = f @ policy.kernels[-1]  # (N, S0, |S_N|)
    mass = final[:, rows, task.answers] @ task.question_dist  # (N,)
    total = mass.sum()
    if total <= 0:
        return np.full(N, np.nan)
    return mass / total


def flawed_chain_share(policy: TabularPolicy, task: ReasoningTask) -> float:
    """Share of kept chains with at least one wrong intermediate state (NaN when ``J = 0``)."""
    return float(1.0 - flawed_chain_distribution(policy, task)[0])


@dataclass(frozen=True)
class Diagnostics:
    """Exact per-iteration figures of a policy on a task."""

    accuracy: float
    step_correct: np.ndarray
    step_correct_kept: np.ndarray
    flawed_share: float
    flawed_distribution: np.ndarray


def diagnostics(policy: TabularPolicy, task: ReasoningTask) -> Diagnostics:
    """Accuracy, per-step correctness (all chains and kept ones), flawed-chain share and distribution."""
    p, p_kept = step_correctness(policy, task)
    dist = flawed_chain_distribution(policy, task)
    return Diagnostics(
        accuracy=accuracy(policy, task),
        step_correct=p,
        step_correct_kept=p_kept,
        flawed_share=float(1.0 - dist[0]),
        flawed_distribution=dist,
    )

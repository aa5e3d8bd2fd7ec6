r"""Vectorised chain sampling and finite-sample STaR, with closed forms for its failure modes.

**Sampling.** A chain starts at a question :math:`s_0` and draws :math:`s_n \sim P_n(\cdot \mid
s_{n-1})` for ``n = 1..N``. :func:`sample_chains` draws all chains at once, one uniform per
chain and step and a Python loop over the ``N`` steps only (none over chains). Each step uses
Walker's alias method or, for very large kernels, inverse-CDF sampling
(:func:`star_theory.draw.sample_next`).

**Finite-sample STaR.** Each question :math:`s_0` in the support of :math:`\rho` gets ``K``
chains. A chain is kept when its answer is correct (or, with a noisy verifier, with probability
``accept[s0, sN]``). Kept transitions are counted per step,
:math:`c_n(s, s') = \sum_{\text{kept}} w(s_0) [s_{n-1} = s, s_n = s']`, with question weights
:math:`w(s_0) = \rho(s_0) |\mathrm{supp}\,\rho|` (all 1 for uniform :math:`\rho`, so counts are
integers), which makes :math:`E[c_n] = K |\mathrm{supp}\,\rho|\, W_n` proportional to the exact
kept mass :math:`W_n` of :func:`star_theory.exact.kept_transition_mass`. Rows are refit from
the counts; a row with no kept data follows a named rule (:data:`EMPTY_ROW_RULES`):

* ``keep``: the row keeps its previous value (the rule of the exact operator);
* ``uniform``, ``mean``, ``marginals``: the rules of :mod:`star_theory.empty_rows` (``marginals``
  needs the states' strings, so it is taken by :func:`refit_from_counts` only, not by name from
  the simulator's settings);
* ``smooth``: add-alpha smoothing of every row,
  :math:`\hat P_n(s' \mid s) = (c_n(s,s') + \alpha) / (\sum_{s''} c_n(s,s'') + \alpha |S_n|)`,
  so an empty row becomes uniform (biased by :math:`O(\alpha |S_n| / c_n(s))` elsewhere).

**Closed forms.** With :math:`a(s_0) = \Pr(\text{kept} \mid s_0)` (the per-question accuracy
:math:`J(s_0) = \alpha_N(s_0, s_N^*(s_0))` for the exact verifier) and ``K`` independent chains
per question,

.. math::

    \Pr(\text{no kept chain}) = \prod_{s_0 \in \mathrm{supp}\,\rho} (1 - a(s_0))^K, \qquad
    E[\#\text{kept}] = K \sum_{s_0} a(s_0), \qquad
    \mathrm{Var}[\#\text{kept}] = K \sum_{s_0} a(s_0)(1 - a(s_0)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .aliases import RandomSource, StepStrings
from .empty_rows import EMPTY_ROWS
from .errors import InputError
from .exact import accept_matrix, backward_success, forward_marginals, refit_rows
from .model import ReasoningTask, TabularPolicy, check_pair, check_policy, check_task
from .validation import MAX_STATES, as_float, as_int, check_questions, is_bool
from .draw import sample_next

EMPTY_ROW_RULES = ("keep", "uniform", "mean", "smooth")
"""Rules for a kernel row that received no kept transition, by name (see the module docstring)."""


# ----------------------------------------------------------------------------- helpers


def as_generator(rng: RandomSource | None) -> np.random.Generator:
    """A numpy ``Generator`` from a Generator, a seed (int / sequence) or a ``SeedSequence``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        raise InputError("rng must be a seed or a numpy Generator, got None (every draw needs a seed)")
    if is_bool(rng) or isinstance(rng, (str, bytes, set, frozenset, dict)):
        raise InputError(f"rng must be a seed or a numpy Generator, got {rng!r}")
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise InputError(f"rng must be a seed or a numpy Generator, got {rng!r}") from None


def question_support(task: ReasoningTask) -> np.ndarray:
    r"""Questions with :math:`\rho(s_0) > 0`, in increasing order."""
    return np.flatnonzero(task.question_dist > 0)


def question_weights(task: ReasoningTask) -> np.ndarray:
    r"""Count weight of each question, :math:`w(s_0) = \rho(s_0) |\mathrm{supp}\,\rho|` (1 if uniform)."""
    rho = task.question_dist
    return rho * np.count_nonzero(rho > 0)


MAX_CHAIN_ENTRIES = 1 << 30
"""Most state entries (chains x (N + 1)) one draw may hold (8 GiB of int64)."""


def questions_for(task: ReasoningTask, chains_per_question) -> np.ndarray:
    """Start states for ``K`` chains per question of the support, grouped by question."""
    K = as_int(chains_per_question, "chains_per_question K", 1, MAX_STATES)
    support = question_support(task)
    if K * support.size * (task.n_steps + 1) > MAX_CHAIN_ENTRIES:
        raise InputError(
            f"chains_per_question K={K} gives {K * support.size} chains of {task.n_steps + 1} states (limit 2^30 entries)"
        )
    return np.repeat(support, K)


def correct_accept(task: ReasoningTask) -> np.ndarray:
    """The exact verifier as a matrix: ``accept[s0, s] = [s = s_N^*(s0)]`` (shape ``(|S_0|, |S_N|)``)."""
    check_task(task)
    acc = np.zeros((task.sizes[0], task.sizes[-1]))
    acc[np.arange(task.sizes[0]), task.answers] = 1.0
    return acc


def _check_accept(accept, task: ReasoningTask) -> np.ndarray:
    return accept_matrix(accept, task, probabilities=True)


# ----------------------------------------------------------------------------- sampling


def sample_chains(policy: TabularPolicy, task: ReasoningTask, questions: ArrayLike, rng: RandomSource) -> np.ndarray:
    r"""Sample chains :math:`(s_0, s_1, \dots, s_N)` from ``policy``, all at once.

    Parameters
    ----------
    questions:
        either an integer ``K`` (``K`` chains for every question in the support of
        :math:`\rho`, rows grouped by question in increasing :math:`s_0`) or a 1-d integer array
        of start states (one chain each).
    rng:
        a numpy ``Generator`` or a seed; the draw is reproducible from the seed.

    Returns an ``int64`` array of shape ``(n_chains, N + 1)``; column ``n`` is :math:`s_n`.
    """
    check_pair(policy, task)
    rng = as_generator(rng)
    s0 = questions_for(task, questions) if np.ndim(questions) == 0 else check_questions(questions, task.sizes[0])
    chains = np.empty((s0.size, task.n_steps + 1), dtype=np.int64)
    chains[:, 0] = s0
    u = rng.random((task.n_steps, s0.size))
    for n, kernel in enumerate(policy.kernels):
        chains[:, n + 1] = sample_next(kernel, chains[:, n], u[n])
    return chains


def sample_conditioned_chains(
    policy: TabularPolicy, task: ReasoningTask, questions: ArrayLike, rng: RandomSource, accept: ArrayLike | None =None
) -> np.ndarray:
    r"""Sample chains from the policy conditioned on being kept (the *posterior* given the answer).

    Uses the backward messages :math:`\beta_n(s_0, s) = \Pr(\text{kept} \mid s_n = s, s_0)`:

    .. math::

        \Pr(s_n = s' \mid s_{n-1} = s, s_0, \text{kept})
            = P_n(s, s')\, \beta_n(s_0, s') / \beta_{n-1}(s_0, s),

    and with the exact verifier the answer is :math:`s_N^*(s_0)`. This models a *rationalisation*
    (the answer given as a hint). Questions with :math:`\beta_0(s_0, s_0) = 0` (the policy can
    never reach an accepted answer) raise :class:`InputError`: the posterior is undefined there.
    """
    check_pair(policy, task)
    rng = as_generator(rng)
    acc = _check_accept(accept, task)
    s0 = check_questions(np.atleast_1d(questions), task.sizes[0])
    betas = backward_success(policy, task, acc)
    if s0.size == 0:
        return np.empty((0, task.n_steps + 1), dtype=np.int64)
    if np.any(betas[0][s0, s0] <= 0):
        bad = int(s0[betas[0][s0, s0] <= 0][0])
        raise InputError(f"question {bad} has no accepted chain under the policy; its posterior is undefined")
    chains = np.empty((s0.size, task.n_steps + 1), dtype=np.int64)
    chains[:, 0] = s0
    u = rng.random((task.n_steps, s0.size))
    for n, kernel in enumerate(policy.kernels):
        rows = kernel[chains[:, n]] * betas[n + 1][s0]  # (chains, |S_{n+1}|), unnormalised posterior
        cum = np.cumsum(rows, axis=1)
        cum /= cum[:, -1:]
        nxt = (cum <= u[n][:, None]).sum(axis=1)
        last = rows.shape[1] - 1 - np.argmax((rows > 0)[:, ::-1], axis=1)
        chains[:, n + 1] = np.minimum(nxt, last)
    return chains


# ----------------------------------------------------------------------------- counting and refit


def keep_mask(chains: np.ndarray, task: ReasoningTask, rng: RandomSource | None =None, accept: ArrayLike | None =None) -> np.ndarray:
    """Which chains are kept: correct answer (``accept=None``), else kept with prob ``accept[s0, sN]``.

    ``rng`` is needed only for a probabilistic ``accept``.
    """
    chains = check_chains(chains, task)
    if accept is None:
        return chains[:, -1] == task.answers[chains[:, 0]]
    acc = _check_accept(accept, task)
    p = acc[chains[:, 0], chains[:, -1]]
    return as_generator(rng).random(p.size) < p


def check_chains(chains, task: ReasoningTask) -> np.ndarray:
    check_task(task)
    chains = np.asarray(chains)
    if chains.ndim != 2 or chains.shape[1] != task.n_steps + 1:
        raise InputError(f"chains must have shape (n, {task.n_steps + 1}), got {chains.shape}")
    if chains.size and not np.issubdtype(chains.dtype, np.integer):
        raise InputError(f"chains must hold integer state indices, got dtype {chains.dtype}")
    sizes = np.asarray(task.sizes)
    if chains.size and (np.any(chains < 0) or np.any(chains >= sizes[None, :])):
        raise InputError("chains hold a state index outside its level")
    return chains.astype(np.int64, copy=False)


def transition_counts(chains: ArrayLike, task: ReasoningTask, weights: ArrayLike | None =None) -> list[np.ndarray]:
    r"""Per-step counts :math:`c_n(s, s') = \sum_i w_i [s_{n-1}^{(i)} = s, s_n^{(i)} = s']`.

    ``weights`` (one per chain, default 1) lets questions count by :func:`question_weights`.
    Returns ``N`` arrays of shape ``(|S_{n-1}|, |S_n|)``.
    """
    chains = check_chains(chains, task)
    if weights is not None:
        try:
            weights = np.asarray(weights, dtype=float)
        except (TypeError, ValueError):
            raise InputError(f"weights must be numeric, got {weights!r}") from None
        if weights.shape != (chains.shape[0],):
            raise InputError(f"weights must have shape ({chains.shape[0]},) (one per chain), got {weights.shape}")
        if not np.all(np.isfinite(weights)) or np.any(weights < 0):
            raise InputError("weights must be finite and non-negative")
    out = []
    for n in range(task.n_steps):
        a, b = task.sizes[n], task.sizes[n + 1]
        flat = chains[:, n] * b + chains[:, n + 1]
        out.append(np.bincount(flat, weights=weights, minlength=a * b).reshape(a, b).astype(float))
    return out


def check_empty_rows(empty_rows: str, alpha: float, rules: tuple = EMPTY_ROW_RULES) -> float:
    """``empty_rows`` one of ``rules`` (default :data:`EMPTY_ROW_RULES`) and ``alpha > 0`` a number
    (not a bool); returns ``alpha``."""
    if not isinstance(empty_rows, str) or empty_rows not in rules:
        raise InputError(f"empty_rows must be one of {', '.join(rules)}, got {empty_rows!r}")
    alpha = as_float(alpha, "alpha")
    if alpha <= 0:
        raise InputError(f"alpha must be > 0 for add-alpha smoothing, got {alpha!r}")
    return alpha


def refit_from_counts(
    counts: list[np.ndarray], previous: TabularPolicy, empty_rows: str = "keep", alpha: float = 1.0, strings: StepStrings | None =None
) -> TabularPolicy:
    r"""Maximum-likelihood refit of each step's kernel from kept-transition counts.

    ``empty_rows``: a rule of :data:`star_theory.empty_rows.EMPTY_ROWS` for rows with no count
    (``"keep"``: ``previous``'s row, as :func:`star_theory.exact.refit_rows`; ``"marginals"``
    needs ``strings`` as there), or ``"smooth"``: add-``alpha`` smoothing of every row.
    """
    check_policy(previous, "previous")
    alpha = check_empty_rows(empty_rows, alpha, EMPTY_ROWS + ("smooth",))
    if len(counts) != previous.n_steps:
        raise InputError(f"counts has {len(counts)} steps, the policy {previous.n_steps}")
    for n, (c, k) in enumerate(zip(counts, previous.kernels)):
        if np.shape(c) != k.shape:
            raise InputError(f"counts[{n}] has shape {np.shape(c)}, kernel {k.shape}")
    if empty_rows != "smooth":
        return refit_rows([np.asarray(c, dtype=float) for c in counts], previous, empty_rows, strings)
    kernels = []
    for c in counts:
        c = np.asarray(c, dtype=float) + alpha
        kernels.append(c / c.sum(axis=1, keepdims=True))
    return TabularPolicy(kernels)


# ----------------------------------------------------------------------------- closed forms


def question_keep_probability(policy: TabularPolicy, task: ReasoningTask, accept: ArrayLike | None =None) -> np.ndarray:
    r""":math:`a(s_0) = \Pr(\text{kept} \mid s_0) = \sum_s \alpha_N(s_0, s)\, \mathrm{accept}(s_0, s)`.

    With the exact verifier this is the per-question accuracy :math:`J(s_0)`. Shape ``(|S_0|,)``.
    """
    check_pair(policy, task)
    acc = _check_accept(accept, task)
    alpha_N = forward_marginals(policy, task)[-1]
    return np.clip((alpha_N * acc).sum(axis=1), 0.0, 1.0)


def prob_no_kept_chain(policy: TabularPolicy, task: ReasoningTask, chains_per_question: ArrayLike, accept: ArrayLike | None =None) -> float:
    r""":math:`\Pr(\text{no kept chain}) = \prod_{s_0 \in \mathrm{supp}\,\rho} (1 - a(s_0))^K`.

    Computed in log space (``log1p``) so tiny probabilities do not underflow early.
    """
    K = as_int(chains_per_question, "chains_per_question K", 1, MAX_STATES)
    a = question_keep_probability(policy, task, accept)[question_support(task)]
    if np.any(a >= 1.0):
        return 0.0
    return float(np.exp(K * np.log1p(-a).sum()))


def expected_kept_count(policy: TabularPolicy, task: ReasoningTask, chains_per_question: ArrayLike, accept: ArrayLike | None =None) -> float:
    r""":math:`E[\#\text{kept}] = K \sum_{s_0 \in \mathrm{supp}\,\rho} a(s_0)`."""
    K = as_int(chains_per_question, "chains_per_question K", 1, MAX_STATES)
    a = question_keep_probability(policy, task, accept)[question_support(task)]
    return float(K * a.sum())


def kept_count_variance(policy: TabularPolicy, task: ReasoningTask, chains_per_question: ArrayLike, accept: ArrayLike | None =None) -> float:
    r""":math:`\mathrm{Var}[\#\text{kept}] = K \sum_{s_0} a(s_0)(1 - a(s_0))` (independent Bernoullis)."""
    K = as_int(chains_per_question, "chains_per_question K", 1, MAX_STATES)
    a = question_keep_probability(policy, task, accept)[question_support(task)]
    return float(K * (a * (1.0 - a)).sum())


# ----------------------------------------------------------------------------- one sampled iteration


@dataclass(frozen=True)
class SampledStep:
    """Outcome of one finite-sample STaR iteration.

    ``policy``: the refit policy; ``n_chains``: chains sampled; ``kept``: chains kept by the
    verifier (rationalised chains excluded); ``rationalized``: chains added with the answer as a
    hint; ``counts``: the per-step kept-transition counts the refit used.
    """

    policy: TabularPolicy
    n_chains: int
    kept: int
    rationalized: int
    counts: tuple[np.ndarray, ...]

    def __post_init__(self):
        """A step is checked on construction, a plug-in rule's as a built-in's: counts of chains are
        integers ``>= 0`` with ``kept <= n_chains``, and the transition counts are finite and ``>= 0``."""
        check_policy(self.policy, "SampledStep.policy")
        for name in ("n_chains", "kept", "rationalized"):
            object.__setattr__(self, name, as_int(getattr(self, name), f"SampledStep.{name}", 0))
        if self.kept > self.n_chains:
            raise InputError(f"SampledStep.kept={self.kept} exceeds SampledStep.n_chains={self.n_chains}")
        try:
            counts = tuple(self.counts)
        except TypeError:
            raise InputError(f"SampledStep.counts must be a sequence of count arrays, got {type(self.counts).__name__}") from None
        for n, c in enumerate(counts):
            c = np.asarray(c)
            if c.dtype.kind not in "iuf" or not np.all(np.isfinite(c)) or np.any(c < 0):
                raise InputError(f"SampledStep.counts[{n}] must hold finite counts >= 0")
        object.__setattr__(self, "counts", counts)

    @property
    def no_kept_chain(self) -> bool:
        """True when the verifier kept no chain (STaR had nothing to learn from)."""
        return self.kept == 0

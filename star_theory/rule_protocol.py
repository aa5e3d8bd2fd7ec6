r"""The update-rule protocol, one object for every consumer: the tabular simulator, the exact
operator, the checks and the LLM loop (:mod:`star_theory.rules` adds the registry by name on top;
:mod:`star_theory.sim` and :mod:`star_theory.checks` take the rule object and never look a name up).

**What a rule says.** Which sampled chains are kept, and with what weight. Its *chain-level form*
is a callable ``keep(chains, log_prob, task, rng) -> weights``: ``chains`` of shape ``(n, N + 1)``
(state indices, column 0 the question), ``log_prob`` their log-probability under the policy they
were sampled from, ``rng`` a numpy Generator for a rule that draws (``rng=None`` asks for the
*expected* weights, which give the exact form); it returns ``n`` weights ``>= 0`` (a boolean mask
is the weights 0/1). STaR is ``chains[:, -1] == task.answers[chains[:, 0]]``. Optional parts:

* ``temperature``: chains are sampled at this temperature (the tabular form samples from
  :math:`P^{1/T}` renormalised, the LLM from its tempered softmax);
* ``hints(policy, task, failed, rng) -> chains``: extra chains for the questions ``failed`` (those
  with no kept chain), e.g. rationalization with the answer as a hint;
* ``eta``: partial refit, :math:`P^{t+1} = (1-\eta) P^t + \eta\,\mathrm{Refit}` (tabular only);
* ``exact(policy, task) -> policy``: the exact form (infinite data). Without it the exact form
  is derived from ``keep`` by enumerating every chain (small tasks);
* ``sampled(policy, task, K, rng[, empty_rows, alpha]) -> SampledStep``: a tabular form of your
  own. Without it the tabular form is derived from ``keep`` (sample ``K`` chains per question,
  weigh, add hints, refit);
* ``keep_probability(policy, task) -> a``: :math:`a(s_0)`, the probability that one chain of
  question ``s0`` is kept, which gives the closed forms :math:`\Pr(\text{no kept chain}) =
  \prod_{s_0} (1 - a(s_0))^K` and :math:`E[\#\text{kept}] = K \sum_{s_0} a(s_0)`. Derived from
  ``keep`` where that is given.

A rule with only ``exact`` (and perhaps ``sampled``) has a tabular form only: the LLM loop refuses
it in one line. The built-in rules (:class:`~star_theory.variants.StarVariant`) have the same
methods (``exact_step``, ``sampled_step``, ``closed_forms``, ``keep_weights``, ``hints``,
``sampling_temperature``, ``chain_form_refusal``, ``record``, ``label``).

A rule is foreign code: any failure of it (``SystemExit`` included) ends in one line naming the
rule, and what it returns is checked as a built-in's.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from numpy.typing import ArrayLike

from .aliases import RandomSource
from .errors import InputError
from .exact import exact_star_step, refit_rows
from .model import ReasoningTask, TabularPolicy, check_pair, check_policy
from .sampling import (
    SampledStep,
    as_generator,
    question_support,
    question_weights,
    refit_from_counts,
    sample_chains,
    transition_counts,
)
from .validation import as_float, as_int, as_iterations, call_foreign
from .variants import SPECS, VARIANT_NAMES, StarVariant, failed_questions, kept_counts, make_variant, mix_policies, tempered_policy

MAX_ENUMERATED_CHAINS = 1 << 20
"""Most chains (product of the level sizes) a derived exact form enumerates."""


def _check_result(new, policy: TabularPolicy, who: str) -> TabularPolicy:
    """``new`` checked as a built-in rule's result: a TabularPolicy of ``policy``'s level sizes."""
    if not isinstance(new, TabularPolicy) or new.sizes != policy.sizes:
        raise InputError(f"{who} must return a TabularPolicy of level sizes {policy.sizes}, got {type(new).__name__}")
    return new


def _takes(fn: Callable, name: str, positional: int) -> bool:
    """Whether ``fn`` takes keyword ``name`` (or ``**kwargs``), or at least ``positional`` positional arguments."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return True
    if any(p.kind is p.VAR_KEYWORD for p in params) or any(p.name == name for p in params):
        return True
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(pos) >= positional or any(p.kind is p.VAR_POSITIONAL for p in params)


# ----------------------------------------------------------------------------- chains


def chain_log_prob(policy: TabularPolicy, chains: np.ndarray) -> np.ndarray:
    r""":math:`\log \prod_n P_n(s_n \mid s_{n-1})` of each chain (shape ``(n,)``; ``-inf`` for probability 0)."""
    check_policy(policy)
    chains = np.asarray(chains)
    if chains.ndim != 2 or chains.shape[1] != policy.n_steps + 1 or (chains.size and chains.dtype.kind not in "iu"):
        raise InputError(f"chains must be an integer array of shape (n, {policy.n_steps + 1}), got {chains.dtype} {chains.shape}")
    sizes = np.asarray(policy.sizes)
    if chains.size and (np.any(chains < 0) or np.any(chains >= sizes[None, :])):
        raise InputError("chains hold a state index outside its level")
    logp = np.zeros(chains.shape[0])
    with np.errstate(divide="ignore"):
        for n, k in enumerate(policy.kernels):
            logp += np.log(k[chains[:, n], chains[:, n + 1]])
    return logp


def all_chains(task: ReasoningTask) -> np.ndarray:
    """Every chain ``(s_0, ..., s_N)`` of the task (shape ``(prod sizes, N + 1)``)."""
    total = int(np.prod(np.asarray(task.sizes, dtype=float)))
    if total > MAX_ENUMERATED_CHAINS:
        raise InputError(f"level sizes {list(task.sizes)} give {total} chains; enumeration is limited to "
                         f"{MAX_ENUMERATED_CHAINS} (use a smaller task or write the exact form yourself)")
    return np.indices(task.sizes).reshape(task.n_steps + 1, -1).T.astype(np.int64)


# ----------------------------------------------------------------------------- the rule


@dataclass(frozen=True)
class Rule:
    """An update rule (see the module docstring for the protocol).

    ``Rule(name, exact)`` is itself a ``step(policy, task)`` callable (its exact form), so it can
    be passed wherever a step is expected; ``Rule(name, keep=...)`` gets every form from ``keep``.
    ``params`` are recorded beside results (:meth:`record`).
    """

    name: str
    exact: Callable | None = None
    sampled: Callable | None = None
    keep_probability: Callable | None = None
    description: str = ""
    keep: Callable | None = None
    temperature: float = 1.0
    hints: Callable | None = None
    eta: float = 1.0
    params: dict = field(default_factory=dict, hash=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or any(c.isspace() for c in self.name):
            raise InputError(f"name must be a non-empty string without spaces, got {self.name!r}")
        if self.exact is None and self.keep is None:
            raise InputError(f"rule {self.name!r} needs an exact form or a chain-level keep (Rule(name, exact) or Rule(name, keep=...))")
        for name in ("exact", "sampled", "keep_probability", "keep", "hints"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise InputError(f"{name} of rule {self.name!r} must be a callable, got {type(value).__name__}")
        SPECS["temperature"].validate(self.temperature)  # the built-ins' checks name the key
        SPECS["eta"].validate(self.eta)
        object.__setattr__(self, "temperature", as_float(self.temperature, "temperature"))
        object.__setattr__(self, "eta", as_float(self.eta, "eta"))
        if not isinstance(self.params, dict):
            raise InputError(f"params of rule {self.name!r} must be a dict, got {type(self.params).__name__}")

    is_neutral = False  # never the plain ``star`` rule (phase uses the closed form only for that)

    @property
    def has_sampled_form(self) -> bool:
        return self.sampled is not None or self.keep is not None

    @property
    def sampling_temperature(self) -> float:
        return self.temperature

    @property
    def chain_form_refusal(self) -> str | None:
        """Why the rule has no chain-level form for the LLM loop (None: it has one)."""
        if self.keep is None:
            return (f"rule {self.name!r} has only a tabular form (exact/sampled on a TabularPolicy); the LLM loop "
                    "needs its chain-level form, Rule(..., keep=(chains, log_prob, task, rng) -> weights)")
        if self.eta != 1.0:
            return f"rule {self.name!r} refits partially (eta={self.eta:g}), which fine-tuning a model does not do"
        return None

    def label(self) -> str:
        params = ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({params})" if params else self.name

    def record(self) -> dict:
        """The rule as recorded beside results: name, parameters and label."""
        return {"name": self.name, "params": dict(self.params), "label": self.label()}

    # ------------------------------------------------------------------ chain level

    def keep_weights(self, chains: np.ndarray, log_prob: ArrayLike | None, task: ReasoningTask,
                     rng: np.random.Generator | None) -> np.ndarray:
        """``keep`` called and checked: ``n`` finite weights ``>= 0`` (a boolean mask gives 0/1)."""
        if self.keep is None:
            raise InputError(self.chain_form_refusal or f"rule {self.name!r} has no chain-level form")
        n = np.asarray(chains).shape[0]
        # a deterministic filter, keep(chains, log_prob, task), is called without the rng it would not use
        args = (chains, log_prob, task) + ((rng,) if _takes(self.keep, "rng", 4) else ())
        w = np.asarray(call_foreign("rule", self.name, "keep", self.keep, *args))
        if w.shape != (n,) or w.dtype.kind not in "biuf":
            raise InputError(f"keep of rule {self.name!r} must return {n} weights (a boolean mask or numbers), "
                             f"got dtype {w.dtype} shape {w.shape}")
        w = w.astype(float)
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise InputError(f"keep of rule {self.name!r} must return finite weights >= 0")
        return w

    def hint_chains(self, policy: TabularPolicy, task: ReasoningTask, failed: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        """``hints`` called and checked (no hints: an empty array)."""
        empty = np.empty((0, task.n_steps + 1), dtype=np.int64)
        if self.hints is None or np.size(failed) == 0:
            return empty
        out = np.asarray(call_foreign("rule", self.name, "hints", self.hints, policy, task, np.asarray(failed), rng))
        if out.ndim != 2 or out.shape[1] != task.n_steps + 1 or (out.size and out.dtype.kind not in "iu"):
            raise InputError(f"hints of rule {self.name!r} must return integer chains of shape (m, {task.n_steps + 1})")
        return out.astype(np.int64) if out.size else empty

    # ------------------------------------------------------------------ exact form

    def __call__(self, policy: TabularPolicy, task: ReasoningTask) -> TabularPolicy:
        check_pair(policy, task)
        if self.exact is not None:
            new = call_foreign("rule", self.name, "the exact form", self.exact, policy, task)
            return _check_result(new, policy, f"the exact form of rule {self.name!r}")
        chains, weight, q = self._expected_mass(policy, task)
        new = refit_rows(transition_counts(chains, task, weight * task.question_dist[chains[:, 0]]), policy)
        return mix_policies(policy, new, self.eta)

    def exact_step(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int | None = None) -> TabularPolicy:
        """The exact form (``chains_per_question`` is ignored: the infinite-data limit)."""
        return self(policy, task)

    def _expected_mass(self, policy, task):
        """Every chain, its probability under the sampling policy times its expected keep weight."""
        q = tempered_policy(policy, self.temperature)
        chains = all_chains(task)
        logp = chain_log_prob(q, chains)
        return chains, np.exp(logp) * self.keep_weights(chains, logp, task, None), q

    def question_keep_probability(self, policy: TabularPolicy, task: ReasoningTask) -> np.ndarray:
        r""":math:`a(s_0)` (shape ``(|S_0|,)``): ``keep_probability`` if given, else from ``keep``."""
        if self.keep_probability is not None:
            try:
                a = np.asarray(call_foreign("rule", self.name, "keep_probability", self.keep_probability, policy, task), dtype=float)
            except (TypeError, ValueError, OverflowError):
                raise InputError(f"keep_probability of rule {self.name!r} must return {task.sizes[0]} probabilities") from None
        else:
            chains, weight, _ = self._expected_mass(policy, task)
            a = np.clip(np.bincount(chains[:, 0], weights=weight, minlength=task.sizes[0]), 0.0, 1.0)
        if a.shape != (task.sizes[0],) or not np.all((a >= 0) & (a <= 1)):
            raise InputError(f"keep_probability of rule {self.name!r} must return {task.sizes[0]} probabilities, got {a!r}")
        return a

    def closed_forms(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int) -> tuple[float, float]:
        """``(P(no kept chain), E[#kept])`` for ``K`` chains per question (NaN without a keep probability)."""
        if self.keep_probability is None and self.keep is None:
            return float("nan"), float("nan")
        K = as_int(chains_per_question, "chains_per_question K", 1)
        a = self.question_keep_probability(policy, task)[question_support(task)]
        p0 = 0.0 if np.any(a >= 1.0) else float(np.exp(K * np.log1p(-a).sum()))
        return p0, float(K * a.sum())

    # ------------------------------------------------------------------ sampled form

    def sampled_step(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int, rng: RandomSource,
                     empty_rows: str = "keep", alpha: float = 1.0) -> SampledStep:
        """One finite-sample iteration through the rule's ``sampled`` form, or derived from ``keep``."""
        if not self.has_sampled_form:
            raise InputError(f"rule {self.name!r} has no sampled form (give Rule(..., sampled=...) or Rule(..., keep=...))")
        check_pair(policy, task)
        K = as_int(chains_per_question, "chains_per_question K", 1)
        if self.sampled is None:
            return self._chain_step(policy, task, K, as_generator(rng), empty_rows, alpha)
        extra = {}
        if (empty_rows, alpha) != ("keep", 1.0):
            if not _takes(self.sampled, "empty_rows", 99):
                raise InputError(f"the sampled form of rule {self.name!r} takes no empty_rows/alpha "
                                 f"(got empty_rows={empty_rows!r}, alpha={alpha!r})")
            extra = {"empty_rows": empty_rows, "alpha": alpha}
        out = call_foreign("rule", self.name, "the sampled form", self.sampled, policy, task, K, as_generator(rng), **extra)
        if not isinstance(out, SampledStep):
            raise InputError(f"the sampled form of rule {self.name!r} must return a SampledStep, got {type(out).__name__}")
        _check_result(out.policy, policy, f"the sampled form of rule {self.name!r}")
        return out

    def _chain_step(self, policy, task, K: int, rng, empty_rows: str, alpha: float) -> SampledStep:
        """The tabular form from the chain-level one: sample at the rule's temperature, weigh, hint, refit."""
        q = tempered_policy(policy, self.temperature)
        chains = sample_chains(q, task, K, rng)
        w = self.keep_weights(chains, chain_log_prob(q, chains), task, rng)
        mask = w > 0
        if np.all(w[mask] == 1.0):  # a filter: the kept chains counted as STaR counts them
            kept = chains[mask]
            extra = self.hint_chains(q, task, failed_questions(kept, task), rng)
            counts = kept_counts(np.vstack([kept, extra]) if extra.size else kept, task)
        else:
            extra = self.hint_chains(q, task, failed_questions(chains[mask], task), rng)
            all_ = np.vstack([chains, extra]) if extra.size else chains
            weights = np.concatenate([w, np.ones(extra.shape[0])]) * question_weights(task)[all_[:, 0]]
            counts = transition_counts(all_, task, weights)
        new = mix_policies(policy, refit_from_counts(counts, policy, empty_rows, alpha), self.eta)
        return SampledStep(new, int(chains.shape[0]), int(mask.sum()), int(extra.shape[0]), tuple(counts))


def chain_filter_rule(name: str, keep: Callable, description: str = "") -> Rule:
    r"""A :class:`Rule` that refits on the chains ``keep`` accepts, with all three forms.

    ``keep(chains, log_prob, task) -> mask``: ``chains`` of shape ``(n, N + 1)`` (column 0 is the
    question), ``log_prob`` their log-probability under the current policy, a boolean ``mask``
    of shape ``(n,)``. STaR is ``keep = chains[:, -1] == task.answers[chains[:, 0]]``.

    * exact form: :math:`W_n(s, s') = \sum_{\text{chains}} \rho(s_0) P(\text{chain} \mid s_0)
      [\text{kept}] [s_{n-1} = s, s_n = s']`, rows normalised (rows with no kept mass keep the
      old row), by enumerating every chain;
    * sampled form: ``K`` chains per question, the kept ones counted (question weights as in
      :mod:`star_theory.sampling`) and refit (``empty_rows``/``alpha``);
    * ``keep_probability``: :math:`a(s_0) = \sum_{\text{chains of } s_0} P(\text{chain} \mid s_0)[\text{kept}]`.

    The same rule runs on the LLM loop (its chain-level form is ``keep``).
    """
    if not callable(keep):
        raise InputError(f"keep must be a callable (chains, log_prob, task) -> mask, got {type(keep).__name__}")

    def mask_of(chains, log_prob, task) -> np.ndarray:
        m = np.asarray(keep(chains, log_prob, task))
        if m.shape != (chains.shape[0],) or m.dtype != bool:
            raise InputError(f"keep of rule {name!r} must return a boolean mask of shape ({chains.shape[0]},), "
                             f"got dtype {m.dtype} shape {m.shape}")
        return m

    return Rule(name, keep=mask_of, description=description)


# ----------------------------------------------------------------------------- objects, no names


def as_rule_object(obj, argname: str = "variant"):
    """A rule from a :class:`~star_theory.variants.StarVariant`, a :class:`Rule`, a callable
    ``(policy, task) -> policy`` (wrapped in a :class:`Rule` named after it) or a built-in rule's
    name. Another name is refused: look it up with :func:`star_theory.rules.get_rule` and pass the
    object (this layer holds no registry)."""
    if isinstance(obj, str):
        if obj in VARIANT_NAMES:
            return make_variant(obj)
        raise InputError(f"{argname} {obj!r} is not a built-in rule ({', '.join(VARIANT_NAMES)}); pass the rule "
                         f"object (star_theory.rules.get_rule({obj!r}))")
    if isinstance(obj, (StarVariant, Rule)):
        return obj
    if callable(obj):
        return Rule(name=getattr(obj, "__name__", type(obj).__name__).replace(" ", "_") or "rule", exact=obj)
    raise InputError(f"{argname} must be a rule name, a StarVariant, a Rule or a callable (policy, task) -> policy, "
                     f"got {type(obj).__name__}")


def trajectory(policy: TabularPolicy, task: ReasoningTask, iterations: int, step=exact_star_step) -> list[TabularPolicy]:
    """Policies ``[P^0, P^1, ..., P^T]`` under ``iterations`` applications of the rule ``step``
    (as :func:`as_rule_object` takes it); what it returns is checked."""
    check_pair(policy, task)
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise InputError(f"iterations must be a non-negative integer, got {iterations!r}")
    iterations = as_iterations(iterations)
    rule = as_rule_object(step, "step")  # a Rule checks what its callable returns; a StarVariant is built in
    out = [policy]
    for _ in range(int(iterations)):
        out.append(rule(out[-1], task))
    return out

r"""STaR update rules by name, each with an exact form and a sampled form.

All rules act on the same model (a tabular policy on a :class:`~star_theory.model.ReasoningTask`)
and are one STaR iteration *sample -> filter -> refit* with one ingredient changed. The exact
form is the refit of the *expected* kept-transition counts (the infinite-data limit, or, for
``rationalize``, the expected counts at the given ``K``); the sampled form draws ``K`` chains per
question (:mod:`star_theory.sampling`). Rows with no kept mass keep their previous row (exact
form) or follow the sampled form's empty-row rule.

``star``
    The exact STaR operator, :func:`~star_theory.exact.exact_star_step`:
    :math:`P^{t+1}_n(s'|s) = \Pr_{P^t}(s_n = s' \mid s_{n-1} = s, r = 1)`.

``rationalize`` (``rationales = R``, neutral ``R = 0``)
    A question whose ``K`` samples all fail gets ``R`` chains sampled *with the correct answer as a
    hint*, modelled as the policy's posterior given the answer,
    :math:`\Pr_P(s_1..s_N \mid s_0, s_N = s_N^*(s_0))`. Exact form (expected counts per chain):

    .. math::

        \bar c_n(s, s') \propto \sum_{s_0} \rho(s_0)\, \Pr(s_{n-1}=s, s_n=s', r=1 \mid s_0)
            \Big[1 + \frac{R}{K} \frac{(1 - J(s_0))^K}{J(s_0)}\Big],

    i.e. the exact operator with question ``s0`` re-weighted by its chance of needing a
    rationale. Where :math:`J(s_0) = 0` the posterior is undefined and the question gets no
    rationale (a hint only conditions the policy; it cannot create probability). In the
    infinite-``K`` limit :math:`(1-J)^K \to 0` for every question with :math:`J > 0`, so the
    operator becomes ``star``; with ``chains_per_question=None`` the exact form is that limit.

``noisy-verifier`` (``fp``, ``fn``; neutral ``fp = fn = 0``)
    The filter accepts a wrong answer with probability ``fp`` and rejects a right one with
    probability ``fn``: ``accept[s0, s] = 1 - fn`` if ``s = s_N^*(s0)`` else ``fp``, passed to
    :func:`~star_theory.exact.kept_transition_mass`. When ``fp`` is large relative to ``1 - fn``
    the refit learns wrong answers and accuracy can fall.

``partial-fit`` (``eta``; neutral ``eta = 1``)
    :math:`P^{t+1} = (1 - \eta) P^t + \eta\, \mathrm{Refit}(P^t)` (a fine-tuning step that does not
    reach the maximum-likelihood fit).

``temperature`` (``temperature = T > 0``; neutral ``T = 1``)
    Chains are sampled from the tempered policy :math:`P_n^{(T)}(s'|s) \propto P_n(s'|s)^{1/T}`
    and the refit uses what was sampled: :math:`P^{t+1} = \mathrm{StarRefit}(P^{(T)})`, rows with no
    kept mass keeping the untempered row.

The parameters combine (a :class:`StarVariant` may set several); :func:`make_variant` builds the
named rules and rejects parameters that do not belong to the chosen one.

Every rule also has the chain-level form of the rule protocol (:mod:`star_theory.rule_protocol`),
which the LLM loop applies: ``keep_weights`` (the verifier, noisy or not), ``hint_chains``
(rationalization's posterior chains), ``sampling_temperature``; ``partial-fit`` has none
(``chain_form_refusal`` says why). The parameters are declared once, in :data:`PARAMETER_SPECS`.

Rules of your own plug in through :mod:`star_theory.rules` (a :class:`~star_theory.rules.Rule`
has the same methods as a :class:`StarVariant`, which is all that ``simulate``, ``phase`` and the
LLM loop call); a :class:`StarVariant` is itself a ``step(policy, task)`` callable, its exact form
in the infinite-data limit. This module sits below both :mod:`star_theory.rules` and
:mod:`star_theory.sim` (``star_theory.sim.variants`` names it too).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
from numpy.typing import ArrayLike

from .aliases import RandomSource
from .config import option
from .errors import InputError
from .exact import kept_transition_mass, refit_rows
from .model import ReasoningTask, TabularPolicy, check_pair, check_policy
from .validation import as_float, as_int
from . import variant_theory as theory
from .closed_form import symmetric_star_update
from .sampling import (
    SampledStep,
    check_chains,
    as_generator,
    correct_accept,
    expected_kept_count,
    keep_mask,
    prob_no_kept_chain,
    question_keep_probability,
    question_support,
    question_weights,
    refit_from_counts,
    sample_chains,
    sample_conditioned_chains,
    transition_counts,
)

@dataclass(frozen=True)
class VariantParameter:
    """One parameter of a built-in rule: its name, the rule that takes it, its type, the default
    of :func:`make_variant`, the neutral value (at which the rule is ``star``), the help string of
    its config field and CLI flag, and the validator that checks and returns a given value."""

    name: str
    variant: str
    type: str
    default: object
    neutral: object
    help: str
    validate: Callable[[object], object]


def _check_rationales(v) -> int:
    return as_int(v, "rationales", 0)


# the one declaration of the built-in rules' parameters (the validators are defined below)
PARAMETER_SPECS: tuple[VariantParameter, ...] = (
    VariantParameter("rationales", "rationalize", "int", 1, 0,
                     "rationalize: chains sampled with the answer as a hint per failed question (>= 0)",
                     lambda v: _check_rationales(v)),
    VariantParameter("fp", "noisy-verifier", "float", 0.0, 0.0,
                     "noisy-verifier: probability of accepting a wrong answer, in [0, 1]", lambda v: _check_prob(v, "fp")),
    VariantParameter("fn", "noisy-verifier", "float", 0.0, 0.0,
                     "noisy-verifier: probability of rejecting a right answer, in [0, 1]", lambda v: _check_prob(v, "fn")),
    VariantParameter("eta", "partial-fit", "float", 1.0, 1.0,
                     "partial-fit: step size, new = (1-eta) old + eta refit, in (0, 1]", lambda v: _check_eta(v)),
    VariantParameter("temperature", "temperature", "float", 1.0, 1.0,
                     "temperature: sample from P^(1/T) renormalised (> 0)", lambda v: _check_temperature(v)),
)
"""The one declaration of the built-in rules' parameters. :class:`StarVariant`'s fields, the
config fields and flags of ``simulate``, ``phase`` and ``llm`` (:func:`variant_fields`),
:data:`VARIANT_PARAMETERS`, :data:`PARAMETERS`, :data:`DEFAULTS` and :data:`NEUTRAL` come from it."""

SPECS = {p.name: p for p in PARAMETER_SPECS}

VARIANT_PARAMETERS: dict[str, tuple[str, ...]] = {
    "star": (),
    **{v: tuple(p.name for p in PARAMETER_SPECS if p.variant == v) for v in dict.fromkeys(p.variant for p in PARAMETER_SPECS)},
}
"""The named rules and the parameters each one takes (from :data:`PARAMETER_SPECS`)."""

VARIANT_NAMES = tuple(VARIANT_PARAMETERS)

PARAMETERS: dict[str, tuple] = {p.name: (p.default, p.neutral, p.help) for p in PARAMETER_SPECS}
"""``name: (default, neutral value, help string)`` of every parameter (from :data:`PARAMETER_SPECS`)."""

DEFAULTS = {p.name: p.default for p in PARAMETER_SPECS}
"""Default parameters of :func:`make_variant` (``rationalize`` defaults to one rationale)."""

NEUTRAL = {p.name: p.neutral for p in PARAMETER_SPECS}
"""The parameter values at which every rule reduces to ``star``."""


if TYPE_CHECKING:
    class VariantParameterFields:
        """What type checkers see of the fields :func:`variant_fields` inserts (one per
        :data:`PARAMETER_SPECS` entry; tests/test_types.py keeps the two equal)."""

        rationales: int
        fp: float
        fn: float
        eta: float
        temperature: float
else:
    VariantParameterFields = object  # at run time the fields come from variant_fields alone


def variant_option(name: str) -> Any:
    """The config field (:func:`star_theory.config.option`) of parameter ``name``: default and help."""
    default, _, help_ = PARAMETERS[name]
    return option(default, help_)


def variant_fields(after: str, values: str = "default", skip: tuple[str, ...] = ()):
    """Class decorator, applied before ``@dataclass``: insert one field per parameter of
    :data:`PARAMETER_SPECS` (not in ``skip``, nor declared by the class already) right after the
    field ``after``, with the parameter's type, help and ``values`` (``"default"`` or ``"neutral"``)
    as its default. The configs and :class:`StarVariant` take their parameter fields from here."""

    def decorate(cls):
        own = dict(cls.__dict__.get("__annotations__", {}))
        if after not in own:
            raise TypeError(f"{cls.__name__} has no field {after!r} to insert the variant parameters after")
        out = {}
        for key, tp in own.items():
            out[key] = tp
            if key == after:
                for p in PARAMETER_SPECS:
                    if p.name in own or p.name in skip:
                        continue
                    out[p.name] = p.type
                    setattr(cls, p.name, option(getattr(p, values), p.help))
        cls.__annotations__ = out
        return cls

    return decorate


def variant_parameters(config: Any) -> dict:
    """The parameters of ``config`` (any object with the :data:`PARAMETERS` attributes) that differ
    from :data:`DEFAULTS`: the keyword arguments of :func:`star_theory.rules.make_rule`."""
    return {k: getattr(config, k) for k in DEFAULTS if hasattr(config, k) and getattr(config, k) != DEFAULTS[k]}


def check_rule_parameters(name: str, params: dict) -> None:
    """``params`` (keyword arguments of a rule by ``name``) checked without loading any rule: a
    built-in's through :func:`make_variant`; for any other name (a plug-in rule, which takes no
    built-in parameter) each must keep its neutral value."""
    if not isinstance(name, str) or not name:
        raise InputError(f"a rule name must be a non-empty string, got {name!r}")
    if name in VARIANT_PARAMETERS:
        make_variant(name, **params)
        return
    for key, value in params.items():
        if key not in NEUTRAL:
            raise InputError(f"unknown variant parameter {key!r}")
        if value != NEUTRAL[key]:
            raise InputError(f"{key}={value!r} applies to variant {SPECS[key].variant!r}, not to the plug-in rule {name!r}")


def tempered_policy(policy: TabularPolicy, temperature: float) -> TabularPolicy:
    r""":math:`P_n^{(T)}(s' \mid s) = P_n(s' \mid s)^{1/T} / \sum_{s''} P_n(s'' \mid s)^{1/T}` (``T > 0``)."""
    check_policy(policy, "policy")
    T = _check_temperature(temperature)
    if T == 1.0:
        return policy
    kernels = []
    for k in policy.kernels:
        # in log space, shifted per row before dividing by T, so that a small T neither underflows
        # every entry nor overflows the row's largest one: that entry becomes exp(0) = 1
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            logk = np.log(k)
            logk = (logk - logk.max(axis=1, keepdims=True)) / T
        w = np.exp(np.nan_to_num(logk, nan=-np.inf))
        kernels.append(w / w.sum(axis=1, keepdims=True))
    return TabularPolicy(kernels)


def noisy_verifier_accept(task: ReasoningTask, fp: float, fn: float) -> np.ndarray:
    """``accept[s0, s] = 1 - fn`` if ``s`` is the correct answer of ``s0``, else ``fp``."""
    fp, fn = _check_prob(fp, "fp"), _check_prob(fn, "fn")
    exact = correct_accept(task)
    return exact * (1.0 - fn) + (1.0 - exact) * fp


def mix_policies(old: TabularPolicy, new: TabularPolicy, eta: float) -> TabularPolicy:
    r""":math:`(1 - \eta)\, P^{\mathrm{old}} + \eta\, P^{\mathrm{new}}` step by step (``0 < eta <= 1``)."""
    check_policy(old, "old")
    check_policy(new, "new")
    if old.sizes != new.sizes:
        raise InputError(f"old has level sizes {old.sizes} but new has {new.sizes}")
    eta = _check_eta(eta)
    if eta == 1.0:
        return new
    return TabularPolicy([(1.0 - eta) * a + eta * b for a, b in zip(old.kernels, new.kernels)])


def failed_questions(kept: np.ndarray, task: ReasoningTask, questions=None) -> np.ndarray:
    """The questions (default: the support of :math:`\rho`) of which no chain was kept."""
    per_question = np.bincount(np.asarray(kept, dtype=np.int64)[:, 0], minlength=task.sizes[0])
    pool = question_support(task) if questions is None else np.asarray(questions, dtype=np.int64)
    return pool[per_question[pool] == 0]


def kept_counts(kept: np.ndarray, task: ReasoningTask) -> list[np.ndarray]:
    """Per-step transition counts of the kept chains, each counted with its question's weight
    (:func:`~star_theory.sampling.question_weights`; plain counts when :math:`\\rho` is uniform)."""
    w = question_weights(task)
    weights = None if np.allclose(w[question_support(task)], 1.0) else w[kept[:, 0]]
    return transition_counts(kept, task, weights)


def _check_prob(v, name: str) -> float:
    if isinstance(v, (float, np.floating)) and np.isnan(v):
        raise InputError(f"{name} must lie in [0, 1], got {v!r}")
    v = as_float(v, name)
    if not (0.0 <= v <= 1.0):
        raise InputError(f"{name} must lie in [0, 1], got {v!r}")
    return v


def _check_eta(v) -> float:
    v = _check_prob(v, "eta")
    if v <= 0.0:
        raise InputError(f"eta must lie in (0, 1], got {v!r}")
    return v


#: the smallest temperature the numpy forms represent: below float64's smallest normal number,
#: ``log(P) / T`` overflows for every entry and the tempered rows are no longer defined
MIN_TEMPERATURE = float(np.finfo(np.float64).tiny)


def _check_temperature(v) -> float:
    if isinstance(v, (float, np.floating)) and not np.isfinite(v):
        raise InputError(f"temperature must be > 0 and finite, got {v!r}")
    v = as_float(v, "temperature")
    if not v > 0:
        raise InputError(f"temperature must be > 0, got {v!r}")
    if v < MIN_TEMPERATURE:
        raise InputError(f"temperature={v!r} is below {MIN_TEMPERATURE!r}, the smallest normal float64 "
                         "(a subnormal temperature is not represented); use a temperature >= that")
    return v


@dataclass(frozen=True)
@variant_fields(after="name", values="neutral")
class StarVariant(VariantParameterFields):
    """A STaR update rule: a name and its parameters (see the module docstring).

    ``exact_step(policy, task, K)`` and ``sampled_step(policy, task, K, rng, ...)`` apply it once;
    ``exact(K)`` and ``sampled(K, rng, ...)`` return ``step(policy, task)`` callables for
    :func:`star_theory.rules.star_trajectory` and the theorem checks.
    """

    name: str = "star"  # then one field per parameter of PARAMETER_SPECS, neutral by default

    def __post_init__(self):
        if not isinstance(self.name, str) or self.name not in VARIANT_PARAMETERS:
            raise InputError(f"unknown variant {self.name!r} (known: {', '.join(VARIANT_NAMES)})")
        for p in PARAMETER_SPECS:
            object.__setattr__(self, p.name, p.validate(getattr(self, p.name)))

    @property
    def parameters(self) -> dict:
        """The parameters this variant's name takes, with their values."""
        return {p: getattr(self, p) for p in VARIANT_PARAMETERS[self.name]}

    @property
    def is_neutral(self) -> bool:
        """True when every parameter has its neutral value (the rule is ``star``)."""
        return all(getattr(self, p) == v for p, v in NEUTRAL.items())

    def label(self) -> str:
        params = ", ".join(f"{k}={v:g}" for k, v in self.parameters.items())
        return f"{self.name}({params})" if params else self.name

    # ------------------------------------------------------------------ ingredients

    def sampling_policy(self, policy: TabularPolicy) -> TabularPolicy:
        """The policy chains are drawn from (tempered when ``temperature != 1``)."""
        return tempered_policy(policy, self.temperature)

    def accept(self, task: ReasoningTask) -> np.ndarray | None:
        """The verifier's acceptance matrix, or ``None`` for the exact verifier ``r = 1``."""
        if self.fp == 0.0 and self.fn == 0.0:
            return None
        return noisy_verifier_accept(task, self.fp, self.fn)

    has_sampled_form = True

    def __call__(self, policy: TabularPolicy, task: ReasoningTask) -> TabularPolicy:
        """The exact form in the infinite-data limit: a ``step(policy, task)`` for the checks."""
        return self.exact_step(policy, task)

    def closed_forms(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int) -> tuple[float, float]:
        """``(P(no kept chain), E[#kept])`` of one sampled iteration with ``K`` chains per question."""
        q, acc = self.sampling_policy(policy), self.accept(task)
        return prob_no_kept_chain(q, task, chains_per_question, acc), expected_kept_count(q, task, chains_per_question, acc)

    # ------------------------------------------------------------------ exact form

    def expected_mass(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int | None = None) -> list[np.ndarray]:
        r"""Expected kept-transition counts per sampled chain, :math:`\bar c_n` (module docstring)."""
        check_pair(policy, task)
        q = self.sampling_policy(policy)
        acc = self.accept(task)
        mass = kept_transition_mass(q, task, acc)
        if self.rationales > 0 and chains_per_question is not None:
            K = as_int(chains_per_question, "chains_per_question K", 1)
            a = question_keep_probability(q, task, acc)  # P(a chain of s0 is kept)
            J = question_keep_probability(q, task)  # P(a chain of s0 is correct): posterior's normaliser
            factor = np.zeros_like(J)
            ok = J > 0
            with np.errstate(divide="ignore"):  # a = 1: log1p(-1) = -inf, (1 - a)^K = 0
                fail = np.exp(K * np.log1p(-np.minimum(a[ok], 1.0)))
            factor[ok] = (self.rationales / K) * fail / J[ok]
            # kept_transition_mass is linear in accept: scaling question s0's row by factor(s0)
            # weights its correct chains by R (1-a)^K / (K J(s0)), the posterior's expected count.
            extra = kept_transition_mass(q, task, correct_accept(task) * factor[:, None])
            mass = [m + e for m, e in zip(mass, extra)]
        return mass

    def exact_step(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int | None =None) -> TabularPolicy:
        """One exact iteration of this rule (``chains_per_question`` matters only for ``rationalize``)."""
        new = refit_rows(self.expected_mass(policy, task, chains_per_question), policy)
        return mix_policies(policy, new, self.eta)

    def exact(self, chains_per_question: int | None =None) -> Callable[[TabularPolicy, ReasoningTask], TabularPolicy]:
        """``step(policy, task)`` applying :meth:`exact_step` (for trajectories and checks)."""

        def step(policy: TabularPolicy, task: ReasoningTask) -> TabularPolicy:
            return self.exact_step(policy, task, chains_per_question)

        step.__name__ = f"exact_{self.name.replace('-', '_')}_step"
        return step

    # ------------------------------------------------------------------ chain level (the rule protocol)

    @property
    def sampling_temperature(self) -> float:
        """The temperature chains are sampled at (the tabular form tempers the policy; the LLM its softmax)."""
        return self.temperature

    @property
    def chain_form_refusal(self) -> str | None:
        """Why this rule has no chain-level form (None: it has one). ``partial-fit`` mixes kernels,
        which a model fine-tuned on its kept chains does not do."""
        if self.eta != 1.0:
            return (f"{self.label()} has no chain-level form: its step (1-eta) P + eta Refit(P) mixes kernels, "
                    "which fine-tuning a model on kept chains does not do; it runs on the tabular simulator only")
        return None

    def keep_weights(self, chains: np.ndarray, log_prob: ArrayLike | None, task: ReasoningTask,
                     rng: np.random.Generator | None) -> np.ndarray:
        """Keep weight of each sampled chain (``(n, N + 1)`` state indices; ``log_prob`` unused): 1 for
        a right answer, 0 otherwise; with the noisy verifier a wrong answer is kept with probability
        ``fp`` and a right one dropped with probability ``fn``, drawn from ``rng`` (``rng=None``: those
        probabilities, the expected weights)."""
        acc = self.accept(task)
        if rng is None:
            c = check_chains(chains, task)
            return (correct_accept(task) if acc is None else acc)[c[:, 0], c[:, -1]]
        return keep_mask(chains, task, rng, acc).astype(float)

    def hint_chains(self, policy: TabularPolicy, task: ReasoningTask, failed: np.ndarray,
                    rng: np.random.Generator) -> np.ndarray:
        r"""Rationalization: ``rationales`` chains per ``failed`` question (one that kept no chain)
        drawn from ``policy`` conditioned on the right answer (questions with :math:`J(s_0) = 0`
        get none); shape ``(m, N + 1)``, empty without rationales."""
        failed = np.asarray(failed, dtype=np.int64)
        if self.rationales == 0 or failed.size == 0:
            return np.empty((0, task.n_steps + 1), dtype=np.int64)
        J = question_keep_probability(policy, task)
        failed = failed[J[failed] > 0]
        if failed.size == 0:
            return np.empty((0, task.n_steps + 1), dtype=np.int64)
        return sample_conditioned_chains(policy, task, np.repeat(failed, self.rationales), rng)

    def record(self) -> dict:
        """The rule as recorded beside results: name, parameters and label."""
        return {"name": self.name, "params": self.parameters, "label": self.label()}

    def symmetric_update(self, M: int, lam: ArrayLike) -> np.ndarray:
        """The closed form of one exact step on the symmetric family (:mod:`star_theory.variant_theory`),
        ``lam -> lam'`` (shape ``(..., N)``); ``rationalize``'s exact form is ``star`` there."""
        if self.name == "noisy-verifier":
            return theory.noisy_update(M, lam, self.fp, self.fn)
        if self.name == "partial-fit":
            return theory.partial_fit_update(M, lam, self.eta)
        if self.name == "temperature":
            return theory.temperature_update(M, lam, self.temperature)
        return symmetric_star_update(M, lam=lam)

    # ------------------------------------------------------------------ sampled form

    def sampled_step(
        self,
        policy: TabularPolicy,
        task: ReasoningTask,
        chains_per_question: int,
        rng: RandomSource,
        empty_rows: str = "keep",
        alpha: float = 1.0,
    ) -> SampledStep:
        """One finite-sample iteration: sample ``K`` chains per question, filter, (rationalise), refit."""
        check_pair(policy, task)
        rng = as_generator(rng)
        K = as_int(chains_per_question, "chains_per_question K", 1)
        q = self.sampling_policy(policy)
        chains = sample_chains(q, task, K, rng)
        kept_mask = self.keep_weights(chains, None, task, rng) > 0  # the verifier draws nothing for r = 1
        kept = chains[kept_mask]
        n_rational = 0
        if self.rationales > 0:
            extra = self.hint_chains(q, task, failed_questions(kept, task), rng)
            n_rational = extra.shape[0]
            if n_rational:
                kept = np.vstack([kept, extra])
        counts = kept_counts(kept, task)
        new = refit_from_counts(counts, policy, empty_rows, alpha)
        return SampledStep(
            policy=mix_policies(policy, new, self.eta),
            n_chains=int(chains.shape[0]),
            kept=int(kept_mask.sum()),
            rationalized=int(n_rational),
            counts=tuple(counts),
        )

    def sampled(self, chains_per_question: int, rng: RandomSource, empty_rows: str = "keep", alpha: float = 1.0) -> Callable[[TabularPolicy, ReasoningTask], TabularPolicy]:
        """``step(policy, task)`` applying :meth:`sampled_step` with one Generator made from ``rng``."""
        gen = as_generator(rng)

        def step(policy: TabularPolicy, task: ReasoningTask) -> TabularPolicy:
            return self.sampled_step(policy, task, chains_per_question, gen, empty_rows, alpha).policy

        step.__name__ = f"sampled_{self.name.replace('-', '_')}_step"
        return step


def make_variant(name: str, **params: Any) -> StarVariant:
    """A named STaR rule; parameters not taken by ``name`` raise :class:`InputError`.

    Missing parameters take :data:`DEFAULTS` (neutral values; ``rationalize`` uses 1 rationale).
    """
    if not isinstance(name, str) or name not in VARIANT_PARAMETERS:
        raise InputError(f"unknown variant {name!r} (known: {', '.join(VARIANT_NAMES)})")
    known = {f.name for f in fields(StarVariant)} - {"name"}
    for key, value in params.items():
        if key not in known:
            raise InputError(f"unknown variant parameter {key!r} (known: {', '.join(sorted(known))})")
        if key not in VARIANT_PARAMETERS[name] and value != NEUTRAL[key]:
            takes = [v for v, ps in VARIANT_PARAMETERS.items() if key in ps]
            raise InputError(f"{key}={value!r} applies to variant {takes[0]!r}, not {name!r}")
    values = {p: params.get(p, DEFAULTS[p]) for p in VARIANT_PARAMETERS[name]}
    return StarVariant(name=name, **values)


def sampled_star_step(
    policy: TabularPolicy,
    task: ReasoningTask,
    chains_per_question: int,
    rng: RandomSource,
    empty_rows: str = "keep",
    alpha: float = 1.0,
) -> SampledStep:
    """One finite-sample STaR iteration (sample ``K`` per question, keep ``r = 1``, refit).

    The plain ``star`` rule of :func:`make_variant`.
    """
    return make_variant("star").sampled_step(policy, task, chains_per_question, rng, empty_rows, alpha)

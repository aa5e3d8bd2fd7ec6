r"""The plug-in point for update rules: a rule of your own gets ``simulate``, ``phase`` and the
claim checks without editing the package.

**The protocol.** An update rule is, at the least, a callable ``exact(policy, task) -> policy``:
one iteration in the infinite-data limit on a :class:`~star_theory.model.TabularPolicy` and a
:class:`~star_theory.model.ReasoningTask`. Wrap it in a :class:`Rule` to give it a name and,
optionally,

* ``sampled(policy, task, K, rng) -> SampledStep``: one finite-sample iteration with ``K``
  chains per question drawn from the numpy Generator ``rng``
  (:class:`~star_theory.sim.sampling.SampledStep`: new policy, chains drawn, chains kept, 0,
  the per-step counts). Needed by ``simulate`` and by sampled phase diagrams. It may also take
  the keywords ``empty_rows`` and ``alpha`` (the rule for rows with no kept data);
* ``keep_probability(policy, task) -> a``: the probability ``a[s0]`` that one sampled chain of
  question ``s0`` is kept (shape ``(|S_0|,)``), which gives ``simulate`` its closed forms
  :math:`\Pr(\text{no kept chain}) = \prod_{s_0} (1 - a(s_0))^K` and
  :math:`E[\#\text{kept}] = K \sum_{s_0} a(s_0)`; without it those columns are NaN.

:func:`chain_filter_rule` builds all three from one function that says which chains to keep
(STaR keeps those with the right answer); its exact form enumerates every chain, so it is for
small tasks (at most :data:`MAX_ENUMERATED_CHAINS` chains).

**Using a rule.** Pass the object: the checks (``step=rule``), :func:`~star_theory.rules.star_trajectory`,
:func:`~star_theory.sim.phase.phase_diagram` (``variant=rule``) and :mod:`star_theory.testing` take
it as it is (any callable ``(policy, task) -> policy`` works there). Or register it, by
:func:`register_rule` in your process, or by an entry point in the group ``rlstar.variants`` of
your package (the entry point names the rule and loads a :class:`Rule` or a plain callable)::

    [project.entry-points."rlstar.variants"]
    confident-star = "mypackage.rules:confident_star"

Then its name works wherever a variant name does: ``SimulateConfig(variant=...)``,
``rlstar simulate --variant confident-star``, ``rlstar phase --variant confident-star``.

The built-in rules (:data:`~star_theory.sim.variants.VARIANT_NAMES`) are
:class:`~star_theory.sim.variants.StarVariant` objects with the same methods (``exact_step``,
``sampled_step``, ``closed_forms``, ``label``), which is all that ``simulate`` and ``phase`` use.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, replace
from importlib.metadata import entry_points
from typing import Any, Callable, Mapping

import numpy as np

from .aliases import RandomSource
from .errors import InputError
from .exact import _check, exact_star_step, refit_rows
from .model import ReasoningTask, TabularPolicy, _check_policy
from .sim.sampling import (
    SampledStep,
    _check_pair,
    as_generator,
    question_support,
    refit_from_counts,
    sample_chains,
    transition_counts,
)
from .sim.variants import NEUTRAL, VARIANT_NAMES, VARIANT_PARAMETERS, StarVariant, kept_counts, make_variant
from .validation import _as_int, as_iterations

ENTRY_POINT_GROUP = "rlstar.variants"
MAX_ENUMERATED_CHAINS = 1 << 20
"""Most chains (product of the level sizes) the exact form of :func:`chain_filter_rule` enumerates."""

_REGISTRY: dict[str, Rule | StarVariant] = {}


def call_foreign(rule_name: str, what: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` (code of a plug-in rule): any failure, ``SystemExit`` included (but not
    ``KeyboardInterrupt``, the user's own stop), becomes a one-line InputError naming the rule."""
    try:
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except InputError as exc:
        raise InputError(f"rule {rule_name!r}: {what} refused its input: {exc}") from None
    except BaseException as exc:  # foreign code: SystemExit, GeneratorExit, anything
        raise InputError(f"rule {rule_name!r}: {what} failed: {type(exc).__name__}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else "(no message)"


def _check_result(new, policy: TabularPolicy, who: str) -> TabularPolicy:
    """``new`` checked as a built-in rule's result: a TabularPolicy (validated on construction, its
    kernels read-only) of ``policy``'s level sizes."""
    if not isinstance(new, TabularPolicy) or new.sizes != policy.sizes:
        raise InputError(f"{who} must return a TabularPolicy of level sizes {policy.sizes}, got {type(new).__name__}")
    return new


@dataclass(frozen=True)
class Rule:
    """A user-defined update rule (see the module docstring for the protocol).

    ``Rule(name, exact)`` is itself a ``step(policy, task)`` callable (its exact form), so it can
    be passed wherever a step is expected.
    """

    name: str
    exact: Callable
    sampled: Callable | None = None
    keep_probability: Callable | None = None
    description: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.strip() or any(c.isspace() for c in self.name):
            raise InputError(f"name must be a non-empty string without spaces, got {self.name!r}")
        for field in ("exact", "sampled", "keep_probability"):
            value = getattr(self, field)
            if (value is not None or field == "exact") and not callable(value):
                raise InputError(f"{field} of rule {self.name!r} must be a callable, got {type(value).__name__}")

    is_neutral = False  # never the plain ``star`` rule (phase uses the closed form only for that)

    @property
    def has_sampled_form(self) -> bool:
        return self.sampled is not None

    def label(self) -> str:
        return self.name

    def __call__(self, policy: TabularPolicy, task: ReasoningTask) -> TabularPolicy:
        _check_pair(policy, task)
        new = call_foreign(self.name, "the exact form", self.exact, policy, task)
        return _check_result(new, policy, f"the exact form of rule {self.name!r}")

    def exact_step(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int | None = None) -> TabularPolicy:
        """The exact form (``chains_per_question`` is ignored: the infinite-data limit)."""
        return self(policy, task)

    def sampled_step(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int, rng: RandomSource, empty_rows: str = "keep", alpha: float = 1.0) -> SampledStep:
        """One finite-sample iteration through the rule's ``sampled`` form."""
        if self.sampled is None:
            raise InputError(f"rule {self.name!r} has no sampled form (give Rule(..., sampled=...))")
        _check_pair(policy, task)
        K = _as_int(chains_per_question, "chains_per_question K", 1)
        extra = {}
        if (empty_rows, alpha) != ("keep", 1.0):
            params: Mapping[str, inspect.Parameter]
            try:
                params = inspect.signature(self.sampled).parameters
            except (TypeError, ValueError):
                params = {}
            if "empty_rows" not in params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
                raise InputError(f"the sampled form of rule {self.name!r} takes no empty_rows/alpha "
                                 f"(got empty_rows={empty_rows!r}, alpha={alpha!r})")
            extra = {"empty_rows": empty_rows, "alpha": alpha}
        out = call_foreign(self.name, "the sampled form", self.sampled, policy, task, K, as_generator(rng), **extra)
        if not isinstance(out, SampledStep):
            raise InputError(f"the sampled form of rule {self.name!r} must return a SampledStep, got {type(out).__name__}")
        _check_result(out.policy, policy, f"the sampled form of rule {self.name!r}")
        return out

    def closed_forms(self, policy: TabularPolicy, task: ReasoningTask, chains_per_question: int) -> tuple[float, float]:
        """``(P(no kept chain), E[#kept])`` for ``K`` chains per question (NaN without ``keep_probability``)."""
        if self.keep_probability is None:
            return float("nan"), float("nan")
        K = _as_int(chains_per_question, "chains_per_question K", 1)
        try:
            a = np.asarray(call_foreign(self.name, "keep_probability", self.keep_probability, policy, task), dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"keep_probability of rule {self.name!r} must return {task.sizes[0]} probabilities") from None
        if a.shape != (task.sizes[0],) or not np.all((a >= 0) & (a <= 1)):
            raise InputError(f"keep_probability of rule {self.name!r} must return {task.sizes[0]} probabilities, got {a!r}")
        a = a[question_support(task)]
        p0 = 0.0 if np.any(a >= 1.0) else float(np.exp(K * np.log1p(-a).sum()))
        return p0, float(K * a.sum())


# ----------------------------------------------------------------------------- registry


def _entry_points():
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def rule_names() -> tuple[str, ...]:
    """Every rule name: the built-in variants, then registered and entry-point rules (sorted)."""
    extra = sorted((set(_REGISTRY) | set(_entry_points())) - set(VARIANT_NAMES))
    return tuple(VARIANT_NAMES) + tuple(extra)


def register_rule(rule: str | Rule | StarVariant | Callable[[TabularPolicy, ReasoningTask], TabularPolicy], name: str | None = None, *, replace_existing: bool = False) -> Rule | StarVariant:
    """Make ``rule`` (a :class:`Rule` or a callable ``(policy, task) -> policy``) known by ``name``
    (default: its own name) in this process; returns the rule object used."""
    rule = as_rule(rule, "rule")
    name = rule.name if name is None else name
    if not isinstance(name, str) or not name:
        raise InputError(f"name must be a non-empty string, got {name!r}")
    if isinstance(rule, Rule) and rule.name != name:
        rule = replace(rule, name=name)
    if name in VARIANT_NAMES:
        raise InputError(f"{name!r} is a built-in variant; choose another name")
    if name in _REGISTRY and _REGISTRY[name] is not rule and not replace_existing:
        raise InputError(f"a rule named {name!r} is registered already (pass replace_existing=True)")
    _REGISTRY[name] = rule
    return rule


def unregister_rule(name: str) -> None:
    """Forget a rule registered with :func:`register_rule` (or loaded from an entry point)."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise InputError(f"no registered rule named {name!r}")
    del _REGISTRY[name]


def get_rule(name: str) -> Rule | StarVariant:
    """The rule called ``name``: a built-in variant (its defaults), a registered or an entry-point rule."""
    if not isinstance(name, str):
        raise InputError(f"a rule name must be a string, got {type(name).__name__}")
    if name in VARIANT_NAMES:
        return make_variant(name)
    if name in _REGISTRY:
        return _REGISTRY[name]
    ep = _entry_points().get(name)
    if ep is None:
        raise InputError(f"unknown variant {name!r} (known: {', '.join(rule_names())})")
    try:
        obj = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # an entry point is foreign code: any failure, SystemExit included, is one line
        raise InputError(f"variant {name!r}: entry point {ep.value!r} ({ENTRY_POINT_GROUP}) failed to load: "
                         f"{type(exc).__name__}: {_first_line(exc)}") from None
    return register_rule(obj, name)


def make_rule(name: str, **params: Any) -> Rule | StarVariant:
    """A rule by name with parameters: the built-ins take theirs (:func:`~star_theory.sim.variants.make_variant`);
    a plug-in rule takes none, so each parameter must keep its neutral value."""
    if not isinstance(name, str):
        raise InputError(f"a rule name must be a string, got {type(name).__name__}")
    if name in VARIANT_NAMES:
        return make_variant(name, **params)
    rule = get_rule(name)
    for key, value in params.items():
        if key in NEUTRAL and value != NEUTRAL[key]:
            takes = next(v for v, ps in VARIANT_PARAMETERS.items() if key in ps)
            raise InputError(f"{key}={value!r} applies to variant {takes!r}, not to the plug-in rule {name!r}")
        if key not in NEUTRAL:
            raise InputError(f"unknown variant parameter {key!r}")
    return rule


def as_rule(obj: str | Rule | StarVariant | Callable[[TabularPolicy, ReasoningTask], TabularPolicy], argname: str = "variant") -> Rule | StarVariant:
    """A rule from a name, a :class:`~star_theory.sim.variants.StarVariant`, a :class:`Rule` or a
    callable ``(policy, task) -> policy`` (wrapped in a :class:`Rule` named after it)."""
    if isinstance(obj, str):
        return get_rule(obj)
    if isinstance(obj, (StarVariant, Rule)):
        return obj
    if callable(obj):
        return Rule(name=getattr(obj, "__name__", type(obj).__name__).replace(" ", "_") or "rule", exact=obj)
    raise InputError(f"{argname} must be a rule name, a StarVariant, a Rule or a callable (policy, task) -> policy, "
                     f"got {type(obj).__name__}")


# ----------------------------------------------------------------------------- chain filters


def chain_log_prob(policy: TabularPolicy, chains: np.ndarray) -> np.ndarray:
    r""":math:`\log \prod_n P_n(s_n \mid s_{n-1})` of each chain (shape ``(n,)``; ``-inf`` for probability 0)."""
    _check_policy(policy)
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


def chain_filter_rule(name: str, keep: Callable, description: str = "") -> Rule:
    r"""A :class:`Rule` that refits on the chains ``keep`` accepts, with all three forms.

    ``keep(chains, log_prob, task) -> mask``: ``chains`` of shape ``(n, N + 1)`` (column 0 is the
    question), ``log_prob`` their log-probability under the current policy, a boolean ``mask``
    of shape ``(n,)``. STaR is ``keep = chains[:, -1] == task.answers[chains[:, 0]]``.

    * exact form: :math:`W_n(s, s') = \sum_{\text{chains}} \rho(s_0) P(\text{chain} \mid s_0)
      [\text{kept}] [s_{n-1} = s, s_n = s']`, rows normalised (rows with no kept mass keep the
      old row), by enumerating every chain;
    * sampled form: ``K`` chains per question, the kept ones counted (question weights as in
      :mod:`star_theory.sim.sampling`) and refit (``empty_rows``/``alpha``);
    * ``keep_probability``: :math:`a(s_0) = \sum_{\text{chains of } s_0} P(\text{chain} \mid s_0)[\text{kept}]`.
    """
    if not callable(keep):
        raise InputError(f"keep must be a callable (chains, log_prob, task) -> mask, got {type(keep).__name__}")

    def mask_of(chains, logp, task) -> np.ndarray:
        m = np.asarray(keep(chains, logp, task))
        if m.shape != (chains.shape[0],) or m.dtype != bool:
            raise InputError(f"keep of rule {name!r} must return a boolean mask of shape ({chains.shape[0]},), "
                             f"got dtype {m.dtype} shape {m.shape}")
        return m

    def kept_mass(policy, task):
        chains = all_chains(task)
        logp = chain_log_prob(policy, chains)
        weight = np.exp(logp) * mask_of(chains, logp, task)
        return chains, weight

    def exact(policy, task):
        chains, weight = kept_mass(policy, task)
        return refit_rows(transition_counts(chains, task, weight * task.question_dist[chains[:, 0]]), policy)

    def keep_probability(policy, task):
        chains, weight = kept_mass(policy, task)
        return np.clip(np.bincount(chains[:, 0], weights=weight, minlength=task.sizes[0]), 0.0, 1.0)

    def sampled(policy, task, K, rng, empty_rows="keep", alpha=1.0):
        chains = sample_chains(policy, task, K, rng)
        mask = mask_of(chains, chain_log_prob(policy, chains), task)
        counts = kept_counts(chains[mask], task)
        new = refit_from_counts(counts, policy, empty_rows, alpha)
        return SampledStep(new, int(chains.shape[0]), int(mask.sum()), 0, tuple(counts))

    return Rule(name, exact, sampled, keep_probability, description)


def star_trajectory(
    policy: TabularPolicy, task: ReasoningTask, iterations: int, step: Callable[[TabularPolicy, ReasoningTask], TabularPolicy] = exact_star_step
) -> list[TabularPolicy]:
    """Policies ``[P^0, P^1, ..., P^T]`` under ``iterations`` applications of ``step``.

    ``step``: an update rule, as :func:`as_rule` takes it (a callable
    ``(policy, task) -> policy``, a :class:`Rule`, a
    :class:`~star_theory.sim.variants.StarVariant` or a rule name); what it returns is checked.
    """
    _check(policy, task)
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise InputError(f"iterations must be a non-negative integer, got {iterations!r}")
    iterations = as_iterations(iterations)
    rule = as_rule(step, "step")  # a Rule checks what its callable returns; a StarVariant is built in
    out = [policy]
    for _ in range(int(iterations)):
        out.append(rule(out[-1], task))
    return out

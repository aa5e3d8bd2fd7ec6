r"""The plug-in point for update rules, by name: a rule of your own gets ``simulate``, ``phase``,
the claim checks and the LLM loop (``rlstar llm run --variant NAME``) without editing the package.

The protocol itself, :class:`Rule` (a chain-level ``keep(chains, log_prob, task, rng) -> weights``
and the optional temperature, hints, partial refit, exact, sampled and closed forms), lives in
:mod:`star_theory.rule_protocol` and is re-exported here with :func:`chain_filter_rule`,
:func:`chain_log_prob` and :func:`all_chains`. The built-in rules
(:data:`~star_theory.variants.VARIANT_NAMES`) are :class:`~star_theory.variants.StarVariant`
objects with the same methods.

**Using a rule.** Pass the object: the checks (``step=rule``), :func:`star_trajectory`,
:func:`~star_theory.sim.phase.phase_diagram` (``variant=rule``), :func:`~star_theory.sim.simulate`
(``rule=rule``), :func:`llm.star.run_star` (``rule=rule``) and :mod:`star_theory.testing` take it as
it is (any callable ``(policy, task) -> policy`` works where only the exact form is used). Or
register it, by :func:`register_rule` in your process, or by an entry point in the group
``rlstar.variants`` of your package (the entry point names the rule and loads a :class:`Rule` or a
plain callable)::

    [project.entry-points."rlstar.variants"]
    confident-star = "mypackage.rules:confident_star"

Then its name works wherever a command takes a variant name: ``rlstar simulate --variant
confident-star``, ``rlstar phase --variant confident-star``, ``rlstar llm run --variant
confident-star`` (the last needs the rule's chain-level form). This module is the only one that
looks names up: :mod:`star_theory.sim` and :mod:`star_theory.checks` know the built-in names only,
and take every other rule as an object (the command layer resolves it here).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from .errors import InputError
from .exact import exact_star_step
from .model import ReasoningTask, TabularPolicy
from .rule_protocol import (  # noqa: F401  (the protocol's public names, re-exported here)
    MAX_ENUMERATED_CHAINS,
    Rule,
    all_chains,
    as_rule_object,
    chain_filter_rule,
    chain_log_prob,
    trajectory,
)
from .plugins import PluginRegistry
from .variants import VARIANT_NAMES, StarVariant, check_rule_parameters, make_variant

ENTRY_POINT_GROUP = "rlstar.variants"

RULES: PluginRegistry[Rule | StarVariant] = PluginRegistry("rule", "variant", ENTRY_POINT_GROUP)
_REGISTRY = RULES.registered  # the rules registered in this process, by name


# ----------------------------------------------------------------------------- registry


def rule_names() -> tuple[str, ...]:
    """Every rule name: the built-in variants, then registered and entry-point rules (sorted)."""
    return RULES.names(VARIANT_NAMES)


def register_rule(rule: str | Rule | StarVariant | Callable[[TabularPolicy, ReasoningTask], TabularPolicy], name: str | None = None, *, replace_existing: bool = False) -> Rule | StarVariant:
    """Make ``rule`` (a :class:`Rule` or a callable ``(policy, task) -> policy``) known by ``name``
    (default: its own name) in this process; returns the rule object used."""
    rule = as_rule(rule, "rule")
    name = rule.name if name is None else name
    if not isinstance(name, str) or not name:
        raise InputError(f"name must be a non-empty string, got {name!r}")
    if isinstance(rule, Rule) and rule.name != name:
        rule = replace(rule, name=name)
    return RULES.add(name, rule, VARIANT_NAMES, replace_existing)


def unregister_rule(name: str) -> None:
    """Forget a rule registered with :func:`register_rule` (or loaded from an entry point)."""
    RULES.remove(name)


def get_rule(name: str) -> Rule | StarVariant:
    """The rule called ``name``: a built-in variant (its defaults), a registered or an entry-point rule."""
    if not isinstance(name, str):
        raise InputError(f"a rule name must be a string, got {type(name).__name__}")
    if name in VARIANT_NAMES:
        return make_variant(name)
    if name in _REGISTRY:
        return _REGISTRY[name]
    return register_rule(RULES.load(name, rule_names), name)


def make_rule(name: str, **params: Any) -> Rule | StarVariant:
    """A rule by name with parameters: the built-ins take theirs (:func:`~star_theory.variants.make_variant`);
    a plug-in rule takes none, so each parameter must keep its neutral value."""
    if not isinstance(name, str):
        raise InputError(f"a rule name must be a string, got {type(name).__name__}")
    if name in VARIANT_NAMES:
        return make_variant(name, **params)
    rule = get_rule(name)
    check_rule_parameters(name, params)
    return rule


def as_rule(obj: str | Rule | StarVariant | Callable[[TabularPolicy, ReasoningTask], TabularPolicy], argname: str = "variant") -> Rule | StarVariant:
    """A rule from a name, a :class:`~star_theory.variants.StarVariant`, a :class:`Rule` or a
    callable ``(policy, task) -> policy`` (wrapped in a :class:`Rule` named after it)."""
    if isinstance(obj, str):
        return get_rule(obj)
    return as_rule_object(obj, argname)


def star_trajectory(
    policy: TabularPolicy, task: ReasoningTask, iterations: int, step: Callable[[TabularPolicy, ReasoningTask], TabularPolicy] = exact_star_step
) -> list[TabularPolicy]:
    """Policies ``[P^0, P^1, ..., P^T]`` under ``iterations`` applications of ``step``.

    ``step``: an update rule, as :func:`as_rule` takes it (a callable
    ``(policy, task) -> policy``, a :class:`Rule`, a
    :class:`~star_theory.variants.StarVariant` or a rule name, looked up in the registry); what it
    returns is checked (:func:`star_theory.rule_protocol.trajectory`, which takes objects only).
    """
    return trajectory(policy, task, iterations, as_rule(step, "step") if isinstance(step, str) else step)

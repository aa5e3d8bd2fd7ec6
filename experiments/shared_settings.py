"""How an experiment's ``Settings`` declares a field (:func:`setting`), and the fields shared by several
experiments' ``Settings``, which extend these classes with their own fields and checks (the shared
fields come first, in this order)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from star_theory.config import option


def setting(help: str, *, choices: tuple | None = None):
    """A field of an experiment's ``Settings``: its help string (and choices), no default. The default is
    the experiment's ``settings.toml [default]``, the one place it is written
    (:meth:`experiments.framework.Experiment.settings` reads it)."""
    return option(dataclasses.MISSING, help, choices=choices)


@dataclass(frozen=True)
class SymmetricBench:
    """The symmetric tabular bench of ``variants`` and ``beyond``: the task, the initial policy
    (convention ``lam``) and the length of the curves."""

    M: int = setting("states per level of the symmetric task")
    N: int = setting("reasoning steps of the symmetric task")
    lam: float = setting("initial lam on every step (convention lam)")
    iterations: int = setting("STaR iterations of the curves")


@dataclass(frozen=True)
class AnalysisSize:
    """The analysis's task size, the first fields of ``theory_curves`` and ``finite_samples``."""

    M: int = setting("states per level (the analysis: 64)")
    N: int = setting("reasoning steps (the analysis: 3)")

"""Fields shared by several experiments' ``Settings``, which extend these classes with their own
fields and checks (the shared fields come first, in this order)."""

from __future__ import annotations

from dataclasses import dataclass

from star_theory.config import option


@dataclass(frozen=True)
class SymmetricBench:
    """The symmetric tabular bench of ``variants`` and ``beyond``: the task, the initial policy
    (convention ``lam``) and the length of the curves."""

    M: int = option(8, "states per level of the symmetric task")
    N: int = option(3, "reasoning steps of the symmetric task")
    lam: float = option(0.2, "initial lam on every step (convention lam)")
    iterations: int = option(10, "STaR iterations of the curves")


@dataclass(frozen=True)
class AnalysisSize:
    """The analysis's task size, the first fields of ``theory_curves`` and ``finite_samples``."""

    M: int = option(64, "states per level (the analysis: 64)")
    N: int = option(3, "reasoning steps (the analysis: 3)")

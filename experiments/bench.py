"""Settings shared by the experiments on the symmetric tabular bench (``variants`` and ``beyond``):
the task, the initial policy (convention ``lam``) and the length of the curves. Their ``Settings``
extend :class:`SymmetricBench` with their own fields and checks."""

from __future__ import annotations

from dataclasses import dataclass

from star_theory.config import option


@dataclass(frozen=True)
class SymmetricBench:
    M: int = option(8, "states per level of the symmetric task")
    N: int = option(3, "reasoning steps of the symmetric task")
    lam: float = option(0.2, "initial lam on every step (convention lam)")
    iterations: int = option(10, "STaR iterations of the curves")

"""The robustness claim: STaR improves although the kept chains contain wrong intermediate steps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..exact import diagnostics, exact_star_step
from ..model import ReasoningTask, TabularPolicy
from ..rule_protocol import trajectory
from .common import IMPROVEMENT_TOL, Step, check_iterations


@dataclass(frozen=True)
class RobustnessResult:
    """Flawed-chain share of the kept data per iteration, and whether ``J`` still improves.

    ``flawed_share`` ``(T+1,)``, ``flawed_distribution`` ``(T+1, N)`` (``[t, k]`` = share of kept
    chains with ``k`` wrong intermediate states), ``accuracy`` ``(T+1,)``. ``holds`` = accuracy
    never decreases although the kept data contain flawed chains (``max_flawed_share``).
    """

    holds: bool
    flawed_share: np.ndarray
    flawed_distribution: np.ndarray
    accuracy: np.ndarray
    max_flawed_share: float
    trained_on_flawed_chains: bool


def check_robustness(
    policy: TabularPolicy, task: ReasoningTask, iterations: int = 10, step: Step = exact_star_step
) -> RobustnessResult:
    """Claim: STaR improves although kept chains contain wrong intermediate steps."""
    policies = trajectory(policy, task, check_iterations(iterations), step=step)
    diags = [diagnostics(p, task) for p in policies]
    J = np.array([d.accuracy for d in diags])
    share = np.array([d.flawed_share for d in diags])
    dist = np.stack([d.flawed_distribution for d in diags])
    improves = bool(np.all(np.diff(J) >= -IMPROVEMENT_TOL))
    max_share = float(np.nanmax(share)) if np.any(np.isfinite(share)) else float("nan")
    return RobustnessResult(
        holds=improves,
        flawed_share=share,
        flawed_distribution=dist,
        accuracy=J,
        max_flawed_share=max_share,
        trained_on_flawed_chains=bool(max_share > 0),
    )

"""Experiment 6: the non-bijective addition task in the simulator and the LLM."""

from ..framework import Experiment
from .analysis import analyze
from .runner import Settings, run

EXPERIMENT = Experiment(
    name="non_bijective",
    title="Outside the symmetric family: addition with carries",
    claims=("improvement", "convergence", "robustness"),
    settings_cls=Settings,
    run=run,
    analyze=analyze,
)

"""Experiment 1: theory curves (accuracy and per-step lam over iterations; dependence on M and N)."""

from ..framework import Experiment
from .analysis import analyze
from .runner import Settings, run

EXPERIMENT = Experiment(
    name="theory_curves",
    title="Theory curves of the symmetric family",
    claims=("improvement", "convergence"),
    settings_cls=Settings,
    run=run,
    analyze=analyze,
)

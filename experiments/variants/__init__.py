"""Experiment 7: STaR variants (noisy verifier, rationalization, partial fit, temperature)."""

from ..framework import Experiment
from .analysis import analyze
from .runner import Settings, run

EXPERIMENT = Experiment(
    name="variants",
    title="STaR variants: where each helps and where improvement fails",
    claims=("improvement", "convergence", "finite samples"),
    settings_cls=Settings,
    run=run,
    analyze=analyze,
)

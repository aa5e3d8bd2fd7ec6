"""Experiment 2: finite samples (simulator mean and band against the exact curve, for several K)."""

from ..framework import Experiment
from .analysis import analyze
from .runner import Settings, run

EXPERIMENT = Experiment(
    name="finite_samples",
    title="Finite-sample STaR against the exact operator",
    claims=("improvement", "convergence", "finite samples"),
    settings_cls=Settings,
    run=run,
    analyze=analyze,
)

"""Experiment 3: pretrained quality (N = 2 phase diagrams; one or two steps at lam = 0, exact and sampled)."""

from ..framework import Experiment
from .analysis import analyze
from .runner import Settings, run

EXPERIMENT = Experiment(
    name="pretrained_quality",
    title="Pretrained quality: which initial policies let STaR start improving",
    claims=("pretrained quality", "convergence", "finite samples", "robustness"),
    settings_cls=Settings,
    run=run,
    analyze=analyze,
)

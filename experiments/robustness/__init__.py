"""Experiment 4: robustness (share of kept chains with wrong intermediate steps, predicted and measured)."""

from ..framework import Experiment
from .analysis import analyze
from .runner import Settings, run

EXPERIMENT = Experiment(
    name="robustness",
    title="Robustness to chains that reach the answer through wrong steps",
    claims=("robustness",),
    settings_cls=Settings,
    run=run,
    analyze=analyze,
)

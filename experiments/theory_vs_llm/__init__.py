"""Experiment 5: theory versus a real STaR run on a transformer, from the measured initial lam_n."""

from ..framework import Experiment
from .analysis import analyze
from .runner import Settings, run

EXPERIMENT = Experiment(
    name="theory_vs_llm",
    title="Theory versus STaR on a GPT-2-style transformer",
    claims=("improvement", "convergence", "pretrained quality"),
    settings_cls=Settings,
    run=run,
    analyze=analyze,
)

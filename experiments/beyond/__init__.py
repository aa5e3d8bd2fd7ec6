"""Experiment 8: beyond RL-STaR: accumulate vs replace, B-STaR, pass@k, chain-level vs per-step refit."""

from ..framework import Experiment
from .analysis import analyze
from .runner import Settings, run

EXPERIMENT = Experiment(
    name="beyond",
    title="Beyond RL-STaR: other analyses of self-improvement on the same tabular bench",
    claims=("data reuse", "exploration", "coverage", "curated retraining", "finite samples"),
    settings_cls=Settings,
    run=run,
    analyze=analyze,
)

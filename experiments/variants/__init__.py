"""Experiment 7: STaR variants (noisy verifier, rationalization, partial fit, temperature)."""

from ..framework import experiment

EXPERIMENT = experiment(__name__, "STaR variants: where each helps and where improvement fails",
                        claims=("improvement", "convergence", "finite samples"))

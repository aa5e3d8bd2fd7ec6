"""Experiment 2: finite samples (simulator mean and band against the exact curve, for several K)."""

from ..framework import experiment

EXPERIMENT = experiment(__name__, "Finite-sample STaR against the exact operator",
                        claims=("improvement", "convergence", "finite samples"))

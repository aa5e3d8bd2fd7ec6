"""Experiment 1: theory curves (accuracy and per-step lam over iterations; dependence on M and N)."""

from ..framework import experiment

EXPERIMENT = experiment(__name__, "Theory curves of the symmetric family",
                        claims=("improvement", "convergence"))

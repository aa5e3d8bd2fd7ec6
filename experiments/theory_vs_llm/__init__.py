"""Experiment 5: theory versus a real STaR run on a transformer, from the measured initial lam_n."""

from ..framework import experiment

EXPERIMENT = experiment(__name__, "Theory versus STaR on a GPT-2-style transformer",
                        claims=("improvement", "convergence", "pretrained quality"))

"""Experiment 3: pretrained quality (N = 2 phase diagrams; one or two steps at lam = 0, exact and sampled)."""

from ..framework import experiment

EXPERIMENT = experiment(__name__, "Pretrained quality: which initial policies let STaR start improving",
                        claims=("pretrained quality", "convergence", "finite samples", "robustness"))

"""Experiment 4: robustness (share of kept chains with wrong intermediate steps, predicted and measured)."""

from ..framework import experiment

EXPERIMENT = experiment(__name__, "Robustness to chains that reach the answer through wrong steps",
                        claims=("robustness",))

"""Experiment 6: the non-bijective addition task in the simulator and the LLM."""

from ..framework import experiment

EXPERIMENT = experiment(__name__, "Outside the symmetric family: addition with carries",
                        claims=("improvement", "convergence", "robustness"))

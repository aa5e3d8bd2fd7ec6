"""Experiment 9: STaR on an LLM that is not a table (fixed-budget fine-tuning, sparse sampling, held-out
questions, symbol tokens) against the tabular theory from its measured kernels."""

from ..framework import experiment

EXPERIMENT = experiment(__name__, "Where a real LLM departs from the table",
                        claims=("improvement", "convergence", "unvisited rows", "held-out questions"))

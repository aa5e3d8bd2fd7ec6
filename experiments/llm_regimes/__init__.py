"""Experiment 9: STaR on an LLM that is not a table (fixed-budget fine-tuning, sparse sampling, held-out
questions, symbol tokens) against the tabular theory from its measured kernels."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Where a real LLM departs from the table",
                        claims=("improvement", "convergence", "unvisited rows", "held-out questions"),
                        load=load)

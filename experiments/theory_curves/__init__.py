"""Experiment 1: theory curves (accuracy and per-step lam over iterations; dependence on M and N)."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Theory curves of the symmetric family",
                        claims=("improvement", "convergence"),
                        load=load)

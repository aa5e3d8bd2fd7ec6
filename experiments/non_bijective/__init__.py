"""Experiment 6: the non-bijective addition task in the simulator and the LLM."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Outside the symmetric family: addition with carries",
                        claims=("improvement", "convergence", "robustness"),
                        load=load)

"""Experiment 6: the non-bijective addition task in the simulator and the LLM."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules, imported when it runs (not by
    ``rlstar reproduce --help``)."""
    from . import analysis, figures, runner

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Outside the symmetric family: addition with carries",
                        claims=("improvement", "convergence", "robustness"),
                        load=load)

"""Experiment 4: robustness (share of kept chains with wrong intermediate steps, predicted and measured)."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Robustness to chains that reach the answer through wrong steps",
                        claims=("robustness",),
                        load=load)

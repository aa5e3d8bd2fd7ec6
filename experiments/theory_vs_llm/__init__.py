"""Experiment 5: theory versus a real STaR run on a transformer, from the measured initial lam_n."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Theory versus STaR on a GPT-2-style transformer",
                        claims=("improvement", "convergence", "pretrained quality"),
                        load=load)

"""Experiment 2: finite samples (simulator mean and band against the exact curve, for several K)."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Finite-sample STaR against the exact operator",
                        claims=("improvement", "convergence", "finite samples"),
                        load=load)

"""Experiment 7: STaR variants (noisy verifier, rationalization, partial fit, temperature)."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "STaR variants: where each helps and where improvement fails",
                        claims=("improvement", "convergence", "finite samples"),
                        load=load)

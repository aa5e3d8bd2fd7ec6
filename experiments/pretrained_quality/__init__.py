"""Experiment 3: pretrained quality (N = 2 phase diagrams; one or two steps at lam = 0, exact and sampled)."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Pretrained quality: which initial policies let STaR start improving",
                        claims=("pretrained quality", "convergence", "finite samples", "robustness"),
                        load=load)

"""Experiment 8: beyond RL-STaR: accumulate vs replace, B-STaR, pass@k, chain-level vs per-step refit,
outcome-reward policy gradient beside STaR."""

from ..framework import experiment


def load():
    """This experiment's runner, analysis and figures modules."""
    from . import analysis, figures, runner  # when it runs: `rlstar reproduce --help` loads no torch or scipy

    return runner, analysis, figures


EXPERIMENT = experiment(__name__, "Beyond RL-STaR: other analyses of self-improvement on the same tabular bench",
                        claims=("data reuse", "exploration", "coverage", "curated retraining", "finite samples",
                                "outcome reward"),
                        load=load)

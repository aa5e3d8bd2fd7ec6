"""The experiments of ``rlstar reproduce``, registered explicitly (as bsuite's sweep lists its
experiments): one tuple of imported experiment packages, in the order of the report.

A new experiment is a folder ``experiments/<name>/`` (see :mod:`experiments.framework`) and one
entry in :data:`EXPERIMENTS`. An experiment's package holds only its title and claims; its runner,
analysis and figures are imported when it runs, so ``rlstar reproduce --help`` stays light.
"""

from __future__ import annotations

from star_theory.errors import InputError

from . import (beyond, finite_samples, llm_regimes, non_bijective, pretrained_quality, robustness, theory_curves,
               theory_vs_llm, variants)
from .framework import Experiment

#: every experiment, in the order of ``rlstar reproduce`` and its report
EXPERIMENTS: tuple[Experiment, ...] = (
    theory_curves.EXPERIMENT,
    finite_samples.EXPERIMENT,
    pretrained_quality.EXPERIMENT,
    robustness.EXPERIMENT,
    theory_vs_llm.EXPERIMENT,
    non_bijective.EXPERIMENT,
    variants.EXPERIMENT,
    beyond.EXPERIMENT,
    llm_regimes.EXPERIMENT,
)
EXPERIMENT_NAMES: tuple[str, ...] = tuple(e.name for e in EXPERIMENTS)
_BY_NAME = dict(zip(EXPERIMENT_NAMES, EXPERIMENTS))


def load_experiment(name: str) -> Experiment:
    """The registered experiment ``name``; an unknown name is an :class:`InputError` naming the known ones."""
    if name not in _BY_NAME:
        raise InputError(f"unknown experiment {name!r} (known: {', '.join(EXPERIMENT_NAMES)})")
    return _BY_NAME[name]

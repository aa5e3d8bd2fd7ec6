"""The overrides of one LLM run of the symmetric family, shared by the experiments that ask for the
same run (experiments 4 and 5 share theory_vs_llm's runs under ``OUT/_llm``; see :mod:`.llm_common`)."""

from __future__ import annotations

from llm.config import preset


def llm_settings(lam: float, iterations: int, llm_preset: str = "tiny") -> dict:
    """Overrides of the tiny preset: the values of ``llm_preset`` (none for ``tiny``), the corpus ``lam``
    on every step and the STaR ``iterations`` (key order kept: the run's seed and folder derive from it)."""
    base = {"lam": [lam], "iterations": iterations}
    if llm_preset != "tiny":
        base = {**preset(llm_preset), **base}
    return base

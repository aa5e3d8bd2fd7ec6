"""docs/tutorial.md runs end to end: every ```python block, in order, in one namespace, in a
scratch folder (so the figures it writes land there), with the Agg backend."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib
import pytest

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "tutorial.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(first line number, source) of every ```python block."""
    return [(text[: m.start(1)].count("\n") + 1, m.group(1)) for m in BLOCK.finditer(text)]


@pytest.fixture
def clean_registry():
    from star_theory import rules

    before = dict(rules._REGISTRY)
    yield
    rules._REGISTRY.clear()
    rules._REGISTRY.update(before)


def test_the_tutorial_runs_end_to_end(tmp_path, monkeypatch, clean_registry):
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    blocks = python_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 10
    namespace: dict = {"__name__": "tutorial"}
    for line, source in blocks:
        exec(compile(source, f"{TUTORIAL}:{line}", "exec"), namespace)  # a traceback names the block's line
    for png in ("confident-star.png", "theory-vs-samples.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    # the simulated rule is the one the tutorial defined, run over the seeds it recorded
    assert namespace["result"]["variant"] == "confident-star" and namespace["result"]["seeds"] == list(range(8))


def test_the_readme_links_the_tutorial():
    assert "(docs/tutorial.md)" in (ROOT / "README.md").read_text(encoding="utf-8")

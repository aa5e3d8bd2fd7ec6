"""A ``[PRESET] NAME`` block of experiments/docs.py is filled only from a run of that preset."""


import pytest

from experiments.docs import render
from star_theory.errors import InputError


def _results(preset: str) -> dict:
    return {"manifest": {"preset": preset, "experiments": ["x"]}, "x": {"data": {"a": 1.5}}}


def test_scoped_block_is_left_alone_from_another_preset_and_filled_from_its_own():
    text = "p <!-- generated:[default] x/data/b -->7<!-- /generated --> q <!-- generated:x/data/a -->0<!-- /generated -->"
    out = render(text, _results("smoke"), "t.md")
    assert "generated:[default] x/data/b -->7<" in out  # absent at this preset, kept as written
    assert "x/data/a -->1.5<" in out
    with pytest.raises(InputError, match="x/data/b"):  # from a default run the same block must fill
        render(text, _results("default"), "t.md")
    text2 = text.replace("x/data/b", "x/data/a")
    assert "[default] x/data/a -->1.5<" in render(text2, _results("default"), "t.md")


def test_scoped_only_fills_the_runs_own_scoped_blocks_and_nothing_else():
    """A partial run at another preset (``--preset full --only ...``) refills its ``[full]`` blocks and
    leaves every other block, which it could not fill, exactly as written."""
    text = ("a <!-- generated:[full] x/data/a -->0<!-- /generated --> b <!-- generated:y/data/c -->9<!-- /generated -->"
            " c <!-- generated:[default] x/data/a -->8<!-- /generated -->")
    out = render(text, _results("full"), "t.md", scoped_only=True)
    assert out == text.replace("[full] x/data/a -->0<", "[full] x/data/a -->1.5<")
    with pytest.raises(InputError, match="y/data/c"):  # without scoped_only the unscoped block must fill
        render(text, _results("full"), "t.md")

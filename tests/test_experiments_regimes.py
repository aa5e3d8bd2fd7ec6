"""Checks that hold by construction (:class:`~experiments.framework.Consistency`) are reported, but not
counted, by the report, the manifest, the CLI line and the docs' tally block. (That the LLM findings can
fail is shown on the smoke runs: tests/test_experiments_llm.py.)"""

from __future__ import annotations

from experiments.framework import Consistency, Finding, Info, split_results

def _record(findings, info=(), consistency=()):
    return {"name": "x", "title": "X", "claims": ["c"], "seed": 0, "figures": [], **split_results(
        [*findings, *info, *consistency])}


def test_consistency_checks_are_reported_outside_the_tally(tmp_path):
    from experiments.docs import fill
    from experiments.report import render_markdown

    rec = _record([Finding("c", "a finding", 1, 1, "t", True), Finding("c", "another", 1, 2, "t", False)],
                  [Info("c", "a quantity", 3)], [Consistency("c", "an identity", 0, 0, "exact", True)])
    assert [f["statement"] for f in rec["findings"]] == ["a finding", "another"]
    assert rec["consistency"][0]["holds"] and "agree" not in rec["consistency"][0]
    manifest = {"preset": "smoke", "master_seed": 0, "device": "cpu", "seconds": 1.0}
    md = render_markdown([rec], manifest)
    assert "**1 of 2**" in md and "an identity" in md and "Consistency checks" in md
    manifest.update(findings=2, findings_agree=1, info=1, consistency=1, consistency_hold=1)
    assert fill("tally", {"manifest": manifest}).startswith("2 findings: **1 agree")
    assert "1 consistency checks (1 hold)" in fill("tally", {"manifest": manifest})
    assert fill("count:x", {"manifest": manifest, "x": rec}) == "1 of 2 agree"


def test_reproduce_counts_findings_only(tmp_path, monkeypatch):
    import experiments.reproduce as R

    rec = _record([Finding("c", "f", 1, 1, "t", True)], consistency=[Consistency("c", "k", 0, 0, "exact", False)])
    monkeypatch.setattr(R, "run_experiment", lambda name, *a, **k: {**rec, "name": name, "seconds": 0})
    monkeypatch.setattr(R, "write_report", lambda *a, **k: None)
    m = R.reproduce(tmp_path / "o", preset="smoke", only=("theory_curves",), progress=False)
    assert (m["findings"], m["findings_agree"], m["consistency"], m["consistency_hold"]) == (1, 1, 1, 0)
    assert m["experiments"]["theory_curves"]["agree"]  # a failed consistency check is not a disagreement

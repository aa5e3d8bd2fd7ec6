"""Figures and printouts read back: legends off the data, one quantity per axis, titles true to their
panel, the theory boundary in the phase plot, the LaTeX formulas as complete as the plain ones,
report notes that name their finding, and the quick look that ``rlstar reproduce`` ends with.

The experiments here are the two cheapest smoke presets (theory_curves, finite_samples: seconds);
the figures of the other experiments are checked beside their own smoke runs
(tests/test_experiments_sim.py, tests/test_experiments_llm.py)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from figure_helpers import capture, data_axes, legends_over_data

from experiments.reproduce import run_experiment


@pytest.fixture(scope="module")
def drawn(tmp_path_factory):
    """The figures and records of theory_curves and finite_samples at the smoke preset."""
    import experiments.finite_samples.figures as fs
    import experiments.theory_curves.figures as tc

    mp = pytest.MonkeyPatch()
    figs, more = capture(mp, tc), capture(mp, fs)
    out = tmp_path_factory.mktemp("figs")
    records = {name: run_experiment(name, "smoke", out, 0, progress=False) for name in ("theory_curves", "finite_samples")}
    mp.undo()
    figs.update(more)
    return figs, records


def test_finite_samples_legends_lie_outside_the_data(drawn):
    figs, _ = drawn
    fig = figs["finite_samples.png"]
    assert sum(ax.get_legend() is not None for ax in fig.axes) == 3
    assert legends_over_data(fig) == []


def test_dependence_on_M_and_N_puts_each_size_on_an_axis_of_its_own(drawn):
    figs, records = drawn
    fig = figs["dependence_on_M_N.png"]
    axes = data_axes(fig)
    positions = [tuple(np.round(ax.get_position().bounds, 6)) for ax in axes]
    assert len(set(positions)) == len(positions)  # no twin axes: no two quantities share a panel's frame
    sizes = [ax.get_xlabel() for ax in axes if ax.get_xlabel().startswith(("M ", "N "))]
    assert sorted(s[0] for s in sizes) == ["M", "N"]  # one panel against M, one against N
    for ax in axes:
        if ax.get_xlabel().startswith(("M ", "N ")):
            assert len(ax.get_lines()) == 1
            x = ax.get_lines()[0].get_xdata()
            key = "iterations_to_target_by_M" if ax.get_xlabel()[0] == "M" else "iterations_to_target_by_N"
            assert sorted(int(k) for k in records["theory_curves"]["data"][key]) == sorted(int(v) for v in x)
    assert legends_over_data(fig) == []


def test_the_phase_plot_draws_the_derived_boundary(tmp_path, monkeypatch):
    import star_theory.plots.phase as ph
    from star_theory.sim.phase import phase_diagram

    M = 5
    figs = capture(monkeypatch, ph)
    ph.plot_phase(phase_diagram(M, 2, points=7, iterations=30), str(tmp_path / "phase.png"))
    fig = figs["phase.png"]
    for ax in data_axes(fig):
        lines = [ln for ln in ax.get_lines() if ln.get_label() == ph.BOUNDARY_LABEL]
        assert len(lines) == 1, ax.get_title()
        l1, l2 = (np.asarray(a, float) for a in lines[0].get_data())
        ok = np.isfinite(l2)
        assert ok.sum() > 100
        # on the curve, s = lam_1 + lam_2 + (M-2) lam_1 lam_2 vanishes (the derived boundary)
        np.testing.assert_allclose(l1[ok] + l2[ok] + (M - 2) * l1[ok] * l2[ok], 0.0, atol=1e-9)
    assert legends_over_data(fig) == []


def test_no_boundary_is_drawn_where_none_is_derived(tmp_path, monkeypatch):
    import star_theory.plots.phase as ph
    from star_theory.sim.phase import phase_diagram

    figs = capture(monkeypatch, ph)
    ph.plot_phase(phase_diagram(5, 3, fixed=(0.5,), points=5, iterations=20), str(tmp_path / "phase3.png"))
    assert not any(ln.get_label() == ph.BOUNDARY_LABEL for ax in figs["phase3.png"].axes for ln in ax.get_lines())


@pytest.mark.parametrize("N", [1, 3])
def test_latex_formulas_keep_every_line_and_definition_of_the_plain_style(N):
    from star_theory.derive import format_formulas

    plain, latex = format_formulas(N).splitlines(), format_formulas(N, "latex").splitlines()
    assert len(plain) == len(latex)
    for p, t in zip(plain, latex):
        if p.startswith("  "):  # a formula: the same quantity, named alike
            name = p.strip().split(" = ")[0]
            words = re.findall(r"[a-z]{2,}", name)
            assert t.startswith("$$ ") and all(w in t for w in words if w not in ("lambda",)), (p, t)
        elif p.startswith("In terms of the products"):  # the line that defines the product forms' symbols
            assert p.split("(")[0] == t.split("(")[0]
            for sym in (r"\Lambda =", r"\Lambda_{-n} =", "p_k ="):
                assert sym in t, sym
        else:
            assert p == t


def test_report_notes_each_name_their_finding(drawn):
    from experiments.report import render_markdown

    _, records = drawn
    recs = list(records.values())
    manifest = {"preset": "smoke", "master_seed": 0, "device": "cpu", "seconds": 1.0}
    md = render_markdown(recs, manifest)
    bullets = [line[2:] for line in md.splitlines() if line.startswith("- ")]
    noted = [f for r in recs for f in r["findings"] if f.get("note")]
    assert len(bullets) == len(noted) > 0
    for b, f in zip(bullets, noted):
        assert f["statement"] in b and f["note"].replace("\n", " ") in b


def test_reproduce_ends_with_the_report_path_and_the_headline_findings(drawn):
    from experiments.headline import CLAIMS, LLM_EXPERIMENT, headline_findings, quick_look

    _, records = drawn
    recs = list(records.values())
    picked = headline_findings(recs)
    claims = [f["claim"] for _, f in picked]
    present = [c for c in CLAIMS if any(f["claim"] == c for r in recs for f in r["findings"])]
    assert claims == present[:3]  # the analysis's claims in its order, each once
    for name, f in picked:  # each the first finding of its claim (no LLM experiment in this run)
        first = next(g for r in recs for g in r["findings"] if g["claim"] == f["claim"])
        assert f is first
    text = quick_look(recs, "/x/report.html")
    assert text.splitlines()[0] == "report: /x/report.html"
    for name, f in picked:
        assert f["statement"] in text
    # with an LLM record, that experiment's finding of a claim comes first
    llm = {"name": LLM_EXPERIMENT, "findings": [{**picked[0][1], "statement": "on the LLM"}]}
    assert headline_findings(recs + [llm])[0] == (LLM_EXPERIMENT, llm["findings"][0])

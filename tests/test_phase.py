"""Pretrained-quality phase diagrams: facts of the model at known points, agreement of the
closed-form and explicit-matrix paths, sampled mode, JSON and figure output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from star_theory import InputError, make_variant, phase_diagram
from star_theory.io import dumps_json
from star_theory.sim.phase import default_values


def test_default_grid_spans_the_square_and_contains_zero():
    for M in (2, 4, 64):
        v = default_values(M, 21)
        assert v[0] == pytest.approx(-1 / (M - 1)) and v[-1] == 1.0
        assert 0.0 in v and np.all(np.diff(v) > 0) and v.size == 21


def test_exact_outcomes_at_points_the_model_decides():
    M = 5
    lo = -1 / (M - 1)
    d = phase_diagram(M, 2, values=[lo, 0.0, 0.5, 1.0], iterations=300, target=0.99)
    label = dict(zip([(a, b) for a in d.values for b in d.values], d.outcome.ravel()))
    # both steps uniform: kept chains carry no information, the policy is a fixed point
    assert label[(0.0, 0.0)] == "stuck"
    # never the correct step twice: the answer is right only through two wrong steps, and the
    # refit keeps exactly that (J = 1/(M-1) < 1)
    assert label[(lo, lo)] == "stuck"
    assert label[(0.5, 0.5)] == "optimum" and label[(1.0, 1.0)] == "optimum"
    # iterations to target: 0 at the optimum, none at a stuck point
    i1 = list(d.values).index(1.0)
    i0 = list(d.values).index(0.0)
    assert d.iterations_to_target[i1, i1] == 0
    assert np.isnan(d.iterations_to_target[i0, i0])
    assert np.all(np.isnan(d.iterations_to_target[d.outcome == "stuck"]))
    assert d.final_accuracy[i0, i0] == pytest.approx(1 / M)


def test_closed_form_and_explicit_matrices_agree_off_the_boundary():
    kw = dict(M=3, N=2, points=7, iterations=120)
    a = phase_diagram(**kw)
    b = phase_diagram(**kw, use_closed_form=False)
    l1, l2 = np.meshgrid(a.values, a.values, indexing="ij")
    off = np.abs(l1 + l2 + (3 - 2) * l1 * l2) > 1e-9  # the theory core's boundary curve
    assert np.array_equal(a.outcome[off] == "optimum", b.outcome[off] == "optimum")
    same = ~np.isnan(a.iterations_to_target) & off
    assert np.array_equal(a.iterations_to_target[same], b.iterations_to_target[same])
    # Where the family is stuck at lam = -1/(M-1), the explicit matrices may be labelled
    # 'other': that fixed point is unstable to perturbations outside the symmetric family, and
    # float round-off grows until the kernels leave the family (docs/simulator.md).
    assert set(b.outcome[a.outcome == "stuck"]) <= {"stuck", "other"}


def test_n3_slice_with_a_uniform_third_step_cannot_reach_the_optimum_from_one_bad_step():
    d = phase_diagram(4, 3, values=[0.0, 0.5, 1.0], fixed=[0.5], iterations=100)
    assert d.N == 3 and d.fixed == (0.5,)
    # lam = (0, 0, 0.5): two zero steps are a fixed point; lam = (1, 1, 0.5) reaches the optimum
    assert d.outcome[0, 0] == "stuck" and d.outcome[2, 2] == "optimum"


def test_sampled_diagram_is_reproducible_and_zero_accuracy_is_stuck():
    M = 4
    lo = -1 / (M - 1)
    kw = dict(M=M, N=2, values=[lo, 0.6, 1.0], iterations=10, mode="sampled", chains_per_question=32, seeds=(0, 1))
    a = phase_diagram(**kw)
    b = phase_diagram(**kw)
    assert np.array_equal(a.outcome, b.outcome) and np.array_equal(a.final_accuracy, b.final_accuracy)
    # (lo, 1): step 1 never right, step 2 always maps it to a wrong answer: J = 0, nothing is
    # ever kept, and the policy never changes
    assert a.outcome[0, 2] == "stuck" and a.final_accuracy[0, 2] == 0.0
    assert a.outcome[2, 2] == "optimum" and a.optimum_fraction[2, 2] == 1.0
    assert np.all((a.optimum_fraction >= 0) & (a.optimum_fraction <= 1))
    js = json.loads(dumps_json(a.to_json()))
    assert js["seeds"] == [0, 1] and js["convention"] == "lam" and js["chains_per_question"] == 32


def test_variant_diagram_runs_its_exact_form():
    d = phase_diagram(3, 2, values=[0.0, 0.5], iterations=20, variant=make_variant("partial-fit", eta=0.5))
    assert d.variant == "partial-fit(eta=0.5)"
    # half steps: the optimum is approached geometrically but not reached within 20 iterations
    assert d.outcome[1, 1] == "other" and d.outcome[0, 0] == "stuck"


def test_figure_and_json(tmp_path):
    from star_theory.plots.phase import plot_phase

    d = phase_diagram(4, 2, points=9, iterations=50)
    out = plot_phase(d, tmp_path / "phase.png")
    assert (tmp_path / "phase.png").stat().st_size > 10_000 and str(out).endswith(".png")
    js = json.loads(dumps_json(d.to_json()))
    assert js["counts"]["optimum"] + js["counts"]["stuck"] + js["counts"]["other"] == 81
    assert len(js["outcome"]) == 9 and js["axes"]["x"].startswith("lam_1")


def test_bad_phase_input():
    with pytest.raises(InputError, match="chains_per_question"):
        phase_diagram(4, 2, mode="sampled")
    with pytest.raises(InputError, match="fixed"):
        phase_diagram(4, 3)
    with pytest.raises(InputError, match="lam"):
        phase_diagram(4, 2, values=[-0.5, 0.5])
    with pytest.raises(InputError, match="mode"):
        phase_diagram(4, 2, mode="guess")

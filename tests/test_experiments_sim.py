"""Smoke runs of the simulator experiments ``pretrained_quality`` and ``variants``.

Each experiment's ``[smoke]`` preset runs once (module fixture) through ``run_experiment``; the
tests assert the agreement each finding claims. Findings that honestly report a disagreement with
the exact operator (finite-sample STaR escaping stuck points, lagging the exact curve) are
asserted in their documented direction instead. The variants' closed forms
(``star_theory/sim/variant_theory.py``) are checked against the library's explicit-matrix variants
over hypothesis inputs.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.framework import PRESETS
from experiments.registry import load_experiment
from experiments.reproduce import run_experiment
from star_theory.sim import variant_theory as theory
from star_theory import (
    fit_symmetric,
    make_variant,
    symmetric_accuracy,
    symmetric_policy,
    symmetric_star_update,
    symmetric_task,
    tempered_policy,
)

# Statements (substrings) of the findings that depart from the exact operator in the smoke run, each
# with its documented direction (docs/reproduce.md): "short" = fewer runs reach the optimum than the
# exact operator says, "escape" = finite samples leave a point where the exact operator is stuck,
# "lag" = the mean of the runs ends below the exact curve. Each must disagree, in its direction;
# every other finding must agree.
PQ_DEPARTURES = {
    "above the boundary finite-sample STaR reaches the optimum like": "short",
    "below the boundary finite-sample STaR stays stuck": "escape",
    "equals the exact J after": "lag",
    "stays at the exact fixed point J = 1/M": "escape",
}


def _in_direction(kind: str, finding: dict) -> bool:
    pred, meas = np.broadcast_arrays(np.asarray(finding["predicted"], float), np.asarray(finding["measured"], float))
    return bool(np.all(meas > pred)) if kind == "escape" else bool(np.all(meas < pred))


@pytest.fixture(scope="module")
def pq_run(smoke_out):  # the process's smoke run (conftest): run once, reused by the docs test's reproduce
    return smoke_out, run_experiment("pretrained_quality", "smoke", smoke_out, 0, progress=False)


@pytest.fixture(scope="module")
def var_run(smoke_out):  # the process's smoke run (conftest): run once, reused by the docs test's reproduce
    return smoke_out, run_experiment("variants", "smoke", smoke_out, 0, progress=False)


@pytest.fixture(scope="module")
def pq(pq_run):
    return pq_run[1]


@pytest.fixture(scope="module")
def var(var_run):
    return var_run[1]


def _departure(statement: str) -> str | None:
    kinds = [kind for key, kind in PQ_DEPARTURES.items() if key in statement]
    assert len(kinds) <= 1, statement
    return kinds[0] if kinds else None


@pytest.mark.parametrize("name", ["pretrained_quality", "variants"])
def test_every_preset_parses(name):
    exp = load_experiment(name)
    for preset in PRESETS:
        exp.settings(preset)


@pytest.mark.parametrize("which", ["pq_run", "var_run"])
def test_results_and_figures_are_written(which, request):
    out, record = request.getfixturevalue(which)
    folder = out / record["name"]
    saved = json.loads((folder / "result.json").read_text())
    assert saved["findings"] == json.loads(json.dumps(record["findings"], default=float))
    assert saved["data"]["convention"] == "lam"
    assert record["figures"]
    for fig in record["figures"]:
        assert (folder / fig).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_pretrained_quality_findings_agree_or_depart_in_the_documented_direction(pq):
    d = pq["data"]
    M = d["M"]
    seen = set()
    for f in pq["findings"]:
        kind = _departure(f["statement"])
        if kind is None:
            assert f["agree"], f"finding expected to agree does not: {f['statement']} ({f['measured']})"
            continue
        seen.add(next(k for k in PQ_DEPARTURES if k in f["statement"]))
        assert not f["agree"], f"documented departure ({kind}) now agrees: {f['statement']}"
        assert _in_direction(kind, f), f"departure not in its documented direction ({kind}): {f['statement']}"
    assert seen == set(PQ_DEPARTURES)  # every documented departure is still a finding
    sp = d["phase"]["sampled"]
    # below the N=2 boundary exact STaR never reaches the optimum; sampled runs do, through wrong steps
    assert sp["exact_optimum_share_below"] == 0.0
    assert sp["optimum_fraction_below"] > 0.0
    if sp["escaped_mean_final_lam"] is not None:
        assert max(sp["escaped_mean_final_lam"]) < 0.5
    for c in d["cases"].values():
        smp = c["sampled"]
        if len(c["zero_steps"]) == 1:
            # lifted like the theory says, but behind the exact curve at the end
            assert smp["mean_accuracy"][-1] < c["closed_form"]["accuracy"][-1]
            assert smp["mean_accuracy"][-1] > smp["mean_accuracy"][0]
        elif len(c["zero_steps"]) >= 2:
            # the exact fixed point J = 1/M is left by every run, while the zero steps stay far from the truth
            assert min(np.asarray(smp["accuracy_runs"])[:, -1]) > 1.0 / M
            idx = [k - 1 for k in c["zero_steps"]]
            assert np.all(np.asarray(smp["mean_lam"])[-1, idx] < 0.5)


def test_info_is_outside_the_tally(pq):
    # quantities with no test are reported as information: no verdict, not among the findings
    assert pq["info"] and all("agree" not in x for x in pq["info"])
    assert not {x["statement"] for x in pq["info"]} & {f["statement"] for f in pq["findings"]}


def test_pretrained_quality_exposes_the_case_vectors_for_the_llm_runner(pq):
    d = pq["data"]
    s = load_experiment("pretrained_quality").settings("smoke")
    for name, c in d["cases"].items():
        lam = np.asarray(c["initial_lam"])
        assert lam.shape == (d["N"],)
        zero = np.zeros(d["N"], dtype=bool)
        zero[[k - 1 for k in c["zero_steps"]]] = True
        assert np.all(lam[zero] == 0.0) and np.all(lam[~zero] == s.base_lam)
    assert "initial_lam" in d["llm_hook"]


def test_pretrained_quality_one_zero_lift_matches_the_product_of_the_other_steps(pq):
    # independent of the analysis: lam_n' = prod_{k != n} lam_k on the explicit matrices
    for c in pq["data"]["cases"].values():
        if len(c["zero_steps"]) == 1:
            n = c["zero_steps"][0] - 1
            lam0 = np.asarray(c["initial_lam"])
            assert np.asarray(c["exact_matrices"]["lam"])[1, n] == pytest.approx(np.prod(np.delete(lam0, n)), abs=1e-12)


def test_variants_findings_all_agree(var):
    for f in var["findings"]:
        assert f["agree"], f"finding expected to agree does not: {f['statement']} ({f['measured']})"


def test_variants_noisy_map_sides_of_the_line(var):
    nm = var["data"]["noisy_map"]
    fp, fn = np.meshgrid(nm["fp"], nm["fn"], indexing="ij")
    outcome = np.asarray(nm["outcome"])
    final = np.asarray(nm["final_accuracy"])
    J0 = nm["initial_accuracy"]
    c = 1 - fn - fp
    assert np.all(final[c > 1e-9] > J0) and np.all(final[c < -1e-9] < J0)
    assert np.all(outcome[np.abs(c) <= 1e-9] == "constant")


def test_variants_rationalize_gain_is_largest_at_small_K(var):
    rat = var["data"]["rationalize"]
    Ks = sorted(rat["by_K"], key=int)
    for R in rat["by_K"][Ks[0]]:
        if R == "0":
            continue
        small = np.mean(rat["by_K"][Ks[0]][R]["final_runs"]) - np.mean(rat["by_K"][Ks[0]]["0"]["final_runs"])
        large = np.mean(rat["by_K"][Ks[-1]][R]["final_runs"]) - np.mean(rat["by_K"][Ks[-1]]["0"]["final_runs"])
        assert small > large and small > 0


# ----------------------------------------------------------------------------- variants' closed forms

lams = st.floats(0.0, 1.0, allow_nan=False)


@settings(max_examples=25, deadline=None)
@given(M=st.integers(2, 6), l=st.lists(lams, min_size=2, max_size=3), fp=st.floats(0, 1), fn=st.floats(0, 1))
def test_noisy_closed_form_is_the_explicit_noisy_step(M, l, fp, fn):
    task = symmetric_task(M, len(l), seed=1)
    lam = np.asarray(l)
    if symmetric_accuracy(M, lam=lam) <= 1e-9 or fp + (1 - fn - fp) * symmetric_accuracy(M, lam=lam) <= 1e-9:
        return  # (almost) nothing kept: both paths divide round-off by round-off
    got = fit_symmetric(make_variant("noisy-verifier", fp=fp, fn=fn).exact_step(symmetric_policy(task, lam=lam), task), task)
    assert np.allclose(got.lam, theory.noisy_update(M, lam, fp, fn), atol=1e-10)
    assert np.all(got.distance <= 1e-10)  # the refit stays in the family


@settings(max_examples=25, deadline=None)
@given(M=st.integers(2, 6), l=st.lists(lams, min_size=2, max_size=3), T=st.floats(0.2, 5.0))
def test_tempered_lam_is_the_fitted_lam_of_the_tempered_policy(M, l, T):
    task = symmetric_task(M, len(l), seed=2)
    lam = np.asarray(l)
    fit = fit_symmetric(tempered_policy(symmetric_policy(task, lam=lam), T), task)
    assert np.allclose(fit.lam, theory.tempered_lam(M, lam, T), atol=1e-10)
    assert np.all(fit.distance <= 1e-10)
    if T <= 1:
        assert np.all(theory.tempered_lam(M, lam, T) >= lam - 1e-12)  # sharper sampling never lowers lam


@settings(max_examples=25, deadline=None)
@given(M=st.integers(2, 6), l=st.lists(st.floats(0.01, 1.0), min_size=2, max_size=3), eta=st.floats(0.05, 1.0))
def test_partial_fit_moves_lam_a_share_eta_of_the_way_to_the_star_update(M, l, eta):
    lam = np.asarray(l)
    U = symmetric_star_update(M, lam=lam)
    new = theory.partial_fit_update(M, lam, eta)
    assert np.all(new >= lam - 1e-12) and np.all(new <= U + 1e-12)
    assert np.allclose(new - lam, eta * (U - lam), atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(M=st.integers(2, 6), l=st.lists(st.floats(0.01, 0.99), min_size=2, max_size=3),
       fp=st.floats(0.0, 1.0), fn=st.floats(0.0, 1.0))
def test_noisy_verifier_improves_iff_fp_below_one_minus_fn(M, l, fp, fn):
    lam = np.asarray(l)
    c = 1 - fn - fp
    if abs(c) < 1e-6:
        return
    dJ = symmetric_accuracy(M, lam=theory.noisy_update(M, lam, fp, fn)) - symmetric_accuracy(M, lam=lam)
    assert (dJ > 0) == (c > 0) or abs(dJ) < 1e-15


# ----------------------------------------------------------------------------- figures, read back
def _redraw(record, module, tmp_path, monkeypatch) -> dict:
    """The figures of ``record`` drawn again from its stored data, captured as laid out."""
    from figure_helpers import capture

    from experiments.framework import Context

    figs = capture(monkeypatch, module)
    exp = load_experiment(record["name"])
    exp.figures(record["data"], exp.settings("smoke"), Context(out=tmp_path, seed=record["seed"], progress=False))
    return figs


def test_zero_steps_llm_draws_the_band_its_verdict_tests(pq, tmp_path, monkeypatch):
    import experiments.pretrained_quality.figures as module
    from figure_helpers import filled_bands, half_widths, legends_over_data

    fig = _redraw(pq, module, tmp_path, monkeypatch)["zero_steps_llm.png"]
    cases = pq["data"]["llm_cases"]
    assert cases and len(fig.axes) == len(cases)
    for ax, name in zip(fig.axes, cases):
        assert ax.get_title().startswith(f"{name}:")
        finding = next(f for f in pq["findings"] if f["statement"].startswith(f"LLM {name}: exact J behaves like tabular"))
        (x, lo, hi), = filled_bands(ax)
        np.testing.assert_allclose(np.round((hi - lo) / 2, 3), half_widths(finding["tolerance"]), atol=1.5e-3)
        exact = [r["exact_accuracy"] for r in cases[name]["records"]]
        assert finding["agree"] == bool(np.all((exact >= lo) & (exact <= hi)))  # the verdict, read off the figure
    assert legends_over_data(fig) == []


def test_variant_curves_titles_name_each_panels_own_setting(var, tmp_path, monkeypatch):
    import re

    import experiments.variants.figures as module
    from figure_helpers import legends_over_data

    fig = _redraw(var, module, tmp_path, monkeypatch)["variant_curves.png"]
    s = load_experiment("variants").settings("smoke")
    assert "M=" not in fig._suptitle.get_text() and "lam=" not in fig._suptitle.get_text()
    expected = [(s.M, s.lam)] * 3 + [(var["data"]["rationalize"]["M"], var["data"]["rationalize"]["lam"])]
    for ax, (M, lam) in zip(fig.axes, expected):
        title = ax.get_title()
        assert int(re.search(r"M=(\d+)", title).group(1)) == M, title
        assert float(re.search(r"initial lam=([\d.]+)", title).group(1)) == lam, title
        assert "convention: lam" in title
    assert legends_over_data(fig) == []

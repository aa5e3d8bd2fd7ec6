"""Smoke run of experiment 8 (``beyond``): its ``[smoke]`` preset runs once through
``run_experiment``. The tests assert the findings that are identities or statistical
agreements (they must agree on any seed); the findings that test other analyses' claims are
asserted only to be computed with a stated tolerance, since their verdict is the bench's answer,
documented in docs/beyond.md."""

from __future__ import annotations

import json

import numpy as np
import pytest

from experiments.framework import PRESETS
from experiments.registry import load_experiment
from experiments.reproduce import run_experiment
from star_theory import InputError

MUST_AGREE = (
    "unbiased pass@k estimator",
    "pooled as STaR pools its kept data",
    "reaches accuracy 1 in one step",
    "sampled chain-level step",
    "symmetric family (every question has the same J)",
    "exploration deteriorates",
    "averages to the exact expected update of each method",
    "share of sampled groups whose rewards are all equal",
)


@pytest.fixture(scope="module")
def run(smoke_out):  # the process's smoke run (conftest): run once, reused by the docs test's reproduce
    return smoke_out, run_experiment("beyond", "smoke", smoke_out, 0, progress=False)


def test_every_preset_parses():
    exp = load_experiment("beyond")
    for preset in PRESETS:
        exp.settings(preset)


@pytest.mark.parametrize("bad", [{"acc_K": [64, 4]}, {"bstar_fixed": [0.5, 2.0]}, {"pass_n": 8}, {"seeds": 1},
                                 {"bstar_score": "mean"}, {"pg_methods": ["ppo"]}, {"pg_group": 1},
                                 {"pg_large_lr": 1.0}, {"pg_poor_lam": 0.5}])
def test_bad_settings_fail_with_a_clear_error(bad):
    with pytest.raises(InputError):
        load_experiment("beyond").settings("smoke", bad)


def test_result_and_figures_are_written(run):
    out, record = run
    folder = out / "beyond"
    assert json.loads((folder / "result.json").read_text())["name"] == "beyond"
    assert sorted(record["figures"]) == ["accumulate.png", "bstar.png", "chain_level.png", "outcome.png", "passk.png"]
    for name in record["figures"]:
        assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_identities_and_statistical_agreements_hold(run):
    findings = run[1]["findings"]
    for key in MUST_AGREE:
        hits = [f for f in findings if key in f["statement"]]
        assert hits, key
        assert all(f["agree"] for f in hits), hits


def test_every_finding_states_a_tolerance_and_a_source(run):
    for f in run[1]["findings"]:
        assert f["tolerance"] and f["claim"] in load_experiment("beyond").claims


def test_neutral_rules_in_the_run_equal_plain_star(run):
    d = run[1]["data"]
    # accumulate with window 1 is replace = plain STaR: its exact error reaches the exact operator's 0 error curve
    for K, rules in d["accumulate"]["filtered"]["by_K"].items():
        assert rules["replace"]["exact"][0] == pytest.approx(rules["accumulate"]["exact"][0])
        assert rules["replace"]["exact"][1] == pytest.approx(rules["accumulate"]["exact"][1], abs=1e-12)
    # the fixed T=1 rule of B-STaR is plain STaR; its exact curve is the exact operator's
    assert d["bstar"]["rules"]["T=1"]["exact_accuracy"] == pytest.approx(d["bstar"]["exploration"]["accuracy"], abs=1e-12)


def _outcome_findings(data, settings):
    from experiments.beyond.outcome_analysis import analyze_outcome

    return {f.statement: f for f in analyze_outcome(data, settings)}


def _one(findings, key):
    hits = [f for s, f in findings.items() if key in s]
    assert len(hits) == 1, key
    return hits[0]


def test_outcome_findings_can_fail_when_the_input_is_perturbed(run):
    """Each statistical finding of the outcome part flips when its input is moved by a multiple of its
    own standard error (so the tolerance does not contain the quantity under test)."""
    out, record = run
    data = json.loads((out / "beyond" / "result.json").read_text())["data"]["outcome"]
    s = load_experiment("beyond").settings("smoke")
    base = _outcome_findings(data, s)
    key = "averages to the exact expected update of each method"
    assert _one(base, key).agree
    est = data["estimator"]["grpo"]
    x = np.asarray(est["along_exact"])
    est["along_exact"] = (x + 10 * x.std(ddof=1) / np.sqrt(x.size)).tolist()  # a bias of 10 standard errors
    assert not _one(_outcome_findings(data, s), key).agree
    z = data["estimator"]["zero_signal"]
    z["count"] = z["expected"] + 5 * z["sd"]
    assert not _one(_outcome_findings(data, s), "share of sampled groups").agree
    off = np.asarray(data["estimator"]["grpo"]["off_line"])
    data["estimator"]["grpo"]["off_line"] = (off + 10 * off.std(ddof=1) / np.sqrt(off.size)).tolist()
    assert not _one(_outcome_findings(data, s), "up to one scale factor").agree
    sym = data["symmetric"]
    sym["grpo"]["J"][3] = sym["grpo"]["J"][2] - 1e-6  # a fall along the exact curve
    assert not _one(_outcome_findings(data, s), "carries over to the exact expected update").agree


def test_outcome_identities_in_the_run(run):
    d = run[1]["data"]["outcome"]
    sym = d["symmetric"]
    # every curve starts at the same policy; pass@1 is J; the sampled runs start at the base J
    for m in ["STaR"] + d["exact_methods"]:
        assert sym[m]["J"][0] == pytest.approx(sym["STaR"]["J"][0], abs=1e-15)
        assert [p[0] for p in sym[m]["pass"]] == pytest.approx(sym[m]["J"], abs=1e-12)
    for v in sym["sampled"].values():
        assert np.asarray(v["J"])[:, 0] == pytest.approx(sym["STaR"]["J"][0], abs=1e-15)

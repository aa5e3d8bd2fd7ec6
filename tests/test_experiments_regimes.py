"""The LLM findings can fail, and checks that hold by construction stay out of the tally.

* ``theory_vs_llm`` and ``llm_regimes`` (smoke presets) are run once; replacing the t = 2 kernel of
  every seed by the pretrained one (a worse kernel: J, lam and family distance then are exactly those
  of t = 0) and re-running the analysis makes the findings that look at t = 2 disagree, while they
  agree on the run as it is;
* a :class:`~experiments.framework.Consistency` record is reported, but not counted, by the report,
  the manifest, the CLI line and the docs' tally block.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from experiments.framework import Consistency, Finding, Info, load_experiment, split_results
from experiments.reproduce import run_experiment

PERTURBED = 2  # the iteration whose kernel the perturbation replaces (smoke presets run 2 iterations)


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    from star_theory.outputs import write_marker

    folder = tmp_path_factory.mktemp("regimes")
    write_marker(folder, "reproduce", {"preset": "smoke", "master_seed": 0})
    return folder


@pytest.fixture(scope="module")
def tvl(out):
    return run_experiment("theory_vs_llm", "smoke", out, 0, progress=False)


@pytest.fixture(scope="module")
def regimes(out):
    return run_experiment("llm_regimes", "smoke", out, 0, progress=False)


def _verdicts(record, data) -> dict[str, bool]:
    exp = load_experiment(record["name"])
    found = split_results(exp.analyze(data, exp.settings("smoke")))["findings"]
    return {f["statement"]: f["agree"] for f in found}


def test_theory_vs_llm_findings_fail_when_the_t2_kernel_is_worse(tvl):
    data = copy.deepcopy(tvl["data"])
    for r in data["runs"].values():
        assert len(r["seeds"]) >= 2 and len(r["seeds"][0]["records"]) == PERTURBED + 1
        for sd in r["seeds"]:
            first, rec = sd["records"][0], sd["records"][PERTURBED]
            for key in ("exact_accuracy", "lam", "family_distance"):  # what the t = 0 kernel gives, exactly
                rec[key] = first[key]
    before, after = _verdicts(tvl, tvl["data"]), _verdicts(tvl, data)
    touched = [s for s in before if "accuracy rises" in s or "inside the prediction band" in s or "exact operator" in s]
    assert len(touched) >= 3
    for s in touched:
        assert before[s], f"agrees on the run as it is: {s}"
        assert not after[s], f"a worse t=2 kernel must make this disagree: {s}"


def test_llm_regimes_findings_fail_when_the_t2_kernel_is_worse(regimes):
    from pathlib import Path

    from experiments.llm_common import chains_per_question, text_task_of
    from experiments.llm_regimes.departures import seed_departures
    from llm.star import iteration_dir, load_kernels

    data = copy.deepcopy(regimes["data"])
    for name, r in data["regimes"].items():
        for i, sd in enumerate(r["seeds"]):
            star = Path(sd["llm_folder"]) / "star"
            config = json.loads((star / "run.json").read_text())["config"]
            tt = text_task_of(config)
            policies = [load_kernels(iteration_dir(star, t)) for t in range(len(sd["records"]))]
            policies[PERTURBED] = policies[0]  # the pretrained kernel in place of the t = 2 one
            run = {"policies": policies, "records": sd["records"], "folder": sd["llm_folder"]}
            r["seeds"][i] = {**sd, **json.loads(json.dumps(
                seed_departures(run, tt, chains_per_question(sd["records"][0], tt.task), sd["sim_seeds"]),
                default=lambda a: np.asarray(a).tolist()))}
    after = _verdicts(regimes, data)
    before = {f["statement"]: f["agree"] for f in regimes["findings"]}
    touched = [s for s in before if "share of STaR steps" in s or "in the band of tabular STaR at the run's K" in s]
    assert len(touched) >= 2 * len(data["regimes"])
    for s in touched:
        assert not after[s], f"a worse t=2 kernel must make this disagree: {s}"


def test_llm_regimes_runs_every_regime_at_two_seeds_from_one_pretrained_model(regimes):
    s = load_experiment("llm_regimes").settings("smoke")
    assert set(regimes["data"]["regimes"]) == set(s.regimes)
    for r in regimes["data"]["regimes"].values():
        seeds = r["seeds"]
        assert len(seeds) == s.llm_seeds >= 2
        assert len({sd["star_seed"] for sd in seeds}) == len(seeds)  # distinct STaR seeds ...
        first = [sd["records"][0]["exact_accuracy"] for sd in seeds]
        assert max(first) - min(first) <= 1e-12  # ... from one pretrained model (one measured initial kernel)
        for sd in seeds:  # the exact line and the tabular runs start from the measured kernel
            assert abs(sd["exact"][0] - sd["J"][0]) <= 1e-12
            assert np.allclose(np.asarray(sd["tabular_runs"])[:, 0], sd["J"][0], rtol=0, atol=1e-12)


def test_heldout_regime_trains_on_a_part_and_measures_both(regimes):
    held = [r for r in regimes["data"]["regimes"].values() if r["heldout"]]
    assert held
    for r in held:
        for sd in r["seeds"]:
            trained, other = set(sd["trained_questions"]), set(sd["heldout_questions"])
            assert trained and other and not trained & other and len(trained | other) == r["M"]
            # J over all questions is the question-weighted mix of the two parts (uniform questions)
            mix = (len(trained) * np.asarray(sd["J_train"]) + len(other) * np.asarray(sd["J_heldout"])) / r["M"]
            assert np.allclose(mix, sd["J"], rtol=0, atol=1e-9)


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

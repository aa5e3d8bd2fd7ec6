"""Smoke subsets of the LLM experiments (theory_vs_llm, robustness, non_bijective, llm_regimes) and of
``rlstar reproduce`` itself, and perturbations of their runs that make the findings fail.

Each asserts what the report claims at this scale: the findings that agree with the theory agree,
and the documented departures go the documented way (finite-sample STaR on a transformer does not
follow the infinite-sample exact operator: it outpaces it at first and then falls behind it).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest

from experiments.framework import PRESETS, split_results
from experiments.registry import EXPERIMENT_NAMES, load_experiment
from experiments.reproduce import run_experiment
from star_theory.cli import main
from star_theory.io import dumps_json

# Statements (substrings) of the findings that depart from the theory in the smoke run, with the
# documented direction checked on the record: on the non-injective add task the exact operator's
# limit answers right through wrong steps. Each must disagree, in its direction; every other finding
# must agree. (The LLM runs of theory_vs_llm are compared with the exact operator's finite-K
# envelope and the tabular band at the same K, and agree; the gap to the infinite-sample curve
# itself is asserted in its direction by test_llm_outpaces_then_trails_the_exact_operator.)
def _right_answers_wrong_steps(record, finding) -> bool:
    return bool(record["data"]["exact"]["accuracy"][-1] > 0.99 and min(finding["measured"]) < 0.99)


DEPARTURES = {
    "optimal reasoner": _right_answers_wrong_steps,
}


def _departure(statement: str):
    found = [check for key, check in DEPARTURES.items() if key in statement]
    assert len(found) <= 1, statement
    return found[0] if found else None


@pytest.fixture(scope="module")
def out(smoke_out):
    # the experiments below are those of a smoke `reproduce` (master seed 0) run into this folder piece by piece
    # (with the other experiment modules' smoke runs: conftest.smoke_out), so the folder is marked as that
    # run's: `reproduce` itself later completes it (reusing the LLM runs and the finished experiments)
    return smoke_out


@pytest.fixture(scope="module")
def tvl(out):
    return run_experiment("theory_vs_llm", "smoke", out, 0, progress=False)


@pytest.fixture(scope="module")
def rob(out, tvl):
    return run_experiment("robustness", "smoke", out, 0, progress=False)


@pytest.fixture(scope="module")
def nb(out):
    return run_experiment("non_bijective", "smoke", out, 0, progress=False)


# ----------------------------------------------------------------------------- the findings can fail
# Replacing the t = 2 kernel of every seed by the pretrained one (a worse kernel: J, lam and family distance are
# then exactly those of t = 0) and re-running the analysis makes the findings that look at t = 2 disagree.
PERTURBED = 2  # the iteration whose kernel the perturbation replaces (smoke presets run 2 iterations)


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
            r["seeds"][i] = {**sd, **json.loads(dumps_json(
                seed_departures(run, tt, chains_per_question(sd["records"][0], tt.task), sd["sim_seeds"])))}
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


@pytest.mark.parametrize("which", ["tvl", "rob", "nb"])
def test_findings_agree_or_depart_in_the_documented_direction(which, request):
    record = request.getfixturevalue(which)
    assert record["findings"]
    for f in record["findings"]:
        check = _departure(f["statement"])
        if check is None:
            assert f["agree"], f"{f['statement']}: predicted {f['predicted']}, measured {f['measured']}"
        else:
            assert not f["agree"], f"documented departure now agrees: {f['statement']}"
            assert check(record, f), f"departure not in its documented direction: {f['statement']}"


def test_every_documented_departure_is_a_finding(tvl, nb):
    statements = [f["statement"] for r in (tvl, nb) for f in r["findings"]]
    for key in DEPARTURES:
        assert any(key in st for st in statements), key


def test_llm_outpaces_then_trails_the_exact_operator(tvl):
    for r in tvl["data"]["runs"].values():
        exact = np.mean([[x["exact_accuracy"] for x in sd["records"]] for sd in r["seeds"]], axis=0)  # mean of seeds
        pred = r["prediction"]["symmetric"]["accuracy"]
        assert exact[1] > pred[1]  # memorising lucky chains beats the pooled refit at first
        assert exact[-1] < pred[-1]  # then the sampled fits stall below the exact operator


def test_llm_case_simulates_from_the_measured_initial_kernel_at_the_runs_K(tvl, nb):
    # llm_case: K is the run's chains per question, and every tabular run starts from the policy
    # measured at iteration 0, whose exact accuracy that iteration's record holds
    cases = [(r["seeds"][0]["llm_config"], r["seeds"][0]["records"], r) for r in tvl["data"]["runs"].values()]
    L = nb["data"]["llm"]
    for config, records, r in [*cases, (L.get("llm_config", L.get("config")), L["records"], L)]:
        assert r["K"] == config["samples_per_question"]
        start = np.asarray(r["simulated"]["accuracy_runs"])[:, 0]
        assert np.allclose(start, records[0]["exact_accuracy"], rtol=0, atol=1e-12)


def test_llm_seeds_share_one_pretrained_model_and_differ_in_star(tvl):
    # one pretraining per case (its folder and seed recorded), distinct STaR seeds, one measured initial kernel
    for r in tvl["data"]["runs"].values():
        seeds = r["seeds"]
        assert len(seeds) >= 2 and len({sd["star_seed"] for sd in seeds}) == len(seeds)
        assert r["pretrain_seed"] not in {sd["star_seed"] for sd in seeds}
        pre = json.loads((Path(r["pretrained"]) / "pretrain.json").read_text())
        assert pre["config"]["seed"] == r["pretrain_seed"]
        for sd in seeds:
            run = json.loads((Path(sd["llm_folder"]) / "star" / "run.json").read_text())
            assert Path(run["pretrained"]).resolve() == Path(r["pretrained"]).resolve()
            assert run["config"]["seed"] == sd["star_seed"]
            assert sd["records"][0]["exact_accuracy"] == seeds[0]["records"][0]["exact_accuracy"]
        assert seeds[0]["records"][-1]["exact_accuracy"] != seeds[1]["records"][-1]["exact_accuracy"]


def test_robustness_reuses_the_llm_runs_of_experiment_5(tvl, rob):
    for lam, r in rob["data"]["runs"].items():
        assert r["llm_folder"] == tvl["data"]["runs"][lam]["seeds"][0]["llm_folder"]
    share = rob["data"]["runs"]["0.2"]["measured_exact"][0]
    assert 0 < share < 1


def test_add_task_limit_has_wrong_steps_but_right_answers(nb):
    d = nb["data"]
    assert d["exact"]["accuracy"][-1] > 0.99
    assert min(d["exact"]["step_correct"][-1]) < 0.99  # non-injective steps: optimal accuracy, not the ground truth


def test_every_experiment_has_settings_for_every_preset():
    for name in EXPERIMENT_NAMES:
        exp = load_experiment(name)
        for preset in PRESETS:
            exp.settings(preset)


def test_reproduce_cli_writes_report_and_is_reproducible(tmp_path, capsys):
    """Two runs give the same results, one experiment after the other (``--jobs 1``) or in two worker processes."""
    a, b = tmp_path / "a", tmp_path / "b"
    for d, jobs in ((a, "1"), (b, "2")):
        assert main(["reproduce", "--preset", "smoke", "--only", "theory_curves", "finite_samples",
                     "--out", str(d), "--quiet", "--device", "cpu", "--jobs", jobs]) == 0
    for name in ("theory_curves", "finite_samples"):
        ra = json.loads((a / name / "result.json").read_text())
        rb = json.loads((b / name / "result.json").read_text())
        ra.pop("seconds"), rb.pop("seconds")
        assert ra == rb
    html = (a / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3
    md = (a / "report.md").read_text()
    assert "theory_curves" in md and "finite_samples" in md
    manifest = json.loads((a / "manifest.json").read_text())
    assert set(manifest["experiments"]) == {"theory_curves", "finite_samples"}
    assert json.loads((b / "manifest.json").read_text())["jobs"] == 2


def test_reproduce_rejects_unknown_experiment(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        main(["reproduce", "--only", "nonesuch", "--out", str(tmp_path / "x")])
    assert e.value.code == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("jobs", ["0", "-2"])
def test_reproduce_rejects_a_bad_job_count_before_claiming_the_folder(tmp_path, capsys, jobs):
    assert main(["reproduce", "--only", "theory_curves", "--jobs", jobs, "--out", str(tmp_path / "x")]) == 2
    assert capsys.readouterr().err.startswith("rlstar: error: jobs must be an integer >= 1")
    assert not (tmp_path / "x").exists()


def test_llm_runs_resume_after_the_results_folder_moves(out, tvl, tmp_path, monkeypatch):
    import shutil

    moved = tmp_path / "moved"
    shutil.copytree(out, moved)
    for run_json in moved.glob("_llm/*/star/run.json"):  # the recorded checkpoint path is gone after a move
        saved = json.loads(run_json.read_text())
        saved["pretrained"] = str(tmp_path / "gone" / "pretrained")
        run_json.write_text(json.dumps(saved))
    monkeypatch.chdir(tmp_path)  # a relative results folder, seen from elsewhere
    again = run_experiment("theory_vs_llm", "smoke", Path("moved"), 0, progress=False, force=True)
    strip = lambda rs: [{k: v for k, v in r.items() if not k.endswith("_wall_s")} for r in rs]  # noqa: E731
    for lam, r in tvl["data"]["runs"].items():
        for a, b in zip(again["data"]["runs"][lam]["seeds"], r["seeds"]):
            assert strip(a["records"]) == strip(b["records"])  # reused, not retrained


def test_docs_blocks_fill_from_a_fresh_smoke_run(out, tvl, rob, nb, tmp_path):
    """Every generated block of docs/*.md can be filled from a fresh smoke run (the LLM experiments
    above plus the others, run here), every experiment has its count and findings tables in
    docs/reproduce.md, and refilling is idempotent."""
    import shutil

    from experiments.docs import DOCS, block_names, load_results, render, update_docs
    from experiments.reproduce import reproduce

    reproduce(out, preset="smoke", progress=False, resume=True)
    from experiments.reproduce import _own
    from star_theory.outputs import check_claimable

    check_claimable(out, "reproduce", own=_own(), overwrite=True)  # every path the run wrote is its own to replace
    results = load_results(out)
    names = {p.name: block_names(p.read_text()) for p in DOCS.glob("*.md")}
    for exp in EXPERIMENT_NAMES:
        assert f"count:{exp}" in names["reproduce.md"] and f"findings:{exp}" in names["reproduce.md"], exp
        if results[exp].get("info"):
            assert f"info:{exp}" in names["reproduce.md"], exp
    assert "tally" in names["reproduce.md"] and "theory:local_optima" in names["theory.md"]
    docs = tmp_path / "docs"
    shutil.copytree(DOCS, docs)
    for p in docs.glob("*.md"):
        text = render(p.read_text(), results, p.name)  # raises if a block cannot be filled
        assert block_names(text) == names[p.name]
    update_docs(out, docs)
    assert update_docs(out, docs, write=False) == []  # a second pass changes nothing
    manifest = json.loads((out / "manifest.json").read_text())
    assert f"{manifest['findings']} findings: **{manifest['findings_agree']} agree" in (docs / "reproduce.md").read_text()


def test_docs_update_names_a_block_that_cannot_be_filled(tvl, tmp_path, capsys):
    from experiments.docs import main

    results = tmp_path / "results"  # a results folder of its own (xdist may run the smoke run elsewhere)
    (results / "theory_vs_llm").mkdir(parents=True)
    (results / "theory_vs_llm" / "result.json").write_text(json.dumps(tvl))
    (results / "manifest.json").write_text(json.dumps({"experiments": ["theory_vs_llm"]}))
    (tmp_path / "x.md").write_text("a <!-- generated:theory_vs_llm/data/no_such_key -->1<!-- /generated --> b\n")
    assert main([str(results), "--docs", str(tmp_path)]) == 2
    assert "no_such_key" in capsys.readouterr().err
    assert (tmp_path / "x.md").read_text().endswith("1<!-- /generated --> b\n")  # nothing written


def test_no_star_run_of_the_experiments_takes_a_pretraining_seed(out, tvl, rob, nb, regimes):
    """Across every LLM run of the smoke experiments (the seeds as the run files record them), no STaR seed is the
    seed of any pretraining: pretraining and STaR never share a seed path (tests/test_experiment_seeds.py)."""
    pre = {json.loads(p.read_text())["config"]["seed"] for p in (out / "_llm").glob("*/pretrained/pretrain.json")}
    star = {json.loads(p.read_text())["config"]["seed"] for p in (out / "_llm").glob("*/star/run.json")}
    assert len(pre) >= 2 and len(star) > len(pre)  # several pretrainings, each shared by STaR seeds
    assert not pre & star


def test_theory_vs_llm_figure_titles_every_panel_draws_the_verdicts_band_and_hides_no_line(tvl, tmp_path, monkeypatch):
    import experiments.theory_vs_llm.figures as module
    from figure_helpers import capture, filled_bands, half_widths, legends_over_data

    from experiments.framework import Context

    figs = capture(monkeypatch, module)
    exp = load_experiment("theory_vs_llm")
    exp.figures(tvl["data"], exp.settings("smoke"), Context(out=tmp_path, seed=tvl["seed"], progress=False))
    fig = figs["theory_vs_llm.png"]
    runs = tvl["data"]["runs"]
    assert len(fig.axes) == 2 * len(runs)
    for row, lam in enumerate(runs):
        acc, lam_ax = fig.axes[2 * row], fig.axes[2 * row + 1]
        for ax in (acc, lam_ax):
            assert f"corpus lam={lam}" in ax.get_title()
        finding = next(f for f in tvl["findings"] if f"corpus lam={lam} " in f["statement"]
                       and "inside the prediction band of the mean" in f["statement"])
        (x, lo, hi), = filled_bands(acc)
        np.testing.assert_allclose(np.round((hi - lo) / 2, 3), half_widths(finding["tolerance"]), atol=1.5e-3)
        for ax in (acc, lam_ax):  # two lines over the same points differ in style, so neither hides the other
            lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) > 1]
            for i, a in enumerate(lines):
                for b in lines[i + 1:]:
                    if np.shape(a.get_ydata()) == np.shape(b.get_ydata()) and np.allclose(a.get_xdata(), b.get_xdata()) \
                            and np.allclose(a.get_ydata(), b.get_ydata(), atol=0.01):
                        assert (a.get_linestyle(), a.get_marker(), a.get_linewidth()) != \
                               (b.get_linestyle(), b.get_marker(), b.get_linewidth()), (a.get_label(), b.get_label())
    assert legends_over_data(fig) == []


def test_a_cached_llm_run_in_use_is_waited_for_not_refused(tmp_path):
    """Two experiments running at once (``reproduce --jobs``) that need the same cached LLM run: the second
    waits on the run folder's lock until the first releases it (then reads the finished run back)."""
    import threading

    from experiments.llm_common import waiting_lock

    entered = threading.Event()

    def second():
        with waiting_lock(tmp_path / "run"):
            entered.set()

    with waiting_lock(tmp_path / "run"):
        t = threading.Thread(target=second)
        t.start()
        assert not entered.wait(0.5)  # held by the first: the second waits
    t.join(10)
    assert entered.is_set()  # released: the second went on

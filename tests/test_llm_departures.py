"""Held-out questions, the per-iteration departure metrics and the predictions beside a run: a
tabular run (the LLM replaced by the table, where every departure is zero) and a tiny real run
whose recorded metrics must equal what its saved kernels and kept chains give."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from hypothesis import given

from conftest import seeds
from star_theory import accuracy, accuracy_on, exact_star_step, refit_from_counts, transition_counts
from star_theory.sim import sample_chains
from star_theory.sim.sampling import keep_mask
from star_theory.strategies import task_and_policy

from llm.departures import KEYS, departure_metrics


def _kept(policy, task, K, seed, trained=None):
    chains = sample_chains(policy, task, K, seed)
    keep = keep_mask(chains, task)
    if trained is not None:
        keep &= np.isin(chains[:, 0], trained)
    return chains[keep]


@given(task_and_policy(max_states=4, max_steps=3, question_dist="uniform"), seeds)
def test_a_model_that_is_the_table_departs_by_nothing(case, seed):
    task, previous = case
    kept = _kept(previous, task, 3, seed)
    table = refit_from_counts(transition_counts(kept, task), previous, "keep")
    m = departure_metrics(previous, table, kept, task)
    assert set(m) == set(KEYS)
    empty = sum(int((c.sum(axis=1) == 0).sum()) for c in transition_counts(kept, task))
    assert m["unvisited_rows"] == empty
    if empty:
        assert m["unvisited_tv"] < 1e-12 and abs(m["unvisited_correct_change"]) < 1e-12
    else:
        assert m["unvisited_tv"] is None and m["unvisited_correct_change"] is None
    if kept.size:
        assert m["visited_refit_tv"] < 1e-12 and abs(m["visited_refit_correct_gap"]) < 1e-12
    assert m["one_step_exact_accuracy"] == accuracy(exact_star_step(previous, task), task)
    assert m["exact_accuracy_train"] is None and m["exact_accuracy_heldout"] is None


@given(task_and_policy(max_states=4, max_steps=3, question_dist="uniform"), seeds)
def test_train_and_heldout_accuracy_split_j(case, seed):
    task, policy = case
    trained = np.arange(0, task.sizes[0], 2)
    m = departure_metrics(None, policy, None, task, trained)
    share = trained.size / task.sizes[0]
    mix = share * m["exact_accuracy_train"] + (1 - share) * (m["exact_accuracy_heldout"] or 0.0)
    assert abs(mix - accuracy(policy, task)) < 1e-12
    assert m["one_step_exact_accuracy"] is None and m["unvisited_rows"] is None
    # the one-step operator of a held-out run keeps only the trained questions' chains: a
    # subset that holds no question leaves the policy as it is
    prev = departure_metrics(policy, policy, _kept(policy, task, 2, seed, trained), task, trained)
    none = accuracy(exact_star_step(policy, task, questions=np.array([], dtype=int)), task)
    assert abs(none - accuracy(policy, task)) < 1e-12
    assert prev["exact_accuracy_train"] == accuracy_on(policy, task, trained)


@given(task_and_policy(max_states=4, max_steps=3, question_dist="uniform"), seeds)
def test_predictions_of_a_model_that_is_the_operator_or_the_refit(case, seed):
    from llm.predict import empty_row_predictions, one_step_predictions

    task, p0 = case
    # an "LLM" that takes exact steps realises the whole gain of each exact step
    exact = [p0, exact_star_step(p0, task)]
    exact.append(exact_star_step(exact[1], task))
    one = one_step_predictions(exact, task)
    assert one["accuracy"][0] is None and one["gain_share"][0] is None
    for t in (1, 2):
        assert abs(one["accuracy"][t] - accuracy(exact[t], task)) < 1e-12
        assert one["gain_share"][t] is None or abs(one["gain_share"][t] - 1) < 1e-9
    # an "LLM" that is the tabular refit of its kept chains under a rule is explained by that rule exactly
    kept = _kept(p0, task, 2, seed)
    strings = [[format(s, "03b") for s in range(m)] for m in task.sizes[1:]]
    for rule in ("uniform", "mean"):
        p1 = refit_from_counts(transition_counts(kept, task), p0, rule)
        e = empty_row_predictions([p0, p1], [kept], task, strings)
        assert e[rule]["tv"][1] < 1e-12 and abs(e[rule]["accuracy"][1] - accuracy(p1, task)) < 1e-12
        assert e[rule]["unvisited_tv"][1] is None or e[rule]["unvisited_tv"][1] < 1e-12


# ----------------------------------------------------------------------------- a tiny real run

pytest.importorskip("torch")
from star_theory.cli import main  # noqa: E402

ITERATIONS = 2


@pytest.fixture(scope="module")
def heldout_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("heldout_run")
    code = main(["llm", "run", "--preset", "tiny", "--iterations", str(ITERATIONS), "--pretrain-steps", "150",
                 "--samples-per-question", "8", "--heldout-fraction", "0.5", "--device", "cpu", "--threads", "1",
                 "--no-progress", "--out", str(out)])
    assert code == 0
    return out / "star"


def _records(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_recorded_departures_equal_what_the_saved_files_give(heldout_run):
    from llm.departures import recompute_departures

    recorded = _records(heldout_run)
    for r, again in zip(recorded, recompute_departures(heldout_run), strict=True):
        for key in KEYS:
            if r[key] is None or again[key] is None:
                assert r[key] is again[key] is None, key
            else:
                assert abs(r[key] - again[key]) <= 1e-9, key
    assert recorded[0]["one_step_exact_accuracy"] is None
    assert all(r["unvisited_rows"] > 0 for r in recorded[1:])  # K = 8 leaves rows unvisited


def test_kept_chains_are_those_of_the_recorded_trained_questions(heldout_run):
    from llm.config import make_config
    from llm.star import trained_questions
    from llm.tasks import get_task

    run = json.loads((heldout_run / "run.json").read_text())
    cfg = make_config(values=run["config"])
    task = get_task("zip", 2, 2).task
    trained = trained_questions(cfg, task)
    assert trained.size == task.sizes[0] // 2
    for t, r in enumerate(_records(heldout_run)):
        assert r["trained_questions"] == trained.tolist()
        kept = np.load(heldout_run / f"iter_{t:03d}" / "kept.npy")
        assert kept.shape[0] == r["kept"] and np.all(np.isin(kept[:, 0], trained))
        assert r["chains"] == 8 * task.sizes[0]  # every question is still sampled


def test_prediction_agrees_with_the_records_it_shares_a_definition_with(heldout_run):
    pred = json.loads((heldout_run / "prediction.json").read_text())
    recs = _records(heldout_run)
    one = pred["one_step"]["accuracy"]
    assert one[0] is None
    assert np.allclose(one[1:], [r["one_step_exact_accuracy"] for r in recs[1:]], atol=1e-12)
    # the keep rule's refit is the previous row on unvisited rows: its TV there is the model's move
    keep_tv = pred["empty_rows"]["keep"]["unvisited_tv"]
    assert np.allclose(keep_tv[1:], [r["unvisited_tv"] for r in recs[1:]], atol=1e-12)
    band = pred["finite_k"]
    assert band["K"] == 8 and len(band["seeds"]) == 16 and band["questions"] == recs[0]["trained_questions"]
    lo, mean, hi = (np.asarray(band[k]) for k in ("lo", "mean", "hi"))
    assert np.all(lo <= mean + 1e-12) and np.all(mean <= hi + 1e-12)
    assert abs(mean[0] - recs[0]["exact_accuracy"]) < 1e-9  # every tabular run starts at the measured kernel
    assert set(pred["empty_rows"]) == {"keep", "uniform", "mean", "marginals"}
    assert (heldout_run / "star.png").stat().st_size > 10_000


def test_a_resumed_heldout_run_records_the_same(heldout_run, tmp_path):
    dst = tmp_path / "star"
    shutil.copytree(heldout_run, dst)
    shutil.rmtree(dst / f"iter_{ITERATIONS:03d}")
    code = main(["llm", "star", "--checkpoint", str(heldout_run.parent / "pretrained"), "--out", str(dst),
                 "--resume", "--no-progress"])
    assert code == 0
    timing = {"sample_wall_s", "train_wall_s", "measure_wall_s"}
    strip = lambda r: {k: v for k, v in r.items() if k not in timing}  # noqa: E731
    assert [strip(r) for r in _records(dst)] == [strip(r) for r in _records(heldout_run)]


@pytest.mark.parametrize("value", ["1", "-0.1"])
def test_heldout_fraction_outside_0_1_is_refused(value, capsys, tmp_path):
    code = main(["llm", "run", "--preset", "tiny", "--heldout-fraction", value, "--out", str(tmp_path / "r")])
    assert code == 2
    err = capsys.readouterr().err
    assert "heldout" in err.replace("-", "_") and err.count("\n") == 1
    assert not (tmp_path / "r").exists()

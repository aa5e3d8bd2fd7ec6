"""End to end on CPU with the tiny preset: pretrain, STaR, measure, resume, figure."""

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from star_theory.cli import main  # noqa: E402

ITERATIONS = 2
TIMING_KEYS = {"sample_wall_s", "train_wall_s", "measure_wall_s"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("llm_run")
    code = main(["llm", "run", "--preset", "tiny", "--iterations", str(ITERATIONS), "--device", "cpu",
                 "--threads", "1", "--no-progress", "--out", str(out)])
    assert code == 0
    return out


def _records(folder):
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_pretrained_lam_matches_corpus(run_dir):
    pre = json.loads((run_dir / "pretrained" / "pretrain.json").read_text())
    corpus = np.asarray(pre["corpus_lam"])
    measured = np.asarray(pre["measured"]["lam"])
    assert measured.shape == corpus.shape == (2,)
    assert np.all(np.abs(measured - corpus) < 0.05), (measured, corpus)
    first = _records(run_dir / "star")[0]
    assert np.allclose(first["lam"], measured)  # iteration 0 is the pretrained model


def test_star_improves_accuracy(run_dir):
    recs = _records(run_dir / "star")
    assert [r["iteration"] for r in recs] == list(range(ITERATIONS + 1))
    assert recs[-1]["exact_accuracy"] > recs[0]["exact_accuracy"]
    assert recs[-1]["sampled_accuracy"] > recs[0]["sampled_accuracy"]
    assert np.all(np.asarray(recs[-1]["lam"]) > np.asarray(recs[0]["lam"]))
    for r in recs:
        # sampled and exact accuracy of the same model agree within sampling error
        assert abs(r["sampled_accuracy"] - r["exact_accuracy"]) < 5 * r["sampled_accuracy_se"] + 0.01
        assert r["kept"] == round(r["sampled_accuracy"] * r["chains"])
        assert 0 <= r["pass_at_k"] <= 1 and r["distinct_correct_per_question"] >= r["pass_at_k"]


def test_prediction_and_figure(run_dir):
    star = run_dir / "star"
    pred = json.loads((star / "prediction.json").read_text())
    recs = _records(star)
    # the symmetric prediction starts from the measured lam, so at t = 0 it has the same lam
    assert np.allclose(pred["symmetric"]["lam"][0], recs[0]["lam"])
    # the exact operator never lowers accuracy (policy improvement)
    assert np.all(np.diff(pred["kernel"]["accuracy"]) >= -1e-12)
    assert (star / "star.png").stat().st_size > 10_000


def test_resume_gives_the_same_result(run_dir, tmp_path):
    src = run_dir / "star"
    dst = tmp_path / "star"
    shutil.copytree(src, dst)
    shutil.rmtree(dst / f"iter_{ITERATIONS:03d}")  # as if interrupted during the last iteration
    (dst / "metrics.jsonl").write_text("garbage\n")
    code = main(["llm", "star", "--checkpoint", str(run_dir / "pretrained"), "--out", str(dst), "--resume",
                 "--no-progress"])
    assert code == 0
    a, b = _records(src), _records(dst)
    strip = lambda r: {k: v for k, v in r.items() if k not in TIMING_KEYS}  # noqa: E731
    assert [strip(r) for r in a] == [strip(r) for r in b]


def test_refuses_to_overwrite_a_run(run_dir, capsys):
    code = main(["llm", "star", "--checkpoint", str(run_dir / "pretrained"), "--out", str(run_dir / "star"),
                 "--no-progress"])
    assert code == 2
    assert "--resume" in capsys.readouterr().err


def test_run_star_returns_what_its_files_hold_and_a_resumed_run_the_same(run_dir, tmp_path):
    from llm.config import make_config
    from llm.star import iteration_dir, load_kernels, run_star

    cfg = make_config(preset_name="tiny", iterations=ITERATIONS, device="cpu", threads=1, progress=False)
    full = run_star(cfg, run_dir / "pretrained", tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.rmtree(tmp_path / "b" / f"iter_{ITERATIONS:03d}")  # as if interrupted during the last iteration
    resumed = run_star(cfg, run_dir / "pretrained", tmp_path / "b", resume=True)
    # the returned data are what the files hold, and a resumed run returns what an uninterrupted one does
    assert full.records == _records(tmp_path / "a")
    strip = lambda r: {k: v for k, v in r.items() if k not in TIMING_KEYS}  # noqa: E731
    assert [strip(r) for r in resumed.records] == [strip(r) for r in full.records]
    assert full.prediction == resumed.prediction == json.loads((tmp_path / "a" / "prediction.json").read_text())
    assert len(full.policies) == len(resumed.policies) == ITERATIONS + 1
    for t, (p, q) in enumerate(zip(full.policies, resumed.policies)):
        saved = load_kernels(iteration_dir(tmp_path / "a", t))
        for k_full, k_resumed, k_saved in zip(p.kernels, q.kernels, saved.kernels):
            assert np.array_equal(k_full, k_resumed) and np.array_equal(k_full, k_saved)

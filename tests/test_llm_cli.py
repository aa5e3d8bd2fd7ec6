"""Bad input to `rlstar llm ...`: one line on stderr, exit status 2, no traceback."""

import pytest

pytest.importorskip("torch")

from star_theory.cli import main  # noqa: E402


def _fails(argv, capsys, needle):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("rlstar: error:") and err.count("\n") == 1 and "Traceback" not in err
    assert needle in err
    return err


def test_unknown_preset(capsys, tmp_path):
    _fails(["llm", "pretrain", "--preset", "huge", "--out", str(tmp_path / "x")], capsys, "huge")


def test_lam_out_of_range(capsys, tmp_path):
    _fails(["llm", "pretrain", "--lam", "1.5", "--no-progress", "--out", str(tmp_path / "x")], capsys, "lam")
    _fails(["llm", "pretrain", "--lam", "0.1", "0.2", "0.3", "--no-progress", "--out", str(tmp_path / "x")],
           capsys, "lam")


def test_missing_checkpoint(capsys, tmp_path):
    _fails(["llm", "measure", "--checkpoint", str(tmp_path / "nope"), "--no-progress"], capsys, "not found")
    _fails(["llm", "star", "--checkpoint", str(tmp_path / "nope"), "--out", str(tmp_path / "o"), "--no-progress"],
           capsys, "not found")


def test_corrupted_checkpoint(capsys, tmp_path):
    ckpt = tmp_path / "ckpt"
    assert main(["llm", "pretrain", "--preset", "tiny", "--pretrain-steps", "2", "--device", "cpu",
                 "--no-progress", "--out", str(ckpt)]) == 0
    capsys.readouterr()
    assert main(["llm", "measure", "--checkpoint", str(ckpt), "--samples-per-question", "2",
                 "--no-progress"]) == 0
    capsys.readouterr()
    (ckpt / "model.safetensors").write_bytes(b"\x00garbage" * 10)
    _fails(["llm", "measure", "--checkpoint", str(ckpt), "--no-progress"], capsys, "cannot load model")
    (ckpt / "task.json").write_text("{")
    _fails(["llm", "measure", "--checkpoint", str(ckpt), "--no-progress"], capsys, "task.json")


def test_bad_values_and_files(capsys, tmp_path):
    _fails(["llm", "pretrain", "--pretrain-steps", "0", "--out", str(tmp_path / "x")], capsys, "pretrain_steps")
    _fails(["llm", "pretrain", "--model", str(tmp_path / "nomodel"), "--out", str(tmp_path / "x")], capsys, "model")
    _fails(["llm", "pretrain", "--corpus", str(tmp_path / "none.csv"), "--out", str(tmp_path / "x")], capsys, "corpus")
    bad = tmp_path / "bad.toml"
    bad.write_text("[llm]\nlearning = 3\n")
    _fails(["llm", "pretrain", "--config", str(bad), "--out", str(tmp_path / "x")], capsys, "learning")


def test_cuda_requested_without_gpu(capsys, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    _fails(["llm", "pretrain", "--device", "cuda", "--out", str(tmp_path / "x")], capsys, "cuda")


def test_corpus_file_pretraining(capsys, tmp_path):
    """A corpus from star_theory (format of `rlstar corpus`) is read; a malformed one is a one-line error."""
    from star_theory import make_corpus, write_corpus

    meta, chains = make_corpus("zip", 2, 2, lam=0.3, chains_per_question=4, seed=0)
    path = tmp_path / "corpus.csv"
    write_corpus(path, chains, meta)
    assert main(["llm", "pretrain", "--preset", "tiny", "--corpus", str(path), "--pretrain-steps", "3",
                 "--device", "cpu", "--no-progress", "--out", str(tmp_path / "c")]) == 0
    capsys.readouterr()
    _fails(["llm", "pretrain", "--preset", "tiny", "--digits", "3", "--corpus", str(path), "--out",
            str(tmp_path / "d")], capsys, "corpus")
    path.write_text("s0,s1\n1,2\n")
    _fails(["llm", "pretrain", "--corpus", str(path), "--out", str(tmp_path / "d")], capsys, "corpus")

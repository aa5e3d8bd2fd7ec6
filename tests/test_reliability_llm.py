"""LLM runs: checkpoints load offline, without their code and with every tensor; ``--resume``
checks the recorded config and checkpoint before anything is rewritten; files read back (run.json,
metrics.json, kept.npy) are validated in full."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")

from star_theory import InputError  # noqa: E402
from star_theory.cli import main  # noqa: E402
from cli_helpers import one_line_error

FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
STAR = ["--samples-per-question", "2", "--finetune-steps", "1", "--batch-size", "64", "--device", "cpu",
        "--no-progress"]


def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None, p.stat().st_mtime_ns)
            for p in sorted(root.rglob("*"))}




@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained tiny checkpoint (built from a config; nothing downloaded, nothing trained)."""
    from llm.model import TaskSpec, build_model, save_checkpoint
    from llm.tasks import get_task
    from llm.tokenizer import build_tokenizer

    path = tmp_path_factory.mktemp("ckpt") / "ckpt"
    tok = build_tokenizer(get_task("zip", 2, 2), "state")
    save_checkpoint(path, build_model("tiny", len(tok), tok), tok, TaskSpec("zip", {"digits": 2, "base": 2}, "state"))
    return path


@pytest.fixture(scope="module")
def star_run(checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("star") / "run"
    assert main(["llm", "star", "--checkpoint", str(checkpoint), "--out", str(out), "--iterations", "1", *STAR]) == 0
    return out


def _copy(folder: Path, tmp_path: Path) -> Path:
    dst = tmp_path / folder.name
    shutil.copytree(folder, dst)
    return dst


# ----------------------------------------------------------------------------- checkpoints


def test_auto_map_is_refused_and_its_code_never_runs(checkpoint, tmp_path, capsys, monkeypatch):
    bad = _copy(checkpoint, tmp_path)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["auto_map"] = {"AutoModelForCausalLM": "evil.Model", "AutoConfig": "evil.Config"}
    (bad / "config.json").write_text(json.dumps(cfg))
    flag = tmp_path / "code-ran"
    (bad / "evil.py").write_text(f"open({str(flag)!r}, 'w').close()\n")
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("y\n"))  # a 'yes' waiting, as in the report
    one_line_error(capsys, ["llm", "measure", "--checkpoint", bad, "--no-progress"], "auto_map")
    assert not flag.exists()


@pytest.mark.parametrize("defect", ["empty", "half", "extra", "shape"])
def test_incomplete_or_foreign_weights_are_refused(checkpoint, tmp_path, defect):
    """Every parameter of the config's model must come from the file, with its shape."""
    from safetensors.numpy import load_file, save_file

    from llm.model import load_checkpoint

    bad = _copy(checkpoint, tmp_path)
    tensors = load_file(str(bad / "model.safetensors"))
    names = sorted(tensors)
    if defect == "empty":
        tensors = {}
    elif defect == "half":
        tensors = {k: tensors[k] for k in names[::2]}
    elif defect == "extra":
        tensors["transformer.h.9.mlp.c_fc.weight"] = np.zeros((2, 2), np.float32)
    else:
        tensors[names[0]] = np.zeros(tuple(s + 1 for s in tensors[names[0]].shape), np.float32)
    save_file(tensors, str(bad / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(InputError) as exc:
        load_checkpoint(bad)
    assert "\n" not in str(exc.value) and str(bad) in str(exc.value)


def test_a_complete_checkpoint_loads_with_the_saved_weights(checkpoint):
    from safetensors.numpy import load_file

    from llm.model import load_checkpoint

    model, _, _ = load_checkpoint(checkpoint)
    stored = load_file(str(checkpoint / "model.safetensors"))
    state = model.state_dict()
    for k, v in stored.items():
        assert np.array_equal(state[k].numpy(), v)


@pytest.mark.parametrize("task", [{"task": "nope", "digits": 2, "base": 2, "tokenization": "state"},
                                  {"task": "zip", "digits": "2", "base": 2, "tokenization": "state"},
                                  {"task": "zip", "digits": 2, "base": 99, "tokenization": "state"}, [1]])
def test_task_json_is_validated(checkpoint, tmp_path, task):
    from llm.model import load_checkpoint

    bad = _copy(checkpoint, tmp_path)
    (bad / "task.json").write_text(json.dumps(task))
    with pytest.raises(InputError, match="task.json"):
        load_checkpoint(bad)


# ----------------------------------------------------------------------------- resume


@FAST
@given(stored=st.dictionaries(st.sampled_from("abcdefg"), st.integers(0, 3), min_size=1),
       changes=st.dictionaries(st.sampled_from("abcdefg"), st.integers(0, 3)),
       may=st.sets(st.sampled_from("abcdefg")))
def test_check_resume_names_every_difference_outside_the_allowed_set(stored, changes, may):
    from llm.files import check_resume

    given_ = {**stored, **changes}
    differ = {k for k in set(stored) | set(given_) if k not in may and stored.get(k) != given_.get(k)}
    if not differ:
        check_resume(stored, given_, may_change=frozenset(may))
        return
    with pytest.raises(InputError) as exc:
        check_resume(stored, given_, may_change=frozenset(may))
    for k in differ:
        assert f"{k}: recorded" in str(exc.value)


@pytest.mark.parametrize("flags, named", [(["--seed", "9"], ["seed"]),
                                          (["--iterations", "4", "--seed", "9", "--samples-per-question", "3"],
                                           ["seed", "samples_per_question"]),
                                          (["--restart"], ["restart"])])
def test_resume_refuses_contradicting_flags_and_changes_nothing(star_run, tmp_path, capsys, checkpoint, flags, named):
    run = _copy(star_run, tmp_path)
    before = snapshot(tmp_path)
    err = one_line_error(capsys, ["llm", "star", "--checkpoint", checkpoint, "--out", run, "--resume", *flags,
                                  "--no-progress"], "cannot resume")
    for k in named:
        assert f"{k}: recorded" in err
    assert snapshot(tmp_path) == before


def test_resume_with_another_checkpoint_is_refused_and_run_json_kept(star_run, tmp_path, capsys, checkpoint):
    run = _copy(star_run, tmp_path)
    other = _copy(checkpoint, tmp_path)
    before = snapshot(tmp_path)
    one_line_error(capsys, ["llm", "star", "--checkpoint", other, "--out", run, "--resume", "--no-progress"],
                   "continues the checkpoint")
    assert snapshot(tmp_path) == before


def test_resume_may_raise_iterations(star_run, tmp_path, capsys, checkpoint):
    run = _copy(star_run, tmp_path)
    run_json = (run / "run.json").read_bytes()
    assert main(["llm", "star", "--checkpoint", str(checkpoint), "--out", str(run), "--resume", "--iterations", "2",
                 "--no-progress"]) == 0
    capsys.readouterr()
    assert (run / "iter_002" / "metrics.json").is_file()
    assert (run / "run.json").read_bytes() == run_json  # the record of the run is never rewritten on resume


def test_star_without_resume_or_overwrite_keeps_a_finished_run(star_run, tmp_path, capsys, checkpoint):
    run = _copy(star_run, tmp_path)
    before = snapshot(tmp_path)
    one_line_error(capsys, ["llm", "star", "--checkpoint", checkpoint, "--out", run, *STAR], "--overwrite")
    assert snapshot(tmp_path) == before


CORRUPT = {
    "run.json not JSON": ("run.json", lambda p: p.write_text("{")),
    "run.json a list": ("run.json", lambda p: p.write_text("[]")),
    "run.json config type": ("run.json", lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "config": 3}))),
    "run.json bad value": ("run.json", lambda p: p.write_text(json.dumps(
        {**json.loads(p.read_text()), "config": {**json.loads(p.read_text())["config"], "seed": -5}}))),
    "run.json NaN": ("run.json", lambda p: p.write_text(p.read_text().replace('"finetune_lr": 0.001', '"finetune_lr": NaN'))),
    "metrics.json not JSON": ("iter_001/metrics.json", lambda p: p.write_text("nope")),
    "metrics.json iteration": ("iter_001/metrics.json", lambda p: p.write_text(json.dumps({"iteration": 7}))),
    "kept.npy garbage": ("iter_001/kept.npy", lambda p: p.write_bytes(b"\x93NUMPY garbage")),
    "kept.npy negative": ("iter_001/kept.npy", lambda p: np.save(p, -np.ones((3, 3), np.int64))),
    "kept.npy floats": ("iter_001/kept.npy", lambda p: np.save(p, np.zeros((3, 3)))),
    "kept.npy shape": ("iter_001/kept.npy", lambda p: np.save(p, np.zeros((3, 5), np.int64))),
}


@pytest.mark.parametrize("defect", sorted(CORRUPT))
def test_corrupted_run_files_are_one_line_errors_and_nothing_changes(star_run, tmp_path, capsys, checkpoint, defect):
    run = _copy(star_run, tmp_path)
    name, spoil = CORRUPT[defect]
    spoil(run / name)
    before = snapshot(tmp_path)
    one_line_error(capsys, ["llm", "star", "--checkpoint", checkpoint, "--out", run, "--resume", "--iterations", "2",
                            "--no-progress"], name.split("/")[-1])
    assert snapshot(tmp_path) == before


@FAST
@given(rows=st.lists(st.tuples(st.integers(-3, 20), st.integers(-3, 20), st.integers(-3, 20)), max_size=6))
def test_validate_kept_accepts_exactly_the_correct_chains_in_range(rows):
    from llm.files import validate_kept
    from star_theory.tasks import digit_task

    task = digit_task("zip", 2, 2).task  # 16 states per level, N = 2
    a = np.array(rows, dtype=np.int64).reshape(-1, 3)
    ok = all(0 <= x < 16 for r in rows for x in r) and all(r[2] == task.answers[r[0]] for r in rows)
    if ok:
        assert np.array_equal(validate_kept(a, task), a)
    else:
        with pytest.raises(InputError):
            validate_kept(a, task)


# ----------------------------------------------------------------------------- values


@pytest.mark.parametrize("argv, named", [
    (["llm", "pretrain", "--seed", "-1"], "seed"),
    (["llm", "pretrain", "--pretrain-lr", "1e300"], "pretrain_lr"),
    (["llm", "star", "--checkpoint", "x", "--finetune-lr", "1e30"], "finetune_lr"),
    (["llm", "bench", "--repeats", "0"], "repeats"),
])
def test_llm_values_out_of_range(tmp_path, capsys, argv, named):
    one_line_error(capsys, [*argv, "--out", tmp_path / "o"] if argv[1] != "bench" else argv, named)
    assert not (tmp_path / "o").exists()


def test_threads_are_capped_at_the_cpu_count():
    import torch

    from llm.device import set_threads
    from star_theory.process import cpu_count

    old = torch.get_num_threads()
    try:
        set_threads(10**6)
        assert torch.get_num_threads() <= cpu_count()
    finally:
        torch.set_num_threads(old)


# ----------------------------------------------------------------------------- whole commands


def test_llm_run_refuses_a_finished_run_before_retraining(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["llm", "run", "--pretrain-steps", "2", "--iterations", "0", *STAR, "--out", str(out)]
    assert main(argv) == 0
    capsys.readouterr()
    before = snapshot(tmp_path)
    one_line_error(capsys, argv, "already holds", "--overwrite")
    assert snapshot(tmp_path) == before  # pretrained/model.safetensors and star/ untouched
    assert main([*argv, "--resume", "--iterations", "1"]) == 0  # more iterations on the same pretraining
    capsys.readouterr()
    assert (out / "pretrained" / "model.safetensors").read_bytes() == before["run/pretrained/model.safetensors"][0]
    assert (out / "star" / "iter_001" / "metrics.json").is_file()
    one_line_error(capsys, [*argv, "--resume", "--pretrain-steps", "3"], "pretrain_steps: recorded 2")


def test_no_third_party_warning_reaches_stderr(checkpoint):
    """A sampling run prints nothing on stderr (transformers' FutureWarnings are kept off)."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    p = subprocess.run([sys.executable, "-m", "star_theory.cli", "llm", "measure", "--checkpoint", str(checkpoint),
                        "--samples-per-question", "1", "--device", "cpu", "--no-progress"],
                       env={**os.environ, "PYTHONPATH": str(root), "PYTHONWARNINGS": "default"},
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0 and p.stderr == "", p.stderr[-500:]

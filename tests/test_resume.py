"""Interrupted runs resume exactly: ``rlstar simulate --out DIR`` checkpoints every (seed,
iteration) unit, and ``--resume`` continues a run killed anywhere (SIGKILL included) to a final
JSON that is byte-identical to an uninterrupted run with the same seeds.

(The LLM STaR run's SIGKILL test belongs beside ``llm/star.py``; see the report of issue 6.)
"""

from __future__ import annotations

import importlib
import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from star_theory import InputError, SimulateConfig, simulate
from star_theory.io import dumps_json

simulate_module = importlib.import_module("star_theory.sim.runner")  # the attribute is the function


def result_bytes(result: dict) -> bytes:
    """The bytes ``write_json`` puts in ``result.json``."""
    return (dumps_json(result) + "\n").encode("utf-8")


RUN_MARKERS = {".rlstar-run.json", ".rlstar.lock"}  # the output-folder rule's marker and lock


def run_files(folder: Path) -> list[Path]:
    """The entries of a run folder but the marker and lock of :mod:`star_theory.outputs`."""
    return sorted(p for p in folder.iterdir() if p.name not in RUN_MARKERS)


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in run_files(folder)}


class Crash(Exception):
    """Stands in for a process dying at a chosen point of the sweep."""


def crash_after(monkeypatch, calls: int) -> None:
    """Make the ``calls``-th evaluation of the accuracy inside ``simulate`` raise :class:`Crash`.

    The sampled loop evaluates the accuracy after each unit's refit and before its checkpoint is
    written, so a crash there loses the unit in progress, as a kill inside an iteration would.
    """
    real = simulate_module.accuracy
    count = {"n": 0}

    def accuracy(policy, task):
        count["n"] += 1
        if count["n"] == calls:
            raise Crash
        return real(policy, task)

    monkeypatch.setattr(simulate_module, "accuracy", accuracy)


CONFIGS = {
    "star": SimulateConfig(M=5, N=3, lam=(0.15,), chains_per_question=6, seeds=(3, 0, 11), iterations=4),
    # rationalize draws a data-dependent number of extra variates per unit; noisy-verifier draws accept coins
    "rationalize": SimulateConfig(task="zip", digits=1, base=2, eps=(0.05,), variant="rationalize", rationales=2,
                                  chains_per_question=3, seeds=(1, 2), iterations=4, empty_rows="smooth", alpha=0.5),
    "noisy-verifier": SimulateConfig(M=4, N=2, lam=(0.1, 0.3), variant="noisy-verifier", fp=0.1, fn=0.2,
                                     chains_per_question=4, seeds=(5, 6), iterations=3, band="mean-se"),
}
REFERENCE = {name: result_bytes(simulate(cfg)) for name, cfg in CONFIGS.items()}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_checkpointed_run_equals_plain_run(tmp_path, name):
    result = simulate(CONFIGS[name], checkpoint=tmp_path / "run")
    assert result_bytes(result) == REFERENCE[name]
    assert (tmp_path / "run" / "result.json").read_bytes() == REFERENCE[name]
    names = sorted(p.name for p in run_files(tmp_path / "run"))
    assert names == sorted(["run.json", "result.json"] + [f"seed-{s}.npz" for s in CONFIGS[name].seeds])


@settings(max_examples=12, deadline=None)
@given(name=st.sampled_from(sorted(CONFIGS)), where=st.floats(0.0, 1.0), twice=st.booleans())
def test_resume_after_a_crash_anywhere_is_bit_identical(tmp_path_factory, name, where, twice):
    cfg = CONFIGS[name]
    T, S = cfg.iterations, len(cfg.seeds)
    calls = (T + 1) + S * (T + 1)  # exact curve, then per seed: initial + one per unit
    folder = tmp_path_factory.mktemp("crash") / "run"
    mp = pytest.MonkeyPatch()
    try:
        crash_after(mp, 1 + int(where * (calls - 1)))
        with pytest.raises(Crash):
            simulate(cfg, checkpoint=folder)
    finally:
        mp.undo()
    assert not (folder / "result.json").exists()
    if twice and folder.exists():  # crash the resumed run too, at its middle
        mp = pytest.MonkeyPatch()
        try:
            crash_after(mp, (T + 1) + 2)
            try:
                simulate(cfg, checkpoint=folder, resume=True)
            except Crash:
                pass
        finally:
            mp.undo()
    if not folder.exists():  # crashed while computing the exact curve: nothing to resume yet
        with pytest.raises(InputError, match="not found"):
            simulate(cfg, checkpoint=folder, resume=True)
        return
    resumed = simulate(cfg, checkpoint=folder, resume=True)
    assert result_bytes(resumed) == REFERENCE[name]
    assert (folder / "result.json").read_bytes() == REFERENCE[name]


def test_resuming_a_finished_run_rewrites_the_same_bytes(tmp_path):
    simulate(CONFIGS["star"], checkpoint=tmp_path / "run")
    before = files_of(tmp_path / "run")
    assert result_bytes(simulate(CONFIGS["star"], checkpoint=tmp_path / "run", resume=True)) == REFERENCE["star"]
    assert files_of(tmp_path / "run") == before


def test_checkpoint_restores_the_generator_state_and_kernel_bits(tmp_path, monkeypatch):
    """After a crash, each seed file holds exactly the state an uninterrupted run has after t_done units."""
    cfg = CONFIGS["star"]
    crash_after(monkeypatch, (cfg.iterations + 1) + (cfg.iterations + 1) + 3)  # seed 3 done, 2 units into seed 0
    with pytest.raises(Crash):
        simulate(cfg, checkpoint=tmp_path / "run")
    monkeypatch.undo()
    task, _ = cfg.make_task()
    variant = cfg.make_variant()
    for seed, t_done in [(3, cfg.iterations), (0, 1)]:
        with np.load(tmp_path / "run" / f"seed-{seed}.npz", allow_pickle=False) as z:
            assert int(z["t_done"]) == t_done
            rng = np.random.default_rng(seed)
            p = cfg.make_policy(task)
            for _ in range(t_done):
                p = variant.sampled_step(p, task, cfg.chains_per_question, rng, cfg.empty_rows, cfg.alpha).policy
            for n, k in enumerate(p.kernels):
                assert z[f"kernel_{n}"].tobytes() == k.tobytes()
            assert json.loads(str(z["rng_state"])) == rng.bit_generator.state
    assert not (tmp_path / "run" / "seed-11.npz").exists()


# ----------------------------------------------------------------------------- SIGKILL, end to end

SWEEP = ["simulate", "--M", "16", "--N", "3", "--lam", "0.12", "--K", "256", "--iterations", "40",
         "--seeds", "0", "1", "2", "3", "4", "5", "6", "7", "--no-progress", "--format", "json"]


def units_done(folder: Path) -> int:
    done = 0
    for p in folder.glob("seed-*.npz"):
        try:
            with np.load(p, allow_pickle=False) as z:
                done += int(z["t_done"])
        except (OSError, ValueError, KeyError):  # replaced between listing and reading
            pass
    return done


def kill_after(folder: Path, units: int, *extra: str) -> None:
    """Start the sweep, SIGKILL it once ``units`` units are checkpointed (mid-way through a later one)."""
    proc = subprocess.Popen([sys.executable, "-m", "star_theory.cli", *SWEEP, "--out", str(folder), *extra],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    try:
        while units_done(folder) < units:
            assert proc.poll() is None, f"the sweep ended before it was killed: {proc.stderr.read()!r}"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def test_sigkill_then_resume_gives_the_uninterrupted_json(tmp_path):
    total = 8 * 40
    rng = random.Random(20241031)  # the kill points; the process's timing adds its own randomness
    folder = tmp_path / "sweep"
    first = rng.randrange(5, total // 3)
    kill_after(folder, first)
    assert not (folder / "result.json").exists()  # nothing left behind as if complete
    left = sorted(p.name for p in run_files(folder))
    assert all(n == "run.json" or n.startswith("seed-") or (n.startswith(".seed-") and n.endswith(".tmp")) for n in left)
    done = units_done(folder)
    assert first <= done < total
    kill_after(folder, rng.randrange(done + 5, 2 * total // 3), "--resume")  # kill the resumed run too
    assert not (folder / "result.json").exists()
    out = subprocess.run([sys.executable, "-m", "star_theory.cli", *SWEEP, "--out", str(folder), "--resume"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    reference = simulate(SimulateConfig(M=16, N=3, lam=(0.12,), chains_per_question=256, iterations=40,
                                        seeds=tuple(range(8))))
    assert (folder / "result.json").read_bytes() == result_bytes(reference)
    assert out.stdout == dumps_json(reference) + "\n"
    assert sorted(p.name for p in run_files(folder)) == sorted(["run.json", "result.json"] + [f"seed-{s}.npz" for s in range(8)])


# ----------------------------------------------------------------------------- nothing is unpickled

UNSAFE_MODULES = {"pickle", "cPickle", "_pickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}


def unsafe_loading(source: str) -> list[str]:
    """Calls and imports in ``source`` that could unpickle an object from a file."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] in UNSAFE_MODULES]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in UNSAFE_MODULES:
            found.append(f"from {node.module} import ...")
        elif isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            kw = {k.arg: ast.unparse(k.value) for k in node.keywords if k.arg}
            if name.endswith("torch.load") or name == "load" and "weights_only" in kw:
                if kw.get("weights_only") != "True":
                    found.append(f"{name}(...) without weights_only=True at line {node.lineno}")
            if kw.get("allow_pickle") not in (None, "False"):
                found.append(f"{name}(allow_pickle={kw['allow_pickle']}) at line {node.lineno}")
            if kw.get("trust_remote_code") not in (None, "False"):
                found.append(f"{name}(trust_remote_code=...) at line {node.lineno}")
            if name.endswith("from_pretrained") and kw.get("use_safetensors") == "False":
                found.append(f"{name}(use_safetensors=False) at line {node.lineno}")
    return found


def test_the_detector_finds_unsafe_loading():
    bad = ("import pickle\nfrom joblib import load\nimport torch\ntorch.load(p)\ntorch.load(p, weights_only=False)\n"
           "np.load(p, allow_pickle=True)\nAutoModel.from_pretrained(p, trust_remote_code=True)\n")
    assert len(unsafe_loading(bad)) == 6
    assert unsafe_loading("import torch\ntorch.load(p, weights_only=True)\nnp.load(p, allow_pickle=False)\n") == []


def test_no_code_can_unpickle_a_checkpoint():
    """Checkpoints are read with safetensors, ``numpy.load(allow_pickle=False)``, JSON or
    ``torch.load(weights_only=True)``: no module imports pickle or loads with pickling allowed."""
    root = Path(__file__).resolve().parents[1]
    files = [p for pkg in ("star_theory", "llm", "experiments", "benchmarks") for p in sorted((root / pkg).rglob("*.py"))]
    assert len(files) > 20
    problems = {str(p.relative_to(root)): unsafe_loading(p.read_text()) for p in files}
    assert {k: v for k, v in problems.items() if v} == {}


# ----------------------------------------------------------------------------- LLM STaR: SIGKILL, resume

LLM_TIMING_KEYS = {"sample_wall_s", "train_wall_s", "measure_wall_s"}  # wall-clock seconds: never reproducible
LLM_COMMON = ["--preset", "tiny", "--device", "cpu", "--threads", "1", "--no-progress"]


def _llm_iterations(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("iter_*") if p.is_dir())


class Payload:
    """Unpickling this creates a file: the proof that a loader unpickled it."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def test_llm_star_killed_inside_an_iteration_resumes_to_the_uninterrupted_metrics(tmp_path, capsys):
    """``rlstar llm star`` (tiny preset, CPU) is SIGKILLed at a random point inside iteration 1 or
    2, resumed with ``--resume``, and ends with the metrics, kept chains, measured kernels and
    weights of an uninterrupted run with the same seed (timings aside); no iteration folder is
    left half-written under its final name. Then checkpoint files replaced by pickles (which
    would create a file if unpickled) are refused with a one-line error."""
    pytest.importorskip("torch")
    from star_theory.cli import main

    pre, ref, run = tmp_path / "pretrained", tmp_path / "reference", tmp_path / "run"
    assert main(["llm", "pretrain", *LLM_COMMON, "--pretrain-steps", "60", "--out", str(pre)]) == 0
    star = ["llm", "star", *LLM_COMMON, "--iterations", "3", "--checkpoint", str(pre)]
    assert main([*star, "--out", str(ref)]) == 0

    rng = random.Random(7)
    proc = subprocess.Popen([sys.executable, "-m", "star_theory.cli", *star, "--out", str(run)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300
        while not (run / "iter_000" / "metrics.json").exists():
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.5))  # iteration 1 (fine-tune, sample, measure) is under way
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "prediction.json").exists() and not (run / "iter_003").exists()
    for it in _llm_iterations(run):  # whatever is there under a final name is complete
        names = {p.name for p in it.iterdir()}
        assert {"metrics.json", "kept.npy", "kernels.npz"} <= names
        assert it.name == "iter_000" or "model.safetensors" in names
    for leftover in run.iterdir():
        assert leftover.name in {"run.json", "metrics.jsonl"} or leftover.name.startswith(("iter_", ".")), leftover

    assert main([*star, "--out", str(run), "--resume"]) == 0
    assert not list(run.glob(".iter_*.tmp"))  # resume cleared what the kill left half-written
    records = lambda f: [json.loads(x) for x in (f / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    strip = lambda r: {k: v for k, v in r.items() if k not in LLM_TIMING_KEYS}  # noqa: E731
    assert [strip(r) for r in records(run)] == [strip(r) for r in records(ref)]
    assert [r["iteration"] for r in records(run)] == [0, 1, 2, 3]
    for a, b in zip(_llm_iterations(ref), _llm_iterations(run), strict=True):
        assert a.name == b.name
        for name in ("kept.npy", "kernels.npz") + (("model.safetensors",) if a.name != "iter_000" else ()):
            assert (a / name).read_bytes() == (b / name).read_bytes(), (a.name, name)
    assert (run / "prediction.json").exists()

    # malicious files in a run folder and in a checkpoint: refused, never unpickled
    pwned = tmp_path / "pwned"
    capsys.readouterr()
    for target in ("iter_003/kept.npy", "iter_003/model.safetensors"):
        bad = tmp_path / f"bad-{target.replace('/', '-')}"
        shutil.copytree(run, bad)
        (bad / target).write_bytes(pickle.dumps(Payload(pwned)))
        assert main([*star, "--out", str(bad), "--resume"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("rlstar: error:") and str(bad / "iter_003") in err, err
    ckpt = tmp_path / "bad-checkpoint"
    shutil.copytree(pre, ckpt)
    (ckpt / "model.safetensors").unlink()
    (ckpt / "pytorch_model.bin").write_bytes(pickle.dumps(Payload(pwned)))
    assert main(["llm", "star", *LLM_COMMON, "--iterations", "1", "--checkpoint", str(ckpt), "--out", str(tmp_path / "x")]) == 2
    assert "model.safetensors" in capsys.readouterr().err
    assert not pwned.exists()

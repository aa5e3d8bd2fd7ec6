"""Same seed, same bytes: two separate processes (different hash seeds) write byte-identical
results: ``rlstar simulate`` JSON (several variants, with and without a checkpoint folder), a
corpus file, a sampled phase diagram and ``rlstar theory --format json``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

RUNS = r"""
import contextlib, io, sys
from pathlib import Path
from star_theory.cli import main

out = Path(sys.argv[1])
def run(name, *argv):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(list(argv))
    assert code == 0, (name, code)
    (out / f"{name}.stdout").write_text(buf.getvalue())

run("simulate", "simulate", "--M", "6", "--N", "3", "--lam", "0.15", "--K", "12", "--seeds", "4", "9", "2",
    "--iterations", "5", "--format", "json", "--out", str(out / "simulate.json"))
run("simulate-run", "simulate", "--task", "add", "--digits", "2", "--eps", "0.1", "--variant", "rationalize",
    "--rationales", "2", "--K", "4", "--seeds", "0", "1", "--iterations", "3", "--out", str(out / "run"))
run("simulate-noisy", "simulate", "--task", "zip", "--digits", "1", "--lam", "0.2", "--variant", "noisy-verifier",
    "--fp", "0.1", "--fn", "0.05", "--K", "8", "--seeds", "3", "--iterations", "4", "--empty-rows", "smooth",
    "--format", "json")
run("simulate-temperature", "simulate", "--M", "4", "--N", "2", "--variant", "temperature", "--temperature", "0.7",
    "--K", "16", "--seeds", "5", "6", "--iterations", "3", "--band", "mean-se", "--format", "json")
run("corpus", "corpus", "--task", "zip", "--digits", "2", "--lam", "0.1", "--chains-per-question", "64",
    "--seed", "11", "--out", str(out / "corpus.csv"))
run("phase", "phase", "--M", "4", "--points", "5", "--iterations", "6", "--mode", "sampled", "--K", "4",
    "--seeds", "0", "1", "--format", "json", "--out", str(out / "phase.json"))
run("theory", "theory", "--states", "64", "--steps", "3", "--lam", "0.1", "0.2", "0.05", "--iterations", "30",
    "--format", "json")
"""


def run_once(folder: Path, hash_seed: str) -> dict[str, bytes]:
    folder.mkdir()
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run([sys.executable, "-c", RUNS, str(folder)], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    # the output folder's name appears in messages ("wrote ... to <folder>/corpus.csv")
    return {str(p.relative_to(folder)): p.read_bytes().replace(str(folder).encode(), b"<OUT>")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_two_processes_write_the_same_bytes(tmp_path):
    first = run_once(tmp_path / "a", "1")
    second = run_once(tmp_path / "b", "2")
    assert sorted(first) == sorted(second)
    expected = {"simulate.json", "simulate.stdout", "run/result.json", "run/run.json", "run/seed-0.npz", "run/seed-1.npz",
                "simulate-noisy.stdout", "simulate-temperature.stdout", "corpus.csv", "phase.json", "theory.stdout"}
    assert expected <= set(first)
    for name in first:
        assert first[name] == second[name], name
    # the JSON printed and the JSON written are the same result
    assert first["simulate.stdout"] == first["simulate.json"]
    assert first["simulate.stdout"].count(b"\n") > 10 and b'"seeds": [\n    4,\n    9,\n    2\n  ]' in first["simulate.stdout"]

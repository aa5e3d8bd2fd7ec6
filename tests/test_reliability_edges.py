"""Process edges (Ctrl-C, a closed pipe), size checks before allocation, and inputs that used to
end in a traceback or a silently wrong result: TOML, corpora, complex numbers, API types."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import star_theory as S
from star_theory import InputError
from star_theory.cli import main
from cli_helpers import one_line_error

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}
FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])


def rlstar(*argv, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "star_theory.cli", *map(str, argv)], env=ENV, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)




# ----------------------------------------------------------------------------- process edges


def _started_importing(pid: int) -> bool:
    """Whether the process has begun importing the package (numpy's core is mapped)."""
    try:
        return "_multiarray_umath" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs /proc")
def test_ctrl_c_at_any_moment_gives_one_line_and_130():
    """From the first import on, at random moments (the first ones inside the imports)."""
    rng = random.Random(10)
    for delay in [0.0, 0.0, 0.01] + [rng.uniform(0, 0.6) for _ in range(3)]:
        p = rlstar("theory", "--iterations", "100000")
        deadline = time.monotonic() + 30
        while not _started_importing(p.pid) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=60)
        assert p.returncode == 130 and err == "rlstar: interrupted\n", (delay, p.returncode, err[-300:])


def test_a_closed_pipe_ends_quietly():
    r, w = os.pipe()
    p = subprocess.Popen([sys.executable, "-m", "star_theory.cli", "theory", "--iterations", "3000"], env=ENV,
                         stdout=w, stderr=subprocess.PIPE, text=True)
    os.close(w)
    with os.fdopen(r) as fh:
        fh.readline()  # read one line, then go away as `head -1` does
    err = p.communicate(timeout=120)[1]
    assert err == "" and p.returncode == 128 + signal.SIGPIPE


def test_a_bad_mplbackend_does_not_matter(tmp_path):
    p = subprocess.run([sys.executable, "-m", "star_theory.cli", "theory", "--iterations", "2", "--plot",
                        str(tmp_path / "t.png")], env={**ENV, "MPLBACKEND": "no-such-backend"},
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0 and p.stderr == "" and (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


# ----------------------------------------------------------------------------- sizes before allocation

HUGE = [
    ["theory", "--steps", "100000000", "--iterations", "1000"],
    ["simulate", "--task", "zip", "--digits", "10", "--iterations", "1"],
    ["simulate", "--M", "32768", "--N", "1", "--iterations", "1000000", "--seeds", "0"],
    ["phase", "--M", "8", "--points", "100000", "--iterations", "10"],
    ["corpus", "--digits", "3", "--lam", "0.3", "--chains-per-question", "100000000", "--out", "{T}/c.csv"],
    ["--max-memory", "0.0001", "simulate", "--M", "64", "--N", "3", "--iterations", "10"],
    ["llm", "pretrain", "--digits", "10", "--out", "{T}/llm"],
    ["llm", "run", "--samples-per-question", "10000000000", "--out", "{T}/llm"],
]


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_huge_requests_are_refused_before_allocating(tmp_path):
    """Peak RSS of each refused command stays under 500 MB, measured in the child as its high-water
    mark ``VmHWM`` (``ru_maxrss`` would also count the pages of the parent it was forked from)."""
    for argv in HUGE:
        code = ("import re, sys, runpy; sys.argv = ['rlstar'] + sys.argv[1:]\n"
                "try:\n    runpy.run_module('star_theory.cli', run_name='__main__')\n"
                "except SystemExit as e:\n    code = e.code\n"
                "hwm = re.search(r'VmHWM:\\s*(\\d+) kB', open('/proc/self/status').read()).group(1)\n"
                "print(hwm, code, file=sys.stderr)")
        p = subprocess.run([sys.executable, "-c", code, *[a.replace("{T}", str(tmp_path)) for a in argv]], env=ENV,
                           capture_output=True, text=True, timeout=600)
        lines = p.stderr.strip().splitlines()
        rss_kb, exit_code = lines[-1].split()
        assert exit_code == "2" and "memory" in lines[0] and lines[0].startswith("rlstar: error:"), (argv, p.stderr)
        assert int(rss_kb) < 500 * 1024, (argv, rss_kb)
    assert not (tmp_path / "c.csv").exists() and not (tmp_path / "llm").exists()


def test_level_size_formulas_match_the_built_tasks():
    from star_theory import make_task, task_level_sizes

    for name in ("zip", "add"):
        for D, b in [(1, 2), (2, 2), (2, 3), (3, 2), (1, 10)]:
            params = {"digits": D, "base": b}
            assert task_level_sizes(name, params) == list(make_task(name, params).task.sizes)
    for nodes, steps in [(2, 1), (6, 3), (26, 2)]:
        params = {"nodes": nodes, "steps": steps}
        assert task_level_sizes("walk", params) == list(make_task("walk", params).task.sizes)


# ----------------------------------------------------------------------------- TOML


@pytest.mark.parametrize("text, fragment", [
    ("iterations = 2\n[simulate]\nseeds = [0]\n", "beside the [simulate] table"),
    ("x = " + "[" * 3000 + "]" * 3000 + "\n", "nested too deeply"),
    ("M = 1e400\n", "M"),
    ("lam = 1e400\n", "lam"),
    ("lam = 100000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
     "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000\n", "lam"),
    ("seeds = [99999999999999999999999999999]\nM = 99999999999999999999999999999\n", "M"),
])
def test_toml_that_used_to_be_ignored_or_crash(tmp_path, capsys, text, fragment):
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    one_line_error(capsys, ["simulate", "--config", cfg], fragment)


def test_an_endless_config_file_is_refused_without_reading_it_all(capsys):
    one_line_error(capsys, ["simulate", "--config", "/dev/zero"], "larger than")


# ----------------------------------------------------------------------------- numbers and types


def test_complex_kernels_are_refused_not_truncated():
    k = np.eye(2) + 0j
    k[0, 1] = 1e-3j
    with pytest.raises(InputError, match="complex"):
        S.TabularPolicy([k])
    with pytest.raises(InputError, match="complex"):
        S.symmetric_policy(S.symmetric_task(3, 1), lam=[0.5 + 0.1j])


@FAST
@given(value=st.one_of(st.text(max_size=4), st.floats(allow_nan=True), st.complex_numbers(), st.none(),
                       st.lists(st.integers(), max_size=2), st.integers(-3, 40)))
def test_api_constructors_give_one_line_errors_or_valid_configs(value):
    from star_theory.sim.runner import SimulateConfig

    for key in ("M", "iterations", "chains_per_question", "level"):
        try:
            cfg = SimulateConfig(**{key: value})
        except InputError as exc:
            assert "\n" not in str(exc)
            continue
        got = getattr(cfg, key)
        assert isinstance(got, float if key == "level" else int) and not isinstance(got, bool)
        assert got == value or (isinstance(value, str) and got == float(value))


# ----------------------------------------------------------------------------- corpora


@pytest.fixture
def corpus(tmp_path):
    meta, chains = S.make_corpus("zip", 2, 2, lam=0.3, chains_per_question=2, seed=0)
    path = tmp_path / "c.csv"
    S.write_corpus(path, chains, meta)
    return path


def _rewrite(path: Path, meta_change=None, rows=None):
    first, header, *body = path.read_text().split("\n")[:-1]
    meta = json.loads(first[2:])
    if meta_change:
        meta_change(meta)
    body = body if rows is None else rows(body)
    path.write_text("# " + json.dumps(meta) + "\n" + header + "\n" + "".join(r + "\n" for r in body))


@pytest.mark.parametrize("change, fragment", [
    (lambda m: m.update(lam=[float("nan")] * 2), "NaN"),
    (lambda m: m.update(task="mul"), "mul"),
    (lambda m: m.update(level_sizes=[16, 16, 8]), "level_sizes"),
    (lambda m: m.update(n_steps=3, level_sizes=[16] * 4, lam=[0.3] * 3, eps=[0.28125] * 3), "n_steps"),
    (lambda m: m.update(lam=[2.0, 0.3]), "lam[0]"),
    (lambda m: m.update(eps=[0.1, 0.1]), "eps[0]"),
    (lambda m: m.update(note="an extra key"), None),
])
def test_corpus_metadata_is_cross_checked(corpus, change, fragment):
    _rewrite(corpus, change)
    if fragment is None:  # an extra key is allowed
        S.read_corpus(corpus)
        return
    with pytest.raises(InputError) as exc:
        S.read_corpus(corpus)
    assert fragment in str(exc.value) and "\n" not in str(exc.value)


def test_deeply_nested_corpus_metadata(corpus):
    corpus.write_text("# " + "[" * 100000 + "]" * 100000 + "\n")
    with pytest.raises(InputError, match="metadata"):
        S.read_corpus(corpus)


@FAST
@given(i=st.integers(0, 63), cut=st.integers(0, 10), space=st.booleans())
def test_a_broken_row_is_never_read_as_chains(tmp_path_factory, i, cut, space):
    """A row split across two lines (or with a space inside a field and an empty one elsewhere)
    is refused, never parsed as other chains."""
    meta, chains = S.make_corpus("zip", 2, 2, lam=0.3, chains_per_question=4, seed=1)
    path = tmp_path_factory.mktemp("c") / "c.csv"
    S.write_corpus(path, chains, meta)
    lines = path.read_text().split("\n")[:-1]
    k = 2 + i % len(chains)
    row = lines[k]
    cut %= len(row) + 1
    if space:
        lines[k] = row.replace(",", " ", 1) + ","  # field count kept: "a b,c," + an empty field
    else:
        lines[k:k + 1] = [row[:cut], row[cut:]]
        lines.pop(-1 if k != len(lines) - 1 else 2)  # keep the row count
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match="line"):
        S.read_corpus(path)


# ----------------------------------------------------------------------------- reproduce --only X X


def test_reproduce_only_runs_each_experiment_once(tmp_path, monkeypatch):
    import experiments.reproduce as R

    calls = []

    def fake(name, preset, out, master_seed, *a, **k):
        calls.append(name)
        return {"name": name, "seed": 0, "seconds": 0, "findings": [{"agree": True}]}

    monkeypatch.setattr(R, "run_experiment", fake)
    monkeypatch.setattr(R, "write_report", lambda *a, **k: None)
    manifest = R.reproduce(tmp_path / "out", preset="smoke", only=("theory_curves", "theory_curves"), progress=False)
    assert calls == ["theory_curves"] and manifest["findings"] == 1


@pytest.mark.parametrize("argv", [
    ["simulate", "--config", "a\x00b"], ["simulate", "--iterations", "1", "--out", "a\x00b.json"],
    ["simulate", "--iterations", "1", "--out", "a\x00b"], ["theory", "--plot", "a\x00.png"],
    ["corpus", "--lam", "0.1", "--out", "x\x00.csv"], ["reproduce", "--only", "theory_curves", "--out", "a\x00b"],
    ["llm", "measure", "--checkpoint", "a\x00b"], ["llm", "pretrain", "--corpus", "a\x00b", "--out", "q\x00"],
])
def test_a_nul_in_a_path_is_one_printable_line(capsys, argv):
    err = one_line_error(capsys, argv)
    assert err.isprintable() or err[:-1].isprintable()

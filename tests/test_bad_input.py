"""Bad input everywhere: every case ends in a one-line error that names the offending value.

At the CLI that is ``rlstar: error: ...`` (one prefix, whatever the command) on stderr, nothing on stdout, exit status 2
and no traceback; in the API it is :class:`star_theory.InputError` with a one-line message. No
case modifies or deletes a file that was already written (results, corpora, run folders and
checkpoints: their bytes and mtimes are compared before and after).

Every case records itself in the test's ``user_properties`` as ``("bad_input_case", key)`` (as
``record_property`` does); ``conftest.py`` prints the number of distinct cases tried at the end
of the run. The fuzz tests are derandomised, so the count and the examples are the same on
every run.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import star_theory as S
from star_theory import InputError
from star_theory.cli import main
from star_theory.config import from_mapping, load_toml
from star_theory.io import atomic_write_bytes
from star_theory.tasks import digit_task

FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
ONE_LINE_CLI = re.compile(r"^rlstar: error: \S")


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def case(request):
    """``case(key)`` records one bad-input case (what ``record_property`` does, without its
    warning under junit's xunit2 family, which would land on the stderr the tests read)."""
    return lambda key: request.node.user_properties.append(("bad_input_case", key))


def api_error(fn, *fragments: str) -> str:
    """Run ``fn``; it must raise InputError with a one-line message holding every fragment."""
    with pytest.raises(InputError) as exc:
        fn()
    msg = str(exc.value)
    assert msg.strip() and "\n" not in msg, repr(msg)
    for f in fragments:
        assert f in msg, f"{f!r} not in {msg!r}"
    return msg


def cli_error(capsys, argv, *fragments: str) -> str:
    """Run ``rlstar argv`` in process: exit 2, one line on stderr, nothing on stdout."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:  # argparse usage errors
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (code, err)
    assert out == "", out
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert ONE_LINE_CLI.match(err) and "Traceback" not in err, repr(err)
    for f in fragments:
        assert f in err, f"{f!r} not in {err!r}"
    return err


def snapshot(folder: Path) -> dict:
    """Every file and folder under ``folder`` with its bytes' digest and mtime."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = ("dir", p.stat().st_mtime_ns) if p.is_dir() else (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


TINY = S.SimulateConfig(M=3, N=2, lam=(0.2,), chains_per_question=4, seeds=(0, 1), iterations=3)
TINY_ARGS = ["--M", "3", "--N", "2", "--lam", "0.2", "--K", "4", "--seeds", "0", "1", "--iterations", "3"]


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    """A folder of results already written: a JSON result, a corpus, a finished run folder, TOMLs."""
    w = tmp_path_factory.mktemp("written")
    S.simulate(TINY, checkpoint=w / "run")
    (w / "result.json").write_text(json.dumps({"kind": "earlier result"}))
    meta, chains = S.make_corpus("zip", 1, 2, lam=0.3, chains_per_question=2, seed=1)
    S.write_corpus(w / "corpus.csv", chains, meta)
    (w / "plainfile").write_text("not a folder\n")
    (w / "folder.toml").mkdir()
    (w / "empty_dir").mkdir()
    return w


@pytest.fixture
def unchanged(written):
    """Asserts after the test that nothing under ``written`` changed."""
    before = snapshot(written)
    yield written
    assert snapshot(written) == before


def fill(argv, w: Path):
    return [a.replace("{W}", str(w)) if isinstance(a, str) else a for a in argv]


# ----------------------------------------------------------------------------- CLI: flags

CLI_CASES = [
    # top level
    ([], ["COMMAND"]),
    (["nope"], ["'nope'"]),
    # theory
    (["theory", "--states", "1"], ["states", "1"]),
    (["theory", "--states", "-4"], ["states", "-4"]),
    (["theory", "--states", "x"], ["--states", "'x'"]),
    (["theory", "--states", "2.5"], ["--states", "'2.5'"]),
    (["theory", "--states", "100000000000000000000"], ["M", "1e+20"]),
    (["theory", "--steps", "0"], ["steps", "0"]),
    (["theory", "--lam", "1.5"], ["lam", "1.5"]),
    (["theory", "--states", "4", "--lam", "-1"], ["lam", "-1.0"]),
    (["theory", "--lam", "nan"], ["lam", "nan"]),
    (["theory", "--lam", "inf"], ["lam", "inf"]),
    (["theory", "--lam", "-inf"], ["lam", "-inf"]),
    (["theory", "--lam", "abc"], ["--lam", "'abc'"]),
    (["theory", "--states", "2", "--eps", "0.6"], ["eps", "0.6"]),
    (["theory", "--eps", "-0.9"], ["eps", "-0.9"]),
    (["theory", "--lam", "0.1", "--eps", "0.1"], ["--lam or --eps"]),
    (["theory", "--steps", "3", "--lam", "0.1", "0.2"], ["2 values", "N=3"]),
    (["theory", "--iterations", "-1"], ["iterations", "-1"]),
    (["theory", "--iterations", "100001"], ["iterations", "100001"]),
    (["theory", "--plot", "{W}/t.jpg"], ["plot", "t.jpg"]),
    (["theory", "--format", "xml"], ["--format", "'xml'"]),
    (["theory", "--formula-style", "html"], ["--formula-style", "'html'"]),
    (["theory", "--bogus"], ["--bogus"]),
    (["theory", "--show-formulas", "--steps", "0"], ["steps", "0"]),
    # check
    (["check", "--seed", "-1"], ["seed", "-1"]),
    (["check", "--cases", "0"], ["cases", "0"]),
    (["check", "--cases", "5001"], ["cases", "5001"]),
    (["check", "--iterations", "0"], ["iterations", "0"]),
    (["check", "--iterations", "1001"], ["iterations", "1001"]),
    (["check", "--cases", "many"], ["--cases", "'many'"]),
    # simulate
    (["simulate", "--M", "1"], ["M", "1"]),
    (["simulate", "--M", "0"], ["M", "0"]),
    (["simulate", "--M", "100000"], ["M=100000"]),
    (["simulate", "--M", "99999999999999999999"], ["M=99999999999999999999"]),
    (["simulate", "--N", "0"], ["N", "0"]),
    (["simulate", "--N", "-2"], ["N", "-2"]),
    (["simulate", "--task-seed", "-1"], ["task_seed", "-1"]),
    (["simulate", "--K", "0"], ["chains_per_question", "0"]),
    (["simulate", "--K", "-5"], ["chains_per_question", "-5"]),
    (["simulate", "--K", "1000000000000"], ["K=1000000000000"]),
    (["simulate", "--K", "x"], ["--K", "'x'"]),
    (["simulate", "--lam", "2"], ["lam", "2.0"]),
    (["simulate", "--lam", "-0.5"], ["lam", "-0.5"]),
    (["simulate", "--M", "2", "--lam", "-1.5"], ["lam", "-1.5"]),
    (["simulate", "--eps", "-1"], ["eps", "-1.0"]),
    (["simulate", "--eps", "0.9"], ["eps", "0.9"]),
    (["simulate", "--lam", "nan"], ["lam", "nan"]),
    (["simulate", "--lam", "0.1", "0.2"], ["2 values", "N=3"]),
    (["simulate", "--lam", "0.1", "--eps", "0.1"], ["lam or eps"]),
    (["simulate", "--seeds", "1", "1"], ["seeds", "[1, 1]"]),
    (["simulate", "--seeds", "-1"], ["seeds", "-1"]),
    (["simulate", "--seeds", "a"], ["--seeds", "'a'"]),
    (["simulate", "--iterations", "0"], ["iterations", "0"]),
    (["simulate", "--iterations", "1000000000000"], ["iterations", "1000000000000"]),
    (["simulate", "--alpha", "0"], ["alpha", "0.0"]),
    (["simulate", "--alpha", "-1"], ["alpha", "-1.0"]),
    (["simulate", "--alpha", "nan"], ["alpha", "nan"]),
    (["simulate", "--level", "0"], ["level", "0.0"]),
    (["simulate", "--level", "1"], ["level", "1.0"]),
    (["simulate", "--target", "0"], ["target", "0.0"]),
    (["simulate", "--target", "1.5"], ["target", "1.5"]),
    (["simulate", "--target", "inf"], ["target", "inf"]),
    (["simulate", "--variant", "noisy-verifier", "--fp", "1.5"], ["fp", "1.5"]),
    (["simulate", "--variant", "noisy-verifier", "--fn", "-0.1"], ["fn", "-0.1"]),
    (["simulate", "--variant", "partial-fit", "--eta", "0"], ["eta", "0.0"]),
    (["simulate", "--variant", "partial-fit", "--eta", "2"], ["eta", "2.0"]),
    (["simulate", "--variant", "temperature", "--temperature", "0"], ["temperature", "0.0"]),
    (["simulate", "--variant", "temperature", "--temperature", "-1"], ["temperature", "-1.0"]),
    (["simulate", "--variant", "temperature", "--temperature", "inf"], ["temperature", "inf"]),
    (["simulate", "--variant", "rationalize", "--rationales", "-1"], ["rationales", "-1"]),
    (["simulate", "--variant", "star", "--fp", "0.2"], ["fp=0.2"]),
    (["simulate", "--variant", "star", "--eta", "0.5"], ["eta=0.5"]),
    (["simulate", "--variant", "partial-fit", "--temperature", "2"], ["temperature=2"]),
    (["simulate", "--variant", "nope"], ["--variant", "'nope'"]),
    (["simulate", "--task", "nope"], ["--task", "'nope'"]),
    (["simulate", "--task", "zip", "--digits", "0"], ["digits", "0"]),
    (["simulate", "--task", "zip", "--base", "1"], ["base", "1"]),
    (["simulate", "--task", "zip", "--digits", "11"], ["11 digits"]),
    (["simulate", "--task", "add", "--digits", "1000000000000"], ["1000000000000 digits"]),
    (["simulate", "--task", "add", "--lam", "2"], ["lam", "2.0"]),
    (["simulate", "--empty-rows", "drop"], ["--empty-rows", "'drop'"]),
    (["simulate", "--band", "wide"], ["--band", "'wide'"]),
    (["simulate", "--plot", "{W}/x.svg"], ["--plot", "x.svg"]),
    (["simulate", "--format", "yaml"], ["--format", "'yaml'"]),
    (["simulate", "--resume"], ["--resume", "--out"]),
    (["simulate", "--resume", "--out", "{W}/result.json"], ["--resume", "result.json"]),
    (["simulate", "--resume", "--out", "{W}/absent"], ["absent", "not found"]),
    (["simulate", "--resume", "--out", "{W}/plainfile"], ["plainfile", "is a file"]),
    (["simulate", "--resume", "--out", "{W}/empty_dir"], ["empty_dir", "no 'rlstar simulate' run to resume"]),
    (["simulate", *TINY_ARGS, "--out", "{W}/run"], ["run", "already holds", "--resume"]),
    (["simulate", *TINY_ARGS, "--out", "{W}/plainfile"], ["plainfile", "is a file"]),
    (["simulate", *TINY_ARGS[:-1], "4", "--out", "{W}/run", "--resume"], ["iterations=4", "iterations=3"]),
    (["simulate", *TINY_ARGS[:5], "0.3", *TINY_ARGS[6:], "--out", "{W}/run", "--resume"], ["lam=[0.3]", "lam=[0.2]"]),
    (["simulate", *TINY_ARGS, "--turbo", "--out", "{W}/run", "--resume"], ["--turbo"]),
    (["simulate", "--K", "0", "--out", "{W}/result.json"], ["chains_per_question", "0"]),
    (["simulate", "--K", "0", "--out", "{W}/new_run"], ["chains_per_question", "0"]),
    (["simulate", "--M", "4", "--lam", "-0.5", "--out", "{W}/new_run"], ["lam", "-0.5"]),
    (["simulate", "--K", "100000000000", "--out", "{W}/new_run"], ["K=100000000000"]),
    # phase
    (["phase", "--M", "1"], ["M", "1"]),
    (["phase", "--N", "1"], ["N", "1"]),
    (["phase", "--N", "3"], ["fixed", "1"]),
    (["phase", "--N", "2", "--fixed", "0.1"], ["fixed", "0"]),
    (["phase", "--N", "3", "--fixed", "2"], ["lam", "2.0"]),
    (["phase", "--N", "3", "--fixed", "nan"], ["fixed", "nan"]),
    (["phase", "--points", "2"], ["points", "2"]),
    (["phase", "--points", "1000000"], ["points", "1000000"]),
    (["phase", "--iterations", "0"], ["iterations", "0"]),
    (["phase", "--target", "0"], ["target", "0.0"]),
    (["phase", "--target", "1.01"], ["target", "1.01"]),
    (["phase", "--mode", "sampled"], ["chains_per_question"]),
    (["phase", "--mode", "sampled", "--K", "0"], ["chains_per_question", "0"]),
    (["phase", "--mode", "exact2"], ["--mode", "'exact2'"]),
    (["phase", "--mode", "sampled", "--K", "2", "--seeds", "-3"], ["seed", "-3"]),
    (["phase", "--mode", "sampled", "--K", "2", "--M", "100000", "--points", "3"], ["100000"]),
    (["phase", "--mode", "sampled", "--K", "2", "--alpha", "0", "--empty-rows", "smooth", "--points", "3"], ["alpha", "0"]),
    (["phase", "--variant", "star", "--fp", "0.1"], ["fp=0.1"]),
    (["phase", "--variant", "partial-fit", "--eta", "0"], ["eta", "0.0"]),
    (["phase", "--variant", "noisy-verifier", "--fp", "2"], ["fp", "2.0"]),
    (["phase", "--variant", "temperature", "--temperature", "0"], ["temperature", "0.0"]),
    (["phase", "--plot", "{W}/p.pdf"], ["--plot", "p.pdf"]),
    # corpus
    (["corpus", "--out", "{W}/corpus.csv"], ["lam or eps"]),
    (["corpus", "--lam", "0.1", "--eps", "0.1", "--out", "{W}/corpus.csv"], ["lam or eps"]),
    (["corpus", "--lam", "2", "--out", "{W}/corpus.csv"], ["lam", "2.0"]),
    (["corpus", "--eps", "-1", "--out", "{W}/corpus.csv"], ["eps", "-1.0"]),
    (["corpus", "--lam", "nan", "--out", "{W}/corpus.csv"], ["lam", "nan"]),
    (["corpus", "--lam", "0.1", "0.2", "--out", "{W}/corpus.csv"], ["2 values", "N=3"]),
    (["corpus", "--lam", "0.1", "--chains-per-question", "0", "--out", "{W}/corpus.csv"], ["chains_per_question", "0"]),
    (["corpus", "--lam", "0.1", "--chains-per-question", "1000000000000", "--out", "{W}/corpus.csv"], ["K=1000000000000"]),
    (["corpus", "--lam", "0.1", "--seed", "-1", "--out", "{W}/corpus.csv"], ["seed", "-1"]),
    (["corpus", "--lam", "0.1", "--digits", "0", "--out", "{W}/corpus.csv"], ["digits", "0"]),
    (["corpus", "--lam", "0.1", "--base", "1", "--out", "{W}/corpus.csv"], ["base", "1"]),
    (["corpus", "--lam", "0.1", "--digits", "30", "--out", "{W}/corpus.csv"], ["30 digits"]),
    (["corpus", "--lam", "0.1", "--task", "mul", "--out", "{W}/corpus.csv"], ["--task", "'mul'"]),
    (["corpus", "--lam", "0.1"], ["out"]),
    (["corpus", "--lam", "0.1", "--out", ""], ["out"]),
    (["corpus", "--lam", "0.1", "--out", "{W}/run"], ["run", "folder"]),
    # bench
    (["bench"], ["BENCHMARK"]),
    (["bench", "gpu"], ["'gpu'"]),
    (["bench", "sampler", "--repeats", "0"], ["--repeats", "0"]),
    (["bench", "sampler", "--naive-chains", "-3"], ["--naive-chains", "-3"]),
]


@pytest.mark.parametrize("argv, fragments", CLI_CASES, ids=[" ".join(a) or "(none)" for a, _ in CLI_CASES])
def test_cli_flag(capsys, case, unchanged, argv, fragments):
    case("cli " + " ".join(argv))
    cli_error(capsys, fill(argv, unchanged), *[f.replace("{W}", str(unchanged)) for f in fragments])


# out-of-range and non-finite numbers drawn for every numeric flag (the range each flag accepts)
NUMERIC_FLAGS = {
    ("theory", "--states"): (int, 2, None),
    ("theory", "--steps"): (int, 1, None),
    ("theory", "--iterations"): (int, 0, 100000),
    ("theory", "--lam"): (float, -1 / 63, 1.0),
    ("theory", "--eps"): (float, -1 / 64, 63 / 64),
    ("check", "--cases"): (int, 1, 5000),
    ("check", "--seed"): (int, 0, None),
    ("simulate", "--M"): (int, 2, None),
    ("simulate", "--N"): (int, 1, None),
    ("simulate", "--K"): (int, 1, None),
    ("simulate", "--iterations"): (int, 1, 1_000_000),
    ("simulate", "--lam"): (float, -1 / 7, 1.0),
    ("simulate", "--eps"): (float, -1 / 8, 7 / 8),
    ("simulate", "--alpha"): (float, 0.0, None),
    ("simulate", "--level"): (float, 0.0, 1.0),
    ("simulate", "--target"): (float, 0.0, 1.0),
    ("phase", "--M"): (int, 2, None),
    ("phase", "--points"): (int, 3, 4097),
    ("phase", "--target"): (float, 0.0, 1.0),
    ("corpus", "--chains-per-question"): (int, 1, None),
    ("corpus", "--seed"): (int, 0, None),
}
EXCLUSIVE_LOW = {("simulate", "--alpha"), ("simulate", "--level"), ("simulate", "--target"), ("phase", "--target")}
EXCLUSIVE_HIGH = {("simulate", "--level")}


@st.composite
def bad_numbers(draw):
    cmd, flag = draw(st.sampled_from(sorted(NUMERIC_FLAGS)))
    kind, lo, hi = NUMERIC_FLAGS[(cmd, flag)]
    choices = []
    if kind is int:
        choices.append(st.integers(-10**6, lo - 1))
        if hi is not None:
            choices.append(st.integers(hi + 1, hi + 10**6))
    else:
        low = st.just(lo) if (cmd, flag) in EXCLUSIVE_LOW else st.floats(max_value=lo, exclude_max=True, allow_nan=False, allow_infinity=True)
        choices.append(low.filter(lambda x: x < lo - 1e-9 or (cmd, flag) in EXCLUSIVE_LOW))
        if hi is not None:
            high = st.floats(min_value=hi, exclude_min=True, allow_nan=False, allow_infinity=True)
            choices.append(high.filter(lambda x: x > hi + 1e-9))
        if (cmd, flag) in EXCLUSIVE_HIGH:
            choices.append(st.just(hi))
        choices.append(st.just(float("nan")))
    value = draw(st.one_of(choices))
    return cmd, flag, value


BASE_ARGS = {"theory": ["--states", "64"], "check": [], "simulate": ["--M", "8"], "phase": [],
             "corpus": ["--task", "zip", "--digits", "3", "--out", "{W}/corpus.csv"]}


@FUZZ
@given(bad=bad_numbers())
def test_cli_numeric_flags_out_of_range(capsys, case, written, bad):
    cmd, flag, value = bad
    text = repr(value) if isinstance(value, float) else str(value)
    extra = ["--lam", "0.1"] if cmd == "corpus" and flag not in ("--lam", "--eps") else []
    argv = [cmd, *BASE_ARGS[cmd], *extra, flag, text]
    case("cli " + " ".join(argv))
    before = snapshot(written)
    err = cli_error(capsys, fill(argv, written))
    name = flag.lstrip("-").replace("-", "_")
    aliases = {"states": "M", "K": "chains_per_question"}
    assert any(n in err for n in (name, aliases.get(name, name), flag, "K=")), err
    if not text.lstrip("-").replace(".", "").replace("e", "").replace("+", "").isalpha() and abs(float(value)) < 1e15:
        shown = {repr(float(value)), str(value), f"{float(value):g}"}
        assert any(s in err for s in shown), (shown, err)
    assert snapshot(written) == before


# ----------------------------------------------------------------------------- CLI: TOML configs

SIM_TOML = """# a simulate run
[simulate]
task = "symmetric"
M = 4
N = 2
lam = [0.2, 0.3]
chains_per_question = 8
seeds = [0, 1]
iterations = 2
variant = "partial-fit"
eta = 0.5
band = "mean-se"
level = 0.8
"""

TOML_CASES = {
    "malformed": ("M = \n", ["malformed TOML"]),
    "malformed table": ("[simulate\nM = 4\n", ["malformed TOML"]),
    "duplicate key": ("M = 4\nM = 5\n", ["malformed TOML"]),
    "unknown key": ("chains = 4\n", ["'chains'"]),
    "flag name as key": ("K = 4\n", ["'K'"]),
    "unknown key in table": ("[simulate]\nM = 4\nturbo = true\n", ["'turbo'"]),
    "string for int": ('M = "four"\n', ["M", "'four'"]),
    "float for int": ("M = 2.5\n", ["M", "2.5"]),
    "bool for int": ("M = true\n", ["M", "True"]),
    "inf for int": ("M = inf\n", ["M", "inf"]),
    "huge float for int": ("M = 1e300\n", ["M="]),
    "huge int": ("M = 9223372036854775807\n", ["M=9223372036854775807"]),
    "list for int": ("iterations = [1, 2]\n", ["iterations"]),
    "table for int": ("[simulate.iterations]\nx = 1\n", ["iterations"]),
    "string for list": ('lam = "abc"\n', ["lam", "'abc'"]),
    "nested list": ("lam = [[0.1]]\n", ["lam", "[0.1]"]),
    "nan": ("level = nan\n", ["level", "nan"]),
    "inf lam": ("lam = [inf]\n", ["lam", "inf"]),
    "float seeds": ("seeds = [1.5]\n", ["seeds", "1.5"]),
    "int for string": ("variant = 3\n", ["variant", "3"]),
    "unknown variant": ('variant = "nope"\n', ["variant", "'nope'"]),
    "unknown band": ('band = "wide"\n', ["band", "'wide'"]),
    "out of range": ("chains-per-question = 0\n", ["chains_per_question", "0"]),
    "lam out of range": ("lam = [1.5]\n", ["lam", "1.5"]),
    "table not a table": ("simulate = 3\n", ["'simulate'", "table"]),
    "param of another variant": ('variant = "star"\nfp = 0.3\n', ["fp=0.3"]),
    "empty seeds": ("seeds = []\n", ["seeds"]),
    "date": ("iterations = 1979-05-27\n", ["iterations"]),
}


@pytest.mark.parametrize("name", sorted(TOML_CASES))
def test_cli_simulate_toml(capsys, case, unchanged, tmp_path, name):
    text, fragments = TOML_CASES[name]
    case(f"cli simulate --config <{name}>")
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    cli_error(capsys, ["simulate", "--config", cfg, "--out", unchanged / "result.json"], *fragments)


@pytest.mark.parametrize("cmd", ["simulate", "phase", "corpus"])
def test_cli_config_file_problems(capsys, case, unchanged, tmp_path, cmd):
    bad_utf8 = tmp_path / "latin1.toml"
    bad_utf8.write_bytes("M = 4 # caf\xe9\n".encode("latin-1"))
    for label, path, fragment in [
        ("missing", tmp_path / "missing.toml", "missing.toml"),
        ("folder", unchanged / "folder.toml", "folder.toml"),
        ("not utf-8", bad_utf8, "latin1.toml"),
    ]:
        case(f"cli {cmd} --config <{label}>")
        cli_error(capsys, [cmd, "--config", path], fragment)
    toml = tmp_path / "unknown.toml"
    toml.write_text(f"[{cmd}]\nwhatever = 1\n")
    case(f"cli {cmd} --config <unknown key>")
    cli_error(capsys, [cmd, "--config", toml], "'whatever'")


def test_truncated_toml_configs_never_fail_otherwise(tmp_path, case):
    """Every prefix of a valid config is either a valid config or a one-line InputError."""
    path = tmp_path / "t.toml"
    errors = 0
    for cut in range(len(SIM_TOML)):
        path.write_text(SIM_TOML[:cut])
        try:
            table = load_toml(path)
            from_mapping(S.SimulateConfig, table.get("simulate", table), str(path))
        except InputError as exc:
            assert "\n" not in str(exc)
            case(f"api truncated simulate TOML at {cut}")
            errors += 1
    assert errors > len(SIM_TOML) // 3  # most prefixes are malformed (open strings, arrays, tables)


def test_truncated_toml_at_the_cli(capsys, case, tmp_path):
    """Prefixes cut inside a table header, a string and an array: malformed, named by file."""
    path = tmp_path / "t.toml"
    for marker in ("[simul", '"symm', "[0.2, 0", "[0, "):
        cut = SIM_TOML.index(marker) + len(marker)
        path.write_text(SIM_TOML[:cut])
        case(f"cli simulate truncated TOML at {cut}")
        cli_error(capsys, ["simulate", "--config", path], "t.toml", "malformed TOML")


# ----------------------------------------------------------------------------- API: parameters

TASK = S.symmetric_task(3, 2, seed=0)
POLICY = S.symmetric_policy(TASK, lam=0.3)
OTHER = S.symmetric_policy(S.symmetric_task(4, 2), lam=0.3)
U3 = np.full((3, 3), 1 / 3)

API_CASES = {
    # model
    "symmetric_task M=1": (lambda: S.symmetric_task(1, 2), ["M", "1"]),
    "symmetric_task M=2.5": (lambda: S.symmetric_task(2.5, 2), ["M", "2.5"]),
    "symmetric_task M='3'": (lambda: S.symmetric_task("3", 2), ["M", "'3'"]),
    "symmetric_task M=True": (lambda: S.symmetric_task(True, 2), ["M", "True"]),
    "symmetric_task N=0": (lambda: S.symmetric_task(3, 0), ["N", "0"]),
    "symmetric_task seed=-1": (lambda: S.symmetric_task(3, 2, seed=-1), ["seed", "-1"]),
    "symmetric_task seed='x'": (lambda: S.symmetric_task(3, 2, seed="x"), ["seed", "'x'"]),
    "symmetric_task seed=1.5": (lambda: S.symmetric_task(3, 2, seed=1.5), ["seed", "1.5"]),
    "symmetric_policy non-bijective": (lambda: S.symmetric_policy(S.ReasoningTask([[0, 0, 1], [0, 1]]), lam=0.1), ["bijection"]),
    "symmetric_policy lam=1.5": (lambda: S.symmetric_policy(TASK, lam=1.5), ["lam=1.5"]),
    "symmetric_policy lam=-0.6": (lambda: S.symmetric_policy(TASK, lam=-0.6), ["lam=-0.6"]),
    "symmetric_policy lam=nan": (lambda: S.symmetric_policy(TASK, lam=float("nan")), ["lam", "nan"]),
    "symmetric_policy lam='x'": (lambda: S.symmetric_policy(TASK, lam="x"), ["lam", "'x'"]),
    "symmetric_policy lam 3 values": (lambda: S.symmetric_policy(TASK, lam=[0.1, 0.2, 0.3]), ["3 values", "N=2"]),
    "symmetric_policy both": (lambda: S.symmetric_policy(TASK, lam=0.1, eps=0.1), ["exactly one"]),
    "symmetric_policy neither": (lambda: S.symmetric_policy(TASK), ["exactly one"]),
    "symmetric_policy eps=0.7": (lambda: S.symmetric_policy(TASK, eps=0.7), ["eps=0.7"]),
    "mixture_policy single-state level": (lambda: S.mixture_policy(S.ReasoningTask([[0, 0]]), lam=0.1), ["level 1"]),
    "mixture_policy huge levels": (lambda: S.mixture_policy(S.ReasoningTask([np.zeros(70000, int)], final_size=70000), lam=0.1), ["70000"]),
    "validate_lam M=1": (lambda: S.validate_lam(0.1, 1), ["M", "1"]),
    "validate_lam inf": (lambda: S.validate_lam([0.1, np.inf], 4), ["lam", "inf"]),
    "validate_eps range": (lambda: S.validate_eps(0.8, 4), ["eps=0.8"]),
    "lam_to_eps range": (lambda: S.lam_to_eps(-1.0, 3), ["lam=-1.0"]),
    "eps_to_lam M=0": (lambda: S.eps_to_lam(0.1, 0), ["M", "0"]),
    "lam_bounds M=1.5": (lambda: S.lam_bounds(1.5), ["M", "1.5"]),
    "eps_bounds M=None": (lambda: S.eps_bounds(None), ["M", "None"]),
    "resolve_lam 2-d": (lambda: S.resolve_lam(3, 2, lam=[[0.1, 0.2]]), ["shape (1, 2)"]),
    "resolve_lam N=0": (lambda: S.resolve_lam(3, 0, lam=0.1), ["N", "0"]),
    "fit_symmetric non-bijective": (lambda: S.fit_symmetric(S.TabularPolicy([U3[:, :2] * 1.5]), S.ReasoningTask([[0, 0, 1]])), ["bijection"]),
    "fit_symmetric sizes": (lambda: S.fit_symmetric(OTHER, TASK), ["(4, 4, 4)", "(3, 3, 3)"]),
    "ReasoningTask maps int": (lambda: S.ReasoningTask(5), ["maps", "5"]),
    "ReasoningTask maps 1-d array": (lambda: S.ReasoningTask(np.array([0, 1])), ["maps"]),
    "ReasoningTask no steps": (lambda: S.ReasoningTask([]), ["maps", "N >= 1"]),
    "ReasoningTask 2-d step": (lambda: S.ReasoningTask([[[0, 1]]]), ["maps[0]", "(1, 2)"]),
    "ReasoningTask empty step": (lambda: S.ReasoningTask([[]]), ["maps[0]", "(0,)"]),
    "ReasoningTask fractional": (lambda: S.ReasoningTask([[0.5, 1.0]]), ["maps[0]", "float64"]),
    "ReasoningTask nan": (lambda: S.ReasoningTask([[np.nan, 1.0]]), ["maps[0]", "float64"]),
    "ReasoningTask strings": (lambda: S.ReasoningTask([["a", "b"]]), ["maps[0]"]),
    "ReasoningTask bools": (lambda: S.ReasoningTask([[True, False]]), ["maps[0]", "bool"]),
    "ReasoningTask negative": (lambda: S.ReasoningTask([[0, -1]]), ["maps[0][1]=-1"]),
    "ReasoningTask beyond next level": (lambda: S.ReasoningTask([[0, 1, 2], [0, 1]]), ["maps[0][2]=2", "size 2"]),
    "ReasoningTask beyond final_size": (lambda: S.ReasoningTask([[0, 3]], final_size=2), ["maps[0][1]=3", "size 2"]),
    "ReasoningTask final_size 0": (lambda: S.ReasoningTask([[0, 0]], final_size=0), ["final_size", "0"]),
    "ReasoningTask final_size 'x'": (lambda: S.ReasoningTask([[0, 0]], final_size="x"), ["final_size", "'x'"]),
    "ReasoningTask rho length": (lambda: S.ReasoningTask([[0, 1]], question_dist=[1.0]), ["question_dist", "length 1"]),
    "ReasoningTask rho negative": (lambda: S.ReasoningTask([[0, 1]], question_dist=[1.5, -0.5]), ["question_dist"]),
    "ReasoningTask rho sum": (lambda: S.ReasoningTask([[0, 1]], question_dist=[0.5, 0.6]), ["question_dist", "1.1"]),
    "ReasoningTask rho nan": (lambda: S.ReasoningTask([[0, 1]], question_dist=[np.nan, 1.0]), ["question_dist", "nan"]),
    "ReasoningTask rho 2-d": (lambda: S.ReasoningTask([[0, 1]], question_dist=[[0.5, 0.5]]), ["question_dist", "(1, 2)"]),
    "TabularPolicy int": (lambda: S.TabularPolicy(3), ["kernels", "3"]),
    "TabularPolicy empty": (lambda: S.TabularPolicy([]), ["kernels"]),
    "TabularPolicy 1-d": (lambda: S.TabularPolicy([[0.5, 0.5]]), ["kernels[0]", "(2,)"]),
    "TabularPolicy 3-d": (lambda: S.TabularPolicy([np.ones((1, 1, 1))]), ["kernels[0]", "(1, 1, 1)"]),
    "TabularPolicy no columns": (lambda: S.TabularPolicy([np.ones((2, 0))]), ["kernels[0]", "(2, 0)"]),
    "TabularPolicy strings": (lambda: S.TabularPolicy([[["a"]]]), ["kernels[0]"]),
    "TabularPolicy None": (lambda: S.TabularPolicy([None]), ["kernels[0]"]),
    "TabularPolicy ragged": (lambda: S.TabularPolicy([[[1.0], [0.5, 0.5]]]), ["kernels[0]"]),
    "TabularPolicy nan": (lambda: S.TabularPolicy([[[np.nan, 1.0]]]), ["kernels[0]", "nan"]),
    "TabularPolicy negative": (lambda: S.TabularPolicy([[[1.5, -0.5]]]), ["kernels[0][0, 1]=-0.5"]),
    "TabularPolicy row sum": (lambda: S.TabularPolicy([[[0.5, 0.6]]]), ["kernels[0] row 0", "1.1"]),
    "TabularPolicy chain shapes": (lambda: S.TabularPolicy([U3, np.full((2, 2), 0.5)]), ["kernels[1]", "2 rows", "3 columns"]),
    # exact
    "accuracy policy None": (lambda: S.accuracy(None, TASK), ["policy", "NoneType"]),
    "accuracy task str": (lambda: S.accuracy(POLICY, "task"), ["task", "str"]),
    "accuracy sizes": (lambda: S.accuracy(OTHER, TASK), ["(4, 4, 4)", "(3, 3, 3)"]),
    "backward_success accept shape": (lambda: S.backward_success(POLICY, TASK, accept=np.ones((2, 2))), ["accept", "(2, 2)"]),
    "backward_success accept < 0": (lambda: S.backward_success(POLICY, TASK, accept=-U3), ["accept", "non-negative"]),
    "keep_mask accept > 1": (lambda: S.keep_mask(np.zeros((1, 3), int), TASK, 0, 4 * U3), ["accept", "[0, 1]"]),
    "kept_transition_mass accept nan": (lambda: S.kept_transition_mass(POLICY, TASK, accept=np.full((3, 3), np.nan)), ["accept"]),
    "kept_transition_mass accept str": (lambda: S.kept_transition_mass(POLICY, TASK, accept="x"), ["accept", "'x'"]),
    "refit_rows previous": (lambda: S.refit_rows([U3, U3], "x"), ["previous", "str"]),
    "refit_rows steps": (lambda: S.refit_rows([U3], POLICY), ["mass", "1 steps"]),
    "refit_rows shape": (lambda: S.refit_rows([U3, np.ones((2, 2))], POLICY), ["mass[1]", "(2, 2)"]),
    "refit_rows negative": (lambda: S.refit_rows([U3, -U3], POLICY), ["mass[1]"]),
    "exact_star_step policy": (lambda: S.exact_star_step("x", TASK), ["policy", "str"]),
    "star_trajectory iterations -1": (lambda: S.star_trajectory(POLICY, TASK, -1), ["iterations", "-1"]),
    "star_trajectory iterations 1.5": (lambda: S.star_trajectory(POLICY, TASK, 1.5), ["iterations", "1.5"]),
    "star_trajectory iterations True": (lambda: S.star_trajectory(POLICY, TASK, True), ["iterations", "True"]),
    "diagnostics sizes": (lambda: S.diagnostics(OTHER, TASK), ["(4, 4, 4)"]),
    "flawed_chain_share task": (lambda: S.flawed_chain_share(POLICY, None), ["task", "NoneType"]),
    # closed forms
    "symmetric_accuracy M=0": (lambda: S.symmetric_accuracy(0, lam=[0.1]), ["M", "0"]),
    "symmetric_accuracy M=nan": (lambda: S.symmetric_accuracy(np.nan, lam=[0.1]), ["M", "nan"]),
    "symmetric_accuracy M=2.5": (lambda: S.symmetric_accuracy(2.5, lam=[0.1]), ["M", "2.5"]),
    "symmetric_accuracy M=2^60": (lambda: S.symmetric_accuracy(2**60, lam=[0.1]), ["M", "2^53"]),
    "symmetric_accuracy M='x'": (lambda: S.symmetric_accuracy("x", lam=[0.1]), ["M", "'x'"]),
    "symmetric_accuracy lam empty": (lambda: S.symmetric_accuracy(4, lam=[]), ["lam", "at least one"]),
    "symmetric_accuracy lam 'x'": (lambda: S.symmetric_accuracy(4, lam="x"), ["lam"]),
    "symmetric_accuracy lam -inf": (lambda: S.symmetric_accuracy(4, lam=[-np.inf]), ["lam", "-inf"]),
    "symmetric_accuracy eps range": (lambda: S.symmetric_accuracy(4, eps=[0.8]), ["eps=0.8"]),
    "symmetric_star_update lam range": (lambda: S.symmetric_star_update(4, lam=[0.2, 1.2]), ["lam=1.2"]),
    "symmetric_star_update broadcast": (lambda: S.symmetric_star_update([3, 4, 5], lam=np.zeros((2, 2))), ["broadcast"]),
    "symmetric_trajectory iterations -1": (lambda: S.symmetric_trajectory(4, -1, lam=[0.1]), ["iterations", "-1"]),
    "symmetric_trajectory iterations 2.0": (lambda: S.symmetric_trajectory(4, 2.0, lam=[0.1]), ["iterations", "2.0"]),
    "symmetric_flawed_share lam nan": (lambda: S.symmetric_flawed_share(4, lam=[np.nan]), ["lam", "nan"]),
    "symmetric_step_correctness M=1": (lambda: S.symmetric_step_correctness(1, lam=[0.1]), ["M", "1"]),
    "iterations_to_accuracy target 0": (lambda: S.iterations_to_accuracy(4, 0.0, lam=[0.1]), ["target", "0.0"]),
    "iterations_to_accuracy target nan": (lambda: S.iterations_to_accuracy(4, float("nan"), lam=[0.1]), ["target", "nan"]),
    "iterations_to_accuracy target 'x'": (lambda: S.iterations_to_accuracy(4, "x", lam=[0.1]), ["target", "'x'"]),
    "iterations_to_accuracy max -1": (lambda: S.iterations_to_accuracy(4, 0.9, lam=[0.1], max_iterations=-1), ["max_iterations", "-1"]),
    # checks
    "check_improvement iterations 0": (lambda: S.check_improvement(POLICY, TASK, iterations=0), ["iterations", "0"]),
    "check_convergence policy": (lambda: S.check_convergence("x", TASK), ["policy"]),
    "classify_symmetric iterations": (lambda: S.classify_symmetric(4, lam=[0.1], iterations=-1), ["iterations", "-1"]),
    "classify_pretrained lam 'x'": (lambda: S.classify_pretrained(4, lam="x"), ["lam", "'x'"]),
    "classify_pretrained lam range": (lambda: S.classify_pretrained(4, lam=[2.0]), ["lam=2.0"]),
    "check_general n_cases": (lambda: S.check_general(n_cases=-1), ["n_cases", "-1"]),
    "random_tabular_case seed -1": (lambda: S.random_tabular_case(-1), ["seed", "-1"]),
    "pretrained_boundary M=1": (lambda: S.pretrained_boundary(1), ["M", "1"]),
    "fixed_point_condition lam": (lambda: S.fixed_point_condition(4, lam=[2.0]), ["lam", "2.0"]),
    # sampling
    "sample_chains K=0": (lambda: S.sample_chains(POLICY, TASK, 0, 0), ["K", "0"]),
    "sample_chains K=2.5": (lambda: S.sample_chains(POLICY, TASK, 2.5, 0), ["K", "2.5"]),
    "sample_chains K='abc'": (lambda: S.sample_chains(POLICY, TASK, "abc", 0), ["K", "'abc'"]),
    "sample_chains K huge": (lambda: S.sample_chains(POLICY, TASK, 10**15, 0), ["K=1000000000000000"]),
    "sample_chains questions 2-d": (lambda: S.sample_chains(POLICY, TASK, np.zeros((2, 2), int), 0), ["questions"]),
    "sample_chains questions range": (lambda: S.sample_chains(POLICY, TASK, np.array([0, 3]), 0), ["questions", "size 3"]),
    "sample_chains questions float": (lambda: S.sample_chains(POLICY, TASK, np.array([0.5]), 0), ["questions"]),
    "sample_chains rng None": (lambda: S.sample_chains(POLICY, TASK, 2, None), ["rng", "None"]),
    "sample_chains rng -1": (lambda: S.sample_chains(POLICY, TASK, 2, -1), ["rng", "-1"]),
    "sample_chains rng 'x'": (lambda: S.sample_chains(POLICY, TASK, 2, "x"), ["rng", "'x'"]),
    "sample_chains sizes": (lambda: S.sample_chains(OTHER, TASK, 2, 0), ["(4, 4, 4)"]),
    "sample_conditioned_chains range": (lambda: S.sample_conditioned_chains(POLICY, TASK, [5], 0), ["questions", "size 3"]),
    "sample_conditioned_chains strings": (lambda: S.sample_conditioned_chains(POLICY, TASK, ["a"], 0), ["questions", "'a'"]),
    "sample_conditioned_chains floats": (lambda: S.sample_conditioned_chains(POLICY, TASK, [0.5], 0), ["questions", "0.5"]),
    "keep_mask shape": (lambda: S.keep_mask(np.zeros((2, 2), int), TASK), ["chains", "(2, 2)"]),
    "keep_mask range": (lambda: S.keep_mask(np.array([[0, 1, 3]]), TASK), ["chains", "outside"]),
    "keep_mask float chains": (lambda: S.keep_mask(np.zeros((1, 3)), TASK), ["chains", "float64"]),
    "keep_mask accept without rng": (lambda: S.keep_mask(np.zeros((1, 3), int), TASK, None, U3), ["rng", "None"]),
    "transition_counts weights length": (lambda: S.transition_counts(np.zeros((4, 3), int), TASK, weights=np.ones(2)), ["weights", "(2,)"]),
    "transition_counts weights negative": (lambda: S.transition_counts(np.zeros((2, 3), int), TASK, weights=[1.0, -1.0]), ["weights"]),
    "transition_counts weights 'x'": (lambda: S.transition_counts(np.zeros((1, 3), int), TASK, weights=["x"]), ["weights", "'x'"]),
    "refit_from_counts rule": (lambda: S.refit_from_counts([U3, U3], POLICY, "drop"), ["empty_rows", "'drop'"]),
    "refit_from_counts alpha 0": (lambda: S.refit_from_counts([U3, U3], POLICY, "smooth", 0.0), ["alpha", "0.0"]),
    "refit_from_counts alpha nan": (lambda: S.refit_from_counts([U3, U3], POLICY, "smooth", float("nan")), ["alpha", "nan"]),
    "refit_from_counts shapes": (lambda: S.refit_from_counts([U3, np.ones((3, 2))], POLICY), ["counts[1]", "(3, 2)"]),
    "refit_from_counts steps": (lambda: S.refit_from_counts([U3], POLICY), ["counts", "1 steps"]),
    "alias_table 1-d": (lambda: S.alias_table(np.ones(3) / 3), ["kernels[0]", "(3,)"]),
    "alias_table not stochastic": (lambda: S.alias_table(np.ones((3, 3))), ["row 0", "3.0"]),
    "alias_table nan": (lambda: S.alias_table(np.full((2, 2), np.nan)), ["nan"]),
    "prob_no_kept_chain K=0": (lambda: S.prob_no_kept_chain(POLICY, TASK, 0), ["K", "0"]),
    "expected_kept_count accept shape": (lambda: S.expected_kept_count(POLICY, TASK, 2, np.ones(3)), ["accept", "(3,)"]),
    "kept_count_variance K=-1": (lambda: S.kept_count_variance(POLICY, TASK, -1), ["K", "-1"]),
    "question_keep_probability accept": (lambda: S.question_keep_probability(POLICY, TASK, -U3), ["accept"]),
    "sampled_star_step rule": (lambda: S.sampled_star_step(POLICY, TASK, 2, 0, "drop"), ["empty_rows", "'drop'"]),
    # variants
    "make_variant unknown": (lambda: S.make_variant("nope"), ["'nope'"]),
    "make_variant unknown parameter": (lambda: S.make_variant("star", beta=1), ["'beta'"]),
    "make_variant parameter of another": (lambda: S.make_variant("star", fp=0.1), ["fp=0.1"]),
    "make_variant fp=2": (lambda: S.make_variant("noisy-verifier", fp=2), ["fp", "2.0"]),
    "make_variant fn='x'": (lambda: S.make_variant("noisy-verifier", fn="x"), ["fn", "'x'"]),
    "make_variant eta=0": (lambda: S.make_variant("partial-fit", eta=0), ["eta", "0.0"]),
    "make_variant eta=nan": (lambda: S.make_variant("partial-fit", eta=float("nan")), ["eta", "nan"]),
    "make_variant temperature=0": (lambda: S.make_variant("temperature", temperature=0), ["temperature", "0.0"]),
    "make_variant temperature=inf": (lambda: S.make_variant("temperature", temperature=float("inf")), ["temperature", "inf"]),
    "make_variant rationales=-1": (lambda: S.make_variant("rationalize", rationales=-1), ["rationales", "-1"]),
    "make_variant rationales=1.5": (lambda: S.make_variant("rationalize", rationales=1.5), ["rationales", "1.5"]),
    "StarVariant name": (lambda: S.StarVariant(name="nope"), ["'nope'"]),
    "tempered_policy T=-1": (lambda: S.tempered_policy(POLICY, -1), ["temperature", "-1.0"]),
    "tempered_policy policy": (lambda: S.tempered_policy("x", 0.5), ["policy", "str"]),
    "mix_policies eta": (lambda: S.mix_policies(POLICY, POLICY, 1.5), ["eta", "1.5"]),
    "mix_policies sizes": (lambda: S.mix_policies(POLICY, OTHER, 0.5), ["(3, 3, 3)", "(4, 4, 4)"]),
    "mix_policies type": (lambda: S.mix_policies(POLICY, "x", 0.5), ["new", "str"]),
    "noisy_verifier_accept fp": (lambda: S.noisy_verifier_accept(TASK, -0.1, 0.0), ["fp", "-0.1"]),
    "variant sampled_step K": (lambda: S.make_variant("star").sampled_step(POLICY, TASK, 0, 0), ["K", "0"]),
    "variant exact_step rationalize K": (lambda: S.make_variant("rationalize").exact_step(POLICY, TASK, -2), ["K", "-2"]),
    # phase
    "phase_diagram M=1": (lambda: S.phase_diagram(1), ["M", "1"]),
    "phase_diagram N=1": (lambda: S.phase_diagram(4, 1), ["N", "1"]),
    "phase_diagram mode": (lambda: S.phase_diagram(4, mode="fast"), ["mode", "'fast'"]),
    "phase_diagram fixed count": (lambda: S.phase_diagram(4, 3), ["fixed", "N-2=1"]),
    "phase_diagram fixed 'x'": (lambda: S.phase_diagram(4, 3, fixed="x"), ["fixed", "'x'"]),
    "phase_diagram values range": (lambda: S.phase_diagram(4, values=[0.0, 2.0]), ["lam=2.0"]),
    "phase_diagram values 2-d": (lambda: S.phase_diagram(4, values=[[0.1, 0.2]]), ["values", "(1, 2)"]),
    "phase_diagram points 2": (lambda: S.phase_diagram(4, points=2), ["points", "2"]),
    "phase_diagram points huge": (lambda: S.phase_diagram(4, points=10**6), ["points", "1000000"]),
    "phase_diagram iterations 0": (lambda: S.phase_diagram(4, points=3, iterations=0), ["iterations", "0"]),
    "phase_diagram target": (lambda: S.phase_diagram(4, points=3, target=2), ["target", "2.0"]),
    "phase_diagram variant type": (lambda: S.phase_diagram(4, points=3, variant=5), ["variant", "int"]),
    "phase_diagram sampled no K": (lambda: S.phase_diagram(4, points=3, mode="sampled"), ["chains_per_question"]),
    "phase_diagram sampled no seeds": (lambda: S.phase_diagram(4, points=3, mode="sampled", chains_per_question=2, seeds=()), ["seed"]),
    "phase_diagram seeds 'ab'": (lambda: S.phase_diagram(4, points=3, mode="sampled", chains_per_question=2, seeds="ab"), ["seed", "'ab'"]),
    # tasks
    "digit_task name": (lambda: digit_task("mul", 2, 2), ["'mul'"]),
    "digit_task digits 0": (lambda: digit_task("zip", 0, 2), ["digits", "0"]),
    "digit_task base 1": (lambda: digit_task("add", 2, 1), ["base", "1"]),
    "digit_task base 2.5": (lambda: digit_task("zip", 1, 2.5), ["base", "2.5"]),
    "digit_task digits 10^9": (lambda: digit_task("zip", 10**9, 2), ["1000000000 digits"]),
    "digit_task base 10^18": (lambda: digit_task("add", 1, 10**18), ["base 1000000000000000000"]),
    # corpus
    "make_corpus task": (lambda: S.make_corpus("mul", lam=0.1), ["'mul'"]),
    "make_corpus lam": (lambda: S.make_corpus("zip", 1, 2, lam=1.5), ["lam=1.5"]),
    "make_corpus K": (lambda: S.make_corpus("zip", 1, 2, lam=0.1, chains_per_question=0), ["chains_per_question", "0"]),
    "make_corpus seed": (lambda: S.make_corpus("zip", 1, 2, lam=0.1, seed=-3), ["seed", "-3"]),
    "make_corpus neither": (lambda: S.make_corpus("zip", 1, 2), ["exactly one"]),
    # simulate
    "simulate config type": (lambda: S.simulate({"M": 4}), ["SimulateConfig", "dict"]),
    "simulate resume without folder": (lambda: S.simulate(TINY, resume=True), ["resume", "checkpoint"]),
    "simulate resume not bool": (lambda: S.simulate(TINY, checkpoint="x", resume="yes"), ["resume", "'yes'"]),
    "simulate checkpoint type": (lambda: S.simulate(TINY, checkpoint=3.5), ["checkpoint", "3.5"]),
    "SimulateConfig M": (lambda: S.SimulateConfig(M=1), ["M", "1"]),
    "SimulateConfig variant": (lambda: S.simulate(S.SimulateConfig(variant="nope"), progress=False), ["variant", "'nope'"]),
    "SimulateConfig lam": (lambda: S.SimulateConfig(lam=(3.0,)).make_policy(S.symmetric_task(8, 3)), ["lam=3.0"]),
    # issue 20: a bool is not a number, seeds are distinct integers, every count bounded, wrong types
    "symmetric_policy lam=True": (lambda: S.symmetric_policy(TASK, lam=True), ["lam", "boolean"]),
    "symmetric_accuracy lam [True]": (lambda: S.symmetric_accuracy(4, lam=[True]), ["lam", "boolean"]),
    "make_variant temperature=True": (lambda: S.make_variant("temperature", temperature=True), ["temperature", "True"]),
    "make_variant eta=True": (lambda: S.make_variant("partial-fit", eta=True), ["eta", "True"]),
    "make_variant fp=True": (lambda: S.make_variant("noisy-verifier", fp=True), ["fp", "True"]),
    "make_variant temperature subnormal": (lambda: S.make_variant("temperature", temperature=1e-310), ["temperature", "1e-310"]),
    "make_variant fp 10^400": (lambda: S.make_variant("noisy-verifier", fp=10**400), ["fp", "float range"]),
    "make_variant name set": (lambda: S.make_variant({"star"}), ["unknown variant"]),
    "StarVariant name list": (lambda: S.StarVariant(name=["star"]), ["unknown variant"]),
    "make_rule name array": (lambda: S.make_rule(np.array([])), ["rule name", "string"]),
    "unregister_rule name dict": (lambda: S.unregister_rule({}), ["no registered rule"]),
    "digit_task name array": (lambda: digit_task(np.array([]), 2, 2), ["unknown task"]),
    "format_formulas style array": (lambda: S.format_formulas(2, np.array([])), ["style"]),
    "derive_accuracy N set": (lambda: S.derive_accuracy({1, 2}), ["N", "{1, 2}"]),
    "sample_chains rng True": (lambda: S.sample_chains(POLICY, TASK, 2, True), ["rng", "True"]),
    "sampled_star_step alpha True": (lambda: S.sampled_star_step(POLICY, TASK, 2, 0, "smooth", True), ["alpha", "True"]),
    "sampled_star_step empty_rows array": (lambda: S.sampled_star_step(POLICY, TASK, 2, 0, np.array([])), ["empty_rows"]),
    "tabular_star_runs seeds bytes": (lambda: S.tabular_star_runs(POLICY, TASK, 2, 1, b"ab"), ["seeds", "b'ab'"]),
    "tabular_star_runs seeds set": (lambda: S.tabular_star_runs(POLICY, TASK, 2, 1, {0, 1}), ["seeds", "{0, 1}"]),
    "tabular_star_runs seeds repeated": (lambda: S.tabular_star_runs(POLICY, TASK, 2, 1, [3, 3]), ["seeds", "distinct"]),
    "tabular_star_runs seeds int": (lambda: S.tabular_star_runs(POLICY, TASK, 2, 1, 5), ["seeds", "5"]),
    "phase_diagram seeds set": (lambda: S.phase_diagram(4, points=3, mode="sampled", chains_per_question=2, seeds={0, 1}), ["seeds"]),
    "phase_diagram mode array": (lambda: S.phase_diagram(4, mode=np.array([])), ["mode"]),
    "phase_diagram fixed 2-d": (lambda: S.phase_diagram(4, 3, fixed=[[0.1]]), ["fixed", "1-d"]),
    "phase_diagram values bytes": (lambda: S.phase_diagram(4, values=b"ab"), ["values", "numeric"]),
    "phase_diagram use_closed_form 'x'": (lambda: S.phase_diagram(4, points=3, use_closed_form="x"), ["use_closed_form", "'x'"]),
    "phase_diagram alpha 'x'": (lambda: S.phase_diagram(4, points=3, alpha="x"), ["alpha", "'x'"]),
    "seed_band 0-d": (lambda: S.seed_band(5.0), ["values", "axis 0"]),
    "seed_band kind": (lambda: S.seed_band([[1.0]], kind=np.array([])), ["kind"]),
    "seed_band level 10^400": (lambda: S.seed_band([[1.0]], level=10**400), ["level", "float range"]),
    "first_reach curve None": (lambda: S.first_reach(None, 0.5), ["curve"]),
    "first_reach target set": (lambda: S.first_reach([0.1, 0.9], {1}), ["target", "{1}"]),
    "boundary_agreement s bytes": (lambda: S.boundary_agreement(["optimum"], b"ab"), ["s", "numeric"]),
    "other_steps_product lam bytes": (lambda: S.other_steps_product(b"ab"), ["lam", "numeric"]),
    "classify_symmetric fixed_tol set": (lambda: S.classify_symmetric(4, lam=[0.1], fixed_tol={1}), ["fixed_tol"]),
    "classify_pretrained fixed_tol None": (lambda: S.classify_pretrained(4, lam=[0.1], fixed_tol=None), ["fixed_tol", "None"]),
    "check_general claim array": (lambda: S.check_general(claim=np.array([])), ["claim"]),
    "check_general max_steps bytes": (lambda: S.check_general(max_steps=b"ab"), ["max_steps", "b'ab'"]),
    "random_tabular_case max_states 1": (lambda: S.random_tabular_case(0, max_states=1), ["max_states", "1"]),
    "random_tabular_case concentration 'x'": (lambda: S.random_tabular_case(0, concentration="x"), ["concentration", "'x'"]),
    "backward_success accept 10^400": (lambda: S.backward_success(POLICY, TASK, accept=10**400), ["accept"]),
    "lam_bounds M 10^400": (lambda: S.lam_bounds(10**400), ["M", "401 digits"]),
    "symmetric_accuracy M 10^400": (lambda: S.symmetric_accuracy(10**400, lam=[0.1]), ["M", "2^53"]),
    "pretrained_boundary M 10^400": (lambda: S.pretrained_boundary(10**400), ["M", "401 digits"]),
    "symmetric_task N 10^400": (lambda: S.symmetric_task(4, 10**400), ["N (steps)", "401 digits"]),
    "symmetric_task M*N entries": (lambda: S.symmetric_task(2**40, 2), ["states in all"]),
    "star_trajectory iterations 10^400": (lambda: S.star_trajectory(POLICY, TASK, 10**400), ["iterations", "1000000"]),
    "symmetric_trajectory iterations 10^7": (lambda: S.symmetric_trajectory(4, 10**7, lam=[0.1]), ["iterations", "1000000"]),
    "iterations_to_accuracy max 10^400": (lambda: S.iterations_to_accuracy(4, 0.9, lam=[0.1], max_iterations=10**400), ["max_iterations"]),
    "check_improvement iterations 10^9": (lambda: S.check_improvement(POLICY, TASK, iterations=10**9), ["iterations", "1000000"]),
    "expected_kept_count K 10^400": (lambda: S.expected_kept_count(POLICY, TASK, 10**400), ["chains_per_question"]),
    "prob_no_kept_chain K 10^400": (lambda: S.prob_no_kept_chain(POLICY, TASK, 10**400), ["chains_per_question"]),
    "SampledStep kept > chains": (lambda: S.SampledStep(POLICY, 2, 3, 0, ()), ["kept=3", "n_chains=2"]),
    "SampledStep negative counts": (lambda: S.SampledStep(POLICY, 2, 1, 0, (-np.ones((3, 3)),)), ["counts[0]"]),
}


@pytest.mark.parametrize("name", sorted(API_CASES))
def test_api(case, name):
    fn, fragments = API_CASES[name]
    case(f"api {name}")
    api_error(fn, *fragments)


# ----------------------------------------------------------------------------- API: fuzzed kernels and maps


@st.composite
def bad_kernels(draw):
    """A list of kernels with exactly one defect, and the defect's name and location."""
    n_steps = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 5), min_size=n_steps + 1, max_size=n_steps + 1))
    kernels = []
    for n in range(n_steps):
        k = draw(st.lists(st.lists(st.floats(0.01, 1.0), min_size=sizes[n + 1], max_size=sizes[n + 1]),
                          min_size=sizes[n], max_size=sizes[n]))
        k = np.array(k)
        kernels.append(k / k.sum(axis=1, keepdims=True))
    n = draw(st.integers(0, n_steps - 1))
    r = draw(st.integers(0, sizes[n] - 1))
    c = draw(st.integers(0, sizes[n + 1] - 1))
    defect = draw(st.sampled_from(["negative", "row sum", "nan", "inf", "ndim", "chain"]))
    k = kernels[n].copy()
    if defect == "negative":
        k[r, c] = -draw(st.floats(1e-6, 1e3))
        fragment = f"kernels[{n}][{r}, {c}]="
    elif defect == "row sum":
        k[r, c] += draw(st.sampled_from([-1, 1])) * draw(st.floats(1e-6, 0.9)) * (1 if k[r, c] > 0.9 else -1) ** 0
        k = np.abs(k)
        fragment = f"kernels[{n}] row {r}"
        if abs(k[r].sum() - 1) <= 1e-8 * max(1, k.shape[1]):
            k[r] *= 2
    elif defect in ("nan", "inf"):
        k[r, c] = float(defect) * draw(st.sampled_from([1, -1]))
        fragment = "must be finite"
    elif defect == "ndim":
        k = k.ravel() if draw(st.booleans()) else k[None]
        fragment = f"kernels[{n}]"
    else:  # consecutive kernels that do not chain
        if n_steps == 1:
            kernels.append(np.full((sizes[1] + 1, 2), 0.5))
            n = 1
        else:
            n = 1
            kernels[1] = np.full((sizes[1] + 1, sizes[2]), 1.0 / sizes[2])
        fragment = f"kernels[{n}] has"
        return kernels, defect, fragment
    kernels[n] = k
    return kernels, defect, fragment


@FUZZ
@given(bad=bad_kernels())
def test_fuzzed_bad_kernels(case, bad):
    kernels, defect, fragment = bad
    case("api TabularPolicy " + hashlib.sha1(repr([np.asarray(k).tolist() for k in kernels]).encode()).hexdigest()[:12])
    api_error(lambda: S.TabularPolicy(kernels), fragment)


@st.composite
def maps_outside_their_level(draw):
    n_steps = draw(st.integers(1, 3))
    sizes = draw(st.lists(st.integers(1, 6), min_size=n_steps + 1, max_size=n_steps + 1))
    maps = [draw(st.lists(st.integers(0, sizes[n + 1] - 1), min_size=sizes[n], max_size=sizes[n])) for n in range(n_steps)]
    n = draw(st.integers(0, n_steps - 1))
    s = draw(st.integers(0, sizes[n] - 1))
    maps[n][s] = draw(st.one_of(st.integers(-10**6, -1), st.integers(sizes[n + 1], sizes[n + 1] + 10**6)))
    if n == n_steps - 1:  # the last level's size is final_size (default: max + 1)
        return maps, sizes[-1], (n, s)
    return maps, None, (n, s)


@FUZZ
@given(bad=maps_outside_their_level())
def test_fuzzed_maps_outside_their_level(case, bad):
    maps, final_size, (n, s) = bad
    if final_size is None and any(maps[k][j] < 0 or (k + 1 < len(maps) and maps[k][j] >= len(maps[k + 1]))
                                  for k in range(n) for j in range(len(maps[k]))):
        return  # an earlier defect is reported first
    case(f"api ReasoningTask maps={maps} final_size={final_size}")
    kwargs = {} if final_size is None else {"final_size": final_size}
    msg = api_error(lambda: S.ReasoningTask(maps, **kwargs), "points outside level")
    bad_n, bad_s = map(int, re.search(r"maps\[(\d+)\]\[(\d+)\]", msg).groups())
    assert maps[bad_n][bad_s] == int(re.search(r"=(-?\d+)", msg).group(1))


@FUZZ
@given(M=st.integers(2, 10**6), data=st.data())
def test_fuzzed_lam_and_eps_out_of_range(case, M, data):
    name = data.draw(st.sampled_from(["lam", "eps"]))
    lo, hi = (S.lam_bounds if name == "lam" else S.eps_bounds)(M)
    v = data.draw(st.one_of(st.floats(max_value=lo - 1e-9, allow_nan=False, allow_infinity=False, min_value=-1e300),
                            st.floats(min_value=hi + 1e-9, allow_nan=False, allow_infinity=False, max_value=1e300)))
    N = data.draw(st.integers(1, 4))
    values = [0.0] * N
    values[data.draw(st.integers(0, N - 1))] = v
    fn = data.draw(st.sampled_from(["symmetric_accuracy", "symmetric_star_update", "resolve_lam", "symmetric_trajectory"]))
    case(f"api {fn}(M={M}, {name}={values})")
    call = {
        "symmetric_accuracy": lambda: S.symmetric_accuracy(M, **{name: values}),
        "symmetric_star_update": lambda: S.symmetric_star_update(M, **{name: values}),
        "resolve_lam": lambda: S.resolve_lam(M, N, **{name: values}),
        "symmetric_trajectory": lambda: S.symmetric_trajectory(M, 2, **{name: values}),
    }[fn]
    api_error(call, f"{name}={v!r}")


# ----------------------------------------------------------------------------- corpora


@pytest.fixture(scope="module")
def corpus_text(written) -> str:
    return (written / "corpus.csv").read_text()


def test_every_truncated_corpus_is_rejected(case, corpus_text, tmp_path):
    path = tmp_path / "c.csv"
    for cut in range(len(corpus_text)):
        path.write_text(corpus_text[:cut])
        case(f"api read_corpus truncated at {cut}")
        api_error(lambda: S.read_corpus(path), "c.csv")


def _edit_meta(text: str, fn) -> str:
    first, rest = text.split("\n", 1)
    meta = json.loads(first[2:])
    fn(meta)
    return "# " + json.dumps(meta) + "\n" + rest


def _rows(text: str, fn) -> str:
    lines = text.split("\n")
    return "\n".join(lines[:2] + fn(lines[2:-1]) + [""])


CORPUS_CASES = {
    **{f"no {k}": (lambda t, k=k: _edit_meta(t, lambda m: m.pop(k)), [repr(k)]) for k in
       ("format", "task", "digits", "base", "n_steps", "level_sizes", "lam", "eps", "chains_per_question", "n_questions", "n_chains", "seed")},
    "format": (lambda t: _edit_meta(t, lambda m: m.update(format="rlstar-corpus/9")), ["'rlstar-corpus/9'"]),
    "digits bool": (lambda t: _edit_meta(t, lambda m: m.update(digits=True)), ["digits=True"]),
    "seed negative": (lambda t: _edit_meta(t, lambda m: m.update(seed=-1)), ["seed=-1"]),
    "n_chains string": (lambda t: _edit_meta(t, lambda m: m.update(n_chains="8")), ["n_chains='8'"]),
    "level_sizes short": (lambda t: _edit_meta(t, lambda m: m.update(level_sizes=[4])), ["level_sizes=[4]"]),
    "level_sizes zero": (lambda t: _edit_meta(t, lambda m: m.update(level_sizes=[4, 0])), ["level_sizes=[4, 0]"]),
    "lam short": (lambda t: _edit_meta(t, lambda m: m.update(lam=[])), ["lam=[]"]),
    "eps strings": (lambda t: _edit_meta(t, lambda m: m.update(eps=["a"])), ["eps=['a']"]),
    "n_chains mismatch": (lambda t: _edit_meta(t, lambda m: m.update(n_chains=9)), ["n_chains=9"]),
    "meta not an object": (lambda t: "# [1, 2]\n" + t.split("\n", 1)[1], ["JSON object"]),
    "meta malformed": (lambda t: "# {oops\n" + t.split("\n", 1)[1], ["malformed metadata"]),
    "no metadata line": (lambda t: t.split("\n", 1)[1], ["first line"]),
    "header": (lambda t: t.replace("s0,s1", "a,b", 1), ["header", "'a,b'"]),
    "extra row": (lambda t: t + "0,0\n", ["9 chain rows", "n_chains=8"]),
    "missing row": (lambda t: _rows(t, lambda r: r[:-1]), ["7 chain rows"]),
    "field count": (lambda t: _rows(t, lambda r: r[:3] + ["0,1,2"] + r[4:]), ["line 6", "3 fields"]),
    "not an integer": (lambda t: _rows(t, lambda r: r[:5] + ["0,x"] + r[6:]), ["line 8", "not an integer"]),
    "float field": (lambda t: _rows(t, lambda r: ["1.5,0"] + r[1:]), ["line 3", "not an integer"]),
    "empty field": (lambda t: _rows(t, lambda r: r[:2] + [",0"] + r[3:]), ["line 5", "empty field"]),
    "state outside level": (lambda t: _rows(t, lambda r: r[:2] + ["0,4"] + r[3:]), ["line 5", "s1=4", "size 4"]),
    "negative state": (lambda t: _rows(t, lambda r: r[:1] + ["-1,0"] + r[2:]), ["line 4", "s0=-1"]),
}


@pytest.mark.parametrize("name", sorted(CORPUS_CASES))
def test_corrupted_corpus(case, corpus_text, tmp_path, name):
    edit, fragments = CORPUS_CASES[name]
    path = tmp_path / "c.csv"
    path.write_text(edit(corpus_text))
    case(f"api read_corpus <{name}>")
    api_error(lambda: S.read_corpus(path), "c.csv", *fragments)


def test_corpus_paths(case, written, tmp_path):
    (tmp_path / "bin.csv").write_bytes(b"# \xff\xfe\n")
    for label, path, fragment in [("missing", tmp_path / "none.csv", "none.csv"), ("folder", written / "run", "folder"),
                                  ("not utf-8", tmp_path / "bin.csv", "UTF-8")]:
        case(f"api read_corpus <{label}>")
        api_error(lambda: S.read_corpus(path), fragment)


@FUZZ
@given(pos=st.integers(0, 10**6), char=st.characters(codec="utf-8", exclude_characters="\r"))
def test_fuzzed_corpus_byte_edits_never_fail_otherwise(case, corpus_text, tmp_path_factory, pos, char):
    """One character replaced anywhere: the file still reads as a valid corpus, or InputError."""
    pos %= len(corpus_text)
    text = corpus_text[:pos] + char + corpus_text[pos + 1:]
    path = tmp_path_factory.mktemp("edit") / "c.csv"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        meta, chains = S.read_corpus(path)
    except InputError as exc:
        assert "\n" not in str(exc)
        case(f"api read_corpus edit {pos} {char!r}")
        return
    assert chains.shape == (meta["n_chains"], meta["n_steps"] + 1)


@pytest.mark.parametrize("label, chains, fragment", [
    ("shape", np.zeros((8, 3), int), "shape"),
    ("floats", np.zeros((8, 2)), "float64"),
    ("outside", np.full((8, 2), 4), "outside"),
])
def test_write_corpus_rejects_bad_chains_and_keeps_the_file(case, unchanged, label, chains, fragment):
    case(f"api write_corpus <{label}>")
    meta, _ = S.read_corpus(unchanged / "corpus.csv")
    api_error(lambda: S.write_corpus(unchanged / "corpus.csv", chains, meta), fragment)


# ----------------------------------------------------------------------------- checkpoint folders


def _npz(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def _seed0(written) -> dict:
    with np.load(written / "run" / "seed-0.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


class Payload:
    """Unpickling this would create a file: the proof that nothing is unpickled."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.touch, (Path(self.target),))


def _corrupt_arrays(name):
    def edit(a, w):
        a = dict(a)
        if name == "missing array":
            a.pop("kernel_1")
        elif name == "extra array":
            a["extra"] = np.zeros(2)
        elif name == "kernel shape":
            a["kernel_0"] = np.full((2, 2), 0.5)
        elif name == "kernel not stochastic":
            a["kernel_0"] = a["kernel_0"] * 2
        elif name == "kernel negative":
            k = a["kernel_1"].copy()
            k[0, 0], k[0, 1] = -0.5, k[0, 1] + k[0, 0] + 0.5
            a["kernel_1"] = k
        elif name == "kernel nan":
            k = a["kernel_0"].copy()
            k[1, 1] = np.nan
            a["kernel_0"] = k
        elif name == "accuracy inf":
            a["accuracy"] = np.full_like(a["accuracy"], np.inf)
        elif name == "t_done float":
            a["t_done"] = np.array(2.0)
        elif name == "t_done -1":
            a["t_done"] = np.array(-1)
        elif name == "t_done beyond":
            a["t_done"] = np.array(TINY.iterations + 1)
        elif name == "seed mismatch":
            a["seed"] = np.array(7)
        elif name == "format":
            a["format"] = np.array("other/1")
        elif name == "rng garbage":
            a["rng_state"] = np.array("{not json")
        elif name == "rng other generator":
            a["rng_state"] = np.array(json.dumps(np.random.Generator(np.random.MT19937(0)).bit_generator.state, default=lambda o: o.tolist()))
        elif name == "rng missing keys":
            a["rng_state"] = np.array(json.dumps({"bit_generator": "PCG64"}))
        elif name == "kept shape":
            a["kept"] = np.zeros(TINY.iterations + 2, dtype=np.int64)
        elif name == "pickled object":
            a["kept"] = np.array([Payload(w / "pwned")], dtype=object)
        return a
    return edit


ARRAY_DEFECTS = ["missing array", "extra array", "kernel shape", "kernel not stochastic", "kernel negative", "kernel nan",
                 "accuracy inf", "t_done float", "t_done -1", "t_done beyond", "seed mismatch", "format", "rng garbage",
                 "rng other generator", "rng missing keys", "kept shape", "pickled object"]
FILE_DEFECTS = {
    "run.json missing": lambda f: (f / "run.json").unlink(),
    "run.json malformed": lambda f: (f / "run.json").write_text("{"),
    "run.json format": lambda f: (f / "run.json").write_text(json.dumps({"format": "x", "config": {}})),
    "run.json no config": lambda f: (f / "run.json").write_text(json.dumps({"format": "rlstar-simulate-checkpoint/1"})),
    "run.json not utf-8": lambda f: (f / "run.json").write_bytes(b"\xff\xfe"),
    "run.json folder": lambda f: ((f / "run.json").unlink(), (f / "run.json").mkdir()),
    "seed file empty": lambda f: (f / "seed-1.npz").write_bytes(b""),
    "seed file text": lambda f: (f / "seed-1.npz").write_text("hello"),
    "seed file folder": lambda f: ((f / "seed-1.npz").unlink(), (f / "seed-1.npz").mkdir()),
    "seed file raw pickle": lambda f: (f / "seed-1.npz").write_bytes(pickle.dumps(Payload(f.parent / "pwned"))),
    "seed file npy not npz": lambda f: (f / "seed-1.npz").write_bytes(_npy()),
    "seed file zip of junk": lambda f: (f / "seed-1.npz").write_bytes(_zip_of({"t_done.npy": b"junk"})),
}


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    return buf.getvalue()


def _zip_of(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return buf.getvalue()


@pytest.fixture
def run_copy(written, tmp_path) -> Path:
    """A copy of the finished tiny run (with result.json removed: an interrupted-looking run)."""
    dst = tmp_path / "copy" / "run"
    shutil.copytree(written / "run", dst)
    (dst / "result.json").unlink()
    return dst


def _resume_error(folder: Path, *fragments: str) -> None:
    before = snapshot(folder.parent)
    api_error(lambda: S.simulate(TINY, checkpoint=folder, resume=True), *fragments)
    assert snapshot(folder.parent) == before


@pytest.mark.parametrize("defect", ARRAY_DEFECTS)
def test_corrupted_checkpoint_arrays(case, written, run_copy, defect):
    case(f"api simulate resume <{defect}>")
    atomic_write_bytes(run_copy / "seed-0.npz", _npz(_corrupt_arrays(defect)(_seed0(written), run_copy.parent)))
    _resume_error(run_copy, "seed-0.npz", "corrupted checkpoint")
    assert not (run_copy.parent / "pwned").exists()


@pytest.mark.parametrize("defect", sorted(FILE_DEFECTS))
def test_corrupted_checkpoint_files(case, run_copy, defect):
    case(f"api simulate resume <{defect}>")
    FILE_DEFECTS[defect](run_copy)
    fragment = "run.json" if defect.startswith("run.json") else "seed-1.npz"
    _resume_error(run_copy, fragment)
    assert not (run_copy.parent / "pwned").exists()


@pytest.mark.parametrize("key, value", [("chains_per_question", 5), ("seeds", (0, 2)), ("lam", (0.25,)), ("iterations", 2),
                                        ("variant", "partial-fit"), ("task_seed", 3), ("empty_rows", "smooth"), ("band", "mean-se")])
def test_resume_with_a_different_config(case, run_copy, key, value):
    import dataclasses

    cfg = dataclasses.replace(TINY, **{key: value})
    case(f"api simulate resume config {key}={value!r}")
    before = snapshot(run_copy.parent)
    api_error(lambda: S.simulate(cfg, checkpoint=run_copy, resume=True), "cannot resume", key)
    assert snapshot(run_copy.parent) == before


@FUZZ
@given(cut=st.integers(0, 10**6))
def test_fuzzed_truncated_checkpoints(case, written, tmp_path_factory, cut):
    data = (written / "run" / "seed-1.npz").read_bytes()
    cut %= len(data)
    folder = tmp_path_factory.mktemp("trunc") / "run"
    shutil.copytree(written / "run", folder)
    (folder / "result.json").unlink()
    (folder / "seed-1.npz").write_bytes(data[:cut])
    case(f"api simulate resume seed file truncated at {cut}")
    _resume_error(folder, "seed-1.npz")


@FUZZ
@given(pos=st.integers(0, 10**6), byte=st.integers(0, 255))
def test_fuzzed_byte_flips_in_checkpoints(case, written, tmp_path_factory, pos, byte):
    """A changed byte is caught (zip CRC, headers, validation) or, if harmless, resumes exactly."""
    data = bytearray((written / "run" / "seed-0.npz").read_bytes())
    pos %= len(data)
    if data[pos] == byte:
        return
    data[pos] = byte
    folder = tmp_path_factory.mktemp("flip") / "run"
    shutil.copytree(written / "run", folder)
    reference = (folder / "result.json").read_bytes()
    (folder / "result.json").unlink()
    (folder / "seed-0.npz").write_bytes(bytes(data))
    before = snapshot(folder.parent)
    try:
        S.simulate(TINY, checkpoint=folder, resume=True)
    except InputError as exc:
        assert "\n" not in str(exc) and "seed-0.npz" in str(exc)
        assert snapshot(folder.parent) == before
        case(f"api simulate resume seed file byte {pos}={byte}")
        return
    assert (folder / "result.json").read_bytes() == reference  # a byte the reader never uses (zip metadata)


def test_fresh_run_into_an_existing_run_keeps_it(case, unchanged):
    for label, target in [("finished run", unchanged / "run"), ("file", unchanged / "plainfile")]:
        case(f"api simulate checkpoint into <{label}>")
        api_error(lambda: S.simulate(TINY, checkpoint=target), str(target.name))


# ----------------------------------------------------------------------------- end to end (subprocess)


@pytest.mark.parametrize("argv, fragment", [
    (["simulate", "--K", "0"], "chains_per_question"),
    (["corpus", "--lam", "2", "--out", "{W}/corpus.csv"], "lam"),
    (["simulate", *TINY_ARGS, "--out", "{W}/run", "--resume", "--K", "5"], "chains_per_question=5"),
    (["theory", "--states", "x"], "--states"),
])
def test_end_to_end_exit_2_without_traceback(case, unchanged, argv, fragment):
    case("subprocess " + " ".join(argv))
    proc = subprocess.run([sys.executable, "-m", "star_theory.cli", *fill(argv, unchanged)],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and ONE_LINE_CLI.match(proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr and fragment in proc.stderr

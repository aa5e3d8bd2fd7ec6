"""Issue 20's data-loss cases and issue 23's folder and message consistency, each run as a user would.

* A folder is a command's own only if it carries that command's marker: a folder of files that
  merely carry the command's names is a user's, with every flag.
* ``--overwrite`` removes only what the command wrote; an own sub-folder holding a user's file
  is refused as a whole, before anything is removed.
* Every input is read and validated before anything is replaced; an input inside the folder the
  command may clear is refused.
* ``reproduce`` follows the rule of every other command (``--resume`` for the same preset and
  seed, ``--overwrite`` to replace), and its report covers every result of the run in the folder.
* An output that is a symlink, a device or a pipe is never replaced.
* Temporary files of a killed write are removed by the next holder of the folder's lock.

Every refusal is one line ``rlstar: error: ...``, exit 2, and leaves every byte and mtime as it was.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from star_theory import InputError
from star_theory.cli import build_parser, main
from star_theory.errors import numbers
from star_theory.outputs import MARKER, claim_folder, nested, read_marker
from cli_helpers import one_line_error

FAST = settings(max_examples=40, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
SIM = ["simulate", "--M", "3", "--N", "1", "--K", "2", "--seeds", "0", "--iterations", "1", "--format", "json",
       "--no-progress"]
LLM = ["--pretrain-steps", "1", "--iterations", "1", "--samples-per-question", "2", "--finetune-steps", "1",
       "--no-progress"]
REPRO = ["reproduce", "--preset", "smoke", "--quiet", "--device", "cpu"]


@pytest.fixture
def case(request):
    """``case(key)`` records one bad-input case (counted by ``conftest.py``)."""
    return lambda key: request.node.user_properties.append(("bad_input_case", key))


def snapshot(root: Path) -> dict:
    """Every path under ``root`` with its kind, bytes (files) and mtime (symlinks not followed)."""
    out = {}
    for p in sorted(root.rglob("*")):
        st_ = p.lstat()
        kind = "link" if p.is_symlink() else "dir" if p.is_dir() else "file" if p.is_file() else "other"
        out[str(p.relative_to(root))] = (kind, p.read_bytes() if kind == "file" else None, st_.st_mtime_ns)
    return out


def refused(capsys, argv, root: Path, *fragments) -> str:
    """``rlstar argv`` is refused in one line and nothing under ``root`` changes."""
    before = snapshot(root)
    err = one_line_error(capsys, argv, *fragments)
    assert snapshot(root) == before
    return err


def ok(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


# ----------------------------------------------------------------------------- shared runs


@pytest.fixture(scope="module")
def llm_run(tmp_path_factory) -> Path:
    """A finished ``rlstar llm run`` folder: pretrained/ (a checkpoint) and star/ (iterations 0, 1)."""
    folder = tmp_path_factory.mktemp("llm") / "run"
    assert main(["llm", "run", *LLM, "--out", str(folder)]) == 0
    return folder


@pytest.fixture
def run_copy(llm_run, tmp_path) -> Path:
    dst = tmp_path / "run"
    shutil.copytree(llm_run, dst, symlinks=True)
    record = json.loads((dst / "star" / "run.json").read_text())
    (dst / "star" / "run.json").write_text(json.dumps({**record, "pretrained": str(dst / "pretrained")}))
    return dst


@pytest.fixture(scope="module")
def repro(tmp_path_factory) -> Path:
    """A smoke ``reproduce`` run of one experiment (master seed 0)."""
    folder = tmp_path_factory.mktemp("repro") / "results"
    assert main([*REPRO, "--only", "theory_curves", "--out", str(folder)]) == 0
    return folder


@pytest.fixture
def repro_copy(repro, tmp_path) -> Path:
    dst = tmp_path / "results"
    shutil.copytree(repro, dst)
    return dst


# ----------------------------------------------------------------------------- no legacy exception


def _unmarked(folder: Path, command: str) -> None:
    """A folder without a marker whose entries carry ``command``'s own names (a user's files)."""
    folder.mkdir()
    if command == "reproduce":
        for name in ("manifest.json", "report.md", "report.html"):
            (folder / name).write_text(json.dumps({"mine": name}))
    elif command == "simulate":
        for name in ("run.json", "result.json"):
            (folder / name).write_text(json.dumps({"mine": name}))
    else:
        star = folder / "star" if command == "llm run" else folder
        if command == "llm run":
            (folder / "pretrained").mkdir()
            (folder / "pretrained" / "pretrain.json").write_text(json.dumps({"mine": 1}))
            star.mkdir()
        (star / "run.json").write_text(json.dumps({"mine": 1}))
        (star / "metrics.jsonl").write_text("{}\n")
        (star / "iter_1").mkdir()
        (star / "iter_1" / "notes.txt").write_text("my notes\n")


@pytest.mark.parametrize("flag", [[], ["--resume"], ["--overwrite"]], ids=["no flag", "resume", "overwrite"])
@pytest.mark.parametrize("command", ["reproduce", "simulate", "llm star", "llm run"])
def test_a_folder_without_marker_is_a_users_whatever_its_names(capsys, case, tmp_path, llm_run, command, flag):
    folder = tmp_path / "out"
    _unmarked(folder, command)
    argv = {"reproduce": [*REPRO, "--only", "theory_curves"], "simulate": SIM,
            "llm star": ["llm", "star", *LLM[2:], "--checkpoint", llm_run / "pretrained"],
            "llm run": ["llm", "run", *LLM]}[command]
    refused(capsys, [*argv, "--out", folder, *flag], tmp_path)
    case(f"unmarked folder with own names: {command} {' '.join(flag)}")


# ----------------------------------------------------------------------------- overwrite removes only its own


def test_overwrite_refuses_an_own_subfolder_holding_a_users_file(capsys, case, run_copy):
    for where, named in (("star/iter_001/notes.txt", "star/iter_001/notes.txt"), ("pretrained/notes.txt",) * 2,
                         ("star/iter_000/mine/deep.txt", "star/iter_000/mine")):
        path = run_copy / where
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("mine\n")
        refused(capsys, ["llm", "run", *LLM, "--out", run_copy, "--overwrite"], run_copy.parent, repr(named))
        if where.startswith("star/"):
            refused(capsys, ["llm", "star", *LLM[2:], "--checkpoint", run_copy / "pretrained", "--out",
                             run_copy / "star", "--overwrite"], run_copy.parent)
        path.unlink()
        case(f"llm run --overwrite with a user's {where}")


OWN = ("result.json", *nested("iter_*", ("kept.npy", "metrics.json")), *nested("sub", nested("*", ("a.txt",))))


@FAST
@given(user=st.sampled_from([None, "notes.txt", "iter_001/notes.txt", "sub/x/notes.txt", "sub/notes.txt",
                             "iter_001/deeper/kept.npy"]))
def test_overwrite_removes_exactly_the_own_paths(tmp_path_factory, user):
    """Own paths go; a user's file at the top stays; one inside an own sub-folder refuses the whole."""
    folder = tmp_path_factory.mktemp("claim") / "out"
    with claim_folder(folder, "cmd", own=OWN):
        for rel in ("result.json", "iter_001/kept.npy", "iter_001/metrics.json", "sub/x/a.txt"):
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_text(rel)
    if user is not None:
        (folder / user).parent.mkdir(parents=True, exist_ok=True)
        (folder / user).write_text("mine")
    before = snapshot(folder.parent)
    if user not in (None, "notes.txt"):
        with pytest.raises(InputError, match="nothing was changed"):
            claim_folder(folder, "cmd", own=OWN, overwrite=True)
        assert snapshot(folder.parent) == before
        return
    with claim_folder(folder, "cmd", own=OWN, overwrite=True) as run:
        assert run.fresh
    left = {str(p.relative_to(folder)) for p in folder.rglob("*")}
    assert left == {MARKER, ".rlstar.lock"} | ({user} if user else set())


def test_every_path_an_llm_run_writes_is_its_own(llm_run):
    """The own patterns cover the whole of a real run: --overwrite could replace all of it."""
    from llm.files import OWN_FILES
    from star_theory.outputs import check_claimable

    for command, folder in (("llm run", llm_run), ("llm star", llm_run / "star"), ("llm pretrain", llm_run / "pretrained")):
        check_claimable(folder, command, own=OWN_FILES[command], overwrite=True)


# ----------------------------------------------------------------------------- read, validate, then write


def test_pretrain_overwrite_onto_its_own_input_model(capsys, case, run_copy):
    pre = run_copy / "pretrained"
    refused(capsys, ["llm", "pretrain", "--pretrain-steps", "1", "--no-progress", "--model", pre, "--out", pre,
                     "--overwrite"], run_copy.parent, "--model", "inside the output folder")
    case("llm pretrain --model CKPT --out CKPT --overwrite")


def test_star_overwrite_from_a_checkpoint_inside_the_run(capsys, case, run_copy):
    star = run_copy / "star"
    refused(capsys, ["llm", "star", *LLM[2:], "--checkpoint", star / "iter_001", "--out", star, "--overwrite"],
            run_copy.parent, "--checkpoint", "inside the output folder")
    refused(capsys, ["llm", "run", *LLM, "--model", run_copy / "pretrained", "--out", run_copy, "--overwrite"],
            run_copy.parent, "--model", "inside the output folder")
    case("llm star --checkpoint RUN/iter_001 --out RUN --overwrite")
    case("llm run --model RUN/pretrained --out RUN --overwrite")


def test_a_bad_input_is_refused_before_the_folder_is_cleared(capsys, case, run_copy, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("not a corpus\n")
    refused(capsys, ["llm", "pretrain", "--pretrain-steps", "1", "--no-progress", "--corpus", bad,
                     "--out", run_copy / "pretrained", "--overwrite"], run_copy.parent, "bad.csv")
    refused(capsys, ["llm", "run", *LLM, "--corpus", bad, "--out", run_copy, "--overwrite"], run_copy.parent)
    refused(capsys, ["llm", "star", *LLM[2:], "--checkpoint", tmp_path / "none", "--out", run_copy / "star",
                     "--overwrite"], run_copy.parent)
    refused(capsys, ["llm", "pretrain", "--pretrain-steps", "1", "--no-progress", "--model", tmp_path,
                     "--out", run_copy / "pretrained", "--overwrite"], run_copy.parent)
    for key in ("pretrain --corpus bad --overwrite", "run --corpus bad --overwrite",
                "star --checkpoint missing --overwrite", "pretrain --model not-a-checkpoint --overwrite"):
        case(key)


# ----------------------------------------------------------------------------- reproduce


def test_reproduce_refuses_a_run_of_another_seed_or_without_flags(capsys, case, repro_copy):
    for flags in ([], ["--seed", "1"], ["--seed", "1", "--resume"], ["--preset", "default", "--resume"]):
        argv = ["reproduce", "--quiet", "--only", "theory_curves", "--out", repro_copy, *flags]
        if "--preset" not in flags:
            argv.insert(1, "--preset=smoke")
        refused(capsys, argv, repro_copy.parent)
        case(f"reproduce into a smoke seed-0 run with {' '.join(flags) or 'no flag'}")
    assert read_marker(repro_copy)["config"] == {"preset": "smoke", "master_seed": 0}


def test_reproduce_only_adds_to_a_run_and_never_shrinks_its_report(capsys, repro_copy):
    first = json.loads((repro_copy / "manifest.json").read_text())
    ok(capsys, [*REPRO, "--only", "finite_samples", "--out", repro_copy, "--resume"])
    manifest = json.loads((repro_copy / "manifest.json").read_text())
    assert list(manifest["experiments"]) == ["theory_curves", "finite_samples"]
    results = [json.loads((repro_copy / n / "result.json").read_text()) for n in manifest["experiments"]]
    assert manifest["findings"] == sum(len(r["findings"]) for r in results) > first["findings"]
    md, html = (repro_copy / "report.md").read_text(), (repro_copy / "report.html").read_text()
    assert all(f"(`{n}`)" in md for n in manifest["experiments"])
    assert html.count("data:image/png;base64,") == sum(len(r["figures"]) for r in results)
    assert read_marker(repro_copy)["config"] == {"preset": "smoke", "master_seed": 0}  # the marker stays true
    # a rerun of one of them keeps both in the report, as the experiments reused
    ok(capsys, [*REPRO, "--only", "theory_curves", "--out", repro_copy, "--resume"])
    assert json.loads((repro_copy / "manifest.json").read_text())["experiments"].keys() == manifest["experiments"].keys()


def test_reproduce_overwrite_replaces_only_its_run(capsys, repro_copy):
    assert build_parser(["reproduce"]).parse_args(["reproduce", "--force"]).overwrite  # the old flag, an alias
    (repro_copy / "notes.txt").write_text("mine\n")
    ok(capsys, [*REPRO, "--only", "theory_curves", "--seed", "3", "--out", repro_copy, "--overwrite"])
    assert (repro_copy / "notes.txt").read_text() == "mine\n"
    assert json.loads((repro_copy / "theory_curves" / "result.json").read_text())["master_seed"] == 3
    assert read_marker(repro_copy)["config"] == {"preset": "smoke", "master_seed": 3}


# ----------------------------------------------------------------------------- symlinks, devices, pipes


def _special(path: Path, kind: str, target: Path) -> None:
    if kind == "link":
        path.symlink_to(target)
    else:
        os.mkfifo(path)


@pytest.mark.parametrize("kind", ["link", "fifo"])
@pytest.mark.parametrize("argv", [
    [*SIM, "--out", "{P}.json"], [*SIM, "--plot", "{P}.png"],
    ["corpus", "--digits", "1", "--lam", "0.3", "--chains-per-question", "2", "--out", "{P}.csv"],
    ["phase", "--M", "3", "--points", "3", "--iterations", "2", "--format", "json", "--out", "{P}.json"],
    ["theory", "--iterations", "2", "--plot", "{P}.png"],
], ids=["simulate --out", "simulate --plot", "corpus --out", "phase --out", "theory --plot"])
def test_a_file_output_that_is_a_symlink_or_pipe_is_never_replaced(capsys, case, tmp_path, argv, kind):
    target = tmp_path / "elsewhere.txt"
    target.write_text("a user's file\n")
    argv = [a.replace("{P}", str(tmp_path / "special")) for a in argv]
    path = Path(next(a for a in argv if "special" in a))
    _special(path, kind, target)
    refused(capsys, [*argv, "--overwrite"], tmp_path, "symlink" if kind == "link" else "not a regular file")
    assert path.is_symlink() if kind == "link" else not path.is_file()
    case(f"{argv[0]} output is a {kind}")


@pytest.mark.parametrize("argv", [SIM, [*REPRO, "--only", "theory_curves"], ["llm", "run", *LLM]],
                         ids=["simulate", "reproduce", "llm run"])
@pytest.mark.parametrize("kind", ["link", "fifo"])
def test_a_folder_output_that_is_a_symlink_or_pipe_is_refused(capsys, case, tmp_path, argv, kind):
    real = tmp_path / "real"
    if kind == "link":
        assert main([*SIM, "--out", str(real)]) == 0  # a run the link points at: still never cleared through it
        capsys.readouterr()
    _special(tmp_path / "out", kind, real)
    for flag in ([], ["--overwrite"], ["--resume"]):
        refused(capsys, [*argv, "--out", tmp_path / "out", *flag], tmp_path)
    case(f"{argv[0]} --out folder is a {kind}")


# ----------------------------------------------------------------------------- staging leftovers


def test_the_next_holder_removes_a_killed_writers_leftovers(capsys, run_copy):
    strays = [run_copy / "pretrained" / ".staged.k1ll3d00.tmp", run_copy / "star" / ".iter_002.k1ll3d00.tmp",
              run_copy / "star" / ".metrics.jsonl.k1ll3d00.tmp", run_copy / ".star.k1ll3d00.tmp"]
    for s in strays[:2]:
        s.mkdir()
        (s / "model.safetensors").write_bytes(b"half")
    for s in strays[2:]:
        s.write_text("half")
    ok(capsys, ["llm", "run", *LLM, "--out", run_copy, "--resume"])
    assert not any(os.path.lexists(s) for s in strays)
    (run_copy / "pretrained" / ".staged.k1ll3d01.tmp").mkdir()
    ok(capsys, ["llm", "pretrain", "--pretrain-steps", "1", "--no-progress", "--out", run_copy / "pretrained",
                "--resume"])
    assert not (run_copy / "pretrained" / ".staged.k1ll3d01.tmp").exists()


def test_pretrain_resume_keeps_a_finished_pretraining(capsys, run_copy):
    (run_copy / "pretrained" / ".rlstar.lock").unlink()  # the lock file is opened to be held: not compared
    before = snapshot(run_copy / "pretrained")
    out = json.loads(ok(capsys, ["llm", "pretrain", "--pretrain-steps", "1", "--no-progress",
                                 "--out", run_copy / "pretrained", "--resume"]))
    recorded = json.loads((run_copy / "pretrained" / "pretrain.json").read_text())
    assert out["loss_last"] == recorded["loss_last"]
    (run_copy / "pretrained" / ".rlstar.lock").unlink()
    assert snapshot(run_copy / "pretrained") == before


# ----------------------------------------------------------------------------- one face for every command


@pytest.mark.parametrize("argv", [["simulate", "--M", "x"], ["reproduce", "--preset", "x"], ["phase", "--bogus"],
                                  ["llm", "star", "--bogus"], ["bench", "sampler", "--seed", "x"]])
def test_one_error_prefix(capsys, case, argv):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.startswith("rlstar: error: ") and err.count("\n") == 1, err
    case(f"usage error prefix: {' '.join(argv)}")


@FAST
@given(M=st.integers(3, 10**6))
def test_range_errors_print_rounded_bounds(capsys, M):
    err = one_line_error(capsys, ["theory", "--M", M, "--N", "2", "--lam", "-2", "--iterations", "1"], "lam=-2")
    lo = err.split("[")[1].split(",")[0]
    assert len(lo.lstrip("-").split("e")[0].replace(".", "").lstrip("0")) <= 6  # 6 significant digits
    assert float(lo) == pytest.approx(-1 / (M - 1), rel=1e-5)


@FAST
@given(a=st.floats(-1e6, 1e6), b=st.floats(-1e6, 1e6))
def test_numbers_in_messages_tell_distinct_values_apart(a, b):
    sa, sb = numbers(a, b)
    assert (sa == sb) == (a == b)
    assert float(sa) == pytest.approx(a, rel=1e-5, abs=1e-300)


FOLDER_COMMANDS = [["simulate"], ["reproduce"], ["llm", "pretrain"], ["llm", "star"], ["llm", "run"]]


@pytest.mark.parametrize("words", FOLDER_COMMANDS, ids=" ".join)
def test_every_folder_command_takes_resume_and_overwrite(words):
    parser = build_parser(words)
    sub = parser
    for w in words:
        sub = next(a for a in sub._actions if getattr(a, "choices", None) and w in a.choices).choices[w]
    flags = {o: a for a in sub._actions for o in a.option_strings}
    assert {"--resume", "--overwrite"} <= set(flags)
    assert all(flags[f].help and len(flags[f].help) > 20 for f in ("--resume", "--overwrite"))


@pytest.mark.parametrize("name", ["sampler", "corpus"])
def test_every_bench_option_has_help(name):
    import importlib

    from star_theory.cli import OneLineParser

    parser = OneLineParser(prog=f"rlstar bench {name}")
    importlib.import_module(f"star_theory.benchmarks.{name}").add_arguments(parser)
    missing = [a.option_strings for a in parser._actions if a.option_strings and not a.help]
    assert missing == []

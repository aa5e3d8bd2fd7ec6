"""The one rule for output folders, the lock, and atomic files with long names.

A command writes only into a folder that is new (or empty), or one whose marker names the same
command; replacing a run needs ``overwrite`` and removes only the run's own entries; a second
writer of a locked folder is refused. Every refusal leaves every byte and mtime as it was.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from star_theory import InputError
from star_theory.cli import main
from star_theory.io import write_json
from star_theory.outputs import MARKER, claim_folder
from cli_helpers import one_line_error

FAST = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
SIM = ["simulate", "--M", "3", "--N", "1", "--K", "2", "--seeds", "0", "--iterations", "1", "--format", "json",
       "--no-progress"]


def snapshot(root: Path) -> dict:
    """Every path under ``root`` with its bytes (files) and mtime."""
    out = {}
    for p in sorted(root.rglob("*")):
        st_ = p.lstat()
        out[str(p.relative_to(root))] = (p.read_bytes() if p.is_file() and not p.is_symlink() else None, st_.st_mtime_ns)
    return out




# ----------------------------------------------------------------------------- the rule, as a space of cases

STATES = ("absent", "empty", "user", "own", "other", "file")


def _make(folder: Path, state: str) -> None:
    if state == "absent":
        return
    if state == "file":
        folder.write_text("a user's file\n")
        return
    folder.mkdir()
    if state == "user":
        (folder / "notes.txt").write_text("mine\n")
    if state in ("own", "other"):
        with claim_folder(folder, "cmd" if state == "own" else "another", own=("out.txt",)):
            (folder / "out.txt").write_text("result\n")
        (folder / "notes.txt").write_text("added by the user later\n")


@FAST
@given(state=st.sampled_from(STATES), resume=st.booleans(), overwrite=st.booleans())
def test_claim_follows_the_rule(tmp_path_factory, state, resume, overwrite):
    root = tmp_path_factory.mktemp("claim")
    folder = root / "out"
    _make(folder, state)
    before = snapshot(root)
    allowed = state in ("absent", "empty") or (state == "own" and (resume != overwrite))
    if resume and overwrite:
        allowed = False
    if not allowed:
        with pytest.raises(InputError) as exc:
            claim_folder(folder, "cmd", own=("out.txt",), resume=resume, overwrite=overwrite)
        assert "\n" not in str(exc.value)
        assert snapshot(root) == before  # nothing touched, a file never renamed
        return
    with claim_folder(folder, "cmd", own=("out.txt",), resume=resume, overwrite=overwrite) as run:
        assert (folder / MARKER).is_file()
        assert run.fresh == (state != "own" or overwrite)
        if state == "own":
            assert (folder / "notes.txt").read_text() == "added by the user later\n"  # never one of ours
            assert (folder / "out.txt").exists() == resume  # overwrite removed only the run's own file


def test_a_failed_fresh_claim_leaves_nothing(tmp_path):
    folder = tmp_path / "new" / "out"
    with pytest.raises(RuntimeError):
        with claim_folder(folder, "cmd"):
            raise RuntimeError("the command failed before writing")
    assert not folder.exists()


def test_nul_and_empty_paths_are_refused(tmp_path):
    for bad in ("", f"{tmp_path}/a\x00b", 3.5):
        with pytest.raises(InputError):
            claim_folder(bad, "cmd")
    with pytest.raises(InputError, match="NUL"):
        write_json(f"{tmp_path}/x\x00.json", {})


# ----------------------------------------------------------------------------- the lock


def test_a_second_writer_of_a_locked_folder_is_refused(tmp_path, capsys):
    folder = tmp_path / "run"
    with claim_folder(folder, "simulate", own=("run.json", "result.json", "seed-*.npz")):
        stray = folder / ".seed-0.npz.abc.tmp"
        stray.write_bytes(b"the holder's half-written file")
        before = snapshot(tmp_path)
        one_line_error(capsys, [*SIM, "--out", folder, "--overwrite"], "in use")
        one_line_error(capsys, [*SIM, "--out", folder, "--resume"], "in use")
        assert snapshot(tmp_path) == before  # the holder's temporary file was not removed as a stray
    assert main([*SIM, "--out", str(folder)]) == 0  # released: the folder is free (and only held a marker)
    capsys.readouterr()
    assert not stray.exists()  # the new holder of the lock removed the stray


def test_lock_is_held_across_processes(tmp_path):
    import subprocess
    import sys

    folder = tmp_path / "run"
    code = ("import sys, time; from star_theory.outputs import claim_folder\n"
            f"c = claim_folder({str(folder)!r}, 'simulate'); print('held', flush=True); sys.stdin.read()")
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(InputError, match="in use"):
            claim_folder(folder, "simulate", resume=True)
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
    with claim_folder(folder, "simulate", resume=True):
        pass


# ----------------------------------------------------------------------------- commands follow it


@pytest.mark.parametrize("argv", [
    SIM + ["--out", "{F}"],
    ["reproduce", "--only", "theory_curves", "--preset", "smoke", "--quiet", "--out", "{F}"],
    ["llm", "pretrain", "--pretrain-steps", "1", "--no-progress", "--out", "{F}"],
    ["llm", "run", "--pretrain-steps", "1", "--no-progress", "--out", "{F}"],
])
@pytest.mark.parametrize("state", ["user", "file"])
def test_commands_refuse_a_folder_that_is_not_theirs(tmp_path, capsys, argv, state):
    folder = tmp_path / "out"
    _make(folder, state)
    before = snapshot(tmp_path)
    one_line_error(capsys, [a.replace("{F}", str(folder)) for a in argv], "out")
    assert snapshot(tmp_path) == before


def test_star_refuses_a_user_folder_before_loading_anything(tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("x")
    before = snapshot(tmp_path)
    one_line_error(capsys, ["llm", "star", "--checkpoint", tmp_path / "none", "--out", tmp_path / "out",
                            "--no-progress"])
    assert snapshot(tmp_path) == before


def test_simulate_overwrite_replaces_only_its_own_files(tmp_path, capsys):
    folder = tmp_path / "run"
    assert main([*SIM, "--out", str(folder)]) == 0
    capsys.readouterr()
    first = (folder / "result.json").read_bytes()
    (folder / "notes.txt").write_text("mine")
    one_line_error(capsys, [*SIM, "--out", folder], "already holds", "--overwrite")
    assert main([*SIM, "--out", str(folder), "--overwrite"]) == 0
    capsys.readouterr()
    assert (folder / "notes.txt").read_text() == "mine" and (folder / "result.json").read_bytes() == first


# ----------------------------------------------------------------------------- long names


@pytest.mark.parametrize("length", [241, 250, 255])
def test_a_long_file_name_is_written(tmp_path, length):
    """A temporary name never exceeds NAME_MAX (255 bytes), whatever the target's valid name."""
    name = "r" * (length - 5) + ".json"
    write_json(tmp_path / name, {"ok": 1})
    assert (tmp_path / name).read_text().strip().endswith("}")
    assert [p.name for p in tmp_path.iterdir()] == [name]


def test_a_long_name_with_multibyte_characters(tmp_path):
    name = "é" * 120 + ".json"  # 245 bytes
    write_json(tmp_path / name, [1])
    assert [p.name for p in tmp_path.iterdir()] == [name]


# ----------------------------------------------------------------------------- single output files

FILE_WRITERS = [
    ["corpus", "--digits", "1", "--lam", "0.3", "--chains-per-question", "2", "--out", "{F}"],
    [*SIM, "--out", "{F}.json"],
    ["phase", "--M", "3", "--points", "3", "--iterations", "2", "--format", "json", "--out", "{F}.json"],
    ["theory", "--iterations", "2", "--plot", "{F}.png"],
]


@pytest.mark.parametrize("argv", FILE_WRITERS, ids=lambda a: a[0])
def test_an_existing_file_is_replaced_only_with_overwrite(tmp_path, capsys, argv):
    argv = [a.replace("{F}", str(tmp_path / "mine")) for a in argv]
    target = Path(next(a for a in argv if str(tmp_path) in a))
    target.write_text("a user's file\n")
    before = snapshot(tmp_path)
    one_line_error(capsys, argv, "already exists", "--overwrite")
    assert snapshot(tmp_path) == before
    assert main(argv + ["--overwrite"]) == 0
    capsys.readouterr()
    assert target.read_bytes() != b"a user's file\n"
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temporary file left beside it

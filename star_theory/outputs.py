"""One rule for output folders: write only into a folder that is new or recognisably our own.

Every command that writes a run folder (``rlstar simulate --out DIR``, ``rlstar reproduce``,
``rlstar llm pretrain|star|run``) claims it with :func:`claim_folder` before it writes anything:

* a path that does not exist, or an empty folder, is a *new* folder: it is created and a marker
  file ``.rlstar-run.json`` naming the command (and its config) is written into it;
* a folder whose marker names the same command is the command's *own*: it is continued with
  ``resume`` (the command then checks the recorded config), replaced with ``overwrite`` (only the
  entries the command writes, its ``own`` patterns, are removed; anything else stays), and
  refused otherwise;
* a folder written before markers existed is recognised as the command's own when every entry
  has one of its own names and its record file (``signature``) is a readable JSON object;
* anything else (a file, a folder of someone else's files, a folder of another command) is
  refused with a one-line :class:`~star_theory.errors.InputError` and nothing is touched; a file
  is never renamed or replaced by a folder.

A single output file (``--out FILE.json``, ``--plot FILE.png``, ``rlstar corpus --out``) follows
the same rule through :func:`check_output_file`: it must be new, or ``--overwrite`` is given to
replace it; a folder is never replaced by a file.

The claimed folder is locked (``fcntl.flock`` on ``.rlstar.lock`` inside it) until the claim is
released (``with claim_folder(...)``): a second writer of the same folder is refused, and only
the holder of the lock removes stray temporary files of a killed write.
"""

from __future__ import annotations

import fcntl
import fnmatch
import json
import os
import shutil
from pathlib import Path
from typing import Iterable

from .errors import InputError
from .io import check_path, write_json

MARKER = ".rlstar-run.json"
LOCK = ".rlstar.lock"
MARKER_FORMAT = "rlstar-run/1"


def read_marker(folder: Path) -> dict | None:
    """The marker of ``folder`` (``None`` when there is none); a malformed one is an error."""
    path = folder / MARKER
    if not path.is_file():
        return None
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        raise InputError(f"{str(path)!r}: unreadable run marker") from None
    if not isinstance(meta, dict) or meta.get("format") != MARKER_FORMAT or not isinstance(meta.get("command"), str):
        raise InputError(f"{str(path)!r}: not an rlstar run marker ({MARKER_FORMAT})")
    return meta


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink(missing_ok=True)


class RunFolder:
    """A claimed output folder; holds its lock until :meth:`release` (or the ``with`` block ends).

    ``fresh`` tells whether the folder held no run of the command when it was claimed.
    """

    def __init__(self, path: Path, command: str, fd: int, fresh: bool, created: bool):
        self.path, self.command, self._fd, self.fresh, self._created = path, command, fd, fresh, created

    def _undo_if_unused(self) -> None:
        """A fresh claim whose command failed before writing anything leaves nothing behind."""
        if self.fresh and self._fd is not None and not _run_entries(self.path):
            (self.path / MARKER).unlink(missing_ok=True)
            if self._created:
                (self.path / LOCK).unlink(missing_ok=True)
                try:
                    self.path.rmdir()
                except OSError:
                    pass

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is not None:
            self._undo_if_unused()
        self.release()

    def __del__(self):  # a claim dropped without release() still frees its lock
        try:
            self.release()
        except Exception:
            pass

    def remove_strays(self, patterns: Iterable[str] = (".*.tmp",)) -> None:
        """Remove temporary files a killed write left (only the lock's holder may)."""
        if self._fd is None:
            raise RuntimeError("remove_strays needs the folder's lock")
        for pattern in patterns:
            for stray in self.path.glob(pattern):
                _remove(stray)


def write_marker(folder: Path, command: str, config) -> None:
    """Write the marker naming ``command`` (and its ``config``) into ``folder``."""
    write_json(folder / MARKER, {"format": MARKER_FORMAT, "command": command, "config": config})


def _legacy_run(folder: Path, own: Iterable[str], signature: str | None) -> bool:
    """A folder every entry of which has one of the command's own names, with a readable
    ``signature`` record: a run of the command written before markers existed."""
    if signature is None or not (folder / signature).is_file():
        return False
    try:
        if not isinstance(json.loads((folder / signature).read_text(encoding="utf-8")), dict):
            return False
    except (OSError, ValueError, RecursionError):
        return False
    patterns = (*own, ".*.tmp", LOCK)
    return all(any(fnmatch.fnmatchcase(e, p) for p in patterns) for e in os.listdir(folder))


def _run_entries(folder: Path) -> list[str]:
    """Entries of ``folder`` other than the marker, the lock and temporary files."""
    return [e for e in os.listdir(folder) if e not in (MARKER, LOCK) and not (e.startswith(".") and e.endswith(".tmp"))]


def _lock(folder: Path) -> int:
    fd = os.open(folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise InputError(f"output folder {str(folder)!r} is in use by another rlstar process (locked)") from None
    return fd


def _check_claimable(folder: Path, command: str, own: Iterable[str], signature: str | None, resume: bool,
                     overwrite: bool, require_run: bool) -> None:
    """Refuse, before anything is created or locked, a ``folder`` that ``command`` may not claim."""
    if resume and overwrite:
        raise InputError("give --resume or --overwrite, not both")
    if resume and require_run and not folder.exists():
        raise InputError(f"output folder not found: {str(folder)!r} (nothing to resume)")
    if resume and require_run and folder.is_dir() and not (folder / MARKER).is_file() \
            and not _legacy_run(folder, own, signature):
        raise InputError(f"{str(folder)!r} holds no 'rlstar {command}' run to resume")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"output folder {str(folder)!r} is a file, not a folder; nothing was changed")
    if folder.is_dir():
        marker = read_marker(folder)
        if marker is None and _legacy_run(folder, own, signature):
            marker = {"command": command}  # a run written before markers existed: its own, by every name
        if marker is None and any(e not in (LOCK,) for e in os.listdir(folder)):
            raise InputError(f"output folder {str(folder)!r} holds files that no rlstar {command} run wrote; "
                             "choose a new or empty folder (nothing was changed)")
        if marker is not None and marker["command"] != command:
            raise InputError(f"output folder {str(folder)!r} holds a run of 'rlstar {marker['command']}', "
                             f"not of 'rlstar {command}'; choose another folder")


def _claim_locked(folder: Path, command: str, own: Iterable[str], config, resume: bool, overwrite: bool,
                  can_resume: bool, signature: str | None) -> bool:
    """Under the folder's lock: check again, clear it for ``overwrite``, write the marker; True if fresh."""
    marker = read_marker(folder)  # again, under the lock: another process may have claimed it meanwhile
    if marker is None and _legacy_run(folder, own, signature):
        write_marker(folder, command, config)
        marker = {"command": command}
    if marker is not None and marker["command"] != command:
        raise InputError(f"output folder {str(folder)!r} holds a run of 'rlstar {marker['command']}'")
    fresh = marker is None or not _run_entries(folder)
    if not fresh and not resume:
        if not overwrite:
            how = "--resume to continue it or --overwrite to replace it" if can_resume else "--overwrite to replace it"
            raise InputError(f"output folder {str(folder)!r} already holds a previous 'rlstar {command}' run; "
                             f"pass {how}")
        for pattern in (*own, ".*.tmp"):
            for entry in folder.glob(pattern):
                if entry.name not in (MARKER, LOCK):
                    _remove(entry)
        fresh = True
    if fresh:
        write_marker(folder, command, config)
    return fresh


def claim_folder(path, command: str, *, own: Iterable[str] = (), config=None, resume: bool = False,
                 overwrite: bool = False, require_run: bool = False, can_resume: bool = True,
                 signature: str | None = None) -> RunFolder:
    """Claim ``path`` as the output folder of ``command`` (see the module docstring).

    ``own``: glob patterns of the entries ``command`` writes (removed by ``overwrite``, with the
    temporary files of killed writes). ``config``: a JSON-ready record written into the marker of
    a new folder. ``require_run``: with ``resume``, a folder without a run of ``command`` is
    refused (nothing to resume) instead of started afresh. ``can_resume``: whether the command
    has ``--resume`` (for the message). A claimed folder in which the run wrote nothing yet is
    claimed afresh; a fresh claim left by an exception is undone when nothing was written.
    ``signature``: the record file (a JSON object) by which a run written before markers existed
    is recognised, when every entry of its folder is one of ``own``.
    """
    folder = check_path(path, "output folder")
    _check_claimable(folder, command, own, signature, resume, overwrite, require_run)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    fd = _lock(folder)
    try:
        fresh = _claim_locked(folder, command, own, config, resume, overwrite, can_resume, signature)
    except BaseException:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
        raise
    return RunFolder(folder, command, fd, fresh, created)


def check_output_file(path, overwrite: bool = False, what: str = "output file") -> Path:
    """``path`` for a result file: new, or an existing file replaced only with ``overwrite``."""
    target = check_path(path, what)
    if target.is_dir():
        raise InputError(f"{what} {str(target)!r} is a folder, not a file; nothing was changed")
    if target.exists() and not overwrite:
        raise InputError(f"{what} {str(target)!r} already exists; pass --overwrite to replace it (nothing was changed)")
    return target

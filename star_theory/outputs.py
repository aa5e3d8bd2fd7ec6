"""One rule for output folders: write only into a folder that is new or carries the command's marker.

Every command that writes a run folder (``rlstar simulate --out DIR``, ``rlstar reproduce``,
``rlstar llm pretrain|star|run``) claims it with :func:`claim_folder` before it writes anything:

* a path that does not exist, or an empty folder, is a *new* folder: it is created and a marker
  file ``.rlstar-run.json`` naming the command (and its config) is written into it;
* a folder whose marker names the same command is the command's *own*, and nothing else is (a
  folder without a marker is a user's, whatever its files are called): it is continued with
  ``resume`` (the recorded ``resume_keys`` of the config must be equal), replaced with
  ``overwrite``, and refused otherwise;
* ``overwrite`` removes only the command's own entries: those whose path inside the folder
  matches one of its ``own`` patterns (component by component: ``iter_*/kept.npy``), with the
  markers, locks and temporary files of its writes. An own sub-folder holding anything else (a
  user's notes in ``iter_001/``) is refused as a whole before anything is removed;
* anything else (a file, a symlink, a device, a folder of someone else's files, a folder of
  another command) is refused with a one-line :class:`~star_theory.errors.InputError` and nothing
  is touched; a file is never renamed or replaced by a folder.

A single output file (``--out FILE.json``, ``--plot FILE.png``, ``rlstar corpus --out``) follows
the same rule through :func:`check_output_file`: it must be new, or a regular file replaced with
``--overwrite``; a folder, a symlink or a device is never replaced. Inputs are read and validated
before the output is claimed, and an input inside a folder the command may clear is refused
(:func:`check_inputs_outside`).

The claimed folder is locked (``filelock`` on ``.rlstar.lock`` inside it, portable) until the
claim is released (``with claim_folder(...)``): a second writer of the same folder is refused,
and the holder of the lock removes the temporary files a killed write left (``.NAME.XXXXXXXX.tmp``
in the folder and its own sub-folders) when it claims the folder.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
from pathlib import Path
from typing import Any, Iterable

from .errors import InputError
from .io import STRAY, check_path, read_json, write_json

MARKER = ".rlstar-run.json"
LOCK = ".rlstar.lock"
MARKER_FORMAT = "rlstar-run/1"
MAX_MARKER_BYTES = 1 << 20  # a marker holds a command name and its config: far below this


def read_marker(folder: Path) -> dict | None:
    """The marker of ``folder`` (``None`` when there is none); a malformed one is an error."""
    path = Path(folder) / MARKER
    if not path.is_file():
        return None
    try:
        meta = read_json(path, "run marker", max_bytes=MAX_MARKER_BYTES, kind=None)  # size-capped
    except InputError as exc:
        raise InputError(f"{str(path)!r}: unreadable run marker ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != MARKER_FORMAT or not isinstance(meta.get("command"), str):
        raise InputError(f"{str(path)!r}: not an rlstar run marker ({MARKER_FORMAT})")
    return meta


def write_marker(folder: Path, command: str, config: Any) -> None:
    """Write the marker naming ``command`` (and its ``config``) into ``folder``."""
    write_json(Path(folder) / MARKER, {"format": MARKER_FORMAT, "command": command, "config": config})


def nested(prefix: str, patterns: Iterable[str]) -> tuple[str, ...]:
    """Own patterns of a sub-folder ``prefix`` (``prefix/``: a folder only) holding entries named by ``patterns``."""
    return (f"{prefix}/", *(f"{prefix}/{p}" for p in patterns))


# ----------------------------------------------------------------------------- own entries


def _split(patterns: Iterable[str]) -> list[tuple[tuple[str, ...], bool]]:
    """Each pattern as its path components and whether it names a folder only (a trailing ``/``)."""
    return [(tuple(p.rstrip("/").split("/")), p.endswith("/")) for p in patterns]


def _is_own(parts: tuple[str, ...], own: list, is_dir: bool) -> bool:
    """Whether the entry at relative path ``parts`` is one the command writes (markers, locks and
    temporary files of its writes are, in every own folder)."""
    if parts[-1] in (MARKER, LOCK) or fnmatch.fnmatchcase(parts[-1], STRAY):
        return True
    return any(len(p) == len(parts) and (is_dir or not dir_only) and all(fnmatch.fnmatchcase(a, b) for a, b in zip(parts, p))
               for p, dir_only in own)


def _is_dir(entry: Path) -> bool:
    return entry.is_dir() and not entry.is_symlink()


def _foreign(folder: Path, parts: tuple[str, ...], own: list) -> list[str]:
    """Entries under the own sub-folder ``folder`` (at ``parts``) that the command does not write."""
    found = []
    for name in sorted(os.listdir(folder)):
        sub = (*parts, name)
        if not _is_own(sub, own, _is_dir(folder / name)):
            found.append("/".join(sub))
        elif _is_dir(folder / name):
            found += _foreign(folder / name, sub, own)
    return found


def _own_entries(folder: Path, own: list) -> list[str]:
    """Top-level entries of ``folder`` written by the command (not the marker, lock or temporary files)."""
    return [e for e in sorted(os.listdir(folder))
            if e not in (MARKER, LOCK) and not fnmatch.fnmatchcase(e, STRAY) and _is_own((e,), own, _is_dir(folder / e))]


def _remove(entry: Path) -> None:
    if _is_dir(entry):
        shutil.rmtree(entry)
    else:
        entry.unlink(missing_ok=True)


def _remove_strays(folder: Path, own: list, parts: tuple[str, ...] = ()) -> None:
    """Remove the temporary files of killed writes in ``folder`` and its own sub-folders; a
    sub-folder claimed and locked by another process is left to its holder."""
    for name in os.listdir(folder):
        entry = folder / name
        if fnmatch.fnmatchcase(name, STRAY):
            _remove(entry)
        elif _is_dir(entry) and _is_own((*parts, name), own, True):
            if (entry / LOCK).exists():
                try:
                    lock = _lock(entry)
                except InputError:  # held by another process: its holder cleans it
                    continue
                try:
                    _remove_strays(entry, own, (*parts, name))
                finally:
                    lock.release()
            else:
                _remove_strays(entry, own, (*parts, name))


# ----------------------------------------------------------------------------- the claim


def _check_kind(folder: Path) -> None:
    """A path that is a symlink, a device or a file is never taken as an output folder."""
    if folder.is_symlink():
        raise InputError(f"output folder {str(folder)!r} is a symlink; give the real folder (nothing was changed)")
    if folder.exists() and not folder.is_dir():
        what = "a file" if folder.is_file() else "not a regular folder (a device, socket or pipe)"
        raise InputError(f"output folder {str(folder)!r} is {what}, not a folder; nothing was changed")


class RunFolder:
    """A claimed output folder; holds its lock until :meth:`release` (or the ``with`` block ends).

    ``fresh`` tells whether the folder held no run of the command when it was claimed.
    """

    def __init__(self, path: Path, command: str, lock, fresh: bool, created: bool,
                 own: list):
        self.path, self.command, self._lock, self.fresh, self._created = path, command, lock, fresh, created
        self._own = own

    def _undo_if_unused(self) -> None:
        """A fresh claim whose command failed before writing anything leaves nothing behind."""
        if self.fresh and self._lock is not None and not _own_entries(self.path, self._own):
            (self.path / MARKER).unlink(missing_ok=True)
            if self._created:
                (self.path / LOCK).unlink(missing_ok=True)
                try:
                    self.path.rmdir()
                except OSError:
                    pass

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release(force=True)
            self._lock = None

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

    def remove_strays(self) -> None:
        """Remove temporary files a killed write left (only the lock's holder may)."""
        if self._lock is None:
            raise RuntimeError("remove_strays needs the folder's lock")
        _remove_strays(self.path, self._own)


def _lock(folder: Path):
    """The held ``filelock.FileLock`` of ``folder`` (refused at once when another process holds it)."""
    from filelock import FileLock, Timeout  # 50 ms to import: only when a folder is claimed

    lock = FileLock(str(folder / LOCK), timeout=0, is_singleton=False, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        raise InputError(f"output folder {str(folder)!r} is in use by another rlstar process (locked)") from None
    return lock


def _differences(marker: dict, config, keys: Iterable[str]) -> list[str]:
    recorded = marker["config"] if isinstance(marker.get("config"), dict) else {}
    given = config if isinstance(config, dict) else {}
    return [f"{k}={recorded.get(k)!r} (given {given.get(k)!r})" for k in keys if recorded.get(k) != given.get(k)]


def check_claimable(path: str | os.PathLike, command: str, *, own: Iterable[str] = (), config: Any = None,
                    resume: bool = False,
                    overwrite: bool = False, require_run: bool = False, can_resume: bool = True,
                    resume_keys: Iterable[str] = ()) -> Path:
    """Refuse, before anything is created, locked or read, a folder ``command`` may not claim (see
    :func:`claim_folder`); returns the folder's path. Commands call it before reading their inputs."""
    folder = check_path(path, "output folder")
    patterns = _split(own)
    if resume and overwrite:
        raise InputError("give --resume or --overwrite, not both")
    _check_kind(folder)
    if resume and require_run and not folder.exists():
        raise InputError(f"output folder not found: {str(folder)!r} (nothing to resume)")
    if not folder.is_dir():
        return folder
    marker = read_marker(folder)
    if marker is None:
        if resume and require_run:
            raise InputError(f"{str(folder)!r} holds no 'rlstar {command}' run to resume (no rlstar marker)")
        if any(e != LOCK for e in os.listdir(folder)):
            raise InputError(f"output folder {str(folder)!r} holds files that 'rlstar {command}' did not write (it has "
                             "no rlstar marker); choose a new or empty folder (nothing was changed)")
        return folder
    if marker["command"] != command:
        raise InputError(f"output folder {str(folder)!r} holds a run of 'rlstar {marker['command']}', "
                         f"not of 'rlstar {command}'; choose another folder")
    if not resume and not overwrite and _own_entries(folder, patterns):
        how = "--resume to continue it or --overwrite to replace it" if can_resume else "--overwrite to replace it"
        raise InputError(f"output folder {str(folder)!r} already holds a previous 'rlstar {command}' run; pass {how}")
    if resume and _own_entries(folder, patterns):
        diffs = _differences(marker, config, resume_keys)
        if diffs:
            raise InputError(f"cannot resume {str(folder)!r}: it holds a run with {', '.join(diffs)}; pass "
                             "--overwrite to replace it or choose another folder (nothing was changed)")
    if overwrite:
        foreign = [f for e in _own_entries(folder, patterns) if _is_dir(folder / e)
                   for f in _foreign(folder / e, (e,), patterns)]
        if foreign:
            more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
            raise InputError(f"output folder {str(folder)!r} holds {foreign[0]!r}{more}, which 'rlstar {command}' "
                             "did not write, inside a folder --overwrite would replace; move it out first "
                             "(nothing was changed)")
    return folder


def _claim_locked(folder: Path, command: str, own: list, config, resume: bool, overwrite: bool) -> bool:
    """Under the folder's lock, after :func:`check_claimable`: clear strays, clear the run for
    ``overwrite``, write the marker; True if fresh."""
    marker = read_marker(folder)
    fresh = marker is None or not _own_entries(folder, own)
    if not fresh and not resume and overwrite:
        for entry in _own_entries(folder, own):
            _remove(folder / entry)
        fresh = True
    _remove_strays(folder, own)
    if fresh:
        write_marker(folder, command, config)
    return fresh


def claim_folder(path: str | os.PathLike, command: str, *, own: Iterable[str] = (), config: Any = None,
                 resume: bool = False,
                 overwrite: bool = False, require_run: bool = False, can_resume: bool = True,
                 resume_keys: Iterable[str] = ()) -> RunFolder:
    """Claim ``path`` as the output folder of ``command`` (see the module docstring).

    ``own``: patterns of the paths ``command`` writes inside the folder (``iter_*/`` a folder,
    ``iter_*/kept.npy``; see :func:`nested`); ``overwrite`` removes these and nothing else.
    ``config``: a JSON-ready record written into the marker of a new folder. ``require_run``:
    with ``resume``, a folder without a run of ``command`` is refused (nothing to resume) instead
    of started afresh. ``can_resume``: whether the command has ``--resume`` (for the message).
    ``resume_keys``: fields of ``config`` a resumed run must share with the recorded one. A
    claimed folder in which the run wrote nothing yet is claimed afresh; a fresh claim left by an
    exception is undone when nothing was written.
    """
    own = tuple(own)
    folder = check_claimable(path, command, own=own, config=config, resume=resume, overwrite=overwrite,
                             require_run=require_run, can_resume=can_resume, resume_keys=resume_keys)
    created = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    lock = _lock(folder)
    try:  # again, under the lock: another process may have changed the folder meanwhile
        check_claimable(folder, command, own=own, config=config, resume=resume, overwrite=overwrite,
                        require_run=require_run, can_resume=can_resume, resume_keys=resume_keys)
        fresh = _claim_locked(folder, command, _split(own), config, resume, overwrite)
    except BaseException:
        lock.release(force=True)
        raise
    return RunFolder(folder, command, lock, fresh, created, _split(own))


def check_inputs_outside(out: str | os.PathLike, inputs: dict) -> None:
    """Refuse an input (``{flag: path}``; ``None`` skipped) that lies in the output folder ``out``
    or inside it: the command may replace what it reads there (``--overwrite``, a rerun)."""
    folder = Path(os.path.abspath(check_path(out, "output folder")))
    real = Path(os.path.realpath(folder))
    for flag, path in inputs.items():
        if path is None or not os.path.exists(path):
            continue
        p = Path(os.path.realpath(path))
        if p == real or real in p.parents:
            raise InputError(f"{flag} {os.fspath(path)!r} lies inside the output folder {str(out)!r}, which the "
                             "command may clear; copy it elsewhere or choose another output (nothing was changed)")


def check_output_file(path: str | os.PathLike, overwrite: bool = False, what: str = "output file") -> Path:
    """``path`` for a result file: new, or an existing regular file replaced only with ``overwrite``
    (a folder, a symlink, a device or a pipe is never replaced)."""
    target = check_path(path, what)
    if target.is_symlink():
        raise InputError(f"{what} {str(target)!r} is a symlink; give the real path (nothing was changed)")
    if target.is_dir():
        raise InputError(f"{what} {str(target)!r} is a folder, not a file; nothing was changed")
    if target.exists() and not stat.S_ISREG(target.stat().st_mode):
        raise InputError(f"{what} {str(target)!r} is not a regular file (a device, socket or pipe); nothing was changed")
    if target.exists() and not overwrite:
        raise InputError(f"{what} {str(target)!r} already exists; pass --overwrite to replace it (nothing was changed)")
    return target

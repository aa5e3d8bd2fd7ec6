"""Atomic file writing, the output-path check and JSON helpers shared by every command that writes results.

This module sits below :mod:`star_theory.outputs` (the output-folder rule), which imports from it.

A result file is either absent or complete: each writer writes to a temporary file in the same
folder, flushes and fsyncs it, then renames it over the target (``os.replace`` is atomic on
POSIX and Windows). A crash mid-write leaves at most a stray ``.*.tmp`` file, never a truncated
result under the real name.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError


def check_path(path, what: str = "output path") -> Path:
    """``path`` as a :class:`Path`; a non-path, empty path or one holding a NUL byte is refused."""
    try:
        text = os.fspath(path)
    except TypeError:
        raise InputError(f"{what} must be a path, got {path!r}") from None
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text == "":
        raise InputError(f"{what} must not be empty")
    if "\x00" in text:
        raise InputError(f"{what} {text!r} holds a NUL byte")
    return Path(text)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def default_mode(directory: bool = False) -> int:
    """Permissions a plain ``open``/``mkdir`` would give under the current umask (temporary files
    and folders are created private, 0600/0700; results must not stay so)."""
    return (0o777 if directory else 0o666) & ~_umask()


#: names of the temporary files and folders of an atomic write: ``.NAME.XXXXXXXX.tmp`` (``tempfile``'s
#: 8 random characters); what a killed write leaves behind
STRAY = ".*.????????.tmp"

#: bytes of the target's name kept in a temporary name: "." + name + "." + 8 random + ".tmp" must
#: stay within NAME_MAX (255 bytes) for every target name that is itself valid.
TEMP_NAME_BYTES = 200


def temp_prefix(name: str) -> str:
    """``.NAME`` for a temporary file beside ``name``, with ``NAME`` cut to fit NAME_MAX."""
    return "." + os.fsdecode(os.fsencode(name)[:TEMP_NAME_BYTES])


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename)."""
    path = check_path(path)
    if path.is_symlink() or (path.exists() and not path.is_file()):
        what = "a symlink" if path.is_symlink() else "a folder" if path.is_dir() else "not a regular file"
        raise InputError(f"output path {str(path)!r} is {what}, not a file; nothing was changed")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name) + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fchmod(fh.fileno(), default_mode())
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays, tuples, paths and dataclasses to plain JSON values."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "iub":
            return obj.tolist()  # plain ints and bools, no element needs a look
        if obj.dtype.kind == "f":  # vectorised: non-finite entries become None
            finite = np.isfinite(obj)
            if finite.all():
                return obj.astype(float).tolist()
            out = obj.astype(object)
            out[~finite] = None
            return out.tolist()
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, Path):
        return str(obj)
    return obj


def dumps_json(obj: Any, indent: int | None = 2) -> str:
    """JSON text of ``obj`` after :func:`to_jsonable` (non-finite floats become ``null``)."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically."""
    return atomic_write_text(path, dumps_json(obj) + "\n")


#: the largest JSON record any command reads (task.json, run.json, config.json, manifest.json,
#: result.json, metrics): larger files are refused before they are read into memory
MAX_JSON_BYTES = 64 << 20


def _reject_constant(name):
    raise ValueError(f"non-finite number {name}")


def read_json(path: str | os.PathLike, what: str, max_bytes: int = MAX_JSON_BYTES, kind: type | None = dict) -> Any:
    """The JSON value in ``path`` (a ``kind`` when given: an object by default), read with a size cap.

    Missing, oversized, unreadable, malformed files and ``NaN``/``Infinity`` constants are refused
    in one line naming ``what``; nothing larger than ``max_bytes`` is read into memory.
    """
    path = check_path(path, what)
    where = repr(os.fspath(path))
    try:
        with open(path, "rb") as fh:
            if not os.path.isfile(path):
                raise InputError(f"{what} {where} is not a regular file")
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {where}") from None
    except IsADirectoryError:
        raise InputError(f"{what} {where} is a folder, not a file") from None
    except OSError as exc:
        raise InputError(f"{what} {where} is unreadable ({type(exc).__name__})") from None
    if len(data) > max_bytes:
        raise InputError(f"{what} {where} is larger than {max_bytes} bytes; refusing to read it")
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InputError(f"{what} {where} is corrupted ({type(exc).__name__})") from None
    if kind is not None and not isinstance(obj, kind):
        raise InputError(f"{what} {where} is corrupted (not a JSON {'object' if kind is dict else kind.__name__})")
    return obj


def append_jsonl(path: str | os.PathLike, record: Any) -> Path:
    """Append one JSON line to ``path`` atomically (the whole file is rewritten via rename)."""
    path = Path(path)
    old = path.read_bytes() if path.exists() else b""
    if old and not old.endswith(b"\n"):
        old += b"\n"
    return atomic_write_bytes(path, old + (dumps_json(record, indent=None) + "\n").encode("utf-8"))


#: the key of a Parquet file's key-value metadata that holds rlstar's JSON record (its ``format`` names the layout)
PARQUET_META_KEY = b"rlstar"


def parquet_bytes(columns: dict, meta: dict) -> bytes:
    """A Parquet file of ``columns`` (``{name: array or pyarrow array}``, in order) with ``meta`` as
    JSON under the key :data:`PARQUET_META_KEY` of its schema metadata (readers that do not know
    the key, ``datasets.load_dataset("parquet")`` or pandas, ignore it)."""
    import pyarrow as pa  # a large library: only where a Parquet file is written
    import pyarrow.parquet as pq

    table = pa.table(columns).replace_schema_metadata({PARQUET_META_KEY: dumps_json(meta, indent=None).encode()})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def read_parquet(path: str | os.PathLike, what: str) -> tuple[dict, dict]:
    """``(columns, meta)`` of a Parquet file written by :func:`parquet_bytes`: each column as a
    numpy array (``columns[name].mask``-free: a column with nulls is refused) and the JSON record
    under :data:`PARQUET_META_KEY`; a missing, unreadable or foreign file is a one-line error."""
    import pyarrow as pa  # a large library: only where a Parquet file is read
    import pyarrow.parquet as pq

    path = check_path(path, what)
    where = repr(os.fspath(path))
    try:
        table = pq.read_table(path)
    except FileNotFoundError:
        raise InputError(f"{what} not found: {where}") from None
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"{what} {where} is not a readable Parquet file ({type(exc).__name__})") from None
    raw = (table.schema.metadata or {}).get(PARQUET_META_KEY)
    if raw is None:
        raise InputError(f"{what} {where} has no rlstar metadata (key {PARQUET_META_KEY.decode()!r})")
    try:
        meta = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{what} {where}: corrupted metadata ({type(exc).__name__})") from None
    columns = {}
    for name in table.column_names:
        col = table.column(name)
        if col.null_count:
            raise InputError(f"{what} {where}: column {name!r} holds {col.null_count} missing values")
        columns[name] = col.to_numpy()
    return columns, meta

"""Folders written atomically, and arrays saved atomically.

:func:`atomic_dir` builds a folder under a temporary name and renames it into place only when
every file is written, so a crash leaves either the previous folder or the complete new one.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from star_theory import InputError
from star_theory.io import atomic_write_bytes, default_mode


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield a temporary folder; on success it replaces ``path`` (an old ``path`` is removed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, default_mode(directory=True))
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_array(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write one array as ``.npy`` atomically."""
    buf = io.BytesIO()
    np.save(buf, np.asarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def load_array(path: str | os.PathLike) -> np.ndarray:
    """Read an array written by :func:`save_array` (no pickles); a bad file is a one-line error."""
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"file not found: {path}") from None
    except (ValueError, OSError) as exc:
        raise InputError(f"cannot read array {path}: {type(exc).__name__}") from None

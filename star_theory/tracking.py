"""Experiment tracking: TensorBoard event files under ``--log-dir`` (the optional extra ``rlstar[tracking]``).

``rlstar simulate``, ``rlstar llm pretrain|star|run`` and ``rlstar reproduce`` take ``--log-dir DIR``.
A command opens its :class:`Tracker` with :func:`open_tracker` before it does any work: without
``--log-dir`` the tracker is a no-op (and nothing is imported); with it, ``tensorboardX`` must be
importable, else the command stops at once with ``rlstar: error: --log-dir needs the optional extra:
pip install 'rlstar[tracking]'`` (exit 2) and nothing is written.

**The log folder.** TensorBoard's convention is one folder that many writers add event files to,
so a log folder is not claimed like an output folder (:mod:`star_theory.outputs`): it may be new
or an existing folder (a TensorBoard folder of earlier runs, say), and the tracker only *adds*
one event file, ``events.out.tfevents.<time>.<host>.<pid>.<random>``, a name no other writer
uses; it never opens, replaces or removes anything else. It is created at the first event, so a
command refused on its inputs leaves nothing behind. It must not be a file, a symlink or a device,
and must lie outside the command's output folder (which ``--overwrite`` may clear, and which must
be new or empty when a run starts) and its input folders (a checkpoint's files have a digest). An event file is a stream (TFRecord records, each with its
own CRC: TensorBoard reads a file cut short up to its last whole record), so it is appended to,
not written atomically; tensorboardX's writer thread flushes it at least every 30 s and when the command ends.

What is logged (tags ``<prefix>/<key>``): every finite number of a per-iteration record, a list
of per-step values as ``<key>_1 .. <key>_N`` (:func:`scalar_items`), at the iteration as step,
and the run's PNG figures as images at the last step (:meth:`Tracker.image`).
"""

from __future__ import annotations

import math
import os
import struct
import sys
import uuid
from pathlib import Path
from typing import Any, Iterable, Mapping

from .errors import InputError
from .io import check_path

MISSING_EXTRA = "--log-dir needs the optional extra: pip install 'rlstar[tracking]'"
LOG_DIR_HELP = ("write TensorBoard event files into this folder, outside --out (new or existing: one new event file "
                "is added, nothing else is touched; needs the optional extra rlstar[tracking])")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}  # PNG colour type -> channels (3: palette, shown as RGB)


def add_log_dir_argument(parser) -> None:
    """``--log-dir DIR`` (default: no tracking)."""
    parser.add_argument("--log-dir", default=None, metavar="DIR", help=LOG_DIR_HELP)


def scalar_items(record: Mapping[str, Any], steps: int | None = None, skip: Iterable[str] = ()) -> dict[str, float]:
    """The numbers of ``record`` a tracker logs: ``{key: value}`` for every finite number (not a
    bool), and ``{key_n: value[n-1]}`` (``n = 1 .. steps``) for every list of ``steps`` numbers
    (a per-step quantity such as ``lam``); keys in ``skip``, other lists, strings and ``None`` are left out."""
    out: dict[str, float] = {}
    skip = set(skip)
    for key, value in record.items():
        if key in skip:
            continue
        if _is_number(value):
            if math.isfinite(value):
                out[key] = float(value)
        elif steps is not None and isinstance(value, (list, tuple)) and len(value) == steps:
            out.update({f"{key}_{n}": float(v) for n, v in enumerate(value, 1) if _is_number(v) and math.isfinite(v)})
    return out


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def png_shape(data: bytes, where: str = "figure") -> tuple[int, int, int]:
    """``(height, width, channels)`` of PNG ``data``, from its IHDR chunk (the first one)."""
    if len(data) < 26 or data[:8] != PNG_SIGNATURE or data[12:16] != b"IHDR":
        raise InputError(f"{where} is not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    if data[25] not in PNG_CHANNELS:
        raise InputError(f"{where}: unknown PNG colour type {data[25]}")
    return height, width, PNG_CHANNELS[data[25]]


class Tracker:
    """TensorBoard events of one command, or nothing (``log_dir`` None): every method is then a no-op.

    ``writer``: a ``tensorboardX.FileWriter`` class and ``summary``: tensorboardX's ``Summary``
    proto class (from :func:`open_tracker`). The event file is created at the first event.
    """

    def __init__(self, log_dir: Path | None = None, writer=None, summary=None):
        self.log_dir = log_dir
        self._writer_class, self._summary = writer, summary
        self._writer = None

    @property
    def enabled(self) -> bool:
        return self.log_dir is not None

    def _file(self):
        if self._writer is None:
            suffix = f".{os.getpid()}.{uuid.uuid4().hex[:12]}"  # a name no other writer of the folder uses
            self._writer = self._writer_class(os.fspath(self.log_dir), flush_secs=30, filename_suffix=suffix)
        return self._writer

    def scalars(self, prefix: str, values: Mapping[str, float], step: int) -> None:
        """Log ``values`` as the scalars ``prefix/key`` at ``step``."""
        if not self.enabled or not values:
            return
        S = self._summary
        summary = S(value=[S.Value(tag=f"{prefix}/{k}", simple_value=float(v)) for k, v in values.items()])
        self._file().add_summary(summary, int(step))

    def record(self, prefix: str, record: Mapping[str, Any], step: int, steps: int | None = None,
               skip: Iterable[str] = ()) -> None:
        """Log the numbers of ``record`` (:func:`scalar_items`) under ``prefix`` at ``step``."""
        if self.enabled:
            self.scalars(prefix, scalar_items(record, steps, skip), step)

    def image(self, tag: str, path: str | os.PathLike, step: int) -> None:
        """Log the PNG file ``path`` as the image ``tag`` at ``step`` (its bytes as they are)."""
        if not self.enabled:
            return
        data = Path(path).read_bytes()
        height, width, channels = png_shape(data, f"figure {os.fspath(path)!r}")
        S = self._summary
        image = S.Image(height=height, width=width, colorspace=channels, encoded_image_string=data)
        self._file().add_summary(S(value=[S.Value(tag=tag, image=image)]), int(step))

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "Tracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_log_dir(log_dir, outputs: Mapping[str, Any] | None = None) -> Path:
    """``log_dir`` as an absolute path: new or an existing folder (not a file, symlink or device),
    neither one of the command's ``outputs`` (``{flag: path}``: its output folder or files, and the
    input folders it must not add files to, a checkpoint; ``None`` skipped) nor inside one."""
    folder = check_path(log_dir, "--log-dir")
    if folder.is_symlink():
        raise InputError(f"--log-dir {str(folder)!r} is a symlink; give the real folder (nothing was changed)")
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--log-dir {str(folder)!r} is not a folder; nothing was changed")
    real = Path(os.path.realpath(folder))
    for flag, out in (outputs or {}).items():
        if out is None:
            continue
        own = Path(os.path.realpath(check_path(out, flag)))
        if real == own or own in real.parents:
            raise InputError(f"--log-dir {str(folder)!r} is or lies inside {flag} {os.fspath(out)!r}, which holds the "
                             "command's own files or inputs; give a folder outside it (nothing was changed)")
    return Path(os.path.abspath(folder))


def open_tracker(log_dir, outputs: Mapping[str, Any] | None = None) -> Tracker:
    """The tracker of a command: a no-op without ``log_dir``; else ``log_dir`` is checked
    (:func:`check_log_dir`) and tensorboardX imported, before the command does any work."""
    if log_dir is None:
        return Tracker()
    folder = check_log_dir(log_dir, outputs)
    writer, summary = _tensorboardx()
    return Tracker(folder, writer, summary)


def _tensorboardx():
    """tensorboardX's ``FileWriter`` and ``Summary`` (the optional extra: imported only for ``--log-dir``).

    ``tensorboardX.writer`` tries ``import torch`` only to accept torch tensors (2-4 s on a CPU
    machine); the tracker passes numbers and PNG bytes, so when torch is not loaded yet it is
    hidden for that one import (a later ``import torch`` works as usual).
    """
    hide = "torch" not in sys.modules
    if hide:
        sys.modules["torch"] = None  # type: ignore[assignment]  # `import torch` raises ImportError here
    try:
        from tensorboardX import FileWriter
        from tensorboardX.proto.summary_pb2 import Summary
    except ImportError:
        raise InputError(MISSING_EXTRA) from None
    finally:
        if hide and sys.modules.get("torch", False) is None:
            del sys.modules["torch"]
    return FileWriter, Summary

"""The folder of a STaR run: its layout, how an iteration is written, and how it is read back.

Layout (folder ``out``): ``run.json`` (config, pretrained path and digest, task), ``iter_TTT/`` per
iteration (``metrics.json``, ``kept.npy`` with the kept chains ``(kept, N+1)``, ``chains.parquet``
with every sampled chain as a dataset (:mod:`llm.chain_table`), ``kernels.npz`` with the measured
kernels, and the model checkpoint for ``t > 0``), ``metrics.jsonl`` (one line
per iteration), ``prediction.json`` and ``star.png``. Every iteration folder is written under a
temporary name and renamed when complete; ``metrics.jsonl`` is rebuilt from the iteration folders.

What an iteration returns in memory is what reading its files back gives (:func:`as_written`,
:func:`as_read_back`), so a resumed run returns exactly what an uninterrupted one returns.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np

from star_theory import InputError, TabularPolicy
from star_theory.io import atomic_write_bytes, atomic_write_text, dumps_json, write_json

from .chain_table import CHAINS_FILE
from .config import make_config, to_record
from .files import atomic_dir, read_json_object, recorded_config, save_array
from .model import checkpoint_digest, save_checkpoint

ITER_RE = re.compile(r"^iter_(\d{3,})$")


def iteration_dir(out: Path, t: int) -> Path:
    return Path(out) / f"iter_{t:03d}"


def finished_iterations(out: Path) -> list[int]:
    """Iterations whose folder is complete (renamed into place with its ``metrics.json``)."""
    if not Path(out).is_dir():
        return []
    done = []
    for p in Path(out).iterdir():
        m = ITER_RE.match(p.name)
        if m and (p / "metrics.json").is_file():
            done.append(int(m.group(1)))
    return sorted(done)


def load_kernels(path: Path) -> TabularPolicy:
    """The measured policy saved in an iteration folder (no pickles; a bad file is a one-line error)."""
    where = Path(path) / "kernels.npz"
    try:
        with np.load(where, allow_pickle=False) as z:
            kernels = [z[f"arr_{i}"] for i in range(len(z.files))]
    except FileNotFoundError:
        raise InputError(f"file not found: {where}") from None
    except (ValueError, OSError, EOFError, KeyError) as exc:
        raise InputError(f"cannot read kernels {where}: {type(exc).__name__}") from None
    return TabularPolicy(kernels)


def as_written(obj):
    """``obj`` as its JSON file reads back (tuples and arrays become lists, non-finite numbers None)."""
    return json.loads(dumps_json(obj, indent=None))


def as_read_back(policy: TabularPolicy) -> TabularPolicy:
    """``policy`` as :func:`load_kernels` reads its saved kernels back (``.npz`` is exact, and
    :class:`~star_theory.TabularPolicy` normalises the rows once more on the way in)."""
    return TabularPolicy(policy.kernels)


def write_metrics_log(out: Path, records: list[dict]) -> None:
    """``metrics.jsonl``: one line per iteration record."""
    atomic_write_text(Path(out) / "metrics.jsonl", "".join(dumps_json(r, indent=None) + "\n" for r in records))


def _kernels_bytes(policy: TabularPolicy) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, *policy.kernels)
    return buf.getvalue()


def write_iteration(out: Path, t: int, record: dict, kept: np.ndarray, policy: TabularPolicy,
                    checkpoint: tuple | None = None, chains: bytes | None = None) -> None:
    """Write iteration ``t``'s folder atomically: ``checkpoint`` ``(model, tokenizer, spec)`` when
    given, the kept chains, the sampled chains (``chains``: the bytes of ``chains.parquet``, when
    given), the measured kernels and ``metrics.json`` (the completion mark)."""
    with atomic_dir(iteration_dir(out, t)) as tmp:
        if checkpoint is not None:
            save_checkpoint(tmp, *checkpoint)
        save_array(Path(tmp) / "kept.npy", kept)
        if chains is not None:
            atomic_write_bytes(Path(tmp) / CHAINS_FILE, chains)
        atomic_write_bytes(Path(tmp) / "kernels.npz", _kernels_bytes(policy))
        write_json(Path(tmp) / "metrics.json", record)


def write_run_json(out: Path, cfg_record: dict, pretrained, task_spec: dict, rule: dict | None = None) -> None:
    """``run.json``: the config record, the pretrained checkpoint's absolute path, its digest
    (:func:`llm.model.checkpoint_digest`: ``--resume`` refuses another model in its place), its task
    and the update rule (name, parameters, label)."""
    write_json(Path(out) / "run.json", {"config": cfg_record, "pretrained": os.fspath(Path(pretrained).resolve()),
                                        "pretrained_digest": checkpoint_digest(pretrained), "task": task_spec,
                                        "rule": rule})


def read_run_json(path: str | os.PathLike) -> dict:
    """``run.json`` of a STaR run: ``config`` (an LLM config record), ``pretrained`` (a path),
    ``task`` (the checkpoint's task spec); each field is validated."""
    where = f"{os.fspath(path)!r}"
    raw = read_json_object(path, "run.json")
    for key, kind in (("config", dict), ("pretrained", str), ("task", dict)):
        if not isinstance(raw.get(key), kind):
            raise InputError(f"{where}: corrupted run.json ({key} must be a {kind.__name__})")
    try:
        raw["config"] = to_record(make_config(values=recorded_config(raw["config"]), source=f"{where} config"))
    except InputError as exc:
        raise InputError(f"{where}: corrupted run.json ({exc})") from None
    digest = raw.get("pretrained_digest")
    if digest is not None and not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
        raise InputError(f"{where}: corrupted run.json (pretrained_digest must be a SHA-256 hex digest)")
    task = raw["task"]
    if set(task) not in ({"task", "digits", "base", "tokenization"}, {"task", "params", "tokenization"}):
        raise InputError(f"{where}: corrupted run.json (task must hold task, digits, base (or params), tokenization)")
    return raw


def remove_strays(out: Path) -> None:
    """Remove the iteration folders a killed run left half-written (the caller holds the lock)."""
    for stray in Path(out).glob(".iter_*.tmp"):
        shutil.rmtree(stray, ignore_errors=True)

r"""Pretraining corpora: chains sampled from the symmetric family on a digit task, as a text file.

File format ``rlstar-corpus/1`` (UTF-8 text, ``\n`` line ends, every line ends with ``\n``):

1. ``# `` followed by one line of JSON metadata with the keys

   - ``format``: ``"rlstar-corpus/1"``;
   - ``task`` (a registered task, :mod:`star_theory.task_protocol`) and its parameters: a digit
     task's ``digits`` (D) and ``base`` (b), any other task's table ``params``;
   - ``n_steps`` (N), ``level_sizes`` (``|S_0|, ..., |S_N|``);
   - ``lam`` and ``eps``: per-step parameters of the pretrained policy
     :math:`P_n = \lambda_n P_n^* + (1-\lambda_n) U` (both conventions, ``N`` values each;
     ``eps_n = lam_n (|S_n|-1)/|S_n|``), and ``convention``: the one the user gave;
   - ``chains_per_question`` (K), ``n_questions``, ``n_chains`` (``= K * n_questions``);
   - ``seed``: the seed of ``numpy.random.default_rng`` that drew the chains;
   - optional extra keys (ignored by the reader, kept in the returned dict).

2. the header ``s0,s1,...,sN``;
3. ``n_chains`` rows, one chain each: ``N + 1`` comma-separated integer state indices, column
   ``n`` in ``[0, |S_n|)``; rows are grouped by question in increasing ``s0`` (shuffle before
   training). A digit task's states decode to digits with ``star_theory.tasks.digit_task(...).levels``.

:func:`read_corpus` validates all of this and raises :class:`~star_theory.errors.InputError`
on a malformed or truncated file (wrong row count, a missing final newline, a bad field).
Files are written atomically (:func:`star_theory.io.atomic_write_text`).

**Other formats** (:data:`FORMATS`; ``rlstar corpus --format``), for the tools researchers load
datasets with (``datasets.load_dataset("parquet" | "json", data_files=...)``, pandas, pyarrow):

* ``parquet``: one int64 column per level, ``s0 .. sN``, the rows as above; the metadata as one
  JSON object under the key ``rlstar`` of the file's schema metadata
  (:func:`star_theory.io.parquet_bytes`). :func:`read_corpus` reads it back (so does
  ``rlstar llm pretrain --corpus``), with the same checks;
* ``jsonl``: one JSON object per chain and line, ``{"s0": 12, "s1": 3, ...}``, and nothing else
  (a metadata line would be read as a chain by every JSON-lines loader): an export of the chains.
  It carries no metadata, so :func:`read_corpus` refuses it; pretraining reads csv or parquet.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from ..errors import InputError
from ..io import atomic_write_bytes, parquet_bytes, read_parquet
from ..model import mixture_policy, resolve_lam
from ..task_registry import make_task, task_level_sizes
from ..validation import as_int
from ..sampling import as_generator, sample_chains

CORPUS_FORMAT = "rlstar-corpus/1"
FORMATS = ("csv", "jsonl", "parquet")  # file formats of a corpus (module docstring); csv is the default
PARQUET_MAGIC = b"PAR1"
REQUIRED_KEYS = (
    "format",
    "task",
    "n_steps",
    "level_sizes",
    "lam",
    "eps",
    "chains_per_question",
    "n_questions",
    "n_chains",
    "seed",
)


def make_corpus(
    task: str = "zip",
    digits: int = 3,
    base: int = 2,
    lam: ArrayLike | None = None,
    eps: ArrayLike | None = None,
    chains_per_question: int = 4096,
    seed: int = 0,
    params: dict | None = None,
) -> tuple[dict, np.ndarray]:
    r"""Sample ``K`` chains per question from :math:`P_n = \lambda_n P_n^* + (1-\lambda_n) U`.

    ``task`` names a registered task (:mod:`star_theory.task_protocol`) built with ``params``
    (default: a digit task's ``digits`` and ``base``); give ``lam`` or ``eps`` (one value or one
    per step). Returns ``(meta, chains)`` ready for :func:`write_corpus`.
    """
    dt = make_task(task, {"digits": digits, "base": base} if params is None else params)
    policy = mixture_policy(dt.task, lam=lam, eps=eps)
    K = as_int(chains_per_question, "chains_per_question", 1)
    seed = as_int(seed, "seed", 0)
    chains = sample_chains(policy, dt.task, K, as_generator(seed))
    sizes = dt.task.sizes
    given = np.atleast_1d(np.asarray(lam if lam is not None else eps, dtype=float))
    given = np.broadcast_to(given, (dt.task.n_steps,)) if given.size == 1 else given
    lam_used = [
        float(resolve_lam(sizes[n + 1], 1, **{("lam" if lam is not None else "eps"): v})[0])
        for n, v in enumerate(given)
    ]
    meta = {
        "format": CORPUS_FORMAT,
        "task": dt.name,
        **_params_record(dt.params),
        "n_steps": dt.task.n_steps,
        "level_sizes": list(sizes),
        "lam": lam_used,
        "eps": [l * (sizes[n + 1] - 1) / sizes[n + 1] for n, l in enumerate(lam_used)],
        "convention": "lam" if lam is not None else "eps",
        "chains_per_question": K,
        "n_questions": int(sizes[0]),
        "n_chains": int(chains.shape[0]),
        "seed": seed,
    }
    return meta, chains


def _check_meta(meta, source: str) -> dict:
    if not isinstance(meta, dict):
        raise InputError(f"{source}: metadata must be a JSON object")
    missing = [k for k in REQUIRED_KEYS if k not in meta]
    if "params" not in meta:  # a digit task's parameters (every corpus written before task parameters)
        missing += [k for k in ("digits", "base") if k not in meta]
    if missing:
        raise InputError(f"{source}: metadata lacks key {missing[0]!r}")
    if meta["format"] != CORPUS_FORMAT:
        raise InputError(f"{source}: format {meta['format']!r} is not {CORPUS_FORMAT!r}")
    for key in ("digits", "base", "n_steps", "chains_per_question", "n_questions", "n_chains", "seed"):
        if key not in meta and key in ("digits", "base"):
            continue
        v = meta[key]
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise InputError(f"{source}: metadata {key}={v!r} must be a non-negative integer")
    N = int(meta["n_steps"])
    sizes = meta["level_sizes"]
    if (
        not isinstance(sizes, list)
        or len(sizes) != N + 1
        or not all(isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in sizes)
    ):
        raise InputError(f"{source}: metadata level_sizes={sizes!r} must list {N + 1} positive integers")
    for key in ("lam", "eps"):
        v = meta[key]
        if not isinstance(v, list) or len(v) != N or not all(isinstance(x, (int, float)) for x in v):
            raise InputError(f"{source}: metadata {key}={v!r} must list {N} numbers")
    if meta["n_chains"] != meta["chains_per_question"] * meta["n_questions"]:
        raise InputError(
            f"{source}: metadata n_chains={meta['n_chains']} != chains_per_question * n_questions"
        )
    _check_meta_task(meta, source)
    return meta


def _check_meta_task(meta: dict, source: str) -> None:
    """Cross-field checks: the task exists, its level sizes and steps are those recorded, and
    ``lam``/``eps`` are finite, in their ranges and consistent with each other."""
    params = corpus_task_params(meta)
    try:
        sizes = task_level_sizes(meta["task"], params)
    except InputError as exc:
        raise InputError(f"{source}: metadata task: {exc}") from None
    if meta["n_steps"] != len(sizes) - 1 or meta["level_sizes"] != sizes:
        raise InputError(f"{source}: metadata n_steps={meta['n_steps']}, level_sizes={meta['level_sizes']} disagree "
                         f"with task {meta['task']} {params} (n_steps={len(sizes) - 1}, level_sizes={sizes})")
    if meta["n_questions"] != sizes[0]:
        raise InputError(f"{source}: metadata n_questions={meta['n_questions']} != |S_0|={sizes[0]}")
    for n, (lam, eps) in enumerate(zip(meta["lam"], meta["eps"])):
        S = sizes[n + 1]
        if isinstance(lam, bool) or isinstance(eps, bool) or not (math.isfinite(lam) and math.isfinite(eps)):
            raise InputError(f"{source}: metadata lam[{n}]={lam!r}, eps[{n}]={eps!r} must be finite numbers")
        if not -1 / (S - 1) - 1e-12 <= lam <= 1 + 1e-12:
            raise InputError(f"{source}: metadata lam[{n}]={lam} is outside [-1/({S}-1), 1]")
        if abs(eps - lam * (S - 1) / S) > 1e-9:
            raise InputError(f"{source}: metadata eps[{n}]={eps} != lam[{n}] ({S}-1)/{S} = {lam * (S - 1) / S}")


def _params_record(params: Mapping[str, Any]) -> dict:
    """The task parameters in the metadata: a digit task's as ``digits`` and ``base`` (the keys of
    every corpus written before task parameters), any other task's as one table ``params``."""
    return dict(params) if set(params) == {"digits", "base"} else {"params": dict(params)}


def corpus_task_params(meta: dict) -> dict:
    """The task parameters a corpus records: ``params``, or (older files) its ``digits`` and ``base``."""
    params = meta.get("params")
    if params is None:
        return {k: meta[k] for k in ("digits", "base") if k in meta}
    if not isinstance(params, dict):
        raise InputError(f"metadata params={params!r} must be a table")
    return params


def _no_constant(name):
    raise ValueError(f"non-finite number {name}")


def header_line(n_steps: int) -> str:
    """The column header ``s0,s1,...,sN``."""
    return ",".join(f"s{n}" for n in range(n_steps + 1))


def _check_path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise InputError(f"path must be a file path (str or os.PathLike), got {type(path).__name__}")
    return os.fspath(path)


def write_corpus(path: str | os.PathLike, chains: ArrayLike, meta: dict, format: str = "csv") -> str:
    """Write ``chains`` (int array ``(n_chains, N+1)``) with ``meta`` atomically as ``format``
    (one of :data:`FORMATS`); returns the path.

    ``meta`` must hold the keys of the format (see the module docstring); the chains are checked
    against ``n_chains`` and ``level_sizes``.
    """
    _check_path(path)
    if format not in FORMATS:
        raise InputError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if not isinstance(meta, dict):
        raise InputError(f"meta must be a dict of the format's keys, got {type(meta).__name__}")
    meta = _check_meta(dict(meta), "corpus metadata")
    chains = np.asarray(chains)
    N = meta["n_steps"]
    if chains.ndim != 2 or chains.shape != (meta["n_chains"], N + 1):
        raise InputError(f"chains must have shape {(meta['n_chains'], N + 1)}, got {chains.shape}")
    if chains.size and not np.issubdtype(chains.dtype, np.integer):
        raise InputError(f"chains must hold integers, got dtype {chains.dtype}")
    sizes = np.asarray(meta["level_sizes"])
    if chains.size and (np.any(chains < 0) or np.any(chains >= sizes[None, :])):
        raise InputError("chains hold a state index outside its level")
    if format == "parquet":
        data = parquet_bytes({f"s{n}": chains[:, n].astype(np.int64) for n in range(N + 1)}, meta)
    elif format == "jsonl":
        data = jsonl_rows(chains)
    else:
        head = "# " + json.dumps(meta, separators=(",", ":"), allow_nan=False) + "\n" + header_line(N) + "\n"
        data = head.encode("utf-8") + format_rows(chains)
    atomic_write_bytes(path, data)
    return os.fspath(path)


def jsonl_rows(chains) -> bytes:
    """The chain rows as JSON lines, ``{"s0":A,"s1":B,...}`` and ``\\n`` per row (``chains``: integers
    ``(n_rows, N+1)``), formatted in one ``%`` operation (C speed, no Python loop over rows)."""
    chains = np.asarray(chains, dtype=np.int64)
    if chains.size == 0:
        return b""
    row = "{" + ",".join(f'"s{n}":%d' for n in range(chains.shape[1])) + "}\n"
    return ((row * chains.shape[0]) % tuple(chains.ravel().tolist())).encode("ascii")


def format_rows(chains) -> bytes:
    """The chain rows as ASCII, ``"s0,s1,...,sN\\n"`` per row in plain decimal: the bytes of
    ``numpy.savetxt(fmt="%d", delimiter=",", newline="\\n")``, built by table look-up.

    ``chains``: non-negative integers (state indices), shape ``(n_rows, N+1)``. Each field is one
    word from a table of the values (the digits, then ``,`` or, in the last column, ``\\n``, then
    zero bytes); the zero bytes are dropped at the end. The table covers ``0..max`` (state
    indices), or only the distinct values when the maximum is larger than the number of fields.
    """
    chains = np.asarray(chains, dtype=np.int64)
    if chains.size == 0:
        return b""
    top = int(chains.max())
    if top < max(chains.size, 1 << 16):
        values, index = np.arange(top + 1), chains.astype(np.intp)
    else:
        values, inverse = np.unique(chains, return_inverse=True)
        index = inverse.reshape(chains.shape).astype(np.intp)
    words = _decimal_words(values)  # value i with ',' at i, with '\\n' at len(values) + i
    index[:, -1] += values.size
    flat = words[index].view(np.uint8)  # (rows * (N+1) * word size,), the fields in file order
    return flat[flat != 0].tobytes()


def _decimal_words(values: np.ndarray) -> np.ndarray:
    """Entry ``i``: the ASCII digits of ``values[i]`` (non-negative) and ``,``; entry ``len(values) + i``:
    the digits and ``\\n``; each zero-padded into one word of 4, 8 or more bytes (viewed as one scalar)."""
    n, width = values.size, len(str(int(values.max())))
    size = 4 if width < 4 else 8 if width < 8 else width + 1
    digits = np.ones(n, dtype=np.intp)  # decimal digits of each value
    for k in range(1, width):
        digits += values >= 10**k
    table = np.zeros((2, n, size), dtype=np.uint8)
    rest, rows = values.copy(), np.arange(n)
    for k in range(width):  # k-th digit from the right, where the value has one
        has = digits > k
        table[:, has, digits[has] - 1 - k] = ord("0") + rest[has] % 10
        rest //= 10
    table[0, rows, digits] = ord(",")
    table[1, rows, digits] = ord("\n")
    word = {4: np.uint32, 8: np.uint64}.get(size, np.dtype((np.void, size)))
    return table.reshape(2 * n, size).view(word).ravel()


def read_corpus(path: str | os.PathLike) -> tuple[dict, np.ndarray]:
    """Read and validate a corpus file; returns ``(meta, chains)`` with ``chains`` int64 ``(n, N+1)``."""
    source = _check_path(path)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(len(PARQUET_MAGIC))
    except (FileNotFoundError, IsADirectoryError):
        magic = b""  # the reading below names the problem
    if magic == PARQUET_MAGIC:
        return _read_parquet_corpus(path, source)
    if magic[:1] == b"{":
        raise InputError(f"{source}: the first line is JSON, not '# ' and the metadata: a JSON-lines corpus holds the "
                         "chains only, without the metadata pretraining needs (write it with --format csv or parquet)")
    try:
        with open(path, "r", encoding="utf-8", newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise InputError(f"corpus file not found: {source}") from None
    except IsADirectoryError:
        raise InputError(f"corpus path is a folder, not a file: {source}") from None
    except UnicodeDecodeError:
        raise InputError(f"{source}: not a UTF-8 text corpus") from None
    if not text.startswith("# "):
        raise InputError(f"{source}: first line must be '# ' followed by JSON metadata")
    if not text.endswith("\n"):
        raise InputError(f"{source}: truncated (the last line has no newline)")
    first, _, rest = text.partition("\n")
    try:
        meta = json.loads(first[2:], parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(f"{source}: malformed metadata JSON ({exc.msg} at column {exc.colno + 2})") from None
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{source}: malformed metadata JSON ({' '.join(str(exc).split())[:80] or 'nested too deeply'})") from None
    meta = _check_meta(meta, source)
    N = meta["n_steps"]
    header, _, body = rest.partition("\n")
    if header.strip() != header_line(N):
        raise InputError(f"{source}: line 2 must be the header {header_line(N)!r}, got {header[:60]!r}")
    n_rows = body.count("\n")
    if n_rows != meta["n_chains"]:
        raise InputError(f"{source}: {n_rows} chain rows but metadata says n_chains={meta['n_chains']} (truncated?)")
    if n_rows == 0:
        return meta, np.empty((0, N + 1), dtype=np.int64)
    row = re.compile(r"-?[0-9]{1,18}(?:,-?[0-9]{1,18}){%d}\n" % N)
    if re.fullmatch(r"(?:-?[0-9]{1,18}(?:,-?[0-9]{1,18}){%d}\n)*" % N, body) is None:
        lines = body.split("\n")[:-1]
        i = next(i for i, ln in enumerate(lines) if row.fullmatch(ln + "\n") is None)
        fields = lines[i].split(",")
        why = (f"has {len(fields)} fields, expected {N + 1}" if len(fields) != N + 1 else
               "has an empty field" if any(f == "" for f in fields) else
               "holds a field that is not an integer (digits only)")
        raise InputError(f"{source}: line {i + 3} {why}")
    chains = np.array(body.replace(",", " ").split(), dtype=np.int64).reshape(n_rows, N + 1)  # every field checked
    sizes = np.asarray(meta["level_sizes"])
    bad = (chains < 0) | (chains >= sizes[None, :])
    if np.any(bad):
        i, n = np.argwhere(bad)[0]
        raise InputError(
            f"{source}: line {i + 3} column s{n}={chains[i, n]} is outside level {n} of size {sizes[n]}"
        )
    return meta, chains


def _read_parquet_corpus(path, source: str) -> tuple[dict, np.ndarray]:
    """A Parquet corpus (module docstring), with the checks of the CSV reader."""
    columns, meta = read_parquet(path, "corpus")
    meta = _check_meta(meta, source)
    N = meta["n_steps"]
    names = [f"s{n}" for n in range(N + 1)]
    if list(columns) != names:
        raise InputError(f"{source}: columns must be {names}, got {list(columns)}")
    if any(columns[c].dtype.kind not in "iu" for c in names):
        raise InputError(f"{source}: columns {names} must hold integers")
    chains = np.stack([columns[c].astype(np.int64) for c in names], axis=1) if len(columns[names[0]]) \
        else np.empty((0, N + 1), dtype=np.int64)
    if len(chains) != meta["n_chains"]:
        raise InputError(f"{source}: {len(chains)} chain rows but metadata says n_chains={meta['n_chains']}")
    sizes = np.asarray(meta["level_sizes"])
    bad = (chains < 0) | (chains >= sizes[None, :])
    if np.any(bad):
        i, n = np.argwhere(bad)[0]
        raise InputError(f"{source}: row {i} column s{n}={chains[i, n]} is outside level {n} of size {sizes[n]}")
    return meta, chains

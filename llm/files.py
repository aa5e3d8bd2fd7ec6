"""The LLM backend's files: run folders, atomic folders and arrays, and the schema of every file
a run reads back.

* :func:`claim_run` claims an output folder under the one rule of :mod:`star_theory.outputs`
  (new, or the command's own with ``--resume``/``--overwrite``; locked for the whole run);
  :func:`check_run_folder` refuses a folder that cannot be claimed, and an input inside it,
  before any input is read.
* :func:`atomic_dir` builds a folder under a temporary name and renames it into place only when
  every file is written; :func:`staged_into` does the same for files moved into a claimed folder.
* :func:`check_resume` compares the config recorded by a run with the one given to continue it.
* :func:`read_json_object`, :func:`read_metrics`, :func:`validate_kept`: the schema layer of
  JSON records, ``metrics.json`` and ``kept.npy`` (``run.json``: :func:`llm.star_folder.read_run_json`);
  every field is checked before use and a bad file is a one-line :class:`~star_theory.errors.InputError`.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from star_theory import InputError
from star_theory.io import atomic_write_bytes, default_mode, read_json, temp_prefix
from star_theory.outputs import check_claimable, check_inputs_outside, check_path, claim_folder, nested
from star_theory.sizes import F8, check_memory, kernel_bytes
from star_theory.task_registry import describe_task, task_level_sizes

#: files a checkpoint folder holds (``save_checkpoint``: transformers' ``save_pretrained`` and ``task.json``)
CHECKPOINT_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer*.json",
                    "special_tokens_map.json", "chat_template*", "vocab*", "merges.txt", "task.json")
#: files of a STaR iteration folder (a checkpoint for ``t > 0``)
ITERATION_FILES = (*CHECKPOINT_FILES, "metrics.json", "kept*", "chains.parquet", "kernels.npz")
_PRETRAIN_OWN = (*CHECKPOINT_FILES, "pretrain.json")
_STAR_OWN = ("run.json", *nested("iter_*", ITERATION_FILES), "metrics.jsonl", "prediction.json", "star.png")
#: paths each LLM command writes into its folder (``--overwrite`` removes these and nothing else;
#: a sub-folder of these holding anything else is refused): :func:`star_theory.outputs.nested`
OWN_FILES = {
    "llm pretrain": _PRETRAIN_OWN,
    "llm star": _STAR_OWN,
    "llm run": (*nested("pretrained", _PRETRAIN_OWN), *nested("star", _STAR_OWN)),
}
#: config fields a resumed STaR run may change: more (or fewer) iterations, progress bars
MAY_CHANGE_ON_RESUME = frozenset({"iterations", "progress"})


def claim_run(path, command: str, config: dict | None, resume: bool = False, overwrite: bool = False):
    """Claim the output folder of an LLM command (a :class:`star_theory.outputs.RunFolder`)."""
    return claim_folder(path, command, own=OWN_FILES[command], config=config, resume=resume, overwrite=overwrite)


def check_run_folder(path, command: str, inputs: dict, resume: bool = False, overwrite: bool = False) -> None:
    """Before any input is read: refuse an output folder ``command`` may not claim, and an input
    (``{flag: path}``) inside it, which the run could replace."""
    check_claimable(path, command, own=OWN_FILES[command], resume=resume, overwrite=overwrite)
    check_inputs_outside(path, inputs)


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike):
    """Yield a temporary folder; on success it becomes ``path``, which must not exist as a file.

    An old folder ``path`` (a run's own, e.g. a half-written iteration) is replaced.
    """
    path = check_path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{str(path)!r} is an existing file, not a folder; nothing was changed")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(path.name) + ".", suffix=".tmp", dir=path.parent))
    try:
        os.chmod(tmp, default_mode(directory=True))
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def staged_into(folder: str | os.PathLike, last: str):
    """Yield a temporary folder inside ``folder``; on success move its entries into ``folder``,
    the entry ``last`` (the file that marks the whole as complete) after every other one."""
    folder = Path(folder)
    tmp = Path(tempfile.mkdtemp(prefix=".staged.", suffix=".tmp", dir=folder))
    try:
        os.chmod(tmp, default_mode(directory=True))
        yield tmp
        names = sorted(os.listdir(tmp), key=lambda n: (n == last, n))
        for name in names:
            target = folder / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(tmp / name, target)
        os.rmdir(tmp)
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
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"cannot read array {path}: {type(exc).__name__}") from None


# ----------------------------------------------------------------------------- resume


def check_resume(stored: dict, given: dict, may_change=MAY_CHANGE_ON_RESUME, where: str = "run") -> None:
    """Refuse to continue a run whose recorded config ``stored`` differs from ``given`` outside
    ``may_change``; the message lists every difference."""
    diffs = [f"{k}: recorded {stored.get(k, '<absent>')!r}, given {given.get(k, '<absent>')!r}"
             for k in sorted(set(stored) | set(given))
             if k not in may_change and _norm(stored.get(k, "<absent>")) != _norm(given.get(k, "<absent>"))]
    if diffs:
        raise InputError(f"cannot resume {where}: the settings differ from the recorded ones ({'; '.join(diffs)}); "
                         f"only {', '.join(sorted(may_change))} may change on --resume")


def _norm(value):
    return json.loads(json.dumps(list(value) if isinstance(value, tuple) else value))


# ----------------------------------------------------------------------------- schema


def read_json_object(path: str | os.PathLike, what: str) -> dict:
    """A JSON object from ``path`` (:func:`star_theory.io.read_json`: size-capped; missing,
    unreadable, malformed or non-object files are refused)."""
    return read_json(path, what)


def recorded_config(config: dict) -> dict:
    """A recorded config without the paths (model folder, corpus file) that no longer exist: they
    were checked when the run started and are not needed to continue it."""
    return {k: v for k, v in config.items() if not (k in ("model", "corpus") and isinstance(v, str)
                                                     and not os.path.exists(v))}


def read_metrics(path: str | os.PathLike, t: int) -> dict:
    """``metrics.json`` of iteration ``t``: an object with ``iteration == t`` and finite numbers."""
    where = f"{os.fspath(path)!r}"
    rec = read_json_object(path, "metrics.json")
    it = rec.get("iteration")
    if isinstance(it, bool) or not isinstance(it, int) or it != t:
        raise InputError(f"{where}: corrupted metrics.json (iteration {it!r}, expected {t})")
    for key in ("sampled_accuracy", "exact_accuracy"):
        v = rec.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v <= 1):
            raise InputError(f"{where}: corrupted metrics.json ({key}={v!r} must be a probability)")
    for key in ("kept", "chains"):
        v = rec.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise InputError(f"{where}: corrupted metrics.json ({key}={v!r} must be a count)")
    return rec


def keeps_right_answers_only(config: dict) -> bool:
    """Whether the update rule of a run's config record keeps only chains with the right answer
    (STaR, rationalization, temperature, a noisy verifier with ``fp = 0``; a plug-in rule may not)."""
    variant = config.get("variant", "star")
    return variant in ("star", "rationalize", "temperature") or (variant == "noisy-verifier" and config.get("fp", 0) == 0)


def validate_kept(array: np.ndarray, task, where: str = "kept.npy", right_answers: bool = True) -> np.ndarray:
    """Kept chains ``(k, N+1)``: integers, each state inside its level, and (``right_answers``: the
    run's rule keeps only those, :func:`keeps_right_answers_only`) each answer correct."""
    a = np.asarray(array)
    N = task.n_steps
    if a.ndim != 2 or a.shape[1] != N + 1:
        raise InputError(f"{where}: kept chains must have shape (k, {N + 1}), got {a.shape}")
    if a.size and a.dtype.kind not in "iu":
        raise InputError(f"{where}: kept chains must hold integers, got dtype {a.dtype}")
    a = a.astype(np.int64)
    sizes = np.asarray(task.sizes)
    bad = (a < 0) | (a >= sizes[None, :])
    if bad.any():
        i, n = np.argwhere(bad)[0]
        raise InputError(f"{where}: row {i} state s{n}={a[i, n]} is outside level {n} of size {sizes[n]}")
    wrong = a[:, -1] != task.answers[a[:, 0]]
    if right_answers and wrong.any():
        raise InputError(f"{where}: row {int(np.flatnonzero(wrong)[0])} is a chain with a wrong answer "
                         "(kept chains must be correct)")
    return a



# ----------------------------------------------------------------------------- sizes


def llm_memory_bytes(task: str, params: dict, K: int, batch_size: int) -> int:
    """Estimated peak memory of sampling ``K`` chains per question and measuring the exact
    kernels (:mod:`star_theory.sizes`): the measured kernels (float64 ``|S_{n-1}| x |S_n|``),
    the chains with their log-probabilities, and one batch of next-token logits over a vocabulary
    of about ``max |S_n|`` tokens (the ``state`` tokenization)."""
    sizes = task_level_sizes(task, params)  # the task's own level sizes (nothing is built)
    N = len(sizes) - 1
    chains = K * sizes[0] * (N + 1)
    return 4 * kernel_bytes(sizes) + 8 * F8 * chains + 3 * 4 * batch_size * (max(sizes) + 16)


def check_llm_memory(cfg, spec=None) -> None:
    """Refuse an LLM command whose :func:`llm_memory_bytes` exceed the limit, before any work."""
    task, params = (spec.task, spec.params) if spec is not None else (cfg.task, cfg.task_params)
    check_memory(llm_memory_bytes(task, params, cfg.samples_per_question, cfg.batch_size),
                 f"{describe_task(task, params)} with samples_per_question={cfg.samples_per_question}, "
                 f"batch_size={cfg.batch_size}")

"""GPT-2 models for the LLM backend: size presets, any local causal LM, save and load.

A preset builds a randomly initialised :class:`transformers.GPT2LMHeadModel` from a
:class:`transformers.GPT2Config` sized to the task's tokenizer (nothing is downloaded; dropout is
0 so that training is a deterministic function of the seed). A folder path loads a local causal
LM (``AutoModelForCausalLM.from_pretrained(path, local_files_only=True)``): a user with GPT-2
weights on disk starts from them; when its vocabulary differs from the task tokenizer's, the
token embeddings are resized (the rows of the task's tokens are then new).

A checkpoint is a folder: ``model.safetensors`` + ``config.json`` (``save_pretrained``), the
tokenizer files (``tokenizer.save_pretrained``) and ``task.json`` (task name, digits, base,
tokenization). Weights are read with safetensors only (no pickle).
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from star_theory import InputError
from star_theory.io import write_json
from star_theory.sizes import check_memory

from star_theory.task_registry import describe_task, make_task, resolve_task_params

from .files import read_json_object
from .tokenizer import TOKENIZATIONS, load_tokenizer, state_table

#: (layers, heads, width) of each size preset; ``gpt2-small`` is GPT-2 small's shape.
SIZES = {
    "tiny": (2, 2, 64),
    "small": (4, 4, 256),
    "gpt2-small": (12, 12, 768),
}
N_POSITIONS = 64


def quiet_transformers() -> None:
    """Silence transformers' info messages and progress bars (ours go to stderr via tqdm)."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def build_model(size: str, vocab_size: int, tokenizer, init_range: float = 0.02):
    """A randomly initialised GPT-2 of the named size (weights ~ N(0, ``init_range``^2))."""
    from transformers import GPT2Config, GPT2LMHeadModel

    quiet_transformers()
    if size not in SIZES:
        raise InputError(f"unknown model size {size!r} (known: {', '.join(SIZES)})")
    layers, heads, width = SIZES[size]
    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=N_POSITIONS,
        n_embd=width,
        n_layer=layers,
        n_head=heads,
        initializer_range=init_range,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return GPT2LMHeadModel(config)


def read_model_config(path: str | os.PathLike) -> dict:
    """``config.json`` of a local model folder, validated: a JSON object of a model type that
    transformers knows, with no ``auto_map`` (which would name code to import from the folder)."""
    from transformers import CONFIG_MAPPING

    raw = read_json_object(os.path.join(path, "config.json"), "config.json")
    if "auto_map" in raw:
        raise InputError(f"refusing checkpoint {os.fspath(path)!r}: its config.json has an auto_map (custom code); "
                         "rlstar never runs code from a checkpoint")
    if not isinstance(raw.get("model_type"), str) or raw["model_type"] not in CONFIG_MAPPING:
        raise InputError(f"config.json in {os.fspath(path)!r}: model_type {raw.get('model_type')!r} is not a "
                         "model type of the installed transformers")
    return raw


def _config_int(raw: dict, keys: tuple[str, ...], path, default=None) -> int:
    """The first of ``keys`` present in ``config.json``: a positive integer (at most 2^40)."""
    for key in keys:
        if key in raw and raw[key] is not None:
            v = raw[key]
            if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 1 << 40:
                raise InputError(f"config.json in {os.fspath(path)!r}: {key}={v!r} must be a positive integer")
            return v
    if default is None:
        raise InputError(f"config.json in {os.fspath(path)!r} declares none of {', '.join(keys)}")
    return default


def model_bytes(raw: dict, path) -> int:
    """Estimated peak memory of loading and training the model ``config.json`` declares, from its
    sizes alone (nothing is built): parameters :math:`2 V d + P d + L (4 d^2 + 2 d f)` (token
    embedding and head, positions, attention and MLP per layer) in float32, times 5 (the loaded
    weights, the model, its gradients and Adam's two moments)."""
    V = _config_int(raw, ("vocab_size",), path)
    d = _config_int(raw, ("n_embd", "hidden_size", "d_model"), path)
    L = _config_int(raw, ("n_layer", "num_hidden_layers", "num_layers"), path)
    P = _config_int(raw, ("n_positions", "max_position_embeddings"), path, default=N_POSITIONS)
    f = _config_int(raw, ("n_inner", "intermediate_size", "ffn_dim"), path, default=4 * d)
    params = 2 * V * d + P * d + L * (4 * d * d + 2 * d * f)
    return 4 * 5 * params


def load_model(path: str | os.PathLike, tokenizer=None, resize: bool = True):
    """Load a local causal LM from ``path`` (safetensors weights); resize to ``tokenizer`` if given.

    Offline (``local_files_only``) and without remote code (``trust_remote_code=False``; an
    ``auto_map`` is refused). The sizes ``config.json`` declares are held to the memory limit
    (:func:`model_bytes`, ``rlstar --max-memory``) before anything is built. Every parameter of
    the config's model must come from the file with its shape: missing, unexpected or
    mis-shaped tensors (an empty or partial file) are refused. With ``resize=False`` (a saved
    checkpoint) the tokenizer must have exactly the embedding's rows: a checkpoint is never resized.
    """
    from transformers import AutoModelForCausalLM

    quiet_transformers()
    path = os.fspath(path)
    if "\x00" in path:
        raise InputError(f"checkpoint path {path!r} holds a NUL byte")
    if not os.path.isdir(path):
        raise InputError(f"checkpoint folder not found: {path}")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise InputError(f"no config.json in checkpoint folder {path!r}")
    if not os.path.isfile(os.path.join(path, "model.safetensors")):
        raise InputError(f"no model.safetensors in checkpoint folder {path!r}")
    raw = read_model_config(path)
    check_memory(model_bytes(raw, path), f"the model in {path!r} (config.json)")
    if tokenizer is not None and not resize and _config_int(raw, ("vocab_size",), path) != len(tokenizer):
        raise InputError(f"checkpoint {path!r}: its tokenizer has {len(tokenizer)} tokens but its model's embedding "
                         f"{raw['vocab_size']} rows; a saved model is never resized")
    try:
        model, info = AutoModelForCausalLM.from_pretrained(
            path, local_files_only=True, use_safetensors=True, trust_remote_code=False, output_loading_info=True
        )
    except Exception as exc:  # corrupted or foreign files: one line, exit 2
        msg = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise InputError(f"cannot load model from {path!r}: {type(exc).__name__} {msg}") from None
    for key, what in (("missing_keys", "lacks"), ("unexpected_keys", "has unexpected"),
                      ("mismatched_keys", "has mis-shaped"), ("error_msgs", "gave errors for")):
        bad = sorted(map(str, info.get(key) or ()))
        if bad:
            raise InputError(f"model.safetensors in {path!r} {what} {len(bad)} tensor(s) of the config's model "
                             f"(first: {bad[0][:80]}); refusing a partly random model")
    if tokenizer is not None and model.get_input_embeddings().num_embeddings != len(tokenizer):
        if not resize:
            raise InputError(f"checkpoint {path!r}: its tokenizer has {len(tokenizer)} tokens but its model's embedding "
                             f"{model.get_input_embeddings().num_embeddings} rows; a saved model is never resized")
        model.resize_token_embeddings(len(tokenizer))
        model.config.pad_token_id = tokenizer.pad_token_id
        model.config.eos_token_id = tokenizer.eos_token_id
    return model


@dataclass(frozen=True)
class TaskSpec:
    """What a checkpoint was trained on (``task.json``): a registered task, its parameters, the tokenization."""

    task: str
    params: dict
    tokenization: str

    def text_task(self):
        """The :class:`star_theory.Task` (with its string form)."""
        return make_task(self.task, self.params)

    def describe(self) -> str:
        return describe_task(self.task, self.params)

    def record(self) -> dict:
        """``task.json``'s fields: a digit task's ``digits`` and ``base`` as before task parameters
        (the same file, the same checkpoint digest), any other task's ``params`` table."""
        if set(self.params) == {"digits", "base"}:
            return {"task": self.task, "digits": self.params["digits"], "base": self.params["base"],
                    "tokenization": self.tokenization}
        return {"task": self.task, "params": dict(self.params), "tokenization": self.tokenization}

    @classmethod
    def from_record(cls, raw: dict, where: str) -> "TaskSpec":
        """A spec from :meth:`record`'s fields (either form), checked against the registry."""
        if not isinstance(raw, dict) or raw.get("tokenization") not in TOKENIZATIONS or not isinstance(raw.get("task"), str):
            got = raw if not isinstance(raw, dict) else (raw.get("task"), raw.get("tokenization"))
            raise InputError(f"{where}: task / tokenization {got!r} unknown")
        if "params" in raw:
            if not isinstance(raw["params"], dict) or {"digits", "base"} & set(raw):
                raise InputError(f"{where}: params must be a table (and digits/base stand only outside it)")
            params = raw["params"]
        else:
            for key, lo, hi in (("digits", 1, 64), ("base", 2, 10)):
                v = raw.get(key)
                if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                    raise InputError(f"{where}: {key}={v!r} must be an integer in [{lo}, {hi}]")
            params = {"digits": raw["digits"], "base": raw["base"]}
        try:
            params = resolve_task_params(raw["task"], params)
        except InputError as exc:
            raise InputError(f"{where}: {exc}") from None
        return cls(raw["task"], params, raw["tokenization"])

    @classmethod
    def of(cls, cfg) -> "TaskSpec":
        """The spec of an :class:`llm.config.LLMConfig`."""
        return cls(cfg.task, dict(cfg.task_params), cfg.tokenization)


def save_checkpoint(path: str | os.PathLike, model, tokenizer, spec: TaskSpec, extra: dict | None = None) -> Path:
    """Write model (safetensors), tokenizer and ``task.json`` into the folder ``path``."""
    quiet_transformers()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    from safetensors import SafetensorError  # comes with transformers; only to translate its write errors

    try:
        model.save_pretrained(path, safe_serialization=True)
    except SafetensorError as exc:  # not an OSError: a full disk would otherwise end in a traceback
        raise _as_os_error(exc, path / "model.safetensors") from None
    tokenizer.save_pretrained(path)
    write_json(path / "task.json", {**spec.record(), **(extra or {})})
    return path


def _as_os_error(exc: Exception, where: Path) -> OSError:
    """A safetensors write error as the OSError it wraps (``code: 28`` is a full disk): one line at the CLI."""
    text = str(exc)
    code = re.search(r"code: (\d+)", text)
    if code:
        return OSError(int(code.group(1)), os.strerror(int(code.group(1))), str(where))
    return OSError(f"cannot write {str(where)!r}: {text.splitlines()[0][:160] if text else type(exc).__name__}")


def read_task_spec(path: str | os.PathLike) -> TaskSpec:
    """``task.json`` of a checkpoint folder, validated (task, its parameters, tokenization)."""
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise InputError(f"checkpoint folder not found: {path}")
    where = os.path.join(path, "task.json")
    if not os.path.isfile(where):
        raise InputError(f"no task.json in checkpoint folder {path!r}")
    raw = read_json_object(where, "task.json")
    return TaskSpec.from_record({k: raw[k] for k in ("task", "digits", "base", "params", "tokenization") if k in raw},
                                f"corrupted task.json in {path!r}")


def load_checkpoint(path: str | os.PathLike):
    """``(model, tokenizer, spec)`` from a folder written by :func:`save_checkpoint`, checked as data:
    the tokenizer's state table (:func:`llm.tokenizer.state_table`) against the task and the saved
    embedding's size, before the model is built."""
    spec = read_task_spec(path)
    tokenizer = load_tokenizer(os.fspath(path))
    vocab = _config_int(read_model_config(path), ("vocab_size",), path)
    state_table(spec.text_task(), tokenizer, vocab)
    model = load_model(path, tokenizer, resize=False)
    return model, tokenizer, spec


#: the files of a checkpoint that decide what it computes (hashed by :func:`checkpoint_digest`)
CHECKPOINT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                    "special_tokens_map.json", "task.json")


def checkpoint_digest(path: str | os.PathLike) -> str:
    """SHA-256 over the names and bytes of the :data:`CHECKPOINT_FILES` present in ``path``: a
    checkpoint replaced by another model (or tokenizer, or task) has another digest."""
    h = hashlib.sha256()
    for name in CHECKPOINT_FILES:
        where = os.path.join(os.fspath(path), name)
        if not os.path.isfile(where):
            continue
        h.update(name.encode() + b"\0")
        try:
            with open(where, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
        except OSError as exc:
            raise InputError(f"checkpoint file {where!r} is unreadable ({type(exc).__name__})") from None
        h.update(b"\0")
    return h.hexdigest()

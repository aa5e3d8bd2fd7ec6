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

import json
import os
from dataclasses import dataclass
from pathlib import Path

from star_theory import InputError
from star_theory.io import write_json

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


def load_model(path: str | os.PathLike, tokenizer=None):
    """Load a local causal LM from ``path`` (safetensors weights); resize to ``tokenizer`` if given."""
    from transformers import AutoModelForCausalLM

    quiet_transformers()
    path = os.fspath(path)
    if not os.path.isdir(path):
        raise InputError(f"checkpoint folder not found: {path}")
    if not os.path.isfile(os.path.join(path, "config.json")):
        raise InputError(f"no config.json in checkpoint folder {path!r}")
    if not os.path.isfile(os.path.join(path, "model.safetensors")):
        raise InputError(f"no model.safetensors in checkpoint folder {path!r}")
    try:
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, use_safetensors=True)
    except Exception as exc:  # corrupted or foreign files: one line, exit 2
        msg = str(exc).splitlines()[0][:160] if str(exc) else ""
        raise InputError(f"cannot load model from {path!r}: {type(exc).__name__} {msg}") from None
    if tokenizer is not None and model.get_input_embeddings().num_embeddings != len(tokenizer):
        model.resize_token_embeddings(len(tokenizer))
        model.config.pad_token_id = tokenizer.pad_token_id
        model.config.eos_token_id = tokenizer.eos_token_id
    return model


@dataclass(frozen=True)
class TaskSpec:
    """What a checkpoint was trained on (``task.json``)."""

    task: str
    digits: int
    base: int
    tokenization: str

    def text_task(self):
        from .tasks import get_task

        return get_task(self.task, self.digits, self.base)


def save_checkpoint(path: str | os.PathLike, model, tokenizer, spec: TaskSpec, extra: dict | None = None) -> Path:
    """Write model (safetensors), tokenizer and ``task.json`` into the folder ``path``."""
    quiet_transformers()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    model = getattr(model, "module", model)  # unwrap DistributedDataParallel
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    write_json(path / "task.json", {**spec.__dict__, **(extra or {})})
    return path


def load_checkpoint(path: str | os.PathLike):
    """``(model, tokenizer, spec)`` from a folder written by :func:`save_checkpoint`."""
    from .tokenizer import load_tokenizer

    path = os.fspath(path)
    if not os.path.isdir(path):
        raise InputError(f"checkpoint folder not found: {path}")
    try:
        with open(os.path.join(path, "task.json"), encoding="utf-8") as fh:
            raw = json.load(fh)
        spec = TaskSpec(raw["task"], int(raw["digits"]), int(raw["base"]), raw["tokenization"])
    except FileNotFoundError:
        raise InputError(f"no task.json in checkpoint folder {path!r}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(f"corrupted task.json in {path!r}: {type(exc).__name__}") from None
    tokenizer = load_tokenizer(path)
    model = load_model(path, tokenizer)
    return model, tokenizer, spec

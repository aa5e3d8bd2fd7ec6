"""A real Hugging Face tokenizer for a task, built with the ``tokenizers`` library.

Two tokenizations of the same text (selected by name):

* ``symbol``: one token per character of the task's alphabet (:meth:`star_theory.Task.alphabet`:
  digits and separators for the digit tasks, letters for ``walk``, any character a task's
  strings use), as in the analysis;
* ``state``: one token per state of each level, so that a transformer can represent any
  per-step kernel exactly (the next-state distribution is a single softmax).

Both read the same text. One step is written ``<stepN>{previous state}<sep>{next state}<eos>``
(``N`` the step index, from 1); special tokens are split off first, then the ``symbol`` tokenizer
splits the rest into characters while the ``state`` tokenizer looks each whole state string up.
A string that is not in the vocabulary becomes ``<unk>``. The tokenizer is a ``WordLevel`` model
wrapped as :class:`transformers.PreTrainedTokenizerFast`; it is saved with ``save_pretrained``
beside every checkpoint and loaded with ``from_pretrained(local_dir)``. Nothing is downloaded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from star_theory import InputError
from star_theory.io import MAX_JSON_BYTES

from star_theory.task_protocol import Task

TOKENIZATIONS = ("state", "symbol")
PAD, UNK, EOS, SEP = "<pad>", "<unk>", "<eos>", "<sep>"


def step_token(n: int) -> str:
    """Token that conditions a step on its index ``n`` (1-based, as in :math:`g_n`)."""
    return f"<step{n}>"


def step_text(n: int, previous: str, following: str | None = None) -> str:
    """Text of step ``n``: the prompt ``<stepn>prev<sep>``, plus ``next<eos>`` when given."""
    text = f"{step_token(n)}{previous}{SEP}"
    return text if following is None else f"{text}{following}{EOS}"


def build_tokenizer(task: Task, tokenization: str = "state"):
    """A fast tokenizer for ``task`` with the named tokenization (``state`` or ``symbol``)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    if tokenization not in TOKENIZATIONS:
        raise InputError(f"tokenization must be one of {', '.join(TOKENIZATIONS)}, got {tokenization!r}")
    steps = [step_token(n) for n in range(1, task.n_steps + 1)]
    specials = [PAD, UNK, EOS, SEP] + steps
    if tokenization == "symbol":
        words = list(task.alphabet())
    else:
        words = list(dict.fromkeys(s for n in range(task.n_steps + 1) for s in task.state_strings(n)))
    vocab = {w: i for i, w in enumerate(specials + words)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=UNK))
    if tokenization == "symbol":
        tok.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tok.decoder = decoders.Fuse()
    tok.add_special_tokens(specials)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token=PAD,
        unk_token=UNK,
        eos_token=EOS,
        sep_token=SEP,
        additional_special_tokens=steps,
        model_max_length=2 * max(len(s[0]) for s in _all_strings(task)) + 3,
    )


def _all_strings(task: Task):
    return [task.state_strings(n) for n in range(task.n_steps + 1)]


def load_tokenizer(path: str | os.PathLike):
    """Load a tokenizer saved by :func:`build_tokenizer` + ``save_pretrained`` (local only)."""
    from transformers import PreTrainedTokenizerFast

    if not os.path.isfile(os.path.join(path, "tokenizer.json")):
        raise InputError(f"no tokenizer.json in checkpoint folder {os.fspath(path)!r}")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        where = os.path.join(path, name)
        if os.path.isfile(where) and os.path.getsize(where) > MAX_JSON_BYTES:
            raise InputError(f"{name} in {os.fspath(path)!r} is larger than {MAX_JSON_BYTES} bytes; refusing to read it")
    try:
        return PreTrainedTokenizerFast.from_pretrained(os.fspath(path), local_files_only=True)
    except Exception as exc:  # a corrupted file: one line, exit 2
        raise InputError(f"cannot load tokenizer from {os.fspath(path)!r}: {type(exc).__name__}") from None


@dataclass(frozen=True)
class StateTable:
    """Token ids of every state of every level: ``ids[n]`` has shape ``(|S_n|, L_n)``.

    All states of a level have the same number of tokens ``L_n`` (1 with the ``state``
    tokenization). Also the ids of the special tokens, and ``lookup(n, rows)``: the state index
    of each row of generated token ids, or ``-1`` for a row that is not a valid state of level ``n``.
    """

    ids: tuple[np.ndarray, ...]
    step_ids: tuple[int, ...]
    sep_id: int
    eos_id: int
    pad_id: int
    vocab_size: int

    def lookup(self, n: int, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        table = self.ids[n]
        if rows.ndim != 2 or rows.shape[1] != table.shape[1]:
            raise InputError(f"rows must have shape (B, {table.shape[1]}), got {rows.shape}")
        keys = _row_keys(table, self.vocab_size)
        order = np.argsort(keys)
        q = _row_keys(rows, self.vocab_size)
        pos = np.clip(np.searchsorted(keys[order], q), 0, len(keys) - 1)
        hit = keys[order][pos] == q
        return np.where(hit, order[pos], -1)


def _row_keys(rows: np.ndarray, base: int) -> np.ndarray:
    """One integer per row (mixed radix ``base``; tokens are < ``base``). Unique for ``base^L < 2^63``."""
    key = np.zeros(rows.shape[0], dtype=np.int64)
    for j in range(rows.shape[1]):
        key = key * base + rows[:, j]
    return key


def state_table(task: Task, tokenizer, vocab_size: int | None = None) -> StateTable:
    """Tokenize every state of every level once, and check the table as data: each state a
    fixed-length row of known tokens, distinct states distinct rows, no state token a special token
    (``<sep>``, ``<eos>``, a step token...), and every id below ``vocab_size`` (the model's
    embedding rows; default the tokenizer's length). A crafted ``tokenizer.json`` that maps two
    states to one id would otherwise merge them in every measured kernel."""
    ids = []
    V = len(tokenizer)
    limit = V if vocab_size is None else int(vocab_size)
    special = np.asarray(sorted(set(tokenizer.all_special_ids)), dtype=np.int64)
    for n in range(task.n_steps + 1):
        enc = tokenizer(list(task.state_strings(n)), add_special_tokens=False)["input_ids"]
        lengths = {len(e) for e in enc}
        if len(lengths) != 1:
            raise InputError(f"states of level {n} tokenize to different lengths {sorted(lengths)}")
        arr = np.asarray(enc, dtype=np.int64)
        if np.any(arr == tokenizer.unk_token_id):
            raise InputError(f"the tokenizer does not cover level {n} of task {task.name!r}")
        if float(V) ** arr.shape[1] >= 2.0**62:
            raise InputError(f"states of level {n} are too long ({arr.shape[1]} tokens) for the lookup")
        if arr.size and (arr.min() < 0 or arr.max() >= limit):
            raise InputError(f"the tokenizer gives level {n} token id {int(arr.max() if arr.max() >= limit else arr.min())}, "
                             f"outside the model's vocabulary of {limit}")
        if np.isin(arr, special).any():
            i = int(np.flatnonzero(np.isin(arr, special).any(axis=1))[0])
            raise InputError(f"the tokenizer maps state {task.state_strings(n)[i]!r} of level {n} onto a special token "
                             f"(id {int(arr[i][np.isin(arr[i], special)][0])})")
        if len(np.unique(arr, axis=0)) != arr.shape[0]:
            _, first, counts = np.unique(arr, axis=0, return_index=True, return_counts=True)
            row = arr[first[np.flatnonzero(counts > 1)[0]]]
            same = [task.state_strings(n)[i] for i in np.flatnonzero((arr == row).all(axis=1))[:2]]
            raise InputError(f"the tokenizer maps distinct states {same[0]!r} and {same[1]!r} of level {n} to the same "
                             f"token ids {row.tolist()}")
        ids.append(arr)
    steps = tuple(tokenizer.convert_tokens_to_ids(step_token(n)) for n in range(1, task.n_steps + 1))
    if tokenizer.unk_token_id in steps:
        raise InputError("the tokenizer lacks the step tokens of this task")
    marks = steps + (tokenizer.sep_token_id, tokenizer.eos_token_id, tokenizer.pad_token_id)
    if None in marks or len(set(marks)) != len(marks) or max(marks) >= limit or min(marks) < 0:
        raise InputError(f"the tokenizer's step, <sep>, <eos> and <pad> ids {list(marks)} must be distinct ids "
                         f"within the model's vocabulary of {limit}")
    return StateTable(
        ids=tuple(ids),
        step_ids=steps,
        sep_id=tokenizer.sep_token_id,
        eos_id=tokenizer.eos_token_id,
        pad_id=tokenizer.pad_token_id,
        vocab_size=V,
    )

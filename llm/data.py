"""Training examples: one example is one reasoning step.

Step ``n`` from state ``s`` (level ``n-1``) to ``s'`` (level ``n``) is the token sequence
``<stepn> ids(s) <sep> ids(s') <eos>`` (see :mod:`llm.tokenizer` and the task modules for the
text); the loss is on ``ids(s') <eos>`` only (the other labels are ``-100``). Batches mixing
steps of different lengths are right-padded with ``<pad>`` (masked out).

Pretraining examples come from chains of a corpus: either a CSV written by ``rlstar corpus``
or chains sampled on the fly from the mixture policy ``lam P* + (1 - lam) U`` of the task
(:func:`star_theory.mixture_policy`, sampled with :func:`star_theory.sample_chains`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import numpy as np

from star_theory import InputError, sample_chains

from .tokenizer import StateTable

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from star_theory import ReasoningTask
    from star_theory import TabularPolicy
    import torch

IGNORE = -100


@dataclass
class Batch:
    """``input_ids``, ``attention_mask`` and ``labels`` (numpy int64, shape ``(B, T)``)."""

    input_ids: np.ndarray
    attention_mask: np.ndarray
    labels: np.ndarray

    def to(self, device: torch.device) -> dict[str, torch.Tensor]:
        import torch

        return {k: torch.as_tensor(getattr(self, k), device=device) for k in ("input_ids", "attention_mask", "labels")}

    @property
    def n_tokens(self) -> int:
        return int(self.attention_mask.sum())


def prompt_ids(table: StateTable, n: int, previous: np.ndarray) -> np.ndarray:
    """Prompts ``<stepn> ids(s) <sep>`` for states ``previous`` of level ``n-1`` (shape ``(B, L+2)``)."""
    prev = table.ids[n - 1][np.asarray(previous, dtype=np.int64)]
    B = prev.shape[0]
    return np.concatenate(
        [np.full((B, 1), table.step_ids[n - 1]), prev, np.full((B, 1), table.sep_id)], axis=1
    )


def encode_steps(table: StateTable, steps, previous, following) -> Batch:
    """Examples for transitions ``(n, s, s')`` (arrays of equal length; ``n`` from 1)."""
    steps = np.asarray(steps, dtype=np.int64)
    previous = np.asarray(previous, dtype=np.int64)
    following = np.asarray(following, dtype=np.int64)
    B = steps.size
    lengths = {n: table.ids[n - 1].shape[1] + table.ids[n].shape[1] + 3 for n in np.unique(steps)}
    T = max(lengths.values()) if lengths else 1
    ids = np.full((B, T), table.pad_id, dtype=np.int64)
    mask = np.zeros((B, T), dtype=np.int64)
    labels = np.full((B, T), IGNORE, dtype=np.int64)
    for n, length in lengths.items():
        rows = np.flatnonzero(steps == n)
        prompt = prompt_ids(table, int(n), previous[rows])
        target = np.concatenate([table.ids[n][following[rows]], np.full((rows.size, 1), table.eos_id)], axis=1)
        P = prompt.shape[1]
        ids[rows, :P] = prompt
        ids[rows, P:length] = target
        mask[rows, :length] = 1
        labels[rows, P:length] = target
    return Batch(ids, mask, labels)


def row_radix(rows: np.ndarray) -> list[int] | None:
    """The mixed radix of :func:`row_keys` for a 2-d integer array with entries ``>= -1``: column ``j``
    holds ``rows[:, j] + 1`` in ``[0, max + 1]``, so its radix is ``max(column) + 2``; None when the
    rows are not such an array or their keys would not fit in int64."""
    if rows.ndim != 2 or rows.size == 0 or rows.dtype.kind not in "iu" or rows.min() < -1:
        return None
    radix = [int(m) + 2 for m in rows.max(axis=0)]
    return radix if np.prod(radix, dtype=object) < 2**63 else None


def row_keys(rows: np.ndarray, radix: list[int]) -> np.ndarray:
    """One int64 key per row: ``rows + 1`` read as a number in mixed radix ``radix`` (column 0 most
    significant), so keys sort as the rows do lexicographically (:func:`row_radix` gives the radix)."""
    keys = np.zeros(rows.shape[0], dtype=np.int64)
    for j, r in enumerate(radix):
        keys = keys * r + (rows[:, j] + 1)
    return keys


def unique_rows(rows: np.ndarray, return_counts: bool = False) -> Any:
    """``np.unique(rows, axis=0)`` (the same distinct rows, in the same lexicographic order, with the
    same counts) for a 2-d array of integers ``>= -1``, by sorting one int64 key per row
    (:func:`row_keys`). Anything else (smaller entries, keys of 63 bits or more) goes to ``np.unique``."""
    rows = np.asarray(rows)
    radix = row_radix(rows)
    if radix is None:
        return np.unique(rows, axis=0, return_counts=return_counts)  # type: ignore[call-overload]  # bool flag
    keys = np.unique(row_keys(rows, radix), return_counts=return_counts)  # type: ignore[call-overload]
    keys, counts = keys if return_counts else (keys, None)
    out = np.empty((keys.size, rows.shape[1]), dtype=rows.dtype)
    for j in range(rows.shape[1] - 1, -1, -1):
        keys, digit = np.divmod(keys, radix[j])
        out[:, j] = digit - 1
    return (out, counts) if return_counts else out


def chain_transitions(chains: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All transitions ``(n, s_{n-1}, s_n)`` of chains (shape ``(C, N+1)``), as three flat arrays."""
    chains = np.asarray(chains, dtype=np.int64)
    C, N1 = chains.shape
    steps = np.repeat(np.arange(1, N1)[None, :], C, axis=0).ravel()
    return steps, chains[:, :-1].ravel(), chains[:, 1:].ravel()


class ChainStream:
    """Pretraining batches: ``chains_per_batch`` chains per batch, all ``N`` steps of each.

    From a fixed set of chains (a corpus file), batches draw chains uniformly with replacement;
    from a policy, every batch samples fresh chains (questions from :math:`\\rho`). Both are
    deterministic functions of ``seed``.
    """

    def __init__(self, table: StateTable, task: ReasoningTask, chains_per_batch: int, seed: int, policy=None,
                 chains=None):
        if (policy is None) == (chains is None):
            raise InputError("give exactly one of a corpus policy or corpus chains")
        self.table, self.task, self.B = table, task, int(chains_per_batch)
        self.rng = np.random.default_rng(seed)
        self.policy, self.chains = policy, chains

    def next_batch(self) -> Batch:
        if self.chains is not None:
            rows = self.chains[self.rng.integers(0, len(self.chains), self.B)]
        else:
            s0 = self.rng.choice(self.task.sizes[0], size=self.B, p=self.task.question_dist)
            rows = sample_chains(self.policy, self.task, s0, self.rng)
        return encode_steps(self.table, *chain_transitions(rows))


def transition_batches(table: StateTable, transitions: tuple[np.ndarray, np.ndarray, np.ndarray], batch: int,
                       steps: int, seed: int) -> Iterator[Batch]:
    """``steps`` batches of ``batch`` transitions, reshuffled every epoch (for fine-tuning)."""
    n_steps, prev, nxt = (np.asarray(a) for a in transitions)
    total = n_steps.size
    if total == 0:
        return
    rng = np.random.default_rng(seed)
    order = rng.permutation(total)
    pos = 0
    for _ in range(steps):
        if pos + min(batch, total) > total:
            order, pos = rng.permutation(total), 0
        idx = order[pos : pos + batch]
        pos += idx.size
        yield encode_steps(table, n_steps[idx], prev[idx], nxt[idx])


@dataclass
class TransitionCounts:
    """A multiset of transitions as distinct triples ``(n, s, s')`` with their counts (or weights).

    Training on it is the count-weighted NLL :math:`-\\sum c\\,\\log p(s' \\mid n, s) / \\sum c`, the
    SFT loss of the multiset without duplicated rows. Its minimum over all kernels is the
    conditional entropy of the empirical kernel (:meth:`entropy`), reached at that kernel.
    """

    steps: np.ndarray
    prev: np.ndarray
    nxt: np.ndarray
    counts: np.ndarray  # float weights >= 0 (integer counts for kept chains)

    @classmethod
    def from_chains(cls, chains: np.ndarray) -> "TransitionCounts":
        """The transitions of chains ``(C, N+1)``, grouped into distinct triples."""
        steps, prev, nxt = chain_transitions(chains)
        if steps.size == 0:
            z = np.zeros(0, dtype=np.int64)
            return cls(z, z, z, np.zeros(0))
        triples, counts = unique_rows(np.stack([steps, prev, nxt], axis=1), return_counts=True)
        return cls(triples[:, 0], triples[:, 1], triples[:, 2], counts.astype(np.float64))

    @classmethod
    def from_policy(cls, policy: TabularPolicy, task: ReasoningTask) -> "TransitionCounts":
        """Expected transitions of one chain of ``policy`` from questions ~ rho (infinite corpus).

        Weight of ``(n, s, s')`` = :math:`\\Pr(s_{n-1} = s)\\,P_n(s' \\mid s)`, so each step sums to 1.
        """
        parts, marginal = [], np.asarray(task.question_dist, dtype=np.float64)
        for n, K in enumerate(policy.kernels, start=1):
            w = marginal[:, None] * K  # (|S_{n-1}|, |S_n|)
            s, s2 = np.nonzero(w > 0)
            parts.append((np.full(s.size, n), s, s2, w[s, s2]))
            marginal = marginal @ K
        return cls(*(np.concatenate([p[i] for p in parts]) for i in range(4)))

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    def row_totals(self) -> np.ndarray:
        """Total count of each triple's row ``(n, s)`` (aligned with the triples)."""
        key = self.steps * (int(self.prev.max(initial=0)) + 1) + self.prev
        _, inv = np.unique(key, return_inverse=True)
        return np.bincount(inv, weights=self.counts)[inv]

    def entropy(self) -> float:
        """Conditional entropy of the empirical kernel, nats per transition: the smallest NLL."""
        if self.total == 0:
            return 0.0
        c = self.counts
        return float(-(c * np.log(c / self.row_totals())).sum() / c.sum())

    def kernels(self, sizes: Sequence[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Empirical kernels per step (rows normalised; unvisited rows zero) and their row counts."""
        kernels, totals = [], []
        for n in range(1, len(sizes)):
            k = np.zeros((sizes[n - 1], sizes[n]))
            sel = self.steps == n
            np.add.at(k, (self.prev[sel], self.nxt[sel]), self.counts[sel])
            tot = k.sum(axis=1)
            kernels.append(np.divide(k, tot[:, None], out=np.zeros_like(k), where=tot[:, None] > 0))
            totals.append(tot)
        return kernels, totals

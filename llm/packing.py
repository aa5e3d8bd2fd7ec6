r"""Prefix-tree packing: every continuation of one prompt in one sequence, with soft targets.

A multiset of transitions (:class:`llm.data.TransitionCounts`) with multi-token states (``symbol``
tokens) holds many triples ``(n, s, s')`` per prompt ``<stepn> ids(s) <sep>``, whose continuations
``ids(s') <eos>`` share prefixes. Packed, one prompt is ONE sequence: the prompt's tokens, then the
trie of its distinct continuations, one position per trie node (token ``ids(s')_j`` at the node of
the prefix ``ids(s')_{<=j}``). Position ``i`` attends to its ancestors and itself only (a tree
attention mask) and has position id ``depth(i)``, its index in the unpacked sequence; so its
hidden state is exactly the one of the unpacked sequence ``prompt + prefix``. The target at node
``v`` (the prompt's last token ``<sep>`` is the root) is the count-weighted distribution of its
children, weighted by the node's own count:

.. math::

    \mathcal L = -\frac{1}{C} \sum_{v} \sum_{u \in \text{children}(v)} c_u \log p_\theta(\text{tok}(u) \mid v),

with :math:`c_u` the total count of the continuations through ``u`` (the children of a node at
the last token of ``s'`` are the ``<eos>`` of that one continuation, of count :math:`c_{n s s'}`).
Summing the unpacked loss :math:`-\frac1C \sum c_{n s s'} \sum_j \log p(\text{tok}_j \mid
\text{prefix}_{<j})` by the node each term is conditioned on gives the same sum term by term:
the packed loss equals the unpacked count-weighted loss exactly (up to float summation order).
``<eos>`` is a target only, never an input (its logits would predict nothing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .data import TransitionCounts, prompt_ids
from .tokenizer import StateTable

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from transformers import PreTrainedModel


@dataclass
class PackedTrees:
    """``P`` packed prompts, right-padded to ``T`` positions.

    ``input_ids``, ``position_ids`` ``(P, T)``; ``allowed`` ``(P, T, T)`` bool, ``allowed[p, i, j]``
    when position ``j`` is an ancestor of ``i`` or ``i`` itself (a padding position sees itself
    only); the soft targets as flat arrays ``(E,)``: ``target_row``, ``target_pos``, ``target_tok``
    and ``target_w`` (count / total count), sorted by row; ``row_w`` ``(P,)`` the weight of each
    prompt (its triples' counts / total count); ``lengths`` ``(P,)`` the
    real positions of each row, ``unpacked_positions`` the positions of the same triples unpacked
    (``L_{n-1} + L_n + 3`` each, as :func:`llm.data.encode_steps` writes them).
    """

    input_ids: np.ndarray
    position_ids: np.ndarray
    allowed: np.ndarray
    target_row: np.ndarray
    target_pos: np.ndarray
    target_tok: np.ndarray
    target_w: np.ndarray
    row_w: np.ndarray
    lengths: np.ndarray
    unpacked_positions: int

    @property
    def rows(self) -> int:
        return self.input_ids.shape[0]

    @property
    def positions(self) -> int:
        """Real (unpadded) positions of all packed rows."""
        return int(self.lengths.sum())


def pack_counts(counts: TransitionCounts, table: StateTable) -> PackedTrees:
    """The prefix-tree packing of ``counts`` (every distinct prompt one row; see the module)."""
    if counts.counts.size == 0:
        raise ValueError("nothing to pack: the counts are empty")
    if np.any(counts.counts < 0):
        raise ValueError("counts must be >= 0")
    total = counts.total
    key = counts.steps * (int(counts.prev.max(initial=0)) + 1) + counts.prev
    _, first, row_of = np.unique(key, return_index=True, return_inverse=True)
    rows = []  # per prompt: (tokens, depths, parents, {(pos, tok): weight})
    for p, i in enumerate(first):
        n, s = int(counts.steps[i]), int(counts.prev[i])
        prompt = prompt_ids(table, n, np.array([s]))[0]
        tokens, depths, parents = list(prompt), list(range(prompt.size)), [-1] + list(range(prompt.size - 1))
        nodes: dict[tuple[int, ...], int]
        targets: dict[tuple[int, int], float]
        nodes, targets = {(): prompt.size - 1}, {}
        for j in np.flatnonzero(row_of == p):
            c = float(counts.counts[j])
            cont = table.ids[n][counts.nxt[j]]
            prefix: tuple[int, ...] = ()
            for tok in cont:
                at = nodes[prefix]
                targets[at, int(tok)] = targets.get((at, int(tok)), 0.0) + c
                prefix = prefix + (int(tok),)
                if prefix not in nodes:
                    nodes[prefix] = len(tokens)
                    tokens.append(int(tok))
                    depths.append(depths[at] + 1)
                    parents.append(at)
            at = nodes[prefix]
            targets[at, table.eos_id] = targets.get((at, table.eos_id), 0.0) + c
        rows.append((tokens, depths, parents, targets))
    P, T = len(rows), max(len(r[0]) for r in rows)
    ids = np.full((P, T), table.pad_id, dtype=np.int64)
    pos = np.zeros((P, T), dtype=np.int64)
    allowed = np.zeros((P, T, T), dtype=bool)
    allowed[:, np.arange(T), np.arange(T)] = True  # every position sees itself (padding: only itself)
    t_row, t_pos, t_tok, t_w, lengths = [], [], [], [], []
    for p, (tokens, depths, parents, targets) in enumerate(rows):
        L = len(tokens)
        ids[p, :L], pos[p, :L] = tokens, depths
        for i in range(1, L):  # parents precede children: a node sees what its parent sees, and itself
            allowed[p, i, :i] |= allowed[p, parents[i], :i]
        for (at, tok), c in sorted(targets.items()):
            t_row.append(p), t_pos.append(at), t_tok.append(tok), t_w.append(c / total)  # type: ignore[func-returns-value]
        lengths.append(L)
    unpacked = int(sum(table.ids[n - 1].shape[1] + table.ids[n].shape[1] + 3 for n in counts.steps))
    return PackedTrees(ids, pos, allowed, np.array(t_row), np.array(t_pos), np.array(t_tok), np.array(t_w),
                       np.bincount(row_of, weights=counts.counts) / total, np.array(lengths), unpacked)


def attention_bias(allowed, model: PreTrainedModel, dtype):
    """The 4D mask ``(P, 1, T, T)`` that ``model``'s attention takes as it is (transformers passes a
    4D mask through unchanged): bool (True = attend) for SDPA, else additive (0 or the dtype's
    minimum; eager attention adds it to the scores)."""
    import torch

    mask = allowed[:, None]
    if getattr(model.config, "_attn_implementation", "eager") == "sdpa":
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)

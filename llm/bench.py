"""Throughput of the LLM backend on the current device, printed as JSON.

* sampling: chains per second, batched (all chains of a step in one forward pass per token,
  with the key/value cache) against one chain at a time (same code, batch of 1) — the ratio is
  what batching buys; also batched without the KV cache (re-running the prefix every token);
* training: tokens per second of the training loop on pretraining batches;
* the exact fast paths against their references, as ratios: chains/s of the prefix-tree sampler
  (``sampler="trie"``, every chain of ``questions x samples_per_question``) against the batched
  token-by-token sampler (timed on at most ``token_chains`` of them: its rate does not depend on
  the count), and transitions/s of count-weighted fine-tuning (one full-batch step covers the
  whole multiset of transitions; :mod:`llm.fit`) against per-example fine-tuning (one step covers
  ``finetune_batch`` transitions). The multiset is every transition of ``questions x
  samples_per_question`` chains of the corpus policy ``lam = 0.3``;
* with multi-token states (``symbol`` tokens): the prefix-tree packing of that multiset against
  one row per distinct triple, as the ratio of their positions and of the time of one full-loss
  forward and backward pass (the same loss, :mod:`llm.packing`);
* counting that multiset into distinct triples (:meth:`llm.data.TransitionCounts.from_chains`): one
  int64 key per row (:func:`llm.data.unique_rows`) against ``np.unique(axis=0)`` (the same rows,
  order and counts), as the ratio of their times.

The model is a fresh preset model (throughput does not depend on the weights).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from star_theory import mixture_policy
from star_theory import sample_chains as tabular_chains
from star_theory.sampling import questions_for

from .data import ChainStream, TransitionCounts, chain_transitions, transition_batches, unique_rows
from .device import generator, resolve_device, set_threads
from .fit import TreeLoss, fit_counts, make_loss
from .model import SIZES, build_model
from .sample import sample_chains
from star_theory.task_registry import describe_task, make_task
from .tokenizer import build_tokenizer, state_table
from .train import train

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .config import LLMConfig
    from .tokenizer import StateTable
    from transformers import PreTrainedModel
    import torch


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _spread(questions: np.ndarray, most: int) -> np.ndarray:
    """At most ``most`` of ``questions``, evenly spread over them (first and last kept)."""
    return questions[np.linspace(0, questions.size - 1, min(most, questions.size)).astype(int)]


def benchmark(cfg: LLMConfig, repeats: int = 3, unbatched_chains: int = 32, token_chains: int = 4096) -> dict:
    """Sampling (batched / unbatched / no-cache) and training throughput for ``cfg``'s model."""
    import torch

    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    tt = make_task(cfg.task, cfg.task_params)
    tok = build_tokenizer(tt, cfg.tokenization)
    table = state_table(tt, tok)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model if cfg.model in SIZES else "tiny", len(tok), tok,
                        cfg.init_range).to(device).eval()
    questions = _spread(questions_for(tt.task, cfg.samples_per_question), token_chains)
    gen = generator(device, cfg.seed)

    def batched(use_cache=True):
        sample_chains(model, table, questions, gen, device, batch_size=cfg.batch_size, use_cache=use_cache)

    def unbatched():
        sample_chains(model, table, questions[:unbatched_chains], gen, device, batch_size=1)

    t_batched = _best(batched, repeats)
    t_nocache = _best(lambda: batched(False), repeats)
    t_single = _best(unbatched, repeats)
    stream = ChainStream(table, tt.task, cfg.pretrain_batch, cfg.seed, policy=mixture_policy(tt.task, lam=0.3))
    batches = [stream.next_batch() for _ in range(10)]
    tokens = sum(b.n_tokens for b in batches)
    train(model, iter(batches[:2]), 2, 1e-4, device)  # warm-up (allocations, kernels)
    t_train = _best(lambda: train(model, iter(batches), len(batches), 1e-4, device), repeats)
    out: dict[str, Any] = {
        "device": str(device),
        "threads": cfg.threads,
        "model": cfg.model,
        "task": describe_task(cfg.task, cfg.task_params),
        "tokenization": cfg.tokenization,
        "sampling_chains": int(questions.size),
        "sampling_batched_chains_per_s": questions.size / t_batched,
        "sampling_batched_no_cache_chains_per_s": questions.size / t_nocache,
        "sampling_unbatched_chains_per_s": unbatched_chains / t_single,
        "training_tokens_per_s": tokens / t_train,
        "training_batch_tokens": tokens // len(batches),
    }
    out["ratio_batched_vs_unbatched"] = out["sampling_batched_chains_per_s"] / out["sampling_unbatched_chains_per_s"]
    out["ratio_kv_cache_vs_no_cache"] = out["sampling_batched_chains_per_s"] / out["sampling_batched_no_cache_chains_per_s"]
    out.update(exact_paths(cfg, model, tt, table, device, gen, repeats, token_chains))
    return out


def exact_paths(cfg: LLMConfig, model: PreTrainedModel, tt, table: StateTable, device: torch.device, gen,
                repeats: int, token_chains: int) -> dict:
    """Trie against token-by-token sampling, count-weighted against per-example fine-tuning."""
    questions = questions_for(tt.task, cfg.samples_per_question)
    few = _spread(questions, token_chains)
    t_trie = _best(lambda: sample_chains(model, table, questions, gen, device, cfg.batch_size, sampler="trie"), repeats)
    t_token = _best(lambda: sample_chains(model, table, few, gen, device, cfg.batch_size, sampler="token"), repeats)
    chains = tabular_chains(mixture_policy(tt.task, lam=0.3), tt.task, questions, np.random.default_rng(cfg.seed))
    counts = TransitionCounts.from_chains(chains)
    steps = 5
    t_weighted = _best(lambda: fit_counts(model, counts, table, device, 1e-4, steps, stop="steps",
                                          batch=cfg.finetune_batch), repeats)
    transitions = chain_transitions(chains)
    t_examples = _best(lambda: train(model, transition_batches(table, transitions, cfg.finetune_batch, steps, 0),
                                     steps, 1e-4, device, schedule="constant"), repeats)
    out: dict[str, Any] = {
        "trie_chains": int(questions.size),
        "trie_chains_per_s": questions.size / t_trie,
        "token_chains": int(few.size),
        "token_chains_per_s": few.size / t_token,
        "finetune_transitions": int(counts.total),
        "finetune_distinct_rows": int(counts.counts.size),
        "weighted_transitions_per_s": steps * counts.total / t_weighted,
        "examples_transitions_per_s": steps * cfg.finetune_batch / t_examples,
    }
    out["ratio_trie_vs_token"] = out["trie_chains_per_s"] / out["token_chains_per_s"]
    out["ratio_weighted_vs_examples"] = out["weighted_transitions_per_s"] / out["examples_transitions_per_s"]
    # counting an iteration's transitions (TransitionCounts.from_chains): one int64 key per row against numpy's rows
    triples = np.stack(transitions, axis=1)
    out["count_transitions"] = int(triples.shape[0])
    out["keyed_unique_s"] = _best(lambda: unique_rows(triples, return_counts=True), repeats)
    out["numpy_unique_rows_s"] = _best(lambda: np.unique(triples, axis=0, return_counts=True), repeats)
    out["ratio_keyed_vs_numpy_unique"] = out["numpy_unique_rows_s"] / out["keyed_unique_s"]
    out.update(packing(model, counts, table, device, repeats))
    return out


def packing(model: PreTrainedModel, counts: TransitionCounts, table: StateTable, device: torch.device,
            repeats: int) -> dict:
    """Prefix-tree packing (:class:`llm.fit.TreeLoss`) against one row per distinct triple
    (:class:`llm.fit.SequenceLoss`): positions, and the time of one full-loss forward and backward
    pass over the whole multiset (the same loss)."""
    packed, unpacked = (make_loss(counts, table, device, counts.counts.size, 0, packed=p) for p in (True, False))
    if not isinstance(packed, TreeLoss):  # one-token states fit by soft targets already (StateLoss)
        return {}

    def step(loss_fn):
        model.zero_grad(set_to_none=True)
        loss_fn(model, full=True).backward()

    step(packed)  # warm-up (allocations)
    t_packed, t_unpacked = _best(lambda: step(packed), repeats), _best(lambda: step(unpacked), repeats)
    model.zero_grad(set_to_none=True)
    out = {"packed_rows": packed.rows, "packed_positions": packed.packed.positions,
           "unpacked_rows": unpacked.rows, "unpacked_positions": packed.packed.unpacked_positions,
           "packed_step_s": t_packed, "unpacked_step_s": t_unpacked}
    out["ratio_unpacked_vs_packed_positions"] = out["unpacked_positions"] / out["packed_positions"]
    out["ratio_packed_vs_unpacked_speed"] = t_unpacked / t_packed
    return out

"""Throughput of the LLM backend on the current device, printed as JSON.

* sampling: chains per second, batched (all chains of a step in one forward pass per token,
  with the key/value cache) against one chain at a time (same code, batch of 1) — the ratio is
  what batching buys; also batched without the KV cache (re-running the prefix every token);
* training: tokens per second of the training loop on pretraining batches.

The model is a fresh preset model (throughput does not depend on the weights).
"""

from __future__ import annotations

import time

import numpy as np


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def benchmark(cfg, repeats: int = 3, unbatched_chains: int = 32) -> dict:
    """Sampling (batched / unbatched / no-cache) and training throughput for ``cfg``'s model."""
    import torch
    from star_theory import mixture_policy

    from .data import ChainStream
    from .device import generator, resolve_device, set_threads
    from .model import build_model
    from .sample import sample_chains
    from .tasks import get_task
    from .tokenizer import build_tokenizer, state_table
    from .train import train

    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    tt = get_task(cfg.task, cfg.digits, cfg.base)
    tok = build_tokenizer(tt, cfg.tokenization)
    table = state_table(tt, tok)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model if cfg.model in ("tiny", "small", "gpt2-small") else "tiny", len(tok), tok,
                        cfg.init_range).to(device).eval()
    questions = np.repeat(np.arange(tt.task.sizes[0]), cfg.samples_per_question)
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
    out = {
        "device": str(device),
        "threads": cfg.threads,
        "model": cfg.model,
        "task": f"{cfg.task} D={cfg.digits} b={cfg.base}",
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
    return out

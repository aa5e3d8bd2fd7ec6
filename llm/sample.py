"""Autoregressive chain sampling: batched, step by step, token by token.

A chain starts at a question ``s0``. Step ``n`` feeds the prompt ``<stepn> ids(s_{n-1}) <sep>``
and draws ``L_n + 1`` tokens one at a time from the model's softmax (temperature 1), each
conditioned on the model's own previous tokens (with the key/value cache, or by re-running the
whole prefix when ``use_cache=False``). The model sees only the previous state, as in the
Markov model of the analysis.

**Output that is not a valid state.** The generated tokens are a valid step when the first
``L_n`` tokens spell a state of level ``n`` and the last one is ``<eos>``. An invalid step is
re-generated, up to ``max_retries`` times; re-generating until valid samples exactly from the
model's distribution *conditioned on a valid state*, which is the kernel that
:mod:`llm.measure` computes (its rows are renormalised over valid states). A chain whose step
is still invalid after the retries is marked invalid: it gets no answer, counts as incorrect,
and its later steps are not generated. Both counts are reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .data import prompt_ids
from .tokenizer import StateTable


@dataclass
class SampledChains:
    """Chains ``states`` (``(C, N+1)``, ``-1`` after an invalid step), their validity and log-probs."""

    states: np.ndarray
    valid: np.ndarray
    logprob: np.ndarray
    invalid_steps: int
    generated_tokens: int


def generate(model, prompts, n_new: int, generator, use_cache: bool = True):
    """Draw ``n_new`` tokens after each prompt (all prompts of equal length).

    Returns ``(tokens, logprob)``: ``tokens`` of shape ``(B, n_new)`` and the summed log-probability
    of the drawn tokens (shape ``(B,)``).
    """
    import torch

    tokens = []
    logprob = torch.zeros(prompts.shape[0], device=prompts.device)
    seq = prompts
    out = model(input_ids=prompts, use_cache=use_cache)
    for i in range(n_new):
        logp = torch.log_softmax(out.logits[:, -1].float(), dim=-1)
        tok = torch.multinomial(logp.exp(), 1, generator=generator)  # (B, 1)
        logprob += logp.gather(1, tok)[:, 0]
        tokens.append(tok)
        if i == n_new - 1:
            break
        if use_cache:
            out = model(input_ids=tok, past_key_values=out.past_key_values, use_cache=True)
        else:
            seq = torch.cat([seq, tok], dim=1)
            out = model(input_ids=seq, use_cache=False)
    return torch.cat(tokens, dim=1), logprob


def sample_chains(
    model,
    table: StateTable,
    questions,
    generator,
    device,
    batch_size: int = 2048,
    max_retries: int = 3,
    use_cache: bool = True,
    progress: bool = False,
) -> SampledChains:
    """Sample one chain per entry of ``questions`` (start states) from ``model``."""
    import torch
    from tqdm.auto import tqdm

    from .device import autocast

    questions = np.asarray(questions, dtype=np.int64)
    C, N = questions.size, len(table.ids) - 1
    states = np.full((C, N + 1), -1, dtype=np.int64)
    states[:, 0] = questions
    valid = np.ones(C, dtype=bool)
    logprob = np.zeros(C)
    invalid_steps = generated = 0
    model.eval()
    bar = tqdm(total=N * C, desc="sample", unit="step", disable=not progress, leave=False)
    with torch.no_grad(), autocast(device):
        for n in range(1, N + 1):
            L = table.ids[n].shape[1]
            alive = np.flatnonzero(valid)
            for start in range(0, alive.size, batch_size):
                todo = alive[start : start + batch_size]
                for attempt in range(max_retries + 1):
                    if todo.size == 0:
                        break
                    prompts = torch.as_tensor(prompt_ids(table, n, states[todo, n - 1]), device=device)
                    toks, lp = generate(model, prompts, L + 1, generator, use_cache)
                    toks = toks.cpu().numpy()
                    generated += toks.size
                    idx = table.lookup(n, toks[:, :L])
                    ok = (idx >= 0) & (toks[:, L] == table.eos_id)
                    states[todo[ok], n] = idx[ok]
                    logprob[todo[ok]] += lp.cpu().numpy()[ok]
                    invalid_steps += int((~ok).sum())
                    todo = todo[~ok]
                valid[todo] = False
                bar.update(min(batch_size, alive.size - start))
            bar.update(C - alive.size)
    bar.close()
    return SampledChains(states, valid, logprob, invalid_steps, generated)

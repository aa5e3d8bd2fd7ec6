r"""Autoregressive chain sampling: token by token (the reference) or from the prefix tree (exact, fast).

A chain starts at a question ``s0``. Step ``n`` feeds the prompt ``<stepn> ids(s_{n-1}) <sep>``
and draws ``L_n + 1`` tokens one at a time from the model's softmax (at ``temperature``, default
1), each conditioned on the model's own previous tokens. The model sees only the previous state,
as in the Markov model of the analysis.

**Output that is not a valid state.** The generated tokens are a valid step when the first
``L_n`` tokens spell a state of level ``n`` and the last one is ``<eos>``. An invalid step is
re-generated, up to ``max_retries`` times; re-generating until valid samples exactly from the
model's distribution *conditioned on a valid state*, which is the kernel that
:mod:`llm.measure` computes (its rows are renormalised over valid states). A chain whose step
is still invalid after the retries is marked invalid: it gets no answer, counts as incorrect,
and its later steps are not generated. Both counts are reported.

**Two samplers, one distribution** (``sampler`` in the config):

* ``token``: the reference. Every chain draws its tokens with ``torch.multinomial``, one forward
  pass per token with the key/value cache (transformers' ``cache=`` API), batched over chains.
  Cost grows with the number of chains ``K``.
* ``trie``: exact and independent of ``K``. Since the model sees only the previous state, step
  ``n`` has at most :math:`|S_{n-1}|` distinct prompts, and the valid continuations of a prompt
  form a prefix tree whose leaves are the states of level ``n`` followed by ``<eos>``. One batched,
  teacher-forced pass over the leaves of the distinct prompts (:func:`llm.measure.step_log_scores`;
  a causal model gives every tree node the same next-token distribution as the token-by-token
  walk) yields :math:`q_n(s' \mid s) = \prod_j p(t_j \mid \text{prefix})`, the probability that one
  attempt writes exactly ``s' <eos>``. An attempt is valid with probability
  :math:`v(s) = \sum_{s'} q_n(s' \mid s)`; attempts are independent, so the number of invalid
  attempts before the first valid one is geometric with success probability ``v(s)``, truncated at
  ``max_retries + 1`` (then the chain is invalid), and the valid state is drawn from
  :math:`q_n(\cdot \mid s) / v(s)`. This is the token-by-token law exactly (chain states, validity,
  invalid-step counts, log-probabilities), without ever generating the invalid branches: the two
  draw from one distribution with different random numbers (``tests/test_llm_trie.py`` checks it
  with a chi-square test).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from star_theory import InputError

from .data import prompt_ids
from .device import autocast
from .measure import check_temperature, step_log_scores, tempered_log_softmax
from .tokenizer import StateTable

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from transformers import PreTrainedModel
    import torch


@dataclass
class SampledChains:
    """Chains ``states`` (``(C, N+1)``, ``-1`` after an invalid step), their validity and log-probs."""

    states: np.ndarray
    valid: np.ndarray
    logprob: np.ndarray
    invalid_steps: int
    generated_tokens: int


def generate(model: PreTrainedModel, prompts: torch.Tensor, n_new: int, generator: torch.Generator,
             use_cache: bool = True, temperature: float = 1.0):
    """Draw ``n_new`` tokens after each prompt (all prompts of equal length), at ``temperature``.

    Returns ``(tokens, logprob)``: ``tokens`` of shape ``(B, n_new)`` and the summed log-probability
    of the drawn tokens (shape ``(B,)``).
    """
    import torch

    tokens = []
    logprob = torch.zeros(prompts.shape[0], device=prompts.device)
    seq = prompts
    out = model(input_ids=prompts, use_cache=use_cache)
    for i in range(n_new):
        logp = tempered_log_softmax(out.logits[:, -1], temperature)  # (B, V)
        tok = torch.multinomial(logp.exp(), 1, generator=generator)  # (B, 1)
        logprob += logp.gather(1, tok)[:, 0]
        tokens.append(tok)
        if i == n_new - 1:
            break
        if use_cache:
            out = model(input_ids=tok, cache=out.cache, use_cache=True)  # the KV cache grows by one token
        else:
            seq = torch.cat([seq, tok], dim=1)
            out = model(input_ids=seq, use_cache=False)
    return torch.cat(tokens, dim=1), logprob


SAMPLERS = ("trie", "token")


def sample_chains(
    model: PreTrainedModel,
    table: StateTable,
    questions: np.ndarray,
    generator: torch.Generator,
    device: torch.device,
    batch_size: int = 2048,
    max_retries: int = 3,
    use_cache: bool = True,
    progress: bool = False,
    sampler: str = "token",
    temperature: float = 1.0,
    log_scores: Sequence[np.ndarray] | None = None,
) -> SampledChains:
    """Sample one chain per entry of ``questions`` (start states) from ``model`` with ``sampler``.

    ``log_scores``: the trie sampler may reuse the scores :func:`llm.measure.measure` computed for
    this very model (``Measurement.log_scores``, temperature 1) instead of scoring again.
    """
    if sampler not in SAMPLERS:
        raise InputError(f"sampler must be one of {SAMPLERS}, got {sampler!r}")
    temperature = check_temperature(temperature)
    questions = np.asarray(questions, dtype=np.int64)
    if sampler == "trie":
        return sample_trie(model, table, questions, generator, device, batch_size, max_retries, temperature,
                           log_scores)
    return sample_tokens(model, table, questions, generator, device, batch_size, max_retries, use_cache,
                         progress, temperature)


def _empty_chains(questions: np.ndarray, N: int):
    states = np.full((questions.size, N + 1), -1, dtype=np.int64)
    states[:, 0] = questions
    return states, np.ones(questions.size, dtype=bool), np.zeros(questions.size)


def sample_tokens(model: PreTrainedModel, table: StateTable, questions: np.ndarray, generator: torch.Generator,
                  device: torch.device, batch_size: int = 2048, max_retries: int = 3, use_cache: bool = True,
                  progress: bool = False, temperature: float = 1.0) -> SampledChains:
    """The reference sampler: every chain's tokens drawn one at a time, invalid steps re-generated."""
    import torch
    from tqdm.auto import tqdm

    C, N = questions.size, len(table.ids) - 1
    states, valid, logprob = _empty_chains(questions, N)
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
                    toks, lp = generate(model, prompts, L + 1, generator, use_cache, temperature)
                    toks = toks.cpu().numpy()  # (B, L+1)
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


def failures_before_valid(v: np.ndarray, u: np.ndarray, max_retries: int) -> np.ndarray:
    r"""Invalid attempts before the first valid one, capped at ``max_retries + 1`` (= chain invalid).

    Attempts are independent and valid with probability ``v``, so the count ``F`` is geometric:
    :math:`\Pr(F \ge k) = (1 - v)^k`; inverse transform of the uniforms ``u`` in (0, 1].
    """
    v = np.clip(v, 0.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.floor(np.log(u) / np.log1p(-v))
    f = np.where(v >= 1.0, 0.0, np.where(v <= 0.0, np.inf, f))
    return np.minimum(np.nan_to_num(f, nan=0.0, posinf=max_retries + 1), max_retries + 1).astype(np.int64)


def _draw_rows(P: np.ndarray, group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """One index per entry, drawn from row ``P[group[i]]`` by inverse transform of ``u[i]``."""
    out = np.empty(group.size, dtype=np.int64)
    cdf = np.cumsum(P, axis=1)
    for g in np.unique(group):
        sel = np.flatnonzero(group == g)
        out[sel] = np.searchsorted(cdf[g], u[sel] * cdf[g, -1], side="right")
    return np.minimum(out, P.shape[1] - 1)


def sample_trie(model: PreTrainedModel, table: StateTable, questions: np.ndarray, generator: torch.Generator,
                device: torch.device, batch_size: int = 2048, max_retries: int = 3,
                temperature: float = 1.0, log_scores: Sequence[np.ndarray] | None = None) -> SampledChains:
    """The exact prefix-tree sampler (module docstring): one scoring pass per distinct prompt."""
    import torch

    N = len(table.ids) - 1
    states, valid, logprob = _empty_chains(questions, N)
    invalid_steps = generated = 0
    model.eval()
    for n in range(1, N + 1):
        L = table.ids[n].shape[1]
        alive = np.flatnonzero(valid)
        if alive.size == 0:
            break
        prompts, group = np.unique(states[alive, n - 1], return_inverse=True)  # distinct prompts
        if log_scores is not None and temperature == 1.0:
            logq = np.asarray(log_scores[n - 1])[prompts]
        else:
            logq = step_log_scores(model, table, n, device, batch_size, rows=prompts, temperature=temperature)
        q = np.exp(logq)  # (U, |S_n|): one attempt writes exactly s' <eos>
        draws = torch.rand((2, alive.size), generator=generator, device=generator.device, dtype=torch.float64)
        u = 1.0 - draws.cpu().numpy()  # in (0, 1]
        fails = failures_before_valid(q.sum(axis=1)[group], u[0], max_retries)
        ok = fails <= max_retries
        nxt = _draw_rows(q, group, u[1])
        invalid_steps += int(fails.sum())
        generated += int((np.minimum(fails, max_retries) + 1).sum()) * (L + 1)
        states[alive[ok], n] = nxt[ok]
        logprob[alive[ok]] += logq[group[ok], nxt[ok]]
        valid[alive[~ok]] = False
    return SampledChains(states, valid, logprob, invalid_steps, generated)

r"""A model as a tabular policy: exact per-step kernels and the analysis's quantities.

**Exact kernel.** For step ``n``, every current state ``s`` of level ``n-1`` and every candidate
next state ``s'`` of level ``n``, the sequence ``<stepn> ids(s) <sep> ids(s') <eos>`` is scored by
one teacher-forced forward pass (batched over all :math:`|S_{n-1}| \cdot |S_n|` pairs):

.. math::

    q_n(s' \mid s) = \prod_{j} p_\theta(t_j \mid \text{prefix}) \quad
    \text{over the tokens } t_j \text{ of } s' \text{ and } \texttt{<eos>},

    P_n(s' \mid s) = q_n(s' \mid s) / \sum_{s''} q_n(s'' \mid s).

The row sum :math:`\sum_{s'} q_n(s' \mid s)` is the probability that the model writes a valid
state at all (``valid_mass``); the kernel is conditioned on validity, which is what the sampler
draws from (it re-generates invalid steps; see :mod:`llm.sample`).

From the kernels, with :mod:`star_theory`: the exact accuracy :math:`J` by matrix products
(:func:`star_theory.accuracy`), the flawed-chain share among correct chains
(:func:`star_theory.flawed_chain_share`), per-step correctness, and on a bijective task the
fitted :math:`\lambda_n` and the distance from the symmetric family
(:func:`star_theory.fit_symmetric`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from star_theory import InputError, TabularPolicy, accuracy, fit_symmetric, flawed_chain_share, step_correctness

from .data import IGNORE, encode_steps
from .device import autocast
from .tokenizer import StateTable

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from star_theory.task_protocol import Task as TextTask
    from transformers import PreTrainedModel
    import torch

#: the smallest sampling temperature: float32's smallest normal number (the logits are float32; a
#: smaller, subnormal temperature is not represented). Both samplers refuse anything below it.
MIN_TEMPERATURE = float(np.finfo(np.float32).tiny)


def check_temperature(temperature: float) -> float:
    """A sampling temperature: a number (not a bool) in ``[MIN_TEMPERATURE, inf)``."""
    if isinstance(temperature, (bool, np.bool_)) or not isinstance(temperature, (int, float, np.integer, np.floating)):
        raise InputError(f"temperature must be a number, got {temperature!r}")
    t = float(temperature)
    if not (t >= MIN_TEMPERATURE and np.isfinite(t)):
        raise InputError(f"temperature must be finite and >= {MIN_TEMPERATURE!r} (float32's smallest normal number), "
                         f"got {temperature!r}")
    return t


def tempered_log_softmax(logits: torch.Tensor, temperature: float) -> torch.Tensor:
    r""":math:`\log \mathrm{softmax}(z / T)` over the last axis, with ``z`` shifted by its maximum
    first, so that a small ``T`` sends the largest logit to 0 and the others to ``-inf`` (greedy in
    the limit) instead of overflowing to ``inf - inf``."""
    import torch

    z = logits.float()
    z = z - z.amax(dim=-1, keepdim=True)
    return torch.log_softmax(z / check_temperature(temperature), dim=-1)


def sequence_logprob(model: PreTrainedModel, batch, device: torch.device, temperature: float = 1.0) -> np.ndarray:
    """Summed log-probability of the labelled tokens of every row of ``batch`` (teacher forcing).

    With ``temperature`` T, each token's distribution is the softmax of the logits divided by T
    (what a sampler at temperature T draws from, token by token).
    """
    import torch

    inputs = batch.to(device)
    with torch.no_grad(), autocast(device):
        logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False).logits
    logp = tempered_log_softmax(logits[:, :-1], temperature)
    labels = inputs["labels"][:, 1:]
    mask = labels != IGNORE
    tok = logp.gather(2, labels.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.where(mask, tok, torch.zeros_like(tok)).sum(dim=1).double().cpu().numpy()  # -inf * 0 would be nan


def step_log_scores(
    model: PreTrainedModel, table: StateTable, n: int, device: torch.device, batch_size: int = 2048,
    rows: np.ndarray | None = None, temperature: float = 1.0
) -> np.ndarray:
    r""":math:`\log q_n(s' \mid s)` for all pairs (shape ``(|S_{n-1}|, |S_n|)``).

    ``rows``: only these previous states ``s`` (shape ``(len(rows), |S_n|)``); default all.
    """
    states = np.arange(table.ids[n - 1].shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    M0, M1 = states.size, table.ids[n].shape[0]
    prev = np.repeat(states, M1)
    nxt = np.tile(np.arange(M1), M0)
    out = np.empty(prev.size)
    for start in range(0, prev.size, batch_size):
        sl = slice(start, start + batch_size)
        batch = encode_steps(table, np.full(prev[sl].size, n), prev[sl], nxt[sl])
        out[sl] = sequence_logprob(model, batch, device, temperature)
    return out.reshape(M0, M1)


@dataclass
class Measurement:
    """The model as a policy, and the quantities of the analysis computed on it."""

    policy: TabularPolicy
    valid_mass: np.ndarray  # (N,) mean over states s of the probability of writing a valid state
    exact_accuracy: float
    flawed_chain_share: float
    step_correct: np.ndarray  # (N,) Pr(s_n = s_n^*) along the model's own chains
    lam: np.ndarray | None  # (N,) fitted lam_n (bijective tasks), else None
    eps: np.ndarray | None
    distance: np.ndarray | None  # (N,) mean TV distance of each kernel from its symmetric fit
    log_scores: list | None = None  # per step, log q_n(s' | s) before normalisation ((|S_{n-1}|, |S_n|))

    def record(self) -> dict:
        """The JSON-ready figures (no kernels)."""
        return {
            "exact_accuracy": self.exact_accuracy,
            "lam": self.lam,
            "eps": self.eps,
            "family_distance": self.distance,
            "flawed_chain_share_exact": self.flawed_chain_share,
            "step_correct": self.step_correct,
            "valid_mass": self.valid_mass,
        }


def measure(model: PreTrainedModel, text_task: TextTask, table: StateTable, device: torch.device,
            batch_size: int = 2048) -> Measurement:
    """Exact per-step kernels of ``model`` on ``text_task`` and the figures computed from them."""
    model.eval()
    kernels, valid, scores = [], [], []
    for n in range(1, text_task.n_steps + 1):
        logq = step_log_scores(model, table, n, device, batch_size)
        scores.append(logq)
        top = logq.max(axis=1, keepdims=True)
        q = np.exp(logq - top)
        kernels.append(q / q.sum(axis=1, keepdims=True))
        valid.append(float(np.mean(np.exp(top[:, 0]) * q.sum(axis=1))))
    policy = TabularPolicy(kernels)
    task = text_task.task
    p_step, _ = step_correctness(policy, task)
    fit = fit_symmetric(policy, task) if task.is_bijective() else None
    return Measurement(
        policy=policy,
        valid_mass=np.asarray(valid),
        exact_accuracy=accuracy(policy, task),
        flawed_chain_share=flawed_chain_share(policy, task),
        step_correct=p_step,
        lam=None if fit is None else fit.lam,
        eps=None if fit is None else fit.eps,
        distance=None if fit is None else fit.distance,
        log_scores=scores,
    )

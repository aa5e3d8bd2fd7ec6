r"""Count-weighted fitting: SFT on a multiset of transitions, stopped on a measured criterion.

The SFT loss of a multiset of transitions (every step of every kept chain one example) equals the
count-weighted NLL over its DISTINCT triples ``(n, s, s')`` (:class:`llm.data.TransitionCounts`):

.. math::

    \mathcal L(\theta) = \frac{1}{\sum c} \sum_{(n, s, s')} c_{n s s'}
        \bigl[-\log p_\theta(\text{ids}(s')\ \texttt{<eos>} \mid \texttt{<step}n\texttt{>}\ \text{ids}(s)\ \texttt{<sep>})\bigr]
    \;\ge\; H = -\frac{1}{\sum c} \sum c_{n s s'} \log \frac{c_{n s s'}}{c_{n s}},

with equality exactly at the empirical kernel (and ``<eos>`` certain after a state). So the
gap :math:`\mathcal L - H` (nats per transition) measures how far the model is from the
maximum-likelihood refit the analysis assumes; training stops when it falls under ``gap_tol``
(``stop="gap"``), after a fixed budget (``stop="steps"``), or when the loss plateaus
(``stop="plateau"``: less than ``plateau_tol`` nats of improvement of the best loss over the last
``patience`` steps, the authors' rule). ``max_steps`` caps every rule.

Two exact ways to compute :math:`\mathcal L`, never duplicating a row:

* ``state`` tokenization (every state one token): one row per distinct prompt ``(n, s)``, whose
  last position's softmax gets the soft target :math:`c_{n s \cdot}` (full batch, every step).
  The ``<eos>`` term, one row per triple, is estimated each step on one triple per prompt drawn
  by count (an unbiased estimate), in the same forward pass.
* multi-token states (``symbol`` tokenization): every distinct prompt one row, its continuations
  packed as a prefix tree with a tree attention mask and a soft target at every node
  (:mod:`llm.packing`; the same loss, in about 4x fewer positions at zip D = 2); all prompts when
  there are at most ``batch``, else ``batch`` prompts drawn by weight per step;
* the reference for any tokenization: one row per distinct triple weighted by its count, the full
  set when it has at most ``batch`` rows, else ``batch`` rows drawn by count per step (sampled
  batches evaluate the full loss every ``patience`` steps for the stopping rule).

AdamW, constant learning rate after a linear warm-up of ``warmup`` of ``max_steps``, gradients
clipped to norm 1, bf16 autocast on CUDA.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .data import IGNORE, TransitionCounts, encode_steps, prompt_ids
from .device import autocast
from .packing import attention_bias, pack_counts
from .tokenizer import StateTable
from .train import lr_factor

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from star_theory import TabularPolicy
    from transformers import PreTrainedModel
    import torch

STOPS = ("gap", "steps", "plateau")


@dataclass
class FitLog:
    """Loss and gap (nats per transition) at every evaluation, and how the fit ended."""

    entropy: float
    losses: list[float] = field(default_factory=list)
    train: list[float] = field(default_factory=list)  # the optimised loss at every step
    gaps: list[float] = field(default_factory=list)
    steps: int = 0
    stopped: str = "max_steps"
    rows: int = 0

    def evaluated(self, loss: float) -> None:
        """Record a full-loss evaluation and its gap."""
        self.losses.append(loss)
        self.gaps.append(loss - self.entropy)

    def record(self, prefix: str) -> dict:
        """JSON-ready figures; the gap curve thinned to at most 41 points (first and last kept)."""
        keep = np.unique(np.linspace(0, len(self.gaps) - 1, min(len(self.gaps), 41)).round().astype(int))
        return {f"{prefix}_entropy": self.entropy, f"{prefix}_loss": self.losses[-1] if self.losses else None,
                f"{prefix}_gap": self.gaps[-1] if self.gaps else None,
                f"{prefix}_gap_curve": [self.gaps[i] for i in keep] if self.gaps else [],
                f"{prefix}_steps": self.steps, f"{prefix}_stopped": self.stopped, f"{prefix}_rows": self.rows}


def row_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Summed NLL of the labelled tokens of each row (``logits`` ``(B, T, V)``, labels ``(B, T)``)."""
    import torch

    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    lab = labels[:, 1:]
    tok = logp.gather(2, lab.clamp(min=0).unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    return -(tok * (lab != IGNORE)).sum(dim=1)


class StateLoss:
    """Soft targets per distinct prompt (state tokenization), and the ``<eos>`` term sampled by count.

    One forward pass of ``P`` rows ``<stepn> s <sep> s'`` per step: position 3 holds the prompt's
    next-state softmax (soft target, exact), position 4 the ``<eos>`` probability after one ``s'``
    drawn per prompt from its empirical row (weight ``c_ns / C``: an unbiased estimate of the
    ``<eos>`` term).
    """

    def __init__(self, counts: TransitionCounts, table: StateTable, device: torch.device, batch: int,
                 rng: np.random.Generator):
        import torch

        self.counts, self.table, self.device, self.rng = counts, table, device, rng
        self.full_batch = False  # the step's loss holds a sampled <eos> term
        key = counts.steps * (int(counts.prev.max(initial=0)) + 1) + counts.prev
        _, first, self.row = np.unique(key, return_index=True, return_inverse=True)
        self.rows = first.size
        prompts = [prompt_ids(table, int(counts.steps[i]), counts.prev[i : i + 1])[0] for i in first]
        self.prompts = torch.as_tensor(np.stack(prompts), device=device)  # (P, 3)
        self.token = np.array([table.ids[n][s, 0] for n, s in zip(counts.steps, counts.nxt)])  # (T,)
        self.p = counts.counts / counts.total  # (T,) weight of each triple
        self.w = torch.as_tensor(self.p, device=device, dtype=torch.float32)
        self.row_t = torch.as_tensor(self.row, device=device)
        self.tok_t = torch.as_tensor(self.token, device=device)
        order = np.argsort(self.row, kind="stable")  # triples grouped by prompt, for drawing s'
        self.order, self.start = order, np.searchsorted(self.row[order], np.arange(self.rows))
        self.cdf = np.cumsum(self.p[order])
        self.prompt_w = np.bincount(self.row, weights=self.p, minlength=self.rows)  # (P,)

    def _draw(self) -> np.ndarray:
        """One triple per prompt, drawn with probability proportional to its count within the row."""
        lo = np.concatenate([[0.0], self.cdf])[self.start]
        u = lo + self.rng.random(self.rows) * self.prompt_w
        return self.order[np.minimum(np.searchsorted(self.cdf, u, side="right"), self.order.size - 1)]

    def _forward(self, model, idx):
        import torch

        inp = torch.cat([self.prompts[self.row[idx]], self.tok_t[idx, None]], dim=1)  # (B, 4)
        with autocast(self.device):
            logits = model(input_ids=inp, use_cache=False).logits  # (B, 4, V); no KV cache built
        return torch.log_softmax(logits[:, -2:].float(), dim=-1)  # next state, then <eos>

    def __call__(self, model: PreTrainedModel, full: bool = False) -> torch.Tensor:
        import torch

        if full:  # every triple once (evaluation only)
            logp = self._forward(model, np.arange(self.p.size))
            return -(self.w * (logp[:, 0].gather(1, self.tok_t[:, None])[:, 0] + logp[:, 1, self.table.eos_id])).sum()
        idx = self._draw()  # (P,) aligned with the prompts
        logp = self._forward(model, idx)
        state = -(self.w * logp[:, 0][self.row_t, self.tok_t]).sum()
        pw = torch.as_tensor(self.prompt_w, device=self.device, dtype=torch.float32)
        return state - (pw * logp[:, 1, self.table.eos_id]).sum()


class SequenceLoss:
    """One row per distinct triple weighted by its count (full batch, or ``batch`` rows drawn by count)."""

    def __init__(self, counts: TransitionCounts, table: StateTable, device: torch.device, batch: int,
                 rng: np.random.Generator):
        self.counts, self.table, self.device, self.batch, self.rng = counts, table, device, batch, rng
        self.rows = counts.counts.size
        self.full_batch = self.rows <= batch

    def _loss(self, model, idx, weight):
        import torch

        c = self.counts
        inputs = encode_steps(self.table, c.steps[idx], c.prev[idx], c.nxt[idx]).to(self.device)
        with autocast(self.device):
            logits = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], use_cache=False).logits
        w = torch.as_tensor(weight, device=self.device, dtype=torch.float32)
        return (w * row_nll(logits, inputs["labels"])).sum()

    def __call__(self, model: PreTrainedModel, full: bool = False) -> torch.Tensor:
        p = self.counts.counts / self.counts.total
        if full or self.full_batch:
            return sum(self._loss(model, idx, p[idx]) for idx in np.array_split(np.arange(p.size),
                                                                                max(1, p.size // 4096)))
        idx, mult = np.unique(self.rng.choice(p.size, size=self.batch, p=p), return_counts=True)
        return self._loss(model, idx, mult / self.batch)


class TreeLoss:
    """Every prompt's continuations packed as one prefix tree with soft targets (:mod:`llm.packing`):
    the full loss over every distinct prompt when there are at most ``batch`` of them, else
    ``batch`` prompts drawn by weight per step, each prompt's loss divided by its weight (unbiased)."""

    def __init__(self, counts: TransitionCounts, table: StateTable, device: torch.device, batch: int,
                 rng: np.random.Generator):
        import torch

        self.device, self.batch, self.rng = device, batch, rng
        self.packed = pk = pack_counts(counts, table)
        self.rows = pk.rows
        self.full_batch = self.rows <= batch
        as_t = lambda a: torch.as_tensor(a, device=device)  # noqa: E731
        self.ids, self.pos, self.allowed = as_t(pk.input_ids), as_t(pk.position_ids), as_t(pk.allowed)
        self.t_row, self.t_pos, self.t_tok = as_t(pk.target_row), as_t(pk.target_pos), as_t(pk.target_tok)
        self.t_w = torch.as_tensor(pk.target_w, device=device, dtype=torch.float32)

    def row_losses(self, model: PreTrainedModel, rows):
        """``(len(rows),)`` each packed row's count-weighted NLL (its share of the loss)."""
        import torch

        rows = torch.as_tensor(rows, device=self.device)
        sel = torch.isin(self.t_row, rows)  # the targets of those rows
        where = torch.searchsorted(rows, self.t_row[sel])  # rows sorted: their index in the batch
        with autocast(self.device):
            mask = attention_bias(self.allowed[rows], model, torch.float32)
            logits = model(input_ids=self.ids[rows], position_ids=self.pos[rows], attention_mask=mask,
                           use_cache=False).logits
        logp = torch.log_softmax(logits.float(), dim=-1)  # (B, T, V)
        terms = -self.t_w[sel] * logp[where, self.t_pos[sel], self.t_tok[sel]]
        return torch.zeros(rows.numel(), device=self.device).index_add(0, where, terms)

    def __call__(self, model: PreTrainedModel, full: bool = False) -> torch.Tensor:
        import torch

        if full or self.full_batch:
            return sum(self.row_losses(model, idx).sum() for idx in np.array_split(np.arange(self.rows),
                                                                                   max(1, self.rows // 1024)))
        w = self.packed.row_w
        idx, mult = np.unique(self.rng.choice(self.rows, size=self.batch, p=w / w.sum()), return_counts=True)
        scale = torch.as_tensor(mult / self.batch / w[idx], device=self.device, dtype=torch.float32)
        return (scale * self.row_losses(model, idx)).sum()


def make_loss(counts: TransitionCounts, table: StateTable, device: torch.device, batch: int, seed: int,
              packed: bool = True) -> StateLoss | SequenceLoss | TreeLoss:
    """The count-weighted loss of ``counts``: soft targets per prompt for one-token states
    (:class:`StateLoss`), else prefix trees (:class:`TreeLoss`, ``packed``) or one row per
    distinct triple (:class:`SequenceLoss`, the reference)."""
    rng = np.random.default_rng(seed)
    if all(ids.shape[1] == 1 for ids in table.ids):
        return StateLoss(counts, table, device, batch, rng)
    return (TreeLoss if packed else SequenceLoss)(counts, table, device, batch, rng)


def fit_counts(model: PreTrainedModel, counts: TransitionCounts, table: StateTable, device: torch.device, lr: float,
               max_steps: int,
               stop: str = "gap", gap_tol: float = 1e-3, batch: int = 512, seed: int = 0, warmup: float = 0.0,
               weight_decay: float = 0.0, patience: int = 25, plateau_tol: float = 1e-3, decay: bool = False,
               progress: bool = False, desc: str = "fit") -> FitLog:
    """Train ``model`` in place on the count-weighted NLL of ``counts`` until the stopping rule holds."""
    import torch
    from tqdm.auto import tqdm

    if stop not in STOPS:
        raise ValueError(f"stop must be one of {STOPS}, got {stop!r}")
    log = FitLog(entropy=counts.entropy())
    if counts.total == 0:
        log.stopped = "no data"
        return log
    loss_fn = make_loss(counts, table, device, batch, seed)
    log.rows = loss_fn.rows
    model.to(device)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))
    best = BestLoss(patience)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: lr_factor(k, max_steps, warmup, "constant") * best.scale)
    bar = tqdm(total=max_steps, desc=desc, disable=not progress, leave=False)
    for step in range(max_steps):
        loss = loss_fn(model)
        log.train.append(float(loss.detach()))
        # 1. the stopping rules, on the current parameters (a fit that already holds takes no step)
        evaluated = _evaluate(log, loss_fn, model, step, stop == "gap", patience)
        if evaluated and stop == "gap" and log.gaps[-1] < gap_tol:
            log.stopped = "gap"
            break
        if stop == "plateau" and best.improvement() < plateau_tol:
            log.stopped = "plateau"
            break
        # 2. one optimizer step
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        log.steps = step + 1
        best.add(log.train[-1], step, decay)
        bar.update(1)
    bar.close()
    model.eval()
    if not isinstance(loss_fn, StateLoss):  # the exact loss at the end (a StateLoss's is measured after)
        with torch.no_grad():
            log.evaluated(float(loss_fn(model, full=True)))
    if stop == "steps":
        log.stopped = "steps"
    return log


def _evaluate(log: FitLog, loss_fn, model, step: int, gap_rule: bool, patience: int) -> bool:
    """Record the full loss and its gap at ``step`` when a rule reads it: every step where the
    step's loss is the full loss (``log.train[-1]``), else every ``patience`` steps for the gap
    rule (one more forward pass). Returns whether it recorded."""
    import torch

    every_step = isinstance(loss_fn, StateLoss) or loss_fn.full_batch
    if not (every_step or (gap_rule and step % patience == 0)):
        return False
    if every_step:
        log.evaluated(log.train[-1])
    else:
        with torch.no_grad():
            log.evaluated(float(loss_fn(model, full=True)))
    return True


class BestLoss:
    """The best loss so far after every optimizer step, which the plateau rule and the
    learning-rate halving (``decay``: halve when the best loss has not improved over ``patience``
    steps) read; ``scale`` is the current learning-rate factor."""

    best: list[float]

    def __init__(self, patience: int):
        self.patience, self.best, self.scale, self.last_decay = patience, [], 1.0, 0

    def improvement(self) -> float:
        """How much the best loss fell over the last ``patience`` steps (inf before that many)."""
        if len(self.best) <= self.patience:
            return float("inf")
        return self.best[-self.patience - 1] - self.best[-1]

    def add(self, loss: float, step: int, decay: bool) -> None:
        self.best.append(min(loss, self.best[-1]) if self.best else loss)
        if decay and step - self.last_decay >= self.patience and self.best[-self.patience - 1] <= self.best[-1]:
            self.scale *= 0.5  # no progress over the window: halve the learning rate
            self.last_decay = step


def refit_figures(counts: TransitionCounts, log_scores, policy: TabularPolicy, min_count: int = 20) -> dict:
    r"""How closely a model refits ``counts``, from its exact measurement (:mod:`llm.measure`).

    * ``refit_gap``: exact NLL of the counts under the model, :math:`-\sum c \log q_n(s' \mid s) / \sum c`
      (``log_scores``: the measured :math:`\log q`, ``<eos>`` included), minus the entropy bound;
    * ``refit_tv``: mean total variation between the measured kernel rows and the empirical kernel
      rows of ``counts``, weighted by the rows' counts, over rows with at least ``min_count``
      transitions (``refit_tv_rows`` of them).
    """
    if counts.total == 0:
        return {"refit_gap": None, "refit_tv": None, "refit_tv_rows": 0}
    logq = np.array([log_scores[n - 1][s, s2] for n, s, s2 in zip(counts.steps, counts.prev, counts.nxt)])
    nll = float(-(counts.counts * logq).sum() / counts.total)
    sizes = [k.shape[0] for k in policy.kernels] + [policy.kernels[-1].shape[1]]
    emp, totals = counts.kernels(sizes)
    tv, w = [], []
    for k_model, k_emp, tot in zip(policy.kernels, emp, totals):
        rows = tot >= min_count
        tv.append(0.5 * np.abs(k_model[rows] - k_emp[rows]).sum(axis=1))
        w.append(tot[rows])
    tvs, ws = np.concatenate(tv), np.concatenate(w)
    return {"refit_gap": nll - counts.entropy(), "refit_tv": float((tvs * ws).sum() / ws.sum()) if ws.size else None,
            "refit_tv_max": float(tvs.max()) if ws.size else None, "refit_tv_rows": int(ws.size)}

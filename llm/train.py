"""The training loop, readable top to bottom.

``train(model, batches, ...)`` runs AdamW on the next-state loss of each batch (labels are
``-100`` outside the next state and its end token, so the mean cross-entropy is over those
tokens only). The learning rate rises linearly for ``warmup`` of the steps, then follows a
cosine to 10% of its peak (``schedule="cosine"``, pretraining) or stays flat
(``schedule="constant"``, fine-tuning). Gradients are clipped to norm 1. On CUDA the forward pass
runs under bf16 autocast; on CPU it is float32. Under torchrun the model is wrapped in
DistributedDataParallel and every rank feeds its own batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from .data import Batch
from .device import autocast

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from transformers import PreTrainedModel
    import torch

SCHEDULES = ("cosine", "constant")
FINAL_LR_FRACTION = 0.1


def lr_factor(step: int, total: int, warmup: float, schedule: str) -> float:
    """Learning-rate multiplier at optimizer step ``step`` (0-based) of ``total``."""
    warm = int(round(warmup * total))
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    progress = (step - warm) / max(1, total - warm)
    return FINAL_LR_FRACTION + (1 - FINAL_LR_FRACTION) * 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class TrainLog:
    """Loss of every optimizer step and the number of tokens seen (all tokens, padding excluded)."""

    losses: list[float] = field(default_factory=list)
    tokens: int = 0


def train(
    model: PreTrainedModel,
    batches: Iterable[Batch],
    total_steps: int,
    lr: float,
    device: torch.device,
    warmup: float = 0.05,
    weight_decay: float = 0.0,
    schedule: str = "cosine",
    progress: bool = False,
    desc: str = "train",
) -> TrainLog:
    """Train ``model`` in place on ``total_steps`` batches; returns the loss log."""
    import torch
    from tqdm.auto import tqdm

    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}")
    # 1. the model on its device, wrapped for data parallelism when running under torchrun
    model.to(device)
    model.train()
    net = model
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    # 2. the optimizer and its learning-rate schedule
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay, betas=(0.9, 0.98))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total_steps, warmup, schedule)
    )
    # 3. the loop: forward (autocast on CUDA), backward, clip, step
    log = TrainLog()
    bar = tqdm(total=total_steps, desc=desc, disable=not progress, leave=False)
    for step, batch in enumerate(batches):
        if step >= total_steps:
            break
        inputs = batch.to(device)
        with autocast(device):
            loss = net(**inputs, use_cache=False).loss  # no KV cache built
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        log.losses.append(float(loss.detach()))
        log.tokens += batch.n_tokens
        bar.update(1)
        if step % 20 == 0:
            bar.set_postfix(loss=f"{log.losses[-1]:.3f}")
    bar.close()
    model.eval()
    return log

"""Devices, precision and processes: ``--device auto|cpu|cuda``, bf16 autocast on CUDA only,
CPU thread count, and torch.distributed (DDP) set up from the ``torchrun`` environment.

Multi-device training runs under ``torchrun --nproc_per_node P`` (or ``python -m
torch.distributed.run``): each process reads ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``, joins a process
group (``nccl`` on CUDA, ``gloo`` on CPU), trains its own data stream, and DDP averages gradients
so that every rank holds the same parameters after every step. Rank 0 writes the files.
"""

from __future__ import annotations

import contextlib
import os
from typing import TYPE_CHECKING

from star_theory import InputError
from star_theory.process import cap_threads

if TYPE_CHECKING:  # for annotations only: not imported at run time
    import torch


def resolve_device(name: str) -> torch.device:
    """``torch.device`` for ``auto`` (CUDA when available, else CPU), ``cpu`` or ``cuda``."""
    import torch

    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise InputError("device=cuda but no CUDA device is available (use --device cpu or auto)")
        local = int(os.environ.get("LOCAL_RANK", "0"))
        return torch.device("cuda", local % torch.cuda.device_count())
    if name != "cpu":
        raise InputError(f"device must be auto, cpu or cuda, got {name!r}")
    return torch.device("cpu")


def autocast(device: torch.device):
    """bf16 autocast on CUDA; nothing on CPU (full float32)."""
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def set_threads(threads: int) -> None:
    """Limit torch's CPU threads (the machine may be shared), at most the CPU count."""
    import torch


    torch.set_num_threads(cap_threads(int(threads)))


def distributed_info() -> tuple[int, int]:
    """``(rank, world_size)`` from the torchrun environment (``(0, 1)`` outside torchrun)."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


def init_distributed(device: torch.device) -> tuple[int, int]:
    """Join the process group when launched by torchrun with ``WORLD_SIZE > 1``; return ``(rank, world)``."""
    import torch.distributed as dist

    rank, world = distributed_info()
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return rank, world


def generator(device: torch.device, seed: int) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded with ``seed``."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(int(seed) % (1 << 63))
    return g

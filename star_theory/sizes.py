"""Memory estimates made before anything is allocated, and the limit they are held to.

Each command estimates the bytes its largest arrays take from its sizes alone (states per level
``M`` or a task's level sizes from its factory's ``level_sizes``
(:meth:`star_theory.task_protocol.TaskFactory.sizes`), steps ``N``, chains ``K`` per question, seeds, grid
``points``, iterations ``T``), without building the task, and refuses with a one-line
:class:`~star_theory.errors.InputError` when the estimate exceeds the limit. The limit is half the
machine's physical memory unless ``rlstar --max-memory GIB`` (or the environment variable
``RLSTAR_MAX_MEMORY``, in GiB) sets it. The estimates count the arrays that live at the same time
(kernels, chains, per-iteration rows) with a small factor for temporaries; they are upper bounds
of the order of magnitude, not byte counts.
"""

from __future__ import annotations

import os

from .errors import InputError

GIB = 1 << 30
ENV = "RLSTAR_MAX_MEMORY"
F8 = 8  # bytes of a float64 / int64


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * GIB


def memory_limit() -> int:
    """The limit in bytes: ``RLSTAR_MAX_MEMORY`` (GiB) if set, else half the physical memory."""
    raw = os.environ.get(ENV)
    if raw is None or raw == "":
        return physical_memory() // 2
    try:
        gib = float(raw)
    except ValueError:
        raise InputError(f"{ENV} must be a number of GiB, got {raw!r}") from None
    if not gib > 0 or gib == float("inf"):
        raise InputError(f"{ENV} must be a positive number of GiB, got {raw!r}")
    return int(gib * GIB)


def set_memory_limit(gib: float | None) -> None:
    """``rlstar --max-memory GIB``: the limit for this process."""
    if gib is not None:
        if not gib > 0 or gib == float("inf"):
            raise InputError(f"--max-memory must be a positive number of GiB, got {gib}")
        os.environ[ENV] = repr(float(gib))


def _fmt(n: float) -> str:
    return f"{n / GIB:.3g} GiB" if n >= GIB / 10 else f"{n / (1 << 20):.3g} MiB"


def check_memory(estimate: float, what: str) -> None:
    """Refuse ``what`` when ``estimate`` bytes exceed :func:`memory_limit`."""
    limit = memory_limit()
    if estimate > limit:
        raise InputError(f"{what} needs about {_fmt(estimate)} of memory, above the limit of {_fmt(limit)}; "
                         "reduce the sizes or raise the limit with rlstar --max-memory GIB")


def kernel_bytes(sizes) -> int:
    """Bytes of one policy's kernels (float64 ``|S_{n-1}| x |S_n|`` per step)."""
    return F8 * sum(int(a) * int(b) for a, b in zip(sizes[:-1], sizes[1:]))


def simulate_bytes(sizes, K: int, seeds: int, iterations: int, questions: int | None = None, rationales: int = 0) -> int:
    """``simulate``: a few policies at a time, ``K`` chains per question plus at most ``rationales``
    rationalised chains per (failed) question, per-seed rows."""
    N = len(sizes) - 1
    q = int(sizes[0]) if questions is None else questions
    return 8 * kernel_bytes(sizes) + 6 * F8 * (K + rationales) * q * (N + 1) + 8 * F8 * seeds * (iterations + 1)


def trajectory_bytes(steps: int, iterations: int, points: int = 1) -> int:
    """The closed-form trajectory of ``points`` settings: per iteration ``lam``, ``eps`` and the gaps
    per step with their temporaries, accuracy, error and flawed share (arrays kept for every
    iteration, with their headers), plus the flawed share's transfer matrices (3x3 per step, a
    product and its temporaries) that live during one iteration."""
    return (iterations + 1) * (F8 * points * (6 * steps + 6) + 5 * 128) + F8 * points * steps * (3 * 9 + 8)


def trajectory_output_bytes(steps: int, iterations: int) -> int:
    """The printed trajectory (``rlstar theory``): ``lam`` and ``eps`` per step and iteration as
    Python floats in lists (32 bytes each) and as text (about 24 bytes each)."""
    return 2 * (iterations + 1) * steps * (32 + 24)


def phase_bytes(M: int, N: int, points: int, iterations: int, mode: str, K: int | None, seeds: int,
                rationales: int = 0) -> int:
    """``phase``: the closed form over the grid (exact mode) or explicit matrices per point, with
    ``K`` sampled and at most ``rationales`` rationalised chains per question."""
    grid = points * points
    explicit = 8 * F8 * N * M * M + 6 * F8 * ((K or 0) + rationales) * M * (N + 1) + seeds * grid * (F8 * (N + 4) + 64)
    if mode == "exact":
        return explicit + 3 * trajectory_bytes(N, iterations, grid)
    return explicit


def corpus_bytes(sizes, K: int) -> int:
    """``corpus``: the mixture policy's kernels, the chains and their CSV text (two copies)."""
    N = len(sizes) - 1
    chains = K * int(sizes[0]) * (N + 1)
    digits = len(str(max(int(s) for s in sizes)))
    return 4 * kernel_bytes(sizes) + 6 * F8 * chains + 3 * chains * (digits + 1)

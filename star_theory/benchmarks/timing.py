"""Pieces shared by the benchmarks: the best of repeated timings, the machine, the printed report."""

from __future__ import annotations

import json
import os
import platform
import time
from typing import Any, Callable

import numpy as np

from ..errors import InputError
from ..validation import as_float


def check_min_ratio(value: Any) -> float:
    """``--min-ratio``: a finite number ``>= 0`` (0: never fail; NaN would make every comparison
    false, a benchmark that always fails)."""
    value = as_float(value, "--min-ratio")
    if not value >= 0:
        raise InputError(f"--min-ratio must be a finite number >= 0, got {value!r}")
    return value


def best_of(fn: Callable[[], object], repeats: int) -> float:
    """The shortest wall time of ``repeats`` calls of ``fn()`` (seconds)."""
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def machine_info() -> dict:
    """Platform, processor, CPU count and the Python and numpy versions the timings come from."""
    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__}


def report(res: dict, fmt: str, format_text: Callable[[dict], str]) -> int:
    """Print a benchmark's result (``fmt`` ``"json"`` or ``"text"`` through ``format_text``); the
    exit status is 0 when it meets its ``min_ratio``, else 1."""
    print(json.dumps(res, indent=2) if fmt == "json" else format_text(res))
    return 0 if res["meets_min_ratio"] else 1

r"""Tabular views of the digit tasks shared by the simulator and the LLM backend.

Every state is a tuple of digits with a fixed layout per level (a mixed-radix number): level
``n`` has positions with radices ``radices[n]`` and names ``labels[n]``; the state's index is the
mixed-radix value of its digits, most significant first. :class:`DigitLevels` encodes and
decodes whole arrays of states at once. The string forms of these states live with the LLM
backend (``llm.tasks``); this module only fixes the states and the ground-truth maps.

``zip`` (the analysis's task). Two ``D``-digit base-``b`` numbers ``x = x_1..x_D`` and
``y = y_1..y_D``. Level ``n`` holds all ``2D`` digits in the layout
``x_1 y_1 ... x_n y_n | x_{n+1} .. x_D | y_{n+1} .. y_D``: step ``n`` moves the pair
``(x_n, y_n)`` into the zipped prefix. Every level has ``M = b^{2D}`` states and every step is a
bijection (a fixed permutation of digit positions). Worked example, ``D = 3, b = 2``,
``x = 101, y = 011``::

    s0 = 101 011  ->  s1 = 10 | 01 | 11  ->  s2 = 10 01 | 1 | 1  ->  s3 = 10 01 11

``add`` (outside the symmetric family). Two ``D``-digit base-``b`` numbers, digits indexed from
the least significant (``x = x_D .. x_1``). Step ``n`` adds position ``n`` with the carry:
level ``n >= 1`` holds ``x_D..x_{n+1}, y_D..y_{n+1}, c, z_n..z_1`` (remaining digits, carry,
sum digits written so far); level 0 holds ``x, y``; level ``D`` holds ``c z_D .. z_1 = x + y``.
Levels shrink (``b^{2D}``, then ``2 b^{2D-n}``), and steps are not injective (``1 + 0`` and
``0 + 1`` give the same digit and carry). Worked example, ``D = 3, b = 2``, ``x = 011, y = 001``::

    s0 = 011 001  ->  s1 = 01 00 | c1 | 0  ->  s2 = 0 0 | c1 | 00  ->  s3 = c0 | 100
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .errors import InputError
from .model import ReasoningTask
from .validation import _as_int

TASK_NAMES = ("zip", "add")


@dataclass(frozen=True)
class DigitLevels:
    """Digit layout of every level: ``radices[n][i]`` and ``labels[n][i]`` of position ``i``."""

    radices: tuple[tuple[int, ...], ...]
    labels: tuple[tuple[str, ...], ...]

    def size(self, n: int) -> int:
        return int(np.prod(self.radices[n], dtype=np.int64))

    def decode(self, n: int, index: ArrayLike) -> np.ndarray:
        """Digits of states ``index`` (any shape) at level ``n``: shape ``index.shape + (L_n,)``."""
        idx = np.asarray(index, dtype=np.int64)
        if np.any((idx < 0) | (idx >= self.size(n))):
            raise InputError(f"state index outside level {n} of size {self.size(n)}")
        out = np.empty(idx.shape + (len(self.radices[n]),), dtype=np.int64)
        rest = idx.copy()
        for i in range(len(self.radices[n]) - 1, -1, -1):
            r = self.radices[n][i]
            out[..., i] = rest % r
            rest //= r
        return out

    def encode(self, n: int, digits: ArrayLike) -> np.ndarray:
        """State indices of digit arrays (last axis = positions) at level ``n``."""
        d = np.asarray(digits, dtype=np.int64)
        rad = self.radices[n]
        if d.shape[-1] != len(rad):
            raise InputError(f"level {n} states have {len(rad)} digits, got {d.shape[-1]}")
        if np.any((d < 0) | (d >= np.asarray(rad))):
            raise InputError(f"digit outside its radix at level {n}")
        idx = np.zeros(d.shape[:-1], dtype=np.int64)
        for i, r in enumerate(rad):
            idx = idx * r + d[..., i]
        return idx


@dataclass(frozen=True)
class DigitTask:
    """A task's tabular view (:class:`ReasoningTask`) together with its digit layout."""

    name: str
    digits: int
    base: int
    task: ReasoningTask
    levels: DigitLevels


def _check_digits(D, b) -> tuple[int, int]:
    D = _as_int(D, "digits D", 1)
    b = _as_int(b, "base b", 2)
    if 2 * D > 20 or b ** (2 * D) > 1 << 20:  # (b >= 2: 2D > 20 is over the limit; skip the huge power)
        raise InputError(f"base {b} with {D} digits gives {b}^{2 * D} states per level (limit 2^20)")
    return D, b


def zip_task(digits: int = 3, base: int = 2) -> DigitTask:
    """The zip task of the analysis (``N = D`` steps, ``M = b^{2D}`` states, bijective steps)."""
    D, b = _check_digits(digits, base)
    radices, labels = [], []
    for n in range(D + 1):
        lab = [v for i in range(1, n + 1) for v in (f"x{i}", f"y{i}")]
        lab += [f"x{i}" for i in range(n + 1, D + 1)] + [f"y{i}" for i in range(n + 1, D + 1)]
        labels.append(tuple(lab))
        radices.append((b,) * (2 * D))
    levels = DigitLevels(tuple(radices), tuple(labels))
    M = levels.size(0)
    maps = []
    for n in range(1, D + 1):
        src = levels.decode(n - 1, np.arange(M))  # (M, 2D)
        pos = [labels[n - 1].index(l) for l in labels[n]]
        maps.append(levels.encode(n, src[:, pos]))
    return DigitTask("zip", D, b, ReasoningTask(maps), levels)


def add_task(digits: int = 3, base: int = 2) -> DigitTask:
    """Digit-by-digit addition with carries (``N = D`` steps, shrinking levels, non-injective steps)."""
    D, b = _check_digits(digits, base)
    radices, labels = [], []
    for n in range(D + 1):
        lab = [f"x{i}" for i in range(D, n, -1)] + [f"y{i}" for i in range(D, n, -1)]
        rad = [b] * len(lab)
        if n >= 1:
            lab += ["c"] + [f"z{i}" for i in range(n, 0, -1)]
            rad += [2] + [b] * n
        labels.append(tuple(lab))
        radices.append(tuple(rad))
    levels = DigitLevels(tuple(radices), tuple(labels))
    maps = []
    for n in range(1, D + 1):
        prev = levels.decode(n - 1, np.arange(levels.size(n - 1)))
        lp = labels[n - 1]
        x = prev[:, lp.index(f"x{n}")]
        y = prev[:, lp.index(f"y{n}")]
        c = prev[:, lp.index("c")] if "c" in lp else np.zeros_like(x)
        total = x + y + c
        digit_of = {l: prev[:, lp.index(l)] for l in lp if l not in (f"x{n}", f"y{n}", "c")}
        digit_of["c"] = total // b
        digit_of[f"z{n}"] = total % b
        new = np.stack([digit_of[l] for l in labels[n]], axis=1)
        maps.append(levels.encode(n, new))
    return DigitTask("add", D, b, ReasoningTask(maps, final_size=levels.size(D)), levels)


def digit_task(name: str, digits: int = 3, base: int = 2) -> DigitTask:
    """A digit task by name: ``zip`` or ``add``."""
    if not isinstance(name, str):
        raise InputError(f"unknown task {name!r} (known: {', '.join(TASK_NAMES)})")
    if name == "zip":
        return zip_task(digits, base)
    if name == "add":
        return add_task(digits, base)
    raise InputError(f"unknown task {name!r} (known: {', '.join(TASK_NAMES)})")

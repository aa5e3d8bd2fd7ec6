r"""Tabular views of the digit tasks shared by the simulator and the LLM backend.

Every state is a tuple of digits with a fixed layout per level (a mixed-radix number): level
``n`` has positions with radices ``radices[n]`` and names ``labels[n]``; the state's index is the
mixed-radix value of its digits, most significant first. :class:`DigitLevels` encodes and
decodes whole arrays of states at once. A :class:`DigitTask` is a
:class:`~star_theory.task_protocol.Task`: its string form writes each level from a *template*, a
list of what each character is (a digit label of that level, written ``0``-``9``, or a
one-character separator ``|`` / ``+``); so the string form needs a base of at most 10. The
registry's factories :data:`ZIP` and :data:`ADD` take the parameters ``digits`` and ``base``
(defaults 2 and 2) and give their level sizes from the formulas below without building anything.

``zip`` (the analysis's task). Two ``D``-digit base-``b`` numbers ``x = x_1..x_D`` and
``y = y_1..y_D``. Level ``n`` holds all ``2D`` digits in the layout
``x_1 y_1 ... x_n y_n | x_{n+1} .. x_D | y_{n+1} .. y_D``: step ``n`` moves the pair
``(x_n, y_n)`` into the zipped prefix. Every level has ``M = b^{2D}`` states and every step is a
bijection (a fixed permutation of digit positions). Worked example, ``D = 3, b = 2``,
``x = 101, y = 011``::

    s0 = 101 011  ->  s1 = 10 | 01 | 11  ->  s2 = 10 01 | 1 | 1  ->  s3 = 10 01 11

Its strings are ``<zipped pairs>|<remaining x digits>|<remaining y digits>`` (``2D + 2``
characters at every level): ``|101|011``, ``10|01|11``, ``1001|1|1``, ``100111||``. One training
example is one step, conditioned on the step index by a step token:
``<step2>10|01|11<sep>1001|1|1<eos>`` (loss on ``1001|1|1<eos>`` only). With the ``symbol``
tokenization that is 19 tokens (one per character, separators and special tokens); with the
``state`` tokenization 5 tokens (``<step2>``, ``10|01|11``, ``<sep>``, ``1001|1|1``, ``<eos>``).

``add`` (outside the symmetric family). Two ``D``-digit base-``b`` numbers, digits indexed from
the least significant (``x = x_D .. x_1``). Step ``n`` adds position ``n`` with the carry:
level ``n >= 1`` holds ``x_D..x_{n+1}, y_D..y_{n+1}, c, z_n..z_1`` (remaining digits, carry,
sum digits written so far); level 0 holds ``x, y``; level ``D`` holds ``c z_D .. z_1 = x + y``.
Levels shrink (``b^{2D}``, then ``2 b^{2D-n}``), and steps are not injective (``1 + 0`` and
``0 + 1`` give the same digit and carry). Worked example, ``D = 3, b = 2``, ``x = 011, y = 001``::

    s0 = 011 001  ->  s1 = 01 00 | c1 | 0  ->  s2 = 0 0 | c1 | 00  ->  s3 = c0 | 100

Its strings are ``x+y`` at level 0 and ``<x digits left>+<y digits left>|c|<sum digits so far>``
after: ``011+001``, ``01+00|1|0``, ``0+0|1|00``, ``+|0|100`` (lengths 7, 9, 8, 7: batches are
right-padded).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike

from .errors import InputError
from .model import ReasoningTask
from .task_protocol import Task, TaskFactory
from .validation import as_int

DIGIT_CHARS = "0123456789"  # one character per digit: the string form needs base <= 10


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


@dataclass(frozen=True, eq=False, kw_only=True)
class DigitTask(Task):
    """A digit task: a :class:`Task` whose states are digit layouts (``levels``), written by
    ``templates[n]`` (one entry per character: a digit label of level ``n`` or a separator)."""

    digits: int
    base: int
    levels: DigitLevels
    templates: tuple[tuple[str, ...], ...] = field(default=())

    def __post_init__(self):
        if len(self.templates) != self.task.n_steps + 1:
            raise InputError(f"{len(self.templates)} templates for {self.task.n_steps + 1} levels")
        for n, template in enumerate(self.templates):
            if sorted(t for t in template if t in self.levels.labels[n]) != sorted(self.levels.labels[n]):
                raise InputError(f"template of level {n} must use each digit label once: {template}")
        object.__setattr__(self, "strings", self._template_strings)
        object.__setattr__(self, "symbols", tuple(DIGIT_CHARS[: self.base]) + self.literals())
        super().__post_init__()

    def literals(self) -> tuple[str, ...]:
        """Separator characters of the templates (sorted)."""
        labels = {l for lev in self.levels.labels for l in lev}
        return tuple(sorted({t for tpl in self.templates for t in tpl if t not in labels}))

    def _template_strings(self, n: int) -> list[str]:
        """Strings of level ``n``: each template entry replaced by its digit (or kept, a separator)."""
        if self.base > len(DIGIT_CHARS):
            raise InputError(f"base {self.base} has no one-character digits (string form needs base <= {len(DIGIT_CHARS)})")
        labels, template = self.levels.labels[n], self.templates[n]
        pos = [labels.index(t) if t in labels else -1 for t in template]
        digits = self.levels.decode(n, np.arange(self.task.sizes[n]))  # (M_n, L_n)
        return ["".join(DIGIT_CHARS[row[p]] if p >= 0 else t for p, t in zip(pos, template)) for row in digits]


def _check_digits(D, b) -> tuple[int, int]:
    D = as_int(D, "digits D", 1)
    b = as_int(b, "base b", 2)
    if 2 * D > 20 or b ** (2 * D) > 1 << 20:  # (b >= 2: 2D > 20 is over the limit; skip the huge power)
        raise InputError(f"base {b} with {D} digits gives {b}^{2 * D} states per level (limit 2^20)")
    return D, b


def zip_level_sizes(digits: int = 2, base: int = 2) -> list[int]:
    """``|S_n| = b^{2D}`` for ``n = 0..D`` (nothing is built)."""
    D, b = _check_digits(digits, base)
    return [b ** (2 * D)] * (D + 1)


def add_level_sizes(digits: int = 2, base: int = 2) -> list[int]:
    """``|S_0| = b^{2D}``, ``|S_n| = 2 b^{2D - n}`` for ``n >= 1`` (nothing is built)."""
    D, b = _check_digits(digits, base)
    return [b ** (2 * (D - n)) * (1 if n == 0 else 2 * b**n) for n in range(D + 1)]


def zip_templates(digits: int) -> tuple[tuple[str, ...], ...]:
    """Level ``n``: ``x1 y1 .. xn yn | x_{n+1} .. x_D | y_{n+1} .. y_D``."""
    D = digits
    out = []
    for n in range(D + 1):
        zipped = [v for i in range(1, n + 1) for v in (f"x{i}", f"y{i}")]
        xs = [f"x{i}" for i in range(n + 1, D + 1)]
        ys = [f"y{i}" for i in range(n + 1, D + 1)]
        out.append(tuple(zipped + ["|"] + xs + ["|"] + ys))
    return tuple(out)


def add_templates(digits: int) -> tuple[tuple[str, ...], ...]:
    """Level 0: ``x+y``; level ``n >= 1``: ``x_D..x_{n+1} + y_D..y_{n+1} | c | z_n..z_1``."""
    D = digits
    out = []
    for n in range(D + 1):
        lay = [f"x{i}" for i in range(D, n, -1)] + ["+"] + [f"y{i}" for i in range(D, n, -1)]
        if n >= 1:
            lay += ["|", "c", "|"] + [f"z{i}" for i in range(n, 0, -1)]
        out.append(tuple(lay))
    return tuple(out)


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
    return DigitTask("zip", ReasoningTask(maps), {"digits": D, "base": b}, digits=D, base=b, levels=levels,
                     templates=zip_templates(D))


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
    return DigitTask("add", ReasoningTask(maps, final_size=levels.size(D)), {"digits": D, "base": b}, digits=D, base=b,
                     levels=levels, templates=add_templates(D))


_DIGIT_DEFAULTS = {"digits": 2, "base": 2}
#: the registry's digit tasks (:mod:`star_theory.task_protocol`): parameters digits D and base b
ZIP = TaskFactory("zip", zip_task, _DIGIT_DEFAULTS, zip_level_sizes, "zip two D-digit numbers (bijective steps)")
ADD = TaskFactory("add", add_task, _DIGIT_DEFAULTS, add_level_sizes, "add two D-digit numbers with carries")


#: the digit tasks by name (the registry, :mod:`star_theory.task_registry`, lists them among its built-ins)
DIGIT_TASKS = {"zip": ZIP, "add": ADD}


def digit_task(name: str, digits: int = 3, base: int = 2) -> Task:
    """A digit task (``zip`` or ``add``) by name."""
    factory = DIGIT_TASKS.get(name) if isinstance(name, str) else None
    if factory is None:
        raise InputError(f"unknown task {name!r} (digit tasks: {', '.join(DIGIT_TASKS)})")
    return factory.make({"digits": digits, "base": base})

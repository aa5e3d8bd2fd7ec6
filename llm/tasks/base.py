"""The string form of a digit task: one string per state, built from a per-level template.

A *template* lists, for one level, what each character of a state's string is: either a digit
label of that level (``"x1"``, ``"c"``, ``"z2"``; see :mod:`star_theory.tasks`) or a one-character
literal separator (``"|"``, ``"+"``). Digits are written ``0``-``9``, so the string form needs a
base of at most 10. Every state of a level has a string of the same length, and the string <->
state-index map is a bijection on each level (checked on construction).

The tabular view (levels, ground-truth maps) is the task's :class:`star_theory.tasks.DigitTask`;
this module only adds strings on top of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from star_theory import InputError
from star_theory.tasks import DigitTask

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from star_theory import ReasoningTask

MAX_BASE = 10


@dataclass(frozen=True)
class TextTask:
    """A digit task with a string form: ``templates[n]`` lays out level ``n``'s characters."""

    digit_task: DigitTask
    templates: tuple[tuple[str, ...], ...]
    _strings: tuple[tuple[str, ...], ...] = field(init=False, repr=False, compare=False)
    _index: tuple[dict, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        dt = self.digit_task
        if dt.base > MAX_BASE:
            raise InputError(f"base {dt.base} has no one-character digits (string form needs base <= {MAX_BASE})")
        if len(self.templates) != dt.task.n_steps + 1:
            raise InputError(f"{len(self.templates)} templates for {dt.task.n_steps + 1} levels")
        strings, index = [], []
        for n, template in enumerate(self.templates):
            labels = dt.levels.labels[n]
            if sorted(t for t in template if t in labels) != sorted(labels):
                raise InputError(f"template of level {n} must use each digit label once: {template}")
            pos = [labels.index(t) if t in labels else -1 for t in template]
            digits = dt.levels.decode(n, np.arange(dt.task.sizes[n]))  # (M_n, L_n)
            chars = [str(d) for d in range(dt.base)]
            level = []
            for row in digits:
                level.append("".join(chars[row[p]] if p >= 0 else t for p, t in zip(pos, template)))
            if len(set(level)) != len(level):
                raise InputError(f"template of level {n} gives two states the same string")
            strings.append(tuple(level))
            index.append({s: i for i, s in enumerate(level)})
        object.__setattr__(self, "_strings", tuple(strings))
        object.__setattr__(self, "_index", tuple(index))

    # --- the tabular view -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.digit_task.name

    @property
    def task(self) -> ReasoningTask:
        """The :class:`star_theory.ReasoningTask` (levels and ground-truth maps)."""
        return self.digit_task.task

    @property
    def n_steps(self) -> int:
        return self.digit_task.task.n_steps

    # --- the string form --------------------------------------------------------------
    def state_string(self, level: int, index: int) -> str:
        """The string of state ``index`` at ``level``."""
        self._check_level(level)
        if not 0 <= int(index) < len(self._strings[level]):
            raise InputError(f"state {index} is outside level {level} of size {len(self._strings[level])}")
        return self._strings[level][int(index)]

    def state_strings(self, level: int) -> tuple[str, ...]:
        """Strings of every state of ``level``, in state-index order."""
        self._check_level(level)
        return self._strings[level]

    def parse_state(self, level: int, text: str) -> int | None:
        """State index of ``text`` at ``level``, or ``None`` when it is not a valid state there."""
        self._check_level(level)
        return self._index[level].get(text)

    def literals(self) -> tuple[str, ...]:
        """Separator characters used by the templates (sorted)."""
        labels = {l for lev in self.digit_task.levels.labels for l in lev}
        return tuple(sorted({t for tpl in self.templates for t in tpl if t not in labels}))

    def digits(self) -> tuple[str, ...]:
        return tuple(str(d) for d in range(self.digit_task.base))

    def _check_level(self, level: int) -> None:
        if not 0 <= int(level) <= self.n_steps:
            raise InputError(f"level {level} is outside 0..{self.n_steps}")

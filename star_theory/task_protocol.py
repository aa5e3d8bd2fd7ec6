r"""The Task protocol: what a reasoning task is, declared once.

A :class:`Task` is a name, the ground truth (a :class:`~star_theory.model.ReasoningTask`: level
sizes :math:`|S_0|, \dots, |S_N|`, steps :math:`g_n` and questions :math:`\rho`), the parameters
it was built with, and optionally a *string form*: one string per state per level (the strings of
one level all distinct), which is what the transformer reads and writes. The simulator, the exact
operator and the checks need only the ground truth; the LLM loop needs the strings too.

A :class:`TaskFactory` builds a task from a parameter mapping: its ``params`` declare the
parameter names and defaults (given values are coerced to the default's type, unknown names are
refused), and ``level_sizes(**params)`` gives :math:`|S_n|` cheaply, without building the task,
for the memory estimates of :mod:`star_theory.sizes` (without it the sizes come from building the
task). Factories are known by name in one registry, :mod:`star_theory.task_registry`, which
holds a worked example. The implementations: :mod:`star_theory.tasks` (``zip``, ``add``: digit
states) and :mod:`star_theory.task_walk` (``walk``: letter states, a non-bijective step).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from .errors import InputError
from .model import ReasoningTask
from .validation import call_foreign



@dataclass(frozen=True, eq=False)
class Task:
    """A reasoning task: ``name``, ground truth ``task``, its ``params`` and an optional string form.

    ``strings`` is either a sequence (one sequence of strings per level) or a function
    ``level -> strings of that level`` (called once per level, on first use; it may raise
    :class:`InputError` when the task has no string form for these parameters). ``symbols`` fixes
    the order of the alphabet (one token per character in the LLM's ``symbol`` tokenization);
    default: the characters of every string, sorted.
    """

    name: str
    task: ReasoningTask
    params: Mapping[str, Any] = field(default_factory=dict)
    strings: Callable[[int], Sequence[str]] | Sequence[Sequence[str]] | None = None
    symbols: tuple[str, ...] | None = None
    _levels: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise InputError(f"a task's name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.task, ReasoningTask):
            raise InputError(f"task {self.name!r}: task must be a ReasoningTask, got {type(self.task).__name__}")
        if not isinstance(self.params, Mapping):
            raise InputError(f"task {self.name!r}: params must be a mapping, got {type(self.params).__name__}")
        object.__setattr__(self, "params", dict(self.params))
        s = self.strings
        if s is not None and not callable(s):
            if isinstance(s, (str, bytes)) or not isinstance(s, Sequence) or len(s) != self.n_steps + 1:
                raise InputError(f"task {self.name!r}: strings must hold one sequence per level ({self.n_steps + 1})")

    # --- the tabular view -------------------------------------------------------------
    @property
    def sizes(self) -> tuple[int, ...]:
        """``|S_0|, ..., |S_N|``."""
        return self.task.sizes

    @property
    def n_steps(self) -> int:
        return self.task.n_steps

    # --- the string form --------------------------------------------------------------
    @property
    def has_strings(self) -> bool:
        return self.strings is not None

    def state_strings(self, level: int) -> tuple[str, ...]:
        """Strings of every state of ``level``, in state-index order (checked on first use:
        one non-empty string per state, all distinct)."""
        return self._level(level)[0]

    def state_string(self, level: int, index: int) -> str:
        """The string of state ``index`` at ``level``."""
        strings = self.state_strings(level)
        if not 0 <= int(index) < len(strings):
            raise InputError(f"state {index} is outside level {level} of size {len(strings)}")
        return strings[int(index)]

    def parse_state(self, level: int, text: str) -> int | None:
        """State index of ``text`` at ``level``, or ``None`` when it is not a state there."""
        return self._level(level)[1].get(text)

    def alphabet(self) -> tuple[str, ...]:
        """Every character of the string form, in ``symbols`` order (default sorted)."""
        chars = {c for n in range(self.n_steps + 1) for s in self.state_strings(n) for c in s}
        if self.symbols is None:
            return tuple(sorted(chars))
        missing = sorted(chars - set(self.symbols))
        if missing:
            raise InputError(f"task {self.name!r}: character {missing[0]!r} of its strings is not in its symbols")
        return tuple(self.symbols)

    def _level(self, level) -> tuple[tuple[str, ...], dict]:
        if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= self.n_steps:
            raise InputError(f"level {level!r} is outside 0..{self.n_steps}")
        if level not in self._levels:
            if self.strings is None:
                raise InputError(f"task {self.name!r} has no string form (the LLM needs one string per state)")
            raw = self.strings(level) if callable(self.strings) else self.strings[level]
            strings = tuple(raw)
            if len(strings) != self.sizes[level] or not all(isinstance(x, str) and x for x in strings):
                raise InputError(f"task {self.name!r}: level {level} needs {self.sizes[level]} non-empty strings, "
                                 f"got {len(strings)}")
            index = {x: i for i, x in enumerate(strings)}
            if len(index) != len(strings):
                raise InputError(f"task {self.name!r}: two states of level {level} have the same string")
            self._levels[level] = (strings, index)
        return self._levels[level]


@dataclass(frozen=True)
class TaskFactory:
    """Builds a task from parameters: ``build(**params) -> Task``, the declared ``params`` with their
    defaults, and optionally ``level_sizes(**params) -> [|S_0|, ..., |S_N|]`` without building."""

    name: str
    build: Callable[..., Task]
    params: Mapping[str, Any] = field(default_factory=dict)
    level_sizes: Callable[..., Sequence[int]] | None = None
    help: str = ""

    def resolve(self, given: Mapping[str, Any] | None = None) -> dict:
        """Every parameter: ``given`` (coerced to each default's type) over the defaults; an unknown
        name or a value of the wrong type is a one-line :class:`InputError`."""
        given = {} if given is None else given
        if not isinstance(given, Mapping):
            raise InputError(f"task {self.name!r}: parameters must be a mapping, got {type(given).__name__}")
        out = dict(self.params)
        for key, value in given.items():
            if key not in self.params:
                known = ", ".join(self.params) or "none"
                raise InputError(f"task {self.name!r} has no parameter {key!r} (known: {known})")
            out[key] = _coerce_param(value, self.params[key], f"task {self.name!r}: {key}")
        return out

    def make(self, given: Mapping[str, Any] | None = None) -> Task:
        """The task built with :meth:`resolve`'s parameters (checked to be a :class:`Task`)."""
        params = self.resolve(given)
        task = call_foreign("task", self.name, "build", self.build, **params)
        if not isinstance(task, Task):
            raise InputError(f"task {self.name!r}: its factory must return a star_theory.Task, got {type(task).__name__}")
        return task

    def sizes(self, given: Mapping[str, Any] | None = None) -> list[int]:
        """``|S_0|, ..., |S_N|`` for these parameters: from ``level_sizes`` (nothing built) when the
        factory has it, else from the built task."""
        if self.level_sizes is None:
            return list(self.make(given).sizes)
        raw = call_foreign("task", self.name, "level_sizes", self.level_sizes, **self.resolve(given))
        try:
            sizes = [int(s) for s in raw]
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"task {self.name!r}: level_sizes must return integers, got {raw!r}") from None
        if len(sizes) < 2 or min(sizes) < 1:
            raise InputError(f"task {self.name!r}: level_sizes must give >= 2 levels of >= 1 state, got {sizes}")
        return sizes


def _coerce_param(value, default, what: str):
    """``value`` (a TOML value or the text of ``--task-param KEY=VALUE``) as the type of ``default``."""
    kind = type(default)
    if default is None or isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
    elif kind is int and not isinstance(value, bool):
        try:
            if isinstance(value, float) and value.is_integer():
                return int(value)
            if isinstance(value, str):
                return int(value)
        except ValueError:
            pass
    elif kind is float and not isinstance(value, bool):
        try:
            out = float(value)
            if out == out and abs(out) != float("inf"):
                return out
        except (TypeError, ValueError):
            pass
    elif kind is str:
        return str(value)
    raise InputError(f"{what} must be {kind.__name__}, got {value!r}")

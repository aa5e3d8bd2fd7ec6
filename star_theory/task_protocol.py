r"""The Task protocol: what a reasoning task is, and the one registry every command looks tasks up in.

A :class:`Task` is a name, the ground truth (a :class:`~star_theory.model.ReasoningTask`: level
sizes :math:`|S_0|, \dots, |S_N|`, steps :math:`g_n` and questions :math:`\rho`), the parameters
it was built with, and optionally a *string form*: one string per state per level (the strings of
one level all distinct), which is what the transformer reads and writes. The simulator, the exact
operator and the checks need only the ground truth; the LLM loop needs the strings too.

A :class:`TaskFactory` builds a task from a parameter mapping: its ``params`` declare the
parameter names and defaults (given values are coerced to the default's type, unknown names are
refused), and ``level_sizes(**params)`` gives :math:`|S_n|` cheaply, without building the task,
for the memory estimates of :mod:`star_theory.sizes` (without it the sizes come from building the
task). Tasks are known by name in one registry:

* the built-ins ``zip`` and ``add`` (digit tasks, :mod:`star_theory.tasks`) and ``walk`` (letter
  states, a non-bijective step, :mod:`star_theory.task_walk`);
* the entry-point group ``rlstar.tasks``: an entry point loads a factory (a :class:`TaskFactory`
  or a callable ``(**params) -> Task``); it is foreign code, so any failure while loading or
  building becomes a one-line :class:`~star_theory.errors.InputError`;
* :func:`register_task` (``register_task(factory, name)``) in this process.

Worked example (a task with two letter states per level, whose step forgets the letter)::

    import numpy as np
    from star_theory import ReasoningTask, Task, register_task, make_task

    def forget(steps: int = 2) -> Task:
        maps = [np.zeros(2, dtype=int)] * steps           # g_n(a) = g_n(b) = a
        strings = [("a", "b")] * (steps + 1)
        return Task("forget", ReasoningTask(maps, final_size=2), {"steps": steps}, strings)

    register_task(forget, "forget")
    make_task("forget", {"steps": 3}).task.sizes          # (2, 2, 2, 2)
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Callable, Mapping, Sequence

from .errors import InputError
from .model import ReasoningTask

ENTRY_POINT_GROUP = "rlstar.tasks"
SYMMETRIC = "symmetric"  # the simulator's symmetric family (M, N, task_seed), not a registered task


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
        task = _call_foreign(self.name, "build", self.build, **params)
        if not isinstance(task, Task):
            raise InputError(f"task {self.name!r}: its factory must return a star_theory.Task, got {type(task).__name__}")
        return task

    def sizes(self, given: Mapping[str, Any] | None = None) -> list[int]:
        """``|S_0|, ..., |S_N|`` for these parameters: from ``level_sizes`` (nothing built) when the
        factory has it, else from the built task."""
        if self.level_sizes is None:
            return list(self.make(given).sizes)
        raw = _call_foreign(self.name, "level_sizes", self.level_sizes, **self.resolve(given))
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


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else "(no message)"


def _call_foreign(name: str, what: str, fn: Callable, *args, **kwargs):
    """Call a task factory's code: any failure (``SystemExit`` included, ``KeyboardInterrupt``
    not) becomes a one-line InputError naming the task (as ``star_theory.rules.call_foreign``)."""
    try:
        return fn(*args, **kwargs)
    except KeyboardInterrupt:
        raise
    except InputError as exc:
        raise InputError(f"task {name!r}: {exc}") from None
    except BaseException as exc:  # foreign code: SystemExit, anything
        raise InputError(f"task {name!r}: {what} failed: {type(exc).__name__}: {_first_line(exc)}") from None


# ----------------------------------------------------------------------------- the registry

_REGISTRY: dict[str, TaskFactory] = {}


def _builtins() -> dict[str, TaskFactory]:
    from .task_walk import WALK
    from .tasks import ADD, ZIP

    return {"zip": ZIP, "add": ADD, "walk": WALK}


def _entry_points():
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def as_task_factory(obj, name: str | None = None) -> TaskFactory:
    """``obj`` as a :class:`TaskFactory` named ``name``: a factory (renamed), or a callable
    ``(**params) -> Task`` whose keyword defaults declare the parameters (a ``level_sizes``
    attribute of the callable, when present, gives the sizes)."""
    if isinstance(obj, TaskFactory):
        return obj if name is None or obj.name == name else dataclasses.replace(obj, name=name)
    if not callable(obj):
        raise InputError(f"a task factory must be a TaskFactory or a callable returning a Task, got {type(obj).__name__}")
    name = getattr(obj, "__name__", None) if name is None else name
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        raise InputError(f"task {name!r}: cannot read the factory's parameters") from None
    params = {}
    for p in signature.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.default is p.empty:
            raise InputError(f"task {name!r}: factory parameter {p.name!r} needs a default")
        params[p.name] = p.default
    sizes = getattr(obj, "level_sizes", None)
    return TaskFactory(str(name), obj, params, sizes if callable(sizes) else None, (inspect.getdoc(obj) or "").split("\n")[0])


def register_task(factory, name: str | None = None, *, replace_existing: bool = False) -> TaskFactory:
    """Make ``factory`` (a :class:`TaskFactory` or a callable ``(**params) -> Task``) known as
    ``name`` (default: its own name) in this process; returns the factory used."""
    factory = as_task_factory(factory, name)
    name = factory.name
    if not isinstance(name, str) or not name or not name.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"a task name must be letters, digits, - and _, got {name!r}")
    if name in _builtins() or name == SYMMETRIC:
        raise InputError(f"{name!r} is a built-in task; choose another name")
    if name in _REGISTRY and _REGISTRY[name] is not factory and not replace_existing:
        raise InputError(f"a task named {name!r} is registered already (pass replace_existing=True)")
    _REGISTRY[name] = factory
    return factory


def unregister_task(name: str) -> None:
    """Forget a task registered with :func:`register_task` (or loaded from an entry point)."""
    if not isinstance(name, str) or name not in _REGISTRY:
        raise InputError(f"no registered task named {name!r}")
    del _REGISTRY[name]


def task_names() -> tuple[str, ...]:
    """Every task name: the built-ins, then the registered and entry-point tasks (sorted)."""
    builtins = tuple(_builtins())
    return builtins + tuple(sorted((set(_REGISTRY) | set(_entry_points())) - set(builtins)))


def get_task_factory(name: str) -> TaskFactory:
    """The factory of the task called ``name`` (built-in, registered, or an ``rlstar.tasks`` entry point)."""
    if not isinstance(name, str):
        raise InputError(f"unknown task {name!r} (known: {', '.join(task_names())})")
    builtins = _builtins()
    if name in builtins:
        return builtins[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    ep = _entry_points().get(name)
    if ep is None:
        raise InputError(f"unknown task {name!r} (known: {', '.join(task_names())})")
    try:
        obj = ep.load()
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # an entry point is foreign code: any failure is one line
        raise InputError(f"task {name!r}: entry point {ep.value!r} ({ENTRY_POINT_GROUP}) failed to load: "
                         f"{type(exc).__name__}: {_first_line(exc)}") from None
    return register_task(obj, name)


def make_task(name: str, params: Mapping[str, Any] | None = None) -> Task:
    """The task called ``name`` built with ``params`` (the rest take the factory's defaults)."""
    return get_task_factory(name).make(params)


def resolve_task_params(name: str, params: Mapping[str, Any] | None = None) -> dict:
    """Every parameter of task ``name``: ``params`` over its factory's defaults (checked, coerced)."""
    return get_task_factory(name).resolve(params)


def task_level_sizes(name: str, params: Mapping[str, Any] | None = None) -> list[int]:
    """``|S_0|, ..., |S_N|`` of task ``name`` with ``params``, cheaply (:meth:`TaskFactory.sizes`)."""
    return get_task_factory(name).sizes(params)


def describe_task(name: str, params: Mapping[str, Any]) -> str:
    """``name k=v ...`` for messages and result records (a digit task: ``name D=.. b=..``)."""
    if set(params) == {"digits", "base"}:
        return f"{name} D={params['digits']} b={params['base']}"
    return " ".join([name] + [f"{k}={v}" for k, v in params.items()])


#: config fields that stand for a task parameter of the same name (``--digits D`` = ``--task-param digits=D``)
PARAM_ALIASES = ("digits", "base")


def settle_task_fields(config, allow_symmetric: bool = False) -> None:
    """In a config's ``__post_init__``: check ``config.task`` against the registry and store in
    ``config.task_params`` every parameter of the task: ``task_params`` over the alias fields
    (``digits``, ``base``: for the tasks that declare them) over the factory's defaults. The alias
    fields are then set from the result, so a record holds one consistent value of each.
    ``allow_symmetric``: ``task = "symmetric"`` is the simulator's symmetric family (no parameters)."""
    params = config.task_params
    if allow_symmetric and config.task == SYMMETRIC:
        if params:
            raise InputError(f"task {SYMMETRIC!r} takes no task parameters (it has M, N, task_seed), got {sorted(params)}")
        return
    factory = get_task_factory(config.task)
    given = {k: getattr(config, k) for k in PARAM_ALIASES if k in factory.params and getattr(config, k, None) is not None}
    given.update(params)
    resolved = factory.resolve(given)
    object.__setattr__(config, "task_params", resolved)
    for key in PARAM_ALIASES:
        if key in resolved:
            object.__setattr__(config, key, resolved[key])


def fold_task_aliases(values: Mapping[str, Any]) -> dict:
    """``values`` (one level of settings: a preset, a TOML table, the flags given, a record) with
    its alias keys (``digits``, ``base``) moved into ``task_params`` (whose own keys win)."""
    out = dict(values)
    aliases = {k: out.pop(k) for k in PARAM_ALIASES if k in out}
    aliases = {k: v for k, v in aliases.items() if v is not None}
    if aliases or "task_params" in out:
        params = out.get("task_params") or {}
        if not isinstance(params, Mapping):
            from .config import key_values

            params = key_values(params, "task_params")
        out["task_params"] = {**aliases, **params}
    return out


def merge_task_levels(lower: Mapping[str, Any], higher: Mapping[str, Any]) -> dict:
    """Settings ``higher`` over ``lower`` (each folded by :func:`fold_task_aliases`): the task
    parameters merge key by key, unless ``higher`` names another task than ``lower``, whose
    parameters then no longer apply."""
    lo, hi = fold_task_aliases(lower), fold_task_aliases(higher)
    out = {**lo, **hi}
    if "task_params" in lo or "task_params" in hi:
        same = "task" not in hi or hi["task"] == lo.get("task")
        out["task_params"] = {**(lo.get("task_params", {}) if same else {}), **hi.get("task_params", {})}
    return out


def record_task(record: Mapping[str, Any]) -> Task:
    """The task of a config record (``run.json``'s ``config``): its ``task`` with ``task_params``
    over the aliases ``digits``/``base`` (a record from before task parameters has only those)."""
    name = record.get("task")
    factory = get_task_factory(name)
    folded = fold_task_aliases({k: v for k, v in record.items() if k in PARAM_ALIASES + ("task_params",)})
    params = {k: v for k, v in folded.get("task_params", {}).items() if k in factory.params or k not in PARAM_ALIASES}
    return factory.make(params)

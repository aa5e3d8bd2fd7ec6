r"""The one registry of tasks (:class:`~star_theory.task_protocol.TaskFactory` by name) that every
command taking ``--task NAME`` looks tasks up in, and the handling of task parameters in configs.

* the built-ins ``zip`` and ``add`` (digit tasks, :mod:`star_theory.tasks`) and ``walk`` (letter
  states, a non-bijective step, :mod:`star_theory.task_walk`);
* the entry-point group ``rlstar.tasks``: an entry point loads a factory (a :class:`TaskFactory`
  or a callable ``(**params) -> Task``); it is foreign code, so any failure while loading or
  building becomes a one-line :class:`~star_theory.errors.InputError`;
* :func:`register_task` (``register_task(factory, name)``) in this process.

Task parameters travel as one mapping, ``task_params`` in a config: ``--task-param KEY=VALUE``
(repeatable) on the command line, a ``[task]`` table (``name = "zip"`` and the parameters) in a
TOML file; ``--digits`` and ``--base`` are aliases of the digit tasks' two parameters
(:data:`PARAM_ALIASES`). A config records every parameter of its task (the factory's defaults
filled in), and a record from before task parameters (``digits`` and ``base`` only) reads back
as the same config.

Worked example (a task with two letter states per level, whose step forgets the letter)::

    import numpy as np
    from star_theory import ReasoningTask, Task, make_task, register_task

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
from typing import Any, Mapping

from .errors import InputError
from .plugins import PluginRegistry
from .task_protocol import Task, TaskFactory
from .task_walk import WALK
from .tasks import DIGIT_TASKS

ENTRY_POINT_GROUP = "rlstar.tasks"
SYMMETRIC = "symmetric"  # the simulator's symmetric family (M, N, task_seed), not a registered task

TASKS: PluginRegistry[TaskFactory] = PluginRegistry("task", "task", ENTRY_POINT_GROUP)
_REGISTRY = TASKS.registered  # the tasks registered in this process, by name


def _builtins() -> dict[str, TaskFactory]:
    return {**DIGIT_TASKS, "walk": WALK}


def as_task_factory(obj: Any, name: str | None = None) -> TaskFactory:
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


def register_task(factory: Any, name: str | None = None, *, replace_existing: bool = False) -> TaskFactory:
    """Make ``factory`` (a :class:`TaskFactory` or a callable ``(**params) -> Task``) known as
    ``name`` (default: its own name) in this process; returns the factory used."""
    factory = as_task_factory(factory, name)
    name = factory.name
    if not isinstance(name, str) or not name or not name.replace("-", "").replace("_", "").isalnum():
        raise InputError(f"a task name must be letters, digits, - and _, got {name!r}")
    return TASKS.add(name, factory, {*_builtins(), SYMMETRIC}, replace_existing)


def unregister_task(name: str) -> None:
    """Forget a task registered with :func:`register_task` (or loaded from an entry point)."""
    TASKS.remove(name)


def task_names() -> tuple[str, ...]:
    """Every task name: the built-ins, then the registered and entry-point tasks (sorted)."""
    return TASKS.names(_builtins())


def get_task_factory(name: str) -> TaskFactory:
    """The factory of the task called ``name`` (built-in, registered, or an ``rlstar.tasks`` entry point)."""
    if not isinstance(name, str):
        raise InputError(f"unknown task {name!r} (known: {', '.join(task_names())})")
    builtins = _builtins()
    if name in builtins:
        return builtins[name]
    if name in _REGISTRY:
        return _REGISTRY[name]
    return register_task(TASKS.load(name, task_names), name)


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
    its alias keys (``digits``, ``base``) moved into ``task_params`` (whose own keys win); when
    ``values`` names a task that does not declare an alias, the alias is dropped (as the config
    field is ignored for such a task)."""
    out = dict(values)
    aliases = {k: out.pop(k) for k in PARAM_ALIASES if k in out}
    aliases = {k: v for k, v in aliases.items() if v is not None}
    if aliases and isinstance(out.get("task"), str):  # a task that does not declare an alias ignores it
        try:
            declared = get_task_factory(out["task"]).params
        except InputError:
            declared = aliases  # an unknown task: the config names it
        aliases = {k: v for k, v in aliases.items() if k in declared}
    if aliases or "task_params" in out:
        params = out.get("task_params") or {}
        if not isinstance(params, Mapping):
            raise InputError(f"task_params must be a table of KEY = VALUE, got {params!r}")
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
    factory = get_task_factory(name)  # type: ignore[arg-type]  # a non-string name gets get_task_factory's one-line error
    folded = fold_task_aliases({k: v for k, v in record.items() if k in PARAM_ALIASES + ("task_params",)})
    params = {k: v for k, v in folded.get("task_params", {}).items() if k in factory.params or k not in PARAM_ALIASES}
    return factory.make(params)

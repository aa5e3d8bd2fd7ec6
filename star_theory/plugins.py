"""Plug-ins by name: one registry class for the tasks (:mod:`star_theory.task_registry`) and the
update rules (:mod:`star_theory.rules`).

A registry holds the objects registered in this process (``register_task``, ``register_rule``) and
finds the entry points of its group (``rlstar.tasks``, ``rlstar.variants``) in the installed
packages. An entry point is foreign code: it is loaded on first use, and any failure while loading
it (``SystemExit`` included, ``KeyboardInterrupt`` excepted) is one line naming the plug-in, its
entry point and its group. The built-in names of each kind stay with its module; a registry only
refuses them.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any, Callable, Collection, Generic, TypeVar

from .errors import InputError
from .validation import first_line

T = TypeVar("T")


class PluginRegistry(Generic[T]):
    """The plug-ins of one kind: ``kind`` names them in messages (``"task"``, ``"rule"``), ``label``
    names a plug-in looked up by name (``"task"``, ``"variant"``), ``group`` is the entry-point group."""

    def __init__(self, kind: str, label: str, group: str) -> None:
        self.kind, self.label, self.group = kind, label, group
        self.registered: dict[str, T] = {}

    def entry_points(self) -> dict[str, Any]:
        """The entry points of the group, by name (read anew each time: nothing is loaded)."""
        return {ep.name: ep for ep in entry_points(group=self.group)}

    def names(self, builtins: Collection[str]) -> tuple[str, ...]:
        """``builtins`` in their order, then every registered and entry-point name (sorted)."""
        first = tuple(builtins)
        return first + tuple(sorted((set(self.registered) | set(self.entry_points())) - set(first)))

    def add(self, name: str, obj: T, builtins: Collection[str], replace_existing: bool = False) -> T:
        """Register ``obj`` as ``name``: never a built-in name, nor another object's name unless
        ``replace_existing``."""
        if name in builtins:
            raise InputError(f"{name!r} is a built-in {self.label}; choose another name")
        if name in self.registered and self.registered[name] is not obj and not replace_existing:
            raise InputError(f"a {self.kind} named {name!r} is registered already (pass replace_existing=True)")
        self.registered[name] = obj
        return obj

    def remove(self, name: str) -> None:
        """Forget ``name`` (registered in the process or loaded from an entry point)."""
        if not isinstance(name, str) or name not in self.registered:
            raise InputError(f"no registered {self.kind} named {name!r}")
        del self.registered[name]

    def load(self, name: str, known: Callable[[], Collection[str]]) -> Any:
        """What the entry point ``name`` loads (foreign code: any failure is one line); an unknown
        name is one line listing ``known()``."""
        ep = self.entry_points().get(name)
        if ep is None:
            raise InputError(f"unknown {self.label} {name!r} (known: {', '.join(known())})")
        try:
            return ep.load()
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # an entry point is foreign code: any failure, SystemExit included, is one line
            raise InputError(f"{self.label} {name!r}: entry point {ep.value!r} ({self.group}) failed to load: "
                             f"{type(exc).__name__}: {first_line(exc)}") from None

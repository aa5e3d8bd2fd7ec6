"""Tasks in string form: every task comes from the one registry of
:mod:`star_theory.task_protocol` (its string form is part of the :class:`star_theory.Task`).
:func:`get_task` is the digit tasks' short form kept for callers that pass ``digits, base``."""

from __future__ import annotations

from star_theory.task_protocol import Task
from star_theory.task_registry import make_task


def get_task(name: str, digits: int = 3, base: int = 2) -> Task:
    """The digit task ``name`` (``zip``, ``add``) with ``digits`` and ``base``, its string form checked."""
    task = make_task(name, {"digits": digits, "base": base})
    task.state_strings(0)  # a task without a string form (e.g. base > 10) is refused here
    return task


__all__ = ["Task", "get_task"]

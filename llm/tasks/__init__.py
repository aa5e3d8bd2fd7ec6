"""Tasks in string form, one module per task (``zip``, ``add``), over the tabular views of
:mod:`star_theory.tasks`."""

from __future__ import annotations

from star_theory import InputError

from . import add, zip
from .base import TextTask

TASKS = {"zip": zip.text_task, "add": add.text_task}


def get_task(name: str, digits: int = 3, base: int = 2) -> TextTask:
    """A task in string form by name (``zip`` or ``add``)."""
    if name not in TASKS:
        raise InputError(f"unknown task {name!r} (known: {', '.join(TASKS)})")
    return TASKS[name](digits, base)


__all__ = ["TextTask", "TASKS", "get_task"]

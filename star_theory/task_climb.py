r"""``climb``: walk up a tree of letters, a built-in task whose states are not digits.

The ``nodes`` letters ``a, b, c, ...`` form a binary heap: node ``i`` (0-based, ``a`` = 0) has
parent ``p(i) = (i - 1) // 2`` and the root ``a`` is its own parent. A question is a node; each of
the ``steps`` steps moves one node up, :math:`g_n(i) = p(i)`, so the answer is the ancestor
``steps`` levels up (or the root). Every level holds all ``nodes`` states, written as their letter;
the step is not injective (two siblings share a parent, and ``a`` and its children all reach
``a``), so this task lies outside the symmetric family. Worked example, ``nodes = 5, steps = 2``::

            a               level 0   e        (question)
           / \                        |
          b   c             level 1   b = p(e)
         / \                          |
        d   e               level 2   a = p(b) (answer)

Levels: ``|S_0| = |S_1| = |S_2| = 5``; :math:`g_1` maps ``a, b, c, d, e`` to ``a, a, a, b, b``.
One training example is one step: ``<step1>e<sep>b<eos>``.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .model import ReasoningTask
from .task_protocol import Task, TaskFactory
from .validation import _as_int

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _check(nodes, steps) -> tuple[int, int]:
    k = _as_int(nodes, "nodes", 2)
    N = _as_int(steps, "steps", 1)
    if k > len(LETTERS):
        raise InputError(f"nodes must be at most {len(LETTERS)} (one letter each), got {k}")
    if N > 64:
        raise InputError(f"steps must be at most 64, got {N}")
    return k, N


def climb_level_sizes(nodes: int = 5, steps: int = 2) -> list[int]:
    """``|S_n| = nodes`` for ``n = 0..steps``."""
    k, N = _check(nodes, steps)
    return [k] * (N + 1)


def climb_task(nodes: int = 5, steps: int = 2) -> Task:
    """The tree-climbing task: ``steps`` steps of :math:`g(i) = \\max(0, \\lfloor (i - 1)/2 \\rfloor)`."""
    k, N = _check(nodes, steps)
    parent = np.maximum((np.arange(k) - 1) // 2, 0)
    letters = tuple(LETTERS[:k])
    return Task("climb", ReasoningTask([parent] * N, final_size=k), {"nodes": k, "steps": N}, [letters] * (N + 1))


#: the registry's factory (:mod:`star_theory.task_protocol`)
CLIMB = TaskFactory("climb", climb_task, {"nodes": 5, "steps": 2}, climb_level_sizes,
                    "walk up a binary tree of letters (non-injective steps)")

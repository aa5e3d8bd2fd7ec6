r"""``walk``: a walk on a graph of letters, a built-in task whose states are not digits.

The ``nodes`` letters ``a, b, c, ...`` stand for the numbers ``0, 1, 2, ...`` modulo ``k = nodes``;
each letter has one out-edge, to the letter of twice its number, :math:`g(i) = 2 i \bmod k`. A
question is a letter; each of the ``steps`` steps follows the edge, :math:`g_n = g`, so the
answer is :math:`2^N i \bmod k`. Every level holds all ``k`` states, written as their letter.
For even ``k`` the step is not injective (``i`` and ``i + k/2`` share their image), so this task
lies outside the symmetric family. Worked example, ``nodes = 6, steps = 3``::

    edges   a -> a   b -> c   c -> e   d -> a   e -> c   f -> e

    level 0   b   (question: 1)
    level 1   c   g(b): 2 * 1 = 2
    level 2   e   g(c): 2 * 2 = 4
    level 3   c   g(e): 2 * 4 = 8 = 2 (mod 6)   (answer)

Levels: ``|S_0| = ... = |S_3| = 6``; ``b`` and ``e`` both step to ``c``. One training example is
one step: ``<step2>c<sep>e<eos>``.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .model import ReasoningTask
from .task_protocol import Task, TaskFactory
from .validation import as_int

LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _check(nodes, steps) -> tuple[int, int]:
    k = as_int(nodes, "nodes", 2)
    N = as_int(steps, "steps", 1)
    if k > len(LETTERS):
        raise InputError(f"nodes must be at most {len(LETTERS)} (one letter each), got {k}")
    if N > 64:
        raise InputError(f"steps must be at most 64, got {N}")
    return k, N


def walk_level_sizes(nodes: int = 6, steps: int = 3) -> list[int]:
    """``|S_n| = nodes`` for ``n = 0..steps``."""
    k, N = _check(nodes, steps)
    return [k] * (N + 1)


def walk_task(nodes: int = 6, steps: int = 3) -> Task:
    """The doubling walk: ``steps`` steps of :math:`g(i) = 2 i \bmod k` on the letters ``a..``."""
    k, N = _check(nodes, steps)
    edge = (2 * np.arange(k)) % k
    letters = tuple(LETTERS[:k])
    return Task("walk", ReasoningTask([edge] * N, final_size=k), {"nodes": k, "steps": N}, [letters] * (N + 1))


#: the registry's factory (:mod:`star_theory.task_protocol`)
WALK = TaskFactory("walk", walk_task, {"nodes": 6, "steps": 3}, walk_level_sizes,
                   "walk a letter graph, g(i) = 2i mod nodes (non-injective for even nodes)")

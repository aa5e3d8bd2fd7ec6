"""String form of the ``add`` task (addition with carries; tabular view: :func:`star_theory.tasks.add_task`).

Digits are written most significant first. Level 0 is ``x+y``; level ``n >= 1`` is
``<x digits left>+<y digits left>|c|<sum digits so far>``. Steps are not injective and the
levels shrink, so this task lies outside the symmetric family. Worked example, ``D = 3, b = 2``,
``x = 011, y = 001``::

    level 0   011+001       s0   (question: 3 + 1)
    level 1   01+00|1|0     s1: 1 + 1 = 10, write 0, carry 1
    level 2   0+0|1|00      s2: 1 + 0 + 1 = 10, write 0, carry 1
    level 3   +|0|100       s3: 0 + 0 + 1 = 1, write 1, carry 0  (answer: 0100 = 4)

One training example is one step: ``<step1>011+001<sep>01+00|1|0<eos>`` (loss on
``01+00|1|0<eos>`` only). Lengths differ between levels (7, 9, 8, 7 characters for ``D = 3``);
batches are right-padded.
"""

from __future__ import annotations

from star_theory.tasks import add_task

from .base import TextTask


def templates(digits: int) -> tuple[tuple[str, ...], ...]:
    """Character layout of every level (digit labels of :func:`add_task`, ``+`` and ``|``)."""
    D = digits
    out = []
    for n in range(D + 1):
        xs = [f"x{i}" for i in range(D, n, -1)]
        ys = [f"y{i}" for i in range(D, n, -1)]
        lay = xs + ["+"] + ys
        if n >= 1:
            lay += ["|", "c", "|"] + [f"z{i}" for i in range(n, 0, -1)]
        out.append(tuple(lay))
    return tuple(out)


def text_task(digits: int = 3, base: int = 2) -> TextTask:
    """The addition task with its string form."""
    dt = add_task(digits, base)
    return TextTask(dt, templates(dt.digits))

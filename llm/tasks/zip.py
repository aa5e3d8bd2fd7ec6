"""String form of the ``zip`` task (the analysis's task; tabular view: :func:`star_theory.tasks.zip_task`).

Level ``n`` is written ``<zipped pairs>|<remaining x digits>|<remaining y digits>``: always
``2D`` digits and two ``|``, so every state of every level is ``2D + 2`` characters and the
position of the first ``|`` (``2n``) tells the level. Worked example, ``D = 3, b = 2``,
``x = 101, y = 011``::

    level 0   |101|011      s0   (question)
    level 1   10|01|11      s1 = g1(s0): the pair (x1, y1) = (1, 0) moves to the front
    level 2   1001|1|1      s2
    level 3   100111||      s3   (answer: the zipped number)

One training example is one step, conditioned on the step index by a step token:
``<step2>10|01|11<sep>1001|1|1<eos>`` (loss on ``1001|1|1<eos>`` only). With the ``symbol``
tokenization that is 19 tokens (one per character, separators and special tokens); with the
``state`` tokenization 5 tokens (``<step2>``, ``10|01|11``, ``<sep>``, ``1001|1|1``, ``<eos>``).
"""

from __future__ import annotations

from star_theory.tasks import zip_task

from .base import TextTask


def templates(digits: int) -> tuple[tuple[str, ...], ...]:
    """Character layout of every level (digit labels of :func:`zip_task` and ``|``)."""
    D = digits
    out = []
    for n in range(D + 1):
        zipped = [v for i in range(1, n + 1) for v in (f"x{i}", f"y{i}")]
        xs = [f"x{i}" for i in range(n + 1, D + 1)]
        ys = [f"y{i}" for i in range(n + 1, D + 1)]
        out.append(tuple(zipped + ["|"] + xs + ["|"] + ys))
    return tuple(out)


def text_task(digits: int = 3, base: int = 2) -> TextTask:
    """The zip task with its string form."""
    dt = zip_task(digits, base)
    return TextTask(dt, templates(dt.digits))

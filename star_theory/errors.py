"""The one exception type for bad input.

Every validation in the toolkit raises :class:`InputError` with a one-line message that names
the offending parameter and value. The CLI turns it into ``rlstar: error: <message>`` and exit
status 2.
"""

from __future__ import annotations


class InputError(ValueError):
    """A parameter, file or config that the toolkit cannot accept (message: one line)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


def numbers(*values: float) -> list[str]:
    """``values`` as text for a message: 6 significant digits (``-0.015873``, not
    ``-0.015873015873015872``), each in full where rounding would make two of them look equal."""
    short = [f"{float(v):.6g}" for v in values]
    return [repr(float(v)) if short.count(s) > 1 and float(v) != float(values[short.index(s)]) else s
            for v, s in zip(values, short)]

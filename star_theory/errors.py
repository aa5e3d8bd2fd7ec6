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

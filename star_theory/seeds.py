"""The project's one seed-derivation scheme.

Every random choice flows from a recorded master seed through :func:`derive_seed`: an
experiment's seed from the master seed and its name, a child seed from that and its keys, an LLM
run's seed from the master seed and the run's settings, an LLM iteration's sampling and
fine-tuning seeds from the run's seed, the iteration and the purpose. A derived seed is the
CRC-32 of the path written as text, ``"seed/part/part"``: stable across machines and Python
versions, and unrelated for different paths (the generators seeded with it pass the seed through
numpy's ``SeedSequence``, so nearby seeds still give independent streams).
"""

from __future__ import annotations

import zlib

import numpy as np


def _text(part) -> str:
    if isinstance(part, (bool, np.bool_)) or not isinstance(part, (int, np.integer, str)):
        raise TypeError(f"a seed path element must be an int or a str, got {part!r}")
    return str(int(part)) if not isinstance(part, str) else part


def derive_seed(seed: int, *path: int | str) -> int:
    """A 31-bit seed derived from ``seed`` and a path of integers and strings:
    ``crc32("seed/part/...") & 0x7FFFFFFF``.

    ``derive_seed(s, 3, "finetune")`` is a pure function of its arguments; any change of an
    element gives an unrelated seed.
    """
    text = "/".join(_text(p) for p in (seed, *path))
    return zlib.crc32(text.encode()) & 0x7FFFFFFF

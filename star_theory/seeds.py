"""The project's one seed-derivation scheme.

Every random choice flows from a recorded master seed through :func:`derive_seed`: an
experiment's seed from the master seed and its name, a child seed from that and its keys, an LLM
iteration's sampling seed from the run's seed, the iteration and the purpose. The derivation is
numpy's :class:`~numpy.random.SeedSequence` (a hash with good avalanche properties), so seeds
derived along different paths are independent in practice and stable across machines.
"""

from __future__ import annotations

import numpy as np


def _entropy(part) -> int:
    """A path element as SeedSequence entropy: an integer as itself, a string by its UTF-8 bytes.

    Strings are tagged with one extra leading byte so that ``"1"`` and ``49`` differ.
    """
    if isinstance(part, (bool, np.bool_)):
        raise TypeError(f"a seed path element must be an int or a str, got {part!r}")
    if isinstance(part, (int, np.integer)):
        if part < 0:
            raise ValueError(f"a seed path element must be non-negative, got {part}")
        return int(part)
    if isinstance(part, str):
        return int.from_bytes(b"\x01" + part.encode(), "little") << 64  # above any 64-bit integer
    raise TypeError(f"a seed path element must be an int or a str, got {part!r}")


def derive_seed(seed: int, *path) -> int:
    """A 63-bit seed derived from ``seed`` and a path of integers and strings.

    ``derive_seed(s, 3, "finetune")`` is a pure function of its arguments; any change of an
    element gives an unrelated seed.
    """
    state = np.random.SeedSequence([_entropy(seed), *map(_entropy, path)]).generate_state(2, np.uint64)
    return int(state[0] >> 1)

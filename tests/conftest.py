"""Shared hypothesis settings and strategies (keep small)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "rlstar", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("rlstar")


@st.composite
def lam_vectors(draw, M: int, N: int, negative: bool = True, zeros: bool = True):
    """Per-step lam in [-1/(M-1), 1] (or [0, 1]), with exact zeros, ones and bounds mixed in."""
    lo = -1.0 / (M - 1) if negative else 0.0
    special = [0.0, 1.0] + ([lo] if negative else [])
    values = []
    for _ in range(N):
        if zeros and draw(st.integers(0, 5)) == 0:
            values.append(draw(st.sampled_from(special)))
        else:
            values.append(draw(st.floats(lo, 1.0, allow_nan=False)))
    return np.array(values)


@st.composite
def symmetric_settings(draw, max_M: int = 7, max_N: int = 4, negative: bool = True, zeros: bool = True):
    """(M, N, lam, seed) for explicit matrices of the symmetric family."""
    M = draw(st.integers(2, max_M))
    N = draw(st.integers(1, max_N))
    lam = draw(lam_vectors(M, N, negative=negative, zeros=zeros))
    seed = draw(st.integers(0, 2**31 - 1))
    return M, N, lam, seed


seeds = st.integers(0, 2**31 - 1)

"""Shared hypothesis settings and strategies (keep small)."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

settings.register_profile(
    "rlstar", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# CI runs the same examples every time (a red CI then always means a real, reproducible failure);
# local runs explore new examples each time.
settings.register_profile("rlstar-ci", parent=settings.get_profile("rlstar"), derandomize=True, database=None)
settings.load_profile("rlstar-ci" if os.environ.get("CI") else "rlstar")


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


# ----------------------------------------------------------------------------- bad-input case count
# Each bad-input test records the cases it tries as ("bad_input_case", key) in its user_properties.
# The summary sums the distinct keys over every test report (under pytest-xdist the reports'
# user_properties travel to the controller) and prints one line.

BAD_INPUT_PROPERTY = "bad_input_case"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    keys, failed_keys, failed_tests = set(), set(), 0
    for outcome, reports in terminalreporter.stats.items():
        for rep in reports:
            props = [v for k, v in getattr(rep, "user_properties", ()) if k == BAD_INPUT_PROPERTY]
            if not props:
                continue
            keys.update(props)
            if outcome in ("failed", "error") or getattr(rep, "failed", False):
                failed_keys.update(props)
                failed_tests += 1
    if keys:
        status = "all passed" if not failed_tests else f"{failed_tests} test(s) failed ({len(failed_keys)} cases in them)"
        terminalreporter.write_line(f"bad-input cases: {len(keys)} distinct, {status}")

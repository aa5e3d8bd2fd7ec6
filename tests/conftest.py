"""Shared hypothesis settings and strategies (keep small)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from star_theory import strategies

settings.register_profile(
    "rlstar", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
# CI runs the same examples every time (a red CI then always means a real, reproducible failure);
# local runs explore new examples each time.
settings.register_profile("rlstar-ci", parent=settings.get_profile("rlstar"), derandomize=True, database=None)
settings.load_profile("rlstar-ci" if os.environ.get("CI") else "rlstar")

seeds = st.integers(0, 2**31 - 1)


def lam_vectors(M: int, N: int, negative: bool = True):
    """Per-step lam in [-1/(M-1), 1] (or [0, 1]), bounds, 0 and 1 drawn often (star_theory.strategies)."""
    return strategies.lam_vectors(M, N, allow_negative=negative)


def symmetric_settings(max_M: int = 7, max_N: int = 4, negative: bool = True):
    """(M, N, lam, seed) for explicit matrices of the symmetric family."""
    cases = strategies.symmetric_cases(max_M, max_N, allow_negative=negative)
    return st.tuples(cases, seeds).map(lambda c: (*c[0], c[1]))


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


@pytest.fixture(scope="session")
def smoke_out(tmp_path_factory):
    """One folder per test process marked as a smoke ``rlstar reproduce`` run (master seed 0), which the
    experiment tests fill experiment by experiment with ``run_experiment(name, "smoke", smoke_out, 0)``:
    a finished result is reused, so each smoke experiment (and each of its LLM runs) runs once per process,
    and ``reproduce`` later completes the folder reusing them all."""
    from star_theory.outputs import write_marker

    folder = tmp_path_factory.mktemp("smoke_run")
    write_marker(folder, "reproduce", {"preset": "smoke", "master_seed": 0})
    return folder

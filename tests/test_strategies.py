"""star_theory.strategies: valid draws only, claims of the analysis checked with them, and the
"done" criteria of issue 13 (written as a researcher would, with the public API only)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from star_theory import (
    InputError,
    ReasoningTask,
    TabularPolicy,
    accuracy,
    exact_star_step,
    fit_symmetric,
    symmetric_policy,
    symmetric_task,
)
from star_theory.strategies import (
    eps_vectors,
    lam_vectors,
    reasoning_tasks,
    symmetric_cases,
    tabular_policies,
    task_and_policy,
)

FAST = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ----------------------------------------------------------------------------- done means (issue 13)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task_and_policy(bijective=False))
def test_one_exact_star_step_never_lowers_accuracy_on_general_tasks(case):
    # EM: the refit maximises E[log P(chain) | r = 1], so J cannot fall (docs/theory.md)
    task, policy = case
    assert not task.is_bijective()
    assert accuracy(exact_star_step(policy, task), task) >= accuracy(policy, task) - 1e-12


def _some_lam_decreases(case) -> bool:
    M, N, lam = case
    task = symmetric_task(M, N)
    after = fit_symmetric(exact_star_step(symmetric_policy(task, lam=lam), task), task).lam
    return bool(np.any(after < lam - 1e-12))


def test_hypothesis_finds_a_decreasing_lam_when_negative_lam_is_allowed():
    # the claim "every lam_n never decreases" is false with negative entries; hypothesis must find
    # a counterexample within 200 examples and shrink it
    case = find(symmetric_cases(allow_negative=True), _some_lam_decreases,
                settings=settings(max_examples=200, deadline=None, derandomize=True, database=None))
    M, N, lam = case
    # the derived sign rule: lam_n falls iff Lambda_-n = prod_{m != n} lam_m < 0 (0 < lam_n ... < 1)
    others = np.array([np.prod(np.delete(lam, n)) for n in range(N)])
    assert np.any(others < 0) and np.any(lam < 0)
    assert (M, N) == (2, 2)  # shrunk to the smallest family that can fail (N = 1 cannot: lam_1 -> 1)


def test_with_non_negative_lam_no_counterexample_is_found():
    @settings(max_examples=60, deadline=None)
    @given(symmetric_cases(allow_negative=False))
    def claim(case):
        assert not _some_lam_decreases(case)

    claim()


# ----------------------------------------------------------------------------- valid draws


@FAST
@given(st.data(), st.sampled_from([None, True, False]), st.sampled_from(["any", "uniform"]))
def test_tasks_respect_their_parameters(data, bijective, question_dist):
    task = data.draw(reasoning_tasks(max_states=5, max_steps=3, bijective=bijective, question_dist=question_dist))
    assert isinstance(task, ReasoningTask)
    assert 1 <= task.n_steps <= 3 and 2 <= min(task.sizes) and max(task.sizes) <= 5
    if bijective is not None:
        assert task.is_bijective() == bijective
    if question_dist == "uniform":
        np.testing.assert_allclose(task.question_dist, 1.0 / task.sizes[0])
    assert task.question_dist.sum() == pytest.approx(1.0)


@FAST
@given(st.data(), st.sampled_from([0.0, 0.05, 0.2]))
def test_policies_fit_their_task_and_respect_min_prob(data, min_prob):
    task, policy = data.draw(task_and_policy(max_states=5, max_steps=3, min_prob=min_prob))
    assert isinstance(policy, TabularPolicy)
    policy.check_compatible(task)
    for k in policy.kernels:
        np.testing.assert_allclose(k.sum(axis=1), 1.0, atol=1e-12)
        assert k.min() >= min_prob - 1e-12


def test_zero_entries_are_drawn_when_min_prob_is_zero():
    task = symmetric_task(3, 2)
    found = find(tabular_policies(task), lambda p: any(np.any(k == 0) for k in p.kernels),
                 settings=settings(max_examples=200, deadline=None, database=None))
    assert any(np.any(k == 0) for k in found.kernels)


@FAST
@given(st.integers(2, 50), st.integers(1, 5), st.data())
def test_lam_and_eps_vectors_stay_inside_their_ranges(M, N, data):
    lam = data.draw(lam_vectors(M, N))
    eps = data.draw(eps_vectors(M, N))
    pos = data.draw(lam_vectors(M, N, allow_negative=False))
    assert lam.shape == eps.shape == pos.shape == (N,)
    assert np.all((lam >= -1.0 / (M - 1)) & (lam <= 1.0))
    assert np.all((eps >= -1.0 / M) & (eps <= (M - 1) / M))
    assert np.all((pos >= 0.0) & (pos <= 1.0))
    symmetric_policy(symmetric_task(M, N), lam=lam)  # accepted by the family
    symmetric_policy(symmetric_task(M, N), eps=eps)


def test_the_lower_bound_is_drawn():
    lam = find(lam_vectors(5, 3), lambda v: np.any(v == -0.25), settings=settings(max_examples=200, database=None))
    assert np.any(lam == -0.25)


def test_bad_strategy_arguments_raise_input_error():
    with pytest.raises(InputError, match="max_states"):
        reasoning_tasks(max_states=1)
    with pytest.raises(InputError, match="question_dist"):
        reasoning_tasks(question_dist="zipf")
    with pytest.raises(InputError, match="bijective"):
        reasoning_tasks(bijective="yes")
    with pytest.raises(InputError, match="task must be a ReasoningTask"):
        tabular_policies(64)
    with pytest.raises(InputError, match="min_prob"):
        tabular_policies(symmetric_task(4, 1), min_prob=0.3)
    with pytest.raises(InputError, match="M"):
        lam_vectors(1, 2)


def test_without_hypothesis_the_module_says_so_in_one_line():
    import subprocess
    import sys

    code = "import sys; sys.modules['hypothesis'] = None\nimport star_theory, star_theory.strategies"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: star_theory.strategies needs hypothesis") and "rlstar[test]" in last
    # the package itself does not need hypothesis
    ok = subprocess.run([sys.executable, "-c", "import sys; sys.modules['hypothesis'] = None\nimport star_theory"],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr

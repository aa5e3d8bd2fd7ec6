"""model.py basics: validation (InputError), conventions, the symmetric family."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from star_theory import (
    InputError,
    ReasoningTask,
    TabularPolicy,
    eps_to_lam,
    fit_symmetric,
    lam_to_eps,
    mixture_policy,
    resolve_lam,
    symmetric_policy,
    symmetric_task,
)


@given(st.integers(2, 10**9), st.floats(0, 1))
def test_lam_eps_round_trip(M, u):
    lo = -1.0 / (M - 1)
    lam = lo + u * (1.0 - lo)
    eps = lam_to_eps(lam, M)
    # P(correct) written both ways is the same number
    assert np.isclose(1.0 / M + eps, lam + (1.0 - lam) / M, rtol=1e-12, atol=1e-15)
    assert np.isclose(eps_to_lam(eps, M), lam, rtol=1e-12, atol=1e-15)


@given(st.integers(2, 8), st.integers(1, 4), st.integers(0, 1000), st.floats(-1, 1))
def test_symmetric_policy_is_stochastic_with_correct_step_probability(M, N, seed, u):
    lam = max(u, -1.0 / (M - 1))
    task = symmetric_task(M, N, seed=seed)
    pol = symmetric_policy(task, lam=lam)
    for n, k in enumerate(pol.kernels):
        assert np.allclose(k.sum(axis=1), 1.0)
        correct = k[np.arange(M), task.maps[n]]
        assert np.allclose(correct, lam + (1 - lam) / M)
        assert np.all(k >= 0)
    fit = fit_symmetric(pol, task)  # a member of the family is its own projection
    assert np.allclose(fit.lam, lam) and np.allclose(fit.distance, 0.0)


def test_symmetric_task_steps_are_bijections():
    task = symmetric_task(5, 3, seed=1)
    assert task.is_bijective()
    for m in task.maps:
        assert sorted(m.tolist()) == list(range(5))


@pytest.mark.parametrize(
    "kernels, fragment",
    [
        ([np.array([[0.5, 0.6], [0.5, 0.5]])], "not stochastic"),
        ([np.array([[1.5, -0.5], [0.5, 0.5]])], "negative"),
        ([np.array([[np.nan, 0.5], [0.5, 0.5]])], "finite"),
        ([np.eye(2), np.ones((3, 2)) / 2], "rows"),
    ],
)
def test_bad_kernels_raise_input_error(kernels, fragment):
    with pytest.raises(InputError, match=fragment):
        TabularPolicy(kernels)


@pytest.mark.parametrize(
    "maps, kwargs, fragment",
    [
        ([np.array([0, 3]), np.array([0, 1])], {}, "outside level 1"),
        ([np.array([0.5, 1.0])], {}, "integers"),
        ([np.array([0, 1])], {"question_dist": [0.5, np.nan]}, "finite"),
        ([np.array([0, 1])], {"question_dist": [0.7, 0.7]}, "probability"),
        ([], {}, "at least one"),
    ],
)
def test_bad_tasks_raise_input_error(maps, kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        ReasoningTask(maps, **kwargs)


def test_policy_task_mismatch_and_bad_lam():
    task = symmetric_task(3, 2)
    with pytest.raises(InputError):
        symmetric_policy(task, lam=[0.1, 0.2, 0.3])
    with pytest.raises(InputError, match="outside"):
        symmetric_policy(task, lam=-0.6)  # below -1/(M-1) = -0.5
    with pytest.raises(InputError, match="finite"):
        resolve_lam(3, 2, lam=float("nan"))
    with pytest.raises(InputError, match="exactly one"):
        resolve_lam(3, 2, lam=0.1, eps=0.1)
    non_bij = ReasoningTask([np.array([0, 0, 1])], final_size=3)
    with pytest.raises(InputError, match="bijection"):
        symmetric_policy(non_bij, lam=0.5)
    # the mixture family works on any task
    assert mixture_policy(non_bij, lam=0.5).sizes == (3, 3)

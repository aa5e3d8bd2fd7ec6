"""exact.py against an independent computation: enumeration of every chain of tiny tasks."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import seeds
from star_theory import (
    InputError,
    ReasoningTask,
    TabularPolicy,
    accuracy,
    diagnostics,
    exact_star_step,
    random_tabular_case,
    star_trajectory,
    symmetric_policy,
    symmetric_task,
)
from star_theory.testing import assert_monotone_accuracy


def enumerate_chains(policy, task):
    """Yield (s0, chain (s_0..s_N), probability including rho) for every chain."""
    levels = [range(n) for n in task.sizes]
    for chain in itertools.product(*levels):
        prob = task.question_dist[chain[0]]
        for n, k in enumerate(policy.kernels):
            prob *= k[chain[n], chain[n + 1]]
        yield chain, prob


def brute_force(policy, task):
    """Accuracy, refit kernels (old row where unvisited), flawed distribution by enumeration."""
    N = task.n_steps
    J = 0.0
    counts = [np.zeros(k.shape) for k in policy.kernels]
    flawed = np.zeros(N)
    for chain, prob in enumerate_chains(policy, task):
        star = task.correct_chains[chain[0]]
        if chain[-1] != star[-1]:
            continue
        J += prob
        for n in range(N):
            counts[n][chain[n], chain[n + 1]] += prob
        flawed[sum(chain[n] != star[n] for n in range(1, N))] += prob
    new = []
    for c, old in zip(counts, policy.kernels):
        rows = c.sum(axis=1, keepdims=True)
        new.append(np.where(rows > 0, c / np.where(rows > 0, rows, 1), old))
    return J, new, flawed / J if J > 0 else np.full(N, np.nan)


@given(seeds)
def test_exact_operator_equals_chain_enumeration(seed):
    task, policy = random_tabular_case(seed, max_states=3, max_steps=3)
    J, new, flawed = brute_force(policy, task)
    assert accuracy(policy, task) == pytest.approx(J, abs=1e-13)
    for a, b in zip(exact_star_step(policy, task).kernels, new):
        np.testing.assert_allclose(a, b, atol=1e-12)
    d = diagnostics(policy, task)
    np.testing.assert_allclose(d.flawed_distribution, flawed, atol=1e-12)


def test_unvisited_rows_keep_their_previous_row():
    # question 0 only; state 1 of level 1 is never reached (P_1 always goes to 0)
    task = ReasoningTask([np.array([0, 1]), np.array([1, 0])], question_dist=[1.0, 0.0])
    k1 = np.array([[1.0, 0.0], [0.3, 0.7]])
    k2 = np.array([[0.4, 0.6], [0.2, 0.8]])
    new = exact_star_step(TabularPolicy([k1, k2]), task)
    # level-0 state 1 (a question of weight 0) and level-1 state 1 are never visited by kept chains
    np.testing.assert_array_equal(new.kernels[0][1], k1[1])
    np.testing.assert_array_equal(new.kernels[1][1], k2[1])
    # the visited row of step 2 keeps only the correct answer g_2(0) = 1
    np.testing.assert_array_equal(new.kernels[1][0], [0.0, 1.0])


def test_zero_accuracy_leaves_policy_unchanged():
    M = 3
    task = symmetric_task(M, 1)
    policy = symmetric_policy(task, lam=-1.0 / (M - 1))  # never the correct step: J = 0
    assert accuracy(policy, task) == pytest.approx(0.0, abs=1e-15)
    new = exact_star_step(policy, task)
    for a, b in zip(new.kernels, policy.kernels):
        np.testing.assert_array_equal(a, b)


@given(seeds, st.integers(1, 6))
def test_accuracy_never_decreases_on_general_tasks(seed, T):
    # EM: the pooled refit maximises E[log P(chain) | r = 1], so log J cannot decrease (Jensen)
    task, policy = random_tabular_case(seed)
    assert_monotone_accuracy(exact_star_step, task, policy, iterations=T, tol=1e-12)


def test_diagnostics_are_consistent():
    task, policy = random_tabular_case(3)
    d = diagnostics(policy, task)
    assert d.flawed_distribution.sum() == pytest.approx(1.0)
    assert d.flawed_share == pytest.approx(1.0 - d.flawed_distribution[0])
    # the answer step is correct exactly when r = 1
    assert d.step_correct[-1] == pytest.approx(d.accuracy)
    assert d.step_correct_kept[-1] == pytest.approx(1.0)


def test_trajectory_rejects_bad_iterations():
    task = symmetric_task(2, 1)
    pol = symmetric_policy(task, lam=0.5)
    with pytest.raises(InputError):
        star_trajectory(pol, task, -1)
    assert len(star_trajectory(pol, task, 3)) == 4

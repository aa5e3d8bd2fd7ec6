"""pass@k (star_theory.beyond.passk): pass@1 = J, monotone in k, the brute-force probability over
k independent chains, and the unbiased estimator (its exact expectation and a sampled mean)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from star_theory import InputError, accuracy, random_tabular_case
from star_theory.beyond import (
    chain_distribution,
    enumerate_chains,
    pass_at_k,
    pass_at_k_estimator,
    question_accuracy,
    sampled_pass_at_k,
)

from test_sampling import random_case


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000))
def test_pass_at_1_is_accuracy_and_pass_at_k_grows_with_k(seed):
    task, policy = random_tabular_case(seed)
    J_q = question_accuracy(policy, task)
    solvable = J_q > 0
    # k at which every solvable question misses all k chains with probability < 1e-12
    k_big = int(np.ceil(np.log(1e-12) / np.log1p(-J_q[solvable].min())))
    ks = [1, 2, 3, 8, 64, max(k_big, 65)]
    p = pass_at_k(policy, task, ks)
    assert p[0] == pytest.approx(accuracy(policy, task), abs=1e-13)
    assert np.all(np.diff(p) >= -1e-15) and np.all((p >= 0) & (p <= 1))
    # pass@k -> the mass of the questions that some chain solves
    assert p[-1] == pytest.approx(task.question_dist[solvable].sum(), abs=1e-11)


@settings(max_examples=15)
@given(case=random_case(max_states=3, max_steps=2))
def test_pass_at_2_is_the_probability_that_one_of_two_independent_chains_is_correct(case):
    task, policy, _ = case
    chains = enumerate_chains(task)
    dist = chain_distribution(policy, task, chains)
    brute = 0.0
    for s0 in range(task.sizes[0]):
        ok = chains[:, -1] == task.answers[s0]
        for a, b in itertools.product(range(chains.shape[0]), repeat=2):
            brute += task.question_dist[s0] * dist[s0, a] * dist[s0, b] * (ok[a] or ok[b])
    assert pass_at_k(policy, task, 2)[0] == pytest.approx(brute, abs=1e-12)


@pytest.mark.parametrize("n,k", [(1, 1), (5, 1), (5, 3), (8, 8), (20, 7)])
@pytest.mark.parametrize("J", [0.0, 0.03, 0.5, 0.97, 1.0])
def test_estimator_is_unbiased(n, k, J):
    c = np.arange(n + 1)
    mean = binom.pmf(c, n, J) @ pass_at_k_estimator(c, n, k)
    assert mean == pytest.approx(1 - (1 - J) ** k, abs=1e-12)


def test_estimator_rejects_k_above_n_and_bad_counts():
    with pytest.raises(InputError):
        pass_at_k_estimator([1], 3, 4)
    with pytest.raises(InputError):
        pass_at_k_estimator([5], 4, 2)


def test_sampled_pass_at_k_scatters_around_the_exact_value():
    task, policy = random_tabular_case(3)
    ks = [1, 4]
    exact = pass_at_k(policy, task, ks)
    est = np.array([sampled_pass_at_k(policy, task, 8, ks, seed) for seed in range(300)])
    se = est.std(axis=0, ddof=1) / np.sqrt(est.shape[0])
    assert np.all(np.abs(est.mean(axis=0) - exact) <= 4 * se + 1e-12)


def test_question_accuracy_averages_to_J():
    task, policy = random_tabular_case(11)
    assert task.question_dist @ question_accuracy(policy, task) == pytest.approx(accuracy(policy, task), abs=1e-14)

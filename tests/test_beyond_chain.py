"""The chain-level update (star_theory.beyond.chain_level): enumeration, the exact conditional,
its per-step refit equal to the exact STaR operator, the refit as the likelihood projection, and
the sampled form against the closed form of its accuracy."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from star_theory import TabularPolicy, exact_star_step, mix_policies, random_tabular_case
from star_theory.beyond import (
    chain_accuracy,
    chain_distribution,
    chain_level_update,
    enumerate_chains,
    expected_sampled_accuracy,
    markov_cross_entropy,
    per_step_refit,
    question_accuracy,
    sampled_chain_level_update,
)

from test_sampling import random_case


def _brute_chain_probability(policy, s0, chain):
    p, prev = 1.0, s0
    for n, s in enumerate(chain):
        p *= policy.kernels[n][prev, s]
        prev = s
    return p


@settings(max_examples=15)
@given(case=random_case(max_states=3, max_steps=3))
def test_chain_level_update_is_the_conditional_on_success_by_enumeration(case):
    task, policy, _ = case
    chains = enumerate_chains(task)
    assert chains.shape[0] == np.prod(task.sizes[1:]) and len({tuple(c) for c in chains}) == chains.shape[0]
    q = chain_level_update(chain_distribution(policy, task, chains), task, chains)
    for s0 in range(task.sizes[0]):
        probs = {c: _brute_chain_probability(policy, s0, c) for c in itertools.product(*map(range, task.sizes[1:]))}
        ok = sum(p for c, p in probs.items() if c[-1] == task.answers[s0])
        for j, c in enumerate(chains):
            want = probs[tuple(c)] * (c[-1] == task.answers[s0]) / ok
            assert q[s0, j] == pytest.approx(want, abs=1e-13)


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000))
def test_per_step_refit_of_the_chain_level_update_is_the_exact_star_operator(seed):
    task, policy = random_tabular_case(seed)  # non-uniform questions, non-bijective steps
    chains = enumerate_chains(task)
    q = chain_level_update(chain_distribution(policy, task, chains), task, chains)
    kept_weights = task.question_dist * question_accuracy(policy, task)  # how STaR's kept data weigh questions
    refit = per_step_refit(q, task, chains, policy, kept_weights)
    for a, b in zip(refit.kernels, exact_star_step(policy, task).kernels):
        np.testing.assert_allclose(a, b, atol=1e-12, rtol=0)
    # the chain-level update solves every question that has a correct chain
    assert chain_accuracy(q, task, chains) == pytest.approx(1.0, abs=1e-12)


def test_with_questions_weighted_by_rho_the_refit_is_star_only_when_every_question_has_the_same_J():
    from star_theory import symmetric_policy, symmetric_task

    task = symmetric_task(4, 3, seed=2)
    policy = symmetric_policy(task, lam=[0.3, 0.1, 0.5])
    chains = enumerate_chains(task)
    q = chain_level_update(chain_distribution(policy, task, chains), task, chains)
    for a, b in zip(per_step_refit(q, task, chains, policy).kernels, exact_star_step(policy, task).kernels):
        np.testing.assert_allclose(a, b, atol=1e-12, rtol=0)
    task, policy = random_tabular_case(511)  # questions of different J: the rho-weighted projection differs
    chains = enumerate_chains(task)
    q = chain_level_update(chain_distribution(policy, task, chains), task, chains)
    gap = max(np.abs(a - b).max() for a, b in zip(per_step_refit(q, task, chains, policy).kernels,
                                                      exact_star_step(policy, task).kernels))
    assert gap > 1e-3


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000), eta=st.floats(0.01, 1.0))
def test_per_step_refit_is_the_likelihood_projection_onto_shared_markov_policies(seed, eta):
    task, policy = random_tabular_case(seed)
    chains = enumerate_chains(task)
    q = chain_level_update(chain_distribution(policy, task, chains), task, chains)
    refit = per_step_refit(q, task, chains, policy)
    rng = np.random.default_rng(seed)
    other = TabularPolicy([rng.dirichlet(np.ones(k.shape[1]), size=k.shape[0]) for k in policy.kernels])
    moved = mix_policies(refit, other, eta)
    assert markov_cross_entropy(q, refit, task, chains) <= markov_cross_entropy(q, moved, task, chains) + 1e-12


def test_sampled_chain_level_step_matches_the_closed_form_of_its_accuracy():
    task, policy = random_tabular_case(5)
    chains = enumerate_chains(task)
    d = chain_distribution(policy, task, chains)
    J_q = question_accuracy(policy, task)
    for K in (1, 3):
        vals = [chain_accuracy(sampled_chain_level_update(d, task, chains, K, seed), task, chains) for seed in range(400)]
        se = np.std(vals, ddof=1) / np.sqrt(len(vals))
        assert abs(np.mean(vals) - expected_sampled_accuracy(J_q, task.question_dist, K)) <= 4 * se


def test_a_question_with_no_correct_chain_keeps_its_distribution():
    from star_theory import ReasoningTask

    task = ReasoningTask([np.array([0, 1]), np.array([1, 0])])
    policy = TabularPolicy([np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[1.0, 0.0], [1.0, 0.0]])])
    chains = enumerate_chains(task)
    d = chain_distribution(policy, task, chains)
    q = chain_level_update(d, task, chains)
    np.testing.assert_array_equal(q[0], d[0])  # question 0 needs answer 1, which has probability 0
    assert q[1] @ (chains[:, -1] == task.answers[1]) == pytest.approx(1.0)

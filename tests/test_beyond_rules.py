"""Accumulate and B-STaR (star_theory.beyond): each rule is plain STaR at its neutral setting
(exactly for exact forms, draw for draw for sampled forms), the balance score's range and its
expected counts by enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from star_theory import (
    InputError,
    accuracy,
    exact_star_step,
    make_variant,
    random_tabular_case,
    star_trajectory,
    symmetric_policy,
    symmetric_task,
)
from star_theory.beyond import (
    balance_score,
    chain_distribution,
    enumerate_chains,
    exact_accumulate_trajectory,
    exact_balance_score,
    exact_bstar_trajectory,
    expected_unique_correct,
    question_accuracy,
    sampled_accumulate_trajectory,
    sampled_balance_score,
    sampled_bstar_trajectory,
)

from test_sampling import random_case


def _equal(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a.kernels, b.kernels))


# ----------------------------------------------------------------------------- accumulate


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000))
def test_exact_replace_is_the_exact_star_operator_and_one_round_of_accumulate_is_replace(seed):
    task, policy = random_tabular_case(seed)
    star = star_trajectory(policy, task, 4)
    assert all(_equal(a, b) for a, b in zip(exact_accumulate_trajectory(policy, task, 4, window=1), star))
    one = exact_accumulate_trajectory(policy, task, 1, window=None)[1]
    assert _equal(one, exact_star_step(policy, task))


@settings(max_examples=10)
@given(case=random_case(), K=st.integers(1, 30))
def test_sampled_replace_is_sampled_star_draw_for_draw(case, K):
    task, policy, seed = case
    star = star_trajectory(policy, task, 3, step=make_variant("star").sampled(K, seed))
    mine = sampled_accumulate_trajectory(policy, task, 3, K, seed, window=1)
    assert all(_equal(a, b) for a, b in zip(mine, star))
    first = sampled_accumulate_trajectory(policy, task, 1, K, seed, window=None)[1]
    assert _equal(first, star[1])


def test_accumulate_refits_on_the_summed_mass_of_every_round():
    task = symmetric_task(4, 2, seed=0)
    p0 = symmetric_policy(task, lam=0.3)
    two = exact_accumulate_trajectory(p0, task, 2)
    from star_theory import kept_transition_mass, refit_rows

    m = [a + b for a, b in zip(kept_transition_mass(p0, task), kept_transition_mass(two[1], task))]
    assert _equal(two[2], refit_rows(m, two[1]))


def test_without_the_filter_the_exact_rule_is_a_fixed_point():
    task, policy = random_tabular_case(7)
    for window in (1, None):
        last = exact_accumulate_trajectory(policy, task, 3, window=window, filtered=False)[-1]
        for a, b in zip(last.kernels, policy.kernels):
            np.testing.assert_allclose(a, b, atol=1e-12, rtol=0)


def test_a_corpus_pulls_the_exact_rule_towards_the_base_policy():
    task = symmetric_task(4, 3, seed=1)
    p0 = symmetric_policy(task, lam=0.2)
    J = [accuracy(exact_accumulate_trajectory(p0, task, 3, corpus_weight=w)[-1], task) for w in (0.0, 1.0, 100.0)]
    assert J[0] > J[1] > J[2] > accuracy(p0, task)


# ----------------------------------------------------------------------------- B-STaR


@settings(max_examples=40)
@given(u=st.integers(0, 50), extra=st.integers(0, 50), k0=st.floats(0.1, 100))
def test_balance_score_lies_in_0_1_and_is_0_without_selected_data(u, extra, k0):
    bs = balance_score(u, u + extra, k0)
    assert 0.0 <= bs <= 1.0
    assert (bs == 0.0) == (u == 0)
    assert bs == pytest.approx(min(u / k0, 1) * (u / (u + extra) if u + extra else 0.0))


def test_balance_score_rejects_more_correct_than_selected():
    with pytest.raises(InputError):
        balance_score(3, 2, 1.0)


@settings(max_examples=10)
@given(case=random_case(max_states=3, max_steps=2))
def test_expected_distinct_correct_chains_by_enumeration_of_two_draws(case):
    task, policy, _ = case
    chains = enumerate_chains(task)
    d = chain_distribution(policy, task, chains)
    np.testing.assert_allclose(expected_unique_correct(policy, task, 1), question_accuracy(policy, task), atol=1e-13)
    for s0 in range(task.sizes[0]):
        ok = chains[:, -1] == task.answers[s0]
        brute = sum(d[s0, a] * d[s0, b] * (int(ok[a]) + int(ok[b] and a != b))
                    for a, b in itertools.product(range(chains.shape[0]), repeat=2))
        assert expected_unique_correct(policy, task, 2)[s0] == pytest.approx(brute, abs=1e-12)


def test_with_one_chain_the_sampled_score_averages_to_the_plug_in_score():
    # K = 1, k0 >= 1: the score is [correct]/k0, whose mean J/k0 is the plug-in min(J/k0, 1) J/J
    task, policy = random_tabular_case(2)
    k0 = 2.0
    exact = exact_balance_score(policy, task, 1, k0, score="multiplicity")
    vals = np.array([sampled_balance_score(policy, task, 1, k0, seed, score="multiplicity") for seed in range(2000)])
    se = vals.std(axis=0, ddof=1) / np.sqrt(vals.shape[0])
    assert np.all(np.abs(vals.mean(axis=0) - exact) <= 4 * se + 1e-12)


@settings(max_examples=10)
@given(seed=st.integers(0, 10_000), K=st.integers(1, 20))
def test_bstar_with_the_grid_1_is_plain_star(seed, K):
    task, policy = random_tabular_case(seed)
    pols, choices = exact_bstar_trajectory(policy, task, 3, [1.0], K, 2.0)
    assert all(_equal(a, b) for a, b in zip(pols, star_trajectory(policy, task, 3)))
    assert [c.chosen for c in choices] == [1.0] * 3
    sp, _ = sampled_bstar_trajectory(policy, task, 3, [1.0], K, 2.0, seed, 8, seed + 1)
    star = star_trajectory(policy, task, 3, step=make_variant("star").sampled(K, seed))
    assert all(_equal(a, b) for a, b in zip(sp, star))


def test_adaptive_choice_is_the_grid_temperature_of_largest_score():
    task = symmetric_task(4, 3, seed=3)
    p0 = symmetric_policy(task, lam=0.3)
    _, choices = exact_bstar_trajectory(p0, task, 2, [0.5, 1.0, 2.0], 8, 2.0)
    for c in choices:
        assert c.chosen == c.temperatures[int(np.argmax(c.scores))]
        assert all(0.0 <= x <= 1.0 for x in c.scores)


# ----------------------------------------------------------------------------- B-STaR, official score


@settings(max_examples=10)
@given(case=random_case(max_states=3, max_steps=2))
def test_official_distinct_count_with_the_reference_by_enumeration_of_two_draws(case):
    """u' = distinct chains among the kept draws and the reference chain c*(s0), by enumeration."""
    task, policy, _ = case
    chains = enumerate_chains(task)
    d = chain_distribution(policy, task, chains)
    for s0 in range(task.sizes[0]):
        ok = chains[:, -1] == task.answers[s0]
        ref = int(np.flatnonzero((chains == task.correct_chains[s0, 1:]).all(axis=1))[0])
        brute = sum(d[s0, a] * d[s0, b] * len({ref} | {c for c in (a, b) if ok[c]})
                    for a, b in itertools.product(range(chains.shape[0]), repeat=2))
        assert expected_unique_correct(policy, task, 2, with_reference=True)[s0] == pytest.approx(brute, abs=1e-12)


def test_official_sampled_score_averages_to_the_plug_in_score_when_the_cap_cannot_bind():
    # K = 3 draws and the reference give u' <= 4 = k0, so the score u'/k0 is linear and its mean is exact
    task, policy = random_tabular_case(2)
    K, k0 = 3, 4.0
    exact = exact_balance_score(policy, task, K, k0)
    vals = np.array([sampled_balance_score(policy, task, K, k0, seed) for seed in range(2000)])
    se = vals.std(axis=0, ddof=1) / np.sqrt(vals.shape[0])
    assert np.all(np.abs(vals.mean(axis=0) - exact[task.question_dist > 0]) <= 4 * se + 1e-12)


@settings(max_examples=20)
@given(case=random_case(max_states=3, max_steps=2), K=st.integers(1, 8), k0=st.floats(0.5, 10))
def test_official_score_is_at_least_one_over_k0_and_the_multiplicity_score_never_above_it(case, K, k0):
    """The reference makes u' >= 1; dedup before the ratio makes it 1; so official >= min(1/k0, 1) and
    official >= multiplicity (u' >= u and the multiplicity ratio is <= 1)."""
    task, policy, _ = case
    off = exact_balance_score(policy, task, K, k0)
    mult = exact_balance_score(policy, task, K, k0, score="multiplicity")
    assert np.all(off >= min(1 / k0, 1) - 1e-12) and np.all(off <= 1 + 1e-12)
    assert np.all(off >= mult - 1e-12)
    with pytest.raises(InputError, match="score"):
        exact_balance_score(policy, task, K, k0, score="mean")

"""Vectorised sampling and finite-sample STaR against bounds derived from the sample sizes.

Expected values come from brute-force enumeration of all chains (itertools.product), from the
alias-table identity, or from concentration bounds (Hoeffding, chi-square) with a stated
failure probability at fixed seeds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2

from star_theory import (
    InputError,
    ReasoningTask,
    TabularPolicy,
    alias_table,
    exact_star_step,
    expected_kept_count,
    keep_mask,
    kept_count_variance,
    kept_transition_mass,
    prob_no_kept_chain,
    question_keep_probability,
    refit_from_counts,
    sample_chains,
    sample_conditioned_chains,
    sampled_star_step,
    symmetric_policy,
    symmetric_task,
    transition_counts,
)
from star_theory.sim.draw import sample_next

DELTA = 1e-6  # failure probability of each concentration bound (fixed seeds: a failure is a bug)


def hoeffding(n: int, delta: float = DELTA, events: int = 1) -> float:
    """Two-sided Hoeffding radius for a mean of ``n`` independent [0,1] variables, union over ``events``."""
    return math.sqrt(math.log(2 * events / delta) / (2 * n))


@st.composite
def random_case(draw, max_states=4, max_steps=3, zeros=True):
    """A random task (any maps, uniform questions) and a random policy, possibly with zero entries."""
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    N = draw(st.integers(1, max_steps))
    sizes = [draw(st.integers(2, max_states)) for _ in range(N + 1)]
    maps = [rng.integers(0, sizes[n + 1], sizes[n]) for n in range(N)]
    task = ReasoningTask(maps, final_size=sizes[-1])
    kernels = []
    for n in range(N):
        k = rng.dirichlet(np.ones(sizes[n + 1]), size=sizes[n])
        if zeros:
            k[rng.random(k.shape) < 0.2] = 0.0
            k[np.arange(sizes[n]), task.maps[n]] += 0.05  # keep every row (and the correct chain) alive
            k /= k.sum(axis=1, keepdims=True)
        kernels.append(k)
    return task, TabularPolicy(kernels), seed


def brute_force_question_accuracy(policy, task) -> np.ndarray:
    """J(s0) by summing the probability of every chain that ends at the correct answer."""
    J = np.zeros(task.sizes[0])
    for s0 in range(task.sizes[0]):
        for path in itertools.product(*[range(m) for m in task.sizes[1:]]):
            if path[-1] != task.answers[s0]:
                continue
            p, s = 1.0, s0
            for n, t in enumerate(path):
                p *= policy.kernels[n][s, t]
                s = t
            J[s0] += p
    return J


# ----------------------------------------------------------------------------- sampling


@settings(max_examples=30)
@given(M=st.integers(2, 40), rows=st.integers(1, 6), seed=st.integers(0, 2**31 - 1))
def test_alias_table_reproduces_every_row_exactly(M, rows, seed):
    rng = np.random.default_rng(seed)
    k = rng.dirichlet(np.full(M, 0.5), size=rows)
    k[rng.random(k.shape) < 0.3] = 0.0
    k[:, 0] += 1e-3
    k /= k.sum(axis=1, keepdims=True)
    prob, alias = alias_table(k)
    # P(j) = (prob[j] + sum_{i: alias[i] = j} (1 - prob[i])) / M
    implied = prob / M
    for r in range(rows):
        np.add.at(implied[r], alias[r], (1.0 - prob[r]) / M)
    assert np.all((prob >= 0) & (prob <= 1))
    np.testing.assert_allclose(implied, k, atol=1e-12)
    assert np.all(prob[k == 0] == 0)  # a zero-probability column is always redirected


@pytest.mark.parametrize("method", ["alias", "cdf"])
@settings(max_examples=15)
@given(M=st.integers(2, 12), seed=st.integers(0, 2**31 - 1))
def test_next_state_frequencies_match_the_kernel_chi_square(method, M, seed):
    rng = np.random.default_rng(seed)
    k = rng.dirichlet(np.ones(M), size=3)
    k[1, : M // 2] = 0.0  # zero entries must never be drawn
    k[1] /= k[1].sum()
    n = 20_000
    states = np.repeat(np.arange(3), n)
    nxt = sample_next(k, states, rng.random(states.size), method=method)
    for s in range(3):
        obs = np.bincount(nxt[states == s], minlength=M)
        assert np.all(obs[k[s] == 0] == 0)
        pos = k[s] > 0
        exp = n * k[s][pos]
        # Pearson's statistic is asymptotically chi2(df); cells with expected count < 5
        # (tiny Dirichlet draws) are left out, which only lowers the statistic's df
        big = exp >= 5
        stat = ((obs[pos][big] - exp[big]) ** 2 / exp[big]).sum()
        df = max(int(big.sum()) - 1, 1)
        assert stat <= chi2.isf(DELTA, df)


@settings(max_examples=15)
@given(case=random_case())
def test_chain_step_frequencies_match_kernels(case):
    task, policy, seed = case
    chains = sample_chains(policy, task, 3000, seed)
    assert chains.shape == (3000 * task.sizes[0], task.n_steps + 1)
    assert np.array_equal(chains[:, 0], np.repeat(np.arange(task.sizes[0]), 3000))
    counts = transition_counts(chains, task)
    events = sum(k.size for k in policy.kernels)
    for c, k in zip(counts, policy.kernels):
        assert np.all(c[k == 0] == 0)
        n_s = c.sum(axis=1)
        for s in np.flatnonzero(n_s >= 500):
            # each row's frequencies are means of n_s indicators: Hoeffding with a union bound
            assert np.max(np.abs(c[s] / n_s[s] - k[s])) <= hoeffding(int(n_s[s]), events=events)


def test_sampling_is_reproducible_from_the_seed():
    task = symmetric_task(5, 3, seed=1)
    policy = symmetric_policy(task, lam=0.3)
    a = sample_chains(policy, task, 50, 7)
    b = sample_chains(policy, task, 50, np.random.default_rng(7))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, sample_chains(policy, task, 50, 8))
    q = np.array([0, 0, 4])
    assert sample_chains(policy, task, q, 3)[:, 0].tolist() == [0, 0, 4]


def test_bad_sampling_input_raises_input_error():
    task = symmetric_task(3, 2)
    policy = symmetric_policy(task, lam=0.5)
    with pytest.raises(InputError, match="chains_per_question"):
        sample_chains(policy, task, 0, 1)
    with pytest.raises(InputError, match="rng"):
        sample_chains(policy, task, 2, None)
    with pytest.raises(InputError, match="outside level 0"):
        sample_chains(policy, task, np.array([0, 3]), 1)
    with pytest.raises(InputError, match="level sizes"):
        sample_chains(policy, symmetric_task(4, 2), 2, 1)
    with pytest.raises(InputError, match="empty_rows"):
        refit_from_counts(transition_counts(sample_chains(policy, task, 2, 1), task), policy, "drop")
    with pytest.raises(InputError, match="alpha"):
        refit_from_counts(transition_counts(sample_chains(policy, task, 2, 1), task), policy, "smooth", 0.0)


# ----------------------------------------------------------------------------- refit


@settings(max_examples=25)
@given(case=random_case(zeros=False), K=st.sampled_from([300, 1000, 4000]))
def test_sampled_refit_converges_to_the_exact_operator_within_a_hoeffding_bound(case, K):
    """Derivation: with n = K|S0| chains and uniform questions, c(s,s')/n and c(s)/n are means of n
    independent [0,1] indicators with means W(s,s') and w(s) (the exact kept mass). If both are
    within t of their means, |c/c_s - W/w_s| = |(c - W) w_s - W (c_s - w_s)| / (c_s w_s)
    <= 2 t w_s / ((w_s - t) w_s) = 2t / (w_s - t). Union bound over all entries and rows."""
    task, policy, seed = case
    n = K * task.sizes[0]
    W = kept_transition_mass(policy, task)
    events = sum(w.size + w.shape[0] for w in W)
    t = hoeffding(n, events=events)
    step = sampled_star_step(policy, task, K, seed)
    exact = exact_star_step(policy, task)
    checked = 0
    for w, new, ex in zip(W, step.policy.kernels, exact.kernels):
        ws = w.sum(axis=1)
        for s in np.flatnonzero(ws > 2 * t):
            assert np.max(np.abs(new[s] - ex[s])) <= 2 * t / (ws[s] - t)
            checked += 1
    # at the largest K the bound is informative: some row is checked unless J itself is tiny
    if K == 4000:
        assert checked >= 1 or max(w.sum() for w in W) <= 2 * t


def test_empty_row_rules():
    task = symmetric_task(4, 2)
    policy = symmetric_policy(task, lam=[0.2, 0.6])
    counts = [np.zeros((4, 4)), np.zeros((4, 4))]
    counts[0][1, 2] = 3.0
    keep = refit_from_counts(counts, policy, "keep")
    assert np.array_equal(keep.kernels[0][0], policy.kernels[0][0])  # no data: previous row
    assert keep.kernels[0][1].tolist() == [0.0, 0.0, 1.0, 0.0]
    smooth = refit_from_counts(counts, policy, "smooth", alpha=0.5)
    np.testing.assert_allclose(smooth.kernels[0][0], 0.25)  # no data: uniform
    np.testing.assert_allclose(smooth.kernels[0][1], np.array([0.5, 0.5, 3.5, 0.5]) / 5.0)


# ----------------------------------------------------------------------------- closed forms


@settings(max_examples=15)
@given(case=random_case(max_states=3, max_steps=3))
def test_question_accuracy_matches_brute_force_enumeration(case):
    task, policy, _ = case
    J = brute_force_question_accuracy(policy, task)
    np.testing.assert_allclose(question_keep_probability(policy, task), J, atol=1e-12)
    K = 7
    assert expected_kept_count(policy, task, K) == pytest.approx(K * J.sum(), abs=1e-10)
    assert prob_no_kept_chain(policy, task, K) == pytest.approx(np.prod((1 - J) ** K), rel=1e-9, abs=1e-300)
    assert kept_count_variance(policy, task, K) == pytest.approx(K * (J * (1 - J)).sum(), abs=1e-10)


@settings(max_examples=8)
@given(M=st.integers(3, 6), N=st.integers(1, 3), lam=st.floats(0.0, 0.4), K=st.integers(1, 3), seed=st.integers(0, 2**31 - 1))
def test_kept_count_and_no_kept_rate_match_the_closed_forms(M, N, lam, K, seed):
    task = symmetric_task(M, N, seed=seed)
    policy = symmetric_policy(task, lam=lam)
    J = brute_force_question_accuracy(policy, task) if M ** N <= 216 else question_keep_probability(policy, task)
    reps = 3000
    rng = np.random.default_rng(seed)
    kept = np.array([keep_mask(sample_chains(policy, task, K, rng), task).sum() for _ in range(reps)])
    n_chains = K * M
    # mean of reps * n_chains independent indicators: Hoeffding on the kept fraction
    assert abs(kept.mean() / n_chains - J.sum() / M) <= hoeffding(reps * n_chains, events=2)
    p0 = np.prod((1 - J) ** K)
    assert abs((kept == 0).mean() - p0) <= hoeffding(reps, events=2)
    assert prob_no_kept_chain(policy, task, K) == pytest.approx(p0, rel=1e-9)


@settings(max_examples=10)
@given(case=random_case(max_states=3, max_steps=2))
def test_conditioned_chains_follow_the_posterior_given_the_answer(case):
    task, policy, seed = case
    J = brute_force_question_accuracy(policy, task)
    s0 = int(np.argmax(J))
    n = 6000
    chains = sample_conditioned_chains(policy, task, np.full(n, s0), seed)
    assert np.all(chains[:, -1] == task.answers[s0])
    # posterior of each complete chain by enumeration: P(path) [path ends at the answer] / J(s0)
    paths = list(itertools.product(*[range(m) for m in task.sizes[1:]]))
    post = []
    for path in paths:
        p, s = 1.0, s0
        for k, t in zip(policy.kernels, path):
            p *= k[s, t]
            s = t
        post.append(p * (path[-1] == task.answers[s0]) / J[s0])
    post = np.array(post)
    index = {p: i for i, p in enumerate(paths)}
    obs = np.bincount([index[tuple(c[1:])] for c in chains], minlength=len(paths))
    assert np.all(obs[post == 0] == 0)
    assert np.max(np.abs(obs / n - post)) <= hoeffding(n, events=len(paths))


def test_keep_mask_with_a_noisy_verifier_accepts_at_the_given_rates():
    task = symmetric_task(3, 1)
    policy = symmetric_policy(task, lam=0.0)
    accept = np.full((3, 3), 0.25)
    accept[np.arange(3), task.answers] = 0.75
    rng = np.random.default_rng(0)
    chains = sample_chains(policy, task, 20000, rng)
    kept = keep_mask(chains, task, rng, accept)
    right = chains[:, -1] == task.answers[chains[:, 0]]
    for mask, rate in ((right, 0.75), (~right, 0.25)):
        assert abs(kept[mask].mean() - rate) <= hoeffding(int(mask.sum()), events=2)

"""Outcome-reward policy gradient (star_theory.beyond.policy_gradient): the exact expected update
against brute-force enumeration of every group, the identities it implies, and the sampled
estimators against the exact expectation (z-tests at a stated level)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.stats import norm

from star_theory import (
    InputError,
    ReasoningTask,
    TabularPolicy,
    accuracy,
    exact_star_step,
    random_tabular_case,
    symmetric_policy,
    symmetric_task,
)
from star_theory.beyond import (
    METHODS,
    accuracy_gradient,
    advantage_weights,
    expected_trajectory,
    expected_update,
    gradient_flow,
    group_advantages,
    logit_step,
    policy_entropy,
    policy_gradient_rule,
    enumerate_chains,
    policy_logits,
    question_success,
    sampled_update,
    softmax_policy,
    zero_signal_probability,
)
from star_theory.checks import check_improvement
from star_theory.exact import kept_transition_mass
from star_theory.testing import assert_monotone_accuracy

ALPHA = 1e-3
"""Family-wise false-alarm rate of every z-test below (Bonferroni over the components tested)."""

KW = {"reinforce": {"baseline": 0.3}, "rloo": {}, "grpo": {}, "dr-grpo": {}}


def _small_case(seed):
    """A random task with at most 2 steps and 3 states per level (few enough chains to enumerate groups)."""
    return random_tabular_case(seed, max_states=3, max_steps=2)


def _advantages_by_hand(r, method, baseline=0.3, std="sample", delta=1e-4):
    """The definitions, written out per member for one group (independent of group_advantages)."""
    G = len(r)
    if method == "reinforce":
        return [ri - baseline for ri in r]
    if method == "rloo":
        return [r[i] - sum(r[j] for j in range(G) if j != i) / (G - 1) for i in range(G)]
    m = sum(r) / G
    if method == "dr-grpo":
        return [ri - m for ri in r]
    sd = np.sqrt(sum((ri - m) ** 2 for ri in r) / (G - 1 if std == "sample" else G))
    return [(ri - m) / (sd + delta) if sd + delta > 0 else 0.0 for ri in r]


def _score(policy, s0, chain):
    """d log pi(c) / d theta_n(s, a) = [s_{n-1} = s]([s_n = a] - P_n(s, a)), one matrix per step."""
    states = (s0, *chain)
    out = []
    for n, k in enumerate(policy.kernels):
        g = np.zeros_like(k)
        g[states[n]] -= k[states[n]]
        g[states[n], states[n + 1]] += 1.0
        out.append(g)
    return out


def brute_force_update(policy, task, method, G, accept=None, **kw):
    """E[(1/G) sum_i A_i grad log pi(c_i)] by enumerating every group of G (chain, reward) pairs."""
    chains = enumerate_chains(task)
    total = [np.zeros_like(k) for k in policy.kernels]
    for s0 in range(task.sizes[0]):
        if task.question_dist[s0] == 0:
            continue
        outcomes = []  # (probability, chain, reward) of one member of the group
        for c in chains:
            pc = np.prod([policy.kernels[n][([s0, *c])[n], c[n]] for n in range(task.n_steps)])
            acc = float(c[-1] == task.answers[s0]) if accept is None else accept[s0, c[-1]]
            outcomes += [(pc * acc, c, 1.0), (pc * (1 - acc), c, 0.0)]
        outcomes = [o for o in outcomes if o[0] > 0]
        for group in itertools.product(outcomes, repeat=G):
            prob = np.prod([o[0] for o in group])
            A = _advantages_by_hand([o[2] for o in group], method, **kw)
            for a, (_, c, _) in zip(A, group):
                for t, s in zip(total, _score(policy, s0, c)):
                    t += task.question_dist[s0] * prob * a / G * s
    return total


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("seed", [3, 11, 27])
def test_expected_update_equals_brute_force_enumeration(method, seed):
    task, policy = _small_case(seed)
    for G in (2, 3):
        kw = {"baseline": 0.3} if method == "reinforce" else {}
        exact = expected_update(policy, task, method, G, **kw)
        brute = brute_force_update(policy, task, method, G, **kw)
        for a, b in zip(exact, brute):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
def test_expected_update_with_a_noisy_verifier_and_population_std_equals_brute_force(method):
    task, policy = _small_case(5)
    accept = np.random.default_rng(0).random((task.sizes[0], task.sizes[-1]))
    kw = {"reinforce": {"baseline": -0.2}, "grpo": {"std": "population", "delta": 0.05}}.get(method, {})
    exact = expected_update(policy, task, method, 3, accept=accept, **kw)
    brute = brute_force_update(policy, task, method, 3, accept=accept, **kw)
    for a, b in zip(exact, brute):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("seed", [3, 8])
def test_zero_signal_probability_equals_enumeration_of_reward_vectors(seed):
    task, policy = _small_case(seed)
    chains = enumerate_chains(task)
    for G in (1, 2, 4):
        total = 0.0
        for s0 in np.flatnonzero(task.question_dist > 0):
            p = sum(np.prod([policy.kernels[n][([s0, *c])[n], c[n]] for n in range(task.n_steps)])
                    for c in chains if c[-1] == task.answers[s0])
            total += task.question_dist[s0] * sum(
                np.prod([p if r else 1 - p for r in rs]) for rs in itertools.product([0, 1], repeat=G) if len(set(rs)) == 1)
        assert zero_signal_probability(policy, task, G) == pytest.approx(total, abs=1e-12)


def test_score_function_is_the_derivative_of_the_log_probability():
    """Central differences of log softmax chain probabilities in the logits give the score used above."""
    task, policy = _small_case(4)
    th = policy_logits(policy)
    s0, c = 0, enumerate_chains(task)[1]
    h = 1e-6
    for n in range(task.n_steps):
        for (s, a) in [(0, 0), (1, 1)]:
            if s >= th[n].shape[0] or a >= th[n].shape[1]:
                continue
            vals = []
            for sign in (1, -1):
                t2 = [x.copy() for x in th]
                t2[n][s, a] += sign * h
                q = softmax_policy(t2)
                states = (s0, *c)
                vals.append(sum(np.log(q.kernels[m][states[m], states[m + 1]]) for m in range(task.n_steps)))
            assert (vals[0] - vals[1]) / (2 * h) == pytest.approx(_score(policy, s0, c)[n][s, a], abs=1e-7)


# ----------------------------------------------------------------------------- identities


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10 ** 6), G=st.integers(2, 6), b=st.floats(-2, 2))
def test_reinforce_and_rloo_are_the_accuracy_gradient_and_dr_grpo_a_fixed_multiple(seed, G, b):
    task, policy = random_tabular_case(seed)
    grad = accuracy_gradient(policy, task)
    for method, scale, kw in (("reinforce", 1.0, {"baseline": b}), ("rloo", 1.0, {}), ("dr-grpo", (G - 1) / G, {})):
        for a, g in zip(expected_update(policy, task, method, G, **kw), grad):
            np.testing.assert_allclose(a, scale * g, rtol=0, atol=1e-13)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_accuracy_gradient_matches_finite_differences_of_J_in_the_logits(seed):
    task, policy = random_tabular_case(seed)
    grad = accuracy_gradient(policy, task)
    th = policy_logits(policy)
    n = seed % task.n_steps
    s, a = seed % th[n].shape[0], (seed // 7) % th[n].shape[1]
    h = 1e-6
    vals = []
    for sign in (1, -1):
        t2 = [x.copy() for x in th]
        t2[n][s, a] += sign * h
        vals.append(accuracy(softmax_policy(t2), task))
    assert (vals[0] - vals[1]) / (2 * h) == pytest.approx(grad[n][s, a], abs=1e-7)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10 ** 6))
def test_star_step_moves_each_row_along_the_accuracy_gradient(seed):
    """P^{t+1}_n - P_n = grad_theta_n J / rowsum(W_n) on every row the kept chains visit."""
    task, policy = random_tabular_case(seed)
    new = exact_star_step(policy, task)
    for old, nxt, g, w in zip(policy.kernels, new.kernels, accuracy_gradient(policy, task),
                              kept_transition_mass(policy, task)):
        mass = w.sum(axis=1)
        vis = mass > 1e-12
        np.testing.assert_allclose((nxt - old)[vis], g[vis] / mass[vis, None], rtol=1e-9, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(p=st.floats(0, 1), G=st.integers(2, 8))
def test_advantages_sum_to_zero_in_every_group_and_their_weights_follow(p, G):
    """RLOO, GRPO and Dr. GRPO advantages sum to 0 over a group, so p a_1 + (1-p) a_0 = 0 at the group's p."""
    for method in ("rloo", "grpo", "dr-grpo"):
        rs = np.array(list(itertools.product([0.0, 1.0], repeat=G)))
        assert np.abs(group_advantages(rs, method).sum(axis=1)).max() < 1e-12
        a0, a1 = advantage_weights(p, method, G)
        assert p * a1 + (1 - p) * a0 == pytest.approx(0.0, abs=1e-12)


def _two_questions():
    """N = 1, two questions on their own kernel rows, p(s0) = 0.05 and 0.5: the update of each row is
    rho(s0) (a1 - a0)(p(s0)) grad p(s0), so the ratio GRPO / grad J on a row is (a1 - a0)(p(s0))."""
    task = ReasoningTask([np.array([0, 1])], final_size=4)
    return task, TabularPolicy([np.array([[0.05, 0.55, 0.2, 0.2], [0.3, 0.5, 0.1, 0.1]])])


def test_grpo_is_not_a_multiple_of_the_accuracy_gradient_when_questions_differ():
    """The std-normalisation gives question s0 the weight rho (a1 - a0)(p(s0)): with unequal p(s0)
    the GRPO update leaves the line of grad J, row by row by the ratio of those weights; with G = 2
    the weight is one constant for every p (no bias)."""
    task, policy = _two_questions()
    g, j = expected_update(policy, task, "grpo", 16)[0], accuracy_gradient(policy, task)[0]
    a0, a1 = advantage_weights(np.array([0.05, 0.5]), "grpo", 16)
    np.testing.assert_allclose(g, (a1 - a0)[:, None] * j, rtol=1e-12, atol=1e-15)
    assert (a1 - a0)[0] / (a1 - a0)[1] > 1.5  # far from one common multiple
    a0, a1 = advantage_weights(np.linspace(0, 1, 11)[1:-1], "grpo", 2)
    assert np.ptp(a1 - a0) < 1e-12
    # and on the symmetric family (every question has the same p) it is a multiple of grad J
    task = symmetric_task(4, 3, seed=0)
    policy = symmetric_policy(task, lam=0.3)
    g = np.concatenate([x.ravel() for x in expected_update(policy, task, "grpo", 4)])
    j = np.concatenate([x.ravel() for x in accuracy_gradient(policy, task)])
    assert g @ j / np.linalg.norm(g) / np.linalg.norm(j) == pytest.approx(1.0, abs=1e-12)


# ----------------------------------------------------------------------------- dynamics


def test_small_steps_follow_the_gradient_flow():
    """Euler steps of size eta approach the RK4 flow at time T * eta with an error O(eta)."""
    task = symmetric_task(4, 2, seed=1)
    policy = symmetric_policy(task, lam=0.3)
    flow = gradient_flow(policy, task, "rloo", 4, 2.0, 40)[-1]
    errs = []
    for eta in (0.2, 0.1, 0.05):
        p = expected_trajectory(policy, task, "rloo", 4, eta, int(round(2.0 / eta)))[-1]
        errs.append(abs(accuracy(p, task) - accuracy(flow, task)))
    assert errs[0] > errs[1] > errs[2]
    assert errs[1] / errs[2] == pytest.approx(2.0, rel=0.25)  # first order in eta


def test_the_exact_rule_plugs_into_the_checks_and_a_large_step_can_lower_J():
    """The improvement claim for the expected update: it holds at learning rate 1 on this task and fails at
    1000 (a counterexample found by check_general over random tasks)."""
    task, policy = random_tabular_case(8)
    assert check_improvement(policy, task, 10, step=policy_gradient_rule("reinforce", 8, 1.0)).holds
    big = check_improvement(policy, task, 10, step=policy_gradient_rule("reinforce", 8, 1000.0))
    assert not big.holds and big.counterexample.after < big.counterexample.before
    with pytest.raises(AssertionError, match="counterexample"):
        assert_monotone_accuracy(policy_gradient_rule("reinforce", 8, 1000.0), task, policy, iterations=3)


def test_entropy_of_a_deterministic_policy_is_zero_and_of_the_uniform_one_is_n_log_m():
    task = symmetric_task(4, 3, seed=0)
    assert policy_entropy(symmetric_policy(task, lam=1.0), task) == pytest.approx(0.0, abs=1e-12)
    assert policy_entropy(symmetric_policy(task, lam=0.0), task) == pytest.approx(3 * np.log(4), abs=1e-12)


# ----------------------------------------------------------------------------- finite samples


def _sampled_mean(policy, task, method, G, seeds, groups, **kw):
    runs = np.array([np.concatenate([g.ravel() for g in sampled_update(policy, task, method, G, s, groups, **kw)[0]])
                     for s in range(seeds)])
    return runs.mean(axis=0), runs.std(axis=0, ddof=1) / np.sqrt(seeds)


@pytest.mark.parametrize("method", METHODS)
def test_sampled_update_mean_matches_the_exact_expectation(method):
    """z-test per component, Bonferroni over the components with spread, family level ALPHA."""
    task, policy = random_tabular_case(2)
    kw = KW[method]
    mean, se = _sampled_mean(policy, task, method, 4, 400, 4, **kw)
    exact = np.concatenate([g.ravel() for g in expected_update(policy, task, method, 4, **kw)])
    live = se > 1e-12
    z = norm.ppf(1 - ALPHA / (2 * live.sum()))
    assert np.all(np.abs(mean - exact)[live] <= z * se[live])
    assert np.all(np.abs(mean - exact)[~live] <= 1e-12)  # no spread: rows no chain can reach, or P = 0


def test_sampled_grpo_is_detectably_off_the_line_of_the_accuracy_gradient_and_rloo_is_not():
    """GRPO's mean rejects its best multiple of grad J (kappa = <g, grad J>/|grad J|^2 of the exact
    GRPO update) at level ALPHA; RLOO's mean does not reject grad J itself."""
    task, policy = _two_questions()
    j = np.concatenate([x.ravel() for x in accuracy_gradient(policy, task)])
    g = np.concatenate([x.ravel() for x in expected_update(policy, task, "grpo", 16)])
    kappa = g @ j / (j @ j)
    mean, se = _sampled_mean(policy, task, "grpo", 16, 400, 4)
    live = se > 1e-12
    z = norm.ppf(1 - ALPHA / (2 * live.sum()))
    assert np.max(np.abs(mean - kappa * j)[live] / se[live]) > z
    assert np.max(np.abs(mean - g)[live] / se[live]) <= z  # while it matches its own expectation
    mean, se = _sampled_mean(policy, task, "rloo", 16, 400, 4)
    live = se > 1e-12
    assert np.max(np.abs(mean - j)[live] / se[live]) <= norm.ppf(1 - ALPHA / (2 * live.sum()))


def test_sampled_zero_signal_groups_match_the_exact_probability():
    task, policy = random_tabular_case(9)
    seeds, groups, G = 200, 4, 3
    n = sum(sampled_update(policy, task, "grpo", G, s, groups)[1]["zero_signal_groups"] for s in range(seeds))
    trials = seeds * groups * np.count_nonzero(task.question_dist > 0)
    # per-question probabilities, since every question of the support gets the same number of groups
    p = question_success(policy, task)[task.question_dist > 0]
    q = p ** G + (1 - p) ** G
    mean, var = seeds * groups * q.sum(), seeds * groups * (q * (1 - q)).sum()
    assert abs(n - mean) <= norm.ppf(1 - ALPHA / 2) * np.sqrt(var), (n, mean, trials)


def test_bad_input_is_a_clear_error():
    task, policy = _small_case(1)
    with pytest.raises(InputError, match="method"):
        expected_update(policy, task, "ppo", 4)
    with pytest.raises(InputError, match="G >= 2"):
        expected_update(policy, task, "rloo", 1)
    with pytest.raises(InputError, match="std"):
        expected_update(policy, task, "grpo", 4, std="unbiased")
    with pytest.raises(InputError, match="multiple"):
        policy_gradient_rule("rloo", 4, 0.1).sampled_step(policy, task, 6, 0)
    with pytest.raises(InputError):
        logit_step(policy, [np.zeros((1, 1))], 0.1)

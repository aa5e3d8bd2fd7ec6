"""STaR variants: reduction to star at neutral settings, exact forms by enumeration, and the
theorem checks of the theory core run through each variant's ``step``."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from star_theory import (
    InputError,
    StarVariant,
    VARIANT_NAMES,
    accuracy,
    check_general,
    check_improvement,
    exact_star_step,
    make_variant,
    noisy_verifier_accept,
    symmetric_policy,
    symmetric_task,
    tempered_policy,
)
from star_theory.sim.variants import NEUTRAL, VARIANT_PARAMETERS

from test_sampling import random_case


def _same(a, b, atol=1e-12):
    return all(np.allclose(x, y, atol=atol, rtol=0) for x, y in zip(a.kernels, b.kernels))


@settings(max_examples=20)
@given(case=random_case(), name=st.sampled_from(VARIANT_NAMES), K=st.integers(1, 50))
def test_every_variant_reduces_to_star_at_its_neutral_setting(case, name, K):
    task, policy, seed = case
    neutral = {p: NEUTRAL[p] for p in VARIANT_PARAMETERS[name]}
    v = make_variant(name, **neutral)
    assert v.is_neutral
    assert _same(v.exact_step(policy, task, K), exact_star_step(policy, task))
    # sampled: the same seed draws the same chains, so the refit is identical
    a = v.sampled_step(policy, task, K, seed)
    b = make_variant("star").sampled_step(policy, task, K, seed)
    assert a.kept == b.kept and a.rationalized == 0
    assert all(np.array_equal(x, y) for x, y in zip(a.policy.kernels, b.policy.kernels))


@settings(max_examples=15)
@given(case=random_case(zeros=False), eta=st.floats(0.05, 1.0))
def test_partial_fit_is_the_convex_mix_of_old_and_refit(case, eta):
    task, policy, _ = case
    new = make_variant("partial-fit", eta=eta).exact_step(policy, task)
    star = exact_star_step(policy, task)
    for k_new, k_old, k_star in zip(new.kernels, policy.kernels, star.kernels):
        np.testing.assert_allclose(k_new, (1 - eta) * k_old + eta * k_star, atol=1e-12)


@settings(max_examples=15)
@given(case=random_case(zeros=False), T=st.floats(0.2, 5.0))
def test_tempered_log_ratios_scale_by_one_over_T(case, T):
    _, policy, _ = case
    tp = tempered_policy(policy, T)
    for k, kt in zip(policy.kernels, tp.kernels):
        # log P_T(a)/P_T(b) = (log P(a) - log P(b)) / T, rows sum to 1
        lr = np.log(k) - np.log(k[:, :1])
        lrt = np.log(kt) - np.log(kt[:, :1])
        np.testing.assert_allclose(lrt, lr / T, atol=1e-8)
        np.testing.assert_allclose(kt.sum(axis=1), 1.0)


def _per_question_kept_mass(policy, task):
    """m[s0][n][s, s'] = Pr(s_{n-1}=s, s_n=s', r=1 | s0) and J(s0), by enumeration of all chains."""
    N = task.n_steps
    out, J = [], []
    for s0 in range(task.sizes[0]):
        m = [np.zeros(k.shape) for k in policy.kernels]
        j = 0.0
        for path in itertools.product(*[range(x) for x in task.sizes[1:]]):
            if path[-1] != task.answers[s0]:
                continue
            states = (s0,) + path
            p = np.prod([policy.kernels[n][states[n], states[n + 1]] for n in range(N)])
            j += p
            for n in range(N):
                m[n][states[n], states[n + 1]] += p
        out.append(m)
        J.append(j)
    return out, np.array(J)


@settings(max_examples=10)
@given(case=random_case(max_states=3, max_steps=2, zeros=False), R=st.integers(1, 4), K=st.integers(1, 6))
def test_rationalize_exact_form_reweights_questions_by_their_failure_probability(case, R, K):
    """Expected kept counts per question: K m(s0) + R (1-J)^K m(s0)/J (posterior chains)."""
    task, policy, _ = case
    m, J = _per_question_kept_mass(policy, task)
    counts = [sum(mq[n] * (K + R * (1 - J[q]) ** K / J[q]) for q, mq in enumerate(m)) for n in range(task.n_steps)]
    expected = [c / c.sum(axis=1, keepdims=True) for c in counts]
    got = make_variant("rationalize", rationales=R).exact_step(policy, task, K)
    for e, g, c, old in zip(expected, got.kernels, counts, policy.kernels):
        rows = c.sum(axis=1) > 0
        np.testing.assert_allclose(g[rows], e[rows], atol=1e-10)
        np.testing.assert_allclose(g[~rows], old[~rows])
    # infinite-K limit: the rationales vanish and the rule is star
    assert _same(make_variant("rationalize", rationales=R).exact_step(policy, task, None), exact_star_step(policy, task))


def test_sampled_rationalize_adds_correct_chains_only_for_failed_questions():
    task = symmetric_task(6, 2, seed=3)
    policy = symmetric_policy(task, lam=0.05)
    step = make_variant("rationalize", rationales=2).sampled_step(policy, task, 1, 0)
    star = make_variant("star").sampled_step(policy, task, 1, 0)
    assert step.kept == star.kept
    assert step.rationalized == 2 * (6 - step.kept)  # J(s0) > 0 for every question here
    total = sum(c.sum() for c in step.counts) / task.n_steps
    assert total == step.kept + step.rationalized


def test_noisy_verifier_accept_matrix_and_its_failure_found_by_the_checks():
    task = symmetric_task(4, 2, seed=0)
    acc = noisy_verifier_accept(task, fp=0.1, fn=0.3)
    assert np.allclose(acc[np.arange(4), task.answers], 0.7)
    assert np.isclose(acc.sum(), 4 * 0.7 + 12 * 0.1)
    policy = symmetric_policy(task, lam=0.3)
    mild = check_improvement(policy, task, 10, step=make_variant("noisy-verifier", fp=0.01, fn=0.1).exact())
    assert mild.holds
    # fp > 1 - fn: wrong answers are kept more often than right ones, so the refit moves mass
    # to wrong answers and accuracy falls; the check must report it with a counterexample
    bad = check_improvement(policy, task, 10, step=make_variant("noisy-verifier", fp=0.9, fn=0.5).exact())
    assert not bad.accuracy_holds
    c = bad.counterexample
    assert c is not None and c.quantity == "accuracy" and c.after < c.before


def test_high_temperature_breaks_improvement_and_the_checks_report_it():
    task = symmetric_task(4, 3, seed=0)
    policy = symmetric_policy(task, lam=0.2)
    hot = make_variant("temperature", temperature=3.0)
    res = check_improvement(policy, task, 5, step=hot.exact())
    assert not res.holds and res.counterexample is not None
    assert accuracy(hot.exact_step(policy, task), task) < accuracy(policy, task)


def test_general_checks_accept_variant_steps():
    star_like = check_general("improvement", n_cases=15, iterations=8, step=make_variant("partial-fit", eta=0.5).exact())
    assert star_like.holds  # a convex step towards an EM update does not decrease the likelihood J
    hot = check_general("improvement", n_cases=15, iterations=8, step=make_variant("temperature", temperature=3.0).exact())
    assert not hot.holds and hot.counterexample is not None and hot.counterexample.seed is not None


def test_bad_variant_parameters_name_the_key():
    with pytest.raises(InputError, match="unknown variant 'nope'"):
        make_variant("nope")
    with pytest.raises(InputError, match="fp=0.2 applies to variant 'noisy-verifier'"):
        make_variant("star", fp=0.2)
    with pytest.raises(InputError, match="eta"):
        make_variant("partial-fit", eta=0.0)
    with pytest.raises(InputError, match="temperature"):
        make_variant("temperature", temperature=-1)
    with pytest.raises(InputError, match="fn"):
        StarVariant("noisy-verifier", fn=1.5)
    with pytest.raises(InputError, match="unknown variant parameter 'beta'"):
        make_variant("star", beta=1)

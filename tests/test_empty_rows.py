"""The rules for unvisited rows (star_theory.empty_rows) in the exact operator and the simulator:
properties over hypothesis-drawn tasks and policies."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import seeds
from star_theory import (
    EMPTY_ROWS,
    InputError,
    TabularPolicy,
    exact_star_step,
    fill_empty_rows,
    kept_transition_mass,
    refit_from_counts,
    tabular_star_runs,
)
from star_theory.sim.from_kernel import tabular_star_step
from star_theory.strategies import task_and_policy

CASES = task_and_policy(max_states=5, max_steps=3)


def _strings(size: int) -> list[str]:
    """The states of a level written in binary, all of one length."""
    width = max(1, int(np.ceil(np.log2(size))))
    return [format(s, f"0{width}b") for s in range(size)]


def _policy_strings(task) -> list[list[str]]:
    return [_strings(m) for m in task.sizes[1:]]


def _previous_rule(policy, task):
    """The exact operator as it was before the rules existed: unvisited rows keep the old row."""
    out = []
    for w, old in zip(kept_transition_mass(policy, task), policy.kernels):
        sums = w.sum(axis=1, keepdims=True)
        visited = sums[:, 0] > 0
        new = np.array(old, copy=True)
        new[visited] = w[visited] / sums[visited]
        out.append(new)
    return TabularPolicy(out).kernels


@given(CASES)
def test_keep_is_the_operator_as_before_bit_for_bit(case):
    task, policy = case
    for a, b in zip(exact_star_step(policy, task, "keep").kernels, _previous_rule(policy, task)):
        assert np.array_equal(a, b)


@given(CASES)
def test_every_rule_gives_stochastic_rows_and_the_same_visited_rows(case):
    task, policy = case
    masses = kept_transition_mass(policy, task)
    steps = {rule: exact_star_step(policy, task, rule, _policy_strings(task)) for rule in EMPTY_ROWS}
    for n, w in enumerate(masses):
        visited = w.sum(axis=1) > 0
        for rule, p in steps.items():
            k = p.kernels[n]
            assert np.all(k >= 0) and np.allclose(k.sum(axis=1), 1.0, atol=1e-12), rule
            assert np.array_equal(k[visited], steps["keep"].kernels[n][visited]), rule
        empty = ~visited
        assert np.allclose(steps["uniform"].kernels[n][empty], 1.0 / w.shape[1])
        if visited.any():
            mean = steps["keep"].kernels[n][visited].mean(axis=0)
            assert np.allclose(steps["mean"].kernels[n][empty], mean, atol=1e-12)
        else:  # nothing to estimate from: the previous rows
            assert np.array_equal(steps["mean"].kernels[n], policy.kernels[n])


@given(st.integers(2, 3), st.integers(1, 3), st.integers(2, 6), seeds)
def test_marginals_reproduce_a_kernel_that_is_a_product_of_marginals(base, length, rows, seed):
    rng = np.random.default_rng(seed)
    strings = ["".join(c) for c in itertools.product("abc"[:base], repeat=length)]  # every string: M = base^length
    marginals = [rng.dirichlet(np.ones(base)) for _ in range(length)]
    product = np.array([np.prod([marginals[i]["abc".index(c)] for i, c in enumerate(s)]) for s in strings])
    kernel = np.tile(product, (rows, 1))
    visited = rng.random(rows) < 0.5
    visited[0] = True
    previous = rng.dirichlet(np.ones(len(strings)), size=rows)
    filled = fill_empty_rows(kernel, previous, visited, "marginals", strings)
    assert np.allclose(filled, kernel, atol=1e-12)


def test_marginals_need_strings_and_rules_are_named():
    k = np.full((2, 2), 0.5)
    with pytest.raises(InputError, match="strings"):
        fill_empty_rows(k, k, np.array([True, False]), "marginals")
    with pytest.raises(InputError, match="empty_rows must be one of"):
        fill_empty_rows(k, k, np.array([True, False]), "nearest")
    with pytest.raises(InputError, match="one common length"):
        fill_empty_rows(k, k, np.array([True, False]), "marginals", ["a", "bb"])


@given(CASES, seeds, st.sampled_from(EMPTY_ROWS))
def test_refit_from_counts_fills_the_rows_without_counts_by_the_rule(case, seed, rule):
    task, policy = case
    rng = np.random.default_rng(seed)
    counts = [rng.integers(0, 3, size=k.shape) * (rng.random((k.shape[0], 1)) < 0.6) for k in policy.kernels]
    new = refit_from_counts(counts, policy, rule, strings=_policy_strings(task))
    for c, k, old in zip(counts, new.kernels, policy.kernels):
        visited = c.sum(axis=1) > 0
        assert np.allclose(k[visited], c[visited] / c[visited].sum(axis=1, keepdims=True))
        expected = fill_empty_rows(k, old, visited, rule, _strings(k.shape[1]))
        assert np.allclose(k, expected, atol=1e-12)


@given(CASES, seeds)
def test_questions_default_is_all_and_an_empty_subset_keeps_nothing(case, seed):
    task, policy = case
    every = np.arange(task.sizes[0])
    a = tabular_star_step(policy, task, 3, seed)
    b = tabular_star_step(policy, task, 3, seed, questions=every)
    assert all(np.array_equal(x, y) for x, y in zip(a.kernels, b.kernels))
    c = tabular_star_step(policy, task, 3, seed, questions=np.array([], dtype=int))
    assert all(np.allclose(x, y, atol=1e-12) for x, y in zip(c.kernels, policy.kernels))


@given(CASES, seeds)
def test_tabular_runs_split_accuracy_into_trained_and_heldout(case, seed):
    task, policy = case
    trained = np.arange(0, task.sizes[0], 2)
    out = tabular_star_runs(policy, task, 2, 2, [seed], "uniform", questions=trained)
    rho = task.question_dist
    w_train = rho[trained].sum()
    if 0 < w_train < 1:  # J is the rho-weighted mixture of the two parts
        mix = out["accuracy_train_runs"] * w_train + out["accuracy_heldout_runs"] * (1 - w_train)
        assert np.allclose(mix, out["accuracy_runs"], atol=1e-9)
    assert out["questions"] == trained.tolist() and out["empty_rows"] == "uniform"


def test_policy_is_not_changed_in_place():
    k = np.array([[0.2, 0.8], [0.5, 0.5]])
    before = k.copy()
    fill_empty_rows(np.zeros((2, 2)) + 0.5, k, np.array([True, False]), "uniform")
    assert np.array_equal(k, before)
    assert isinstance(refit_from_counts([np.zeros((2, 2))], TabularPolicy([k]), "mean"), TabularPolicy)

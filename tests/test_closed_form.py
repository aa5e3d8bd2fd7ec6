"""Closed forms: equal to the exact operator, to the sympy derivation at high precision, and the
facts the derivation implies (improvement, fixed points, conventions)."""

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from conftest import lam_vectors, symmetric_settings
from star_theory import (
    InputError,
    accuracy,
    derive_product_forms,
    derive_star_update,
    diagnostics,
    exact_star_step,
    fit_symmetric,
    iterations_to_accuracy,
    lam_to_eps,
    symmetric_accuracy,
    symmetric_error_rate,
    symmetric_flawed_distribution,
    symmetric_flawed_share,
    symmetric_policy,
    symmetric_star_update,
    symmetric_step_correctness,
    symmetric_task,
    symmetric_trajectory,
)
from star_theory.derive import Lambda as LAMBDA, M as M_SYM, lam_symbols, mixture_kernel

# ----------------------------------------------------------------------------- (1) exact operator


@given(symmetric_settings(max_M=9, max_N=5))
def test_closed_form_equals_exact_operator(setting):
    M, N, lam, seed = setting
    task = symmetric_task(M, N, seed=seed)
    policy = symmetric_policy(task, lam=lam)
    new = exact_star_step(policy, task)
    fit = fit_symmetric(new, task)
    assert np.max(fit.distance) <= 1e-12  # the operator stays in the family
    np.testing.assert_allclose(symmetric_star_update(M, lam=lam), fit.lam, rtol=0, atol=1e-12)
    d = diagnostics(policy, task)
    assert float(symmetric_accuracy(M, lam=lam)) == pytest.approx(d.accuracy, abs=1e-12)
    p, p_kept = symmetric_step_correctness(M, lam=lam)
    np.testing.assert_allclose(p, d.step_correct, atol=1e-12)
    if d.accuracy > 1e-9:
        np.testing.assert_allclose(p_kept, d.step_correct_kept, atol=1e-10)
        np.testing.assert_allclose(symmetric_flawed_distribution(M, lam=lam), d.flawed_distribution, atol=1e-10)
        assert float(symmetric_flawed_share(M, lam=lam)) == pytest.approx(d.flawed_share, abs=1e-10)


def test_trajectory_equals_exact_trajectory():
    M, lam = 6, np.array([0.3, -0.1, 0.7])
    task = symmetric_task(M, 3, seed=4)
    pol = symmetric_policy(task, lam=lam)
    tr = symmetric_trajectory(M, 6, lam=lam)
    for t in range(7):
        np.testing.assert_allclose(tr.lam[t], fit_symmetric(pol, task).lam, atol=1e-12)
        assert tr.accuracy[t] == pytest.approx(accuracy(pol, task), abs=1e-12)
        pol = exact_star_step(pol, task)


# ----------------------------------------------------------------------------- (2) mpmath at extremes

mpmath.mp.dps = 60
PF = derive_product_forms(1)
J_MP = sp.lambdify((LAMBDA, M_SYM), PF.accuracy, "mpmath")
GAP_MP = sp.lambdify((PF.lam_n, PF.lam_minus_n, LAMBDA, M_SYM), PF.one_minus_update, "mpmath")
_l = sp.Symbol("l")
P_MP = sp.lambdify((_l, M_SYM), mixture_kernel(_l).diagonal, "mpmath")  # correct-step probability


def reference(lam, M, steps):
    """High-precision values from the derived product forms, at the exact float inputs."""
    lam_mp = [mpmath.mpf(float(x)) for x in lam]
    Mm = mpmath.mpf(M)
    pre = [mpmath.mpf(1)]
    for x in lam_mp:
        pre.append(pre[-1] * x)
    suf = [mpmath.mpf(1)]
    for x in reversed(lam_mp):
        suf.append(suf[-1] * x)
    suf = suf[::-1]
    Lam = pre[-1]
    J = J_MP(Lam, Mm)
    gaps = {n: GAP_MP(lam_mp[n], pre[n] * suf[n + 1], Lam, Mm) for n in steps}
    clean = mpmath.fprod(P_MP(x, Mm) for x in lam_mp)
    return J, gaps, 1 - clean / J


def rel(a, b):
    b = mpmath.mpf(b) if not isinstance(b, mpmath.mpf) else b
    return float(abs(mpmath.mpf(float(a)) - b) / abs(b)) if b != 0 else abs(float(a))


EXTREMES = {
    "near one": lambda N: np.full(N, 1.0 - 1e-12),
    "near zero": lambda N: np.full(N, 1e-12),
    "mixed": lambda N: np.where(np.arange(N) % 3 == 0, 1e-12, 1.0 - 1e-12),
    "random": lambda N: 1.0 - np.random.default_rng(0).uniform(1e-12, 1e-9, N),
}


@pytest.mark.parametrize("name", sorted(EXTREMES))
@pytest.mark.parametrize("M,N", [(10**9, 10**4), (2, 10**4), (10**9, 3)])
def test_closed_form_matches_high_precision_derivation(name, M, N):
    lam = EXTREMES[name](N)
    steps = sorted({0, N // 2, N - 1})
    J, gaps, share = reference(lam, M, steps)
    tr = symmetric_trajectory(M, 1, lam=lam)
    assert rel(tr.accuracy[0], J) < 1e-10
    assert rel(tr.error_rate[0], 1 - J) < 1e-9
    for n in steps:
        assert rel(tr.gap[1][n], gaps[n]) < 1e-9  # 1 - lam_n'
        assert rel(tr.lam[1][n], 1 - gaps[n]) < 1e-9  # lam_n'
    assert rel(tr.flawed_share[0], share) < 1e-9


@pytest.mark.parametrize("M", [2, 64, 10**9])
def test_closed_form_matches_per_step_derivation_near_bounds(M):
    lo = -1.0 / (M - 1)
    lam = np.array([lo + 1e-12, 1.0 - 1e-12, 1e-12])
    upd = derive_star_update(3)
    syms = lam_symbols(3)
    subs = {s: sp.Float(float(x), 80) for s, x in zip(syms, lam)}
    subs[M_SYM] = M
    got = symmetric_star_update(M, lam=lam)
    for n in range(3):
        want = sp.N(upd[n].subs(subs), 50)
        assert abs(float(got[n]) - float(want)) <= 1e-9 * max(abs(float(want)), 1e-300) + 1e-15


# ----------------------------------------------------------------------------- (3) conventions


@given(st.integers(2, 10**9), st.data())
def test_lam_eps_conventions_agree(M, data):
    N = data.draw(st.integers(1, 6))
    lam = data.draw(lam_vectors(M, N))
    eps = lam_to_eps(lam, M)
    np.testing.assert_allclose(
        symmetric_star_update(M, eps=eps), lam_to_eps(symmetric_star_update(M, lam=lam), M), rtol=1e-9, atol=1e-12
    )
    assert float(symmetric_accuracy(M, eps=eps)) == pytest.approx(float(symmetric_accuracy(M, lam=lam)), rel=1e-9)


# ----------------------------------------------------------------------------- facts of the derivation


@given(st.integers(2, 10**9), st.data())
def test_improvement_with_non_negative_lam(M, data):
    N = data.draw(st.integers(1, 40))
    lam = data.draw(lam_vectors(M, N, negative=False))
    new = symmetric_star_update(M, lam=lam)
    assert np.all(new >= lam - 1e-12)
    assert np.all(new <= 1.0)
    assert float(symmetric_accuracy(M, lam=new)) >= float(symmetric_accuracy(M, lam=lam)) - 1e-12


@given(st.integers(2, 1000), st.data())
def test_sign_rule_with_negative_entries(M, data):
    # lam_n' - lam_n has the sign of Lambda_-n (when -1/(M-1) < lam_n < 1 and J > 0)
    N = data.draw(st.integers(2, 6))
    lo = -1.0 / (M - 1)
    lam = np.array(data.draw(st.lists(st.floats(lo * 0.99, 0.99), min_size=N, max_size=N)))
    others = np.array([np.prod(np.delete(lam, n)) for n in range(N)])
    new = symmetric_star_update(M, lam=lam)
    big = np.abs(others) > 1e-6
    assert np.all(np.sign(new - lam)[big] == np.sign(others)[big])
    # ... while J never decreases
    assert float(symmetric_accuracy(M, lam=new)) >= float(symmetric_accuracy(M, lam=lam)) - 1e-12


@given(st.integers(2, 10**6), st.integers(2, 8), st.data())
def test_fixed_points(M, N, data):
    lam = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=N, max_size=N)))
    two = lam.copy()
    two[:2] = 0.0  # two zero steps: nothing moves, J = 1/M
    np.testing.assert_array_equal(symmetric_star_update(M, lam=two), two)
    np.testing.assert_array_equal(symmetric_star_update(M, lam=np.ones(N)), np.ones(N))
    one = lam.copy()
    one[0] = 0.0  # one zero step: lifted to Lambda_-1 in one iteration, the others unchanged
    new = symmetric_star_update(M, lam=one)
    assert new[0] == pytest.approx(np.prod(one[1:]), rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(new[1:], one[1:], rtol=1e-12)


@given(st.integers(2, 10**9), st.floats(-1.0, 1.0))
def test_single_step_reaches_the_optimum_in_one_iteration(M, u):
    lam = max(u, -1.0 / (M - 1) * 0.999)  # N = 1: Lambda_-1 = 1, so lam' = 1 whenever J > 0
    assert float(symmetric_star_update(M, lam=[lam])[0]) == 1.0


@given(st.integers(2, 10**9), st.data())
def test_monotone_convergence_and_iterations_to_target(M, data):
    N = data.draw(st.integers(1, 6))
    lam = np.array(data.draw(st.lists(st.floats(0.2, 1.0), min_size=N, max_size=N)))
    # every start with all lam_n > 0 converges; slowest here (M=2, N=6, lam=0.2) needs ~1/(4 lam^4) iterations
    t = iterations_to_accuracy(M, 0.99, lam=lam, max_iterations=100_000)
    assert np.isfinite(t)
    # near the optimum 1 - lam_n shrinks quadratically: 60 more iterations take J to 1 - 1e-9
    tr = symmetric_trajectory(M, int(t) + 60, lam=lam)
    assert np.all(np.diff(tr.accuracy) >= -1e-12)
    assert np.all(np.diff(tr.lam, axis=0) >= -1e-12)
    assert tr.error_rate[-1] <= 1e-9
    assert tr.accuracy[int(t)] >= 0.99 and (t == 0 or tr.accuracy[int(t) - 1] < 0.99)


def test_flawed_distribution_and_share_bounds():
    lam = np.array([[0.2, 0.2, 0.2], [0.5, 0.0, -0.01], [1.0, 1.0, 1.0]])
    d = symmetric_flawed_distribution(64, lam=lam)
    np.testing.assert_allclose(d.sum(axis=-1), 1.0)
    np.testing.assert_allclose(symmetric_flawed_share(64, lam=lam), 1.0 - d[:, 0], atol=1e-12)
    assert symmetric_flawed_share(64, lam=lam)[2] == 0.0  # the optimal policy never errs


def test_broadcasting_over_M_and_lam():
    lam = np.random.default_rng(1).uniform(0, 1, (4, 5, 3))
    M = np.array([2, 3, 64, 10**9, 7])
    J = symmetric_accuracy(M, lam=lam)
    assert J.shape == (4, 5)
    for i in range(4):
        for j in range(5):
            assert J[i, j] == float(symmetric_accuracy(int(M[j]), lam=lam[i, j]))
    assert symmetric_star_update(M, lam=lam).shape == (4, 5, 3)
    assert symmetric_trajectory(M, 3, lam=lam).lam.shape == (4, 4, 5, 3)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"M": 1, "lam": [0.5]}, "M"),
        ({"M": 2.5, "lam": [0.5]}, "integer"),
        ({"M": 4, "lam": [np.nan]}, "finite"),
        ({"M": 4, "lam": [1.5]}, "outside"),
        ({"M": 4, "lam": [-0.5]}, "outside"),
        ({"M": 4}, "exactly one"),
        ({"M": 4, "lam": [0.1], "eps": [0.1]}, "exactly one"),
        ({"M": [2, 3], "lam": np.zeros((3, 2))}, "broadcast"),
    ],
)
def test_bad_input(kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        symmetric_accuracy(**kwargs)


def test_zero_accuracy_keeps_lam():
    M = 5
    lam = np.array([-1.0 / (M - 1), 1.0])  # never the correct first step, perfect second: J = 0
    assert float(symmetric_accuracy(M, lam=lam)) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_array_equal(symmetric_star_update(M, lam=lam), lam)
    assert np.isnan(symmetric_flawed_share(M, lam=lam))

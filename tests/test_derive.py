"""The symbolic derivation checked a second, independent way: explicit sympy matrices.

The algebraic derivation (kernel algebra aI + bU) is compared with brute force on explicit
M x M sympy matrices, random permutation ground truth, and the operator's definition written out
as a sum over every chain.
"""

import itertools

import numpy as np
import pytest
import sympy as sp

from star_theory import (
    derive_accuracy,
    derive_flawed_distribution,
    derive_flawed_share,
    derive_product_forms,
    derive_star_update,
    derive_step_correct,
    format_formulas,
)
from star_theory.derive import Lambda as LAMBDA, M as M_SYM, lam_symbols


def explicit(M, N, seed):
    """Symbolic kernels lam_n P*_n + (1 - lam_n) U on random permutations; brute-force quantities."""
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(M) for _ in range(N)]
    lams = lam_symbols(N)
    kernels = []
    for l, g in zip(lams, perms):
        star = sp.zeros(M, M)
        for s in range(M):
            star[s, int(g[s])] = 1
        kernels.append(l * star + (1 - l) * sp.ones(M, M) / M)
    correct = np.zeros((M, N + 1), dtype=int)
    correct[:, 0] = np.arange(M)
    for n, g in enumerate(perms):
        correct[:, n + 1] = g[correct[:, n]]
    J = sp.Integer(0)
    mass = [sp.zeros(M, M) for _ in range(N)]
    flawed = [sp.Integer(0)] * N
    for chain in itertools.product(range(M), repeat=N + 1):
        if chain[-1] != correct[chain[0], -1]:
            continue
        prob = sp.Rational(1, M)
        for n in range(N):
            prob *= kernels[n][chain[n], chain[n + 1]]
        J += prob
        for n in range(N):
            mass[n][chain[n], chain[n + 1]] += prob
        k = sum(chain[n] != correct[chain[0], n] for n in range(1, N))
        flawed[k] += prob
    return perms, lams, J, mass, flawed


CASES = [(2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (3, 3), (4, 1), (4, 2)]


@pytest.mark.parametrize("M,N", CASES)
def test_derivation_equals_explicit_matrices(M, N):
    perms, lams, J, mass, flawed = explicit(M, N, seed=M * 10 + N)
    assert sp.cancel(J - derive_accuracy(N).subs(M_SYM, M)) == 0
    updates = derive_star_update(N)
    for n in range(N):
        # new probability of the correct step from the refit row of state 0, via lam'
        row = mass[n].row(0)
        p_new = row[0, int(perms[n][0])] / sum(row)
        lam_new = (M * p_new - 1) / (M - 1)
        assert sp.cancel(lam_new - updates[n].subs(M_SYM, M)) == 0
        # every row of the refit kernel is again in the family: wrong entries all equal
        for s in range(M):
            wrong = [row_j for j, row_j in enumerate(mass[n].row(s)) if j != int(perms[n][s])]
            assert all(sp.cancel(w - wrong[0]) == 0 for w in wrong)
    dist = derive_flawed_distribution(N)
    for k in range(N):
        assert sp.cancel(flawed[k] / J - dist[k].subs(M_SYM, M)) == 0


@pytest.mark.parametrize("N", [1, 2, 3, 4])
def test_product_forms_equal_per_step_forms(N):
    pf = derive_product_forms(N)
    lams = lam_symbols(N)
    Lam = sp.Mul(*lams)
    assert sp.cancel(derive_accuracy(N) - pf.accuracy.subs(LAMBDA, Lam)) == 0
    for n, upd in enumerate(derive_star_update(N)):
        others = sp.Mul(*(l for k, l in enumerate(lams) if k != n))
        val = pf.update.subs({pf.lam_n: lams[n], pf.lam_minus_n: others}).subs(LAMBDA, Lam)
        assert sp.cancel(upd - val) == 0
    p = {pk: l + (1 - l) / M_SYM for pk, l in zip(pf.p_symbols, lams)}
    share = pf.flawed_share.subs(p).subs(pf.J, derive_accuracy(N))
    assert sp.cancel(derive_flawed_share(N) - share) == 0


@pytest.mark.parametrize("N", [1, 2, 3, 5])
def test_distribution_is_a_distribution_and_last_step_is_the_answer(N):
    dist = derive_flawed_distribution(N)
    assert sp.cancel(sum(dist) - 1) == 0
    assert sp.cancel(1 - dist[0] - derive_flawed_share(N)) == 0
    p, p_kept = derive_step_correct(N)
    assert sp.cancel(p[-1] - derive_accuracy(N)) == 0  # the last state is the answer
    assert sp.cancel(p_kept[-1] - 1) == 0


def test_improvement_sign_rule():
    # lam_n' - lam_n = Lambda_-n (1 - lam_n)(1 + (M - 1) lam_n) / (1 + (M - 1) Lambda)
    pf = derive_product_forms(3)
    l, Lm, Lam = pf.lam_n, pf.lam_minus_n, LAMBDA
    diff = sp.cancel((pf.update - l).subs(Lam, l * Lm))
    rule = Lm * (1 - l) * (1 + (M_SYM - 1) * l) / (1 + (M_SYM - 1) * l * Lm)
    assert sp.cancel(diff - rule) == 0


def test_two_steps_equalise_and_fixed_points():
    # N = 2: both steps equal after one iteration; the equal-step map has fixed points 0, 1, -1/(M-1)
    u1, u2 = derive_star_update(2)
    assert sp.cancel(u1 - u2) == 0
    l1, l2 = lam_symbols(2)
    x = sp.Symbol("x", real=True)
    fixed = sp.solve(sp.numer(sp.together(u1.subs({l1: x, l2: x}) - x)), x)
    assert set(fixed) == {0, 1, -1 / (M_SYM - 1)}
    # numerator of the one-step value decides the side: lam1 + lam2 + (M - 2) lam1 lam2
    num, den = sp.fraction(sp.together(u1))
    assert sp.expand(num - (l1 + l2 + (M_SYM - 2) * l1 * l2)) == 0


def test_format_formulas_round_trips_through_the_parser():
    text = format_formulas(2)
    line = next(ln for ln in text.splitlines() if ln.strip().startswith("J = (M*"))
    parsed = sp.sympify(line.split("=", 1)[1], locals={"M": M_SYM, "lambda_1": lam_symbols(2)[0], "lambda_2": lam_symbols(2)[1]})
    assert sp.cancel(parsed - derive_accuracy(2)) == 0
    assert "\\frac" in format_formulas(2, "latex")

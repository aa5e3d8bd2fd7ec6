"""Numerics of the exact operator on explicit matrices, against mpmath evaluation of the derived
formulas: ``lam`` within 1e-12 of 0, of 1 and of the lower bound, ``M`` up to 4096 and ``N`` up to
10^4 steps. (The closed forms at N = 10^4 and M = 10^9 are checked in ``test_closed_form.py``.)

The reference is evaluated at the inputs the float code sees. Row 0 of a float kernel of the
family holds one value ``d`` (the correct step) and ``M - 1`` values ``o``; its row sum
``c = d + (M - 1) o`` is 1 only up to round-off. The exact operator is invariant under scaling
every row of a step by the same constant, so at a kernel whose rows all hold row 0's values the
new kernel is the derived update at ``lam_eff = (M d / c - 1) / (M - 1)``, and the accuracy is
``J(lam_eff) * prod_n c_n``. The other rows hold the same values up to a relative ``(M + 1) u``
(each row is normalised by its own sum, summed in its own order); the test checks that.

Tolerance: every quantity is a sum of products of non-negative numbers (no cancellation), so a
relative perturbation of the entries, or a rounding, moves each result by at most about the
number of terms summed along the way times its size: ``M`` terms per dot product, ``N`` forward
and ``N`` backward products, a row sum and a division; that is ``(2 N + 4) (M + 1) u`` for the
rounding and as much again for the differences between rows: we allow ``2 (2 N + 4) (M + 1) u``,
with ``u = 2^-53``.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from star_theory import (
    accuracy,
    derive_accuracy,
    derive_product_forms,
    derive_star_update,
    exact_star_step,
    symmetric_policy,
    symmetric_task,
)
from star_theory.derive import Lambda as LAMBDA, M as M_SYM, lam_symbols

mpmath.mp.dps = 50
U = 2.0**-53
NEAR = 1e-12


def tolerance(M: int, N: int) -> float:
    return 2 * (2 * N + 4) * (M + 1) * U


def wrong_step_range(kernel: np.ndarray, maps: np.ndarray) -> tuple[float, float]:
    """(min, max) of the entries off the correct step, in blocks of rows (little extra memory)."""
    lo, hi = np.inf, -np.inf
    for i in range(0, kernel.shape[0], 256):
        block = np.array(kernel[i : i + 256])
        rows = np.arange(block.shape[0])
        fill = block[0, 1 if maps[i] == 0 else 0]
        block[rows, maps[i : i + 256]] = fill
        lo, hi = min(lo, float(block.min())), max(hi, float(block.max()))
    return lo, hi


def effective(policy, task):
    """(lam_eff, row sum c) of every step of a float kernel of the family, in mpmath."""
    M = task.sizes[0]
    out = []
    for n, k in enumerate(policy.kernels):
        d = k[np.arange(M), task.maps[n]]
        o = k[0, 1 if task.maps[n][0] == 0 else 0]
        lo, hi = wrong_step_range(k, task.maps[n])
        slack = (M + 1) * U
        assert np.max(np.abs(d - d[0])) <= slack * d[0] and max(hi - o, o - lo) <= slack * o  # rows alike
        dm, om = mpmath.mpf(float(d[0])), mpmath.mpf(float(o))
        c = dm + (M - 1) * om
        out.append(((M * dm / c - 1) / (M - 1), c))
    return out


def max_rel_error(kernel: np.ndarray, maps: np.ndarray, lam_new) -> float:
    """Largest relative error of the kernel's entries against lam' P* + (1 - lam') U."""
    M = kernel.shape[0]
    gap = 1 - lam_new
    d_ref, o_ref = float(lam_new + gap / M), float(gap / M)
    d = kernel[np.arange(M), maps]
    err = float(np.max(np.abs(d - d_ref))) / d_ref
    if o_ref > 0:
        lo, hi = wrong_step_range(kernel, maps)
        err = max(err, max(abs(lo - o_ref), abs(hi - o_ref)) / o_ref)
    return err


def check_step(M: int, lam, seed=0):
    N = len(lam)
    task = symmetric_task(M, N, seed=seed)
    policy = symmetric_policy(task, lam=np.asarray(lam, dtype=float))
    eff = effective(policy, task)
    syms = lam_symbols(N)
    subs = dict(zip(syms, [e[0] for e in eff]))
    new = exact_star_step(policy, task)
    tol = tolerance(M, N)
    for n in range(N):
        f = sp.lambdify(list(syms) + [M_SYM], derive_star_update(N)[n], "mpmath")
        lam_new = f(*[subs[s] for s in syms], mpmath.mpf(M))
        assert max_rel_error(new.kernels[n], task.maps[n], lam_new) <= tol, (M, lam, n)
    return task, policy, eff


CORNERS = {
    "near 0": lambda M: NEAR,
    "near 0 below": lambda M: -NEAR,
    "near 1": lambda M: 1.0 - NEAR,
    "near lower bound": lambda M: -1.0 / (M - 1) + NEAR,
}


@pytest.mark.parametrize("M", [2, 3, 64, 512])
@pytest.mark.parametrize("first, second, third", [
    ("near 0", "near 1", None), ("near 1", "near 1", None), ("near 0", "near 0", None),
    ("near 0 below", "near 1", None), ("near lower bound", "near 1", None), ("near lower bound", "near lower bound", None),
    ("near 1", "near 0", "near 1"), ("near 1", "near 1", "near 1"), ("near lower bound", "near 0", "near 1"),
])
def test_exact_operator_and_accuracy_at_the_corners(M, first, second, third):
    lam = [CORNERS[c](M) for c in (first, second, third) if c is not None]
    task, policy, eff = check_step(M, lam, seed=M)
    J = sp.lambdify(list(lam_symbols(len(lam))) + [M_SYM], derive_accuracy(len(lam)), "mpmath")
    J_ref = J(*[e[0] for e in eff], mpmath.mpf(M)) * mpmath.fprod(e[1] for e in eff)
    J_got = accuracy(policy, task)
    assert np.isfinite(J_got)
    assert abs(mpmath.mpf(J_got) - J_ref) <= tolerance(M, len(lam)) * abs(J_ref), (J_got, J_ref)


def test_exact_operator_on_4096_states():
    """N = 2 with lam_1 within 1e-12 of 0 and lam_2 within 1e-12 of 1: the explicit 4096 x 4096
    kernels (128 MB each) give the derived update to every entry's relative precision."""
    check_step(4096, [NEAR, 1.0 - NEAR], seed=7)


@pytest.mark.parametrize("start", ["near 1", "alternating"])
def test_exact_operator_over_ten_thousand_steps(start):
    """N = 10^4 steps of M = 3 states: the forward and backward products over 10^4 kernels stay
    finite and give the product-form update (Lambda, Lambda_-n) at high precision."""
    M, N = 3, 10**4
    lam = np.full(N, 1.0 - NEAR) if start == "near 1" else np.where(np.arange(N) % 2 == 0, 1.0 - NEAR, 1.0 - 1e-9)
    lam[N // 2] = NEAR  # one step near 0: J near 1/M, every other step learns from it
    task = symmetric_task(M, N, seed=3)
    policy = symmetric_policy(task, lam=lam)
    eff = effective(policy, task)
    lam_mp = [e[0] for e in eff]
    Lam = mpmath.fprod(lam_mp)
    PF = derive_product_forms(1)
    gap_f = sp.lambdify((PF.lam_n, PF.lam_minus_n, LAMBDA, M_SYM), PF.one_minus_update, "mpmath")
    J_f = sp.lambdify((LAMBDA, M_SYM), PF.accuracy, "mpmath")
    new = exact_star_step(policy, task)
    tol = tolerance(M, N)
    for n in (0, 1, N // 2 - 1, N // 2, N // 2 + 1, N - 1):
        gap = gap_f(lam_mp[n], Lam / lam_mp[n], Lam, mpmath.mpf(M))
        assert max_rel_error(new.kernels[n], task.maps[n], 1 - gap) <= tol, n
    J_ref = J_f(Lam, mpmath.mpf(M)) * mpmath.fprod(e[1] for e in eff)
    J_got = accuracy(policy, task)
    assert abs(mpmath.mpf(J_got) - J_ref) <= tol * J_ref

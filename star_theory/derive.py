r"""Symbolic derivation (sympy) of the symmetric family's closed forms, from the definitions.

Nothing here is typed in as a result: every formula is computed from the model's definitions.

Setting. Every level has ``M`` states, every step is a bijection and questions are uniform. By
relabelling the states of each level, every step is the identity (WLOG), so the correct state at
every level is the question ``s0`` itself, and the pretrained kernel is
:math:`P_n = \lambda_n I + (1 - \lambda_n) U` with :math:`U = \mathbf{1}\mathbf{1}^\top / M`.

The kernel algebra. Matrices :math:`aI + bU` form a commutative algebra, because
:math:`U^2 = U` and :math:`IU = UI = U`:

.. math:: (aI + bU)(cI + dU) = ac\, I + (ad + bc + bd)\, U,

and such a matrix has diagonal entries :math:`a + b/M` and off-diagonal entries :math:`b/M`.
:class:`KernelElement` implements exactly these rules; products of kernels are computed in it.

The exact STaR operator (:func:`~star_theory.exact.exact_star_step`) with :math:`\rho = 1/M` gives the kept mass

.. math:: W_n(s, s') = \tfrac{1}{M} P_n(s, s') \sum_{s_0} A_n(s_0, s)\, B_n(s', s_0)
                     = \tfrac{1}{M} P_n(s, s')\, (B_n A_n)(s', s),

with the forward product :math:`A_n = P_1 \cdots P_{n-1}` and the backward product
:math:`B_n = P_{n+1} \cdots P_N` (the reward of a chain that is at :math:`s'` after step ``n`` is
:math:`B_n(s', s_0)` because the correct answer is :math:`s_0`). The new row is
:math:`W_n(s, \cdot)/\sum_{s''} W_n(s, s'')`; its diagonal entry :math:`p'` is the new probability
of the correct step, and ``lam'`` solves :math:`p' = \lambda' + (1 - \lambda')/M`.

The flawed-chain distribution uses a two-state (on-track/off-track) transfer matrix built from
the kernel's entries, with a marker ``z`` on every off-track intermediate level: the coefficient
of :math:`z^k` in :math:`G(z) = e_{on}^\top T_1 D T_2 D \cdots D T_N e_{on}`,
:math:`D = \mathrm{diag}(1, z)`, is the probability of a correct answer with ``k`` wrong
intermediate states; :math:`G(1) = J`.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import lru_cache, wraps
from typing import Callable, ParamSpec, TypeVar, cast

import sympy as sp

from .errors import InputError
from .validation import as_int

M = sp.Symbol("M", positive=True, integer=True)
"""Number of states per level."""

z = sp.Symbol("z")
"""Marker variable counting wrong intermediate states."""

Lambda = sp.Symbol("Lambda", real=True)
r""":math:`\Lambda = \prod_n \lambda_n`."""

MAX_SYMBOLIC_STEPS = 12


def lam_symbols(N: int) -> tuple[sp.Symbol, ...]:
    r"""Per-step symbols :math:`\lambda_1, \dots, \lambda_N`."""
    N = as_int(N, "N (steps)", 1)
    return tuple(sp.Symbol(f"lambda_{n}", real=True) for n in range(1, N + 1))


def lam_minus_symbol(n: int | str) -> sp.Symbol:
    r""":math:`\Lambda_{-n} = \prod_{k \ne n} \lambda_k` (1-based ``n``)."""
    return sp.Symbol(f"Lambda_-{n}", real=True)


# ----------------------------------------------------------------------------- kernel algebra


@dataclass(frozen=True)
class KernelElement:
    r"""The matrix :math:`aI + bU` (``U`` = all-ones / ``M``) of the commutative kernel algebra."""

    a: sp.Expr
    b: sp.Expr

    def __matmul__(self, other: "KernelElement") -> "KernelElement":
        # (aI + bU)(cI + dU) = ac I + ad U + bc U + bd U^2, and U^2 = U.
        a, b, c, d = self.a, self.b, other.a, other.b
        return KernelElement(sp.expand(a * c), sp.expand(a * d + b * c + b * d))

    @property
    def diagonal(self) -> sp.Expr:
        """Entry ``(s, s)``: ``a + b/M``."""
        return self.a + self.b / M

    @property
    def off_diagonal(self) -> sp.Expr:
        """Entry ``(s, s')`` for ``s != s'``: ``b/M``."""
        return self.b / M

    def row_sum(self) -> sp.Expr:
        return sp.simplify(self.diagonal + (M - 1) * self.off_diagonal)


IDENTITY = KernelElement(sp.Integer(1), sp.Integer(0))


def mixture_kernel(lam) -> KernelElement:
    r""":math:`P = \lambda I + (1 - \lambda) U` (identity ground truth)."""
    return KernelElement(sp.sympify(lam), 1 - sp.sympify(lam))


def kernel_product(kernels) -> KernelElement:
    """Ordered product of kernel elements (the empty product is the identity)."""
    out = IDENTITY
    for k in kernels:
        out = out @ k
    return out


# ----------------------------------------------------------------------------- derivations


def _update_from_parts(lam_n, forward: KernelElement, backward: KernelElement) -> sp.Expr:
    """New ``lam`` of a step with kernel ``lam_n`` given the forward and backward products."""
    P = mixture_kernel(lam_n)
    BA = backward @ forward  # sum_{s0} A(s0, s) B(s', s0) = (B A)(s', s)
    w_diag = P.diagonal * BA.diagonal / M  # W(s, s): both factors on the diagonal
    w_off = P.off_diagonal * BA.off_diagonal / M  # W(s, s'), s != s'
    p_new = w_diag / (w_diag + (M - 1) * w_off)  # r = 1 conditioning, row normalised
    lam_new = sp.Symbol("lambda_new")
    sol = sp.solve(sp.Eq(p_new, lam_new + (1 - lam_new) / M), lam_new)
    if len(sol) != 1:  # pragma: no cover - the equation is linear in lam_new
        raise RuntimeError(f"expected one solution for lam', got {sol}")
    return sp.factor(sp.cancel(sol[0]))


P = ParamSpec("P")
R = TypeVar("R")


def _cached_by_N(fn: Callable[P, R]) -> Callable[P, R]:
    """``fn(N)`` cached per ``N``, with ``N`` checked first (an unhashable or non-integer ``N`` is an
    InputError, never a TypeError of the cache)."""
    cached = lru_cache(maxsize=None)(fn)
    default = inspect.signature(fn).parameters["N"].default

    if default is inspect.Parameter.empty:
        @wraps(fn)
        def wrapper(N):
            return cached(_check_N(N))
    else:
        @wraps(fn)
        def wrapper(N=default):
            return cached(_check_N(N))
    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return cast("Callable[P, R]", wrapper)


@_cached_by_N
def derive_accuracy(N: int) -> sp.Expr:
    r"""Accuracy :math:`J = \tfrac1M \sum_{s_0} (P_1 \cdots P_N)(s_0, s_0)` in terms of ``lam_1..lam_N``."""
    lams = lam_symbols(_check_N(N))
    full = kernel_product(mixture_kernel(l) for l in lams)
    # uniform questions, every diagonal entry equal: J = diagonal entry
    return sp.factor(full.diagonal)


@_cached_by_N
def derive_star_update(N: int) -> tuple[sp.Expr, ...]:
    """One exact STaR iteration: the new ``lam_n`` of every step, as expressions in ``lam_1..lam_N``."""
    lams = lam_symbols(_check_N(N))
    kernels = [mixture_kernel(l) for l in lams]
    out = []
    for n in range(N):
        A = kernel_product(kernels[:n])
        B = kernel_product(kernels[n + 1 :])
        out.append(_update_from_parts(lams[n], A, B))
    return tuple(out)


def _transfer(lam) -> sp.Matrix:
    """On/off-track transfer matrix of one step, built from the kernel's entries."""
    P = mixture_kernel(lam)
    d, o = P.diagonal, P.off_diagonal
    # on -> on: the correct (diagonal) entry; on -> off: M - 1 wrong states;
    # off -> on: one entry leads back to s0; off -> off: stay (diagonal) or M - 2 other wrong states.
    return sp.Matrix([[d, (M - 1) * o], [o, d + (M - 2) * o]])


@_cached_by_N
def derive_flawed_generating_function(N: int) -> sp.Expr:
    """:math:`G(z) = \\sum_k \\Pr(r = 1, k \\text{ wrong intermediate states}) z^k`."""
    lams = lam_symbols(_check_N(N))
    marker = sp.diag(1, z)
    v = sp.Matrix([[1, 0]])  # level 0 is the question: on track
    for n, l in enumerate(lams):
        v = v * _transfer(l)
        if n < N - 1:
            v = v * marker
    return sp.expand(v[0, 0])  # the answer must be on track


@_cached_by_N
def derive_flawed_distribution(N: int) -> tuple[sp.Expr, ...]:
    """``Pr(k wrong intermediate states | r = 1)`` for ``k = 0..N-1``."""
    G = derive_flawed_generating_function(N)
    J = G.subs(z, 1)
    poly = sp.Poly(G, z)
    return tuple(sp.factor(sp.cancel(poly.coeff_monomial(z**k) / J)) for k in range(N))


@_cached_by_N
def derive_flawed_share(N: int) -> sp.Expr:
    """Share of kept chains with at least one wrong intermediate state: ``1 - Pr(k = 0 | r = 1)``."""
    G = derive_flawed_generating_function(N)
    return sp.factor(sp.cancel(1 - G.subs(z, 0) / G.subs(z, 1)))


@_cached_by_N
def derive_step_correct(N: int) -> tuple[tuple[sp.Expr, ...], tuple[sp.Expr, ...]]:
    """``Pr(s_n = s_n^*)`` and ``Pr(s_n = s_n^* | r = 1)`` for ``n = 1..N``."""
    lams = lam_symbols(_check_N(N))
    kernels = [mixture_kernel(l) for l in lams]
    J = derive_accuracy(N)
    p, p_kept = [], []
    for n in range(1, N + 1):
        on = kernel_product(kernels[:n]).diagonal  # Pr(s_n = s0 | s0)
        after = kernel_product(kernels[n:]).diagonal  # Pr(r = 1 | s_n = s0)
        p.append(sp.factor(on))
        p_kept.append(sp.factor(sp.cancel(on * after / J)))
    return tuple(p), tuple(p_kept)


@dataclass(frozen=True)
class ProductForms:
    r"""The closed forms written with :math:`\Lambda = \prod_k \lambda_k`, :math:`\Lambda_{-n}` and :math:`p_k`.

    ``accuracy`` in ``(Lambda, M)``; ``update`` (new ``lam_n``) and ``one_minus_update``
    (:math:`1 - \lambda_n'`) in ``(lambda_n, Lambda_-n, Lambda, M)``; ``flawed_share`` in
    ``(p_1..p_N, J)`` with :math:`p_k = \lambda_k + (1 - \lambda_k)/M` the probability of a correct step.
    """

    lam_n: sp.Symbol
    lam_minus_n: sp.Symbol
    accuracy: sp.Expr
    update: sp.Expr
    one_minus_update: sp.Expr
    flawed_share: sp.Expr
    p_symbols: tuple[sp.Symbol, ...]
    J: sp.Symbol


@_cached_by_N
def derive_product_forms(N: int = 3) -> ProductForms:
    """Derive the closed forms in terms of the products (independent of ``N`` except ``flawed_share``).

    The forward and backward products of any kernels of the family are again in the family,
    :math:`A = \\alpha I + (1 - \\alpha) U`, :math:`B = \\beta I + (1 - \\beta) U`; the update is
    derived with symbols ``alpha, beta`` and shown to depend on them only through
    :math:`\\alpha\\beta = \\Lambda_{-n}`.
    """
    N = _check_N(N)
    lam, alpha, beta = sp.symbols("lambda_n alpha beta", real=True)
    Lm = lam_minus_symbol("n")
    upd = _update_from_parts(lam, mixture_kernel(alpha), mixture_kernel(beta))
    upd_L = sp.factor(sp.cancel(upd.subs(alpha, Lm / beta)))
    if upd_L.has(beta):  # pragma: no cover - a property of the algebra, checked in the tests
        raise RuntimeError("update depends on the forward/backward split, not only on Lambda_-n")
    one_minus = sp.factor(1 - upd_L)
    num, den = sp.fraction(one_minus)
    den = sp.expand(den).subs(lam * Lm, Lambda)
    one_minus = num / den
    J = sp.Symbol("J", positive=True)
    acc = sp.factor(kernel_product([mixture_kernel(Lambda)]).diagonal)
    ps = tuple(sp.Symbol(f"p_{k}", nonnegative=True) for k in range(1, N + 1))
    # G(0) keeps every level on track: the product of the on->on entries p_k; G(1) = J.
    g0 = sp.Mul(*ps)
    return ProductForms(
        lam_n=lam,
        lam_minus_n=Lm,
        accuracy=acc,
        update=1 - one_minus,
        one_minus_update=one_minus,
        flawed_share=1 - g0 / J,
        p_symbols=ps,
        J=J,
    )


def _check_N(N) -> int:
    N = as_int(N, "N (steps)", 1)
    if N > MAX_SYMBOLIC_STEPS:
        raise InputError(f"symbolic derivation supports N <= {MAX_SYMBOLIC_STEPS}, got N={N}")
    return N


# ----------------------------------------------------------------------------- printing


@dataclass(frozen=True)
class DerivedFormulas:
    """All derived expressions for ``N`` steps (per-step symbols ``lambda_1..lambda_N``)."""

    N: int
    lam: tuple[sp.Symbol, ...]
    accuracy: sp.Expr
    update: tuple[sp.Expr, ...]
    flawed_share: sp.Expr
    flawed_distribution: tuple[sp.Expr, ...]
    products: ProductForms


def derive_all(N: int) -> DerivedFormulas:
    """Every closed form of the symmetric family for ``N`` steps."""
    N = _check_N(N)
    return DerivedFormulas(
        N=N,
        lam=lam_symbols(N),
        accuracy=derive_accuracy(N),
        update=derive_star_update(N),
        flawed_share=derive_flawed_share(N),
        flawed_distribution=derive_flawed_distribution(N),
        products=derive_product_forms(N),
    )


#: the definitions of the product forms' symbols, in each style (both styles print them)
_PRODUCT_DEFINITIONS = {
    "plain": "Lambda = prod lam_k, Lambda_-n = prod_{k != n} lam_k, p_k = lam_k + (1 - lam_k)/M",
    "latex": r"$\Lambda = \prod_k \lambda_k$, $\Lambda_{-n} = \prod_{k \neq n} \lambda_k$, "
             r"$p_k = \lambda_k + (1 - \lambda_k)/M$",
}


def format_formulas(N: int, style: str = "plain") -> str:
    """The derived formulas as text, ``style='plain'`` (sympy's str) or ``'latex'``: the same lines in
    both styles (the same headings, the definitions of the product forms' symbols, the same
    quantities in the same order), each formula rendered in the style."""
    if not isinstance(style, str) or style not in ("plain", "latex"):
        raise InputError(f"style must be 'plain' or 'latex', got {style!r}")
    f = derive_all(N)
    pf = f.products
    latex = style == "latex"
    # (plain name, latex name, expression) of every formula, in the order printed
    products = [("J", "J", pf.accuracy), ("1 - lambda_n'", r"1 - \lambda_n'", pf.one_minus_update),
                ("flawed share", r"\text{flawed share}", pf.flawed_share)]
    per_step = [("J", "J", f.accuracy)]
    per_step += [(f"lambda_{n + 1}'", rf"\lambda_{{{n + 1}}}'", u) for n, u in enumerate(f.update)]
    per_step.append(("flawed share", r"\text{flawed share}", f.flawed_share))
    per_step += [(f"Pr(k={k} wrong | r=1)", rf"\Pr(k={k} \text{{ wrong}} \mid r=1)", d)
                 for k, d in enumerate(f.flawed_distribution)]

    def line(row) -> str:
        plain, tex, expr = row
        return f"$$ {tex} = {sp.latex(expr)} $$" if latex else f"  {plain} = {expr}"

    lines = ["Symmetric family, identity ground truth (WLOG), uniform questions.", ""]
    lines.append(f"In terms of the products ({_PRODUCT_DEFINITIONS[style]}):")
    lines += [line(r) for r in products]
    lines += ["", f"Per step, N = {N}:"]
    lines += [line(r) for r in per_step]
    return "\n".join(lines)

r"""What the theory says about the STaR variants in the symmetric family (convention ``lam``).

Write :math:`U(\lambda)` for the exact STaR update of the family (:func:`star_theory.symmetric_star_update`)
and :math:`J(\lambda) = (1 + (M-1)\Lambda)/M`. Each variant keeps the policy in the family, and its
exact form has a closed form built on :math:`U`:

**Partial fit** (``eta``). Mixing kernels is affine in ``lam``, so
:math:`\lambda' = (1-\eta)\lambda + \eta\,U(\lambda)`. Improvement holds for every
:math:`\eta \in (0, 1]` (each step moves towards :math:`U(\lambda) \ge \lambda` when all
:math:`\lambda_n \ge 0`). Near the optimum :math:`1 - \lambda'_n \approx (1-\eta)(1-\lambda_n)`
(:math:`U` is quadratic there), so convergence is linear with rate :math:`1 - \eta`.

**Noisy verifier** (``fp``, ``fn``). The acceptance probability of a chain is
:math:`a = fp + c\,[r = 1]` with :math:`c = 1 - fn - fp`. The kept mass is
:math:`fp\,\bar M_n + c\,W_n`, where :math:`\bar M_n(s, s') = \Pr(s_{n-1}=s, s_n=s')` is the
unfiltered transition mass (:math:`= P_n(s,s')/M` in the family: every level's marginal is
uniform) and :math:`W_n` the STaR kept mass (row sums :math:`J/M`). So each refit row is
:math:`(fp\,P_n + cJ\,U\text{-row})/(fp + cJ)`:

.. math::  \lambda' = (1 - w)\lambda + w\,U(\lambda), \qquad w = \frac{cJ}{fp + cJ}.

The denominator :math:`fp + cJ = fp(1-J) + (1-fn)J` is positive, so :math:`\mathrm{sign}\,w =
\mathrm{sign}\,c`: **the noisy verifier improves iff** :math:`fp < 1 - fn`, leaves the policy
unchanged on the line :math:`fp = 1 - fn`, and makes it worse above the line (every ``lam``
moves away from :math:`U(\lambda)`). Near the optimum :math:`1 - w \to fp/(1 - fn)`: linear
convergence with that rate (quadratic only when ``fp = 0``). Beyond the family the same holds on
every tabular task: the noisy step is an EM step for the acceptance probability
:math:`fp + cJ(P)`, which is increasing in ``J`` iff ``c > 0``.

**Temperature** (``T``). Tempering a row of the family keeps all wrong entries equal; with
:math:`p = \lambda + (1-\lambda)/M`, :math:`q = (1-\lambda)/M` and :math:`r = (q/p)^{1/T}`,

.. math::  \lambda_T = \frac{1 - r}{1 + (M-1) r}, \qquad \lambda' = U(\lambda_T).

For :math:`T < 1`, :math:`\lambda_T \ge \lambda` and improvement holds; for :math:`T > 1` the
sampling flattens the policy (:math:`\lambda_T < \lambda`) and the refit can land below where it
started: improvement fails where :math:`U(\lambda_T) < \lambda`.

**Rationalize** (``R``). Its exact form re-weights question :math:`s_0` by
:math:`1 + (R/K)(1 - J(s_0))^K / J(s_0)`; in the family every question has the same :math:`J`, so
the re-weighting is uniform and the exact form *is* :math:`U`. Its effect is a finite-sample one:
a question whose ``K`` samples all fail (probability :math:`(1-J)^K`) still contributes ``R``
chains, so the expected number of rationales per iteration is :math:`R\,|S_0|\,(1 - J)^K`.

These functions are the derivations above, vectorised over a leading batch axis of ``lam`` (shape
``(..., N)``).
"""

from __future__ import annotations

import numpy as np

from .closed_form import symmetric_accuracy, symmetric_star_update


def noisy_weight(M: int, lam, fp: float, fn: float) -> np.ndarray:
    """:math:`w = cJ/(fp + cJ)`, ``c = 1 - fn - fp``: the noisy verifier's step towards ``U(lam)``."""
    J = symmetric_accuracy(M, lam=lam)
    c = 1.0 - fn - fp
    return c * J / (fp + c * J)


def noisy_update(M: int, lam, fp: float, fn: float) -> np.ndarray:
    """One exact noisy-verifier iteration in the family: :math:`(1-w)\\lambda + w\\,U(\\lambda)`."""
    lam = np.asarray(lam, dtype=float)
    w = np.asarray(noisy_weight(M, lam, fp, fn))[..., None]
    return (1.0 - w) * lam + w * symmetric_star_update(M, lam=lam)


def partial_fit_update(M: int, lam, eta: float) -> np.ndarray:
    """One exact partial-fit iteration: :math:`(1-\\eta)\\lambda + \\eta\\,U(\\lambda)`."""
    lam = np.asarray(lam, dtype=float)
    return (1.0 - eta) * lam + eta * symmetric_star_update(M, lam=lam)


def tempered_lam(M: int, lam, temperature: float) -> np.ndarray:
    """``lam`` of the tempered kernel :math:`P^{1/T}` (renormalised): :math:`(1-r)/(1+(M-1)r)`, :math:`r=(q/p)^{1/T}`."""
    lam = np.asarray(lam, dtype=float)
    p = lam + (1.0 - lam) / M
    q = (1.0 - lam) / M
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = np.exp((np.log(q) - np.log(p)) / temperature)  # q = 0 (lam = 1): r = 0, lam_T = 1
        lam_T = np.where(np.isinf(r), -1.0 / (M - 1), (1.0 - r) / (1.0 + (M - 1) * r))  # r = inf: all mass off the correct step
    return np.where(p > 0, lam_T, -1.0 / (M - 1))  # p = 0: the correct step has no mass to temper


def temperature_update(M: int, lam, temperature) -> np.ndarray:
    """One exact tempered iteration: :math:`U(\\lambda_T)` (``temperature`` broadcasts against ``lam.shape[:-1]``)."""
    T = np.asarray(temperature, dtype=float)[..., None]
    return symmetric_star_update(M, lam=tempered_lam(M, lam, T))


def trajectory(update, lam0, iterations: int) -> np.ndarray:
    """``lam`` over ``iterations`` applications of ``update(lam)``; shape ``(T+1, ..., N)``."""
    out = [np.asarray(lam0, dtype=float)]
    for _ in range(iterations):
        out.append(update(out[-1]))
    return np.stack(out)


def expected_rationales(M: int, J: float, K: int, R: int) -> float:
    """Expected rationales in one iteration of the family: :math:`R\\,M\\,(1-J)^K` (``M`` questions)."""
    return float(R * M * np.exp(K * np.log1p(-J)))


def rationales_sd(M: int, J: float, K: int, R: int) -> float:
    """Standard deviation of that count: ``R`` times a Binomial(``M``, :math:`(1-J)^K`) (questions fail independently)."""
    f = float(np.exp(K * np.log1p(-J)))
    return float(R * np.sqrt(M * f * (1.0 - f)))

r"""Closed forms of the symmetric family, numerically: vectorised and stable.

The formulas are those derived symbolically in :mod:`star_theory.derive` (the tests check the
two against each other and against the exact operator on explicit matrices). With
:math:`\Lambda = \prod_k \lambda_k`, :math:`\Lambda_{-n} = \prod_{k \ne n} \lambda_k` and
:math:`p_n = \lambda_n + (1 - \lambda_n)/M` (probability of the correct step):

.. math::

    J = \Lambda + \frac{1 - \Lambda}{M} = \frac{1 + (M-1)\Lambda}{M},

    1 - \lambda_n' = \frac{(1 - \lambda_n)(1 - \Lambda_{-n})}{1 + (M-1)\Lambda},
    \qquad \lambda_n' = \frac{\lambda_n + \Lambda_{-n}\,(1 + (M-2)\lambda_n)}{1 + (M-1)\Lambda},

    \text{flawed share} = 1 - \frac{\prod_n p_n}{J}.

When :math:`J = 0` (only possible at :math:`\Lambda = -1/(M-1)`) no chain is kept and, by the
unvisited-row rule of :mod:`star_theory.exact`, the policy is unchanged.

Inputs. Every function checks its arguments with :func:`star_theory.family_params.family_params`.

Conventions. Every function takes the per-step parameter by name, ``lam=`` (mixture weight) or
``eps=`` (excess probability, :math:`\varepsilon = \lambda (M-1)/M`), and returns per-step
parameters in the convention it was given.

Shapes. ``lam`` (or ``eps``) has shape ``(..., N)`` (a scalar means ``N = 1``); ``M`` is an integer
or an integer array broadcastable to ``lam.shape[:-1]``. Per-policy results have shape ``(...)``,
per-step results ``(..., N)``.

Stability. ``1 - lam`` is carried next to ``lam`` (both exact for a float input), products are
taken in log space from prefix and suffix cumulative sums (never dividing by ``lam_n``, which
may be 0; signs are tracked separately), :math:`1 - \Lambda` comes from ``expm1`` and
:math:`\log(1 - x)` from ``log1p``. Accurate for ``N`` up to ``10^4``, ``M`` up to ``10^9`` and
``lam`` within ``1e-12`` of 0 or 1 (see ``tests/test_closed_form.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .errors import InputError
from .family_params import family_params, in_convention
from .sizes import check_memory, trajectory_bytes
from .validation import MAX_ITERATIONS, as_float_array, validate_target


# ----------------------------------------------------------------------------- log-space products


def _before(x: np.ndarray, scan=np.cumsum, start=0) -> np.ndarray:
    """Exclusive prefix scan over the last axis: entry ``n`` combines ``x[..., :n]`` (``start`` if none)."""
    pad = np.full(x.shape[:-1] + (1,), start, dtype=x.dtype)
    return np.concatenate([pad, scan(x, axis=-1)[..., :-1]], axis=-1)


def _after(x: np.ndarray, scan=np.cumsum, start=0) -> np.ndarray:
    """Exclusive suffix scan over the last axis: entry ``n`` combines ``x[..., n+1:]`` (``start`` if none)."""
    pad = np.full(x.shape[:-1] + (1,), start, dtype=x.dtype)
    return np.concatenate([scan(x[..., ::-1], axis=-1)[..., ::-1][..., 1:], pad], axis=-1)


def _sign(negatives) -> np.ndarray:
    """-1.0 for an odd number of negative factors, 1.0 otherwise."""
    return np.where(negatives % 2 == 1, -1.0, 1.0)


def _log_abs(lam: np.ndarray, gap: np.ndarray) -> np.ndarray:
    """``log|lam|`` (``-inf`` at 0), from ``log1p(-gap)`` near 1."""
    with np.errstate(divide="ignore"):
        return np.where(gap < 0.5, np.log1p(-np.minimum(gap, 0.5)), np.log(np.abs(lam)))


def _signed_products(lam, gap):
    r"""(log|Lambda|, sign Lambda) of shape (...) and (log|Lambda_-n|, sign Lambda_-n) of shape (..., N)."""
    la = _log_abs(lam, gap)
    neg = (lam < 0).astype(np.int64)
    # exclusive prefix and suffix sums: sum_{k<n} and sum_{k>n}
    log_minus = _before(la) + _after(la)
    sign_minus = _sign(_before(neg) + _after(neg))
    return np.sum(la, axis=-1), _sign(np.sum(neg, axis=-1)), log_minus, sign_minus


def other_steps_product(lam: ArrayLike) -> np.ndarray:
    r""":math:`\Lambda_{-n} = \prod_{k \ne n} \lambda_k` for every step ``n``; shape ``(..., N)`` like ``lam``.

    The factor by which step ``n``'s update scales (``lam_n' < lam_n`` iff :math:`\Lambda_{-n} < 0`
    inside the family's range); exclusive prefix and suffix products, so zeros need no division.
    """
    lam = as_float_array(lam, "lam")
    if lam.ndim == 0 or lam.shape[-1] == 0:
        raise InputError(f"lam must hold at least one step, got shape {lam.shape}")
    return _before(lam, np.cumprod, 1) * _after(lam, np.cumprod, 1)


def _value(log, sign):
    return sign * np.exp(log)


def _one_minus(log, sign):
    """``1 - sign * exp(log)`` without cancellation for values near 1."""
    return np.where(sign > 0, -np.expm1(log), 1.0 + np.exp(log))


def _accuracy_parts(lam, gap, M):
    """(J, 1 - J, log J) of shape (...)."""
    log_L, sign_L, _, _ = _signed_products(lam, gap)
    m = M[..., 0]
    L = _value(log_L, sign_L)
    one_minus_L = _one_minus(log_L, sign_L)
    J = (1.0 + (m - 1.0) * L) / m
    err = (m - 1.0) / m * one_minus_L
    J = np.clip(J, 0.0, 1.0)
    err = np.clip(err, 0.0, 1.0)
    with np.errstate(divide="ignore"):
        logJ = np.where(err < 0.5, np.log1p(-np.minimum(err, 0.5)), np.log(J))
    return J, err, logJ


def _update(lam, gap, M):
    """One exact STaR iteration in (lam, 1 - lam) form; rows unchanged where J = 0."""
    log_L, sign_L, log_m, sign_m = _signed_products(lam, gap)
    L = _value(log_L, sign_L)[..., None]
    Lm = _value(log_m, sign_m)
    one_minus_Lm = _one_minus(log_m, sign_m)
    MJ = 1.0 + (M - 1.0) * L  # M * J >= 0
    # J = 0 up to the round-off of this sum (e.g. lam = -1/(M-1), which no float holds exactly)
    alive = MJ > 8.0 * np.finfo(float).eps * (1.0 + (M - 1.0) * np.abs(L))
    safe = np.where(alive, MJ, 1.0)
    new_gap = gap * one_minus_Lm / safe
    new_lam_direct = (lam + Lm * (1.0 + (M - 2.0) * lam)) / safe
    new_lam = np.where(new_gap < 0.5, 1.0 - new_gap, new_lam_direct)
    new_gap = np.where(new_gap < 0.5, new_gap, 1.0 - new_lam_direct)
    lo = -1.0 / (M - 1.0)
    new_lam = np.where(alive, np.clip(new_lam, lo, 1.0), lam)
    new_gap = np.where(alive, np.clip(new_gap, 0.0, 1.0 - lo), gap)
    return new_lam, new_gap


# ----------------------------------------------------------------------------- public functions


def symmetric_accuracy(M: ArrayLike, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> np.ndarray:
    r"""Accuracy :math:`J = \Lambda + (1 - \Lambda)/M`, shape ``(...)``."""
    p = family_params(M, lam, eps)
    return _accuracy_parts(p.lam, p.gap, p.M)[0]


def symmetric_error_rate(M: ArrayLike, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> np.ndarray:
    r""":math:`1 - J = (1 - \Lambda)(M-1)/M`, accurate when ``J`` is close to 1; shape ``(...)``."""
    p = family_params(M, lam, eps)
    return _accuracy_parts(p.lam, p.gap, p.M)[1]


def symmetric_star_update(M: ArrayLike, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> np.ndarray:
    r"""One exact STaR iteration, :math:`1 - \lambda_n' = (1-\lambda_n)(1-\Lambda_{-n})/(1+(M-1)\Lambda)`.

    Returns the new per-step parameters, shape ``(..., N)``, in the convention given (``lam`` or
    ``eps``). Where :math:`J = 0` the parameters are returned unchanged (unvisited-row rule).
    """
    p = family_params(M, lam, eps)
    new_lam, _ = _update(p.lam, p.gap, p.M)
    return in_convention(new_lam, p.M, p.convention)


def symmetric_flawed_share(M: ArrayLike, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> np.ndarray:
    r"""Share of kept chains with a wrong intermediate state, :math:`1 - \prod_n p_n / J`; shape ``(...)``.

    NaN where :math:`J = 0`.
    """
    p = family_params(M, lam, eps)
    return _flawed_share(p.lam, p.gap, p.M)


def _log_step_correct(lam, gap, M):
    r""":math:`\log p_n`, :math:`p_n = 1 - (1-\lambda_n)(M-1)/M = (1 + (M-1)\lambda_n)/M`."""
    x = gap * (M - 1.0) / M
    with np.errstate(divide="ignore", invalid="ignore"):
        direct = np.log(np.clip((1.0 + (M - 1.0) * lam) / M, 0.0, None))
    return np.where(x < 0.5, np.log1p(-np.minimum(x, 0.5)), direct)


def _chain_probabilities(lam, gap, M):
    r"""Per-step transition probabilities of the on/off-track chain (all in [0, 1], no cancellation).

    ``stay_on`` :math:`p_n`, ``leave`` :math:`1 - p_n = (1-\lambda_n)(M-1)/M`,
    ``back`` :math:`(1-\lambda_n)/M`, ``stay_off`` :math:`1 - (1-\lambda_n)/M`.
    """
    stay_on = np.exp(_log_step_correct(lam, gap, M))
    leave = gap * (M - 1.0) / M
    back = gap / M
    return stay_on, leave, back, 1.0 - back


def _ordered_product(T: np.ndarray) -> np.ndarray:
    """``T[..., 0, :, :] @ T[..., 1, :, :] @ ...`` over axis -3 (the identity for none), by pairwise rounds."""
    if T.shape[-3] == 0:
        return np.broadcast_to(np.eye(T.shape[-1]), T.shape[:-3] + T.shape[-2:]).copy()
    while T.shape[-3] > 1:
        if T.shape[-3] % 2:
            T = np.concatenate([T, np.broadcast_to(np.eye(T.shape[-1]), T.shape[:-3] + (1,) + T.shape[-2:])], axis=-3)
        T = T[..., 0::2, :, :] @ T[..., 1::2, :, :]
    return T[..., 0, :, :]


def _flawed_share(lam, gap, M):
    r""":math:`1 - \prod_n p_n / J`, as flawed mass / (flawed + clean mass).

    The masses come from the forward pass over (clean on track, on track after a wrong state, off
    track) with non-negative terms only, so the share keeps its relative accuracy even when it is
    many orders of magnitude below ``1 - J`` (``lam`` near 1, large ``N``). The pass is the product
    of the ``N - 1`` row-stochastic 3x3 transfer matrices of the intermediate levels, multiplied
    pairwise in ``log2 N`` vectorised rounds (no Python loop over ``N``).
    """
    stay_on, leave, back, stay_off = _chain_probabilities(lam, gap, M)
    N = lam.shape[-1]
    T = np.zeros(lam.shape[:-1] + (N - 1, 3, 3))  # rows and columns: clean, dirty, off
    T[..., 0, 0] = stay_on[..., : N - 1]
    T[..., 0, 2] = leave[..., : N - 1]
    T[..., 1, 1] = stay_on[..., : N - 1]
    T[..., 1, 2] = leave[..., : N - 1]
    T[..., 2, 1] = back[..., : N - 1]
    T[..., 2, 2] = stay_off[..., : N - 1]
    start = _ordered_product(T)[..., 0, :]  # from clean on track at level 0; (..., 3)
    clean, dirty, off = start[..., 0], start[..., 1], start[..., 2]
    flawed = dirty * stay_on[..., N - 1] + off * back[..., N - 1]
    total = flawed + clean * stay_on[..., N - 1]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = flawed / np.where(total > 0, total, 1.0)
    return np.where(total > 0, np.clip(share, 0.0, 1.0), np.nan)


def symmetric_flawed_distribution(M: ArrayLike, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> np.ndarray:
    r"""``d[..., k] = Pr(k wrong intermediate states | r = 1)``, ``k = 0..N-1``; shape ``(..., N)``.

    Forward pass of the on/off-track chain of :mod:`star_theory.derive`: from on track the next
    state is correct with probability :math:`p_n`, from off track with :math:`(1-\lambda_n)/M`.
    ``O(N^2)`` work. NaN where :math:`J = 0`.
    """
    p = family_params(M, lam, eps)
    lamv, gap, Mb = p.lam, p.gap, p.M
    N = lamv.shape[-1]
    stay_on, leave, back, stay_off = _chain_probabilities(lamv, gap, Mb)
    batch = lamv.shape[:-1]
    on = np.zeros(batch + (N,))
    off = np.zeros(batch + (N,))
    on[..., 0] = 1.0
    for n in range(N - 1):  # levels 1..N-1 are intermediate
        s_on, s_leave = stay_on[..., n, None], leave[..., n, None]
        s_back, s_off = back[..., n, None], stay_off[..., n, None]
        new_on = on * s_on + off * s_back
        new_off = np.zeros_like(off)
        new_off[..., 1:] = (on * s_leave + off * s_off)[..., :-1]
        on, off = new_on, new_off
    final = on * stay_on[..., N - 1, None] + off * back[..., N - 1, None]
    total = final.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, final / np.where(total > 0, total, 1.0), np.nan)


def symmetric_step_correctness(M: ArrayLike, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""``(p, p_kept)``: :math:`\Pr(s_n = s_n^*)` and :math:`\Pr(s_n = s_n^* \mid r = 1)`, shapes ``(..., N)``.

    :math:`\Pr(s_n = s_n^*) = (1 + (M-1)\Lambda_{\le n})/M` and
    :math:`\Pr(s_n = s_n^*, r = 1) = \Pr(s_n = s_n^*)\,(1 + (M-1)\Lambda_{> n})/M`.
    ``p_kept`` is NaN where :math:`J = 0`.
    """
    pr = family_params(M, lam, eps)
    la = _log_abs(pr.lam, pr.gap)
    neg = (pr.lam < 0).astype(np.int64)
    m = pr.M
    on = np.clip((1.0 + (m - 1.0) * _value(np.cumsum(la, axis=-1), _sign(np.cumsum(neg, axis=-1)))) / m, 0.0, 1.0)
    success_after = np.clip((1.0 + (m - 1.0) * _value(_after(la), _sign(_after(neg)))) / m, 0.0, 1.0)
    J = _accuracy_parts(pr.lam, pr.gap, pr.M)[0][..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = np.where(J > 0, on * success_after / np.where(J > 0, J, 1.0), np.nan)
    return on, np.clip(kept, 0.0, 1.0)


@dataclass(frozen=True)
class SymmetricTrajectory:
    """Closed-form STaR trajectory over ``T`` iterations (iteration is the first axis).

    ``lam``, ``eps``, ``gap`` (:math:`1 - \\lambda`, accurate near 1): shape ``(T+1, ..., N)``;
    ``accuracy``, ``error_rate`` (:math:`1 - J`), ``flawed_share``: shape ``(T+1, ...)``.
    ``convention`` is the one the parameters were given in.
    """

    M: np.ndarray
    convention: str
    lam: np.ndarray
    eps: np.ndarray
    gap: np.ndarray
    accuracy: np.ndarray
    error_rate: np.ndarray
    flawed_share: np.ndarray

    @property
    def iterations(self) -> int:
        return self.lam.shape[0] - 1

    def params(self) -> np.ndarray:
        """Per-step parameters in the convention they were given in."""
        return self.lam if self.convention == "lam" else self.eps


def _check_count(value, name: str) -> int:
    """An iteration count: a non-negative integer (not a float, not a bool) up to ``MAX_ITERATIONS``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{name} must be a non-negative integer, got {value!r}")
    if value > MAX_ITERATIONS:
        raise InputError(f"{name} must be <= {MAX_ITERATIONS} (star_theory.validation.MAX_ITERATIONS), "
                         f"got {value if int(value).bit_length() < 64 else 'an integer of %d digits' % len(str(value))}")
    return int(value)


def symmetric_trajectory(M: ArrayLike, iterations: int, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> SymmetricTrajectory:
    """``iterations`` exact STaR iterations from ``lam`` (or ``eps``) by the closed form."""
    iterations = _check_count(iterations, "iterations")
    p = family_params(M, lam, eps)
    check_memory(trajectory_bytes(p.lam.shape[-1], iterations, int(np.prod(p.lam.shape[:-1]))),
                 f"a closed-form trajectory of {iterations} iterations")
    lams, gaps = [p.lam], [p.gap]
    for _ in range(int(iterations)):
        l, g = _update(lams[-1], gaps[-1], p.M)
        lams.append(l)
        gaps.append(g)
    acc, err, share = [], [], []
    for l, g in zip(lams, gaps):
        J, e, _ = _accuracy_parts(l, g, p.M)
        acc.append(J)
        err.append(e)
        share.append(_flawed_share(l, g, p.M))
    lam_arr = np.stack(lams)
    m = p.M[..., 0] if p.M.ndim > 1 else p.M
    return SymmetricTrajectory(
        M=m,
        convention=p.convention,
        lam=lam_arr,
        eps=lam_arr * ((p.M - 1.0) / p.M),
        gap=np.stack(gaps),
        accuracy=np.stack(acc),
        error_rate=np.stack(err),
        flawed_share=np.stack(share),
    )


def iterations_to_accuracy(M: ArrayLike, target: float, *, lam: ArrayLike | None = None, eps: ArrayLike | None = None, max_iterations: int = 1000) -> np.ndarray:
    """Fewest exact STaR iterations ``t`` with :math:`J(P^t) \\ge` ``target``; shape ``(...)``.

    Returns a float array: integers where the target is reached within ``max_iterations``,
    ``inf`` elsewhere (0 when the initial policy already reaches it).
    """
    target = validate_target(target)
    max_iterations = _check_count(max_iterations, "max_iterations")
    p = family_params(M, lam, eps)
    l, g = p.lam, p.gap
    out = np.full(l.shape[:-1], np.inf)
    for t in range(int(max_iterations) + 1):
        err = _accuracy_parts(l, g, p.M)[1]
        reached = (err <= 1.0 - target) & np.isinf(out)
        out = np.where(reached, float(t), out)
        if not np.any(np.isinf(out)) or t == max_iterations:
            break
        l, g = _update(l, g, p.M)
    return out

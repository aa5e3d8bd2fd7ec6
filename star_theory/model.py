r"""The reasoning-chain model: tasks, tabular policies, the symmetric family, lam/eps.

Notation (see ``docs/theory.md``): levels :math:`S_0, \dots, S_N`, ground-truth steps
:math:`g_n: S_{n-1} \to S_n`, question distribution :math:`\rho` on :math:`S_0`, and a policy
:math:`P = (P_1, \dots, P_N)` of row-stochastic kernels, ``P_n[s, s'] = P_n(s' | s)``.

In code, steps are indexed from 0: ``task.maps[n]`` is :math:`g_{n+1}` and
``policy.kernels[n]`` is :math:`P_{n+1}`, of shape ``(|S_n|, |S_{n+1}|)``.

Conventions for the symmetric family (every level has ``M`` states, every step a bijection):

* ``lam`` (mixture weight): :math:`P_n = \lambda_n P_n^* + (1 - \lambda_n) U_M`, so the
  correct step has probability :math:`\lambda_n + (1 - \lambda_n)/M`;
  :math:`\lambda_n \in [-1/(M-1), 1]`.
* ``eps`` (excess probability): :math:`P(\text{correct}) = 1/M + \varepsilon_n`, so
  :math:`\varepsilon_n = \lambda_n (M-1)/M`; :math:`\varepsilon_n \in [-1/M, (M-1)/M]`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike

from .errors import InputError
from .validation import MAX_STATES, MAX_STEPS, as_float_array, as_int, check_range

ROW_SUM_ATOL = 1e-9
"""Tolerance on row sums (and on negative entries) of a stochastic kernel."""

MAX_KERNEL_ENTRIES = 1 << 30
"""Most entries the explicit kernels of one policy may hold together (8 GiB of float64)."""

CONVENTIONS = ("lam", "eps")


# ----------------------------------------------------------------------------- argument checks and conventions


def _step_list(values, not_a_sequence: str, empty: str) -> list:
    """``values`` (one entry per step) as a non-empty list; InputError with the given texts otherwise."""
    try:
        values = list(values)
    except TypeError:
        raise InputError(f"{not_a_sequence}, got {values!r}") from None
    if len(values) < 1:
        raise InputError(empty)
    return values


def check_task(task, name: str = "task") -> None:
    """InputError unless ``task`` is a :class:`ReasoningTask` (names the argument)."""
    if not isinstance(task, ReasoningTask):
        raise InputError(f"{name} must be a ReasoningTask, got {type(task).__name__}")


def check_policy(policy, name: str = "policy") -> None:
    """InputError unless ``policy`` is a :class:`TabularPolicy` (names the argument)."""
    if not isinstance(policy, TabularPolicy):
        raise InputError(f"{name} must be a TabularPolicy, got {type(policy).__name__}")


def check_pair(policy, task) -> None:
    """InputError unless ``policy`` is a :class:`TabularPolicy` and ``task`` a :class:`ReasoningTask`
    with the same level sizes (checked in that order)."""
    check_policy(policy)
    check_task(task)
    policy.check_compatible(task)


def lam_bounds(M: int) -> tuple[float, float]:
    """The admissible range of ``lam`` for ``M`` states per level: ``[-1/(M-1), 1]``."""
    M = as_int(M, "M (states per level)", 2, MAX_STATES)
    return -1.0 / (M - 1), 1.0


def eps_bounds(M: int) -> tuple[float, float]:
    """The admissible range of ``eps`` for ``M`` states per level: ``[-1/M, (M-1)/M]``."""
    M = as_int(M, "M (states per level)", 2, MAX_STATES)
    return -1.0 / M, (M - 1) / M


def validate_lam(lam: ArrayLike, M: int) -> np.ndarray:
    """Return ``lam`` as a float array after checking it lies in ``[-1/(M-1), 1]``."""
    lo, hi = lam_bounds(M)
    arr = as_float_array(lam, "lam")
    check_range(arr, lo, hi, "lam")
    return np.clip(arr, lo, hi)


def validate_eps(eps: ArrayLike, M: int) -> np.ndarray:
    """Return ``eps`` as a float array after checking it lies in ``[-1/M, (M-1)/M]``."""
    lo, hi = eps_bounds(M)
    arr = as_float_array(eps, "eps")
    check_range(arr, lo, hi, "eps")
    return np.clip(arr, lo, hi)


def lam_to_eps(lam: ArrayLike, M: int) -> np.ndarray:
    r"""Excess probability of the correct step: :math:`\varepsilon = \lambda (M-1)/M`."""
    lam = validate_lam(lam, M)
    return lam * ((M - 1) / M)


def eps_to_lam(eps: ArrayLike, M: int) -> np.ndarray:
    r"""Mixture weight from excess probability: :math:`\lambda = \varepsilon M/(M-1)`."""
    eps = validate_eps(eps, M)
    return eps * (M / (M - 1))


def resolve_lam(M: int, N: int, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> np.ndarray:
    """Per-step ``lam`` (shape ``(N,)``) from exactly one of ``lam`` or ``eps``.

    A scalar or a length-1 sequence means the same value for every step.
    """
    N = as_int(N, "N (steps)", 1, MAX_STEPS)
    M = as_int(M, "M (states per level)", 2, MAX_STATES)
    if (lam is None) == (eps is None):
        raise InputError("give exactly one of lam or eps")
    values = validate_lam(lam, M) if lam is not None else eps_to_lam(eps, M)  # type: ignore[arg-type]  # one is given
    values = np.atleast_1d(values).astype(float)
    if values.ndim != 1:
        raise InputError(f"lam/eps must be a scalar or a 1-d sequence, got shape {values.shape}")
    if values.size == 1:
        values = np.full(N, values[0])
    if values.size != N:
        raise InputError(f"lam/eps has {values.size} values but N={N} steps (give 1 or N)")
    return values


# ----------------------------------------------------------------------------- task


class ReasoningTask:
    r"""Ground truth of a reasoning task: deterministic steps :math:`g_n` and questions :math:`\rho`.

    Parameters
    ----------
    maps:
        ``maps[n]`` is an integer array of length ``|S_n|``: ``maps[n][s]`` is
        :math:`g_{n+1}(s) \in S_{n+1}`. There are ``N = len(maps)`` steps. Level sizes may differ
        and maps need not be bijections. ``|S_{n+1}| = len(maps[n+1])`` for ``n + 1 < N``.
    question_dist:
        :math:`\rho`, a probability vector over :math:`S_0` (uniform if omitted).
    final_size:
        ``|S_N|``, the number of answers; default ``max(maps[-1]) + 1``.
    """

    def __init__(self, maps: Sequence, question_dist: ArrayLike | None = None, final_size: int | None = None):
        if isinstance(maps, np.ndarray) and maps.ndim == 1:
            raise InputError("maps must be a sequence of integer arrays, one per step")
        maps = _step_list(maps, "maps must be a sequence of integer arrays", "maps must hold at least one step (N >= 1)")
        arrays = []
        for n, m in enumerate(maps):
            a = np.asarray(m)
            if a.ndim != 1 or a.size == 0:
                raise InputError(f"maps[{n}] must be a non-empty 1-d array, got shape {a.shape}")
            if not np.issubdtype(a.dtype, np.integer):
                if np.issubdtype(a.dtype, np.floating) and np.all(np.isfinite(a)) and np.all(a == np.round(a)):
                    a = a.astype(np.int64)
                else:
                    raise InputError(f"maps[{n}] must hold integers, got dtype {a.dtype}")
            arrays.append(a.astype(np.int64))
        if final_size is None:
            final_size = int(arrays[-1].max()) + 1 if arrays[-1].max() >= 0 else 1
        final_size = as_int(final_size, "final_size", 1)
        sizes = [a.size for a in arrays] + [final_size]
        for n, a in enumerate(arrays):
            bad = (a < 0) | (a >= sizes[n + 1])
            if np.any(bad):
                s = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"maps[{n}][{s}]={int(a[s])} points outside level {n + 1} of size {sizes[n + 1]}"
                )
        for a in arrays:
            a.setflags(write=False)
        self.maps: tuple[np.ndarray, ...] = tuple(arrays)
        self.sizes: tuple[int, ...] = tuple(int(x) for x in sizes)
        if question_dist is None:
            rho = np.full(sizes[0], 1.0 / sizes[0])
        else:
            rho = as_float_array(question_dist, "question_dist", ndim=1)
            if rho.size != sizes[0]:
                raise InputError(f"question_dist has length {rho.size}, level 0 has {sizes[0]} states")
            if np.any(rho < 0) or abs(rho.sum() - 1.0) > ROW_SUM_ATOL:
                raise InputError(f"question_dist must be a probability vector (sum {rho.sum()!r})")
            rho = rho / rho.sum()
        rho.setflags(write=False)
        self.question_dist: np.ndarray = rho
        chain = np.empty((sizes[0], len(arrays) + 1), dtype=np.int64)
        chain[:, 0] = np.arange(sizes[0])
        for n, a in enumerate(arrays):
            chain[:, n + 1] = a[chain[:, n]]
        chain.setflags(write=False)
        self.correct_chains: np.ndarray = chain
        """``correct_chains[s0, n]`` is :math:`s_n^*` for question ``s0`` (shape ``(|S_0|, N+1)``)."""

    @property
    def n_steps(self) -> int:
        """``N``, the number of reasoning steps."""
        return len(self.maps)

    @property
    def answers(self) -> np.ndarray:
        """Correct answer :math:`s_N^*` of every question (shape ``(|S_0|,)``)."""
        return self.correct_chains[:, -1]

    def step_matrix(self, n: int) -> np.ndarray:
        """The 0/1 matrix :math:`P^*_{n+1}` of step ``maps[n]`` (shape ``(|S_n|, |S_{n+1}|)``)."""
        m = np.zeros((self.sizes[n], self.sizes[n + 1]))
        m[np.arange(self.sizes[n]), self.maps[n]] = 1.0
        return m

    def is_bijective(self) -> bool:
        """True when every step is a bijection between levels of equal size."""
        return all(
            self.sizes[n] == self.sizes[n + 1] and np.unique(m).size == m.size
            for n, m in enumerate(self.maps)
        )

    def __repr__(self) -> str:
        return f"ReasoningTask(N={self.n_steps}, sizes={self.sizes})"


# ----------------------------------------------------------------------------- policy


class TabularPolicy:
    r"""A policy: one row-stochastic kernel per step, ``kernels[n][s, s'] = P_{n+1}(s' | s)``."""

    def __init__(self, kernels: Sequence):
        kernels = _step_list(kernels, "kernels must be a sequence of 2-d arrays", "kernels must hold at least one step")
        out: list[np.ndarray] = []
        for n, k in enumerate(kernels):
            k = as_float_array(k, f"kernels[{n}]")
            if k.ndim != 2 or 0 in k.shape:
                raise InputError(f"kernels[{n}] must be a non-empty 2-d array, got shape {k.shape}")
            if np.any(k < -ROW_SUM_ATOL):
                r, c = np.argwhere(k < -ROW_SUM_ATOL)[0]
                raise InputError(f"kernels[{n}][{r}, {c}]={float(k[r, c])!r} is negative")
            sums = k.sum(axis=1)
            bad = np.abs(sums - 1.0) > ROW_SUM_ATOL * max(1, k.shape[1])
            if np.any(bad):
                r = int(np.flatnonzero(bad)[0])
                raise InputError(f"kernels[{n}] row {r} sums to {sums[r]!r}, not 1 (not stochastic)")
            if n > 0 and k.shape[0] != out[-1].shape[1]:
                raise InputError(
                    f"kernels[{n}] has {k.shape[0]} rows but kernels[{n - 1}] has {out[-1].shape[1]} columns"
                )
            k = np.clip(k, 0.0, None)
            k = k / k.sum(axis=1, keepdims=True)
            k.setflags(write=False)
            out.append(k)
        self.kernels: tuple[np.ndarray, ...] = tuple(out)

    @property
    def n_steps(self) -> int:
        return len(self.kernels)

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple([self.kernels[0].shape[0]] + [k.shape[1] for k in self.kernels])

    def check_compatible(self, task: ReasoningTask) -> None:
        """Raise :class:`InputError` unless the kernel shapes match the task's levels."""
        check_task(task)
        if self.sizes != task.sizes:
            raise InputError(f"policy level sizes {self.sizes} do not match task level sizes {task.sizes}")

    def __repr__(self) -> str:
        return f"TabularPolicy(N={self.n_steps}, sizes={self.sizes})"


# ----------------------------------------------------------------------------- symmetric family


def symmetric_task(M: int, N: int, seed: int | None = None) -> ReasoningTask:
    """A task of the symmetric family: ``N`` bijective steps on levels of ``M`` states.

    With ``seed=None`` every step is the identity; otherwise each step is a uniformly random
    permutation drawn from ``numpy.random.default_rng(seed)``. All results of the analysis are
    invariant under this choice (relabel the states of each level).
    """
    M = as_int(M, "M (states per level)", 2, MAX_STATES)
    N = as_int(N, "N (steps)", 1, MAX_STEPS)
    if M * (N + 1) > MAX_KERNEL_ENTRIES:
        raise InputError(f"M={M} states on N={N} steps give {M * (N + 1)} states in all, above the "
                         f"{MAX_KERNEL_ENTRIES} a task may hold")
    if seed is None:
        maps = [np.arange(M) for _ in range(N)]
    else:
        rng = np.random.default_rng(as_int(seed, "seed", 0))
        maps = [rng.permutation(M) for _ in range(N)]
    return ReasoningTask(maps)


def symmetric_policy(task: ReasoningTask, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> TabularPolicy:
    r""":math:`P_n = \lambda_n P_n^* + (1 - \lambda_n) U_M` for a bijective task (``lam`` or ``eps``)."""
    check_task(task)
    if not task.is_bijective():
        raise InputError("the symmetric family needs a task whose steps are bijections")
    return mixture_policy(task, lam=lam, eps=eps)


def mixture_policy(task: ReasoningTask, lam: ArrayLike | None = None, eps: ArrayLike | None = None) -> TabularPolicy:
    r""":math:`P_n = \lambda_n P_n^* + (1 - \lambda_n) U_{|S_n|}` on any task.

    On a bijective task this is the symmetric family. On other tasks (levels of different sizes,
    non-bijective steps) it is the natural "pretrained" policy outside the family; ``lam_n`` is
    then checked against the bound of the level it maps into, ``[-1/(|S_n|-1), 1]``, and ``eps``
    converts with that level's size. At the lower bound the correct step gets probability 0
    exactly (the formula would leave a round-off residue of order 1e-17).
    """
    check_task(task)
    N = task.n_steps
    entries = sum(task.sizes[n] * task.sizes[n + 1] for n in range(N))
    if entries > MAX_KERNEL_ENTRIES:
        raise InputError(
            f"level sizes {list(task.sizes)} need {entries} kernel entries (limit 2^30); use the closed forms for large M"
        )
    kernels = []
    lam_given = None if lam is None else np.atleast_1d(np.asarray(lam, dtype=object))
    eps_given = None if eps is None else np.atleast_1d(np.asarray(eps, dtype=object))
    if (lam is None) == (eps is None):
        raise InputError("give exactly one of lam or eps")
    given = lam_given if lam_given is not None else eps_given
    assert given is not None  # exactly one of lam, eps (checked above)
    if given.size not in (1, N):
        raise InputError(f"lam/eps has {given.size} values but N={N} steps (give 1 or N)")
    for n in range(N):
        M = task.sizes[n + 1]
        if M < 2:
            raise InputError(f"level {n + 1} has a single state; a mixture needs at least 2")
        v = given[0] if given.size == 1 else given[n]
        l = resolve_lam(M, 1, lam=v if lam is not None else None, eps=v if eps is not None else None)[0]
        k = l * task.step_matrix(n) + (1.0 - l) / M
        if l <= lam_bounds(M)[0]:  # at the bound the correct step has probability 0, not round-off
            k[np.arange(task.sizes[n]), task.maps[n]] = 0.0
        kernels.append(k)
    return TabularPolicy(kernels)


@dataclass(frozen=True)
class SymmetricFit:
    """Projection of a policy onto the symmetric family, step by step.

    ``lam[n]`` minimises the Frobenius distance between ``kernels[n]`` and
    ``lam P* + (1 - lam) U``; it equals ``(M * mean_s P(g(s) | s) - 1) / (M - 1)``.
    ``distance[n]`` is the mean total-variation distance between the rows of the kernel and of its
    projection (0 when the kernel is in the family, at most 1).
    """

    lam: np.ndarray
    eps: np.ndarray
    distance: np.ndarray


def fit_symmetric(policy: TabularPolicy, task: ReasoningTask) -> SymmetricFit:
    """Fit per-step ``lam`` (and ``eps``) of a policy on a bijective task, with the misfit."""
    check_policy(policy)
    policy.check_compatible(task)
    if not task.is_bijective():
        raise InputError("fit_symmetric needs a task whose steps are bijections")
    M = task.sizes[0]
    lam, dist = [], []
    for n, k in enumerate(policy.kernels):
        p_correct = k[np.arange(M), task.maps[n]].mean()
        l = (M * p_correct - 1.0) / (M - 1)
        proj = l * task.step_matrix(n) + (1.0 - l) / M
        lam.append(l)
        dist.append(0.5 * np.abs(k - proj).sum(axis=1).mean())
    lams = np.asarray(lam)
    return SymmetricFit(lam=lams, eps=lams * (M - 1) / M, distance=np.asarray(dist))

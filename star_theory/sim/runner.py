r"""The sweep behind ``rlstar simulate``: a STaR variant run exactly and with ``K`` samples per
question over several seeds, with the finite-sample closed forms beside the simulation.

For every iteration ``t`` the result holds

* ``exact_accuracy``: :math:`J(P^t)` along the variant's exact form (the infinite-data limit);
* ``mean_accuracy``, ``band_lo``, ``band_hi``: the sampled runs' accuracy over seeds: the mean
  and a band, either the central ``level`` *percentile band* of the runs (``band="percentile"``:
  where a single run lands; the exact curve belongs inside it when ``K`` is large) or a normal
  confidence interval for the mean, mean :math:`\pm z_{(1+\text{level})/2}\,
  \mathrm{sd}/\sqrt{\#\text{seeds}}` (``band="mean-se"``);
* the closed forms of the iteration's sampling step (see :mod:`star_theory.sampling`):
  ``p_no_kept_exact`` / ``expected_kept_exact`` evaluated at the exact :math:`P^t`, and
  ``p_no_kept_closed_mean`` / ``expected_kept_closed_mean``, their mean over seeds evaluated
  at each run's own :math:`P^t` (an unbiased prediction of the observed rates), beside the
  observed ``no_kept_rate`` (fraction of seeds whose step kept no chain) and ``kept_mean``.

All randomness flows from the recorded ``seeds`` (one ``numpy.random.default_rng(seed)`` per run).

**Checkpoints and resume.** With ``checkpoint=DIR`` the sweep is cut into units, one per
(seed, iteration); after every unit the seed's state is written atomically to ``DIR``
(:mod:`star_theory.sim.checkpoint` holds the format). ``resume=True`` validates the folder,
restores each seed's policy and generator exactly and continues from its last finished unit, so
the final result is bit-identical to an uninterrupted run. A missing, foreign or corrupted folder
raises :class:`~star_theory.errors.InputError` and nothing in it is changed.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..config import check, coerce_fields, option, task_params_option, to_mapping
from ..errors import InputError
from ..exact import accuracy
from ..io import check_path
from ..model import MAX_KERNEL_ENTRIES, ReasoningTask, TabularPolicy, mixture_policy, symmetric_policy, symmetric_task
from ..outputs import claim_folder
from ..sizes import check_memory, simulate_bytes
from ..sampling import EMPTY_ROW_RULES, questions_for
from ..task_registry import SYMMETRIC, describe_task, make_task, settle_task_fields, task_level_sizes
from ..variants import (
    VARIANT_NAMES, StarVariant, VariantParameterFields, check_rule_parameters, make_variant, variant_fields,
    variant_parameters,
)
from .checkpoint import RESULT_FILE, RUN_FILE, Checkpoints, SeedState, jsonable
from .summary import first_reach, seed_band

MAX_ITERATIONS = 1_000_000
BANDS = ("percentile", "mean-se")


@dataclass(frozen=True)
@variant_fields(after="variant")
class SimulateConfig(VariantParameterFields):
    """One simulation: task, initial policy, STaR variant, samples, seeds, iterations."""

    task: str = option("symmetric", "task: 'symmetric' (M states, N bijective steps) or a registered task (zip, add, "
                       "walk, or one registered with star_theory.register_task or under the rlstar.tasks entry points)")
    task_params: dict[str, Any] = task_params_option()
    M: int = option(8, "states per level of the symmetric task (>= 2)", flag="--M")
    N: int = option(3, "reasoning steps of the symmetric task (>= 1)", flag="--N")
    task_seed: int | None = option(None, "seed of the symmetric task's random permutations (none: identity steps)")
    digits: int = option(2, "digits D of each number in a digit task (>= 1; alias of --task-param digits=D)")
    base: int = option(2, "base b of a digit task (>= 2; alias of --task-param base=B)")
    lam: tuple[float, ...] | None = option(None, "initial mixture weight lam_n (1 value or N); default 0.1 when neither lam nor eps is given")
    eps: tuple[float, ...] | None = option(None, "initial excess probability eps_n = lam_n (M-1)/M (1 value or N)")
    variant: str = option("star", "STaR update rule: star, rationalize, noisy-verifier, partial-fit, temperature, or a plug-in rule registered in this process or under the rlstar.variants entry-point group (star_theory.rules)")
    # then one field per variant parameter (star_theory.variants.PARAMETER_SPECS: rationales, fp, fn, eta, temperature)
    chains_per_question: int = option(16, "K: chains sampled per question per iteration (>= 1)", flag="--K")
    seeds: tuple[int, ...] = option([0, 1, 2, 3, 4, 5, 6, 7], "seeds of the sampled runs (one run each, >= 1 seed)")
    iterations: int = option(10, "STaR iterations T (>= 1)")
    empty_rows: str = option("keep", "rule for a kernel row with no kept data: keep (previous row), uniform, mean (of the visited rows) or smooth (add-alpha)", choices=EMPTY_ROW_RULES)
    alpha: float = option(1.0, "add-alpha smoothing constant for empty_rows=smooth (> 0)")
    band: str = option("percentile", "band over seeds: percentile (central level of the runs) or mean-se (normal CI of the mean)", choices=BANDS)
    level: float = option(0.9, "coverage level of the band, in (0, 1)")
    target: float = option(0.99, "target accuracy for 'iterations to target', in (0, 1]")

    def __post_init__(self):
        coerce_fields(self)
        settle_task_fields(self, allow_symmetric=True)
        check(self.M >= 2, f"M must be >= 2, got {self.M}")
        check(self.N >= 1, f"N must be >= 1, got {self.N}")
        check(self.task != SYMMETRIC or self.N * self.M**2 <= MAX_KERNEL_ENTRIES,
              f"M={self.M} with N={self.N} steps needs N*M^2 kernel entries (limit 2^30)")
        check(self.task_seed is None or self.task_seed >= 0, f"task_seed must be >= 0, got {self.task_seed}")
        check(self.digits >= 1, f"digits must be >= 1, got {self.digits}")
        check(self.base >= 2, f"base must be >= 2, got {self.base}")
        check(self.lam is None or self.eps is None, "give lam or eps, not both")
        check(self.chains_per_question >= 1, f"chains_per_question must be >= 1, got {self.chains_per_question}")
        check(len(self.seeds) >= 1, "seeds must list at least one seed")
        check(all(0 <= s < 2**63 for s in self.seeds), f"seeds must lie in [0, 2^63) (saved as int64), got {list(self.seeds)}")
        check(self.task_seed is None or self.task_seed < 2**63, f"task_seed must be < 2^63, got {self.task_seed}")
        check(len(set(self.seeds)) == len(self.seeds), f"seeds must be distinct, got {list(self.seeds)}")
        check(1 <= self.iterations <= MAX_ITERATIONS, f"iterations must lie in [1, {MAX_ITERATIONS}], got {self.iterations}")
        check(self.empty_rows in EMPTY_ROW_RULES, f"empty_rows must be one of {', '.join(EMPTY_ROW_RULES)}, got {self.empty_rows!r}")
        check(self.alpha > 0, f"alpha must be > 0, got {self.alpha}")
        check(self.band in BANDS, f"band must be one of {', '.join(BANDS)}, got {self.band!r}")
        check(0 < self.level < 1, f"level must lie in (0, 1), got {self.level}")
        check(0 < self.target <= 1, f"target must lie in (0, 1], got {self.target}")
        if self.lam is None and self.eps is None:
            object.__setattr__(self, "lam", (0.1,))
        check_rule_parameters(self.variant, variant_parameters(self))  # parameter checks name the key

    def memory_bytes(self) -> int:
        """Estimated peak memory (:mod:`star_theory.sizes`), from the sizes alone."""
        if self.task == SYMMETRIC:
            sizes = [self.M] * (self.N + 1)
        else:
            sizes = task_level_sizes(self.task, self.task_params)
        return simulate_bytes(sizes, self.chains_per_question, len(self.seeds), self.iterations,
                              rationales=self.rationales if self.variant == "rationalize" else 0)

    def check_memory(self) -> None:
        """Refuse a simulation whose :meth:`memory_bytes` exceed the limit (:mod:`star_theory.sizes`)."""
        R = f", rationales={self.rationales}" if self.variant == "rationalize" else ""
        check_memory(self.memory_bytes(), f"simulate with K={self.chains_per_question}{R}, {len(self.seeds)} seeds, "
                     f"{self.iterations} iterations on " + (f"{self.task} (M={self.M}, N={self.N})" if self.task == SYMMETRIC
                                                            else describe_task(self.task, self.task_params)))

    def make_variant(self) -> StarVariant:
        """The built-in update rule named by ``variant``, with the parameters that differ from their
        defaults; a plug-in rule is passed to :func:`simulate` as an object (``rule=``), which the
        command layer looks up by name (:func:`star_theory.rules.make_rule`)."""
        if self.variant not in VARIANT_NAMES:
            raise InputError(f"variant {self.variant!r} is not a built-in rule: pass its rule object, "
                             f"simulate(config, rule=star_theory.rules.get_rule({self.variant!r}))")
        return make_variant(self.variant, **variant_parameters(self))

    def make_task(self) -> tuple[ReasoningTask, str]:
        """The task and a short description of it."""
        if self.task == SYMMETRIC:
            return symmetric_task(self.M, self.N, self.task_seed), f"symmetric M={self.M} N={self.N}"
        task = make_task(self.task, self.task_params)
        return task.task, f"{describe_task(self.task, self.task_params)} (sizes {list(task.sizes)})"

    def make_policy(self, task: ReasoningTask) -> TabularPolicy:
        """The initial policy (symmetric family, or the mixture policy on a registered task)."""
        maker = symmetric_policy if self.task == SYMMETRIC else mixture_policy
        return maker(task, lam=self.lam, eps=self.eps)


def simulate(
    config: SimulateConfig, progress: bool | None = None, checkpoint: str | os.PathLike | None = None,
    resume: bool = False, overwrite: bool = False, rule: Any = None,
) -> dict:
    """Run the simulation of ``config``; returns a JSON-ready dict (see the module docstring).

    ``rule``: the update rule object (a :class:`~star_theory.rule_protocol.Rule` or a
    :class:`~star_theory.variants.StarVariant`) named ``config.variant``; default: the built-in
    rule of that name (a plug-in rule is looked up by the caller, :func:`star_theory.rules.make_rule`).

    ``progress``: show a tqdm bar on stderr (``None``: only when stderr is a terminal).
    ``checkpoint``: a folder for per-(seed, iteration) checkpoints and ``result.json``; it must
    not hold a run already unless ``resume=True``, which continues that run (module docstring),
    or ``overwrite=True``, which replaces it; it is claimed and locked by
    :func:`star_theory.outputs.claim_folder` for the whole run.
    """
    if not isinstance(config, SimulateConfig):
        raise InputError(f"config must be a SimulateConfig, got {type(config).__name__}")
    if not isinstance(resume, bool):
        raise InputError(f"resume must be True or False, got {resume!r}")
    if resume and checkpoint is None:
        raise InputError("resume needs a checkpoint folder")
    config.check_memory()  # before the task or any policy is built
    task, task_desc = config.make_task()
    policy0 = config.make_policy(task)
    questions_for(task, config.chains_per_question)  # K within the sampler's limit, before anything is written
    variant = _sampled_variant(config, rule)  # the rule is checked before any file is touched
    if checkpoint is None:
        return _simulate(config, progress, task, task_desc, policy0, None, variant)
    check_path(checkpoint, "checkpoint folder")
    with claim_folder(checkpoint, "simulate", own=(RUN_FILE, RESULT_FILE, "seed-*.npz"), config=jsonable(to_mapping(config)),
                      resume=resume, overwrite=overwrite, require_run=resume):
        store = Checkpoints(checkpoint, config, task, resume)  # every check under the folder's lock
        return _simulate(config, progress, task, task_desc, policy0, store, variant)


@dataclass
class _Runs:
    """The sampled runs' per-iteration records, one row per seed."""

    accuracy: np.ndarray  # (S, T + 1)
    kept: np.ndarray  # (S, T)
    rationalized: np.ndarray  # (S, T)
    closed: np.ndarray  # (S, T, 2)

    @classmethod
    def stack(cls, states: list[SeedState]) -> _Runs:
        """The finished seeds' rows stacked in seed order."""
        return cls(np.stack([st.accuracy for st in states]), np.stack([st.kept for st in states]),
                   np.stack([st.rationalized for st in states]), np.stack([st.closed for st in states]))


def _sampled_variant(config: SimulateConfig, rule=None):
    """The update rule of ``config`` (``rule``, whose name must be ``config.variant``, or the
    built-in of that name), which must have a sampled form."""
    variant = config.make_variant() if rule is None else rule
    if getattr(variant, "name", None) != config.variant:
        raise InputError(f"the rule passed is named {getattr(variant, 'name', None)!r}, but config.variant is {config.variant!r}")
    if rule is not None and config.variant in VARIANT_NAMES and rule != config.make_variant():
        raise InputError(f"the rule passed, {rule!r}, differs from the one config names, {config.make_variant()!r}")
    if not getattr(variant, "has_sampled_form", True):
        raise InputError(f"variant {config.variant!r} has no sampled form; simulate needs one (star_theory.rules.Rule(..., sampled=...))")
    return variant


def _simulate(config: SimulateConfig, progress, task, task_desc: str, policy0, store, variant) -> dict:
    """Run the exact form of the rule ``variant`` and every seed, then summarise (and record) the result."""
    exact_acc, exact_closed = _exact_run(variant, policy0, task, config.chains_per_question, config.iterations)
    S, T = len(config.seeds), config.iterations
    from tqdm import tqdm  # the progress bar only: an optional, slow-to-import dependency

    bar = tqdm(total=S * T, desc="simulate", unit="iter", file=sys.stderr, disable=(None if progress is None else not progress), leave=False)
    try:
        if store is not None:
            store.start()
        states = []
        for seed in config.seeds:
            st = None if store is None else store.state(seed)
            if st is None:
                st = SeedState.fresh(policy0, seed, T)
                st.accuracy[0] = accuracy(policy0, task)
            bar.update(st.t_done)
            _run_seed(variant, task, config, seed, st, store, bar)
            states.append(st)
    finally:
        bar.close()
    result = _result(config, task, task_desc, variant, exact_acc, exact_closed, _Runs.stack(states))
    if store is not None:
        store.finish(result)
    return result


def _exact_run(variant, policy0: TabularPolicy, task: ReasoningTask, K: int, T: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact form's accuracy ``(T + 1,)`` and closed forms ``(T, 2)`` along its trajectory."""
    exact_acc, exact_closed = np.empty(T + 1), np.empty((T, 2))  # one exact policy at a time
    p = policy0
    exact_acc[0] = accuracy(p, task)
    for t in range(T):
        exact_closed[t] = variant.closed_forms(p, task, K)  # NaN for a plug-in rule without keep_probability
        p = variant.exact_step(p, task, K)
        exact_acc[t + 1] = accuracy(p, task)
    return exact_acc, exact_closed


def _run_seed(variant, task: ReasoningTask, config: SimulateConfig, seed: int, st: SeedState, store, bar) -> None:
    """Iterations ``st.t_done .. T-1`` of one seed, each one unit: a sampled step, its records, a checkpoint."""
    K = config.chains_per_question
    for t in range(st.t_done, config.iterations):
        st.closed[t] = variant.closed_forms(st.policy, task, K)
        step = variant.sampled_step(st.policy, task, K, st.rng, config.empty_rows, config.alpha)
        st.kept[t], st.rationalized[t] = step.kept, step.rationalized
        st.policy = step.policy
        st.accuracy[t + 1] = accuracy(st.policy, task)
        st.t_done = t + 1
        if store is not None:
            store.save(seed, st)
        bar.update(1)


def _iteration_rows(exact_acc: np.ndarray, exact_closed: np.ndarray, runs: _Runs, band: tuple) -> list[dict]:
    """One row per iteration: exact and sampled accuracy with its band, then the closed forms beside the observed."""
    mean, lo, hi = band
    T = exact_closed.shape[0]
    rows = []
    for t in range(T + 1):
        row = {
            "t": t,
            "exact_accuracy": float(exact_acc[t]),
            "mean_accuracy": float(mean[t]),
            "band_lo": float(lo[t]),
            "band_hi": float(hi[t]),
            "exact_in_band": bool(lo[t] - 1e-12 <= exact_acc[t] <= hi[t] + 1e-12),
        }
        if t < T:
            row.update(
                p_no_kept_exact=float(exact_closed[t, 0]),
                p_no_kept_closed_mean=float(runs.closed[:, t, 0].mean()),
                no_kept_rate=float((runs.kept[:, t] == 0).mean()),
                expected_kept_exact=float(exact_closed[t, 1]),
                expected_kept_closed_mean=float(runs.closed[:, t, 1].mean()),
                kept_mean=float(runs.kept[:, t].mean()),
                rationalized_mean=float(runs.rationalized[:, t].mean()),
            )
        rows.append(row)
    return rows


def _result(config: SimulateConfig, task, task_desc: str, variant, exact_acc, exact_closed, runs: _Runs) -> dict:
    """The JSON-ready result of a finished simulation (module docstring)."""
    S, K = len(config.seeds), config.chains_per_question
    n_questions = int(np.count_nonzero(task.question_dist > 0))
    return {
        "kind": "rlstar-simulation/1",
        "config": to_mapping(config),
        "seeds": list(config.seeds),
        "task": {"description": task_desc, "level_sizes": list(task.sizes), "n_steps": task.n_steps, "n_questions": n_questions},
        "variant": variant.label(),
        "convention": "lam" if config.eps is None else "eps",
        "chains_per_question": K,
        "chains_per_iteration": K * n_questions,
        "band": {
            "kind": config.band,
            "level": config.level,
            "meaning": (
                f"central {config.level:.0%} of the {S} runs (percentiles over seeds)"
                if config.band == "percentile"
                else f"{config.level:.0%} normal CI of the mean over {S} seeds (mean +- z*sd/sqrt(seeds))"
            ),
        },
        "iterations": _iteration_rows(exact_acc, exact_closed, runs, seed_band(runs.accuracy, config.band, config.level)),
        "accuracy_runs": runs.accuracy,
        "kept_runs": runs.kept,
        "iterations_to_target": {
            "target": config.target,
            "exact": first_reach(exact_acc, config.target),
            "runs": [first_reach(a, config.target) for a in runs.accuracy],
        },
    }


def config_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(SimulateConfig))

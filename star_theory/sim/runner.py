r"""The sweep behind ``rlstar simulate``: a STaR variant run exactly and with ``K`` samples per
question over several seeds, with the finite-sample closed forms beside the simulation.

For every iteration ``t`` the result holds

* ``exact_accuracy``: :math:`J(P^t)` along the variant's exact form (the infinite-data limit);
* ``mean_accuracy``, ``band_lo``, ``band_hi``: the sampled runs' accuracy over seeds: the mean
  and a band, either the central ``level`` *percentile band* of the runs (``band="percentile"``:
  where a single run lands; the exact curve belongs inside it when ``K`` is large) or a normal
  confidence interval for the mean, mean :math:`\pm z_{(1+\text{level})/2}\,
  \mathrm{sd}/\sqrt{\#\text{seeds}}` (``band="mean-se"``);
* the closed forms of the iteration's sampling step (see :mod:`star_theory.sim.sampling`):
  ``p_no_kept_exact`` / ``expected_kept_exact`` evaluated at the exact :math:`P^t`, and
  ``p_no_kept_closed_mean`` / ``expected_kept_closed_mean``, their mean over seeds evaluated
  at each run's own :math:`P^t` (an unbiased prediction of the observed rates), beside the
  observed ``no_kept_rate`` (fraction of seeds whose step kept no chain) and ``kept_mean``.

All randomness flows from the recorded ``seeds`` (one ``numpy.random.default_rng(seed)`` per run).

**Checkpoints and resume.** With ``checkpoint=DIR`` the sweep is cut into units, one per
(seed, iteration). After every unit the seed's state is written atomically
(:func:`star_theory.io.atomic_write_bytes`) to ``DIR/seed-<seed>.npz``: the iterations done,
the policy's kernels (their exact float64 bits), the generator's ``bit_generator.state`` and the
per-iteration rows so far. ``DIR/run.json`` records the config; ``DIR/result.json`` is written
(atomically) only when every unit is done. ``resume=True`` validates the folder (format, config
equal to the recorded one, every array's shape, dtype and range), restores each seed's policy and
generator exactly and continues from its last finished unit, so the final result is bit-identical
to an uninterrupted run. Checkpoints are plain ``.npz`` arrays read with
``numpy.load(allow_pickle=False)`` (a JSON string for the generator state): loading one never
unpickles an object. A missing, foreign or corrupted folder raises
:class:`~star_theory.errors.InputError` and nothing in it is changed.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import check, coerce_fields, option, to_mapping
from ..errors import InputError
from ..exact import accuracy
from ..io import atomic_write_bytes, dumps_json, write_json
from ..outputs import MARKER, check_path, claim_folder
from ..sizes import check_memory, digit_level_sizes, simulate_bytes
from ..model import MAX_KERNEL_ENTRIES, ReasoningTask, TabularPolicy, mixture_policy, symmetric_policy, symmetric_task
from .sampling import EMPTY_ROW_RULES, questions_for
from .summary import first_reach, seed_band
from .variants import DEFAULTS

TASK_KINDS = ("symmetric", "zip", "add")
MAX_ITERATIONS = 1_000_000
BANDS = ("percentile", "mean-se")


@dataclass(frozen=True)
class SimulateConfig:
    """One simulation: task, initial policy, STaR variant, samples, seeds, iterations."""

    task: str = option("symmetric", "task: 'symmetric' (M states, N bijective steps) or a digit task 'zip'/'add'", choices=TASK_KINDS)
    M: int = option(8, "states per level of the symmetric task (>= 2)", flag="--M")
    N: int = option(3, "reasoning steps of the symmetric task (>= 1)", flag="--N")
    task_seed: int | None = option(None, "seed of the symmetric task's random permutations (none: identity steps)")
    digits: int = option(2, "digits D of each number in a digit task (>= 1)")
    base: int = option(2, "base b of a digit task (>= 2)")
    lam: tuple[float, ...] | None = option(None, "initial mixture weight lam_n (1 value or N); default 0.1 when neither lam nor eps is given")
    eps: tuple[float, ...] | None = option(None, "initial excess probability eps_n = lam_n (M-1)/M (1 value or N)")
    variant: str = option("star", "STaR update rule: star, rationalize, noisy-verifier, partial-fit, temperature, or a plug-in rule registered in this process or under the rlstar.variants entry-point group (star_theory.rules)")
    rationales: int = option(1, "rationalize: chains sampled with the answer as a hint per failed question (>= 0)")
    fp: float = option(0.0, "noisy-verifier: probability of accepting a wrong answer, in [0, 1]")
    fn: float = option(0.0, "noisy-verifier: probability of rejecting a right answer, in [0, 1]")
    eta: float = option(1.0, "partial-fit: step size, new = (1-eta) old + eta refit, in (0, 1]")
    temperature: float = option(1.0, "temperature: sample from P^(1/T) renormalised (> 0)")
    chains_per_question: int = option(16, "K: chains sampled per question per iteration (>= 1)", flag="--K")
    seeds: tuple[int, ...] = option([0, 1, 2, 3, 4, 5, 6, 7], "seeds of the sampled runs (one run each, >= 1 seed)")
    iterations: int = option(10, "STaR iterations T (>= 1)")
    empty_rows: str = option("keep", "rule for a kernel row with no kept data: keep (previous row) or smooth (add-alpha)", choices=EMPTY_ROW_RULES)
    alpha: float = option(1.0, "add-alpha smoothing constant for empty_rows=smooth (> 0)")
    band: str = option("percentile", "band over seeds: percentile (central level of the runs) or mean-se (normal CI of the mean)", choices=BANDS)
    level: float = option(0.9, "coverage level of the band, in (0, 1)")
    target: float = option(0.99, "target accuracy for 'iterations to target', in (0, 1]")

    def __post_init__(self):
        coerce_fields(self)
        check(self.task in TASK_KINDS, f"task must be one of {', '.join(TASK_KINDS)}, got {self.task!r}")
        check(self.M >= 2, f"M must be >= 2, got {self.M}")
        check(self.N >= 1, f"N must be >= 1, got {self.N}")
        check(self.task != "symmetric" or self.N * self.M**2 <= MAX_KERNEL_ENTRIES,
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
        self.make_variant()  # parameter checks name the key

    def memory_bytes(self) -> int:
        """Estimated peak memory (:mod:`star_theory.sizes`), from the sizes alone."""
        if self.task == "symmetric":
            sizes = [self.M] * (self.N + 1)
        else:
            from ..tasks import _check_digits

            sizes = digit_level_sizes(self.task, *_check_digits(self.digits, self.base))
        return simulate_bytes(sizes, self.chains_per_question, len(self.seeds), self.iterations)

    def check_memory(self) -> None:
        """Refuse a simulation whose :meth:`memory_bytes` exceed the limit (:mod:`star_theory.sizes`)."""
        check_memory(self.memory_bytes(), f"simulate with K={self.chains_per_question}, {len(self.seeds)} seeds, "
                     f"{self.iterations} iterations on {self.task} (M={self.M}, N={self.N}, digits={self.digits}, "
                     f"base={self.base})")

    def make_variant(self):
        """The update rule: a built-in variant with the parameters that differ from their
        defaults, or a plug-in rule by name (:func:`star_theory.rules.make_rule`)."""
        from ..rules import make_rule

        params = {k: getattr(self, k) for k in DEFAULTS if getattr(self, k) != DEFAULTS[k]}
        return make_rule(self.variant, **params)

    def make_task(self) -> tuple[ReasoningTask, str]:
        """The task and a short description of it."""
        if self.task == "symmetric":
            return symmetric_task(self.M, self.N, self.task_seed), f"symmetric M={self.M} N={self.N}"
        from ..tasks import digit_task

        dt = digit_task(self.task, self.digits, self.base)
        return dt.task, f"{self.task} D={self.digits} b={self.base} (sizes {list(dt.task.sizes)})"

    def make_policy(self, task: ReasoningTask) -> TabularPolicy:
        """The initial policy (symmetric family, or the mixture policy on a digit task)."""
        maker = symmetric_policy if self.task == "symmetric" else mixture_policy
        return maker(task, lam=self.lam, eps=self.eps)


# ----------------------------------------------------------------------------- checkpoints

CHECKPOINT_FORMAT = "rlstar-simulate-checkpoint/1"
RUN_FILE = "run.json"
RESULT_FILE = "result.json"


def _seed_file(seed: int) -> str:
    return f"seed-{seed}.npz"


def _jsonable(obj):
    return json.loads(dumps_json(obj, indent=None))


@dataclass
class _SeedState:
    """One seed's progress: ``t_done`` units finished, the policy and generator after them."""

    t_done: int
    policy: TabularPolicy
    rng: np.random.Generator
    accuracy: np.ndarray  # (T + 1,), entries 0..t_done valid
    kept: np.ndarray  # (T,), entries < t_done valid
    rationalized: np.ndarray  # (T,)
    closed: np.ndarray  # (T, 2)


class _Checkpoints:
    """The checkpoint folder of one simulation (see the module docstring)."""

    def __init__(self, folder, config: SimulateConfig, task: ReasoningTask, resume: bool):
        try:
            self.folder = Path(os.fspath(folder))
        except TypeError:
            raise InputError(f"checkpoint folder must be a path, got {folder!r}") from None
        self.config = _jsonable(to_mapping(config))
        self.task = task
        self.T = config.iterations
        self.seeds = config.seeds
        started = (self.folder / RUN_FILE).exists() or any(self.folder.glob("seed-*.npz"))
        if resume and (started or not (self.folder / MARKER).exists()):
            self._check_resumable()  # (a claimed folder whose run wrote nothing yet starts afresh)
        else:
            self._check_fresh()

    # -------------------------------------------------------------- folder checks (read only)

    def _check_fresh(self) -> None:
        f = self.folder
        if f.exists() and not f.is_dir():
            raise InputError(f"checkpoint folder {str(f)!r} is a file, not a folder")
        if f.is_dir():
            taken = [n for n in [RUN_FILE, RESULT_FILE] + [_seed_file(s) for s in self.seeds] if (f / n).exists()]
            if taken or any(f.glob("seed-*.npz")):
                raise InputError(
                    f"checkpoint folder {str(f)!r} already holds a simulate run; pass --resume to continue it "
                    "or choose a new folder"
                )

    def _check_resumable(self) -> None:
        f = self.folder
        if not f.exists():
            raise InputError(f"checkpoint folder not found: {str(f)!r} (nothing to resume)")
        if not f.is_dir():
            raise InputError(f"checkpoint folder {str(f)!r} is a file, not a folder")
        run = f / RUN_FILE
        try:
            text = run.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(f"{str(f)!r} is not a simulate checkpoint folder (no {RUN_FILE})") from None
        except (OSError, UnicodeDecodeError):
            raise InputError(f"{str(run)!r}: unreadable checkpoint file") from None
        try:
            meta = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{str(run)!r}: corrupted checkpoint file ({exc.msg})") from None
        if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
            raise InputError(f"{str(run)!r}: format is not {CHECKPOINT_FORMAT!r}")
        saved = meta.get("config")
        if not isinstance(saved, dict):
            raise InputError(f"{str(run)!r}: corrupted checkpoint file (no config table)")
        for key in sorted(set(saved) | set(self.config)):
            if saved.get(key, "<absent>") != self.config.get(key, "<absent>"):
                raise InputError(
                    f"cannot resume {str(f)!r}: {key}={self.config.get(key, '<absent>')!r} differs from the "
                    f"checkpoint's {key}={saved.get(key, '<absent>')!r}"
                )
        self.states = {s: self._load(s) for s in self.seeds}  # every file validated before any write

    def _load(self, seed: int) -> _SeedState | None:
        path = self.folder / _seed_file(seed)
        if not path.exists():
            return None
        where = str(path)

        def bad(why: str):
            return InputError(f"{where!r}: corrupted checkpoint ({why})")

        try:
            z = np.load(path, allow_pickle=False)
            if not isinstance(z, np.lib.npyio.NpzFile):
                raise ValueError("not an .npz archive")
            with z:
                arrays = {k: z[k] for k in z.files}
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            raise bad(" ".join(str(exc).split())[:120] or type(exc).__name__) from None
        N, T = self.task.n_steps, self.T
        need = {"format": (), "seed": (), "t_done": (), "rng_state": (), "accuracy": (T + 1,), "kept": (T,),
                "rationalized": (T,), "closed": (T, 2)}
        need.update({f"kernel_{n}": (self.task.sizes[n], self.task.sizes[n + 1]) for n in range(N)})
        for key, shape in need.items():
            if key not in arrays:
                raise bad(f"no array {key!r}")
            if arrays[key].shape != shape:
                raise bad(f"{key} has shape {arrays[key].shape}, expected {shape}")
        extra = set(arrays) - set(need)
        if extra:
            raise bad(f"unexpected array {sorted(extra)[0]!r}")
        kinds = {"format": "U", "rng_state": "U", "seed": "i", "t_done": "i", "kept": "i", "rationalized": "i"}
        for key, arr in arrays.items():
            kind = kinds.get(key, "f")
            if arr.dtype.kind != kind:
                raise bad(f"{key} has dtype {arr.dtype}")
            # NaN in ``closed`` marks a rule without closed forms (star_theory.rules); never +-inf
            if kind == "f" and not np.all(np.isfinite(arr) | (np.isnan(arr) if key == "closed" else False)):
                raise bad(f"{key} holds a non-finite value")
        if str(arrays["format"]) != CHECKPOINT_FORMAT:
            raise bad(f"format {str(arrays['format'])!r} is not {CHECKPOINT_FORMAT!r}")
        if int(arrays["seed"]) != seed:
            raise bad(f"seed {int(arrays['seed'])} does not match the file name")
        t_done = int(arrays["t_done"])
        if not 0 <= t_done <= T:
            raise bad(f"t_done={t_done} is outside [0, {T}]")
        try:
            policy = TabularPolicy([arrays[f"kernel_{n}"] for n in range(N)])
        except InputError as exc:
            raise bad(str(exc)) from None
        # the validated kernels, with the stored float64 bits (re-normalising could change them)
        policy.kernels = tuple(np.array(arrays[f"kernel_{n}"], dtype=np.float64) for n in range(N))
        for k in policy.kernels:
            k.setflags(write=False)
        rng = np.random.default_rng(0)
        try:
            state = json.loads(str(arrays["rng_state"]))
            if not isinstance(state, dict) or state.get("bit_generator") != type(rng.bit_generator).__name__:
                raise ValueError("wrong bit generator")
            rng.bit_generator.state = state
        except (ValueError, TypeError, KeyError, OverflowError, json.JSONDecodeError):
            raise bad("rng_state is not a PCG64 state") from None
        return _SeedState(
            t_done=t_done, policy=policy, rng=rng, accuracy=arrays["accuracy"].astype(np.float64),
            kept=arrays["kept"].astype(np.int64), rationalized=arrays["rationalized"].astype(np.int64),
            closed=arrays["closed"].astype(np.float64),
        )

    # -------------------------------------------------------------- writing (after the checks)

    def start(self) -> None:
        """Create the folder, record the config, drop stray temporary files of a killed write."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stray in self.folder.glob(".*.tmp"):  # the caller holds the folder's lock
            if stray.name.startswith((f".{RUN_FILE}.", f".{RESULT_FILE}.", ".seed-")):
                stray.unlink(missing_ok=True)
        if not (self.folder / RUN_FILE).exists():
            write_json(self.folder / RUN_FILE, {"format": CHECKPOINT_FORMAT, "config": self.config})

    def state(self, seed: int) -> _SeedState | None:
        return getattr(self, "states", {}).get(seed)

    def save(self, seed: int, st: _SeedState) -> None:
        arrays = {
            "format": np.array(CHECKPOINT_FORMAT),
            "seed": np.array(seed, dtype=np.int64),
            "t_done": np.array(st.t_done, dtype=np.int64),
            "rng_state": np.array(json.dumps(st.rng.bit_generator.state)),
            "accuracy": st.accuracy,
            "kept": st.kept,
            "rationalized": st.rationalized,
            "closed": st.closed,
        }
        arrays.update({f"kernel_{n}": k for n, k in enumerate(st.policy.kernels)})
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write_bytes(self.folder / _seed_file(seed), buf.getvalue())

    def finish(self, result: dict) -> None:
        write_json(self.folder / RESULT_FILE, result)


def simulate(
    config: SimulateConfig, progress: bool | None = None, checkpoint=None, resume: bool = False, overwrite: bool = False
) -> dict:
    """Run the simulation of ``config``; returns a JSON-ready dict (see the module docstring).

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
    if checkpoint is None:
        return _simulate(config, progress, task, task_desc, policy0, None)
    check_path(checkpoint, "checkpoint folder")
    with claim_folder(checkpoint, "simulate", own=(RUN_FILE, RESULT_FILE, "seed-*.npz"), config=_jsonable(to_mapping(config)),
                      resume=resume, overwrite=overwrite, require_run=resume, signature=RUN_FILE):
        store = _Checkpoints(checkpoint, config, task, resume)  # every check under the folder's lock
        return _simulate(config, progress, task, task_desc, policy0, store)


def _simulate(config: SimulateConfig, progress, task, task_desc: str, policy0, store) -> dict:
    variant = config.make_variant()
    if not getattr(variant, "has_sampled_form", True):
        raise InputError(f"variant {config.variant!r} has no sampled form; simulate needs one (star_theory.rules.Rule(..., sampled=...))")
    K, T = config.chains_per_question, config.iterations

    def closed(p: TabularPolicy) -> tuple[float, float]:
        return variant.closed_forms(p, task, K)  # NaN for a plug-in rule without keep_probability

    exact_acc, exact_closed = np.empty(T + 1), np.empty((T, 2))  # one exact policy at a time
    p = policy0
    exact_acc[0] = accuracy(p, task)
    for t in range(T):
        exact_closed[t] = closed(p)
        p = variant.exact_step(p, task, K)
        exact_acc[t + 1] = accuracy(p, task)

    S = len(config.seeds)
    acc_runs = np.empty((S, T + 1))
    kept = np.zeros((S, T), dtype=np.int64)
    rational = np.zeros((S, T), dtype=np.int64)
    closed_runs = np.empty((S, T, 2))
    from tqdm import tqdm

    bar = tqdm(total=S * T, desc="simulate", unit="iter", file=sys.stderr, disable=(None if progress is None else not progress), leave=False)
    try:
        if store is not None:
            store.start()
        for i, seed in enumerate(config.seeds):
            st = None if store is None else store.state(seed)
            if st is None:
                st = _SeedState(0, policy0, np.random.default_rng(seed), acc_runs[i], kept[i], rational[i], closed_runs[i])
                st.accuracy[0] = accuracy(policy0, task)
            else:
                acc_runs[i], kept[i], rational[i], closed_runs[i] = st.accuracy, st.kept, st.rationalized, st.closed
                st.accuracy, st.kept, st.rationalized, st.closed = acc_runs[i], kept[i], rational[i], closed_runs[i]
                bar.update(st.t_done)
            for t in range(st.t_done, T):  # one unit: iteration t of this seed
                closed_runs[i, t] = closed(st.policy)
                step = variant.sampled_step(st.policy, task, K, st.rng, config.empty_rows, config.alpha)
                kept[i, t], rational[i, t] = step.kept, step.rationalized
                st.policy = step.policy
                acc_runs[i, t + 1] = accuracy(st.policy, task)
                st.t_done = t + 1
                if store is not None:
                    store.save(seed, st)
                bar.update(1)
    finally:
        bar.close()

    mean, lo, hi = seed_band(acc_runs, config.band, config.level)
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
                p_no_kept_closed_mean=float(closed_runs[:, t, 0].mean()),
                no_kept_rate=float((kept[:, t] == 0).mean()),
                expected_kept_exact=float(exact_closed[t, 1]),
                expected_kept_closed_mean=float(closed_runs[:, t, 1].mean()),
                kept_mean=float(kept[:, t].mean()),
                rationalized_mean=float(rational[:, t].mean()),
            )
        rows.append(row)
    n_questions = int(np.count_nonzero(task.question_dist > 0))
    result = {
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
        "iterations": rows,
        "accuracy_runs": acc_runs,
        "kept_runs": kept,
        "iterations_to_target": {
            "target": config.target,
            "exact": first_reach(exact_acc, config.target),
            "runs": [first_reach(a, config.target) for a in acc_runs],
        },
    }
    if store is not None:
        store.finish(result)
    return result


def format_table(result: dict) -> str:
    """A plain-text table of a :func:`simulate` result."""
    head = (
        f"# {result['task']['description']}, variant {result['variant']}, K={result['chains_per_question']} "
        f"per question ({result['chains_per_iteration']} chains/iteration), seeds {result['seeds']}\n"
        f"# band: {result['band']['meaning']}; P(no kept) and E[kept] closed forms at the exact P^t and "
        f"(mean) at each run's P^t\n"
    )
    cols = f"{'t':>3} {'J exact':>9} {'J mean':>9} {'band lo':>9} {'band hi':>9} {'in':>3} {'P0 exact':>9} {'P0 runs':>9} {'P0 obs':>7} {'E[k] ex':>9} {'E[k] run':>9} {'kept':>9}"
    lines = [head + cols]
    for r in result["iterations"]:
        line = f"{r['t']:>3} {r['exact_accuracy']:>9.4f} {r['mean_accuracy']:>9.4f} {r['band_lo']:>9.4f} {r['band_hi']:>9.4f} {'y' if r['exact_in_band'] else 'n':>3}"
        if "kept_mean" in r:
            line += (
                f" {r['p_no_kept_exact']:>9.3g} {r['p_no_kept_closed_mean']:>9.3g} {r['no_kept_rate']:>7.2f}"
                f" {r['expected_kept_exact']:>9.1f} {r['expected_kept_closed_mean']:>9.1f} {r['kept_mean']:>9.1f}"
            )
        lines.append(line)
    it = result["iterations_to_target"]
    runs = [r for r in it["runs"] if r is not None]
    lines.append(
        f"# iterations to J >= {it['target']}: exact {it['exact']}, runs reached: {len(runs)}/{len(it['runs'])}"
        + (f" (median {float(np.median(runs)):g})" if runs else "")
    )
    return "\n".join(lines)


def config_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(SimulateConfig))

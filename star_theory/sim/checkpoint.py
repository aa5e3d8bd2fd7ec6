r"""The checkpoint folder of ``rlstar simulate``: one ``.npz`` per seed, ``run.json``, ``result.json``.

Format ``rlstar-simulate-checkpoint/1``. ``DIR/run.json`` records the format and the run's
config; after every unit (one seed, one iteration) the seed's state is written atomically
(:func:`star_theory.io.atomic_write_bytes`) to ``DIR/seed-<seed>.npz``, with the arrays

* ``format`` (the format string), ``seed``, ``t_done`` (iterations finished, in ``[0, T]``);
* ``rng_state``: the generator's ``bit_generator.state`` as JSON (PCG64);
* ``kernel_<n>``: the policy's kernels after ``t_done`` iterations, their exact float64 bits;
* ``accuracy`` ``(T + 1,)``, ``kept`` and ``rationalized`` ``(T,)``, ``closed`` ``(T, 2)``: the
  per-iteration rows so far (entries past ``t_done`` mean nothing; ``NaN`` in ``closed`` marks a
  rule without closed forms).

``DIR/result.json`` is written (atomically) only when every unit is done. Files are read with
``numpy.load(allow_pickle=False)``: loading one never unpickles an object. Before anything is
written, every file is validated (format, config equal to the recorded one, every array's shape,
dtype and range); a missing, foreign or corrupted folder raises
:class:`~star_theory.errors.InputError` and nothing in it is changed.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import from_mapping, to_mapping
from ..errors import InputError
from ..io import atomic_write_bytes, dumps_json, read_json, write_json
from ..model import ReasoningTask, TabularPolicy
from ..outputs import MARKER

CHECKPOINT_FORMAT = "rlstar-simulate-checkpoint/1"
RUN_FILE = "run.json"
RESULT_FILE = "result.json"
INT_ARRAYS = ("seed", "t_done", "kept", "rationalized")
TEXT_ARRAYS = ("format", "rng_state")


def seed_file(seed: int) -> str:
    """The file name of one seed's checkpoint."""
    return f"seed-{seed}.npz"


def jsonable(obj):
    """``obj`` as plain JSON values (what ``run.json`` records and a resumed run compares)."""
    return json.loads(dumps_json(obj, indent=None))


@dataclass
class SeedState:
    """One seed's progress: ``t_done`` units finished, the policy and generator after them."""

    t_done: int
    policy: TabularPolicy
    rng: np.random.Generator
    accuracy: np.ndarray  # (T + 1,), entries 0..t_done valid
    kept: np.ndarray  # (T,), entries < t_done valid
    rationalized: np.ndarray  # (T,)
    closed: np.ndarray  # (T, 2)

    @classmethod
    def fresh(cls, policy: TabularPolicy, seed: int, T: int) -> SeedState:
        """Nothing done yet: the initial policy, ``default_rng(seed)`` and empty rows."""
        return cls(0, policy, np.random.default_rng(seed), np.zeros(T + 1), np.zeros(T, dtype=np.int64),
                   np.zeros(T, dtype=np.int64), np.zeros((T, 2)))


class Checkpoints:
    """The checkpoint folder of one simulation (see the module docstring).

    ``config`` is the run's :class:`~star_theory.sim.runner.SimulateConfig`; construction checks
    the folder (read only): a fresh run needs a folder without a run, ``resume=True`` one holding
    this config's run (every seed file is validated then).
    """

    def __init__(self, folder, config, task: ReasoningTask, resume: bool):
        try:
            self.folder = Path(os.fspath(folder))
        except TypeError:
            raise InputError(f"checkpoint folder must be a path, got {folder!r}") from None
        self.config = jsonable(to_mapping(config))
        self.config_type = type(config)
        self.task = task
        self.T = config.iterations
        self.seeds = config.seeds
        self.states: dict[int, SeedState | None] = {}
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
            taken = [n for n in [RUN_FILE, RESULT_FILE] + [seed_file(s) for s in self.seeds] if (f / n).exists()]
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
        saved = self._recorded_config(f / RUN_FILE)
        if "task_params" not in saved:  # recorded before task parameters: its digits/base read back as today's config
            try:
                saved = jsonable(to_mapping(from_mapping(self.config_type, saved)))
            except InputError:
                pass  # compared as recorded: the differing key is named below
        for key in sorted(set(saved) | set(self.config)):
            if saved.get(key, "<absent>") != self.config.get(key, "<absent>"):
                raise InputError(
                    f"cannot resume {str(f)!r}: {key}={self.config.get(key, '<absent>')!r} differs from the "
                    f"checkpoint's {key}={saved.get(key, '<absent>')!r}"
                )
        self.states = {s: self._load(s) for s in self.seeds}  # every file validated before any write

    def _recorded_config(self, run: Path) -> dict:
        """The config table of ``run.json``, after checking the file and its format."""
        if not run.exists():
            raise InputError(f"{str(self.folder)!r} is not a simulate checkpoint folder (no {RUN_FILE})")
        meta = read_json(run, "checkpoint file", kind=None)  # size-capped; unreadable or corrupted: one line
        if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
            raise InputError(f"{str(run)!r}: format is not {CHECKPOINT_FORMAT!r}")
        saved = meta.get("config")
        if not isinstance(saved, dict):
            raise InputError(f"{str(run)!r}: corrupted checkpoint file (no config table)")
        return saved

    def _load(self, seed: int) -> SeedState | None:
        """One seed's validated state, or None when the seed has no file yet."""
        path = self.folder / seed_file(seed)
        if not path.exists():
            return None
        where = str(path)

        def bad(why: str):
            return InputError(f"{where!r}: corrupted checkpoint ({why})")

        arrays = _read_npz(path, bad)
        _check_arrays(arrays, self._shapes(), bad)
        if str(arrays["format"]) != CHECKPOINT_FORMAT:
            raise bad(f"format {str(arrays['format'])!r} is not {CHECKPOINT_FORMAT!r}")
        if int(arrays["seed"]) != seed:
            raise bad(f"seed {int(arrays['seed'])} does not match the file name")
        t_done = int(arrays["t_done"])
        if not 0 <= t_done <= self.T:
            raise bad(f"t_done={t_done} is outside [0, {self.T}]")
        return SeedState(
            t_done=t_done, policy=_policy_from(arrays, self.task.n_steps, bad), rng=_generator_from(arrays, bad),
            accuracy=arrays["accuracy"].astype(np.float64), kept=arrays["kept"].astype(np.int64),
            rationalized=arrays["rationalized"].astype(np.int64), closed=arrays["closed"].astype(np.float64),
        )

    def _shapes(self) -> dict:
        """The arrays a seed file must hold, with their shapes."""
        T = self.T
        need = {"format": (), "seed": (), "t_done": (), "rng_state": (), "accuracy": (T + 1,), "kept": (T,),
                "rationalized": (T,), "closed": (T, 2)}
        need.update({f"kernel_{n}": (self.task.sizes[n], self.task.sizes[n + 1]) for n in range(self.task.n_steps)})
        return need

    # -------------------------------------------------------------- writing (after the checks)

    def start(self) -> None:
        """Create the folder, record the config, drop stray temporary files of a killed write."""
        self.folder.mkdir(parents=True, exist_ok=True)
        for stray in self.folder.glob(".*.tmp"):  # the caller holds the folder's lock
            if stray.name.startswith((f".{RUN_FILE}.", f".{RESULT_FILE}.", ".seed-")):
                stray.unlink(missing_ok=True)
        if not (self.folder / RUN_FILE).exists():
            write_json(self.folder / RUN_FILE, {"format": CHECKPOINT_FORMAT, "config": self.config})

    def state(self, seed: int) -> SeedState | None:
        """The state a resumed seed continues from (None: start it afresh)."""
        return self.states.get(seed)

    def save(self, seed: int, st: SeedState) -> None:
        """Write one seed's state atomically (module docstring)."""
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
        atomic_write_bytes(self.folder / seed_file(seed), buf.getvalue())

    def finish(self, result: dict) -> None:
        """Write ``result.json`` (the run is complete)."""
        write_json(self.folder / RESULT_FILE, result)


def _read_npz(path: Path, bad) -> dict:
    """Every array of an ``.npz`` file, read without unpickling."""
    try:
        z = np.load(path, allow_pickle=False)
        if not isinstance(z, np.lib.npyio.NpzFile):
            raise ValueError("not an .npz archive")
        with z:
            return {k: z[k] for k in z.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise bad(" ".join(str(exc).split())[:120] or type(exc).__name__) from None


def _check_arrays(arrays: dict, need: dict, bad) -> None:
    """Exactly the arrays of ``need``, with their shapes, dtype kinds and finite floats."""
    for key, shape in need.items():
        if key not in arrays:
            raise bad(f"no array {key!r}")
        if arrays[key].shape != shape:
            raise bad(f"{key} has shape {arrays[key].shape}, expected {shape}")
    extra = set(arrays) - set(need)
    if extra:
        raise bad(f"unexpected array {sorted(extra)[0]!r}")
    for key, arr in arrays.items():
        kind = "U" if key in TEXT_ARRAYS else "i" if key in INT_ARRAYS else "f"
        if arr.dtype.kind != kind:
            raise bad(f"{key} has dtype {arr.dtype}")
        # NaN in ``closed`` marks a rule without closed forms (star_theory.rules); never +-inf
        if kind == "f" and not np.all(np.isfinite(arr) | (np.isnan(arr) if key == "closed" else False)):
            raise bad(f"{key} holds a non-finite value")


def _policy_from(arrays: dict, N: int, bad) -> TabularPolicy:
    """The stored policy, its kernels validated and kept with their exact float64 bits."""
    try:
        policy = TabularPolicy([arrays[f"kernel_{n}"] for n in range(N)])
    except InputError as exc:
        raise bad(str(exc)) from None
    # the validated kernels, with the stored float64 bits (re-normalising could change them)
    policy.kernels = tuple(np.array(arrays[f"kernel_{n}"], dtype=np.float64) for n in range(N))
    for k in policy.kernels:
        k.setflags(write=False)
    return policy


def _generator_from(arrays: dict, bad) -> np.random.Generator:
    """A PCG64 generator in the stored state."""
    rng = np.random.default_rng(0)
    try:
        state = json.loads(str(arrays["rng_state"]))
        if not isinstance(state, dict) or state.get("bit_generator") != type(rng.bit_generator).__name__:
            raise ValueError("wrong bit generator")
        rng.bit_generator.state = state
    except (ValueError, TypeError, KeyError, OverflowError, json.JSONDecodeError):
        raise bad("rng_state is not a PCG64 state") from None
    return rng

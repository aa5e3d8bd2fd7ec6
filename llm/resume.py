"""Where a STaR run starts: a new run at iteration 0, or a resumed one after its last finished
iteration, with everything that iteration left (records, measured policies, kept chains) read
back and validated before anything is written.

A resumed run continues the recorded checkpoint with the recorded config (all but
:data:`llm.files.MAY_CHANGE_ON_RESUME` must be equal); a checkpoint that has moved is accepted
in its new place when it is for the same task. Either way its files must have the digest
recorded in ``run.json`` (:func:`llm.model.checkpoint_digest`): another model in its place is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from star_theory import InputError, TabularPolicy

from .config import LLMConfig, to_record
from .files import check_resume, load_array, read_metrics, validate_kept
from .model import checkpoint_digest, read_task_spec
from .star_folder import finished_iterations, iteration_dir, load_kernels, read_run_json


@dataclass(frozen=True)
class StartPoint:
    """The checkpoint a run continues, its finished iterations, and whether ``run.json`` is to write."""

    pretrained: Path
    done: tuple[int, ...]
    fresh: bool


@dataclass(frozen=True)
class Finished:
    """What the finished iterations of a run left: records, measured policies, the kept chains of
    each (``kept_all``) and of the last one (``kept``)."""

    records: list[dict]
    policies: list[TabularPolicy]
    kept: np.ndarray | None
    kept_all: list[np.ndarray]


def start_point(cfg: LLMConfig, pretrained, out: Path, resume: bool) -> StartPoint:
    """Check that ``out`` may hold this run (new, or resumed with its own config and checkpoint)."""
    done = finished_iterations(out)
    if done and not resume:
        raise InputError(f"output folder {out} already holds a STaR run (use --resume or a new folder)")
    fresh = not (out / "run.json").is_file()
    if not fresh:
        pretrained = _resume_checks(cfg, pretrained, out)
    elif done:
        raise InputError(f"cannot resume {out}: iteration folders without run.json")
    return StartPoint(Path(pretrained), tuple(done), fresh)


def _resume_checks(cfg: LLMConfig, pretrained, out: Path) -> Path:
    """The checkpoint to continue from, after checking the recorded config and checkpoint."""
    saved = read_run_json(out / "run.json")
    check_resume(saved["config"], to_record(cfg), where=f"{out}")
    recorded = Path(saved["pretrained"])
    given = Path(pretrained)
    if recorded.is_dir() and given.resolve() != recorded.resolve():
        raise InputError(f"cannot resume {out}: it continues the checkpoint {str(recorded)!r}, not {str(given)!r}")
    if not recorded.is_dir():  # the recorded checkpoint has moved: the given one must be for the same task
        if read_task_spec(given).record() != saved["task"]:
            raise InputError(f"cannot resume {out}: checkpoint {str(given)!r} is for another task than the run's")
    chosen = given if not recorded.is_dir() else recorded
    digest = saved.get("pretrained_digest")
    if digest is not None and checkpoint_digest(chosen) != digest:
        raise InputError(f"cannot resume {out}: checkpoint {str(chosen)!r} is not the model the run started from "
                         "(its files' digest differs from the one in run.json)")
    return chosen


def read_finished(out: Path, done, task, right_answers: bool = True) -> Finished:
    """Read back and validate what the finished iterations ``done`` of ``task``'s run wrote
    (``right_answers``: its rule keeps only chains with the right answer)."""
    if not done:
        return Finished([], [], None, [])
    paths = [iteration_dir(out, t) / "kept.npy" for t in done]
    kept = [validate_kept(load_array(p), task, str(p), right_answers) for p in paths]
    records = [read_metrics(iteration_dir(out, t) / "metrics.json", t) for t in done]
    return Finished(records, [load_kernels(iteration_dir(out, t)) for t in done], kept[-1], kept)

"""What an LLM run logs to a tracker (:mod:`star_theory.tracking`, ``--log-dir``).

* STaR (``star/...``, step = the iteration): every number of the iteration's record as
  ``metrics.json`` holds it: the exact accuracy J (``exact_accuracy``) and the sampled one, the
  fitted ``lam_1 .. lam_N`` (bijective tasks), the refit gaps (``refit_gap``, ``refit_tv``,
  ``train_gap``), the kept and sampled chain counts (``kept``, ``chains``), the phases' wall times
  (``train_wall_s``, ``measure_wall_s``, ``sample_wall_s``) and the departure metrics; logged as each
  iteration is written (a resumed run logs its finished iterations first, as they read back);
  ``star.png`` as the image ``star/figure`` at the last iteration.
* Pretraining (``pretrain/...``): the loss curve as ``pretrain/loss`` at its optimiser steps, then
  the summary's numbers (``loss_last``, ``fit_gap``, ``wall_s``, ...) and the pretrained model's
  measured ones (``exact_accuracy``, ``lam_n``) at the last step.
"""

from __future__ import annotations

from pathlib import Path

from star_theory.tracking import Tracker

from .files import read_json_object, read_metrics
from .star_folder import finished_iterations, iteration_dir

#: record fields that are not measurements (the step itself, the seed, the list of trained questions)
NOT_LOGGED = ("iteration", "seed", "trained_questions")


def log_iteration(tracker: Tracker, record: dict, prefix: str = "star") -> None:
    """Log one STaR iteration's record (as written) at its iteration; per-step lists have the
    length of ``step_correct`` (``N``)."""
    if tracker.enabled:
        steps = len(record.get("step_correct") or ())
        tracker.record(prefix, record, record["iteration"], steps=steps, skip=NOT_LOGGED + _curves(record))
        tracker.flush()


def _curves(record: dict) -> tuple[str, ...]:
    """The fields holding a curve over optimiser steps (``train_gap_curve``, ``loss_curve``): not per-step values."""
    return tuple(k for k in record if k.endswith("_curve"))


def log_figure(tracker: Tracker, folder, records: list[dict], prefix: str = "star") -> None:
    """``star.png`` of the STaR run in ``folder`` (if drawn) as the image ``prefix/figure`` at the last iteration."""
    figure = Path(folder) / "star.png"
    if tracker.enabled and records and figure.is_file():
        tracker.image(f"{prefix}/figure", figure, records[-1]["iteration"])
        tracker.flush()


def log_pretrain(tracker: Tracker, summary: dict, prefix: str = "pretrain") -> None:
    """Log a pretraining summary (``pretrain.json``): the loss curve at its steps (``loss_curve``
    holds every ``loss_curve_every``-th loss), then the summary's and the measured model's numbers."""
    if not tracker.enabled:
        return
    curve, every = summary.get("loss_curve") or [], summary.get("loss_curve_every")
    last = 0
    if isinstance(every, int) and every >= 1:
        for i, loss in enumerate(curve):
            tracker.scalars(prefix, {"loss": loss}, i * every)
        last = (len(curve) - 1) * every if curve else 0
    measured = summary.get("measured")
    measured = measured if isinstance(measured, dict) else {}
    steps = len(measured.get("step_correct") or ())
    numbers = {**summary, **measured}
    tracker.record(prefix, numbers, last, steps=steps, skip=("loss_curve_every", "world_size") + _curves(numbers))
    tracker.flush()


def log_star_folder(tracker: Tracker, folder, prefix: str = "star") -> None:
    """Log the finished iterations of the STaR run in ``folder`` (as they read back) and its figure."""
    if not tracker.enabled:
        return
    records = [read_metrics(iteration_dir(folder, t) / "metrics.json", t) for t in finished_iterations(folder)]
    for record in records:
        log_iteration(tracker, record, prefix)
    log_figure(tracker, folder, records, prefix)


def log_pretrain_folder(tracker: Tracker, folder, prefix: str = "pretrain") -> None:
    """Log the pretraining whose checkpoint is ``folder`` (its ``pretrain.json``), if it finished."""
    record = Path(folder) / "pretrain.json"
    if tracker.enabled and record.is_file():
        log_pretrain(tracker, read_json_object(record, "pretrain.json"), prefix)

"""``rlstar reproduce``: run the experiments, write JSON, figures and the report.

Layout of the results folder::

    OUT/manifest.json          seed, preset, experiments, versions, timings
    OUT/<experiment>/result.json   every number the experiment computed, its settings and seed
    OUT/<experiment>/*.png     its figures
    OUT/_llm/<key>/            LLM runs shared between experiments (pretrained/, star/)
    OUT/report.md, OUT/report.html (figures embedded)

The folder follows the one rule of :mod:`star_theory.outputs`: it must be new or empty, or hold a
``reproduce`` run (its marker says so, with the preset and master seed), which ``resume``
continues (same preset and master seed only) and ``overwrite`` replaces (only the run's own
files); anything else is refused and nothing is touched. It is locked while the run goes on, and
every file is written atomically. In a continued run an experiment whose ``result.json`` already
exists for the same settings and seed is not run again (a rerun after an interruption resumes
where it stopped); its findings are re-derived from the stored data by the current analysis, so
the report always reflects the analysis code. The manifest and the report cover every
experiment result of the run in the folder, not only those selected with ``only``: adding an
experiment to a full run never shrinks its report. The analysis always reads the data as stored
(after a JSON round trip), so a fresh run and a reused one give the same findings.
"""

from __future__ import annotations

import json
import multiprocessing
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Iterable

from llm.device import resolve_device
from llm.files import OWN_FILES
from star_theory.errors import InputError
from star_theory.io import dumps_json, read_json, write_json
from star_theory.outputs import claim_folder, nested
from star_theory.process import cpu_count, enter_main

from .framework import Context, experiment_seed, settings_record, split_results
from .registry import EXPERIMENT_NAMES, load_experiment
from .report import write_report


def _same_run(path: Path, record: dict) -> dict | None:
    try:
        old = read_json(path, "result")  # size-capped; unreadable or corrupted: computed again
    except InputError:
        return None
    if not isinstance(old, dict) or not isinstance(old.get("findings"), list):
        return None
    keys = ("name", "preset", "seed", "settings")
    if all(json.loads(dumps_json(old.get(k))) == json.loads(dumps_json(record[k])) for k in keys):
        return old
    return None


def _reanalyzed(exp, settings, old: dict, folder: Path) -> dict:
    """A finished record with its findings re-derived by the current analysis (rewritten if they changed)."""
    new = json.loads(dumps_json({**old, **split_results(exp.analyze(old["data"], settings))}))
    if new != old:
        write_json(folder / "result.json", new)
    return new


def run_experiment(name: str, preset: str, out: Path, master_seed: int, device: str = "cpu",
                   progress: bool = True, force: bool = False) -> dict:
    """Run one experiment (or reuse its finished result) and return its result record."""
    exp = load_experiment(name)
    settings = exp.settings(preset)
    seed = experiment_seed(master_seed, name)
    folder = out / name
    folder.mkdir(parents=True, exist_ok=True)
    record = {"name": name, "title": exp.title, "claims": list(exp.claims), "preset": preset,
              "seed": seed, "master_seed": master_seed, "settings": settings_record(settings)}
    if not force:
        old = _same_run(folder / "result.json", record)
        if old is not None:
            return _reanalyzed(exp, settings, old, folder)
    ctx = Context(out=folder, seed=seed, device=device, progress=progress, master_seed=master_seed)
    t0 = time.perf_counter()
    data = json.loads(dumps_json(exp.run(settings, ctx)))
    exp.figures(data, settings, ctx)  # drawn from the data as stored
    record.update(data=data, figures=ctx.figures, **split_results(exp.analyze(data, settings)),
                  seconds=round(time.perf_counter() - t0, 2))
    write_json(folder / "result.json", record)
    return record


#: the experiments by their time at the default preset, longest first (2 cores): the order in which parallel
#: workers take them, so that the workers finish together; a name not listed starts first
LONGEST_FIRST = ("theory_vs_llm", "llm_regimes", "pretrained_quality", "variants", "beyond", "finite_samples",
                 "robustness", "non_bijective", "theory_curves")


def default_jobs(device: str = "cpu") -> int:
    """Worker processes of ``reproduce`` by default: one per CPU, at most 4 (each holds its own torch), and 1
    on a GPU (:func:`llm.device.resolve_device`: the experiments' LLM runs share the one device)."""
    return 1 if resolve_device(device).type == "cuda" else max(1, min(4, cpu_count()))


def _labelled(label: str, progress: bool, name: str, preset: str, out: Path, master_seed: int, device: str) -> dict:
    """:func:`run_experiment` in a worker process, announced on stderr as in a sequential run."""
    enter_main()  # third-party warnings silenced, as in the rlstar process
    if progress:
        print(label, file=sys.stderr, flush=True)
    return run_experiment(name, preset, out, master_seed, device, progress=progress)


def run_experiments(names, preset: str, out: Path, master_seed: int, device: str, progress: bool,
                    jobs: int = 1) -> list[dict]:
    """:func:`run_experiment` for each of ``names``; their records in the order of ``names``.

    With ``jobs > 1``, up to ``jobs`` worker processes (spawned: each imports torch afresh) run the
    experiments at once, longest first (:data:`LONGEST_FIRST`). Every experiment computes exactly what it
    computes alone (its seeds derive from the master seed and its name; torch runs one thread per LLM run);
    two that need the same cached LLM run wait for each other (:func:`experiments.llm_common.llm_run`).
    """
    labels = {n: f"[{i}/{len(names)}] {n}" for i, n in enumerate(names, 1)}
    if jobs <= 1 or len(names) <= 1:
        records = []
        for n in names:
            if progress:
                print(labels[n], file=sys.stderr, flush=True)
            records.append(run_experiment(n, preset, out, master_seed, device, progress))
        return records
    order = sorted(names, key=lambda n: LONGEST_FIRST.index(n) if n in LONGEST_FIRST else -1)
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(names)), mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {n: pool.submit(_labelled, labels[n], progress, n, preset, out, master_seed, device) for n in order}
        records = [futures[n].result() for n in names]
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return records


def _own() -> tuple[str, ...]:
    """The paths a reproduce run writes into its folder (:func:`star_theory.outputs.nested`)."""
    experiments = [p for n in EXPERIMENT_NAMES for p in nested(n, ("result.json", "*.png"))]
    return (*experiments, *nested("_llm", nested("*", OWN_FILES["llm run"])), "manifest.json", "report.md", "report.html")


def reproduce(out: str | Path, preset: str = "default", only: tuple[str, ...] | None = None,
              master_seed: int = 0, device: str = "cpu", progress: bool = True, resume: bool = False,
              overwrite: bool = False, force: bool = False, jobs: int = 1) -> dict:
    """Run the selected experiments and write the manifest and the report; return the manifest.

    ``out`` is new or empty, or holds a reproduce run: continued with ``resume`` (same
    ``preset`` and ``master_seed``), replaced with ``overwrite`` (``force`` is an alias).
    ``jobs``: worker processes running experiments at once (:func:`run_experiments`; the results do
    not depend on it).
    """
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise InputError(f"jobs must be an integer >= 1, got {jobs!r}")
    names = tuple(dict.fromkeys(only)) if only else EXPERIMENT_NAMES  # each experiment once, in the order given
    for n in names:
        load_experiment(n)  # unknown names fail before anything runs
    config = {"preset": preset, "master_seed": master_seed}
    with claim_folder(out, "reproduce", own=_own(), config=config, resume=resume, overwrite=overwrite or force,
                      resume_keys=("preset", "master_seed")):
        return _reproduce(Path(out), names, preset, master_seed, device, progress, jobs)


def stored_results(out: Path, preset: str, master_seed: int, skip: Iterable[str] = ()) -> list[dict]:
    """The finished results of the run ``(preset, master_seed)`` in ``out`` other than ``skip``
    (re-analysed like reused ones), in the order of :data:`EXPERIMENT_NAMES`; a result of other
    settings (written by another version of the code) is named on stderr and left out."""
    records = []
    for name in EXPERIMENT_NAMES:
        path = out / name / "result.json"
        if name in skip or not path.is_file():
            continue
        exp = load_experiment(name)
        settings = exp.settings(preset)
        record = {"name": name, "preset": preset, "seed": experiment_seed(master_seed, name),
                  "settings": settings_record(settings)}
        old = _same_run(path, record)
        if old is None:
            print(f"rlstar: warning: {path} is not a result of this run's settings (another version of the code?); "
                  "it is left out of the report", file=sys.stderr)
            continue
        records.append(_reanalyzed(exp, settings, old, out / name))
    return records


def _reproduce(out: Path, names, preset, master_seed, device, progress, jobs: int = 1) -> dict:
    t0 = time.perf_counter()
    records = run_experiments(names, preset, out, master_seed, device, progress, jobs)
    others = stored_results(out, preset, master_seed, skip=names)  # the report covers the whole run in the folder
    if others:
        records = sorted(records + others, key=lambda r: EXPERIMENT_NAMES.index(r["name"]))
    import numpy
    import torch

    manifest = {
        "preset": preset,
        "master_seed": master_seed,
        "device": device,
        "experiments": {r["name"]: {"seed": r["seed"], "seconds": r.get("seconds"),
                                    "agree": all(f["agree"] for f in r["findings"])} for r in records},
        "findings": sum(len(r["findings"]) for r in records),
        "findings_agree": sum(bool(f["agree"]) for r in records for f in r["findings"]),
        "info": sum(len(r.get("info", [])) for r in records),
        "consistency": sum(len(r.get("consistency", [])) for r in records),
        "consistency_hold": sum(bool(c["holds"]) for r in records for c in r.get("consistency", [])),
        "seconds": round(time.perf_counter() - t0, 2),
        "jobs": jobs,
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__, "torch": torch.__version__},
    }
    write_json(out / "manifest.json", manifest)
    write_report(out, records, manifest)
    return manifest

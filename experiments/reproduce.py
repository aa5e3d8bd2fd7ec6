"""``rlstar reproduce``: run the experiments, write JSON, figures and the report.

Layout of the results folder::

    OUT/manifest.json          seed, preset, experiments, versions, timings
    OUT/<experiment>/result.json   every number the experiment computed, its settings and seed
    OUT/<experiment>/*.png     its figures
    OUT/report.md, OUT/report.html (figures embedded)

The folder must be new or empty, or one a ``reproduce`` run wrote (its marker file says so; see
:mod:`star_theory.outputs`); it is locked while the run goes on. Every file is written
atomically. An experiment whose ``result.json`` already exists for the same settings and seed is
not run again (a rerun after an interruption resumes where it stopped); its findings are
re-derived from the stored data by the current analysis, so the report always reflects the
analysis code. ``--force`` recomputes. The analysis always reads the data as stored (after a
JSON round trip), so a fresh run and a reused one give the same findings.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

from star_theory.io import dumps_json, write_json
from star_theory.outputs import claim_folder

from .framework import EXPERIMENT_NAMES, Context, experiment_seed, load_experiment, settings_record, split_results
from .report import write_report


def _same_run(path: Path, record: dict) -> dict | None:
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):  # unreadable or corrupted: computed again
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


def reproduce(out: str | Path, preset: str = "default", only: tuple[str, ...] | None = None,
              master_seed: int = 0, device: str = "cpu", progress: bool = True, force: bool = False) -> dict:
    """Run the selected experiments and write the manifest and the report; return the manifest."""
    names = tuple(dict.fromkeys(only)) if only else EXPERIMENT_NAMES  # each experiment once, in the order given
    for n in names:
        load_experiment(n)  # unknown names fail before anything runs
    own = (*EXPERIMENT_NAMES, "_llm", "manifest.json", "report.md", "report.html")
    # a new folder, or one a reproduce run wrote (its finished experiments are reused); locked meanwhile
    with claim_folder(out, "reproduce", own=own, config={"preset": preset, "master_seed": master_seed}, resume=True,
                      signature="manifest.json"):
        return _reproduce(Path(out), names, preset, master_seed, device, progress, force)


def _reproduce(out: Path, names, preset, master_seed, device, progress, force) -> dict:
    records = []
    t0 = time.perf_counter()
    for i, name in enumerate(names, 1):
        if progress:
            print(f"[{i}/{len(names)}] {name}", file=sys.stderr, flush=True)
        records.append(run_experiment(name, preset, out, master_seed, device, progress, force))
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
        "versions": {"python": platform.python_version(), "numpy": numpy.__version__, "torch": torch.__version__},
    }
    write_json(out / "manifest.json", manifest)
    write_report(out, records, manifest)
    return manifest

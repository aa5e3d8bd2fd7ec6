"""``rlstar reproduce``: registered through the ``rlstar.commands`` entry point."""

from __future__ import annotations

import argparse
from pathlib import Path

from star_theory.errors import InputError
from star_theory.io import dumps_json, read_json
from star_theory.tracking import add_log_dir_argument, open_tracker

from .framework import PRESETS
from .headline import quick_look
from .registry import EXPERIMENT_NAMES
from .reproduce import default_jobs, reproduce
from .tracking import log_reproduce


def _handler(args) -> int:
    if args.seed < 0:
        raise InputError(f"--seed must be non-negative, got {args.seed}")
    tracker = open_tracker(args.log_dir, {"--out": args.out})
    jobs = default_jobs(args.device) if args.jobs is None else args.jobs
    manifest = reproduce(args.out, preset=args.preset, only=args.only, master_seed=args.seed, device=args.device,
                         progress=not args.quiet, resume=args.resume, overwrite=args.overwrite, jobs=jobs)
    with tracker:
        log_reproduce(tracker, args.out, manifest)
    if args.format == "json":
        print(dumps_json(manifest))
    else:
        ok = sum(e["agree"] for e in manifest["experiments"].values())
        f_ok, f_all = manifest["findings_agree"], manifest["findings"]
        c_ok, c_all = manifest.get("consistency_hold", 0), manifest.get("consistency", 0)
        print(f"wrote {args.out}/report.md and report.html: {f_ok} of {f_all} findings agree with the theory; "
              f"{ok} of {len(manifest['experiments'])} experiments agree in every finding; {c_ok} of {c_all} "
              f"consistency checks (outside the tally) hold ({manifest['seconds']:.0f} s)")
        out = Path(args.out)
        records = [read_json(out / name / "result.json", "result.json") for name in manifest["experiments"]]
        print(quick_look(records, (out / "report.html").resolve()))
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "reproduce",
        help="run the experiments and write figures, JSON and a report",
        description="Run every experiment of the analysis (theory, simulator, LLM) and write a results folder "
        "with JSON for every number, a PNG for every figure, report.md and a self-contained report.html.",
    )
    p.add_argument("--preset", choices=PRESETS, default="default",
                   help="default: CPU, about 4 minutes on 2 cores; smoke: the tests' subset; paper: the analysis's scale (GPU); "
                   "full: llm_regimes at each regime's own scale with 4 seeds (the others as default)")
    p.add_argument("--only", nargs="+", choices=EXPERIMENT_NAMES, metavar="NAME",
                   help=f"run only these experiments ({', '.join(EXPERIMENT_NAMES)})")
    p.add_argument("--out", default="results", help="results folder (default: results)")
    p.add_argument("--seed", type=int, default=0, help="master seed; each experiment's seed derives from it (default: 0)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="device for the LLM experiments")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out (same --preset and --seed): finished experiments are reused, "
                   "the others run, and the report covers every experiment of the run in the folder")
    p.add_argument("--overwrite", "--force", dest="overwrite", action="store_true",
                   help="replace the reproduce run in --out, recomputing everything (only its own files are "
                   "removed); --force is an alias kept for old scripts")
    p.add_argument("--jobs", type=int, default=None,
                   help="worker processes running experiments at once (default: one per CPU, at most 4; 1 with "
                   "a GPU); the results do not depend on it")
    p.add_argument("--format", choices=("text", "json"), default="text", help="print a summary line or the manifest as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    add_log_dir_argument(p)
    p.set_defaults(func=_handler)

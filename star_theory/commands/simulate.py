"""``rlstar simulate``: finite-sample STaR (a variant, K samples per question, several seeds)."""

from __future__ import annotations

import argparse
import time

from ..config import command_config
from ..errors import InputError
from ..outputs import check_output_file
from ..sim.runner import SimulateConfig, simulate
from ..sim.table import format_table
from ..rules import make_rule
from ..tracking import Tracker, add_log_dir_argument, open_tracker
from ..variants import variant_parameters
from ._options import add_config_arguments, task_choices, write_outputs
from ._variants import variant_choices


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="finite-sample STaR over seeds beside its exact form and closed forms",
        description="Run a STaR variant exactly and with K sampled chains per question over several seeds; "
        "print a table (or JSON), optionally write the JSON result and a figure. Flags override --config.",
    )
    add_config_arguments(p, SimulateConfig, "simulate")
    variant_choices(p)
    task_choices(p, ("symmetric",))
    p.add_argument("--format", choices=("table", "json"), default="table", help="output on stdout (default: table)")
    p.add_argument("--out", metavar="FILE.json|DIR",
                   help="a path ending in .json: also write the JSON result there (atomically); any other path: a run "
                   "folder holding a checkpoint per seed and iteration (seed-<seed>.npz), run.json and, when done, result.json")
    p.add_argument("--resume", action="store_true",
                   help="continue the interrupted run in the --out DIR folder (same config); the result is bit-identical "
                   "to an uninterrupted run")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a previous simulate run in the --out DIR folder (only its own files are removed), or "
                   "an existing --out FILE.json / --plot FILE.png")
    p.add_argument("--plot", metavar="FILE.png", help="write a figure of the result")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                   help="progress bar on stderr (default: only on a terminal)")
    add_log_dir_argument(p)
    p.set_defaults(func=run)


def run(args) -> int:
    config = command_config(SimulateConfig, args, "simulate")
    folder = args.out if args.out and not args.out.lower().endswith(".json") else None
    tracker = open_tracker(args.log_dir, {"--out": args.out, "--plot": args.plot})
    if args.resume and folder is None:
        raise InputError(f"--resume needs --out DIR, the folder of the run to continue (not a .json file), got --out {args.out!r}")
    rule = make_rule(config.variant, **variant_parameters(config))  # a plug-in rule by name: the registry
    if args.out or args.plot:  # every value is checked before an existing file is refused
        config.check_memory()
        config.make_policy(config.make_task()[0])
        _check_files(args, folder)
    t0 = time.perf_counter()
    result = simulate(config, progress=args.progress, checkpoint=folder, resume=args.resume, overwrite=args.overwrite,
                      rule=rule)
    wall = time.perf_counter() - t0
    if not write_outputs(args, result, lambda path: _plot(result, path), args.out if folder is None else None):
        print(format_table(result))
    with tracker:
        log_simulation(tracker, result, wall, args.plot)
    return 0


def log_simulation(tracker: Tracker, result: dict, wall_s: float, plot: str | None = None) -> None:
    """Log a finished simulation: every number of each iteration row under ``simulate/`` at step
    ``t``, each seed's accuracy and kept count (``simulate/accuracy/seed_S``, ``simulate/kept/seed_S``),
    the wall time at the last step, and the figure ``plot`` (if any) as an image."""
    seeds = [f"seed_{s}" for s in result["seeds"]]
    for row in result["iterations"]:
        t = row["t"]
        tracker.record("simulate", row, t, skip=("t",))
        tracker.scalars("simulate/accuracy", dict(zip(seeds, (a[t] for a in result["accuracy_runs"]))), t)
        if t < len(result["kept_runs"][0]):
            tracker.scalars("simulate/kept", dict(zip(seeds, (k[t] for k in result["kept_runs"]))), t)
    last = result["iterations"][-1]["t"]
    tracker.scalars("simulate", {"wall_s": wall_s}, last)
    if plot:
        tracker.image("simulate/figure", plot, last)


def _plot(result: dict, path: str) -> None:
    from ..plots.simulation import plot_simulation  # matplotlib: only when a figure is asked for

    plot_simulation(result, path)


def _check_files(args, folder) -> None:
    """The single output files: new, or replaced only with --overwrite (before any work)."""
    if args.out and folder is None:
        check_output_file(args.out, args.overwrite)
    if args.plot:
        check_output_file(args.plot, args.overwrite)

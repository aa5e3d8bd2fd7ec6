"""``rlstar check``: run the theorem checks over the default grid and print a report."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from ..checks import run_default_checks
from ..config import add_arguments, check, coerce_fields, from_args, option, task_params_option, to_mapping
from ..io import dumps_json
from ..task_registry import describe_task, make_task, settle_task_fields
from ._options import task_choices


@dataclass(frozen=True)
class CheckConfig:
    seed: int = option(0, "seed of the random lam vectors and random general tabular tasks")
    cases: int = option(150, "number of random general tabular tasks (>= 1)")
    iterations: int = option(30, "STaR iterations per convergence run on general tasks (>= 1)")
    format: str = option("table", "output format", choices=("table", "json"))
    task: str | None = option(None, "check the claims on this registered task (zip, add, walk or a plug-in) from "
                              "mixture policies at lam in DEFAULT_GRID_LAM, instead of the default grid")
    task_params: dict[str, Any] = task_params_option(None)

    def __post_init__(self):
        coerce_fields(self)
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        check(1 <= self.cases <= 5000, f"cases must be in [1, 5000], got {self.cases}")
        check(1 <= self.iterations <= 1000, f"iterations must be in [1, 1000], got {self.iterations}")
        check(self.format in ("table", "json"), f"format must be table or json, got {self.format!r}")
        check(self.task is not None or not self.task_params, "--task-param needs --task")
        if self.task is not None:
            settle_task_fields(self)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "check",
        help="check the analysis's claims (improvement, convergence, robustness, pretrained quality)",
        description="Runs every theorem check over a default grid of the symmetric family and over "
        "random general tabular tasks; prints what holds, what fails and where. Exit status 1 "
        "if a derived theorem fails (a bug); failures of claims outside their proven range are findings.",
    )
    add_arguments(p, CheckConfig)
    task_choices(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = from_args(CheckConfig, args, source="check")
    if cfg.task is None:
        report = run_default_checks(seed=cfg.seed, n_cases=cfg.cases, iterations=cfg.iterations)
    else:
        from ..checks.report import CheckReport, task_rows

        task = make_task(cfg.task, cfg.task_params)
        report = CheckReport(task_rows(task.task, describe_task(cfg.task, cfg.task_params), cfg.iterations), cfg.seed)
    if cfg.format == "json":
        print(
            dumps_json(
                {
                    "settings": to_mapping(cfg),
                    "theorems_hold": report.theorems_hold,
                    "n_failures": report.n_failures,
                    "rows": list(report.rows),
                },
                indent=None,
            )
        )
    else:
        w1 = max(len(r.claim) for r in report.rows)
        w2 = max(len(r.setting) for r in report.rows)
        print(f"{'claim'.ljust(w1)}  {'setting'.ljust(w2)}  result    detail")
        for r in report.rows:
            result = "holds" if r.holds else ("FAILS" if r.must_hold else "fails*")
            print(f"{r.claim.ljust(w1)}  {r.setting.ljust(w2)}  {result.ljust(8)}  {r.detail}")
        print(
            f"# {len(report.rows)} checks, {report.n_failures} fail; seed {report.seed}. "
            "FAILS = a derived theorem fails (bug); fails* = the claim fails outside the range where it is proved (finding)."
        )
    return 0 if report.theorems_hold else 1

"""``rlstar bench NAME [options]``: the side-by-side speed benchmarks of :mod:`star_theory.benchmarks`.

The benchmark's module is imported only when it runs (and parses its own options there, so
``rlstar bench NAME --help`` lists them): registering the command loads nothing.
"""

from __future__ import annotations

import argparse
import importlib

from ..benchmarks import BENCHMARKS
from ..cli import OneLineParser

HELP = {
    "sampler": "vectorised chain sampling / STaR iteration vs a per-chain Generator.choice loop (one process)",
    "corpus": "rlstar corpus as a whole process vs a straightforward reference generator as its own process",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "bench", help="side-by-side speed benchmarks (print timings and ratios)",
        description="Side-by-side speed benchmarks: " + "; ".join(f"{n}: {HELP[n]}" for n in BENCHMARKS) + ".",
    )
    p.add_argument("benchmark", choices=BENCHMARKS, metavar="BENCHMARK", help=f"one of {', '.join(BENCHMARKS)}")
    p.add_argument("options", nargs=argparse.REMAINDER, help="the benchmark's options (rlstar bench BENCHMARK --help)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    module = importlib.import_module(f"{__package__.rpartition('.')[0]}.benchmarks.{args.benchmark}")
    parser = OneLineParser(prog=f"rlstar bench {args.benchmark}", description=(module.__doc__ or "").partition("\n")[0])
    module.add_arguments(parser)
    return module.main(parser.parse_args(args.options))

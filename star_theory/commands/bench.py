"""``rlstar bench sampler``: the sampler benchmark of ``benchmarks/bench_sampler.py``.

The benchmark code lives in the source tree's ``benchmarks/`` folder (it is not part of the
installed package); this command loads it from there, so it works from a source checkout.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARKS = {"sampler": "bench_sampler.py"}


def _load(name: str):
    from ..errors import InputError

    path = Path(__file__).resolve().parents[2] / "benchmarks" / BENCHMARKS[name]
    if not path.is_file():
        raise InputError(f"benchmark file not found: {path} (run from a source checkout of rlstar)")
    spec = importlib.util.spec_from_file_location(f"rlstar_benchmarks_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def register(subparsers) -> None:
    p = subparsers.add_parser("bench", help="side-by-side speed benchmarks (print timings and ratios)")
    sub = p.add_subparsers(dest="benchmark", required=True, metavar="BENCHMARK", parser_class=type(p))
    s = sub.add_parser("sampler", help="vectorised chain sampling / STaR iteration vs a per-chain Generator.choice loop")
    s.add_argument("--format", choices=("text", "json"), default="text")
    s.add_argument("--naive-chains", type=int, default=4096, help="chains the naive loop is timed on (then extrapolated)")
    s.add_argument("--repeats", type=int, default=3, help="vectorised runs (best is reported)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--min-ratio", type=float, default=100.0, help="exit status 1 when a ratio is below this")
    s.set_defaults(func=run)


def run(args) -> int:
    return _load(args.benchmark).main(args)

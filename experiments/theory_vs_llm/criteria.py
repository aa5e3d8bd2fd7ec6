"""Issue 9's done-criteria for the paper-cpu runs, computed from a results folder (JSON on stdout).

    python -m experiments.theory_vs_llm.criteria RESULTS

For each corpus lam: the largest count-weighted refit TV over iterations t >= 1 (target 0.03), the
largest distance of the LLM's exact J outside the 5-95% band of tabular STaR at the same K
(target 0.05), and the largest |J(LLM) - exact-operator prediction| (target 0.05, lam 0.2), plus
the wall time of each phase. These fixed targets are the project's acceptance targets; the experiment's own findings
use statistics of the run (analysis.py).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from llm.star import phase_walls
from star_theory.io import read_json


def criteria(result: dict) -> dict:
    out = {}
    for lam, r in (result["data"].get("paper_cpu") or {}).items():
        recs, sim = r["seeds"][0]["records"], r["simulated"]  # seed 0 (the criteria are per run)
        ex = np.array([x["exact_accuracy"] for x in recs])
        lo, hi = np.asarray(sim["lo"]), np.asarray(sim["hi"])
        outside = np.maximum(0.0, np.maximum(lo - ex, ex - hi))
        exact = np.asarray(r["prediction"]["kernel"]["accuracy"])
        tv = [x["refit_tv"] for x in recs[1:]]
        out[lam] = {
            "refit_tv_max": float(np.max(tv)), "refit_tv_target": 0.03,
            "band_excess_max": float(outside.max()), "band_target": 0.05, "band_seeds": len(sim["seeds"]),
            "exact_operator_gap_max": float(np.abs(ex - exact).max()),
            "exact_operator_gap_at": int(np.abs(ex - exact).argmax()),
            "wall_s": phase_walls(recs, 1),
        }
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m experiments.theory_vs_llm.criteria RESULTS", file=sys.stderr)
        return 2
    path = Path(args[0]) / "theory_vs_llm" / "result.json"
    try:
        result = read_json(path, "result.json")
    except (OSError, ValueError) as exc:  # InputError is a ValueError
        print(f"criteria: error: cannot read {path}: {type(exc).__name__}", file=sys.stderr)
        return 2
    print(json.dumps(criteria(result), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

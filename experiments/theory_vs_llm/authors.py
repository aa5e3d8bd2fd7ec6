"""A run of the authors' protocol (``--preset paper-cpu-authors``) beside the simulator's temperature variant.

    python -m experiments.theory_vs_llm.authors RUN_FOLDER [--seeds 8]

Prints, per iteration: the LLM's exact J and sampled accuracy, the temperature variant's exact
operator (J, and the accuracy of its tempered sampling policy) and the range of J over tabular
runs at the run's K, all started from the run's measured initial kernel.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from llm.star import iteration_dir, load_kernels
from star_theory import accuracy, make_variant
from star_theory.task_registry import record_task
from star_theory.io import read_json


def compare(run: Path, seeds: int = 8) -> dict:
    cfg = read_json(run / "star" / "run.json", "run.json")["config"]
    task = record_task(cfg).task
    recs = [json.loads(line) for line in (run / "star" / "metrics.jsonl").read_text().splitlines()]
    T, K = len(recs) - 1, cfg["samples_per_question"]
    v = make_variant("temperature", temperature=cfg["temperature"])
    p = p0 = load_kernels(iteration_dir(run / "star", 0))
    exact, tempered = [accuracy(p, task)], [accuracy(v.sampling_policy(p), task)]
    for _ in range(T):
        p = v.exact_step(p, task)
        exact.append(accuracy(p, task))
        tempered.append(accuracy(v.sampling_policy(p), task))
    runs = np.empty((seeds, T + 1))
    for i in range(seeds):
        rng, q = np.random.default_rng(i), p0
        runs[i, 0] = accuracy(q, task)
        for t in range(T):
            q = v.sampled_step(q, task, K, rng, "keep", 1.0).policy
            runs[i, t + 1] = accuracy(q, task)
    r4 = lambda a: np.round(a, 4).tolist()  # noqa: E731
    return {"temperature": cfg["temperature"], "K": K,
            "llm_exact_J": r4([x["exact_accuracy"] for x in recs]),
            "llm_sampled_accuracy": r4([x["sampled_accuracy"] for x in recs]),
            "variant_exact_J": r4(exact), "variant_exact_sampling_accuracy": r4(tempered),
            "variant_sampled_J_min": r4(runs.min(axis=0)), "variant_sampled_J_max": r4(runs.max(axis=0))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m experiments.theory_vs_llm.authors")
    ap.add_argument("run", help="folder of `rlstar llm run --preset paper-cpu-authors`")
    ap.add_argument("--seeds", type=int, default=8, help="tabular runs at the run's K")
    args = ap.parse_args(argv)
    print(json.dumps(compare(Path(args.run), args.seeds), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

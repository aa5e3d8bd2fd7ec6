"""Vectorised chain sampling against a per-chain Python loop, side by side in one process.

Two workloads at the analysis's scale (zip task, D = 3, b = 2: 64 questions, N = 3 steps,
M = 64 states; pretrained policy lam = 0.1):

* ``corpus``: 64 questions x 4096 chains x 3 steps (262,144 chains);
* ``star_iteration``: one finite-sample STaR iteration at K = 4096 chains per question
  (sample, keep the correct chains, count kept transitions, refit the kernels).

The *vectorised* side is :func:`star_theory.sampling.sample_chains` /
:func:`star_theory.variants.sampled_star_step`
(best of ``repeats`` runs). The *naive* side draws one step at a time with
``Generator.choice(M, p=row)`` in a Python loop over chains (and, for STaR, counts kept
transitions one by one); it is timed on ``naive_chains`` chains and extrapolated linearly to the
full count (the output says so). Run ``rlstar bench sampler [--format json]``. This is a
benchmark, not a test: it prints the timings and their ratio.
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..exact import refit_rows
from ..model import mixture_policy
from ..sampling import questions_for, sample_chains
from ..variants import sampled_star_step
from ..tasks import digit_task
from .timing import best_of, check_min_ratio, machine_info, report

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from star_theory import ReasoningTask
    from star_theory import TabularPolicy

QUESTIONS_K = 4096
LAM = 0.1


def _setup():
    dt = digit_task("zip", 3, 2)
    return dt.task, mixture_policy(dt.task, lam=LAM)


def naive_chains(policy: TabularPolicy, task: ReasoningTask, questions: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """One chain at a time, one step at a time, with ``Generator.choice``."""
    out = np.empty((questions.size, task.n_steps + 1), dtype=np.int64)
    for i, s0 in enumerate(questions):
        s = int(s0)
        out[i, 0] = s
        for n, k in enumerate(policy.kernels):
            s = int(rng.choice(k.shape[1], p=k[s]))
            out[i, n + 1] = s
    return out


def naive_star_iteration(policy: TabularPolicy, task: ReasoningTask, questions: np.ndarray,
                         rng: np.random.Generator) -> TabularPolicy:
    """Per-chain loop: sample step by step, keep if correct, count kept transitions, refit."""
    counts = [np.zeros_like(k) for k in policy.kernels]
    answers = task.answers
    for s0 in questions:
        s = int(s0)
        chain = [s]
        for k in policy.kernels:
            s = int(rng.choice(k.shape[1], p=k[s]))
            chain.append(s)
        if chain[-1] == answers[int(s0)]:
            for n in range(task.n_steps):
                counts[n][chain[n], chain[n + 1]] += 1
    return refit_rows(counts, policy)


def run(naive_chains_timed: int = 4096, repeats: int = 3, seed: int = 0, min_ratio: float = 100.0) -> dict:
    """Time both workloads; returns a JSON-ready dict with the timings and ratios."""
    task, policy = _setup()
    questions = questions_for(task, QUESTIONS_K)
    n_total = questions.size
    n_naive = int(min(naive_chains_timed, n_total))
    rng = np.random.default_rng(seed)
    subset = rng.choice(questions, size=n_naive, replace=False) if n_naive < n_total else questions
    scale = n_total / n_naive

    def compare(workload: str, fast, naive) -> dict:
        vec = best_of(fast, repeats)
        t = time.perf_counter()
        naive()
        slow = (time.perf_counter() - t) * scale
        return {"workload": workload, "chains": n_total, "vectorised_s": vec, "naive_s": slow, "ratio": slow / vec}

    results = {
        "corpus": compare(
            f"{task.sizes[0]} questions x {QUESTIONS_K} chains x {task.n_steps} steps (zip D=3 b=2, lam={LAM})",
            lambda: sample_chains(policy, task, QUESTIONS_K, rng), lambda: naive_chains(policy, task, subset, rng)),
        "star_iteration": compare(
            f"one finite-sample STaR iteration, K={QUESTIONS_K} per question (sample, filter, count, refit)",
            lambda: sampled_star_step(policy, task, QUESTIONS_K, rng), lambda: naive_star_iteration(policy, task, subset, rng)),
    }
    for r in results.values():
        r["naive_extrapolated"] = n_naive < n_total
        r["naive_chains_timed"] = n_naive
    return {
        "benchmark": "sampler",
        "note": (f"naive loop timed on {n_naive} of {n_total} chains and extrapolated linearly (x{scale:g})"
                 if n_naive < n_total else "naive loop timed on all chains"),
        "vectorised_repeats": repeats,
        "seed": seed,
        "min_ratio": min_ratio,
        "meets_min_ratio": all(r["ratio"] >= min_ratio for r in results.values()),
        "machine": machine_info(),
        **results,
    }


def format_text(res: dict) -> str:
    lines = [f"# sampler benchmark ({res['note']}; vectorised: best of {res['vectorised_repeats']})",
             f"# machine: {res['machine']['processor']}, {res['machine']['cpu_count']} CPUs, numpy {res['machine']['numpy']}"]
    for key in ("corpus", "star_iteration"):
        r = res[key]
        lines.append(f"{key:>15}: vectorised {r['vectorised_s'] * 1e3:8.1f} ms   naive {r['naive_s']:8.2f} s   "
                     f"ratio {r['ratio']:7.0f}x   ({r['workload']})")
    lines.append(f"# ratio >= {res['min_ratio']:g}x: {'yes' if res['meets_min_ratio'] else 'NO'}")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: a readable summary with the ratio; json: every timing as one JSON object (default: text)")
    p.add_argument("--naive-chains", type=int, default=4096, help="chains the naive loop is timed on (then extrapolated)")
    p.add_argument("--repeats", type=int, default=3, help="vectorised runs (best is reported)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random generator of the timed chains and of the naive loop's subset (default: 0)")
    p.add_argument("--min-ratio", type=float, default=100.0, help="exit status 1 when a ratio is below this")


def main(args: argparse.Namespace) -> int:
    if args.naive_chains < 1 or args.repeats < 1:
        raise InputError(f"--naive-chains and --repeats must be >= 1, got {args.naive_chains}, {args.repeats}")
    res = run(args.naive_chains, args.repeats, args.seed, check_min_ratio(args.min_ratio))
    return report(res, args.format, format_text)


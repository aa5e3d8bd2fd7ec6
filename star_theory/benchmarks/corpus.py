"""``rlstar corpus`` as a whole process against the reference generator, side by side in one run.

Workload (the analysis's pretraining corpus by default): the zip task with ``D = 3`` digits in
base ``b = 2`` (64 questions, N = 3 steps, M = 64 states per level), the pretrained policy
``P_n = lam P_n* + (1 - lam) U`` with ``lam = 0.5``, ``K = 4096`` chains per question
(262,144 chains), written as an ``rlstar-corpus/1`` file.

Both sides run as their own process with this Python (:data:`sys.executable`), and each is
timed from start to exit (interpreter start, imports, sampling, writing the file):

* **rlstar**: ``python -m star_theory.cli corpus --task zip ... --out F`` (what ``rlstar corpus``
  runs);
* **reference**: :mod:`star_theory.benchmarks.reference_corpus` run as a script, a stand-in for
  the RL-STaR authors' generator (not available here) written the straightforward way: one
  ``numpy.random.Generator.choice(M, p=row)`` per chain and step, then the same file format.

Both run with byte code cached in the benchmark's temporary folder (``PYTHONPYCACHEPREFIX``, and
``PYTHONDONTWRITEBYTECODE`` unset), as an installed package runs from compiled byte code, warmed
by one untimed ``K = 1`` run of each side; nothing is written outside that folder. The two sides
then alternate for ``repeats`` rounds; the best time of each is reported with the ratio
reference / rlstar. Both files are read back with :func:`star_theory.sim.corpus.read_corpus`:
``same_metadata`` says whether their metadata are equal, and ``correct_step_rate`` gives, per
file, the share of sampled steps that land on the correct state beside its expectation
``lam + (1 - lam) / M`` and the binomial standard error (information: the two draw from the same
policy). ``load_average`` (before and after) says how busy the machine was. Run ``rlstar bench
corpus [--format json] [--min-ratio 40]``.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..sim.corpus import read_corpus
from ..tasks import digit_task
from . import reference_corpus
from .timing import machine_info, report


def commands(out_rlstar: str, out_reference: str, digits: int, base: int, lam: float, K: int, seed: int) -> dict:
    """The two command lines, same workload, each writing its own file."""
    workload = ["--digits", str(digits), "--base", str(base), "--lam", repr(lam), "--chains-per-question", str(K),
                "--seed", str(seed)]
    return {
        "rlstar": [sys.executable, "-m", "star_theory.cli", "corpus", "--task", "zip", *workload, "--out", out_rlstar,
                   "--overwrite"],
        "reference": [sys.executable, reference_corpus.__file__, *workload, "--out", out_reference],
    }


def bytecode_env(folder: str) -> dict:
    """This process's environment with byte code cached under ``folder`` (module docstring)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = folder
    return env


def time_process(cmd: list[str], env: dict | None = None) -> float:
    """Wall time of one process from start to exit (seconds); a failing process raises
    :class:`~star_theory.errors.InputError` with the last line it printed on stderr."""
    t = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise InputError(f"{' '.join(cmd[1:4])} ... exited with status {done.returncode}: {tail[0]}")
    return wall


def correct_step_rate(chains: np.ndarray, digits: int, base: int, lam: float) -> dict:
    r"""Share of sampled steps that land on the correct state, its expectation
    :math:`\lambda + (1-\lambda)/M` and the binomial standard error of the share."""
    task = digit_task("zip", digits, base).task
    M = task.sizes[1]
    right = np.stack([task.maps[n][chains[:, n]] == chains[:, n + 1] for n in range(task.n_steps)])
    expected = lam + (1 - lam) / M
    return {"observed": float(right.mean()), "expected": expected,
            "standard_error": math.sqrt(expected * (1 - expected) / right.size)}


def run(digits: int = 3, base: int = 2, lam: float = 0.5, chains_per_question: int = 4096, seed: int = 0,
        repeats: int = 3, min_ratio: float = 40.0) -> dict:
    """Time both processes ``repeats`` times, alternating; returns a JSON-ready dict."""
    load_before = os.getloadavg()
    best = {"rlstar": math.inf, "reference": math.inf}
    with tempfile.TemporaryDirectory(prefix="rlstar-bench-corpus-") as tmp:
        out = {side: str(Path(tmp) / f"{side}.csv") for side in best}
        env = bytecode_env(str(Path(tmp) / "pycache"))
        for cmd in commands(out["rlstar"], out["reference"], digits, base, lam, 1, seed).values():
            time_process(cmd, env)  # warm-up: compiles and caches the byte code of both sides
        cmds = commands(out["rlstar"], out["reference"], digits, base, lam, chains_per_question, seed)
        for _ in range(repeats):
            for side in ("reference", "rlstar"):
                best[side] = min(best[side], time_process(cmds[side], env))
        files = {side: read_corpus(path) for side, path in out.items()}
        same_metadata = files["rlstar"][0] == files["reference"][0]
        rates = {side: correct_step_rate(chains, digits, base, lam) for side, (_, chains) in files.items()}
        n_chains = int(files["rlstar"][1].shape[0])
        shown = {side: " ".join(["python", *cmd[1:]]).replace(out[side], "F") for side, cmd in cmds.items()}
    ratio = best["reference"] / best["rlstar"]
    return {
        "benchmark": "corpus",
        "workload": f"zip D={digits} b={base}, lam={lam:g}, K={chains_per_question} chains per question "
                    f"({n_chains} chains), seed {seed}",
        "n_chains": n_chains,
        "repeats": repeats,
        "bytecode": "cached in the run's temporary folder (PYTHONPYCACHEPREFIX), warmed by one K=1 run of each side",
        "rlstar_s": best["rlstar"],
        "reference_s": best["reference"],
        "ratio": ratio,
        "min_ratio": min_ratio,
        "meets_min_ratio": ratio >= min_ratio,
        "same_metadata": same_metadata,
        "correct_step_rate": rates,
        "commands": shown,
        "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
        "machine": machine_info(),
    }


def format_text(res: dict) -> str:
    """A few lines: workload, both best times, the ratio and whether it meets ``min_ratio``."""
    load = res["load_average"]
    return "\n".join([
        f"# corpus benchmark: {res['workload']}; whole processes, best of {res['repeats']}",
        f"# machine: {res['machine']['processor']}, {res['machine']['cpu_count']} CPUs; load average "
        f"{load['before'][0]:.2f} before, {load['after'][0]:.2f} after; same metadata: "
        f"{'yes' if res['same_metadata'] else 'NO'}",
        f"reference generator (Generator.choice per step): {res['reference_s']:8.3f} s",
        f"rlstar corpus:                                   {res['rlstar_s']:8.3f} s",
        f"ratio {res['ratio']:.1f}x (>= {res['min_ratio']:g}x: {'yes' if res['meets_min_ratio'] else 'NO'})",
    ])


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--format", choices=("text", "json"), default="text",
                   help="text: a readable summary with the ratio; json: every timing as one JSON object (default: text)")
    p.add_argument("--digits", type=int, default=3, help="digits D of the zip task")
    p.add_argument("--base", type=int, default=2, help="base b of the zip task")
    p.add_argument("--lam", type=float, default=0.5, help="mixture weight lam of the pretrained policy")
    p.add_argument("--chains-per-question", type=int, default=4096, help="K: chains per question")
    p.add_argument("--seed", type=int, default=0, help="seed passed to both corpus generators (default: 0)")
    p.add_argument("--repeats", type=int, default=3, help="rounds of both processes (the best of each is reported)")
    p.add_argument("--min-ratio", type=float, default=40.0, help="exit status 1 when reference/rlstar is below this")


def main(args: argparse.Namespace) -> int:
    if args.repeats < 1 or args.chains_per_question < 1:
        raise InputError(f"--repeats and --chains-per-question must be >= 1, got {args.repeats}, {args.chains_per_question}")
    res = run(args.digits, args.base, args.lam, args.chains_per_question, args.seed, args.repeats, args.min_ratio)
    return report(res, args.format, format_text)


"""Reference corpus generator: the straightforward way to write the analysis's pretraining corpus.

This stands in for the RL-STaR authors' data generator, which is not available here; it is
written the way such a generator is usually written, and it is the baseline that ``rlstar bench
corpus`` times ``rlstar corpus`` against. It is a standalone script (numpy and the standard
library only; it does not import ``star_theory``), run as its own process::

    python reference_corpus.py --digits 3 --base 2 --lam 0.5 --chains-per-question 4096 --seed 0 --out F

What it does, in order:

1. builds the zip task's correct transitions from the digits (level ``n`` holds ``2D`` base-``b``
   digits ``x_1 y_1 .. x_n y_n | x_{n+1}..x_D | y_{n+1}..y_D``, most significant first; step
   ``n`` moves the pair ``(x_n, y_n)`` into the zipped prefix) and, for each step, the dense
   ``M x M`` kernel of the pretrained policy ``P_n = lam P_n* + (1 - lam) U_M``;
2. for each question ``s0`` (in increasing order), for each of the ``K`` chains, for each step,
   draws the next state with ``numpy.random.Generator.choice(M, p=row)`` from one
   ``default_rng(seed)``;
3. writes the ``rlstar-corpus/1`` format of :mod:`star_theory.sim.corpus`: a ``# {json}``
   metadata line with the same keys ``rlstar corpus`` writes, the header ``s0,...,sN``, then one
   ``s0,s1,...,sN`` line per chain.

Same workload and same file format as ``rlstar corpus --task zip``; the draws differ (a
different sampler consumes the generator differently), so the two files are not byte-equal.
"""

import argparse
import json
import os
from typing import Sequence

import numpy as np


def zip_next_state(state: int, step: int, digits: int, base: int) -> int:
    """The correct state after step ``step`` (1..D) of the zip task from ``state`` at level ``step - 1``."""
    width = 2 * digits
    d = [(state // base ** (width - 1 - i)) % base for i in range(width)]  # most significant first
    prefix = d[: 2 * (step - 1)]
    xs = d[2 * (step - 1) : 2 * (step - 1) + digits - step + 1]
    ys = d[2 * (step - 1) + digits - step + 1 :]
    new = prefix + [xs[0], ys[0]] + xs[1:] + ys[1:]
    value = 0
    for v in new:
        value = value * base + v
    return value


def zip_kernels(digits: int, base: int, lam: float) -> list:
    """One ``M x M`` kernel per step: ``lam`` on the correct next state plus ``(1 - lam) / M`` everywhere."""
    M = base ** (2 * digits)
    kernels = []
    for step in range(1, digits + 1):
        kernel = np.full((M, M), (1.0 - lam) / M)
        for s in range(M):
            kernel[s, zip_next_state(s, step, digits, base)] += lam
        kernels.append(kernel)
    return kernels


def generate(digits: int, base: int, lam: float, chains_per_question: int, seed: int) -> list:
    """Every chain, question by question: ``K`` chains per question, one ``choice`` per step."""
    M = base ** (2 * digits)
    kernels = zip_kernels(digits, base, lam)
    rng = np.random.default_rng(seed)
    chains = []
    for s0 in range(M):
        for _ in range(chains_per_question):
            chain = [s0]
            state = s0
            for kernel in kernels:
                state = int(rng.choice(M, p=kernel[state]))
                chain.append(state)
            chains.append(chain)
    return chains


def metadata(digits: int, base: int, lam: float, chains_per_question: int, seed: int) -> dict:
    """The ``rlstar-corpus/1`` metadata of this workload (the keys ``rlstar corpus`` writes)."""
    M = base ** (2 * digits)
    return {
        "format": "rlstar-corpus/1", "task": "zip", "digits": digits, "base": base, "n_steps": digits,
        "level_sizes": [M] * (digits + 1), "lam": [lam] * digits, "eps": [lam * (M - 1) / M] * digits,
        "convention": "lam", "chains_per_question": chains_per_question, "n_questions": M,
        "n_chains": M * chains_per_question, "seed": seed,
    }


def write(path: str, meta: dict, chains: list) -> None:
    """The metadata line, the header and one comma-separated line per chain."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("# " + json.dumps(meta, separators=(",", ":")) + "\n")
        fh.write(",".join(f"s{n}" for n in range(meta["n_steps"] + 1)) + "\n")
        for chain in chains:
            fh.write(",".join(str(s) for s in chain) + "\n")
    os.replace(tmp, path)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--digits", type=int, default=3)
    p.add_argument("--base", type=int, default=2)
    p.add_argument("--lam", type=float, default=0.5)
    p.add_argument("--chains-per-question", type=int, default=4096)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    chains = generate(a.digits, a.base, a.lam, a.chains_per_question, a.seed)
    write(a.out, metadata(a.digits, a.base, a.lam, a.chains_per_question, a.seed), chains)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

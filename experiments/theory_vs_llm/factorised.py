"""Is a measured kernel in the symmetric family, or factorised per character? (JSON on stdout)

    python -m experiments.theory_vs_llm.factorised RUN_FOLDER     # a `rlstar llm run` folder

For every iteration and step: the mean TV distance of the measured kernel from its symmetric fit
(``family_distance``, :func:`star_theory.fit_symmetric`) and from its per-character factorisation
(each row replaced by the product of its own per-character marginals over the characters that vary
between the level's states), and the same two distances for the symmetric-family kernel with the
fitted lam (a reference: the family itself is not factorised, the distance says by how much).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from llm.star import finished_iterations, iteration_dir, load_kernels
from llm.tasks import get_task
from star_theory import fit_symmetric, symmetric_policy
from star_theory.io import read_json


def characters(strings) -> np.ndarray:
    """``(M, J)`` the characters of each state string at the positions where the states differ."""
    chars = np.array([list(s) for s in strings])
    vary = [j for j in range(chars.shape[1]) if len(set(chars[:, j])) > 1]
    return chars[:, vary]


def factorised_distance(kernel: np.ndarray, chars: np.ndarray) -> float:
    """Mean over rows of TV(row, product of the row's per-character marginals)."""
    tv = []
    for row in kernel:
        prod = np.ones_like(row)
        for j in range(chars.shape[1]):
            col = chars[:, j]
            marg = {c: row[col == c].sum() for c in set(col)}
            prod *= np.array([marg[c] for c in col])
        tv.append(0.5 * np.abs(row - prod).sum())
    return float(np.mean(tv))


def analyse(run: Path) -> dict:
    cfg = read_json(run / "star" / "run.json", "run.json")["config"]
    tt = get_task(cfg["task"], cfg["digits"], cfg["base"])
    chars = [characters(tt.state_strings(n)) for n in range(tt.n_steps + 1)]
    out = {"tokenization": cfg["tokenization"], "iterations": {}}
    for t in finished_iterations(run / "star"):
        p = load_kernels(iteration_dir(run / "star", t))
        fit = fit_symmetric(p, tt.task)
        ref = symmetric_policy(tt.task, lam=np.clip(fit.lam, -1 / (tt.task.sizes[0] - 1), 1))
        out["iterations"][t] = {
            "lam": np.round(fit.lam, 4).tolist(),
            "family_distance": np.round(fit.distance, 4).tolist(),
            "factorised_distance": [round(factorised_distance(k, chars[n + 1]), 4) for n, k in enumerate(p.kernels)],
            "family_kernel_factorised_distance": [round(factorised_distance(k, chars[n + 1]), 4)
                                                  for n, k in enumerate(ref.kernels)],
        }
    return out


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m experiments.theory_vs_llm.factorised RUN_FOLDER", file=sys.stderr)
        return 2
    print(json.dumps(analyse(Path(args[0])), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

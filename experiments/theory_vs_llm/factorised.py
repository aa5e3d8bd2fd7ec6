"""Is a measured kernel in the symmetric family, or factorised per character? (JSON on stdout)

    python -m experiments.theory_vs_llm.factorised RUN_FOLDER     # a `rlstar llm run` folder
    python -m experiments.theory_vs_llm.factorised --out DIR --seeds 0 1 2 3 --lengths 500 1500

For every iteration and step: the mean TV distance of the measured kernel from its symmetric fit
(``family_distance``, :func:`star_theory.fit_symmetric`) and from its per-character factorisation
(each row replaced by the product of its own per-character marginals over the characters that vary
between the level's states), and the same two distances for the symmetric-family kernel with the
fitted lam (a reference: the family itself is not factorised, the distance says by how much).

The second form pretrains one model per LLM seed and pretraining length (the ``symbol-cpu`` preset
with ``--pretrain-steps LENGTH --seed SEED``, each in ``DIR/steps<LENGTH>_seed<SEED>``; a finished
folder is reused), measures each pretrained kernel exactly and reports, per length, the mean,
standard deviation, minimum and maximum over the seeds of both distances per step
(:func:`across_seeds`; written to ``DIR/factorised.json`` and printed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from llm.config import make_config, to_record
from llm.device import resolve_device
from llm.measure import measure
from llm.model import load_checkpoint
from llm.pretrain import pretrain
from llm.star import finished_iterations, iteration_dir, load_kernels
from star_theory.task_registry import record_task
from llm.tokenizer import state_table
from star_theory import InputError, fit_symmetric, symmetric_policy
from star_theory.io import read_json, write_json


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
    tt = record_task(cfg)
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


def kernel_distances(policy, text_task) -> dict:
    """Per step: mean TV of the kernel from its symmetric fit and from its per-character product."""
    chars = [characters(text_task.state_strings(n)) for n in range(text_task.n_steps + 1)]
    fit = fit_symmetric(policy, text_task.task)
    return {"lam": [float(x) for x in fit.lam], "family_distance": [float(x) for x in fit.distance],
            "factorised_distance": [factorised_distance(k, chars[n + 1]) for n, k in enumerate(policy.kernels)]}


def spread(values) -> dict:
    """Mean, standard deviation (ddof 1), minimum and maximum over seeds, per step (``values``: (S, N))."""
    v = np.asarray(values, dtype=float)
    return {"mean": v.mean(axis=0).tolist(), "std": (v.std(axis=0, ddof=1) if len(v) > 1 else 0 * v[0]).tolist(),
            "min": v.min(axis=0).tolist(), "max": v.max(axis=0).tolist()}


RUNTIME = ("threads", "progress", "device", "batch_size")  # settings that do not change the model


def pretrained_run(out: Path, seed: int, length: int, preset: str, overrides: dict) -> dict:
    """Pretrain (or reuse a finished) ``preset`` model of ``seed`` and ``length`` steps in ``out``;
    its exact kernel's distances, the fit's gap and steps, and the pretraining's wall time."""
    cfg = make_config(preset_name=preset, values={}, pretrain_steps=length, seed=seed, iterations=0,
                      progress=False, **overrides)
    if not (out / "pretrain.json").is_file():  # new, or our own unfinished pretraining (its marker)
        pretrain(cfg, out, overwrite=out.exists())
    summary = json.loads((out / "pretrain.json").read_text())
    wanted = {k: v for k, v in to_record(cfg).items() if k not in RUNTIME}
    found = {k: v for k, v in summary.get("config", {}).items() if k not in RUNTIME}
    if make_config(values=found, source=str(out)) != make_config(values=wanted, source=str(out)):
        raise InputError(f"{out} holds a pretraining with other settings; remove it or give another --out")
    model, tokenizer, spec = load_checkpoint(out)
    text_task = spec.text_task()
    m = measure(model, text_task, state_table(text_task, tokenizer), resolve_device("cpu"), cfg.batch_size)
    return {"seed": seed, "steps": summary.get("fit_steps"), "gap": summary.get("fit_gap"),
            "stopped": summary.get("fit_stopped"), "wall_s": summary.get("wall_s"),
            **kernel_distances(m.policy, text_task)}


def across_seeds(out, seeds, lengths, preset: str = "symbol-cpu", **overrides) -> dict:
    """The factorisation measurement over ``seeds`` x ``lengths`` pretrainings (see the module)."""
    out = Path(out)
    if not seeds or not lengths:
        raise InputError("give at least one seed and one length")
    result = {"preset": preset, "overrides": overrides, "seeds": list(seeds), "lengths": {}}
    for length in lengths:
        runs = [pretrained_run(out / f"steps{length}_seed{seed}", seed, length, preset, overrides) for seed in seeds]
        result["lengths"][str(length)] = {
            "runs": runs,
            **{key: spread([r[key] for r in runs]) for key in ("factorised_distance", "family_distance", "lam")},
            "gap": spread([[r["gap"]] for r in runs]),
        }
    write_json(out / "factorised.json", result)
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m experiments.theory_vs_llm.factorised",
                                     description="distance of measured kernels from the per-character product")
    parser.add_argument("run", nargs="?", help="a `rlstar llm run` folder (every iteration's kernel)")
    parser.add_argument("--out", help="pretrain over --seeds x --lengths into this folder instead")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3], help="LLM seeds")
    parser.add_argument("--lengths", type=int, nargs="+", default=[500, 1500], help="pretraining step caps")
    parser.add_argument("--preset", default="symbol-cpu", help="the LLM preset pretrained")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if (args.run is None) == (args.out is None):
        parser.error("give a RUN_FOLDER or --out DIR")
    try:
        if args.run:
            result = analyse(Path(args.run))
        else:
            t0 = time.perf_counter()
            result = across_seeds(args.out, args.seeds, args.lengths, args.preset, threads=args.threads)
            result["wall_s"] = time.perf_counter() - t0
    except InputError as exc:
        print(f"factorised: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

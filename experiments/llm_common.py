"""LLM runs shared by the experiments, and the simulator's prediction at the LLM's sample size.

:func:`llm_run` pretrains a model and runs STaR on it (``llm.pretrain`` + ``llm.star``) in a
folder keyed by the run's full configuration under ``OUT/_llm/``: experiments that ask for the
same run (the same settings and seed) share it, and an interrupted run resumes. The seed of a
run derives from the master seed and the corpus, not from the experiment, for that sharing.

The finite-sample theory beside the LLM (:func:`star_theory.sim.tabular_star_runs`): tabular STaR with the
same ``K`` chains per question, started from the MEASURED initial kernel of the model.
"""

from __future__ import annotations

import hashlib
import json
import os

import numpy as np

from star_theory.io import dumps_json
from star_theory.seeds import derive_seed


def llm_config(base: dict, seed: int, device: str, progress: bool):
    """The tiny-preset config with ``base`` overrides (lam as a tuple), the seed and the device."""
    from llm.config import make_config

    values = {k: tuple(v) if isinstance(v, list) else v for k, v in base.items()
              if k not in ("seed", "device", "progress")}  # a preset's runtime values give way to the context's
    return make_config(preset_name="tiny", seed=seed, device=device, progress=progress, **values)


def run_seed(master_seed: int, base: dict) -> int:
    """Seed of an LLM run: from the master seed and the run's settings (shared across experiments)."""
    return derive_seed(master_seed, "llm", dumps_json(base, indent=None))


def llm_run(ctx, base: dict) -> dict:
    """Pretrain + STaR for the settings ``base`` (overrides of the tiny preset); cached under ``OUT/_llm``."""
    from llm.config import to_record
    from llm.pretrain import pretrain
    from llm.star import load_kernels, iteration_dir, run_star

    cfg = llm_config(base, run_seed(ctx.master_seed, base), ctx.device, ctx.progress)
    record = {k: v for k, v in to_record(cfg).items() if k not in ("progress", "device")}
    key = hashlib.sha256(dumps_json(record, indent=None).encode()).hexdigest()[:12]
    folder = ctx.out.parent / "_llm" / key
    pre, star = folder / "pretrained", folder / "star"
    if not (pre / "pretrain.json").is_file():
        pretrain(cfg, pre, overwrite=True)  # a pretraining cut short is redone (our own folder)
    records = run_star(cfg, pre, star, resume=True)
    prediction = json.loads((star / "prediction.json").read_text())
    p0 = load_kernels(iteration_dir(star, 0))
    return {"folder": os.fspath(folder), "config": record, "records": records, "prediction": prediction,
            "initial_policy": p0}


def chains_per_question(record: dict, task) -> int:
    """K of an LLM run: sampled chains of an iteration over the number of questions."""
    return int(round(record["chains"] / int(np.count_nonzero(task.question_dist > 0))))


def text_task_of(config: dict):
    from llm.tasks import get_task

    return get_task(config["task"], config["digits"], config["base"])


def draw_llm_accuracy(ax, records: list[dict], sim: dict, K: int, lines=()) -> None:
    """One accuracy panel of an LLM run: theory lines, tabular STaR at the LLM's K as a band, the
    LLM as markers (sampled accuracy with a 95% binomial interval, exact J of its measured kernel).

    ``lines``: ``(label, values, style, color)`` for each theory curve drawn from iteration 0.
    """
    from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL

    for label, values, style, color in lines:
        ax.plot(np.arange(len(values)), values, style, color=color, label=label)
    st = np.arange(len(sim["mean"]))
    ax.fill_between(st, sim["lo"], sim["hi"], color="tab:green", alpha=0.2)
    ax.plot(st, sim["mean"], ":", color="tab:green", label=f"theory: tabular STaR, K={K}, 90% band of {len(sim['seeds'])} runs")
    t = np.array([x["iteration"] for x in records])
    acc = np.array([x["sampled_accuracy"] for x in records])
    se = np.array([x["sampled_accuracy_se"] for x in records])
    ax.errorbar(t, acc, yerr=1.96 * se, fmt="o", color="tab:blue", capsize=3, label="LLM: sampled accuracy (95% CI)")
    ax.plot(t, [x["exact_accuracy"] for x in records], "s", mfc="none", color="tab:red", label="LLM: exact J of measured kernel")
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))

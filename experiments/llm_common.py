"""LLM runs shared by the experiments, and the simulator's prediction at the LLM's sample size.

:func:`llm_run` pretrains a model and runs STaR on it (``llm.pretrain`` + ``llm.star``) in a
folder keyed by the run's full configuration under ``OUT/_llm/``: experiments that ask for the
same run (the same settings and seed) share it, and an interrupted run resumes. The seed of a
run derives from the master seed and the corpus, not from the experiment, for that sharing.

:func:`llm_case` is the recipe every LLM experiment follows: the run, its task in string form,
its ``K`` (chains per question), and beside it the finite-sample theory
(:func:`star_theory.sim.tabular_star_runs`): tabular STaR with the same ``K``, started from the
MEASURED initial kernel of the model (as :func:`llm.star.run_star` returns it).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from llm.config import make_config, to_record
from llm.pretrain import pretrain
from llm.star import run_star
from llm.tasks import get_task
from star_theory.io import dumps_json
from star_theory.seeds import derive_seed
from star_theory.sim import tabular_star_runs


def llm_config(base: dict, seed: int, device: str, progress: bool):
    """The tiny-preset config with ``base`` overrides (lam as a tuple), the seed and the device."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in base.items()
              if k not in ("seed", "device", "progress")}  # a preset's runtime values give way to the context's
    return make_config(preset_name="tiny", seed=seed, device=device, progress=progress, **values)


def run_seed(master_seed: int, base: dict) -> int:
    """Seed of an LLM run: from the master seed and the run's settings (shared across experiments)."""
    return derive_seed(master_seed, "llm", dumps_json(base, indent=None))


def llm_run(ctx, base: dict) -> dict:
    """Pretrain + STaR for the settings ``base`` (overrides of the tiny preset); cached under ``OUT/_llm``.

    Returns the run's ``folder``, ``config`` record, ``records``, ``prediction``, ``policies`` (the
    measured kernels of every iteration) and ``initial_policy`` (iteration 0's), as
    :func:`llm.star.run_star` returns them.
    """
    cfg = llm_config(base, run_seed(ctx.master_seed, base), ctx.device, ctx.progress)
    record = {k: v for k, v in to_record(cfg).items() if k not in ("progress", "device")}
    key = hashlib.sha256(dumps_json(record, indent=None).encode()).hexdigest()[:12]
    folder = ctx.out.parent / "_llm" / key
    pre, star = folder / "pretrained", folder / "star"
    if not (pre / "pretrain.json").is_file():
        pretrain(cfg, pre, overwrite=True)  # a pretraining cut short is redone (our own folder)
    run = run_star(cfg, pre, star, resume=True)
    return {"folder": os.fspath(folder), "config": record, "records": run.records, "prediction": run.prediction,
            "policies": run.policies, "initial_policy": run.policies[0]}


def llm_case(ctx, base: dict, seeds, iterations: int | None = None) -> dict:
    """The LLM case of an experiment: :func:`llm_run` for ``base``, plus its task in string form
    (``text_task``), ``K`` (chains per question of its iterations) and ``simulated``: tabular STaR
    at that ``K`` from the run's measured initial kernel, one run per seed of ``seeds``, over
    ``iterations`` (default: the run's own)."""
    run = llm_run(ctx, base)
    text_task = text_task_of(run["config"])
    K = chains_per_question(run["records"][0], text_task.task)
    T = run["config"]["iterations"] if iterations is None else iterations
    simulated = tabular_star_runs(run["initial_policy"], text_task.task, K, T, list(seeds))
    return {**run, "text_task": text_task, "K": K, "simulated": simulated}


def chains_per_question(record: dict, task) -> int:
    """K of an LLM run: sampled chains of an iteration over the number of questions."""
    return int(round(record["chains"] / int(np.count_nonzero(task.question_dist > 0))))


def text_task_of(config: dict):
    """The task in string form of an LLM run's config record."""
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

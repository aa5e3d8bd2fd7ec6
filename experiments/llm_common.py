"""LLM runs shared by the experiments, and the simulator's prediction at the LLM's sample size.

:func:`llm_run` pretrains a model and runs STaR on it (``llm.pretrain`` + ``llm.star``) under
``OUT/_llm/``, pretraining and STaR in folders of their own:

* ``OUT/_llm/pre-<key>/pretrained``: keyed by the pretraining settings only (the config without the
  STaR-only fields :data:`STAR_ONLY`, with the STaR-only fields at their defaults) and the
  pretraining seed, ``derive_seed(master, "llm-pretrain", <those settings>)``. One pretrained model
  is therefore shared by every STaR seed of a run, and by runs that differ only in STaR settings
  (K, the fine-tuning, the held-out fraction);
* ``OUT/_llm/<key>``: the STaR run, keyed by its full config, whose seed is the STaR seed
  ``derive_seed(master, "llm-star", <the full settings>, llm_seed)`` for the STaR seed index
  ``llm_seed`` (0, 1, ...). Both seeds are recorded (``pretrain.json`` and ``run.json``, and the
  run's ``pretrain_seed`` / ``star_seed``).

Experiments that ask for the same run share it, and an interrupted run resumes. The seeds derive
from the master seed and the settings, not from the experiment, for that sharing.

:func:`llm_case` is the recipe every LLM experiment follows: the run, its task in string form,
its ``K`` (chains per question), and beside it the finite-sample theory
(:func:`star_theory.sim.tabular_star_runs`): tabular STaR with the same ``K``, started from the
MEASURED initial kernel of the model (as :func:`llm.star.run_star` returns it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from llm.config import make_config, to_record
from llm.pretrain import pretrain
from llm.star import run_star
from star_theory.io import dumps_json
from star_theory.outputs import LOCK
from star_theory.seeds import derive_seed
from star_theory.sim import tabular_star_runs
from star_theory.task_registry import record_task

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .framework import Context
    from llm.config import LLMConfig
    from star_theory.task_protocol import Task as TextTask
    from star_theory import ReasoningTask


#: the experiments' runs pretrain by the count-weighted fit to the corpus kernel, stopped at the entropy gap
#: (about 1.5 s for the tiny model, against about 12 s of the tiny preset's sampled batches, and a kernel
#: within ``gap_tol`` of the corpus); a ``base`` that names these fields keeps its own values
EXPERIMENT_PRETRAINING = {"pretrain_mode": "weighted", "stop": "gap"}


def llm_config(base: dict, seed: int, device: str, progress: bool) -> LLMConfig:
    """The tiny-preset config with :data:`EXPERIMENT_PRETRAINING`, then ``base``'s overrides (lam as a
    tuple), the seed and the device. (``stop`` only steers count-weighted fits: the tiny preset's
    fine-tuning, per-example steps, is unchanged.)"""
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in base.items()
              if k not in ("seed", "device", "progress")}  # a preset's runtime values give way to the context's
    values = {**EXPERIMENT_PRETRAINING, **values}
    return make_config(preset_name="tiny", seed=seed, device=device, progress=progress, **values)


#: config fields only STaR reads: the pretrained model does not depend on them
STAR_ONLY = ("iterations", "samples_per_question", "finetune_steps", "finetune_lr", "finetune_batch",
             "finetune_lr_warmup", "finetune_weight_decay", "finetune_mode", "sampler", "temperature", "restart",
             "max_retries", "heldout_fraction")
RUNTIME = ("seed", "progress", "device")  # not part of a run's identity (the seed is derived from it)


def _identity(record: dict) -> dict:
    """A config record as a run's identity (its cache key and its derived seeds): a digit task's
    ``task_params`` repeat its ``digits`` and ``base`` and are left out, so its runs keep the keys
    and seeds they had before task parameters existed."""
    if record.get("task_params") == {"digits": record.get("digits"), "base": record.get("base")}:
        return {k: v for k, v in record.items() if k != "task_params"}
    return record


def _key(record: dict) -> str:
    return hashlib.sha256(dumps_json(_identity(record), indent=None).encode()).hexdigest()[:12]


def pretrain_config(cfg: LLMConfig) -> LLMConfig:
    """``cfg`` with its STaR-only fields at their defaults: the settings pretraining reads."""
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[operator]
                for f in dataclasses.fields(cfg) if f.name in STAR_ONLY}
    return dataclasses.replace(cfg, **defaults)


#: seed purposes of an LLM run under the master seed: its pretraining and its STaR (never the same path)
PRETRAIN_SEED, STAR_SEED = "llm-pretrain", "llm-star"


def run_seeds(master_seed: int, cfg, llm_seed: int = 0) -> tuple[int, int]:
    """``(pretraining seed, STaR seed)`` of an LLM run, on separate seed paths: the first from the master seed and
    the pretraining settings, the second from the master seed, the full settings and the STaR seed index."""
    settings = _identity({k: v for k, v in to_record(cfg).items() if k not in RUNTIME})
    pre = _identity({k: v for k, v in to_record(pretrain_config(cfg)).items() if k not in RUNTIME})
    return (derive_seed(master_seed, PRETRAIN_SEED, dumps_json(pre, indent=None)),
            derive_seed(master_seed, STAR_SEED, dumps_json(settings, indent=None), int(llm_seed)))


def waiting_lock(folder: str | os.PathLike) -> Any:
    """The lock ``folder/.rlstar.lock``, held while the ``with`` block runs; a process holding it (an experiment
    running beside this one that needs the same cached run: ``rlstar reproduce --jobs``) is waited for, after
    which its finished run is read back instead of computed again."""
    from filelock import FileLock  # as star_theory.outputs: only when a run is claimed

    Path(folder).mkdir(parents=True, exist_ok=True)
    return FileLock(os.fspath(Path(folder) / LOCK), timeout=-1, is_singleton=False, thread_local=False)


def llm_run(ctx: Context, base: dict, llm_seed: int = 0) -> dict:
    """Pretrain + STaR for the settings ``base`` (overrides of the tiny preset) and the STaR seed index
    ``llm_seed``; cached under ``OUT/_llm`` (the pretrained model shared by every STaR seed: see the module).

    Returns the run's ``folder``, ``pretrained`` (its checkpoint folder), ``config`` record (its seed is the
    STaR seed), ``pretrain_seed``, ``star_seed``, ``records``, ``prediction``, ``policies`` (the measured
    kernels of every iteration) and ``initial_policy`` (iteration 0's), as :func:`llm.star.run_star` returns them.
    """
    cfg = llm_config(base, 0, ctx.device, ctx.progress)
    pre_seed, star_seed = run_seeds(ctx.master_seed, cfg, llm_seed)
    pre_cfg = dataclasses.replace(pretrain_config(cfg), seed=pre_seed)
    cfg = dataclasses.replace(cfg, seed=star_seed)
    pre_key = _key({k: v for k, v in to_record(pre_cfg).items() if k not in RUNTIME[1:]})
    pre = ctx.out.parent / "_llm" / f"pre-{pre_key}" / "pretrained"  # an `llm run` layout: a reproduce run's own path
    record = {k: v for k, v in to_record(cfg).items() if k not in RUNTIME[1:]}
    folder = ctx.out.parent / "_llm" / _key({**record, "pretrain_seed": pre_seed})
    with waiting_lock(pre.parent):
        if not (pre / "pretrain.json").is_file():
            pretrain(pre_cfg, pre, overwrite=True)  # a pretraining cut short is redone (our own folder)
    with waiting_lock(folder):
        run = run_star(cfg, pre, folder / "star", resume=True)
    return {"folder": os.fspath(folder), "pretrained": os.fspath(pre), "config": record, "pretrain_seed": pre_seed,
            "star_seed": star_seed, "records": run.records, "prediction": run.prediction, "policies": run.policies,
            "initial_policy": run.policies[0]}


def llm_case(ctx: Context, base: dict, seeds: Sequence[int], iterations: int | None = None, llm_seed: int = 0) -> dict:
    """The LLM case of an experiment: :func:`llm_run` for ``base`` (STaR seed index ``llm_seed``), plus its task
    in string form (``text_task``), ``K`` (chains per question of its iterations) and ``simulated``: tabular
    STaR at that ``K`` from the run's measured initial kernel, one run per seed of ``seeds``, over
    ``iterations`` (default: the run's own)."""
    run = llm_run(ctx, base, llm_seed)
    text_task = text_task_of(run["config"])
    K = chains_per_question(run["records"][0], text_task.task)
    T = run["config"]["iterations"] if iterations is None else iterations
    simulated = tabular_star_runs(run["initial_policy"], text_task.task, K, T, list(seeds))
    return {**run, "text_task": text_task, "K": K, "simulated": simulated}


def seed_cases(ctx: Context, base: dict, sim_seeds: Sequence[int], iterations: int, llm_seeds: int,
               extra: Callable[[dict], dict] | None = None) -> dict:
    """``llm_seeds`` STaR seeds of the LLM case ``base`` (one shared pretrained model, hence one measured initial
    kernel, from which the tabular runs ``simulated`` start): per seed its records and folder (plus
    ``extra(run)``), and the case's prediction, K, M and N."""
    first = llm_case(ctx, base, sim_seeds, iterations)
    cases = [first] + [llm_run(ctx, base, llm_seed=i) for i in range(1, llm_seeds)]
    for c in cases[1:]:
        c["text_task"] = first["text_task"]
    tt = first["text_task"]
    seeds = [{"records": c["records"], "llm_folder": c["folder"], "llm_config": c["config"], "star_seed": c["star_seed"],
              **(extra(c) if extra else {})} for c in cases]
    return {"seeds": seeds, "prediction": first["prediction"], "simulated": first["simulated"], "K": first["K"],
            "pretrain_seed": first["pretrain_seed"], "pretrained": first["pretrained"],
            "M": tt.task.sizes[0], "N": tt.task.n_steps}


def chains_per_question(record: dict, task: ReasoningTask) -> int:
    """K of an LLM run: sampled chains of an iteration over the number of questions."""
    return int(round(record["chains"] / int(np.count_nonzero(task.question_dist > 0))))


def text_task_of(config: dict) -> TextTask:
    """The task in string form of an LLM run's config record."""
    return record_task(config)


def draw_llm_accuracy(ax, records: list[dict], sim: dict, K: int, lines=(), more_seeds=(), band=None) -> None:
    """One accuracy panel of an LLM run: theory lines, tabular STaR at the LLM's K as a band, the
    LLM as markers (sampled accuracy with a 95% binomial interval, exact J of its measured kernel).

    ``lines``: ``(label, values, style, color)`` for each theory curve drawn from iteration 0.
    ``more_seeds``: the records of the case's other STaR seeds: their exact J as small markers and the
    mean over all seeds as a line.
    ``band``: ``(lo, hi, words)`` drawn as the tabular runs' band instead of their 90% band of ``sim``
    (a figure whose verdict tests another band draws that one, e.g. :func:`experiments.framework.verdict_band`).
    """
    from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL

    for label, values, style, color in lines:
        ax.plot(np.arange(len(values)), values, style, color=color, label=label)
    st = np.arange(len(sim["mean"]))
    lo, hi, words = (sim["lo"], sim["hi"], "90% band") if band is None else band
    ax.fill_between(st, lo, hi, color="tab:green", alpha=0.2)
    ax.plot(st, sim["mean"], ":", color="tab:green", label=f"theory: tabular STaR, K={K}, {words} of {len(sim['seeds'])} runs")
    t = np.array([x["iteration"] for x in records])
    acc = np.array([x["sampled_accuracy"] for x in records])
    se = np.array([x["sampled_accuracy_se"] for x in records])
    ax.errorbar(t, acc, yerr=1.96 * se, fmt="o", color="tab:blue", capsize=3, label="LLM: sampled accuracy (95% CI)")
    ax.plot(t, [x["exact_accuracy"] for x in records], "s", mfc="none", color="tab:red", label="LLM: exact J of measured kernel")
    if more_seeds:
        for i, recs in enumerate(more_seeds):
            ax.plot(t, [x["exact_accuracy"] for x in recs], "x", ms=4, color="tab:red",
                    label="LLM: exact J, other seeds" if i == 0 else None)
        mean = np.mean([[x["exact_accuracy"] for x in recs] for recs in (records, *more_seeds)], axis=0)
        ax.plot(t, mean, "-", lw=0.8, color="tab:red", label=f"LLM: mean exact J of {len(more_seeds) + 1} seeds")
    ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))

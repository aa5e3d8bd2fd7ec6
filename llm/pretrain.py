"""Pretraining: a GPT-2 learns the per-step kernel of a corpus policy.

The corpus is a chain file (``--corpus``, format of ``rlstar corpus``) or chains drawn on the fly
from the mixture policy :math:`\\lambda_n P_n^* + (1 - \\lambda_n) U` of the task
(``--lam``/``--eps``; :func:`star_theory.mixture_policy`). Every batch holds ``pretrain_batch``
chains, each giving its ``N`` steps as examples. After training, rank 0 saves the checkpoint
(model, tokenizer, ``task.json``) and measures the model (:mod:`llm.measure`): the fitted
:math:`\\lambda_n` of the pretrained model is what the theory prediction starts from.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np

from star_theory import InputError, ReasoningTask, TabularPolicy, fit_symmetric, mixture_policy, read_corpus
from star_theory.io import write_json
from star_theory.seeds import derive_seed

from .config import LLMConfig, resumed_config, to_record
from .data import ChainStream, TransitionCounts
from .device import init_distributed, resolve_device, set_threads
from .files import check_resume, check_run_folder, claim_run, read_json_object, recorded_config, staged_into
from .fit import fit_counts
from .measure import measure
from .model import SIZES, TaskSpec, build_model, load_model, save_checkpoint
from star_theory.sim.corpus import corpus_task_params
from star_theory.task_registry import describe_task, make_task
from .tokenizer import build_tokenizer, state_table
from .train import train

#: seed purposes of pretraining, on the paths ``derive_seed(seed, PRETRAIN, purpose)`` (a stream's path ends in
#: the process rank): the model's initialization, the corpus chains (or the fit's batches), the warm-up policy
#: and the warm-up chains. PRETRAIN is iteration 0 of the ``(seed, iteration, purpose)`` paths of
#: :mod:`llm.star`, whose SAMPLE and FINETUNE equal CORPUS and WARMUP_POLICY: pretraining and STaR are kept
#: apart by their seeds, which the experiments derive on separate paths (``experiments.llm_common.run_seeds``).
PRETRAIN = 0
INIT, CORPUS, WARMUP_POLICY, WARMUP_CORPUS = 0, 1, 2, 3


def corpus_source(cfg: LLMConfig, text_task) -> dict:
    """``{"policy": ...}`` or ``{"chains": ...}`` for :class:`llm.data.ChainStream`, plus a description."""
    task = text_task.task
    if cfg.corpus:
        meta, chains = read_corpus(cfg.corpus)
        if (meta["task"], corpus_task_params(meta)) != (cfg.task, cfg.task_params):
            raise InputError(
                f"corpus {cfg.corpus} is for task {describe_task(meta['task'], corpus_task_params(meta))}, "
                f"not {describe_task(cfg.task, cfg.task_params)} (set --task/--task-param to match)"
            )
        if len(chains) == 0:
            raise InputError(f"corpus {cfg.corpus} holds no chains")
        describe = {"corpus": cfg.corpus, "corpus_meta": meta, "chains": len(chains)}
        if task.is_bijective():
            describe["corpus_lam"] = meta["lam"]
        return {"chains": chains, "describe": describe}
    lam, eps = cfg.corpus_lam()
    policy = mixture_policy(task, lam=None if lam is None else list(lam), eps=None if eps is None else list(eps))
    describe = {"corpus": "on the fly", "corpus_lam_given": lam, "corpus_eps_given": eps}
    if task.is_bijective():
        describe["corpus_lam"] = fit_symmetric(policy, task).lam  # per step, in the lam convention
    return {"policy": policy, "describe": describe}


def warmup_policy(task, seed: int):
    """The task-agnostic warm-up corpus: deterministic steps along random maps between the levels.

    Each step maps every state of level ``n-1`` to a uniformly random state of level ``n``
    (drawn once from ``seed``), so the warm-up teaches the model to read the previous state
    and write a valid next one without showing it the task's maps.
    """
    rng = np.random.default_rng(seed)
    maps = [rng.integers(0, task.sizes[n + 1], task.sizes[n]) for n in range(task.n_steps)]
    random_task = ReasoningTask(maps, final_size=task.sizes[-1])
    return TabularPolicy([random_task.step_matrix(n) for n in range(task.n_steps)])


def parameter_digest(model) -> str:
    """SHA-256 of all parameters (to check that DDP ranks agree)."""
    h = hashlib.sha256()
    for name, p in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(p.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()


def pretrain_inputs(cfg: LLMConfig) -> dict:
    """Everything pretraining reads, read and validated: the task, the corpus (file or policy),
    the tokenizer and the model (built from its size, or loaded from the ``--model`` checkpoint)."""
    import torch

    text_task = make_task(cfg.task, cfg.task_params)
    source = corpus_source(cfg, text_task)
    tokenizer = build_tokenizer(text_task, cfg.tokenization)
    table = state_table(text_task, tokenizer)
    torch.manual_seed(derive_seed(cfg.seed, PRETRAIN, INIT))
    if cfg.model in SIZES:
        model = build_model(cfg.model, len(tokenizer), tokenizer, cfg.init_range)
    else:
        model = load_model(cfg.model, tokenizer)
    return {"text_task": text_task, "source": source, "tokenizer": tokenizer, "table": table, "model": model}


def input_paths(cfg: LLMConfig) -> dict:
    """The files pretraining reads (``{flag: path}``), which must lie outside its output folder."""
    return {"--model": None if cfg.model in SIZES else cfg.model, "--corpus": cfg.corpus or None}


def pretrain(cfg: LLMConfig, out: str | Path, overwrite: bool = False, resume: bool = False,
             inputs: dict | None = None) -> dict:
    """Pretrain a model as ``cfg`` says and save it in the folder ``out``; returns the summary.

    ``out`` must be new or empty, or a previous pretraining's folder: replaced with
    ``overwrite`` (only its own files, :func:`llm.files.claim_run`), or with ``resume`` kept when
    it finished with the same config (its summary is returned) and redone when it did not. Every
    input (``inputs``, from :func:`pretrain_inputs`, or read here) is read and validated before
    the folder is claimed; it is locked while this runs.
    """
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    rank, world = init_distributed(device)
    if cfg.pretrain_mode == "weighted" and world > 1:
        raise InputError("pretrain_mode='weighted' fits the whole corpus in one process; use "
                         "--pretrain-mode stream under torchrun")
    if rank == 0:
        check_run_folder(out, "llm pretrain", input_paths(cfg), resume=resume, overwrite=overwrite)
    inputs = pretrain_inputs(cfg) if inputs is None else inputs
    if rank != 0:
        return _pretrain(cfg, out, inputs, device, rank, world)
    with claim_run(out, "llm pretrain", to_record(cfg), resume=resume, overwrite=overwrite) as run:
        record = Path(out) / "pretrain.json"
        if resume and not run.fresh and record.is_file():  # a finished pretraining: kept when its config is ours
            summary = read_json_object(record, "pretrain.json")
            stored = summary.get("config")
            if not isinstance(stored, dict):
                raise InputError(f"{str(record)!r}: corrupted record (no config table)")
            recorded = resumed_config(recorded_config(stored), {}, source=str(record))  # its defaults filled in
            check_resume(to_record(recorded), to_record(cfg), where=str(out))
            return summary
        return _pretrain(cfg, out, inputs, device, rank, world)


def _pretrain(cfg: LLMConfig, out, inputs: dict, device, rank: int, world: int) -> dict:
    text_task, source, tokenizer, table, model = (inputs[k] for k in ("text_task", "source", "tokenizer", "table", "model"))
    stream = ChainStream(
        table, text_task.task, cfg.pretrain_batch, derive_seed(cfg.seed, PRETRAIN, CORPUS, rank),
        policy=source.get("policy"), chains=source.get("chains"),
    )
    t0 = time.perf_counter()
    if cfg.pretrain_mode == "weighted":
        return _finish(cfg, out, model, tokenizer, table, text_task, source, device, rank, world,
                       *fit_corpus(cfg, model, text_task, table, source, device), t0)
    if cfg.warmup_steps:
        warm = ChainStream(
            table, text_task.task, cfg.pretrain_batch, derive_seed(cfg.seed, PRETRAIN, WARMUP_CORPUS, rank),
            policy=warmup_policy(text_task.task, derive_seed(cfg.seed, PRETRAIN, WARMUP_POLICY)),
        )
        train(
            model, iter(warm.next_batch, None), cfg.warmup_steps, cfg.pretrain_lr, device,
            warmup=cfg.pretrain_lr_warmup, schedule="constant", progress=cfg.progress and rank == 0, desc="warm-up",
        )
    log = train(
        model, iter(stream.next_batch, None), cfg.pretrain_steps, cfg.pretrain_lr, device,
        warmup=cfg.pretrain_lr_warmup, weight_decay=cfg.pretrain_weight_decay, schedule="cosine",
        progress=cfg.progress and rank == 0, desc="pretrain",
    )
    return _finish(cfg, out, model, tokenizer, table, text_task, source, device, rank, world, log.losses,
                   {"tokens": log.tokens * world}, t0)


def fit_corpus(cfg: LLMConfig, model, text_task, table, source: dict, device):
    """Pretraining as a count-weighted fit (:mod:`llm.fit`): the corpus policy's expected transitions
    (or the corpus file's counts), after the warm-up maps the same way; returns (losses, record)."""
    task = text_task.task
    counts = (TransitionCounts.from_policy(source["policy"], task) if "policy" in source
              else TransitionCounts.from_chains(source["chains"]))
    kw = dict(stop=cfg.stop, gap_tol=cfg.gap_tol, batch=cfg.pretrain_batch * task.n_steps, warmup=cfg.pretrain_lr_warmup,
              patience=cfg.patience, plateau_tol=cfg.plateau_tol, decay=cfg.lr_decay, progress=cfg.progress)
    record = {}
    if cfg.warmup_steps:
        warm = TransitionCounts.from_policy(warmup_policy(task, derive_seed(cfg.seed, PRETRAIN, WARMUP_POLICY)), task)
        record.update(fit_counts(model, warm, table, device, cfg.pretrain_lr, cfg.warmup_steps,
                                 seed=derive_seed(cfg.seed, PRETRAIN, WARMUP_CORPUS), desc="warm-up",
                                 **kw).record("warmup"))
    log = fit_counts(model, counts, table, device, cfg.pretrain_lr, cfg.pretrain_steps,
                     seed=derive_seed(cfg.seed, PRETRAIN, CORPUS), weight_decay=cfg.pretrain_weight_decay,
                     desc="pretrain", **kw)
    record.update(log.record("fit"))
    return log.train, record


def _finish(cfg, out, model, tokenizer, table, text_task, source, device, rank, world, losses, fit_record, t0):
    """Check the ranks agree, measure the model, save the checkpoint and ``pretrain.json``."""
    wall = time.perf_counter() - t0
    digests = [parameter_digest(model)]
    if world > 1:
        import torch.distributed as dist

        gathered = [None] * world
        dist.all_gather_object(gathered, digests[0])
        digests = gathered
    summary = {}
    if rank == 0:
        m = measure(model, text_task, table, device, cfg.batch_size)
        losses = np.asarray(losses)
        k = max(1, len(losses) // 20)
        summary = {
            "config": to_record(cfg),
            **source["describe"],
            "world_size": world,
            "device": str(device),
            "parameter_digests": digests,
            "loss_first": float(losses[:k].mean()),
            "loss_last": float(losses[-k:].mean()),
            "loss_curve": losses[::k],
            "loss_curve_every": k,  # loss_curve[i] is the loss of optimiser step i * k
            **fit_record,
            "wall_s": wall,
            "measured": m.record(),
        }
        spec = TaskSpec.of(cfg)
        with staged_into(out, last="pretrain.json") as tmp:
            save_checkpoint(tmp, model, tokenizer, spec)
            write_json(Path(tmp) / "pretrain.json", summary)
    if world > 1:
        import torch.distributed as dist

        dist.barrier()
        dist.destroy_process_group()
    return summary

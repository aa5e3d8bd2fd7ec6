"""The STaR loop on a real model: sample, filter on the answer, fine-tune, measure.

Iteration ``t = 0, 1, ..., T`` works on the model :math:`P^t` (:math:`P^0` = the pretrained one):

1. if ``t > 0``: fine-tune on the kept transitions of iteration ``t - 1`` (every step of every
   kept chain is one example), starting from :math:`P^{t-1}` (default, "continue") or from the
   pretrained model (``--restart``, as the original STaR does) -> :math:`P^t`;
2. sample ``K`` chains per question from :math:`P^t` (:mod:`llm.sample`), keep those whose final
   answer is correct (the filter looks at the answer only, so kept chains may hold wrong steps);
3. measure :math:`P^t` exactly (:mod:`llm.measure`) and write the iteration.

A kernel row that no kept chain visits gets no training example, so the model's row changes
only through generalisation (continue) or is the pretrained row (restart): the counterpart of
the exact operator's "keep the previous row" rule.

**Files** (folder ``out``): ``run.json`` (config, pretrained path), ``iter_TTT/`` per iteration
(``metrics.json``, ``kept.npy`` with the kept chains ``(kept, N+1)``, ``kernels.npz`` with the measured kernels,
and the model checkpoint for ``t > 0``), ``metrics.jsonl`` (one line per iteration),
``prediction.json`` and ``star.png`` (theory against measurement, :mod:`llm.predict`). Every
iteration folder is written under a temporary name and renamed when complete; ``metrics.jsonl``
is rebuilt from the iteration folders. ``resume`` continues from the last complete iteration.

**Randomness.** Sampling and fine-tuning of iteration ``t`` use seeds derived from
``(seed, t, purpose)``, never a running random state, so a resumed run computes exactly what an
uninterrupted run with the same seed computes.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np

from star_theory import InputError
from star_theory.io import atomic_write_bytes, atomic_write_text, dumps_json, write_json

from .config import LLMConfig, to_record
from .data import TransitionCounts, chain_transitions, transition_batches
from star_theory.seeds import derive_seed
from .device import generator, resolve_device, set_threads
from .files import atomic_dir, check_resume, claim_run, load_array, read_metrics, read_run_json, save_array, validate_kept
from .fit import fit_counts, refit_figures
from .measure import measure
from .model import load_checkpoint, save_checkpoint
from .sample import SampledChains, sample_chains
from .tokenizer import state_table
from .train import train

ITER_RE = re.compile(r"^iter_(\d{3,})$")
SAMPLE, FINETUNE = 1, 2


def iteration_dir(out: Path, t: int) -> Path:
    return Path(out) / f"iter_{t:03d}"


def finished_iterations(out: Path) -> list[int]:
    """Iterations whose folder is complete (renamed into place with its ``metrics.json``)."""
    if not Path(out).is_dir():
        return []
    done = []
    for p in Path(out).iterdir():
        m = ITER_RE.match(p.name)
        if m and (p / "metrics.json").is_file():
            done.append(int(m.group(1)))
    return sorted(done)


def chain_figures(chains: SampledChains, task, K: int) -> tuple[dict, np.ndarray]:
    """Sampled accuracy, B-STaR exploration/exploitation figures, and the kept chains.

    * ``distinct_correct_per_question``: mean number of distinct correct chains among a question's
      ``K`` samples (exploration);
    * ``pass_at_k``: fraction of questions with at least one correct sample;
    * ``logprob_kept`` / ``logprob_rejected``: mean model log-probability of kept and of rejected
      (valid) chains, and ``reward_separation`` their difference (exploitation: how sharply the
      reward separates what the model already prefers).
    """
    s = chains.states
    correct = chains.valid & (s[:, -1] == task.answers[s[:, 0]])
    kept = s[correct]
    star = task.correct_chains[kept[:, 0]]
    flawed = np.any(kept[:, 1:-1] != star[:, 1:-1], axis=1) if kept.size else np.zeros(0, bool)
    questions = np.unique(s[:, 0])
    chains_kept = np.unique(kept, axis=0) if kept.size else kept  # distinct kept chains, sorted by question
    distinct = np.bincount(np.searchsorted(questions, chains_kept[:, 0]), minlength=questions.size) if kept.size \
        else np.zeros(questions.size, dtype=np.int64)
    rejected = chains.valid & ~correct
    figures = {
        "chains": int(len(s)),
        "sampled_accuracy": float(correct.mean()),
        "sampled_accuracy_se": float(np.sqrt(correct.mean() * (1 - correct.mean()) / len(s))),
        "kept": int(correct.sum()),
        "invalid_chains": int((~chains.valid).sum()),
        "invalid_steps": int(chains.invalid_steps),
        "flawed_chain_share_sampled": float(flawed.mean()) if kept.size else None,
        "distinct_correct_per_question": float(np.mean(distinct)),
        "pass_at_k": float(np.mean([d > 0 for d in distinct])),
        "logprob_kept": float(chains.logprob[correct].mean()) if correct.any() else None,
        "logprob_rejected": float(chains.logprob[rejected].mean()) if rejected.any() else None,
    }
    if correct.any() and rejected.any():
        figures["reward_separation"] = figures["logprob_kept"] - figures["logprob_rejected"]
    else:
        figures["reward_separation"] = None
    return figures, kept


PHASES = ("train", "measure", "sample")


def phase_walls(records: list[dict], digits: int | None = None) -> dict:
    """Wall time of each phase of the loop (``train``, ``measure``, ``sample``), summed over the
    iteration records (seconds; rounded to ``digits`` when given)."""
    walls = {k: sum(r.get(f"{k}_wall_s", 0.0) for r in records) for k in PHASES}
    return walls if digits is None else {k: round(v, digits) for k, v in walls.items()}


def _kernels_bytes(policy) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, *policy.kernels)
    return buf.getvalue()


def load_kernels(path: Path):
    """The measured policy saved in an iteration folder."""
    from star_theory import TabularPolicy

    with np.load(Path(path) / "kernels.npz") as z:
        return TabularPolicy([z[f"arr_{i}"] for i in range(len(z.files))])


def _rebuild_jsonl(out: Path, write: bool = True) -> list[dict]:
    records = [read_metrics(iteration_dir(out, t) / "metrics.json", t) for t in finished_iterations(out)]
    if not write:
        return records
    atomic_write_text(out / "metrics.jsonl", "".join(dumps_json(r, indent=None) + "\n" for r in records))
    return records


def finetune(cfg: LLMConfig, model, kept: np.ndarray, table, device, t: int) -> dict:
    """Fine-tune ``model`` in place on the transitions of the ``kept`` chains; returns the record's figures.

    ``finetune_mode="weighted"``: the count-weighted fit of :mod:`llm.fit` (distinct transitions,
    stopped by ``stop``); ``"examples"``: ``finetune_steps`` batches of individual transitions.
    """
    import torch

    seed = derive_seed(cfg.seed, t, FINETUNE)
    if cfg.finetune_mode == "weighted":
        counts = TransitionCounts.from_chains(kept)
        out = {"train_examples": int(counts.total)}
        if counts.total:
            torch.manual_seed(seed)
            log = fit_counts(
                model, counts, table, device, cfg.finetune_lr, cfg.finetune_steps, stop=cfg.stop,
                gap_tol=cfg.gap_tol, batch=cfg.finetune_batch, seed=seed, warmup=cfg.lr_warmup,
                weight_decay=cfg.weight_decay, patience=cfg.patience, plateau_tol=cfg.plateau_tol, decay=cfg.lr_decay,
                progress=cfg.progress, desc=f"fine-tune {t}",
            )
            out.update(log.record("train"))
            out["train_loss_last"] = log.train[-1]
        return out
    transitions = chain_transitions(kept)
    out = {"train_examples": int(transitions[0].size)}
    if transitions[0].size:
        torch.manual_seed(seed)
        batches = transition_batches(table, transitions, cfg.finetune_batch, cfg.finetune_steps, seed)
        log = train(
            model, batches, cfg.finetune_steps, cfg.finetune_lr, device, warmup=cfg.lr_warmup,
            weight_decay=cfg.weight_decay, schedule="constant", progress=cfg.progress, desc=f"fine-tune {t}",
        )
        out["train_loss_last"] = log.losses[-1]
        out["train_tokens"] = log.tokens
    return out


def run_star(cfg: LLMConfig, pretrained: str | os.PathLike, out: str | os.PathLike, resume: bool = False,
             overwrite: bool = False) -> list[dict]:
    """Run (or resume) STaR from the checkpoint ``pretrained``; returns one record per iteration.

    ``out`` must be new or empty, or this command's own run folder: continued with ``resume``
    (the recorded config must equal ``cfg`` but for :data:`llm.files.MAY_CHANGE_ON_RESUME`, and
    the checkpoint must be the recorded one), replaced with ``overwrite``. It is locked while
    this runs, and nothing in it is written before every check has passed.
    """
    with claim_run(out, "llm star", to_record(cfg), resume=resume, overwrite=overwrite):
        return _run_star(cfg, pretrained, Path(out), resume)


def _resume_checks(cfg: LLMConfig, pretrained, out: Path):
    """The checkpoint to continue from, after checking the recorded config and checkpoint."""
    saved = read_run_json(out / "run.json")
    check_resume(saved["config"], to_record(cfg), where=f"{out}")
    recorded = Path(saved["pretrained"])
    given = Path(pretrained)
    if recorded.is_dir() and given.resolve() != recorded.resolve():
        raise InputError(f"cannot resume {out}: it continues the checkpoint {str(recorded)!r}, not {str(given)!r}")
    if not recorded.is_dir():  # the recorded checkpoint has moved: the given one must be for the same task
        from .model import read_task_spec

        if read_task_spec(given).__dict__ != saved["task"]:
            raise InputError(f"cannot resume {out}: checkpoint {str(given)!r} is for another task than the run's")
    return given if not recorded.is_dir() else recorded


def _run_star(cfg: LLMConfig, pretrained, out: Path, resume: bool) -> list[dict]:
    import torch

    done = finished_iterations(out)
    if done and not resume:
        raise InputError(f"output folder {out} already holds a STaR run (use --resume or a new folder)")
    fresh = not (out / "run.json").is_file()
    if not fresh:
        pretrained = _resume_checks(cfg, pretrained, out)
    elif done:
        raise InputError(f"cannot resume {out}: iteration folders without run.json")
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    model, tokenizer, spec = load_checkpoint(pretrained)
    text_task = spec.text_task()
    task = text_task.task
    table = state_table(text_task, tokenizer)
    model.to(device)
    pretrained_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    kept = None
    start = 0
    if done:  # read back and validate everything before the first write
        last = done[-1]
        kept = validate_kept(load_array(iteration_dir(out, last) / "kept.npy"), task,
                             str(iteration_dir(out, last) / "kept.npy"))
        _rebuild_jsonl(out, write=False)
        if last > 0:
            model, _, _ = load_checkpoint(iteration_dir(out, last))
            model.to(device)
        start = last + 1
    if resume:  # iteration folders a killed run left half-written (we hold the folder's lock)
        for stray in out.glob(".iter_*.tmp"):
            shutil.rmtree(stray, ignore_errors=True)
    if fresh:
        write_json(out / "run.json", {"config": to_record(cfg), "pretrained": os.fspath(Path(pretrained).resolve()), "task": spec.__dict__})

    records = _rebuild_jsonl(out)
    questions = np.repeat(np.flatnonzero(task.question_dist > 0), cfg.samples_per_question)

    for t in range(start, cfg.iterations + 1):
        record: dict = {"iteration": t, "seed": cfg.seed}
        # 1. fine-tune on the kept transitions of the previous iteration
        train_wall = 0.0
        if t > 0:
            if cfg.restart:
                model.load_state_dict(pretrained_state)
            t0 = time.perf_counter()
            record.update(finetune(cfg, model, kept, table, device, t))
            train_wall = time.perf_counter() - t0
        record["train_wall_s"] = train_wall
        # 2. measure the model exactly
        t0 = time.perf_counter()
        m = measure(model, text_task, table, device, cfg.batch_size)
        record.update(m.record())
        record["measure_wall_s"] = time.perf_counter() - t0
        if t > 0:
            record.update(refit_figures(TransitionCounts.from_chains(kept), m.log_scores, m.policy))
        # 3. sample K chains per question and keep the correct ones
        t0 = time.perf_counter()
        chains = sample_chains(
            model, table, questions, generator(device, derive_seed(cfg.seed, t, SAMPLE)), device,
            batch_size=cfg.batch_size, max_retries=cfg.max_retries, progress=cfg.progress,
            sampler=cfg.sampler, temperature=cfg.temperature, log_scores=m.log_scores,
        )
        record["sample_wall_s"] = time.perf_counter() - t0
        figures, kept = chain_figures(chains, task, cfg.samples_per_question)
        record.update(figures)
        # 4. write the iteration atomically, then the metrics log
        with atomic_dir(iteration_dir(out, t)) as tmp:
            if t > 0:
                save_checkpoint(tmp, model, tokenizer, spec)
            save_array(Path(tmp) / "kept.npy", kept)
            atomic_write_bytes(Path(tmp) / "kernels.npz", _kernels_bytes(m.policy))
            write_json(Path(tmp) / "metrics.json", record)
        records = _rebuild_jsonl(out)
        if cfg.progress:
            lam = record.get("lam")
            lam_txt = "" if lam is None else " lam=" + ",".join(f"{x:.3f}" for x in lam)
            print(
                f"iteration {t}: sampled acc {record['sampled_accuracy']:.3f}, exact acc "
                f"{record['exact_accuracy']:.3f}, kept {record['kept']}{lam_txt}",
                file=__import__("sys").stderr,
            )

    from .predict import write_prediction

    write_prediction(out, text_task, records)
    return records

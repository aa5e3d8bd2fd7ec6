"""The STaR loop on a real model: sample, filter on the answer, fine-tune, measure.

Iteration ``t = 0, 1, ..., T`` works on the model :math:`P^t` (:math:`P^0` = the pretrained one):

1. if ``t > 0``: fine-tune on the kept transitions of iteration ``t - 1`` (every step of every
   kept chain is one example), starting from :math:`P^{t-1}` (default, "continue") or from the
   pretrained model (``--restart``, as the original STaR does) -> :math:`P^t`;
2. measure :math:`P^t` exactly (:mod:`llm.measure`);
3. sample ``K`` chains per question from :math:`P^t` (:mod:`llm.sample`) at the rule's temperature
   and keep them as the update rule says (:mod:`star_theory.rule_protocol`; ``variant`` of the
   config, a plug-in rule by name, or ``rule=`` of :func:`run_star`). The default rule, STaR, keeps
   those whose final answer is correct (the filter looks at the answer only, so kept chains may
   hold wrong steps); the noisy verifier keeps a wrong answer with probability ``fp`` and drops a
   right one with probability ``fn``; rationalization adds, for every trained question with no
   kept chain, ``rationales`` chains drawn from the measured kernel conditioned on the right answer
   (the model's own posterior given the answer as a hint). A chain kept with weight ``w`` (an
   integer) is trained on ``w`` times. Every record holds the rule (``rule``: name, parameters).

**Held-out questions.** With ``heldout_fraction`` h > 0, STaR keeps (and so trains on) only the
chains of the trained questions, a subset of ``|S_0| - round(h |S_0|)`` questions drawn once from
``derive_seed(seed, HELDOUT)`` (:func:`trained_questions`, recorded as ``trained_questions`` in
every record); sampling and measuring still cover every question. ``kept.npy`` holds what was
trained on; ``chains.parquet`` every chain sampled, with its kept flag (:mod:`llm.chain_table`).

**Departures from the table.** Every record also holds the metrics of :mod:`llm.departures`,
computed from the measured kernels of ``t - 1`` and ``t`` and the chains kept at ``t - 1`` only
(what the folder saves), so :func:`llm.departures.recompute_departures` gives them back.

A kernel row that no kept chain visits gets no training example, so the model's row changes
only through generalisation (continue) or is the pretrained row (restart): the counterpart of
the exact operator's "keep the previous row" rule.

:func:`run_star` returns the run (:class:`StarRun`: records, measured policies, the theory's
prediction); its folder (:mod:`llm.star_folder`) is a by-product, written iteration by
iteration, from which ``resume`` continues after the last complete iteration
(:mod:`llm.resume`).

**Randomness.** Sampling, the rule's draws (``KEEP``, ``RATIONALE``) and fine-tuning of iteration
``t`` use seeds derived from ``(seed, t, purpose)``, never a running random state, so a resumed run computes exactly what an
uninterrupted run with the same seed computes.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from star_theory import InputError, TabularPolicy
from star_theory.rules import make_rule
from star_theory.sampling import question_support, questions_for
from star_theory.seeds import derive_seed
from star_theory.tracking import Tracker
from star_theory.variants import failed_questions, make_variant

from .chain_table import chains_parquet
from .config import LLMConfig, rule_parameters, to_record
from .departures import departure_metrics
from .data import TransitionCounts, chain_transitions, transition_batches, unique_rows
from .device import generator, resolve_device, set_threads
from .files import check_run_folder, claim_run, keeps_right_answers_only
from .fit import fit_counts, refit_figures
from .measure import measure
from .model import load_checkpoint
from .predict import write_prediction
from .resume import read_finished, start_point
from .sample import SampledChains, sample_chains
from .star_folder import (
    as_read_back,
    as_written,
    finished_iterations,
    iteration_dir,
    load_kernels,
    remove_strays,
    write_iteration,
    write_metrics_log,
    write_run_json,
)
from .tokenizer import state_table
from .tracking import log_iteration
from .train import train

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from .tokenizer import StateTable
    from star_theory import ReasoningTask
    from transformers import PreTrainedModel
    import torch

SAMPLE, FINETUNE, MEASURE = 1, 2, 9  # seed purposes: STaR sampling, fine-tuning, `rlstar llm measure`
HELDOUT = "heldout"  # seed purpose: which questions are held out of training
KEEP, RATIONALE = "rule-keep", "rule-hints"  # seed purposes: the rule's keep draws and its hint chains
PHASES = ("train", "measure", "sample")
# finished_iterations, iteration_dir, load_kernels (llm.star_folder): how readers of a run folder find its files
__all__ = ["StarRun", "run_star", "trained_questions", "star_iteration", "finetune", "chain_figures", "phase_walls",
           "finished_iterations", "iteration_dir", "load_kernels", "config_rule", "keep_weights"]


@dataclass(frozen=True)
class StarRun:
    """A STaR run: one record per iteration, the measured policy of each iteration (as its
    ``kernels.npz`` reads back), and the theory's prediction from iteration 0 (:mod:`llm.predict`,
    as ``prediction.json`` reads back; None without iteration 0), and the chains kept at each
    iteration (as its ``kept.npy`` reads back)."""

    records: list[dict]
    policies: list[TabularPolicy]
    prediction: dict | None
    kept: list[np.ndarray] = field(default_factory=list)  # the chains kept at each iteration (its kept.npy)


def trained_questions(cfg: LLMConfig, task: ReasoningTask) -> np.ndarray | None:
    """The questions STaR trains on: all (None) without ``heldout_fraction``, else a sorted subset
    of ``|S_0| - round(heldout_fraction |S_0|)`` (at least 1) questions, drawn from
    ``derive_seed(cfg.seed, HELDOUT)``."""
    if cfg.heldout_fraction == 0:
        return None
    n = task.sizes[0]
    keep = max(1, n - int(round(cfg.heldout_fraction * n)))
    rng = np.random.default_rng(derive_seed(cfg.seed, HELDOUT))
    return np.sort(rng.permutation(n)[:keep])


def config_rule(cfg: LLMConfig, rule=None):
    """The update rule of ``cfg`` (``rule``, whose name must be ``cfg.variant``, or the rule that
    name denotes with ``cfg``'s parameters, a plug-in's through :func:`star_theory.rules.make_rule`),
    which must have a chain-level form; refused in one line otherwise."""
    if rule is None:
        rule = make_rule(cfg.variant, **rule_parameters(cfg))
    elif getattr(rule, "name", None) != cfg.variant:
        raise InputError(f"the rule passed is named {getattr(rule, 'name', None)!r}, but the config's variant is {cfg.variant!r}")
    refusal = getattr(rule, "chain_form_refusal", "it is not a rule object (star_theory.rule_protocol.Rule)")
    if refusal is not None:
        raise InputError(f"variant {cfg.variant!r} cannot run on the LLM: {refusal}")
    T = rule.sampling_temperature
    if T != 1.0 and cfg.temperature not in (1.0, T):
        raise InputError(f"rule {cfg.variant!r} samples at temperature {T:g} but --temperature is {cfg.temperature:g}")
    return rule


def sampling_temperature(cfg: LLMConfig, rule) -> float:
    """The temperature the chains are drawn at: the rule's own, else the config's ``temperature``."""
    return rule.sampling_temperature if rule.sampling_temperature != 1.0 else cfg.temperature


def keep_weights(chains: SampledChains, task, rule=None, trained=None, rng=None) -> np.ndarray:
    """How often each sampled chain is trained on (integers ``>= 0``, shape ``(C,)``): the rule's
    weights (default STaR: 1 for a right answer) of the valid chains of the ``trained`` questions
    (default all); an invalid chain, or one of another question, gets 0."""
    rule = make_variant("star") if rule is None else rule
    s = chains.states
    w = np.zeros(len(s))
    ok = chains.valid if trained is None else chains.valid & np.isin(s[:, 0], trained)
    if ok.any():
        w[ok] = rule.keep_weights(s[ok], chains.logprob[ok], task, rng)
    if not np.all(w == np.round(w)):
        raise InputError(f"rule {rule.label()!r} gave keep weights that are not whole numbers; the LLM loop trains on "
                         "a kept chain a whole number of times")
    return w.astype(np.int64)


def chain_figures(chains: SampledChains, task, K: int, trained=None, weights=None) -> tuple[dict, np.ndarray]:
    """Sampled accuracy, B-STaR exploration/exploitation figures, and the kept chains.

    ``trained``: the questions whose chains may be kept (default all); ``weights``: how often each
    chain is kept (default :func:`keep_weights` of STaR, the correct chains of ``trained``);
    ``kept`` counts and ``kept`` (the array, a chain repeated by its weight) hold only those, the
    other figures cover every sampled chain.

    * ``distinct_correct_per_question``: mean number of distinct correct chains among a question's
      ``K`` samples (exploration);
    * ``pass_at_k``: fraction of questions with at least one correct sample;
    * ``logprob_kept`` / ``logprob_rejected``: mean model log-probability of kept and of rejected
      (valid) chains, and ``reward_separation`` their difference (exploitation: how sharply the
      reward separates what the model already prefers).
    """
    s = chains.states
    correct = chains.valid & (s[:, -1] == task.answers[s[:, 0]])
    weights = keep_weights(chains, task, None, trained) if weights is None else np.asarray(weights, dtype=np.int64)
    kept = np.repeat(s, weights, axis=0)
    star = task.correct_chains[kept[:, 0]]
    flawed = np.any(kept[:, 1:-1] != star[:, 1:-1], axis=1) if kept.size else np.zeros(0, bool)
    questions = np.unique(s[:, 0])
    good = s[correct]
    chains_good = unique_rows(good) if good.size else good  # distinct correct chains, sorted by question
    distinct = np.bincount(np.searchsorted(questions, chains_good[:, 0]), minlength=questions.size) if good.size \
        else np.zeros(questions.size, dtype=np.int64)
    rejected = chains.valid & ~correct
    figures: dict[str, Any] = {
        "chains": int(len(s)),
        "sampled_accuracy": float(correct.mean()),
        "sampled_accuracy_se": float(np.sqrt(correct.mean() * (1 - correct.mean()) / len(s))),
        "kept": int(weights.sum()),
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


def phase_walls(records: list[dict], digits: int | None = None) -> dict:
    """Wall time of each phase of the loop (``train``, ``measure``, ``sample``), summed over the
    iteration records (seconds; rounded to ``digits`` when given)."""
    walls = {k: sum(r.get(f"{k}_wall_s", 0.0) for r in records) for k in PHASES}
    return walls if digits is None else {k: round(v, digits) for k, v in walls.items()}


def finetune(cfg: LLMConfig, model: PreTrainedModel, kept: np.ndarray, table: StateTable, device: torch.device,
             t: int) -> dict:
    """Fine-tune ``model`` in place on the transitions of the ``kept`` chains; returns the record's figures.

    ``finetune_mode="weighted"``: the count-weighted fit of :mod:`llm.fit` (distinct transitions,
    stopped by ``stop``); ``"examples"``: ``finetune_steps`` batches of individual transitions.
    """
    import torch

    seed = derive_seed(cfg.seed, t, FINETUNE)
    if cfg.finetune_mode == "weighted":
        counts = TransitionCounts.from_chains(kept)
        out: dict[str, Any] = {"train_examples": int(counts.total)}
        if counts.total:
            torch.manual_seed(seed)
            log = fit_counts(
                model, counts, table, device, cfg.finetune_lr, cfg.finetune_steps, stop=cfg.stop,
                gap_tol=cfg.gap_tol, batch=cfg.finetune_batch, seed=seed, warmup=cfg.finetune_lr_warmup,
                weight_decay=cfg.finetune_weight_decay, patience=cfg.patience, plateau_tol=cfg.plateau_tol,
                decay=cfg.lr_decay, progress=cfg.progress, desc=f"fine-tune {t}",
            )
            out.update(log.record("train"))
            out["train_loss_last"] = log.train[-1]
        return out
    transitions = chain_transitions(kept)
    out = {"train_examples": int(transitions[0].size)}
    if transitions[0].size:
        torch.manual_seed(seed)
        batches = transition_batches(table, transitions, cfg.finetune_batch, cfg.finetune_steps, seed)
        train_log = train(
            model, batches, cfg.finetune_steps, cfg.finetune_lr, device, warmup=cfg.finetune_lr_warmup,
            weight_decay=cfg.finetune_weight_decay, schedule="constant", progress=cfg.progress,
            desc=f"fine-tune {t}",
        )
        out["train_loss_last"] = train_log.losses[-1]
        out["train_tokens"] = train_log.tokens
    return out


def star_iteration(cfg: LLMConfig, t: int, model, kept, text_task, table, device,
                   pretrained_state: dict, rule=None) -> tuple[dict, np.ndarray, TabularPolicy, SampledChains]:
    """Iteration ``t`` on ``model`` (changed in place): fine-tune on the chains ``kept`` by
    iteration ``t - 1`` (``t > 0``), measure, sample and keep by ``rule`` (default: the config's,
    :func:`config_rule`); returns ``(record, kept, policy, chains)`` (``chains``: every chain sampled)."""
    task = text_task.task
    rule = config_rule(cfg, rule)
    record: dict = {"iteration": t, "seed": cfg.seed, "rule": rule.record()}
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
        model, table, questions_for(task, cfg.samples_per_question),
        generator(device, derive_seed(cfg.seed, t, SAMPLE)), device,
        batch_size=cfg.batch_size, max_retries=cfg.max_retries, progress=cfg.progress,
        sampler=cfg.sampler, temperature=sampling_temperature(cfg, rule), log_scores=m.log_scores,
    )
    record["sample_wall_s"] = time.perf_counter() - t0
    trained = trained_questions(cfg, task)
    weights = keep_weights(chains, task, rule, trained, np.random.default_rng(derive_seed(cfg.seed, t, KEEP)))
    figures, kept = chain_figures(chains, task, cfg.samples_per_question, trained, weights)
    pool = question_support(task) if trained is None else trained
    hints = rule.hint_chains(m.policy, task, failed_questions(kept, task, pool),
                             np.random.default_rng(derive_seed(cfg.seed, t, RATIONALE)))
    if hints.size:
        kept = np.vstack([kept, hints])
    figures["rationalized"] = int(hints.shape[0])
    record.update(figures)
    record["trained_questions"] = None if trained is None else trained.tolist()
    return record, kept, m.policy, chains


def run_star(cfg: LLMConfig, pretrained: str | os.PathLike, out: str | os.PathLike, resume: bool = False,
             overwrite: bool = False, tracker: Tracker | None = None, rule=None) -> StarRun:
    """Run (or resume) STaR from the checkpoint ``pretrained``; returns the whole run (the
    finished iterations of a resumed run read back from ``out``).

    ``out`` must be new or empty, or this command's own run folder: continued with ``resume``
    (the recorded config must equal ``cfg`` but for :data:`llm.files.MAY_CHANGE_ON_RESUME`, and
    the checkpoint must be the recorded one), replaced with ``overwrite``. It is locked while
    this runs, and nothing in it is written before every check has passed: the checkpoint of a
    new run is read and validated before ``out`` is claimed (and refused inside ``out``).
    ``tracker``: each iteration's record is logged to it as it is written (:mod:`llm.tracking`).

    ``rule``: the update rule object named ``cfg.variant`` (default: looked up by that name,
    :func:`config_rule`); it is recorded in ``run.json`` and in every record, and the prediction
    (``prediction.json``, ``star.png``) is that rule's.
    """
    rule = config_rule(cfg, rule)  # before anything is read or written
    check_run_folder(out, "llm star", {"--checkpoint": pretrained}, resume=resume, overwrite=overwrite)
    loaded = None if resume else load_checkpoint(pretrained)  # a resumed run may continue a moved checkpoint
    with claim_run(out, "llm star", to_record(cfg), resume=resume, overwrite=overwrite):
        return _run_star(cfg, pretrained, Path(out), resume, loaded, tracker, rule)


def _run_star(cfg: LLMConfig, pretrained, out: Path, resume: bool, loaded=None, tracker: Tracker | None = None,
              rule=None) -> StarRun:
    tracker = tracker or Tracker()  # no --log-dir: a no-op
    start = start_point(cfg, pretrained, out, resume)
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    model, tokenizer, spec = loaded if loaded is not None else load_checkpoint(start.pretrained)
    text_task = spec.text_task()
    table = state_table(text_task, tokenizer)
    model.to(device)
    pretrained_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    finished = read_finished(out, start.done, text_task.task, keeps_right_answers_only(to_record(cfg)))  # before any write
    if start.done and start.done[-1] > 0:
        model, _, _ = load_checkpoint(iteration_dir(out, start.done[-1]))
        model.to(device)
    if resume:
        remove_strays(out)
    if start.fresh:
        write_run_json(out, to_record(cfg), start.pretrained, spec.record(), rule.record())
    records, policies, kept = list(finished.records), list(finished.policies), finished.kept
    kept_all = list(finished.kept_all)
    write_metrics_log(out, records)
    for record in records:  # a resumed run's finished iterations, as they read back
        log_iteration(tracker, record)
    for t in range(start.done[-1] + 1 if start.done else 0, cfg.iterations + 1):
        previous_kept = kept
        record, kept, policy, chains = star_iteration(cfg, t, model, kept, text_task, table, device, pretrained_state,
                                                      rule)
        saved = as_read_back(policy)  # the metrics from the kernels as they read back
        record.update(departure_metrics(policies[-1] if t > 0 else None, saved, previous_kept, text_task.task,
                                        record["trained_questions"]))
        write_iteration(out, t, record, kept, policy, (model, tokenizer, spec) if t > 0 else None,
                        chains_parquet(chains, kept, text_task, t))
        records.append(as_written(record))
        log_iteration(tracker, records[-1])
        policies.append(saved)
        kept_all.append(kept)
        write_metrics_log(out, records)
        if cfg.progress:
            _report(record)
    prediction = write_prediction(out, text_task, records, policies, kept_all, cfg.samples_per_question, cfg.seed,
                                  trained_questions(cfg, text_task.task), rule)
    return StarRun(records, policies, None if prediction is None else as_written(prediction), kept_all)


def _report(record: dict) -> None:
    """One progress line per iteration on stderr."""
    lam = record.get("lam")
    lam_txt = "" if lam is None else " lam=" + ",".join(f"{x:.3f}" for x in lam)
    print(f"iteration {record['iteration']}: sampled acc {record['sampled_accuracy']:.3f}, exact acc "
          f"{record['exact_accuracy']:.3f}, kept {record['kept']}{lam_txt}", file=sys.stderr)

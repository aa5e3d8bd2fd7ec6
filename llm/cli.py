"""``rlstar llm {pretrain,star,measure,run,bench}``: the LLM backend's commands.

Registered through the ``rlstar.commands`` entry point. Settings come from ``--preset`` <
``--config FILE.toml`` (its ``[llm]`` table) < flags (:func:`llm.config.make_config`).

The ``rlstar`` shell imports this module only for ``rlstar llm ...`` (and ``--help``); torch and
transformers load inside the functions that use them, so building the parser stays cheap.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import fields

from star_theory import InputError
from star_theory.cli import main as rlstar_main
from star_theory.commands._options import task_choices
from star_theory.config import add_arguments
from star_theory.io import dumps_json, write_json
from star_theory.outputs import check_output_file

from star_theory.rules import rule_names
from star_theory.seeds import derive_seed
from star_theory.sim.sampling import questions_for
from star_theory.tracking import add_log_dir_argument, open_tracker
from star_theory.variants import PARAMETER_SPECS

from .bench import benchmark
from .config import PRESETS, LLMConfig, given_values, make_config, resumed_config, to_record
from .device import generator, resolve_device, set_threads
from .files import check_llm_memory, check_run_folder, claim_run, read_json_object, recorded_config
from .measure import measure
from .model import load_checkpoint, read_task_spec
from .pretrain import input_paths, pretrain, pretrain_inputs
from .sample import sample_chains
from .star import MEASURE, chain_figures, config_rule, phase_walls, run_star
from .tokenizer import state_table
from .tracking import log_figure, log_pretrain, log_pretrain_folder

TASK_FIELDS = ("task", "task_params", "digits", "base", "tokenization")
CORPUS_FIELDS = ("lam", "eps", "corpus")
MODEL_FIELDS = ("model", "init_range")
PRETRAIN_FIELDS = ("pretrain_steps", "pretrain_batch", "pretrain_lr", "pretrain_lr_warmup", "warmup_steps",
                   "pretrain_weight_decay", "pretrain_mode", "stop", "gap_tol", "patience", "plateau_tol", "lr_decay")
STAR_FIELDS = ("iterations", "samples_per_question", "finetune_steps", "finetune_lr", "finetune_batch",
               "restart", "max_retries", "finetune_lr_warmup", "finetune_weight_decay", "finetune_mode", "stop",
               "gap_tol", "patience", "plateau_tol", "lr_decay", "sampler", "temperature", "heldout_fraction",
               "variant", *(p.name for p in PARAMETER_SPECS if p.name != "temperature"))  # the update rule
RUNTIME_FIELDS = ("device", "seed", "threads", "batch_size", "progress")
PRESET_HELP = f"named settings: {', '.join(PRESETS)} (llm/config.py, docs/llm.md)"


def _add(parser, fields_: tuple[str, ...]) -> None:
    names = {f.name for f in fields(LLMConfig)}
    add_arguments(parser, LLMConfig, exclude=tuple(names - set(fields_)))
    if "task" in fields_:
        task_choices(parser)
    parser.add_argument("--preset", default=None, help=PRESET_HELP)
    parser.add_argument("--config", default=None, metavar="FILE.toml", help="TOML file of settings ([llm] table)")
    if "variant" in fields_:  # the built-in names and every plug-in rule's (star_theory.rules)
        parser._option_string_actions["--variant"].choices = rule_names()
def register(subparsers) -> None:
    p = subparsers.add_parser("llm", help="real STaR on a GPT-2-style transformer, measured against the theory")
    sub = p.add_subparsers(dest="llm_command", required=True, metavar="LLM_COMMAND", parser_class=type(p))

    q = sub.add_parser("pretrain", help="pretrain a model on a corpus from the symmetric family")
    _add(q, TASK_FIELDS + CORPUS_FIELDS + MODEL_FIELDS + PRETRAIN_FIELDS + RUNTIME_FIELDS)
    q.add_argument("--out", required=True, help="checkpoint folder to write (new or empty)")
    q.add_argument("--resume", action="store_true", help="keep a finished pretraining of the same settings in "
                   "--out (its summary is printed) and redo one that was cut short")
    _overwrite(q)
    add_log_dir_argument(q)
    q.set_defaults(func=_pretrain)

    q = sub.add_parser("star", help="run STaR iterations from a pretrained checkpoint")
    _add(q, STAR_FIELDS + RUNTIME_FIELDS)
    q.add_argument("--checkpoint", required=True, help="pretrained checkpoint folder")
    q.add_argument("--out", required=True, help="run folder to write (new or empty)")
    q.add_argument("--resume", action="store_true", help="continue from the last finished iteration (flags not "
                   "given take the recorded values; only --iterations and --progress may differ from them)")
    _overwrite(q)
    add_log_dir_argument(q)
    q.set_defaults(func=_star)

    q = sub.add_parser("measure", help="measure a checkpoint as a tabular policy (exact kernels, lam, accuracy)")
    _add(q, ("samples_per_question", "max_retries", "sampler", "temperature") + RUNTIME_FIELDS)
    q.add_argument("--checkpoint", required=True, help="checkpoint folder")
    q.add_argument("--out", default=None, help="write the JSON here (default: stdout); a new file")
    q.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    q.set_defaults(func=_measure)

    q = sub.add_parser("run", help="pretrain, then STaR, then the theory prediction (one command)")
    _add(q, TASK_FIELDS + CORPUS_FIELDS + MODEL_FIELDS + PRETRAIN_FIELDS + STAR_FIELDS + RUNTIME_FIELDS)
    q.add_argument("--out", required=True, help="run folder (pretrained/ and star/ inside)")
    q.add_argument("--resume", action="store_true", help="reuse a finished pretraining and continue STaR")
    _overwrite(q)
    add_log_dir_argument(q)
    q.set_defaults(func=_run)

    q = sub.add_parser("bench", help="sampling and training throughput on the current device (JSON)")
    _add(q, TASK_FIELDS + MODEL_FIELDS + ("samples_per_question", "finetune_batch") + RUNTIME_FIELDS)
    q.add_argument("--repeats", type=int, default=3, help="timed repetitions (best is reported)")
    q.set_defaults(func=_bench)


def _overwrite(parser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace a previous run of this command in --out (only its own files are removed)")


def _config(args) -> LLMConfig:
    return make_config(args, preset_name=args.preset, toml_path=args.config)


def _resumed_config(args, record_path: str) -> LLMConfig:
    """The config of a resumed run: the values recorded in ``record_path`` (its ``config``
    table), overridden by those given, which :func:`llm.files.check_resume` must accept."""
    if not os.path.isfile(record_path):
        return _config(args)
    stored = read_json_object(record_path, os.path.basename(record_path)).get("config")
    if not isinstance(stored, dict):
        raise InputError(f"{record_path!r}: corrupted record (no config table)")
    given = given_values(args, preset_name=args.preset, toml_path=args.config)
    return resumed_config(recorded_config(stored), given, source=record_path)


def _print_json(obj) -> None:
    print(dumps_json(obj))


def _pretrain(args) -> int:
    tracker = open_tracker(args.log_dir, {"--out": args.out})
    cfg = _resumed_config(args, os.path.join(args.out, "pretrain.json")) if args.resume else _config(args)
    check_llm_memory(cfg)
    with tracker:
        summary = pretrain(cfg, args.out, overwrite=args.overwrite, resume=args.resume)
        if summary:
            log_pretrain(tracker, summary)
    if summary:
        _print_json({k: summary[k] for k in ("loss_first", "loss_last", "wall_s", "measured")})
    return 0


def _star(args) -> int:
    tracker = open_tracker(args.log_dir, {"--out": args.out, "--checkpoint": args.checkpoint})
    cfg = _resumed_config(args, os.path.join(args.out, "run.json")) if args.resume else _config(args)
    check_llm_memory(cfg, read_task_spec(args.checkpoint))
    with tracker:
        run = run_star(cfg, args.checkpoint, args.out, resume=args.resume, overwrite=args.overwrite, tracker=tracker)
        log_figure(tracker, args.out, run.records)
    _print_json(run.records[-1] if run.records else {})
    return 0


def _measure(args) -> int:
    cfg = _config(args)
    check_llm_memory(cfg, read_task_spec(args.checkpoint))
    set_threads(cfg.threads)
    device = resolve_device(cfg.device)
    model, tokenizer, spec = load_checkpoint(args.checkpoint)
    if args.out:
        check_output_file(args.out, args.overwrite)
    model.to(device)
    text_task = spec.text_task()
    table = state_table(text_task, tokenizer)
    result = {"checkpoint": args.checkpoint, "task": spec.record(), "seed": cfg.seed}
    result.update(measure(model, text_task, table, device, cfg.batch_size).record())
    questions = questions_for(text_task.task, cfg.samples_per_question)
    chains = sample_chains(model, table, questions, generator(device, derive_seed(cfg.seed, 0, MEASURE)), device,
                           cfg.batch_size, cfg.max_retries, progress=cfg.progress, sampler=cfg.sampler,
                           temperature=cfg.temperature)
    result.update(chain_figures(chains, text_task.task, cfg.samples_per_question)[0])
    if args.out:
        write_json(args.out, result)
    else:
        _print_json(result)
    return 0


def _run(args) -> int:
    tracker = open_tracker(args.log_dir, {"--out": args.out})
    pre, star = os.path.join(args.out, "pretrained"), os.path.join(args.out, "star")
    cfg = _resumed_config(args, os.path.join(pre, "pretrain.json")) if args.resume else _config(args)
    check_llm_memory(cfg)
    config_rule(cfg)  # a rule the LLM cannot run is refused before pretraining
    t0 = time.perf_counter()
    check_run_folder(args.out, "llm run", input_paths(cfg), resume=args.resume, overwrite=args.overwrite)
    reuse = args.resume and os.path.isfile(os.path.join(pre, "pretrain.json"))
    inputs = None if reuse else pretrain_inputs(cfg)  # read and validated before anything in --out is replaced
    with claim_run(args.out, "llm run", to_record(cfg), resume=args.resume, overwrite=args.overwrite) as run, tracker:
        finished = os.path.isfile(os.path.join(pre, "pretrain.json"))
        if run.fresh or not finished:  # a pretraining that was cut short is our own to redo
            pretrain(cfg, pre, resume=not run.fresh, inputs=inputs)
        log_pretrain_folder(tracker, pre)
        t1 = time.perf_counter()
        records = run_star(cfg, pre, star, resume=args.resume and not run.fresh, tracker=tracker).records
        log_figure(tracker, star, records)
    last = records[-1]
    walls = {"pretrain": t1 - t0, "star": time.perf_counter() - t1}
    walls |= phase_walls(records)
    _print_json({k: last.get(k) for k in ("iteration", "sampled_accuracy", "exact_accuracy", "lam", "kept")}
                | {"wall_s": walls, "figure": os.path.join(star, "star.png")})
    return 0


def _bench(args) -> int:
    if args.repeats < 1:
        raise InputError(f"--repeats must be >= 1, got {args.repeats}")
    cfg = _config(args)
    check_llm_memory(cfg)
    _print_json(benchmark(cfg, repeats=args.repeats))
    return 0


def main(argv=None) -> int:
    """``python -m llm ...`` is ``rlstar llm ...`` (handy under torchrun)."""
    return rlstar_main(["llm", *(sys.argv[1:] if argv is None else argv)])

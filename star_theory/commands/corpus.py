"""``rlstar corpus``: a pretraining corpus of chains from the symmetric family on a registered task."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from ..config import check, coerce_fields, command_config, option, task_params_option
from ..outputs import check_output_file
from ..sim.corpus import FORMATS, make_corpus, write_corpus
from ..sizes import check_memory, corpus_bytes
from ..task_registry import describe_task, settle_task_fields, task_level_sizes
from ._options import add_config_arguments, task_choices


@dataclass(frozen=True)
class CorpusConfig:
    """A corpus: task, pretrained policy (lam or eps), chains per question, seed."""

    task: str = option("zip", "a registered task (zip, add, walk or a plug-in: star_theory.task_protocol)")
    task_params: dict[str, Any] = task_params_option()
    digits: int = option(3, "digits D per number (>= 1; alias of --task-param digits=D)")
    base: int = option(2, "base b (>= 2; alias of --task-param base=B)")
    lam: tuple[float, ...] | None = option(None, "mixture weight lam_n of P_n = lam_n P* + (1-lam_n) U (1 value or N)")
    eps: tuple[float, ...] | None = option(None, "excess probability eps_n = lam_n (M-1)/M (1 value or N)")
    chains_per_question: int = option(4096, "chains sampled per question (>= 1)")
    seed: int = option(0, "seed of numpy.random.default_rng (>= 0)")
    out: str | None = option(None, "output file (written in --format)")
    format: str = option("csv", "file format: csv (rlstar-corpus/1: a '# {json}' metadata line, then s0..sN rows), "
                         "parquet (columns s0..sN, the metadata in the schema) or jsonl (one chain per line, no metadata)",
                         choices=FORMATS)

    def __post_init__(self):
        coerce_fields(self)
        settle_task_fields(self)
        check((self.lam is None) != (self.eps is None), "give exactly one of lam or eps")
        check(self.chains_per_question >= 1, f"chains_per_question must be >= 1, got {self.chains_per_question}")
        check(self.seed >= 0, f"seed must be >= 0, got {self.seed}")
        check(self.out is not None and self.out != "", "out (the output file) is required")
        check(self.format in FORMATS, f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "corpus",
        help="sample a pretraining corpus (one chain per row, columns s0..sN) for the LLM backend",
        description="Chains sampled from P_n = lam_n P_n* + (1-lam_n) U on a digit task, written atomically as "
        "CSV with a '# {json}' metadata line (format rlstar-corpus/1), Parquet or JSON lines (--format; see "
        "star_theory.sim.corpus).",
    )
    add_config_arguments(p, CorpusConfig, "corpus")
    task_choices(p)
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = command_config(CorpusConfig, args, "corpus")
    sizes = task_level_sizes(cfg.task, cfg.task_params)
    check_memory(corpus_bytes(sizes, cfg.chains_per_question),
                 f"a corpus of K={cfg.chains_per_question} chains per question on {describe_task(cfg.task, cfg.task_params)}")
    meta, chains = make_corpus(cfg.task, lam=cfg.lam, eps=cfg.eps, chains_per_question=cfg.chains_per_question,
                               seed=cfg.seed, params=cfg.task_params)
    check_output_file(cfg.out, args.overwrite)
    write_corpus(cfg.out, chains, meta, cfg.format)
    print(f"wrote {meta['n_chains']} chains ({meta['n_questions']} questions x {meta['chains_per_question']}, "
          f"N={meta['n_steps']}, lam={[round(x, 6) for x in meta['lam']]}, seed {meta['seed']}) to {cfg.out}")
    return 0

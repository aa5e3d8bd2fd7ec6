"""``rlstar phase``: pretrained-quality phase diagram over (lam_1, lam_2), exact or sampled."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..config import check, coerce_fields, command_config, option
from ..outputs import check_output_file
from ..rules import make_rule
from ..sim.phase import MODES, phase_diagram
from ..sampling import EMPTY_ROW_RULES
from ..variants import variant_fields, variant_parameters
from ..sizes import check_memory, phase_bytes
from ._options import add_config_arguments, write_outputs
from ._variants import variant_choices


@dataclass(frozen=True)
@variant_fields(after="variant")
class PhaseConfig:
    """A phase diagram: grid, mode (exact / sampled), variant."""

    M: int = option(8, "states per level (>= 2)", flag="--M")
    N: int = option(2, "reasoning steps: 2, or more for a slice with lam_3.. fixed", flag="--N")
    fixed: tuple[float, ...] = option([], "lam_3..lam_N of an N >= 3 slice (N-2 values, lam convention)")
    points: int = option(41, "grid points per axis over [-1/(M-1), 1], zero included (>= 3)")
    iterations: int = option(200, "STaR iterations per grid point (>= 1)")
    target: float = option(0.99, "target accuracy for 'iterations to target', in (0, 1]")
    mode: str = option("exact", "exact form or K sampled chains per question", choices=MODES)
    variant: str = option("star", "STaR update rule: a built-in variant or a plug-in rule (rlstar.variants entry points)")
    # then one field per variant parameter (star_theory.variants.PARAMETER_SPECS)
    chains_per_question: int | None = option(None, "K: chains per question (needed for mode=sampled)", flag="--K")
    seeds: tuple[int, ...] = option([0, 1, 2], "seeds of the sampled runs")
    empty_rows: str = option("keep", "sampled rule for rows with no kept data: keep, uniform, mean or smooth", choices=EMPTY_ROW_RULES)
    alpha: float = option(1.0, "add-alpha constant for empty_rows=smooth (> 0)")

    def __post_init__(self):
        coerce_fields(self)
        check(self.M >= 2, f"M must be >= 2, got {self.M}")
        check(self.N >= 2, f"N must be >= 2, got {self.N}")
        check(len(self.fixed) == self.N - 2, f"fixed must hold N-2={self.N - 2} values, got {len(self.fixed)}")
        check(self.points >= 3, f"points must be >= 3, got {self.points}")
        check(self.iterations >= 1, f"iterations must be >= 1, got {self.iterations}")
        check(0 < self.target <= 1, f"target must lie in (0, 1], got {self.target}")
        check(self.mode != "sampled" or self.chains_per_question is not None, "chains_per_question (--K) is required for mode=sampled")
        check(self.chains_per_question is None or self.chains_per_question >= 1, f"chains_per_question must be >= 1, got {self.chains_per_question}")
        check(len(self.seeds) >= 1, "seeds must list at least one seed")
        self.make_variant()  # the name and its parameters, checked on construction

    def make_variant(self):
        return make_rule(self.variant, **variant_parameters(self))


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "phase",
        help="pretrained-quality phase diagram over (lam_1, lam_2): outcome and iterations to a target",
        description="Outcome (optimum / stuck / other) and iterations to a target accuracy over the (lam_1, lam_2) "
        "square [-1/(M-1), 1]^2 (lam convention), exact or with K sampled chains per question; N >= 3 gives a "
        "slice with lam_3.. fixed. Writes JSON (--out or --format json) and a figure (--plot).",
    )
    add_config_arguments(p, PhaseConfig, "phase")
    variant_choices(p)
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--out", metavar="FILE.json", help="write the JSON result here (atomically)")
    p.add_argument("--plot", metavar="FILE.png", help="write the figure here")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out or --plot file")
    p.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None, help="progress bar on stderr")
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = command_config(PhaseConfig, args, "phase")
    check_memory(phase_bytes(cfg.M, cfg.N, cfg.points, cfg.iterations, cfg.mode, cfg.chains_per_question,
                             len(cfg.seeds) if cfg.mode == "sampled" else 1,
                             rationales=cfg.rationales if cfg.variant == "rationalize" else 0),
                 f"a phase diagram of {cfg.points}x{cfg.points} points, M={cfg.M}, N={cfg.N}, {cfg.iterations} iterations")
    d = phase_diagram(
        cfg.M, cfg.N, fixed=cfg.fixed, points=cfg.points, iterations=cfg.iterations, target=cfg.target,
        mode=cfg.mode, variant=cfg.make_variant(), chains_per_question=cfg.chains_per_question,
        seeds=cfg.seeds, empty_rows=cfg.empty_rows, alpha=cfg.alpha, progress=args.progress,
    )
    result = d.to_json()
    for path in (args.out, args.plot):
        if path:
            check_output_file(path, args.overwrite)
    if not write_outputs(args, result, lambda path: _plot(d, path), args.out):
        print(f"# phase diagram M={d.M} N={d.N} fixed={list(d.fixed)} {d.mode} {d.variant}, convention lam, "
              f"{d.values.size}x{d.values.size} grid over [{d.values[0]:.4g}, {d.values[-1]:.4g}]")
        for k, v in d.counts().items():
            print(f"{k:>8}: {v}")
        for k, v in d.notes.items():
            print(f"# {k}: {v}")
    return 0


def _plot(diagram, path: str) -> None:
    from ..plots.phase import plot_phase  # matplotlib: only when a figure is asked for

    plot_phase(diagram, path)

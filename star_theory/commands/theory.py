"""``rlstar theory``: the closed-form STaR trajectory of the symmetric family (table, JSON, plot)."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace

import numpy as np

from ..closed_form import symmetric_trajectory
from ..config import add_arguments, check, coerce_fields, from_args, option, to_mapping
from ..io import dumps_json
from ..model import resolve_lam
from ..outputs import check_output_file
from ..sizes import check_memory, trajectory_bytes, trajectory_output_bytes
from ..validation import MAX_STEPS

#: steps from which ``rlstar theory`` reports what it is doing on stderr (a second or more of work per iteration)
LONG_STEPS = 200_000


@dataclass(frozen=True)
class TheoryConfig:
    M: int = option(64, "states per level (>= 2)", flag="--M", aliases=("--states",))
    N: int = option(3, "reasoning steps (>= 1)", flag="--N", aliases=("--steps",))
    lam: tuple[float, ...] | None = option(
        None, "per-step mixture weight lam in [-1/(M-1), 1]: one value (every step) or N values; 0.2 if neither --lam nor --eps"
    )
    eps: tuple[float, ...] | None = option(
        None, "per-step excess probability eps = lam (M-1)/M in [-1/M, (M-1)/M], instead of --lam"
    )
    iterations: int = option(10, "T, exact STaR iterations (>= 0)")
    format: str = option("table", "output format", choices=("table", "json"))
    plot: str | None = option(None, "write the curves to this .png file")
    show_formulas: bool = option(False, "print the sympy-derived closed forms for N steps and exit")
    formula_style: str = option("plain", "style of --show-formulas", choices=("plain", "latex"))

    def __post_init__(self):
        coerce_fields(self)
        check(self.M >= 2, f"M (states per level, --M or --states) must be >= 2, got {self.M}")
        check(self.N >= 1, f"N (reasoning steps, --N or --steps) must be >= 1, got {self.N}")
        check(self.iterations >= 0, f"iterations must be >= 0, got {self.iterations}")
        check(self.iterations <= 100000, f"iterations must be <= 100000, got {self.iterations}")
        check(self.lam is None or self.eps is None, "give --lam or --eps, not both")
        check(self.plot is None or self.plot.lower().endswith(".png"), f"plot path must end in .png, got {self.plot!r}")
        check(self.format in ("table", "json"), f"format must be table or json, got {self.format!r}")
        check(self.formula_style in ("plain", "latex"), f"formula_style must be plain or latex, got {self.formula_style!r}")

    @property
    def convention(self) -> str:
        return "eps" if self.eps is not None else "lam"


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "theory",
        help="closed-form STaR trajectory of the symmetric family",
        description="Accuracy, per-step lam (or eps) and flawed-chain share over exact STaR "
        "iterations, from the closed forms (equal to the exact operator). --states and --steps are "
        "aliases of --M and --N.",
    )
    add_arguments(p, TheoryConfig)
    p.add_argument("--overwrite", action="store_true", help="replace an existing --plot file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    cfg = from_args(TheoryConfig, args, source="theory")
    if cfg.show_formulas:
        from ..derive import format_formulas  # sympy (0.6 s): only for --show-formulas

        print(format_formulas(cfg.N, cfg.formula_style))
        return 0
    check_memory(trajectory_bytes(cfg.N, cfg.iterations) + trajectory_output_bytes(cfg.N, cfg.iterations),
                 f"a trajectory of N={cfg.N} steps over {cfg.iterations} iterations")
    check(cfg.N <= MAX_STEPS, f"N (reasoning steps, --N or --steps) must be <= {MAX_STEPS}, got {cfg.N}")
    long = cfg.N >= LONG_STEPS
    if long:  # a run of more than a few seconds says what it does
        print(f"rlstar theory: the closed form over N={cfg.N} steps and {cfg.iterations} iterations "
              "...", file=sys.stderr, flush=True)
    conv = cfg.convention
    if conv == "eps":
        lam = resolve_lam(cfg.M, cfg.N, eps=list(cfg.eps))
    else:
        lam = resolve_lam(cfg.M, cfg.N, lam=list(cfg.lam) if cfg.lam is not None else 0.2)
    tr = replace(symmetric_trajectory(cfg.M, cfg.iterations, lam=lam), convention=conv)
    if long:
        print("rlstar theory: writing the output...", file=sys.stderr, flush=True)
    if cfg.plot:
        check_output_file(cfg.plot, getattr(args, "overwrite", False))
        _plot(cfg, tr)
    if cfg.format == "json":
        settings = {**to_mapping(cfg), "lam": lam.tolist()}
        print(dumps_json({"settings": settings, "convention": conv, "iteration": list(range(cfg.iterations + 1)),
                          "accuracy": tr.accuracy, "error_rate": tr.error_rate, "lam": tr.lam, "eps": tr.eps,
                          "flawed_share": tr.flawed_share}, indent=None))
    else:
        _print_table(cfg, tr)
    return 0


def _shown(tr):
    """The per-step parameter in the trajectory's convention: ``eps`` or ``lam``, shape ``(T+1, N)``."""
    return tr.eps if tr.convention == "eps" else tr.lam


def _plot(cfg: TheoryConfig, tr) -> None:
    from ..plots.theory import plot_trajectory  # matplotlib: only when a figure is asked for

    init = np.round(_shown(tr)[0], 4).tolist()
    plot_trajectory(tr, cfg.plot, title=f"closed form, M={cfg.M}, N={cfg.N}, initial {tr.convention}={init}")


def _print_table(cfg: TheoryConfig, tr) -> None:
    sym, shown = tr.convention, _shown(tr)
    print(
        f"# closed-form exact STaR, M={cfg.M}, N={cfg.N}; per-step {sym} "
        f"({'excess probability: P(correct)=1/M+eps' if sym == 'eps' else 'mixture weight: P=lam P*+(1-lam)U'})"
    )
    head = ["t", "accuracy"] + [f"{sym}_{n + 1}" for n in range(cfg.N)] + ["flawed_share"]
    widths = [4, 10] + [10] * cfg.N + [12]
    print("  ".join(h.rjust(w) for h, w in zip(head, widths)))
    for t in range(cfg.iterations + 1):
        cells = [str(t), f"{tr.accuracy[t]:.6f}"] + [f"{v:.6f}" for v in shown[t]] + [f"{tr.flawed_share[t]:.6f}"]
        print("  ".join(c.rjust(w) for c, w in zip(cells, widths)))
    if cfg.plot:
        print(f"# plot written to {cfg.plot}")

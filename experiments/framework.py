"""Experiments as data: the protocol every folder under ``experiments/`` follows.

An experiment is a folder ``experiments/<name>/`` holding

* ``settings.toml`` — its settings as data: a table per preset (``[default]``, ``[smoke]``,
  ``[paper]``, ``[full]``; a preset a file lacks is its ``[default]``), each filling the experiment's ``Settings`` dataclass;
* ``runner.py`` — ``Settings`` (a config dataclass at module level, one help string per field) and
  ``run(settings, ctx) -> dict``: computes only, and returns every number as JSON-able data;
* ``figures.py`` — ``draw(data, settings, ctx)``: draws every figure from that data (as stored, after
  a JSON round trip), each written through ``ctx.figure(name)``;
* ``analysis.py`` — ``analyze(data, settings) -> list[Finding | Info | Consistency]``: what the theory
  predicts, what was measured, the tolerance (a statistic of the run: a binomial or standard-error
  bound, a band from seeds, a numerical tolerance with its reason), and whether they agree;
  quantities with no test are :class:`Info`, and checks that hold by construction (an identity or a
  bound the run cannot break, e.g. Pinsker's inequality) are :class:`Consistency`: both are reported
  beside the findings and kept out of the "X of Y agree" tally;
* ``__init__.py`` — ``EXPERIMENT = experiment(__name__, title, claims)`` tying the three together.

``rlstar reproduce`` (see :mod:`experiments.reproduce`) runs them and writes the report.
"""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from star_theory.config import from_mapping, load_toml
from star_theory.errors import InputError
from star_theory.seeds import derive_seed

from .stats import band_test, band_words

PRESETS = ("default", "smoke", "paper", "full")
EXPERIMENT_NAMES = (
    "theory_curves",
    "finite_samples",
    "pretrained_quality",
    "robustness",
    "theory_vs_llm",
    "non_bijective",
    "variants",
    "beyond",
    "llm_regimes",
)


@dataclass(frozen=True)
class Finding:
    """One checked statement: theory's prediction against a measurement, within a tolerance."""

    claim: str  # which claim of the analysis: "pretrained quality", "improvement", ...
    statement: str  # what is compared, in words
    predicted: Any
    measured: Any
    tolerance: str
    agree: bool
    note: str = ""


@dataclass(frozen=True)
class Info:
    """A measured quantity with no test: reported in its own table, outside the "X of Y agree" tally."""

    claim: str
    statement: str
    value: Any
    note: str = ""


@dataclass(frozen=True)
class Consistency:
    """A check that holds by construction (an identity, or a bound the run cannot break): it guards the
    code and the data, not the theory, so it is reported in its own table, outside the tally."""

    claim: str
    statement: str
    predicted: Any
    measured: Any
    tolerance: str
    holds: bool
    note: str = ""


def band_finding(claim: str, statement: str, label: str, values, runs) -> tuple[Finding, dict]:
    """Whether one run's ``values`` (per iteration) lie in the 95% simultaneous prediction band of ``runs``
    (tabular STaR at the same K): the finding, and the band test for further use."""
    t = band_test(values, runs, floor=1e-9)  # floor: iteration 0 is the same kernel in every run (round-off)
    return Finding(claim, statement + " (inside its prediction band)", "inside", f"{t['n_inside']} of {t['n']} iterations",
                   band_words(t, len(runs)), t["all"],
                   note=f"{label} {np.round(values, 3).tolist()} against the band {np.round(t['lo'], 3).tolist()} .. "
                        f"{np.round(t['hi'], 3).tolist()}"), t


def split_results(items: Iterable[Any]) -> dict[str, list[dict]]:
    """An analysis's output as JSON-able ``{"findings", "info", "consistency"}`` lists (dicts pass through
    as findings); only ``findings`` enter the "X of Y agree" tally."""
    out: dict[str, list[dict]] = {"findings": [], "info": [], "consistency": []}
    for x in items:
        key = "info" if isinstance(x, Info) else "consistency" if isinstance(x, Consistency) else "findings"
        out[key].append(dataclasses.asdict(x) if dataclasses.is_dataclass(x) else x)  # type: ignore[arg-type]
    return out


@dataclass
class Context:
    """What a runner and its figures get besides the settings: where to write, the seed, the device, progress,
    and the figures written so far (in order, for the report)."""
    out: Path
    seed: int
    device: str = "cpu"
    master_seed: int = 0
    progress: bool = True
    figures: list[str] = field(default_factory=list)

    def figure(self, name: str) -> Path:
        """Path for a figure ``name`` (a ``.png`` in this experiment's folder); recorded for the report."""
        if not name.endswith(".png"):
            name += ".png"
        path = self.out / name
        self.figures.append(name)
        return path

    def child_seed(self, *keys: Any) -> int:
        """A seed derived from this experiment's seed and ``keys`` (stable across runs and machines)."""
        return derive_seed(self.seed, *map(str, keys))


@dataclass(frozen=True)
class Experiment:
    """One experiment: its name (the folder), title, the claims it checks, and its three parts (see the module)."""

    name: str
    title: str
    claims: tuple[str, ...]
    settings_cls: type
    run: Callable[[Any, Context], dict]
    analyze: Callable[[dict, Any], list[Finding]]
    figures: Callable[[dict, Any, Context], None]

    @property
    def folder(self) -> Path:
        return Path(__file__).parent / self.name

    def settings(self, preset: str = "default", overrides: dict | None = None) -> Any:
        """The ``Settings`` of a preset, read from this experiment's ``settings.toml``."""
        if preset not in PRESETS:
            raise InputError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        table = load_toml(self.folder / "settings.toml")
        values = dict(table.get("default", {}))
        if preset != "default":
            values.update(table.get(preset, {}))
        values.update(overrides or {})
        return from_mapping(self.settings_cls, values, f"{self.name}/settings.toml [{preset}]")


def experiment(package: str, title: str, claims: tuple[str, ...]) -> Experiment:
    """The experiment of the folder ``package`` (an ``experiments.<name>`` package): its runner's
    ``Settings`` and ``run``, its analysis's ``analyze`` and its figures' ``draw``."""
    runner = importlib.import_module(".runner", package)
    analysis = importlib.import_module(".analysis", package)
    figures = importlib.import_module(".figures", package)
    return Experiment(name=package.rsplit(".", 1)[-1], title=title, claims=tuple(claims), settings_cls=runner.Settings,
                      run=runner.run, analyze=analysis.analyze, figures=figures.draw)


def experiment_seed(master_seed: int, name: str) -> int:
    """The seed of experiment ``name`` under a master seed (recorded in the manifest)."""
    return derive_seed(master_seed, name)


def load_experiment(name: str) -> Experiment:
    if name not in EXPERIMENT_NAMES:
        raise InputError(f"unknown experiment {name!r} (known: {', '.join(EXPERIMENT_NAMES)})")
    module = importlib.import_module(f"experiments.{name}")
    return module.EXPERIMENT


def settings_record(settings: Any) -> dict:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}

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
* ``__init__.py`` — ``EXPERIMENT = experiment(__name__, title, claims, load)`` tying the three together,
  where ``load()`` imports the package's own ``runner``, ``analysis`` and ``figures`` (``from . import ...``
  in its body: the package stays light until the experiment runs).

The defaults live in one place, ``settings.toml [default]``: the fields of ``Settings`` are declared with
:func:`experiments.shared_settings.setting` (a help string, no default), so a value is never written twice.
:mod:`experiments.registry` lists the experiments; ``rlstar reproduce`` (see :mod:`experiments.reproduce`)
runs them and writes the report.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np

from star_theory.config import from_mapping, load_toml
from star_theory.errors import InputError
from star_theory.seeds import derive_seed

from .stats import band_test, band_words, prediction_band

PRESETS = ("default", "smoke", "paper", "full")


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


BAND_FLOOR = 1e-9
"""Floor of a :func:`band_finding`'s band: iteration 0 is the same kernel in every run (round-off)."""


def verdict_band(runs, draws: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``(lo, hi)``: the band a :func:`band_finding` tests one run against (``draws``: the mean of that many
    runs), for figures, which draw exactly the band of their verdict."""
    return prediction_band(runs, floor=BAND_FLOOR, draws=draws)


def band_finding(claim: str, statement: str, label: str, values, runs) -> tuple[Finding, dict]:
    """Whether one run's ``values`` (per iteration) lie in the 95% simultaneous prediction band of ``runs``
    (tabular STaR at the same K): the finding, and the band test for further use."""
    t = band_test(values, runs, floor=BAND_FLOOR)
    return Finding(claim, statement + " (inside its prediction band)", "inside", f"{t['n_inside']} of {t['n']} iterations",
                   band_words(t, len(runs)), t["all"],
                   note=f"{label} {np.round(values, 3).tolist()} against the band {np.round(t['lo'], 3).tolist()} .. "
                        f"{np.round(t['hi'], 3).tolist()}"), t


def split_results(items) -> dict[str, list[dict]]:
    """An analysis's output as JSON-able ``{"findings", "info", "consistency"}`` lists (dicts pass through
    as findings); only ``findings`` enter the "X of Y agree" tally."""
    out: dict[str, list[dict]] = {"findings": [], "info": [], "consistency": []}
    for x in items:
        key = "info" if isinstance(x, Info) else "consistency" if isinstance(x, Consistency) else "findings"
        out[key].append(dataclasses.asdict(x) if dataclasses.is_dataclass(x) else x)
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
    """One experiment: its name (the folder), title, the claims it checks, and ``load`` returning its three
    parts, the modules ``(runner, analysis, figures)`` (see the module), imported on first use."""

    name: str
    title: str
    claims: tuple[str, ...]
    load: Callable[[], tuple[ModuleType, ModuleType, ModuleType]]

    @property
    def folder(self) -> Path:
        return Path(__file__).parent / self.name

    @property
    def settings_cls(self) -> type:
        """The runner's ``Settings`` dataclass."""
        return self.load()[0].Settings

    def run(self, settings, ctx: Context) -> dict:
        """The runner's ``run(settings, ctx)``: every number, as JSON-able data."""
        return self.load()[0].run(settings, ctx)

    def analyze(self, data: dict, settings) -> list:
        """The analysis's ``analyze(data, settings)``: the findings, info and consistency checks."""
        return self.load()[1].analyze(data, settings)

    def figures(self, data: dict, settings, ctx: Context) -> None:
        """The figures' ``draw(data, settings, ctx)``."""
        self.load()[2].draw(data, settings, ctx)

    def settings(self, preset: str = "default", overrides: dict | None = None):
        """The ``Settings`` of a preset, read from this experiment's ``settings.toml``: its ``[default]`` table
        (which gives every field) updated by the preset's table and ``overrides``."""
        if preset not in PRESETS:
            raise InputError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        table = load_toml(self.folder / "settings.toml")
        values = dict(table.get("default", {}))
        if preset != "default":
            values.update(table.get(preset, {}))
        values.update(overrides or {})
        source = f"{self.name}/settings.toml [{preset}]"
        missing = [f.name for f in dataclasses.fields(self.settings_cls) if f.name not in values]
        if missing:
            raise InputError(f"{self.name}/settings.toml [default] lacks {', '.join(missing)} (every setting has "
                             "its default there)")
        return from_mapping(self.settings_cls, values, source)


def experiment(package: str, title: str, claims: tuple[str, ...],
               load: Callable[[], tuple[ModuleType, ModuleType, ModuleType]]) -> Experiment:
    """The experiment of the folder ``package`` (an ``experiments.<name>`` package, whose ``load()`` imports
    its ``runner``, ``analysis`` and ``figures`` modules)."""
    return Experiment(name=package.rsplit(".", 1)[-1], title=title, claims=tuple(claims), load=load)


def experiment_seed(master_seed: int, name: str) -> int:
    """The seed of experiment ``name`` under a master seed (recorded in the manifest)."""
    return derive_seed(master_seed, name)


def settings_record(settings) -> dict:
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}

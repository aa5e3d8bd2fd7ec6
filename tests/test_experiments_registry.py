"""The experiments are registered explicitly, their defaults are written once (settings.toml [default]),
and every import in experiments/ can be followed by a reader (no importlib)."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from experiments.framework import PRESETS, experiment
from experiments.registry import EXPERIMENT_NAMES, EXPERIMENTS, load_experiment
from experiments.shared_settings import setting
from star_theory.config import load_toml
from star_theory.errors import InputError

ROOT = Path(__file__).resolve().parents[1] / "experiments"


def _imports(path: Path) -> set[str]:
    """Every module named by an import statement of ``path``, and every name called ``__import__``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.add("__import__")
    return names


def test_no_module_of_experiments_imports_by_name():
    """No ``importlib`` (nor ``__import__``) anywhere in experiments/: every experiment is a static import."""
    offenders = {str(p.relative_to(ROOT)): sorted(n for n in _imports(p) if n.split(".")[0] in ("importlib", "__import__"))
                 for p in ROOT.rglob("*.py")}
    assert len(offenders) > 20  # the walk saw the experiments' modules
    assert {p: n for p, n in offenders.items() if n} == {}


def test_the_registry_lists_every_experiment_folder_once_under_its_own_name():
    folders = {p.name for p in ROOT.iterdir() if (p / "settings.toml").is_file() or (p / "runner.py").is_file()}
    assert len(EXPERIMENT_NAMES) == len(set(EXPERIMENT_NAMES))
    assert set(EXPERIMENT_NAMES) == folders
    for exp in EXPERIMENTS:
        assert exp.folder == ROOT / exp.name and load_experiment(exp.name) is exp
        parts = [m.__name__ for m in exp.load()]
        assert parts == [f"experiments.{exp.name}.{p}" for p in ("runner", "analysis", "figures")]  # its own
    with pytest.raises(InputError, match="unknown experiment 'nope'"):
        load_experiment("nope")


@pytest.mark.parametrize("name", EXPERIMENT_NAMES)
def test_every_default_is_written_once_in_settings_toml(name):
    """The runner's ``Settings`` declares no default (so none can differ from settings.toml), and
    ``settings.toml [default]`` gives every field, and only those."""
    exp = load_experiment(name)
    fields = dataclasses.fields(exp.settings_cls)
    with_default = [f.name for f in fields
                    if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING]
    assert with_default == []
    table = load_toml(exp.folder / "settings.toml")
    assert set(table) <= set(PRESETS)
    assert [k for k in table["default"] if k not in {f.name for f in fields}] == []
    assert [f.name for f in fields if f.name not in table["default"]] == []
    exp.settings("default")  # valid as written


def test_a_setting_left_out_of_the_default_table_is_a_clear_error():
    """A field added to ``Settings`` (it has no default) but not to settings.toml [default] names itself."""
    exp = load_experiment("theory_curves")

    @dataclasses.dataclass(frozen=True)
    class Wider(exp.settings_cls):
        extra: int = setting("a field settings.toml does not give")

    runner, analysis, figures = exp.load()
    wider = experiment("experiments.theory_curves", exp.title, exp.claims,
                       lambda: (SimpleNamespace(Settings=Wider, run=runner.run), analysis, figures))
    with pytest.raises(InputError, match=r"theory_curves/settings.toml \[default\] lacks extra"):
        wider.settings("smoke")
    assert wider.settings("smoke", {"extra": 1}).extra == 1

"""The typed API: the packages ship ``py.typed`` and type-check clean with the pinned mypy.

One mypy run checks the packages (configured in pyproject.toml's ``[tool.mypy]``) together with a
snippet of user code that looks up every public name of ``star_theory`` and ``star_theory.sim``:
those names load lazily at run time, so without their ``TYPE_CHECKING`` imports a type checker
would see each of them as ``Any``. The cache in ``.mypy_cache`` makes a rerun take seconds
(a cold run about 30 s of CPU).
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = PYPROJECT["tool"]["mypy"]["packages"]
LAZY_PACKAGES = ("star_theory", "star_theory.sim")


def _pinned_mypy() -> str:
    pins = [r for r in PYPROJECT["project"]["optional-dependencies"]["test"] if r.startswith("mypy==")]
    assert len(pins) == 1, "the test extra pins mypy exactly once (mypy==X.Y.Z)"
    return pins[0].removeprefix("mypy==")


def test_every_package_ships_py_typed():
    """PEP 561: each package carries the marker, and setuptools' package data includes it."""
    assert sorted(PACKAGES) == ["experiments", "llm", "star_theory"]
    for package in PACKAGES:
        assert (ROOT / package / "py.typed").is_file(), package
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["*"]


def _public_names(package: str) -> list[str]:
    module = importlib.import_module(package)
    return sorted(name for names in module.API.values() for name in names)


def _unannotated(fn) -> list[str]:
    sig = inspect.signature(fn)
    missing = [p.name for p in sig.parameters.values()
               if p.annotation is inspect.Parameter.empty and p.name not in ("self", "cls")]
    if sig.return_annotation is inspect.Signature.empty and fn.__name__ != "__init__":
        missing.append("return")
    return missing


def _exported_callables(package: str):
    """Each public function of ``package``'s API, and each public method (``__init__`` too) its classes define."""
    module = importlib.import_module(package)
    for name in _public_names(package):
        obj = getattr(module, name)
        if inspect.isfunction(obj):
            yield name, obj
        elif inspect.isclass(obj):
            for attr, fn in vars(obj).items():
                if (inspect.isfunction(fn) and fn.__qualname__ == f"{obj.__qualname__}.{attr}"  # not generated
                        and (not attr.startswith("_") or attr == "__init__")):
                    yield f"{name}.{attr}", fn


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_exported_function_is_annotated(package):
    """The public API is typed: every parameter and return of each exported function and method."""
    missing = {name: m for name, fn in _exported_callables(package) if (m := _unannotated(fn))}
    assert missing == {}


def test_packages_type_check_clean_and_public_names_are_typed(tmp_path):
    if importlib.util.find_spec("mypy") is None:
        pytest.skip(f"mypy is not installed (the test extra pins mypy=={_pinned_mypy()})")
    snippet = tmp_path / "uses_the_api.py"
    snippet.write_text("".join(
        f"import {package}\n" + "".join(f"reveal_type({package}.{name})\n" for name in _public_names(package))
        for package in LAZY_PACKAGES))
    run = subprocess.run([sys.executable, "-m", "mypy", *PACKAGES, str(snippet)], cwd=ROOT,
                         capture_output=True, text=True)
    version = subprocess.run([sys.executable, "-m", "mypy", "--version"], capture_output=True, text=True).stdout
    errors = "\n".join(line for line in (run.stdout + run.stderr).splitlines() if "Revealed type" not in line)
    assert run.returncode == 0, f"{version.strip()} (pyproject pins {_pinned_mypy()}) found errors:\n{errors}"
    revealed = re.findall(r'uses_the_api\.py:(\d+): note: Revealed type is "(.*)"', run.stdout)
    lines = snippet.read_text().splitlines()
    assert len(revealed) == sum(len(_public_names(p)) for p in LAZY_PACKAGES), run.stdout
    untyped = [lines[int(n) - 1] for n, kind in revealed if kind == "Any"]
    assert untyped == [], "names of API without a TYPE_CHECKING import in their package's __init__.py"


def test_the_typed_view_of_the_variant_fields_is_the_declaration():
    """star_theory.variants.VariantParameterFields (what type checkers see of the fields variant_fields inserts)
    names exactly the parameters of PARAMETER_SPECS, with their types; the configs take those fields at run time."""
    import ast

    from star_theory import variants
    from star_theory.sim.runner import SimulateConfig

    tree = ast.parse(inspect.getsource(variants))
    cls = next(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "VariantParameterFields")
    typed = {n.target.id: ast.unparse(n.annotation) for n in cls.body if isinstance(n, ast.AnnAssign)}
    assert typed == {p.name: p.type for p in variants.PARAMETER_SPECS}
    assert set(typed) <= {f.name for f in __import__("dataclasses").fields(SimulateConfig)}

"""The package layout of docs/architecture.md, as facts about the source tree.

Every import of a project module is read from the source (at module level and inside functions
alike), and the resulting graph must have no cycle; the packages import only downward
(experiments -> llm -> star_theory), and no experiment imports another.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("star_theory", "llm", "experiments")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _project_target(name: str, modules: dict[str, Path]) -> str | None:
    """The project module ``name`` denotes (a module, or the package that holds the name)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _is_type_checking_block(node: ast.AST) -> bool:
    """``if TYPE_CHECKING:`` (imports for type checkers only, never run)."""
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def import_graph() -> dict[str, set[str]]:
    """``{module: {project modules it imports}}`` over every import statement in the source."""
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(), str(path))
        typing_only = {id(n) for block in ast.walk(tree) if _is_type_checking_block(block)
                       for stmt in block.body for n in ast.walk(stmt)}  # never run: no edge
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node)
                targets = [f"{base}.{a.name}" for a in node.names]  # a submodule, or a name in `base`
            else:
                continue
            for t in targets:
                hit = _project_target(t, modules)
                if hit is not None and hit != name and not name.startswith(hit + "."):  # a parent package: no edge
                    graph[name].add(hit)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


GRAPH = import_graph()


def test_the_graph_sees_known_edges():
    """The parser is not blind: edges that the code certainly has are found."""
    assert "star_theory.exact" in GRAPH["star_theory.sampling"]
    assert "star_theory.sampling" in GRAPH["star_theory.variants"]
    assert "star_theory.rule_protocol" in GRAPH["star_theory.rules"]
    assert any(t.startswith("star_theory") for t in GRAPH["llm.star"])


def test_no_import_cycle():
    assert _cycles(GRAPH) == []


@pytest.mark.parametrize("lower, upper", [("star_theory", "llm"), ("star_theory", "experiments"), ("llm", "experiments")])
def test_packages_import_only_downward(lower, upper):
    bad = sorted(f"{m} -> {t}" for m, ts in GRAPH.items() if m.split(".")[0] == lower
                 for t in ts if t.split(".")[0] == upper)
    assert bad == []


def test_no_experiment_imports_another():
    def experiment(m):
        parts = m.split(".")
        return parts[1] if len(parts) > 2 and parts[0] == "experiments" else None

    bad = sorted(f"{m} -> {t}" for m, ts in GRAPH.items() if experiment(m)
                 for t in ts if experiment(t) and experiment(t) != experiment(m))
    assert bad == []


def _edges(importer_prefix: str, target_prefix: str) -> list[str]:
    """Every edge from a module under ``importer_prefix`` to one under ``target_prefix`` (a module
    or a package: ``star_theory.sim`` covers ``star_theory.sim`` and ``star_theory.sim.*``)."""
    def under(m, p):
        return m == p or m.startswith(p + ".")

    return sorted(f"{m} -> {t}" for m, ts in GRAPH.items() if under(m, importer_prefix)
                  for t in ts if under(t, target_prefix))


def test_the_simulator_does_not_import_the_rule_registry():
    """``star_theory.sim`` takes a rule object; names are looked up above it (the command layer)."""
    assert _edges("star_theory.sim", "star_theory.rules") == []


def test_the_rule_registry_does_not_import_the_simulator():
    """``star_theory.rules`` sits on the protocol and the sampling primitives, never on ``sim``."""
    assert _edges("star_theory.rules", "star_theory.sim") == []
    assert _edges("star_theory.rule_protocol", "star_theory.sim") == []


def test_the_checks_take_a_rule_rather_than_import_the_registry():
    assert _edges("star_theory.checks", "star_theory.rules") == []
    assert _edges("star_theory.checks", "star_theory.sim") == []


def test_a_layering_edge_would_be_seen():
    """The three facts above could fail: an edge the code has between two such packages is found
    (``commands.simulate`` imports both the registry and the simulator)."""
    assert _edges("star_theory.commands.simulate", "star_theory.rules") == ["star_theory.commands.simulate -> star_theory.rules"]
    assert _edges("star_theory.commands.simulate", "star_theory.sim") != []


def test_theory_core_does_not_load_the_simulator_on_import():
    """``import star_theory`` runs only the package's own table: no simulator module is named there."""
    assert not any(t.startswith("star_theory.sim.") for t in GRAPH["star_theory"])


# ----------------------------------------------------------------------------- a fast start
HEAVY = ("scipy", "sympy", "torch", "matplotlib", "transformers")


def test_help_of_the_shell_and_of_every_command_imports_no_heavy_library():
    """`rlstar --help` and every `rlstar COMMAND --help` (the llm subcommands included) load none of
    the heavy libraries: a newcomer's first call answers at once."""
    import subprocess
    import sys

    from star_theory.cli import _builtin_commands, _plugin_commands

    names = sorted({**_builtin_commands(), **_plugin_commands()})
    probes = [[]] + [[name] for name in names] + [["llm", sub] for sub in ("pretrain", "star", "run")]
    code = ("import sys\nfrom star_theory.cli import main\nsys.argv = ['rlstar', *sys.argv[1:], '--help']\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    for argv in probes:
        out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, (argv, out.stderr[-500:])
        assert out.stdout.strip().splitlines()[-1] == "[]", (argv, out.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- one internal API
SHARED_HELPERS = {
    "star_theory.validation": ("as_int", "is_bool", "is_text", "as_float_array", "check_range",
                               "check_questions", "call_foreign", "first_line"),
    "star_theory.model": ("check_task", "check_policy", "check_pair"),
    "star_theory.exact": ("accept_matrix",),
}


def private_imports() -> list[str]:
    """Every ``from X import _name`` (a ``_``-prefixed, non-dunder name) in the three packages,
    wherever it stands (module level or inside a function)."""
    out = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                out += [f"{name}:{node.lineno}: {'.' * node.level}{node.module or ''} import {a.name}"
                        for a in node.names if a.name.startswith("_") and not a.name.endswith("__")]
    return out


def definitions() -> dict[str, list[str]]:
    """``{function name: [modules defining it at module level]}`` over the three packages."""
    out: dict[str, list[str]] = {}
    for name, path in _modules().items():
        for node in ast.parse(path.read_text(), str(path)).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.setdefault(node.name, []).append(name)
    return out


def test_no_module_imports_a_private_name_of_another():
    """Helpers used across modules are public names of their home module (star_theory.validation,
    star_theory.model, ...): a ``_`` name is private to the module that defines it."""
    assert private_imports() == []


def test_the_scan_sees_a_private_import(tmp_path, monkeypatch):
    """The scan above is not blind: a module importing a private name is reported."""
    bad = tmp_path / "star_theory" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("def f():\n    from .validation import _short, __doc__\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGES", ("star_theory",))
    assert private_imports() == ["star_theory.bad:2: .validation import _short"]


@pytest.mark.parametrize("home, name", [(home, n) for home, names in SHARED_HELPERS.items() for n in names])
def test_each_shared_helper_is_defined_once_in_its_home(home, name):
    """One piece of code for one check: the entry checks shared across modules have one definition,
    and no private copy (``_name``) is left anywhere."""
    defs = definitions()
    assert defs.get(name) == [home]
    assert defs.get("_" + name, []) == []


def test_the_entry_checks_sit_at_the_bottom():
    """``star_theory.validation`` (imported by nearly every module) imports no project module but
    ``errors``, so that any module may use it without a cycle."""
    assert GRAPH["star_theory.validation"] == {"star_theory.errors"}

"""The Task protocol and its one registry, exercised with a task defined here, outside the package.

``pairmax`` has letter states and a non-bijective step: a question is a word of two letters from
``a..`` (``letters^2`` states), step 1 keeps the larger letter (``ab`` and ``ba`` and ``bb`` all
give ``b``), step 2 moves to the next letter (cyclically). It is registered through the public
API, and every command that takes ``--task`` runs it.
"""

from __future__ import annotations

import json
import string
from types import SimpleNamespace

import numpy as np
import pytest

import star_theory
from cli_helpers import one_line_error
from star_theory import InputError, ReasoningTask, Task, TaskFactory, make_task, register_task, unregister_task
from star_theory.cli import main
from star_theory.sizes import corpus_bytes, simulate_bytes
from star_theory.sim.runner import SimulateConfig


def pairmax(letters: int = 3) -> Task:
    """Two letters -> the larger one -> the next letter (cyclically)."""
    if not 2 <= letters <= 26:
        raise ValueError(f"letters must be in 2..26, got {letters}")
    alpha = string.ascii_lowercase[:letters]
    words = [a + b for a in alpha for b in alpha]
    larger = np.array([max(i // letters, i % letters) for i in range(letters**2)])
    following = (np.arange(letters) + 1) % letters
    return Task("pairmax", ReasoningTask([larger, following], final_size=letters), {"letters": letters},
                [words, list(alpha), list(alpha)])


def pairmax_sizes(letters: int = 3) -> list[int]:
    return [letters**2, letters, letters]


pairmax.level_sizes = pairmax_sizes


@pytest.fixture
def registered():
    factory = register_task(pairmax, "pairmax")
    yield factory
    unregister_task("pairmax")


def _json_out(capsys, argv) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


# ----------------------------------------------------------------------------- the protocol


def test_the_test_task_through_the_public_api(registered):
    assert "pairmax" in star_theory.task_names()
    for k in (2, 3, 5):
        task = make_task("pairmax", {"letters": str(k)})  # a --task-param value arrives as text
        assert task.sizes == (k * k, k, k) and task.params == {"letters": k}
        assert len(np.unique(task.task.maps[0])) == k < k * k  # step 1 is not injective
        for n in range(3):
            strings = task.state_strings(n)
            assert [task.parse_state(n, s) for s in strings] == list(range(task.sizes[n]))
        assert task.alphabet() == tuple(string.ascii_lowercase[:k])
        assert star_theory.task_level_sizes("pairmax", {"letters": k}) == list(task.sizes)


def test_the_builtin_letter_task_is_not_bijective():
    """walk: g(i) = 2i mod k merges i and i + k/2 for even k, and is a bijection for odd k."""
    for k in (4, 6, 7):
        task = make_task("walk", {"nodes": k, "steps": 2})
        image = len(np.unique(task.task.maps[0]))
        assert image == (k // 2 if k % 2 == 0 else k)
        assert set(task.alphabet()) == set(string.ascii_lowercase[:k])
        for n in range(3):
            for i, s in enumerate(task.state_strings(n)):
                assert s == string.ascii_lowercase[i]


def test_a_task_whose_strings_collide_is_refused():
    task = Task("bad", ReasoningTask([np.array([0, 1])], final_size=2), {}, [["a", "a"], ["a", "b"]])
    with pytest.raises(InputError, match="same string"):
        task.state_strings(0)
    bare = Task("bare", ReasoningTask([np.array([0, 1])], final_size=2))
    with pytest.raises(InputError, match="no string form"):
        bare.state_strings(0)


# ----------------------------------------------------------------------------- commands


def test_simulate_runs_the_registered_task(registered, capsys):
    res = _json_out(capsys, ["simulate", "--task", "pairmax", "--task-param", "letters=3", "--K", "4", "--seeds", "0",
                             "1", "--iterations", "3", "--format", "json", "--no-progress"])
    assert res["task"]["level_sizes"] == [9, 3, 3]
    assert res["config"]["task_params"] == {"letters": 3}
    exact = [row["exact_accuracy"] for row in res["iterations"]]
    assert all(b >= a - 1e-12 for a, b in zip(exact, exact[1:]))  # exact STaR never lowers J (EM)


def test_check_accepts_the_registered_task(registered, capsys):
    res = _json_out(capsys, ["check", "--task", "pairmax", "--task-param", "letters=3", "--iterations", "5",
                             "--format", "json"])
    assert res["theorems_hold"] and res["settings"]["task_params"] == {"letters": 3}
    assert {r["claim"] for r in res["rows"]} == {"improvement (given task)", "convergence (given task)"}
    assert all("pairmax letters=3" in r["setting"] for r in res["rows"])


def test_corpus_of_the_registered_task_reads_back(registered, tmp_path, capsys):
    out = tmp_path / "c.csv"
    assert main(["corpus", "--task", "pairmax", "--task-param", "letters=2", "--lam", "0.5",
                 "--chains-per-question", "3", "--out", str(out)]) == 0
    meta, chains = star_theory.read_corpus(out)
    assert meta["params"] == {"letters": 2} and meta["level_sizes"] == [4, 2, 2]
    assert chains.shape == (4 * 3, 3) and np.all(chains < np.array([4, 2, 2]))


def test_llm_run_on_the_registered_task(registered, tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "llm"
    assert main(["llm", "run", "--task", "pairmax", "--task-param", "letters=2", "--preset", "tiny",
                 "--tokenization", "symbol", "--pretrain-steps", "5", "--iterations", "1", "--samples-per-question", "2",
                 "--finetune-steps", "1", "--device", "cpu", "--no-progress", "--out", str(out)]) == 0
    run = json.loads((out / "star" / "run.json").read_text())
    assert run["task"] == {"task": "pairmax", "params": {"letters": 2}, "tokenization": "symbol"}
    assert run["config"]["task_params"] == {"letters": 2}
    records = [json.loads(line) for line in (out / "star" / "metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records] == [0, 1]
    assert all(0 <= r["exact_accuracy"] <= 1 for r in records)


def test_symbol_tokens_are_the_task_alphabet(registered):
    pytest.importorskip("tokenizers")
    from llm.tokenizer import build_tokenizer, state_table

    task = make_task("pairmax", {"letters": 4})
    tok = build_tokenizer(task, "symbol")
    table = state_table(task, tok)
    assert table.ids[0].shape == (16, 2) and table.ids[1].shape == (4, 1)
    for n in range(3):  # every state decodes to its own string, one token per letter
        assert [tok.decode(row) for row in table.ids[n]] == list(task.state_strings(n))


# ----------------------------------------------------------------------------- memory estimates


def test_memory_estimates_come_from_the_task_level_sizes():
    """The estimate is the formula on the factory's level_sizes; the task is never built for it."""
    built = []

    def build(letters: int = 3) -> Task:
        built.append(letters)
        return pairmax(letters)

    register_task(TaskFactory("sized", build, {"letters": 3}, pairmax_sizes), "sized")
    try:
        estimates = []
        for k in (3, 6):
            cfg = SimulateConfig(task="sized", task_params={"letters": k}, chains_per_question=8, seeds=(0, 1),
                                 iterations=4)
            assert cfg.memory_bytes() == simulate_bytes(pairmax_sizes(k), 8, 2, 4)
            estimates.append(cfg.memory_bytes())
        assert estimates[1] > estimates[0]
        from llm.files import llm_memory_bytes

        small, big = (llm_memory_bytes("sized", {"letters": k}, 8, 16) for k in (3, 6))
        assert big > small
        assert built == []  # sizes only, nothing built
        from star_theory.commands.corpus import CorpusConfig

        cfg = CorpusConfig(task="sized", task_params={"letters": 4}, lam=(0.2,), out="x.csv")
        assert cfg.task_params == {"letters": 4}
        assert corpus_bytes(star_theory.task_level_sizes("sized", cfg.task_params), 5) == corpus_bytes([16, 4, 4], 5)
    finally:
        unregister_task("sized")


def test_a_factory_without_level_sizes_is_sized_by_building():
    def tiny(letters: int = 2) -> Task:
        return pairmax(letters)

    register_task(tiny, "tiny-pairmax")
    try:
        cfg = SimulateConfig(task="tiny-pairmax", task_params={"letters": 4}, chains_per_question=2, seeds=(0,),
                             iterations=1)
        assert cfg.memory_bytes() == simulate_bytes([16, 4, 4], 2, 1, 1)
    finally:
        unregister_task("tiny-pairmax")


def test_plug_in_code_failing_is_one_line_naming_the_kind_and_the_call():
    """Task factories and rules run foreign code through the one ``call_foreign``: any failure
    (``SystemExit`` included) is one line naming the kind of plug-in, its name and the call."""
    from star_theory import Rule, symmetric_policy, symmetric_task

    def exits(**params):
        raise SystemExit("bye\nsecond line")

    def refuses(**params):
        raise InputError("letters too many")

    with pytest.raises(InputError) as task_err:
        TaskFactory("exits", exits).make()
    with pytest.raises(InputError) as refused:
        TaskFactory("refuses", refuses).make()
    task = symmetric_task(3, 2)
    with pytest.raises(InputError) as rule_err:
        Rule("exits", exact=lambda policy, task: exits())(symmetric_policy(task, lam=0.5), task)
    assert str(task_err.value) == "task 'exits': build failed: SystemExit: bye"
    assert str(refused.value) == "task 'refuses': build refused its input: letters too many"
    assert str(rule_err.value) == "rule 'exits': the exact form failed: SystemExit: bye"


# ----------------------------------------------------------------------------- entry points


class _EntryPoint(SimpleNamespace):
    def load(self):
        return self.target()


def _fake_entry_points(monkeypatch, **targets):
    from star_theory import plugins

    eps = [_EntryPoint(name=name, value=f"fake:{name}", target=target) for name, target in targets.items()]
    monkeypatch.setattr(plugins, "entry_points", lambda group: eps if group == "rlstar.tasks" else [])


def test_an_entry_point_task_runs_through_the_cli(monkeypatch, capsys):
    def broken():
        raise RuntimeError("plug-in import failed\nsecond line")

    _fake_entry_points(monkeypatch, **{"ep-pairmax": lambda: pairmax, "ep-broken": broken})
    try:
        assert {"ep-pairmax", "ep-broken"} <= set(star_theory.task_names())
        res = _json_out(capsys, ["simulate", "--task", "ep-pairmax", "--K", "2", "--seeds", "0", "--iterations", "1",
                                 "--format", "json", "--no-progress"])
        assert res["task"]["level_sizes"] == [9, 3, 3]
        err = one_line_error(capsys, ["simulate", "--task", "ep-broken"], "ep-broken", "entry point", "RuntimeError",
                             "plug-in import failed")
        assert "second line" not in err
    finally:
        unregister_task("ep-pairmax")


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("params,fragments", [
    (["letters=x"], ["letters", "'x'"]),
    (["colour=red"], ["no parameter 'colour'", "letters"]),
    (["letters"], ["KEY=VALUE"]),
    (["letters=40"], ["pairmax", "ValueError", "2..26"]),  # the factory's own failure, as one line
])
def test_bad_task_params_are_one_line_errors(registered, capsys, params, fragments):
    argv = ["simulate", "--task", "pairmax"] + [a for p in params for a in ("--task-param", p)]
    one_line_error(capsys, argv, *fragments)


def test_task_params_for_the_symmetric_task_are_refused(capsys):
    one_line_error(capsys, ["simulate", "--task-param", "letters=3"], "symmetric", "letters")


def test_a_task_table_in_toml_and_flags_over_it(registered, tmp_path):
    from star_theory.config import command_config

    path = tmp_path / "sim.toml"
    path.write_text('[simulate]\nchains_per_question = 2\n[simulate.task]\nname = "pairmax"\nletters = 4\n')
    args = SimpleNamespace(config=str(path), plot=None, task=None, task_params=None)
    assert command_config(SimulateConfig, args, "simulate").task_params == {"letters": 4}
    args.task_params = ["letters=5"]
    assert command_config(SimulateConfig, args, "simulate").task_params == {"letters": 5}


def test_digit_flags_are_aliases_and_old_records_load():
    from star_theory.config import from_mapping, to_mapping

    old = {"task": "add", "digits": 3, "base": 2}  # a record from before task parameters
    cfg = from_mapping(SimulateConfig, old)
    assert cfg.task_params == {"digits": 3, "base": 2}
    assert from_mapping(SimulateConfig, to_mapping(cfg)) == cfg  # a new record reads back the same
    assert SimulateConfig(task="add", task_params={"digits": 3}) == cfg
    assert SimulateConfig(task="zip", digits=1, task_params={"digits": 2}).digits == 2  # the mapping wins
    from llm.model import TaskSpec

    spec = TaskSpec.from_record({"task": "zip", "digits": 2, "base": 3, "tokenization": "state"}, "task.json")
    assert spec.params == {"digits": 2, "base": 3} and spec.record()["digits"] == 2
    letters = TaskSpec("walk", {"nodes": 4, "steps": 2}, "symbol")
    assert TaskSpec.from_record(letters.record(), "task.json") == letters


# ----------------------------------------------------------------------------- the docs' worked example

DOCS = __import__("pathlib").Path(__file__).resolve().parents[1] / "docs"


def _adding_a_task() -> str:
    """The "Adding a task" section of docs/architecture.md."""
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    start = text.index("## Adding a task")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def _blocks(text: str, lang: str) -> list[str]:
    import re

    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.S | re.M)


def test_the_docs_worked_example_runs(tmp_path, monkeypatch, capsys):
    """The section's Python runs as written, its entry point names its factory, and its commands run."""
    import shlex
    import tomllib

    monkeypatch.chdir(tmp_path)
    text = _adding_a_task()
    namespace: dict = {"__name__": "ladder"}
    try:
        for source in _blocks(text, "python"):
            exec(compile(source, "adding_a_task.md", "exec"), namespace)
        task = make_task("ladder", {"rungs": 5, "steps": 2})
        chain = lambda s: [s, int(task.task.maps[0][s]), int(task.task.maps[1][task.task.maps[0][s]])]  # noqa: E731
        assert [task.state_strings(n)[i] for n, i in enumerate(chain(2))] == ["c", "d", "e"]  # the prose's chains
        assert [task.state_strings(n)[i] for n, i in enumerate(chain(3))] == ["d", "e", "e"]
        (command_lines,) = _blocks(text, "bash")
        for line in command_lines.splitlines():
            argv = shlex.split(line)[1:]
            if argv[0] == "llm":  # the LLM run on a registered task: test_llm_run_on_the_registered_task
                continue
            assert main(argv) == 0, line
            capsys.readouterr()
        assert (tmp_path / "ladder.csv").is_file()
        unregister_task("ladder")
        (toml,) = _blocks(text, "toml")
        ((name, target),) = tomllib.loads(toml)["project"]["entry-points"]["rlstar.tasks"].items()
        module, _, attr = target.partition(":")
        assert module == namespace["__name__"] and attr in namespace
        _fake_entry_points(monkeypatch, **{name: lambda: namespace[attr]})
        assert star_theory.task_level_sizes(name, {"rungs": 7}) == [7, 7, 7]
    finally:
        try:
            unregister_task("ladder")  # registered by the docs' code, or loaded from the fake entry point
        except InputError:
            pass


def test_a_simulate_run_recorded_before_task_params_resumes(tmp_path, capsys):
    """A checkpoint folder whose run.json has digits/base but no task_params continues as recorded."""
    out = tmp_path / "run"

    def simulate(digits: str) -> list[str]:
        return ["simulate", "--task", "add", "--digits", digits, "--K", "2", "--seeds", "0", "1", "--iterations", "2",
                "--format", "json", "--no-progress", "--out", str(out)]

    argv = simulate("2")
    whole = _json_out(capsys, argv)
    run = json.loads((out / "run.json").read_text())
    assert run["config"].pop("task_params") == {"digits": 2, "base": 2}
    (out / "run.json").write_text(json.dumps(run))
    (out / "result.json").unlink()
    for seed_file in out.glob("seed-*.npz"):  # back to a run cut short: the seeds are redone from their files
        seed_file.unlink()
    assert _json_out(capsys, argv + ["--resume"])["iterations"] == whole["iterations"]
    one_line_error(capsys, simulate("3") + ["--resume"], "digits=3", "digits=2")


def test_an_llm_task_table_and_the_levels_above_it(registered, tmp_path):
    """[llm.task] sets the task; a preset's digit parameters do not leak into another task; flags win."""
    from llm.config import make_config

    path = tmp_path / "llm.toml"
    path.write_text('[llm]\niterations = 1\n[llm.task]\nname = "pairmax"\nletters = 4\n')
    cfg = make_config(preset_name="tiny", toml_path=str(path))
    assert (cfg.task, cfg.task_params, cfg.iterations) == ("pairmax", {"letters": 4}, 1)
    assert make_config(preset_name="tiny", task="pairmax").task_params == {"letters": 3}
    assert make_config(preset_name="tiny", toml_path=str(path), task_params={"letters": "2"}).task_params == {"letters": 2}
    assert make_config(preset_name="tiny", digits=3).task_params == {"digits": 3, "base": 2}

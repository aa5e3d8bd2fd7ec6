"""One rule object for every consumer: a rule defined here runs through the simulator, the checks
and ``rlstar llm run --variant NAME``; the LLM loop's default rule is today's answer filter; the
noisy verifier keeps wrong answers at its stated rate."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from star_theory import InputError, SimulateConfig, check_improvement, exact_star_step, simulate
from star_theory.cli import main
from star_theory.exact import accuracy
from star_theory.model import symmetric_policy, symmetric_task
from star_theory.rules import Rule, register_rule, unregister_rule
from star_theory.sampling import sample_chains
from star_theory.variants import make_variant

from llm.config import make_config
from llm.model import read_task_spec
from llm.sample import SampledChains
from llm.star import chain_figures, config_rule, keep_weights

Z = 5.0  # a binomial count off its mean by more than 5 sd: probability < 1e-6


def even_questions(chains, log_prob, task, rng=None):
    """Keep a right answer of an even question only (deterministic, so it draws nothing)."""
    return (chains[:, -1] == task.answers[chains[:, 0]]) & (chains[:, 0] % 2 == 0)


def answer_filter(chains, log_prob, task, rng=None):
    """STaR's filter, written as a plug-in rule."""
    return chains[:, -1] == task.answers[chains[:, 0]]


EVEN = Rule("even-questions", keep=even_questions, description="STaR on the even questions only")
ANSWER = Rule("answer-filter", keep=answer_filter)


@pytest.fixture
def registered():
    for rule in (EVEN, ANSWER):
        register_rule(rule, replace_existing=True)
    yield
    for rule in (EVEN, ANSWER):
        unregister_rule(rule.name)


def test_a_test_file_rule_runs_through_the_simulator():
    cfg = SimulateConfig(M=4, N=2, lam=(0.3,), variant="even-questions", chains_per_question=64, seeds=tuple(range(8)),
                         iterations=2)
    r = simulate(cfg, progress=False, rule=EVEN)
    task, p0 = cfg.make_task()[0], cfg.make_policy(cfg.make_task()[0])
    assert r["iterations"][1]["exact_accuracy"] == pytest.approx(accuracy(EVEN(p0, task), task), abs=1e-12)
    # kept chains at t = 0: a sum of independent Bernoullis with the rule's derived keep probabilities
    a = EVEN.question_keep_probability(p0, task)
    mean, var = cfg.chains_per_question * a.sum(), cfg.chains_per_question * (a * (1 - a)).sum()
    assert r["iterations"][0]["expected_kept_exact"] == pytest.approx(mean)
    assert abs(r["iterations"][0]["kept_mean"] - mean) <= Z * np.sqrt(var / len(cfg.seeds))


def test_the_simulator_asks_for_the_object_of_a_plug_in_name():
    with pytest.raises(InputError, match="not a built-in rule"):
        simulate(SimulateConfig(M=3, N=2, variant="even-questions", seeds=(0,), iterations=1), progress=False)


def test_a_test_file_rule_runs_through_the_checks():
    """The derived exact form of the answer filter is the exact STaR operator, so the checks agree."""
    task = symmetric_task(3, 2, seed=1)
    p0 = symmetric_policy(task, lam=[0.2, -0.1])
    ours, star = check_improvement(p0, task, 4, step=ANSWER), check_improvement(p0, task, 4, step=exact_star_step)
    assert ours.accuracy_holds and np.allclose(ours.accuracy, star.accuracy, atol=1e-12)
    odd = check_improvement(p0, task, 2, step=EVEN)  # STaR on half the questions: a different trajectory
    assert not np.allclose(odd.accuracy, star.accuracy[:3], atol=1e-6)


LLM_SMALL = ["--preset", "tiny", "--pretrain-steps", "30", "--iterations", "1", "--samples-per-question", "4",
             "--finetune-steps", "2", "--device", "cpu", "--no-progress"]


def _llm_run(tmp_path, *flags) -> tuple[dict, list[dict], dict]:
    out = tmp_path / "run"
    assert main(["llm", "run", *LLM_SMALL, *flags, "--out", str(out)]) == 0
    run = json.loads((out / "star" / "run.json").read_text())
    records = [json.loads(line) for line in (out / "star" / "metrics.jsonl").read_text().splitlines()]
    pred = json.loads((out / "star" / "prediction.json").read_text())
    return run, records, pred


def test_a_test_file_rule_runs_through_rlstar_llm_run(tmp_path, registered):
    run, records, pred = _llm_run(tmp_path, "--variant", "even-questions")
    assert run["rule"]["name"] == "even-questions" and run["config"]["variant"] == "even-questions"
    assert [r["rule"]["name"] for r in records] == ["even-questions"] * 2
    assert pred["rule"]["name"] == "even-questions"
    kept = np.load(tmp_path / "run" / "star" / "iter_000" / "kept.npy")
    assert kept.size == 0 or np.all(kept[:, 0] % 2 == 0)  # only even questions' chains were kept
    assert records[0]["kept"] == len(kept)


def test_noisy_verifier_on_the_llm_records_the_rule(tmp_path):
    run, records, pred = _llm_run(tmp_path, "--variant", "noisy-verifier", "--fp", "0.2")
    assert run["rule"] == {"name": "noisy-verifier", "params": {"fp": 0.2, "fn": 0.0}, "label": "noisy-verifier(fp=0.2, fn=0)"}
    assert all(r["rule"] == run["rule"] for r in records)
    assert pred["rule"]["label"] == "noisy-verifier(fp=0.2, fn=0)"
    star = tmp_path / "run" / "star"
    task = read_task_spec(tmp_path / "run" / "pretrained").text_task().task
    kept = np.load(star / "iter_000" / "kept.npy")
    assert np.any(kept[:, -1] != task.answers[kept[:, 0]])  # the verifier let wrong answers through
    # a resumed run restores the rule from its record (no --variant given) and reads such chains back
    assert main(["llm", "run", "--resume", "--iterations", "2", "--out", str(tmp_path / "run")]) == 0
    assert [json.loads(line)["rule"]["label"] for line in (star / "metrics.jsonl").read_text().splitlines()] == \
        ["noisy-verifier(fp=0.2, fn=0)"] * 3


def test_a_rule_with_only_a_tabular_form_is_refused_by_the_llm_in_one_line(tmp_path, capsys):
    register_rule(Rule("tabular-only", exact_star_step), replace_existing=True)
    try:
        code = main(["llm", "run", *LLM_SMALL, "--variant", "tabular-only", "--out", str(tmp_path / "x")])
    finally:
        unregister_rule("tabular-only")
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "only a tabular form" in err[0]
    assert not (tmp_path / "x").exists()
    with pytest.raises(InputError, match="mixes kernels"):
        config_rule(make_config(preset_name="tiny", variant="partial-fit", eta=0.5))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), st.floats(0.0, 0.5), st.booleans())
def test_the_llm_default_rule_keeps_todays_answer_filter(seed, invalid_share, heldout):
    """Today's filter: a valid chain with the right answer, of a trained question."""
    rng = np.random.default_rng(seed)
    task = symmetric_task(4, 2, seed=seed % 7)
    states = rng.integers(0, 4, size=(50, 3))
    valid = rng.random(50) >= invalid_share
    states[~valid, 1 + rng.integers(0, 2)] = -1  # an invalid step ends the chain
    states[~valid, 2] = -1
    chains = SampledChains(states, valid, rng.normal(size=50), int((~valid).sum()), 0)
    trained = np.sort(rng.permutation(4)[:2]) if heldout else None
    today = valid & (states[:, -1] == task.answers[states[:, 0]])
    if trained is not None:
        today &= np.isin(states[:, 0], trained)
    rule = config_rule(make_config(preset_name="tiny"))
    w = keep_weights(chains, task, rule, trained, np.random.default_rng(seed))
    assert np.array_equal(w, today.astype(int))
    assert np.array_equal(chain_figures(chains, task, 4, trained)[1], states[today])


def test_the_noisy_verifier_keeps_wrong_answers_at_its_stated_rate():
    fp, fn = 0.3, 0.1
    task = symmetric_task(6, 2, seed=0)
    chains = sample_chains(symmetric_policy(task, lam=[0.1]), task, 2000, np.random.default_rng(0))
    logp = np.zeros(len(chains))
    right = chains[:, -1] == task.answers[chains[:, 0]]
    w = make_variant("noisy-verifier", fp=fp, fn=fn).keep_weights(chains, logp, task, np.random.default_rng(1))
    for share, n, p in ((w[~right].mean(), (~right).sum(), fp), (w[right].mean(), right.sum(), 1 - fn)):
        assert abs(share - p) <= Z * np.sqrt(p * (1 - p) / n)
    # the LLM's keep weights of the same chains, through the same rule object
    sc = SampledChains(chains, np.ones(len(chains), bool), logp, 0, 0)
    w_llm = keep_weights(sc, task, make_variant("noisy-verifier", fp=fp, fn=fn), None, np.random.default_rng(1))
    assert np.array_equal(w_llm, w.astype(int))


def test_the_adding_a_rule_doc_runs(tmp_path, monkeypatch):
    """docs/architecture.md, "Adding a rule": every ```python block, in order, in one namespace; the rule it defines
    in one file is seen on the simulator and on the LLM."""
    import re
    from pathlib import Path

    from star_theory import rules

    doc = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"
    text = doc.read_text(encoding="utf-8")
    start = text.index("## Adding a rule")
    section = text[start:text.index("\n## ", start + 1)]
    blocks = re.findall(r"^```python\n(.*?)^```", section, re.S | re.M)
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    before = dict(rules._REGISTRY)
    namespace: dict = {"__name__": "adding_a_rule"}
    try:
        for source in blocks:
            exec(compile(source, str(doc), "exec"), namespace)
    finally:
        rules._REGISTRY.clear()
        rules._REGISTRY.update(before)
    run = json.loads((tmp_path / "partial-credit-run" / "star" / "run.json").read_text())
    assert run["rule"]["name"] == "partial-credit" and run["rule"]["params"] == {"credit": 0.5}
    assert namespace["result"]["variant"] == "partial-credit(credit=0.5)"


def test_rationalize_and_temperature_run_on_the_llm(tmp_path):
    """Rationalization adds R hint chains per trained question with no kept chain (none where the
    model can never reach the answer), all with the right answer; temperature samples at T."""
    R = 3
    run, records, _ = _llm_run(tmp_path / "rat", "--variant", "rationalize", "--rationales", str(R))
    kept = np.load(tmp_path / "rat" / "run" / "star" / "iter_000" / "kept.npy")
    r0 = records[0]
    assert run["rule"]["params"] == {"rationales": R}
    assert len(kept) == r0["kept"] + r0["rationalized"] and r0["rationalized"] % R == 0
    task = read_task_spec(tmp_path / "rat" / "run" / "pretrained").text_task().task
    hints, sampled = kept[r0["kept"]:], kept[: r0["kept"]]
    assert np.all(hints[:, -1] == task.answers[hints[:, 0]])  # the answer given as a hint
    failed = np.setdiff1d(np.arange(task.sizes[0]), sampled[:, 0])  # questions with no kept chain
    assert set(hints[:, 0].tolist()) <= set(failed.tolist())
    assert np.all(np.bincount(hints[:, 0], minlength=task.sizes[0])[np.unique(hints[:, 0])] == R)
    run, records, pred = _llm_run(tmp_path / "temp", "--variant", "temperature", "--temperature", "0.5")
    assert run["rule"]["params"] == {"temperature": 0.5} and pred["rule"]["label"] == "temperature(temperature=0.5)"

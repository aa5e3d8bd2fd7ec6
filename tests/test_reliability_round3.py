"""Reliability, third round (issue 20): crafted checkpoints, plug-ins as foreign code, numbers that
are numbers, bounded sizes, one-line errors, validated reports.

Every test here failed before the fix it names: a silent wrong result, a traceback, a run
without a bound, or a value written into the docs unchecked.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

import star_theory as S
from star_theory import InputError
from star_theory.cli import main

TASK = S.symmetric_task(3, 2, seed=0)
POLICY = S.symmetric_policy(TASK, lam=0.3)


def one_line_cli(capsys, argv, *fragments):
    """``rlstar argv`` ends with exit 2 and one line ``rlstar...: error: ...`` on stderr, no traceback."""
    try:
        code = main([str(a) for a in argv])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert err.count("\n") == 1 and err.startswith("rlstar") and ": error: " in err and "Traceback" not in err, err
    for f in fragments:
        assert f in err, (f, err)
    return err


# ----------------------------------------------------------------------------- plug-in rules


def _raising_rule(exc):
    def exact(policy, task):
        raise exc
    return S.Rule("bad-rule", exact)


@pytest.mark.parametrize("exc", [RuntimeError("boom"), SystemExit(0), GeneratorExit(), ZeroDivisionError()],
                         ids=["RuntimeError", "SystemExit", "GeneratorExit", "ZeroDivisionError"])
def test_a_rule_that_fails_while_stepping_is_one_line_naming_it(exc):
    with pytest.raises(InputError) as err:
        S.star_trajectory(POLICY, TASK, 2, step=_raising_rule(exc))
    msg = str(err.value)
    assert "'bad-rule'" in msg and type(exc).__name__ in msg and "\n" not in msg


def test_keyboard_interrupt_in_a_rule_stays_the_users_stop():
    with pytest.raises(KeyboardInterrupt):
        S.star_trajectory(POLICY, TASK, 1, step=_raising_rule(KeyboardInterrupt()))


def test_a_rule_failing_at_run_time_from_the_cli_is_one_line(capsys, tmp_path):
    from star_theory.rules import register_rule, unregister_rule

    def sampled(policy, task, K, rng):
        raise ValueError("sampler blew up")

    register_rule(S.Rule("explodes", lambda p, t: p, sampled))
    try:
        one_line_cli(capsys, ["simulate", "--M", "3", "--N", "2", "--K", "2", "--seeds", "0", "--iterations", "1",
                              "--variant", "explodes", "--out", tmp_path / "s.json"], "'explodes'", "sampler blew up")
    finally:
        unregister_rule("explodes")
    assert not (tmp_path / "s.json").exists()


def _step(policy, **kw):
    base = dict(policy=policy, n_chains=6, kept=3, rationalized=0, counts=(np.zeros((3, 3)), np.zeros((3, 3))))
    return S.SampledStep(**{**base, **kw})


@pytest.mark.parametrize("kw,fragment", [
    ({"kept": -1}, "kept"), ({"n_chains": -2, "kept": 0}, "n_chains"), ({"kept": 7}, "exceeds"),
    ({"rationalized": 1.5}, "rationalized"), ({"kept": True}, "kept"),
    ({"counts": (-np.ones((3, 3)), np.zeros((3, 3)))}, "counts[0]"),
    ({"counts": (np.full((3, 3), np.nan), np.zeros((3, 3)))}, "counts[0]"),
])
def test_a_sampled_step_with_impossible_counts_is_refused(kw, fragment):
    with pytest.raises(InputError, match=None) as err:
        _step(POLICY, **kw)
    assert fragment in str(err.value)


def test_a_plug_in_sampled_form_returning_kept_above_chains_is_refused():
    def lying(policy, task, K, rng):
        return S.SampledStep(policy, 4, 9, 0, ())

    rule = S.Rule("liar", lambda p, t: p, lying)
    with pytest.raises(InputError) as err:
        rule.sampled_step(POLICY, TASK, 2, 0)
    assert "'liar'" in str(err.value) and "exceeds" in str(err.value)


PLUGIN = """
import sys
sys.exit(0)
"""


def test_an_entry_point_that_exits_on_import_is_one_line_exit_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "exiting_rules.py").write_text(PLUGIN)
    info = tmp_path / "exiting_rules-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: exiting-rules\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[rlstar.variants]\nexits-on-import = exiting_rules:rule\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        one_line_cli(capsys, ["simulate", "--M", "3", "--N", "2", "--K", "2", "--seeds", "0", "--iterations", "1",
                              "--variant", "exits-on-import", "--out", tmp_path / "s.json"],
                     "'exits-on-import'", "SystemExit")
    finally:
        sys.modules.pop("exiting_rules", None)


# ----------------------------------------------------------------------------- numbers are numbers


@pytest.mark.parametrize("call", [
    lambda: S.symmetric_policy(TASK, lam=True),
    lambda: S.symmetric_accuracy(4, lam=[True, 0.5]),
    lambda: S.make_variant("temperature", temperature=True),
    lambda: S.make_variant("partial-fit", eta=True),
    lambda: S.make_variant("noisy-verifier", fp=True),
    lambda: S.noisy_verifier_accept(TASK, np.bool_(True), 0.0),
    lambda: S.tempered_policy(POLICY, True),
    lambda: S.refit_from_counts([np.eye(3), np.eye(3)], POLICY, "smooth", True),
    lambda: S.sample_chains(POLICY, TASK, 2, True),
], ids=["lam", "lam-list", "temperature", "eta", "fp", "fp-numpy", "tempered", "alpha", "rng"])
def test_a_bool_is_not_a_number(call):
    with pytest.raises(InputError):
        call()


@pytest.mark.parametrize("seeds", [b"\x00\x01", {0, 1}, "01", {"a": 0}, 3.5, [0, 0], [True, False], [0, -1]],
                         ids=["bytes", "set", "str", "dict", "float", "repeated", "bools", "negative"])
def test_seeds_are_a_sequence_of_distinct_integers(seeds):
    with pytest.raises(InputError) as err:
        S.tabular_star_runs(POLICY, TASK, 2, 1, seeds)
    assert "seeds" in str(err.value)
    with pytest.raises(InputError):
        S.phase_diagram(3, points=3, iterations=2, mode="sampled", chains_per_question=2, seeds=seeds)


def test_the_validation_helpers_state_the_rule():
    from star_theory.validation import as_float, as_seeds

    assert as_seeds(range(3)) == (0, 1, 2) and as_seeds(np.array([4, 2])) == (4, 2)
    assert as_float(np.float32(0.5), "x") == 0.5
    for bad in (True, np.bool_(False), "1", b"1", 10**400, float("inf"), None):
        with pytest.raises(InputError):
            as_float(bad, "x")


# ----------------------------------------------------------------------------- every size bounded


@pytest.mark.parametrize("call,fragment", [
    (lambda: S.star_trajectory(POLICY, TASK, 10**400), "iterations"),
    (lambda: S.symmetric_task(4, 10**400), "N (steps)"),
    (lambda: S.symmetric_task(10**400, 2), "M (states per level)"),
    (lambda: S.symmetric_trajectory(4, 10**7, lam=[0.1]), "iterations"),
    (lambda: S.iterations_to_accuracy(4, 0.9, lam=[0.1], max_iterations=10**400), "max_iterations"),
    (lambda: S.check_improvement(POLICY, TASK, iterations=10**9), "iterations"),
    (lambda: S.lam_bounds(10**400), "M (states per level)"),
    (lambda: S.expected_kept_count(POLICY, TASK, 10**400), "chains_per_question"),
    (lambda: S.phase_diagram(3, points=3, iterations=10**400), "iterations"),
    (lambda: S.check_general(n_cases=10**12), "n_cases"),
    (lambda: S.random_tabular_case(0, max_states=10**9), "max_states"),
], ids=["star_trajectory", "symmetric_task-N", "symmetric_task-M", "symmetric_trajectory", "iterations_to_accuracy",
        "check_improvement", "lam_bounds", "expected_kept_count", "phase_diagram", "check_general", "random_case"])
def test_huge_counts_are_refused_naming_the_argument(call, fragment):
    from star_theory.validation import MAX_ITERATIONS

    with pytest.raises(InputError) as err:
        call()
    msg = str(err.value)
    assert fragment in msg and "\n" not in msg and len(msg) < 300
    if "iterations" in fragment:
        assert str(MAX_ITERATIONS) in msg


def test_M_above_float_range_at_the_cli_is_one_line(capsys):
    one_line_cli(capsys, ["theory", "--states", "1" + "0" * 400, "--lam", "0.1", "0.1"], "states")


# ----------------------------------------------------------------------------- temperatures


@pytest.mark.parametrize("T", [1e-310, 5e-324])
def test_subnormal_temperatures_in_simulate_and_phase_are_one_line(capsys, tmp_path, T):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one_line_cli(capsys, ["simulate", "--M", "3", "--N", "2", "--K", "2", "--seeds", "0", "--iterations", "1",
                              "--variant", "temperature", "--temperature", T, "--out", tmp_path / "s.json"], "temperature")
        one_line_cli(capsys, ["phase", "--M", "3", "--points", "3", "--iterations", "2", "--variant", "temperature",
                              "--temperature", T], "temperature")


def test_the_smallest_numpy_temperature_is_greedy_without_warnings():
    import warnings

    from star_theory.sim.variants import MIN_TEMPERATURE

    task = S.symmetric_task(80, 2)
    policy = S.symmetric_policy(task, lam=0.3)  # rows whose largest entry has log < -1/tiny: overflows when divided first
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tempered = S.tempered_policy(policy, MIN_TEMPERATURE)
    for k, q in zip(policy.kernels, tempered.kernels):
        assert np.array_equal(q, (k == k.max(axis=1, keepdims=True)).astype(float))  # the argmax of each row, mass 1


@pytest.fixture
def no_memory_limit(monkeypatch):
    """``--max-memory`` sets the limit for the process (an environment variable): undone after the test."""
    from star_theory.sizes import ENV

    monkeypatch.delenv(ENV, raising=False)


def test_rationales_are_inside_the_memory_estimate(capsys, tmp_path, no_memory_limit):
    one_line_cli(capsys, ["--max-memory", "0.25", "simulate", "--M", "20", "--N", "3", "--K", "4", "--seeds", "0",
                          "--iterations", "1", "--variant", "rationalize", "--rationales", "2000000",
                          "--out", tmp_path / "s.json"], "rationales=2000000", "memory")
    assert not (tmp_path / "s.json").exists()


def test_theory_at_huge_N_is_estimated_bounded_and_shows_progress(capsys, monkeypatch, no_memory_limit):
    from star_theory.sizes import trajectory_bytes, trajectory_output_bytes
    from star_theory.validation import MAX_STEPS

    # the estimate counts the printed output too: 0.05 GiB holds the arrays of N = 1e5 over 4 iterations, not the text
    assert trajectory_bytes(10**5, 3) < 0.05 * 2**30 < trajectory_bytes(10**5, 3) + trajectory_output_bytes(10**5, 3)
    one_line_cli(capsys, ["--max-memory", "0.05", "theory", "--N", 10**5, "--iterations", 3], "memory")
    monkeypatch.delenv("RLSTAR_MAX_MEMORY")
    one_line_cli(capsys, ["theory", "--N", MAX_STEPS + 1, "--iterations", 0], str(MAX_STEPS))
    assert main(["theory", "--N", "200000", "--iterations", "0", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "rlstar theory:" in err and json.loads(out)["lam"][0][:2] == [0.2, 0.2]


def test_the_vectorised_flawed_share_is_the_forward_pass():
    """The pairwise product of transfer matrices equals the step-by-step forward pass (written out here)."""
    from star_theory.closed_form import _chain_probabilities

    rng = np.random.default_rng(1)
    for N in (1, 2, 3, 8, 33):
        lam = rng.uniform(-0.2, 1.0, (4, N))
        M = 5.0
        stay_on, leave, back, stay_off = _chain_probabilities(lam, 1.0 - lam, M)
        clean, dirty, off = np.ones(4), np.zeros(4), np.zeros(4)
        for n in range(N - 1):
            clean, dirty, off = (clean * stay_on[:, n], dirty * stay_on[:, n] + off * back[:, n],
                                 (clean + dirty) * leave[:, n] + off * stay_off[:, n])
        flawed = dirty * stay_on[:, -1] + off * back[:, -1]
        expected = flawed / (flawed + clean * stay_on[:, -1])
        assert np.allclose(S.symmetric_flawed_share(5, lam=lam), expected, rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- min-ratio, docs


@pytest.mark.parametrize("bench", ["sampler", "corpus"])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1"])
def test_min_ratio_must_be_a_finite_non_negative_number(capsys, bench, value):
    one_line_cli(capsys, ["bench", bench, "--min-ratio", value], "--min-ratio")


def _results(tmp_path, record, manifest=None):
    res = tmp_path / "results"
    (res / "x").mkdir(parents=True)
    m = {"preset": "smoke", "master_seed": 0, "device": "cpu", "experiments": ["x"], "findings": 1, "findings_agree": 1}
    (res / "manifest.json").write_text(manifest if isinstance(manifest, str) else json.dumps(manifest or m))
    (res / "x" / "result.json").write_text(record if isinstance(record, str) else json.dumps(record))
    docs = tmp_path / "docs"
    docs.mkdir()
    page = "count <!-- generated:count:x -->old<!-- /generated --> value <!-- generated:x/data/a -->old<!-- /generated -->\n"
    (docs / "page.md").write_text(page)
    return res, docs, page


def _finding(agree):
    return {"statement": "s", "predicted": 1, "measured": 1, "tolerance": "t", "agree": agree}


@pytest.mark.parametrize("record", [
    {"findings": [_finding("no")], "data": {"a": 1.0}},
    {"findings": [_finding(1)], "data": {"a": 1.0}},
    '{"findings": [], "data": {"a": NaN}}',
    '{"findings": [], "data": {"a": 1e999}}',
    '{"findings": [], "data": {"a": [1.0, -Infinity]}}',
    '{"findings": [], "data": {"a": 1.0',
    '[1, 2]',
], ids=["agree-no", "agree-1", "nan", "overflow-inf", "-infinity", "truncated", "not-an-object"])
def test_docs_refuse_results_that_are_not_finite_numbers_and_booleans(tmp_path, capsys, record):
    from experiments.docs import main as docs_main

    res, docs, page = _results(tmp_path, record)
    assert docs_main([str(res), "--docs", str(docs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "result.json" in err
    assert (docs / "page.md").read_text() == page


@pytest.mark.parametrize("manifest", ['{"experiments": ["x"', '{"experiments": 5}', '{"experiments": ["../x"]}',
                                      '{"experiments": ["x"], "findings": 1, "findings_agree": 2}', "[]"],
                         ids=["truncated", "not-a-list", "path", "tally", "not-an-object"])
def test_docs_refuse_a_corrupt_manifest_in_one_line(tmp_path, capsys, manifest):
    from experiments.docs import main as docs_main

    res, docs, page = _results(tmp_path, {"findings": [], "data": {"a": 1.0}}, manifest)
    assert docs_main([str(res), "--docs", str(docs)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "manifest.json" in err and (docs / "page.md").read_text() == page


def test_docs_fill_from_a_valid_record(tmp_path, capsys):
    from experiments.docs import main as docs_main

    res, docs, _ = _results(tmp_path, {"findings": [_finding(True)], "data": {"a": 1.5}})
    assert docs_main([str(res), "--docs", str(docs)]) == 0
    assert (docs / "page.md").read_text() == ("count <!-- generated:count:x -->1 of 1 agree<!-- /generated --> value "
                                              "<!-- generated:x/data/a -->1.5<!-- /generated -->\n")


def test_json_records_are_read_with_a_size_cap(tmp_path):
    from star_theory.io import MAX_JSON_BYTES, read_json

    big = tmp_path / "task.json"
    with open(big, "wb") as fh:  # sparse: no disk used, and never read whole
        fh.truncate(MAX_JSON_BYTES + 1)
    with pytest.raises(InputError) as err:
        read_json(big, "task.json")
    assert "larger than" in str(err.value)
    (tmp_path / "ok.json").write_text('{"a": 1}')
    assert read_json(tmp_path / "ok.json", "ok.json") == {"a": 1}


# ----------------------------------------------------------------------------- checkpoints checked as data


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """An untrained tiny checkpoint of zip D=2 b=2 (built from a config; nothing downloaded)."""
    pytest.importorskip("torch")
    import torch

    from llm.model import TaskSpec, build_model, save_checkpoint
    from llm.tasks import get_task
    from llm.tokenizer import build_tokenizer

    path = tmp_path_factory.mktemp("ckpt") / "ckpt"
    tok = build_tokenizer(get_task("zip", 2, 2), "state")
    torch.manual_seed(0)
    save_checkpoint(path, build_model("tiny", len(tok), tok), tok, TaskSpec("zip", {"digits": 2, "base": 2}, "state"))
    return path


def _crafted(checkpoint, tmp_path, edit_vocab):
    import shutil

    bad = tmp_path / "crafted"
    shutil.copytree(checkpoint, bad)
    tj = json.loads((bad / "tokenizer.json").read_text())
    edit_vocab(tj["model"]["vocab"])
    (bad / "tokenizer.json").write_text(json.dumps(tj))
    return bad


def _states(vocab):
    return [k for k in vocab if not k.startswith("<")]


@pytest.mark.parametrize("edit,fragment", [
    (lambda v: v.__setitem__(_states(v)[1], v[_states(v)[0]]), "same token ids"),
    (lambda v: v.__setitem__(_states(v)[0], v["<sep>"]), "special token"),
    (lambda v: v.__setitem__(_states(v)[0], v["<eos>"]), "special token"),
    (lambda v: v.__setitem__("<extra>", len(v)), "never resized"),
    (lambda v: v.__setitem__(_states(v)[0], 10**6), "vocabulary"),
], ids=["two-states-one-id", "state-is-sep", "state-is-eos", "larger-tokenizer", "id-out-of-range"])
def test_a_crafted_tokenizer_is_refused_before_measuring(checkpoint, tmp_path, capsys, edit, fragment):
    from cli_helpers import one_line_error

    bad = _crafted(checkpoint, tmp_path, edit)
    err = one_line_error(capsys, ["llm", "measure", "--checkpoint", bad, "--no-progress", "--device", "cpu"])
    assert fragment in err or "tokenizer" in err, err


def test_the_state_table_is_checked_against_the_model_vocabulary(checkpoint):
    from llm.model import load_checkpoint
    from llm.tokenizer import state_table

    _, tok, spec = load_checkpoint(checkpoint)
    table = state_table(spec.text_task(), tok, len(tok))
    every = np.concatenate([ids.ravel() for ids in table.ids])
    assert every.max() < len(tok) and not np.isin(every, tok.all_special_ids).any()
    with pytest.raises(InputError, match="vocabulary"):
        state_table(spec.text_task(), tok, int(every.max()))  # a model one row short of the largest state id


def test_a_config_declaring_a_model_above_the_limit_is_refused_before_it_is_built(checkpoint, monkeypatch):
    from llm.model import load_checkpoint, model_bytes
    from star_theory.sizes import ENV

    cfg = json.loads((checkpoint / "config.json").read_text())
    need = model_bytes(cfg, checkpoint)
    monkeypatch.setenv(ENV, repr(need / 2 / 2**30))  # half of what the declared sizes take
    built = []
    import transformers

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained",
                        classmethod(lambda cls, *a, **k: built.append(a) or (_ for _ in ()).throw(AssertionError("built"))))
    with pytest.raises(InputError) as err:
        load_checkpoint(checkpoint)
    assert "memory" in str(err.value) and built == []
    monkeypatch.setenv(ENV, repr(2 * need / 2**30))
    with pytest.raises(InputError, match="built"):  # within the limit it goes on to build
        load_checkpoint(checkpoint)
    assert len(built) == 1


def test_a_full_disk_while_writing_safetensors_is_an_os_error(checkpoint, tmp_path, monkeypatch):
    import errno

    import transformers.modeling_utils as mu
    from safetensors import SafetensorError

    from llm.model import load_checkpoint, read_task_spec, save_checkpoint

    model, tok, spec = load_checkpoint(checkpoint)

    def full(*a, **k):
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: StorageFull, message: "No space left on device" })')

    monkeypatch.setattr(mu, "safe_save_file", full)
    with pytest.raises(OSError) as err:
        save_checkpoint(tmp_path / "out", model, tok, read_task_spec(checkpoint))
    assert err.value.errno == errno.ENOSPC and "model.safetensors" in str(err.value)


def test_resume_refuses_another_model_in_the_recorded_checkpoints_place(checkpoint, tmp_path, capsys):
    import shutil

    import torch

    from cli_helpers import one_line_error
    from llm.model import TaskSpec, build_model, checkpoint_digest, load_checkpoint, save_checkpoint

    ckpt = tmp_path / "ckpt"
    shutil.copytree(checkpoint, ckpt)
    out = tmp_path / "run"
    args = ["--samples-per-question", "1", "--finetune-steps", "1", "--batch-size", "64", "--device", "cpu", "--no-progress"]
    assert main(["llm", "star", "--checkpoint", str(ckpt), "--out", str(out), "--iterations", "0", *args]) == 0
    capsys.readouterr()
    recorded = json.loads((out / "run.json").read_text())
    assert recorded["pretrained_digest"] == checkpoint_digest(ckpt)
    _, tok, _ = load_checkpoint(ckpt)
    torch.manual_seed(1)  # another model, same task, same path
    shutil.rmtree(ckpt)
    save_checkpoint(ckpt, build_model("tiny", len(tok), tok), tok, TaskSpec("zip", {"digits": 2, "base": 2}, "state"))
    before = (out / "run.json").read_bytes()
    one_line_error(capsys, ["llm", "star", "--checkpoint", ckpt, "--out", out, "--iterations", "1", "--resume", *args],
                   "digest")
    assert (out / "run.json").read_bytes() == before and not (out / "iter_001").exists()


# ----------------------------------------------------------------------------- LLM temperatures


def test_both_llm_samplers_refuse_the_same_temperatures_and_agree_at_the_smallest(checkpoint):
    import torch

    from llm.config import LLMConfig
    from llm.device import generator
    from llm.measure import MIN_TEMPERATURE
    from llm.model import load_checkpoint
    from llm.sample import sample_chains
    from llm.tokenizer import state_table

    model, tok, spec = load_checkpoint(checkpoint)
    table = state_table(spec.text_task(), tok)
    questions = np.repeat(np.arange(table.ids[0].shape[0]), 3)
    cpu = torch.device("cpu")
    for T in (MIN_TEMPERATURE / 2, 1e-45, 0.0, True, float("nan")):
        for sampler in ("trie", "token"):
            with pytest.raises(InputError, match="temperature"):
                sample_chains(model, table, questions, generator(cpu, 0), cpu, sampler=sampler, temperature=T)
        with pytest.raises(InputError, match="temperature"):
            LLMConfig(temperature=T)
    runs = {s: sample_chains(model, table, questions, generator(cpu, 0), cpu, sampler=s, temperature=MIN_TEMPERATURE)
            for s in ("trie", "token")}
    # greedy: every chain of a question is the same one, and the two samplers find the same chains
    a, b = runs["trie"], runs["token"]
    assert np.array_equal(a.valid, b.valid) and np.array_equal(a.states[a.valid], b.states[b.valid])
    by_question = a.states.reshape(-1, 3, a.states.shape[1])
    assert (by_question == by_question[:, :1]).all()

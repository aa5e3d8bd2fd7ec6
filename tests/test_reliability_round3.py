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

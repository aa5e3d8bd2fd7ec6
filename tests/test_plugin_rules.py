"""Update rules defined here, outside the package, run through simulate, phase and the claim
checks: passed as objects, registered in the process, and loaded from an ``rlstar.variants``
entry point of an installed distribution (a dist-info folder on sys.path)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from star_theory import (
    InputError,
    SimulateConfig,
    TabularPolicy,
    accuracy,
    check_general,
    check_improvement,
    check_robustness,
    classify_pretrained,
    exact_star_step,
    make_variant,
    phase_diagram,
    simulate,
    symmetric_policy,
    symmetric_task,
)
from star_theory.cli import main
from star_theory.rules import Rule, chain_filter_rule, get_rule, register_rule, rule_names, unregister_rule
from star_theory.sim.sampling import SampledStep, refit_from_counts, sample_chains, transition_counts


def right_answer(chains, log_prob, task):
    return chains[:, -1] == task.answers[chains[:, 0]]


def confident(threshold):
    """Keep a chain when its answer is right AND its log-probability is at least ``threshold``."""
    return chain_filter_rule(
        "confident-star", lambda chains, log_prob, task: right_answer(chains, log_prob, task) & (log_prob >= threshold)
    )


# a rule written by hand (no helper): exact and sampled forms of "refit on the right answers,
# then move only half way" (partial-fit with eta = 1/2, which the package also has built in)
def half_star_exact(policy, task):
    new = exact_star_step(policy, task)
    return TabularPolicy([(a + b) / 2 for a, b in zip(policy.kernels, new.kernels)])


def half_star_sampled(policy, task, K, rng):
    chains = sample_chains(policy, task, K, rng)
    kept = chains[chains[:, -1] == task.answers[chains[:, 0]]]
    counts = transition_counts(kept, task)
    new = refit_from_counts(counts, policy)
    mixed = TabularPolicy([(a + b) / 2 for a, b in zip(policy.kernels, new.kernels)])
    return SampledStep(mixed, chains.shape[0], kept.shape[0], 0, tuple(counts))


HALF = Rule("half-star", half_star_exact, half_star_sampled)


@pytest.fixture(autouse=True)
def clean_registry():
    from star_theory import rules

    before = dict(rules._REGISTRY)
    yield
    rules._REGISTRY.clear()
    rules._REGISTRY.update(before)


def _same(a, b, atol=1e-12):
    return all(np.allclose(x, y, atol=atol, rtol=0) for x, y in zip(a.kernels, b.kernels))


# ----------------------------------------------------------------------------- the rules themselves


def test_star_as_a_chain_filter_equals_the_package_star_in_all_three_forms():
    task = symmetric_task(3, 3, seed=4)
    policy = symmetric_policy(task, lam=[0.3, -0.2, 0.6])
    star = chain_filter_rule("star-again", right_answer)
    assert _same(star(policy, task), exact_star_step(policy, task))
    builtin = make_variant("star")
    np.testing.assert_allclose(star.closed_forms(policy, task, 5), builtin.closed_forms(policy, task, 5), rtol=1e-12)
    a, b = star.sampled_step(policy, task, 7, 11), builtin.sampled_step(policy, task, 7, 11)
    assert a.kept == b.kept and all(np.array_equal(x, y) for x, y in zip(a.policy.kernels, b.policy.kernels))


def test_a_threshold_at_the_most_probable_chain_reaches_the_optimum_in_one_step():
    # lam > 0: the all-correct chain is the most probable one; with the threshold at its
    # log-probability only it is kept, so every visited row becomes the ground truth: J = 1
    M, N, lam = 4, 3, 0.3
    task = symmetric_task(M, N, seed=1)
    policy = symmetric_policy(task, lam=lam)
    best = N * np.log(lam + (1 - lam) / M)
    new = confident(best - 1e-9)(policy, task)
    assert accuracy(new, task) == pytest.approx(1.0, abs=1e-12)
    assert accuracy(exact_star_step(policy, task), task) < 1.0


def test_the_hand_written_rule_is_the_builtin_partial_fit():
    task = symmetric_task(4, 2, seed=2)
    policy = symmetric_policy(task, lam=0.2)
    assert _same(HALF(policy, task), make_variant("partial-fit", eta=0.5).exact_step(policy, task))


# ----------------------------------------------------------------------------- the claim checks


def test_checks_take_the_rule_object_and_report_a_counterexample():
    task = symmetric_task(4, 3, seed=0)
    policy = symmetric_policy(task, lam=0.2)
    rule = confident(np.log(1e-3))
    assert check_improvement(policy, task, 5, step=rule).holds
    assert check_robustness(policy, task, 3, step=rule).holds
    assert classify_pretrained(4, lam=[0.2, 0.2], iterations=30, step=rule).label == "optimum"
    assert check_general("improvement", n_cases=10, iterations=4, step=HALF).holds  # a convex step towards EM
    # the confident filter is no EM step: this case (found by hypothesis with
    # star_theory.strategies.task_and_policy) loses accuracy, and the check says so
    from star_theory import ReasoningTask

    t = ReasoningTask([[0, 1, 2], [0, 1, 2]], final_size=3)
    third = [1 / 3, 1 / 3, 1 / 3]
    p = TabularPolicy([[third, [0.0, 1.0, 0.0], [0.2, 0.8, 0.0]], [[0.0, 0.0, 1.0], [0.0, 0.5, 0.5], third]])
    r = check_improvement(p, t, 1, step=confident(np.log(0.3)))
    assert not r.accuracy_holds and r.counterexample.after < r.counterexample.before
    assert check_improvement(p, t, 1).accuracy_holds  # plain STaR does not lose it (EM)


def test_a_rule_that_returns_the_wrong_thing_is_named():
    task = symmetric_task(3, 1)
    policy = symmetric_policy(task, lam=0.5)
    broken = Rule("broken", lambda p, t: p.kernels)
    with pytest.raises(InputError, match="rule 'broken' must return a TabularPolicy"):
        check_improvement(policy, task, 2, step=broken)


# ----------------------------------------------------------------------------- simulate and phase


def test_simulate_runs_a_registered_rule_with_its_closed_forms():
    register_rule(confident(np.log(1e-2)))
    cfg = SimulateConfig(M=3, N=2, lam=(0.3,), variant="confident-star", chains_per_question=16, seeds=(0, 1, 2),
                         iterations=3)
    r = simulate(cfg, progress=False, rule=get_rule(cfg.variant))  # sim takes the object; the registry names it
    assert r["variant"] == "confident-star"
    again = simulate(cfg, progress=False, rule=get_rule(cfg.variant))
    np.testing.assert_array_equal(r["accuracy_runs"], again["accuracy_runs"])  # reproducible from the seeds
    row = r["iterations"][0]
    # at t = 0 every run starts from the same policy: the closed forms there are the exact ones
    assert row["expected_kept_exact"] == pytest.approx(row["expected_kept_closed_mean"])
    rule = get_rule("confident-star")
    task = symmetric_task(3, 2)
    _, e_kept = rule.closed_forms(symmetric_policy(task, lam=0.3), task, 16)
    assert row["expected_kept_exact"] == pytest.approx(e_kept)
    # the sampled exact curve is the rule's own exact form
    p = symmetric_policy(task, lam=0.3)
    for t in range(4):
        assert r["iterations"][t]["exact_accuracy"] == pytest.approx(accuracy(p, task), abs=1e-12)
        p = rule(p, task)


def test_simulate_with_a_rule_without_keep_probability_reports_no_closed_form():
    register_rule(HALF)
    r = simulate(SimulateConfig(M=3, N=2, variant="half-star", chains_per_question=8, seeds=(0,), iterations=2),
                 progress=False, rule=HALF)
    assert np.isnan(r["iterations"][0]["p_no_kept_exact"]) and r["iterations"][0]["kept_mean"] > 0


def test_a_rule_without_sampled_form_is_refused_by_simulate_before_anything_is_written(tmp_path):
    register_rule(Rule("exact-only", half_star_exact))
    cfg = SimulateConfig(M=3, N=2, variant="exact-only", chains_per_question=4, seeds=(0,), iterations=2)
    with pytest.raises(InputError, match="'exact-only' has no sampled form"):
        simulate(cfg, checkpoint=tmp_path / "run", rule=get_rule(cfg.variant))
    assert not (tmp_path / "run").exists()
    with pytest.raises(InputError, match="no sampled form"):
        phase_diagram(3, 2, points=3, iterations=2, mode="sampled", chains_per_question=4, variant=Rule("x", half_star_exact))


def test_phase_takes_the_object_and_agrees_with_the_builtin_it_reimplements():
    ours = phase_diagram(4, 2, points=5, iterations=40, variant=HALF)
    builtin = phase_diagram(4, 2, points=5, iterations=40, variant=make_variant("partial-fit", eta=0.5))
    assert ours.variant == "half-star"
    np.testing.assert_array_equal(ours.outcome, builtin.outcome)
    np.testing.assert_allclose(ours.final_accuracy, builtin.final_accuracy, atol=1e-12)
    sampled = phase_diagram(3, 2, points=3, iterations=3, mode="sampled", chains_per_question=8, seeds=(0, 1),
                            variant=confident(np.log(1e-2)))
    assert sampled.outcome.shape == (3, 3) and np.all(np.isfinite(sampled.final_accuracy))


# ----------------------------------------------------------------------------- registration


def test_registration_refuses_clashes():
    with pytest.raises(InputError, match="built-in"):
        register_rule(HALF, "star")
    register_rule(HALF)
    assert "half-star" in rule_names()
    with pytest.raises(InputError, match="registered already"):
        register_rule(Rule("half-star", exact_star_step))
    unregister_rule("half-star")
    with pytest.raises(InputError, match="unknown variant 'half-star'"):
        get_rule("half-star")
    with pytest.raises(InputError, match="partial-fit"):
        register_rule(HALF)
        SimulateConfig(variant="half-star", eta=0.5)
    with pytest.raises(InputError, match="name must be"):
        Rule("two words", exact_star_step)


PLUGIN_MODULE = '''
import numpy as np
from star_theory.rules import chain_filter_rule

confident = chain_filter_rule(
    "confident-star",
    lambda chains, log_prob, task: (chains[:, -1] == task.answers[chains[:, 0]]) & (log_prob >= np.log(1e-2)),
)
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A distribution 'my-rules' with two rlstar.variants entry points (one broken), on sys.path."""
    (tmp_path / "my_rules_pkg.py").write_text(PLUGIN_MODULE)
    info = tmp_path / "my_rules-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-rules\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[rlstar.variants]\nconfident-ep = my_rules_pkg:confident\nbroken-ep = my_rules_pkg:missing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("my_rules_pkg", None)


def test_an_entry_point_rule_runs_from_the_command_line(installed_plugin, capsys):
    assert {"confident-ep", "broken-ep"} <= set(rule_names())
    out = installed_plugin / "sim.json"
    argv = ["simulate", "--M", "3", "--N", "2", "--K", "8", "--seeds", "0", "1", "--iterations", "2",
            "--variant", "confident-ep", "--out", str(out), "--format", "json"]
    assert main(argv) == 0
    result = json.loads(out.read_text())
    assert result["variant"] == "confident-ep" and result["config"]["variant"] == "confident-ep"
    capsys.readouterr()
    assert main(["phase", "--M", "3", "--points", "3", "--iterations", "5", "--variant", "confident-ep",
                 "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["variant"] == "confident-ep"
    # a broken entry point is one line and exit status 2
    assert main(["simulate", "--variant", "broken-ep", "--iterations", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("rlstar: error: variant 'broken-ep': entry point") and "\n" not in err


def test_checks_take_builtin_variants_as_objects_and_names():
    task = symmetric_task(4, 2, seed=3)
    policy = symmetric_policy(task, lam=0.3)
    v = make_variant("noisy-verifier", fp=0.1, fn=0.2)
    a, b = check_improvement(policy, task, 3, step=v), check_improvement(policy, task, 3, step=v.exact())
    np.testing.assert_array_equal(a.accuracy, b.accuracy)
    c, d = check_improvement(policy, task, 3, step="star"), check_improvement(policy, task, 3)
    np.testing.assert_array_equal(c.accuracy, d.accuracy)


def test_a_rule_without_closed_forms_resumes_from_its_checkpoints(tmp_path):
    register_rule(HALF)
    cfg = SimulateConfig(M=3, N=2, variant="half-star", chains_per_question=8, seeds=(0, 1), iterations=3)
    whole = simulate(cfg, checkpoint=tmp_path / "run", progress=False, rule=HALF)
    (tmp_path / "run" / "result.json").unlink()
    again = simulate(cfg, checkpoint=tmp_path / "run", resume=True, progress=False, rule=HALF)
    np.testing.assert_array_equal(whole["accuracy_runs"], again["accuracy_runs"])

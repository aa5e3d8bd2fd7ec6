"""Type checks at the API's edge: a wrong kind of argument to a public function is an InputError
that names the argument and what was expected, never an AttributeError or TypeError from deep
inside."""

from __future__ import annotations

import numpy as np
import pytest

import star_theory as S

TASK = S.symmetric_task(3, 2)
POLICY = S.symmetric_policy(TASK, lam=0.3)
CHAINS = np.zeros((2, 3), dtype=np.int64)

CASES = {
    # (call, fragments the message must hold: the argument's name and what it expects)
    "symmetric_policy(64)": (lambda: S.symmetric_policy(64, lam=0.2), ["task must be a ReasoningTask", "int"]),
    "mixture_policy(64)": (lambda: S.mixture_policy(64, lam=0.2), ["task must be a ReasoningTask"]),
    "fit_symmetric(task, policy)": (lambda: S.fit_symmetric(TASK, POLICY), ["policy must be a TabularPolicy", "ReasoningTask"]),
    "fit_symmetric(policy, 3)": (lambda: S.fit_symmetric(POLICY, 3), ["task must be a ReasoningTask"]),
    "check_compatible(3)": (lambda: POLICY.check_compatible(3), ["task must be a ReasoningTask"]),
    "accuracy(task, policy)": (lambda: S.accuracy(TASK, POLICY), ["policy must be a TabularPolicy"]),
    "symmetric_accuracy M text": (lambda: S.symmetric_accuracy("8", lam=0.2), ["M (states per level) must be an integer", "'8'"]),
    "symmetric_accuracy lam text": (lambda: S.symmetric_accuracy(8, lam="0.2"), ["lam must be numeric", "'0.2'"]),
    "symmetric_accuracy M task": (lambda: S.symmetric_accuracy(TASK, lam=0.2), ["M (states per level) must be an integer"]),
    "lam text in a policy": (lambda: S.symmetric_policy(TASK, lam="0.2"), ["lam must be numeric"]),
    "kernel text": (lambda: S.TabularPolicy([[["0.5", "0.5"], ["0.5", "0.5"]]]), ["kernels[0] must be numeric"]),
    "check_improvement tol": (lambda: S.check_improvement(POLICY, TASK, tol="x"), ["tol must be a number", "'x'"]),
    "check_improvement step": (lambda: S.check_improvement(POLICY, TASK, step=3), ["step must be a rule name", "int"]),
    "pretrained_boundary values": (lambda: S.pretrained_boundary(8, values="x"), ["lam must be numeric"]),
    "phase_diagram target": (lambda: S.phase_diagram(4, target="x"), ["target accuracy must be a number", "'x'"]),
    "phase_diagram variant": (lambda: S.phase_diagram(4, variant=3), ["variant must be a rule name", "int"]),
    "keep_mask task": (lambda: S.keep_mask(CHAINS, 3), ["task must be a ReasoningTask"]),
    "transition_counts task": (lambda: S.transition_counts(CHAINS, POLICY), ["task must be a ReasoningTask", "TabularPolicy"]),
    "question_keep_probability": (lambda: S.question_keep_probability(TASK, POLICY), ["policy must be a TabularPolicy"]),
    "noisy_verifier_accept": (lambda: S.noisy_verifier_accept(POLICY, 0.1, 0.1), ["task must be a ReasoningTask"]),
    "read_corpus path": (lambda: S.read_corpus(3), ["path must be a file path", "int"]),
    "write_corpus path": (lambda: S.write_corpus(3, CHAINS, {}), ["path must be a file path"]),
    "star_trajectory step result": (lambda: S.star_trajectory(POLICY, TASK, 1, step=lambda p, t: 0.5),
                                    ["must return a TabularPolicy"]),
    "register_rule": (lambda: S.register_rule(3), ["rule must be a rule name", "int"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_wrong_kinds_of_argument_are_named(name):
    call, fragments = CASES[name]
    with pytest.raises(S.InputError) as exc:
        call()
    message = str(exc.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (name, message)


# every public function with a task or policy argument, called with valid values except that one
VALID = {"policy": POLICY, "task": TASK, "previous": POLICY, "old": POLICY, "new": POLICY, "M": 3, "N": 2,
         "chains_per_question": 2, "rng": 0, "iterations": 2, "questions": 2, "chains": CHAINS, "temperature": 2.0,
         "eta": 0.5, "fp": 0.1, "fn": 0.1, "mass": [np.ones((3, 3))] * 2, "counts": [np.ones((3, 3))] * 2, "lam": 0.3}
SWAPPED = {"policy": TASK, "task": POLICY, "previous": TASK, "old": TASK, "new": TASK}


def _calls():
    import inspect

    for name in S.__all__:
        f = getattr(S, name)
        if not inspect.isfunction(f):
            continue
        params = inspect.signature(f).parameters
        required = [p for p, v in params.items() if v.default is inspect.Parameter.empty]
        for target in (p for p in params if p in SWAPPED):
            if all(r in VALID for r in required):
                yield pytest.param(f, required, target, id=f"{name}({target}=wrong kind)")


@pytest.mark.parametrize("f, required, target", list(_calls()))
def test_every_task_or_policy_argument_is_checked_by_name(f, required, target):
    kwargs = {r: VALID[r] for r in required}
    kwargs[target] = SWAPPED[target]
    with pytest.raises(S.InputError) as exc:
        f(**kwargs)
    # "task must be a ReasoningTask, got TabularPolicy"; make_corpus's task is a name: "unknown task ..."
    assert str(exc.value).startswith((f"{target} must be a ", f"unknown {target} ")), str(exc.value)


def test_the_sweep_above_covers_the_api():
    assert len(list(_calls())) >= 30

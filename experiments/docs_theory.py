"""The ``theory:NAME`` blocks of the docs: numbers computed by the theory core's deterministic commands
(``rlstar theory``, ``rlstar check``), regenerated with the rest by ``python -m experiments.docs``."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from star_theory import (
    TabularPolicy,
    accuracy,
    check_convergence,
    check_general,
    iterations_to_accuracy,
    make_variant,
    star_trajectory,
    symmetric_policy,
    symmetric_task,
    symmetric_trajectory,
)
from star_theory.sim import expected_kept_count, prob_no_kept_chain

CHECK_CASES, CHECK_SEED, CHECK_ITERATIONS = 150, 0, 30  # `rlstar check` defaults
UNSTABLE_M, UNSTABLE_LAM, UNSTABLE_T, PERTURBATION = 6, (-0.2, -0.2, 0.5), 150, 1e-9


@lru_cache(maxsize=None)
def _convergence():
    return check_general("convergence", n_cases=CHECK_CASES, seed=CHECK_SEED, iterations=CHECK_ITERATIONS)


@lru_cache(maxsize=None)
def _improvement():
    return check_general("improvement", n_cases=CHECK_CASES, seed=CHECK_SEED, iterations=10)


@lru_cache(maxsize=None)
def _unstable(n_seeds: int = 5) -> dict:
    """Limits of exact STaR on explicit matrices from lam = (-1/(M-1), -1/(M-1), 0.5), M = 6: as is
    (round-off only) and with a 1e-9 random perturbation of the non-zero entries (several seeds)."""
    task = symmetric_task(UNSTABLE_M, 3)
    base = symmetric_policy(task, lam=list(UNSTABLE_LAM))

    def run(policy):
        J = np.array([accuracy(p, task) for p in star_trajectory(policy, task, UNSTABLE_T)])
        near = np.flatnonzero(np.abs(J - J[-1]) <= 1e-6)
        return float(J[-1]), int(near[0])

    out = {"round-off": run(base)}
    for s in range(n_seeds):
        rng = np.random.default_rng(s)
        ks = [k + PERTURBATION * rng.random(k.shape) * (k > 0) for k in base.kernels]
        out[f"seed {s}"] = run(TabularPolicy([k / k.sum(axis=1, keepdims=True) for k in ks]))
    return out


def _frac(x: float) -> str:
    for q in range(1, 13):
        if abs(x * q - round(x * q)) < 1e-6:
            return f"{round(x * q)}/{q}" if q > 1 else f"{x:.4g}"
    return f"{x:.4g}"


def _negative_entry() -> str:
    t = symmetric_trajectory(64, 3, lam=[-0.01, 0.5, 0.5])
    return (f"steps 2 and 3 drop from 0.5 to {t.lam[1][1]:.4f} in the first iteration, while $J$ rises from "
            f"{t.accuracy[0]:.4f} to {t.accuracy[1]:.4f}. In this case it recovers: $J={t.accuracy[3]:.3f}$ at $t=3$")


def _below_boundary() -> str:
    t = symmetric_trajectory(64, 400, lam=[-0.01, 0.01])
    lam = ", ".join(f"{t.lam[k][0]:.4f}" for k in (1, 2, 3))
    return (f"Both $\\lambda$ then fall towards $-1/63$ ({lam} at $t=1,2,3$; the two are equal from $t=1$ on), while $J$ creeps up from "
            f"{t.accuracy[0]:.5f} to {t.accuracy[-1]:.5f} after {len(t.accuracy) - 1} iterations (limit $1/63\\approx{1 / 63:.5f}$)")


def _local_optima() -> str:
    g = _convergence()
    c = g.counterexample
    slow = ", ".join(f"{s} (iteration {t})" for s, t in g.slow)
    return (f"{g.n_failures} of {g.n_cases} tasks (seed {g.seed}) stop at a fixed point below the optimum: one step "
            f"changes no kernel entry by more than $10^{{-12}}$ while $1-J>10^{{-9}}$ ({g.n_undecided} still moving "
            f"after 10000 iterations). The first is case seed {c.seed}, `{c.task!r}`, where $J$ goes from {c.before:.3f} "
            f"to {c.after:.4f} and is a fixed point at iteration {c.iteration}. {len(g.slow)} more tasks are below the "
            f"optimum at iteration {g.iterations} but only slow: they reach it later (case seeds {slow})")


def _unstable_text() -> str:
    r = _unstable()
    J0, t0 = r["round-off"]
    pert = [v for k, v in r.items() if k != "round-off"]
    limits = ", ".join(f"{_frac(J)} (iteration {t})" for J, t in pert)
    return (f"from `lam = [-0.2, -0.2, 0.5]` at $M={UNSTABLE_M}$, round-off alone leads to $J={_frac(J0)}$ (within "
            f"$10^{{-6}}$ from iteration {t0} on), while {len(pert)} random perturbations of size "
            f"$10^{{-9}}$ lead to {limits}")


def _robustness() -> str:
    t = symmetric_trajectory(64, 3, lam=[0.2] * 3)
    share = ", ".join(f"{100 * x:.2g}% at $t={i}$" for i, x in enumerate(t.flawed_share[:3]))
    acc = " → ".join(f"{x:.3g}" for x in t.accuracy[:3])
    return f"{share} of the kept chains have a wrong intermediate state, while $J$ goes {acc}"


def _to_target() -> str:
    a, b = (int(iterations_to_accuracy(64, 0.99, lam=[x] * 3)) for x in (0.2, 0.1))
    return f"{a} iterations from $\\lambda=0.2$ and {b} from $\\lambda=0.1$"


NO_KEPT_M, NO_KEPT_N, NO_KEPT_LAM, NO_KEPT_K = 64, 3, 0.02, 1


def _no_kept() -> str:
    """The closed forms of the first sampled iteration where STaR barely starts (``star_theory.sim.sampling``)."""
    task = symmetric_task(NO_KEPT_M, NO_KEPT_N)
    p0 = symmetric_policy(task, lam=NO_KEPT_LAM)
    return (f"for M = {NO_KEPT_M}, N = {NO_KEPT_N}, lam = {NO_KEPT_LAM} and K = {NO_KEPT_K}, `J = {accuracy(p0, task):.4f}`, "
            f"the expected kept count is {expected_kept_count(p0, task, NO_KEPT_K):.2f} and P(no kept chain) = "
            f"{prob_no_kept_chain(p0, task, NO_KEPT_K):.3f}")


VARIANT_CASES = (("star", {}), ("rationalize", {"rationales": 4}), ("noisy-verifier", {"fp": 0.02, "fn": 0.1}),
                 ("noisy-verifier", {"fp": 0.5, "fn": 0.3}), ("noisy-verifier", {"fp": 0.9, "fn": 0.5}),
                 ("partial-fit", {"eta": 0.3}), ("temperature", {"temperature": 0.5}),
                 ("temperature", {"temperature": 3}))


def _variant_convergence() -> str:
    """``check_convergence`` of each variant's exact form (M = 4, N = 3, lam = 0.2; rationalize at K = 8)."""
    task = symmetric_task(4, 3)
    p0 = symmetric_policy(task, lam=0.2)
    rows = ["| variant | J after 60 iterations | outcome | decided at iteration | J there | last contraction of 1 - J |",
            "|---|---|---|---|---|---|"]
    for name, kw in VARIANT_CASES:
        v = make_variant(name, **kw)
        r = check_convergence(p0, task, 60, step=v.exact(8) if name == "rationalize" else v.exact())
        rows.append(f"| {v.label()} | {r.limit_accuracy:.6g} | {r.outcome} | {r.stop_iteration} | {r.stop_accuracy:.4g} "
                    f"| {r.rate:.4g} |")
    return "\n" + "\n".join(rows) + "\n"


GENERAL_CASES, GENERAL_ITERATIONS, RATIONALIZE_K = 40, 10, 8


@lru_cache(maxsize=None)
def _general_improvement(label: str) -> str:
    """``check_general("improvement")`` over :data:`GENERAL_CASES` random tabular tasks with a variant's exact form
    (rationalize at K = :data:`RATIONALIZE_K`): "holds", or how many cases fail and the worst change of J."""
    name, kw = next((n, k) for n, k in VARIANT_CASES if make_variant(n, **k).label() == label)
    v = make_variant(name, **kw)
    g = check_general("improvement", n_cases=GENERAL_CASES, seed=0, iterations=GENERAL_ITERATIONS,
                      step=v.exact(RATIONALIZE_K) if name == "rationalize" else v.exact())
    return "holds" if g.holds else f"**fails** in {g.n_failures}/{g.n_cases} (worst dJ = {g.worst:.1e})"


THEORY = {
    "variant_convergence": _variant_convergence,
    "to_target": _to_target,
    "improvement_general": lambda: (f"finds no decrease over {_improvement().n_cases} random non-bijective tasks (the most "
                                    f"negative change is {_improvement().worst:.1e}, round-off)"),
    "negative_entry": _negative_entry,
    "below_boundary": _below_boundary,
    "local_optima": _local_optima,
    "unstable": _unstable_text,
    "robustness": _robustness,
    "no_kept": _no_kept,
    **{f"general_improvement:{make_variant(n, **k).label()}": (lambda n=n, k=k: _general_improvement(make_variant(n, **k).label()))
       for n, k in VARIANT_CASES},
}


def theory_value(name: str) -> str:
    return THEORY[name]()

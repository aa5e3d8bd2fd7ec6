r"""STaR variants: where each helps and where improvement fails.

Symmetric family, convention ``lam``. For every variant setting:

* the exact form iterated on explicit ``M x M`` matrices (:meth:`StarVariant.exact`), fitted back
  to ``lam``, beside the closed form derived in :mod:`star_theory.sim.variant_theory` (independent
  code paths);
* the theorem checks with ``step=variant.exact(K)``: :func:`star_theory.check_improvement`,
  :func:`star_theory.check_convergence` (observed contraction of ``1 - J``), and
  ``check_improvement`` on seeded random general tabular tasks (:func:`star_theory.random_tabular_case`,
  as :func:`star_theory.check_general` does, keeping the largest rise of ``J`` as well as the largest fall);
* sampled runs (:func:`star_theory.sim.simulate`: ``K`` chains per question, mean and band over seeds).

Maps: the noisy verifier over ``(fp, fn)`` (does ``J`` rise, stay, or fall over
``map_iterations``?) and temperature over ``(lam0, T)``; theory from the closed forms, measurements
on explicit matrices. Rationalization is run where it matters, at small ``K * J`` (the analysis's
``M = 64``, ``lam = 0.1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from star_theory import (
    SimulateConfig,
    accuracy,
    check_convergence,
    check_improvement,
    fit_symmetric,
    make_variant,
    random_tabular_case,
    simulate,
    star_trajectory,
    symmetric_accuracy,
    symmetric_policy,
    symmetric_task,
)
from star_theory.config import check

from star_theory.sim import variant_theory as theory

from ..shared_settings import SymmetricBench, setting

IMPROVES, CONSTANT, WORSENS = "improves", "constant", "worsens"
DJ_TOL = 1e-12
GENERAL_ITERATIONS = 10


@dataclass(frozen=True)
class Settings(SymmetricBench):
    K: int = setting("chains per question of the sampled curves")
    seeds: int = setting("sampled runs per setting (seeds derive from the experiment seed)")
    level: float = setting("central share of the runs inside the band")
    target: float = setting("target accuracy for 'iterations to target'")
    noisy: tuple[tuple[float, ...], ...] = setting("noisy-verifier settings [fp, fn]")
    etas: tuple[float, ...] = setting("partial-fit step sizes eta")
    temperatures: tuple[float, ...] = setting("sampling temperatures T")
    convergence_iterations: int = setting("iterations of the convergence checks (observed rate)")
    map_points: int = setting("grid points per axis of the (fp, fn) map over [0, 1]^2")
    map_iterations: int = setting("iterations per point of the maps")
    temp_map_T: tuple[float, ...] = setting("temperatures of the (lam0, T) map")
    temp_map_lams: tuple[float, ...] = setting("initial lam of the (lam0, T) map")
    rat_M: int = setting("states per level of the rationalization runs")
    rat_lam: float = setting("initial lam of the rationalization runs")
    rat_K: tuple[int, ...] = setting("chains per question of the rationalization runs (small K*J first)")
    rationales: tuple[int, ...] = setting("rationales R per failed question")
    rat_seeds: int = setting("runs per rationalization setting")
    rat_iterations: int = setting("iterations of the rationalization runs")
    general_cases: int = setting("random general tabular tasks per variant (improvement check)")
    general_K: int = setting("K of rationalize's exact form on the general tasks")

    def __post_init__(self):
        check(self.M >= 2 and self.N >= 2 and self.rat_M >= 2, "need M >= 2, N >= 2 and rat_M >= 2")
        check(0 < self.lam < 1 and 0 < self.rat_lam < 1, "lam and rat_lam must lie in (0, 1)")
        check(min(self.iterations, self.map_iterations, self.rat_iterations) >= 1, "iterations must be >= 1")
        check(self.convergence_iterations >= 2, "convergence_iterations must be >= 2")
        check(self.K >= 1 and self.seeds >= 2 and self.rat_seeds >= 2, "K >= 1, seeds >= 2 and rat_seeds >= 2")
        check(0 < self.level < 1 and 0 < self.target <= 1, "level in (0, 1), target in (0, 1]")
        check(all(len(x) == 2 and 0 <= x[0] <= 1 and 0 <= x[1] <= 1 for x in self.noisy), "noisy settings are [fp, fn] in [0, 1]")
        check(all(0 < e < 1 for e in self.etas), "etas must lie in (0, 1)")
        check(all(t > 0 for t in self.temperatures + self.temp_map_T), "temperatures must be > 0")
        check(all(0 < x < 1 for x in self.temp_map_lams), "temp_map_lams must lie in (0, 1)")
        check(self.map_points >= 3, "map_points must be >= 3")
        check(len(self.rat_K) >= 2 and list(self.rat_K) == sorted(self.rat_K) and self.rat_K[0] >= 1,
              "rat_K must list at least two increasing K values")
        check(len(self.rationales) >= 1 and all(r >= 1 for r in self.rationales), "rationales must be >= 1")
        check(self.general_cases >= 1 and self.general_K >= 1, "general_cases and general_K must be >= 1")


def settings_list(s: Settings) -> list[tuple[str, dict]]:
    """Every (variant name, parameters) of the curves, plain STaR first."""
    out = [("star", {})]
    out += [("noisy-verifier", {"fp": float(fp), "fn": float(fn)}) for fp, fn in s.noisy]
    out += [("partial-fit", {"eta": float(e)}) for e in s.etas]
    out += [("temperature", {"temperature": float(t)}) for t in s.temperatures]
    return out


def _closed_update(s: Settings, name: str, params: dict):
    """The closed-form update of :mod:`.theory` for one variant setting (declared with the variant,
    :meth:`star_theory.variants.StarVariant.symmetric_update`)."""
    variant = make_variant(name, **params)
    return lambda lam: variant.symmetric_update(s.M, lam)


def _classify(dJ: np.ndarray, total: float) -> str:
    if np.all(dJ >= -DJ_TOL) and total > DJ_TOL:
        return IMPROVES
    if np.all(dJ <= DJ_TOL) and total < -DJ_TOL:
        return WORSENS
    if np.all(np.abs(dJ) <= DJ_TOL):
        return CONSTANT
    return "mixed"


def _curve(s: Settings, task, name: str, params: dict, ctx) -> dict:
    v = make_variant(name, **params)
    lam0 = np.full(s.N, s.lam)
    p0 = symmetric_policy(task, lam=lam0)
    pols = star_trajectory(p0, task, s.iterations, step=v.exact())
    ex_lam = np.stack([fit_symmetric(p, task).lam for p in pols])
    ex_acc = np.array([accuracy(p, task) for p in pols])
    cf_lam = theory.trajectory(_closed_update(s, name, params), lam0, s.iterations)
    cf_acc = symmetric_accuracy(s.M, lam=cf_lam)
    imp = check_improvement(p0, task, s.iterations, step=v.exact())
    conv = check_convergence(p0, task, s.convergence_iterations, target=s.target, step=v.exact())
    cfg = SimulateConfig(task="symmetric", M=s.M, N=s.N, task_seed=ctx.child_seed("task"), lam=(s.lam,), variant=name,
                         chains_per_question=s.K, iterations=s.iterations, band="percentile", level=s.level,
                         seeds=tuple(ctx.child_seed("curve", v.label(), i) for i in range(s.seeds)), **params)
    sim = simulate(cfg, progress=False)
    rows = sim["iterations"]
    return {
        "variant": name, "label": v.label(), "parameters": params,
        "exact_accuracy": ex_acc, "exact_lam": ex_lam,
        "closed_form_accuracy": cf_acc, "closed_form_lam": cf_lam,
        "max_abs_diff_closed_vs_exact": float(max(np.abs(ex_lam - cf_lam).max(), np.abs(ex_acc - cf_acc).max())),
        "improvement": {"holds": imp.holds, "accuracy_holds": imp.accuracy_holds, "lam_holds": imp.lam_holds,
                        "min_accuracy_change": float(imp.accuracy_change.min()),
                        "counterexample": None if imp.counterexample is None else {
                            "quantity": imp.counterexample.quantity, "iteration": imp.counterexample.iteration,
                            "step": imp.counterexample.step, "before": imp.counterexample.before,
                            "after": imp.counterexample.after}},
        "convergence": {"holds": conv.holds, "limit_accuracy": conv.limit_accuracy, "rate": conv.rate,
                        "outcome": conv.outcome, "stop_iteration": conv.stop_iteration,
                        "iterations_to_target": conv.iterations_to_target, "iterations": s.convergence_iterations},
        "sampled": {"K": s.K, "seeds": sim["seeds"], "mean_accuracy": [r["mean_accuracy"] for r in rows],
                    "band_lo": [r["band_lo"] for r in rows], "band_hi": [r["band_hi"] for r in rows],
                    "max_gap_to_exact": float(max(abs(r["mean_accuracy"] - r["exact_accuracy"]) for r in rows)),
                    "accuracy_runs": sim["accuracy_runs"], "exact_accuracy": [r["exact_accuracy"] for r in rows],
                    "band": sim["band"]["meaning"]},
    }


def _noisy_map(s: Settings, task) -> dict:
    grid = np.linspace(0.0, 1.0, s.map_points)
    p0 = symmetric_policy(task, lam=np.full(s.N, s.lam))
    outcome = np.empty((grid.size, grid.size), dtype=object)
    final = np.empty((grid.size, grid.size))
    predicted = np.empty((grid.size, grid.size), dtype=object)
    for i, fp in enumerate(grid):
        for j, fn in enumerate(grid):
            v = make_variant("noisy-verifier", fp=float(fp), fn=float(fn))
            r = check_improvement(p0, task, s.map_iterations, step=v.exact())
            outcome[i, j] = _classify(r.accuracy_change, float(r.accuracy[-1] - r.accuracy[0]))
            final[i, j] = r.accuracy[-1]
            c = 1.0 - fn - fp
            predicted[i, j] = IMPROVES if c > 1e-9 else WORSENS if c < -1e-9 else CONSTANT
    return {"fp": grid, "fn": grid, "outcome": outcome.tolist(), "predicted": predicted.tolist(),
            "final_accuracy": final, "agreement": float(np.mean(outcome == predicted)),
            "iterations": s.map_iterations, "initial_accuracy": float(symmetric_accuracy(s.M, lam=np.full(s.N, s.lam)))}


def _temperature_map(s: Settings, task) -> dict:
    Ts, lams = np.asarray(s.temp_map_T, dtype=float), np.asarray(s.temp_map_lams, dtype=float)
    L, TT = np.meshgrid(lams, Ts, indexing="ij")
    outcome = np.empty(L.shape, dtype=object)
    for i, lam in enumerate(lams):
        for j, T in enumerate(Ts):
            v = make_variant("temperature", temperature=float(T))
            r = check_improvement(symmetric_policy(task, lam=np.full(s.N, lam)), task, s.map_iterations, step=v.exact())
            outcome[i, j] = IMPROVES if r.accuracy_holds else WORSENS
    margin = _temperature_min_change(s, L, TT)
    predicted = np.where(margin >= -DJ_TOL, IMPROVES, WORSENS)
    # the theory's region on a fine grid (closed form, same iterations)
    fl = np.linspace(0.01, 0.99, 197)
    fT = np.exp(np.linspace(np.log(min(Ts.min(), 0.25)), np.log(max(Ts.max(), 4.0)), 199))
    FL, FT = np.meshgrid(fl, fT, indexing="ij")
    return {"T": Ts, "lam0": lams, "outcome": outcome.tolist(), "predicted": predicted.tolist(),
            "min_closed_form_change": margin, "agreement": float(np.mean(outcome == predicted)),
            "iterations": s.map_iterations,
            "fine": {"lam0": fl, "T": fT, "min_change": _temperature_min_change(s, FL, FT)}}


def _temperature_min_change(s: Settings, lam0: np.ndarray, T: np.ndarray) -> np.ndarray:
    """Closed form: the smallest change of J over ``map_iterations`` tempered iterations, per (lam0, T)."""
    lam = np.repeat(np.asarray(lam0, dtype=float)[..., None], s.N, axis=-1)
    tr = theory.trajectory(lambda l: theory.temperature_update(s.M, l, T), lam, s.map_iterations)
    return np.diff(symmetric_accuracy(s.M, lam=tr), axis=0).min(axis=0)


def _rationalize(s: Settings, ctx) -> dict:
    out = {}
    J0 = float(symmetric_accuracy(s.rat_M, lam=np.full(s.N, s.rat_lam)))
    for K in s.rat_K:
        runs = {}
        for R in (0,) + tuple(s.rationales):
            name, params = ("star", {}) if R == 0 else ("rationalize", {"rationales": int(R)})
            label = make_variant(name, **params).label()
            cfg = SimulateConfig(task="symmetric", M=s.rat_M, N=s.N, task_seed=ctx.child_seed("rat_task"), lam=(s.rat_lam,),
                                 variant=name, chains_per_question=int(K), iterations=s.rat_iterations, level=s.level,
                                 seeds=tuple(ctx.child_seed("rat", K, R, i) for i in range(s.rat_seeds)), **params)
            sim = simulate(cfg, progress=False)
            rows = sim["iterations"]
            acc = np.asarray(sim["accuracy_runs"])
            runs[str(R)] = {
                "label": label, "R": int(R), "seeds": sim["seeds"],
                "exact_accuracy": [r["exact_accuracy"] for r in rows],
                "mean_accuracy": [r["mean_accuracy"] for r in rows],
                "band_lo": [r["band_lo"] for r in rows], "band_hi": [r["band_hi"] for r in rows],
                "final_runs": acc[:, -1], "accuracy_runs": acc,
                "rationalized_mean": [r.get("rationalized_mean") for r in rows[:-1]],
                "no_kept_rate": [r.get("no_kept_rate") for r in rows[:-1]],
                "kept_mean": [r.get("kept_mean") for r in rows[:-1]],
                "expected_rationales_first": theory.expected_rationales(s.rat_M, J0, int(K), int(R)),
                "sd_rationales_first": theory.rationales_sd(s.rat_M, J0, int(K), int(R)),
            }
        out[str(K)] = runs
    # the exact form of rationalize is star in the family (uniform re-weighting of questions)
    task = symmetric_task(s.rat_M, s.N, seed=ctx.child_seed("rat_task"))
    p = symmetric_policy(task, lam=np.full(s.N, s.rat_lam))
    star_next = make_variant("star").exact_step(p, task)
    diff = 0.0
    for K in s.rat_K:
        for R in s.rationales:
            q = make_variant("rationalize", rationales=int(R)).exact_step(p, task, int(K))
            diff = max(diff, max(float(np.max(np.abs(a - b))) for a, b in zip(q.kernels, star_next.kernels)))
    return {"M": s.rat_M, "lam": s.rat_lam, "initial_accuracy": J0, "by_K": out,
            "max_abs_diff_exact_rationalize_vs_star": diff}


def _general(s: Settings, ctx) -> dict:
    """Improvement on seeded random general tabular tasks (``random_tabular_case``), per variant:
    failures (J fell somewhere) and the most negative and most positive change of ``J``."""
    seed = ctx.child_seed("general")
    cases = [random_tabular_case(seed + i) for i in range(s.general_cases)]
    checks = [("star", {})] + [("noisy-verifier", {"fp": float(fp), "fn": float(fn)}) for fp, fn in s.noisy]
    checks += [("partial-fit", {"eta": float(e)}) for e in s.etas]
    checks += [("temperature", {"temperature": float(t)}) for t in s.temperatures]
    checks += [("rationalize", {"rationales": int(R)}) for R in s.rationales]
    out = []
    for name, params in checks:
        v = make_variant(name, **params)
        lo, hi, fails, first = np.inf, -np.inf, 0, None
        for i, (task, policy) in enumerate(cases):
            r = check_improvement(policy, task, GENERAL_ITERATIONS, step=v.exact(s.general_K))
            lo, hi = min(lo, float(r.accuracy_change.min())), max(hi, float(r.accuracy_change.max()))
            if not r.accuracy_holds:
                fails += 1
                first = seed + i if first is None else first
        out.append({"variant": name, "label": v.label(), "parameters": params, "n_cases": len(cases),
                    "n_failures": fails, "min_change": lo, "max_change": hi, "first_failure_seed": first})
    return {"seed": seed, "iterations": GENERAL_ITERATIONS, "K": s.general_K, "results": out}


def run(s: Settings, ctx) -> dict:
    task = symmetric_task(s.M, s.N, seed=ctx.child_seed("task"))
    curves = [_curve(s, task, name, params, ctx) for name, params in settings_list(s)]
    noisy_map = _noisy_map(s, task)
    temp_map = _temperature_map(s, task)
    rat = _rationalize(s, ctx)
    general = _general(s, ctx)
    data = {"convention": "lam", "M": s.M, "N": s.N, "lam": s.lam, "curves": curves, "noisy_map": noisy_map,
            "temperature_map": temp_map, "rationalize": rat, "general": general}
    return data

r"""The theory's predictions of a STaR run, from the run's own measurements, and its figure.

Every prediction iterates or applies the STaR operator on kernels MEASURED from the model; the
kept chains of a held-out run are those of its trained questions (``trained``), so each
prediction keeps only those too. A run under another update rule (``rule``: the same object the
loop applied, :mod:`star_theory.rule_protocol`) is predicted by that rule's exact form (at the
run's ``K``) and its tabular form in place of STaR's; ``prediction.json`` records the rule.

* (a) ``kernel``: the exact operator (infinite samples, exact refit,
  :func:`star_theory.exact_star_step`) iterated from the measured kernel of iteration 0 (any
  task; it carries the model's distance from the family), and ``symmetric``: the
  symmetric-family policy with the MEASURED initial :math:`\lambda_n`, as the analysis does
  (bijective tasks); with held-out questions both also give J on the trained and held-out parts;
* (b) ``finite_k``: tabular STaR with the run's ``K`` chains per question from the same measured
  kernel (:func:`star_theory.tabular_star_runs`), mean and 5-95% band over :data:`BAND_SEEDS`
  runs seeded by ``derive_seed(seed, FINITE_K, i)``;
* (c) ``one_step``: for every ``t >= 1``, :math:`J(\mathcal{T}(P^{t-1}))`, the exact operator on
  the LLM's own kernel of ``t - 1``, and ``gain_share``
  :math:`(J(P^t) - J(P^{t-1})) / (J(\mathcal{T}(P^{t-1})) - J(P^{t-1}))`, the share of the exact
  step's gain the LLM realised (None when the exact step gains nothing);
* (e) ``empty_rows``: for every rule of :data:`star_theory.empty_rows.EMPTY_ROWS`, the tabular
  refit of the LLM's own kept chains of ``t - 1`` (:func:`star_theory.refit_from_counts`), its
  ``accuracy`` and ``unvisited_tv``, the mean TV to the LLM's kernel at ``t`` over the rows the
  kept chains never visit (None when every row was visited).

The pure functions take the run's records, measured policies and kept arrays (as
:func:`llm.star.run_star` returns them, or read back from its folder); :func:`write_prediction`
writes them all to ``prediction.json`` and draws ``star.png``: accuracy on the left (the exact
line, the finite-K band, the one-step predictions as markers, and the measured iterations),
:math:`\lambda_n` per step on the right (lam convention), or, for tasks outside the symmetric
family, the per-step correctness :math:`\Pr(s_n = s_n^*)`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from star_theory import (
    EMPTY_ROWS,
    accuracy,
    accuracy_on,
    exact_star_step,
    fit_symmetric,
    refit_from_counts,
    star_trajectory,
    step_correctness,
    symmetric_policy,
    transition_counts,
)
from star_theory.io import write_json
from star_theory.seeds import derive_seed
from star_theory.sim import tabular_star_runs

from .departures import row_tv

FINITE_K = "finite-k"  # seed purpose: the tabular runs of the finite-K band
BAND_SEEDS = 16  # tabular runs behind the finite-K band


def _held(task, trained):
    return None if trained is None else np.setdiff1d(np.arange(task.sizes[0]), trained)


def _is_star(rule) -> bool:
    return rule is None or bool(getattr(rule, "is_neutral", False))


def _exact_step(rule, questions, K):
    """The exact step of the prediction: STaR's (on the ``questions``), or ``rule``'s at ``K``."""
    if _is_star(rule):
        return lambda p, tk: exact_star_step(p, tk, questions=questions)
    return lambda p, tk: rule.exact_step(p, tk, K)


def predict(text_task, initial_policy, initial_lam, iterations: int, trained=None, rule=None, K=None) -> dict:
    """(a): predicted accuracy and per-step lam (or step correctness) for ``t = 0..iterations``;
    with ``trained`` (held-out run), J over the trained and held-out questions too; ``rule``'s
    exact form at ``K`` chains per question in place of STaR's."""
    task = text_task.task
    out = {"iterations": list(range(iterations + 1))}
    runs = {"kernel": initial_policy}
    if task.is_bijective() and initial_lam is not None:
        runs["symmetric"] = symmetric_policy(task, lam=np.clip(initial_lam, -1 / (task.sizes[0] - 1), 1))
    questions = None if trained is None else np.asarray(trained, dtype=np.int64)
    for name, p0 in runs.items():
        traj = star_trajectory(p0, task, iterations, step=_exact_step(rule, questions, K))
        entry = {"accuracy": [accuracy(p, task) for p in traj]}
        if questions is not None:
            held = _held(task, questions)
            entry["accuracy_train"] = [accuracy_on(p, task, questions) for p in traj]
            entry["accuracy_heldout"] = [accuracy_on(p, task, held) if held.size else None for p in traj]
        if task.is_bijective():
            entry["lam"] = [fit_symmetric(p, task).lam for p in traj]
        entry["step_correct"] = [step_correctness(p, task)[0] for p in traj]
        out[name] = entry
    return out


def finite_k_band(task, initial_policy, K: int, iterations: int, seed: int, trained=None,
                  n_seeds: int = BAND_SEEDS, rule=None) -> dict:
    """(b): tabular STaR (or ``rule``'s tabular form) with ``K`` chains per question from
    ``initial_policy``, keeping the chains of ``trained`` (default all): mean and 5-95% band of J
    over ``n_seeds`` runs."""
    seeds = [derive_seed(seed, FINITE_K, i) for i in range(n_seeds)]
    runs = tabular_star_runs(initial_policy, task, K, iterations, seeds, "keep", trained,
                             rule=None if _is_star(rule) else rule)
    out = {"K": int(K), "seeds": seeds, "empty_rows": "keep", "questions": runs["questions"],
           "mean": runs["mean"], "lo": runs["lo"], "hi": runs["hi"]}
    for part in ("train", "heldout"):
        if f"accuracy_{part}_mean" in runs:
            out.update({f"{part}_{k}": runs[f"accuracy_{part}_{k}"] for k in ("mean", "lo", "hi")})
    return out


def one_step_predictions(policies, task, trained=None, rule=None, K=None) -> dict:
    """(c): ``accuracy[t]`` = J of the exact operator (``rule``'s at ``K``, default STaR's) on
    ``policies[t-1]`` (None at ``t = 0``), and ``gain_share[t]`` = the share of that step's gain
    the LLM realised (module docstring)."""
    questions = None if trained is None else np.asarray(trained, dtype=np.int64)
    step = _exact_step(rule, questions, K)
    J = [accuracy(p, task) for p in policies]
    pred, share = [None], [None]
    for t in range(1, len(policies)):
        one = accuracy(step(policies[t - 1], task), task)
        pred.append(one)
        gain = one - J[t - 1]
        share.append((J[t] - J[t - 1]) / gain if gain > 0 else None)
    return {"accuracy": pred, "gain_share": share, "llm_accuracy": J}


def empty_row_predictions(policies, kept, task, strings=None) -> dict:
    """(e): per rule of :data:`~star_theory.empty_rows.EMPTY_ROWS` (``marginals`` only with the
    states' ``strings``, one list per step), for ``t >= 1``: J of the tabular refit of
    ``kept[t-1]`` from ``policies[t-1]``, and its mean TV to ``policies[t]`` over the rows
    ``kept[t-1]`` never visits (None at ``t = 0`` and when every row was visited)."""
    rules = [r for r in EMPTY_ROWS if r != "marginals" or strings is not None]
    out = {r: {"accuracy": [None], "unvisited_tv": [None], "tv": [None]} for r in rules}
    for t in range(1, len(policies)):
        counts = transition_counts(np.asarray(kept[t - 1], dtype=np.int64).reshape(-1, task.n_steps + 1), task)
        empty = [c.sum(axis=1) == 0 for c in counts]
        for r in rules:
            refit = refit_from_counts(counts, policies[t - 1], r, strings=strings)
            tv_u = np.concatenate([row_tv(a[e], b[e]) for a, b, e in zip(refit.kernels, policies[t].kernels, empty)])
            tv = np.concatenate([row_tv(a, b) for a, b in zip(refit.kernels, policies[t].kernels)])
            out[r]["accuracy"].append(accuracy(refit, task))
            out[r]["unvisited_tv"].append(float(tv_u.mean()) if tv_u.size else None)
            out[r]["tv"].append(float(tv.mean()))
    return out


def predictions(text_task, records, policies, kept, K: int, seed: int, trained=None,
                n_seeds: int = BAND_SEEDS, rule=None) -> dict | None:
    """(a), (b), (c) and (e) for a run (``records``, measured ``policies`` and ``kept`` chains of
    iterations ``0..T``; ``K`` its chains per question, ``seed`` its seed, ``trained`` its trained
    questions, ``rule`` its update rule, default STaR); None without iteration 0."""
    if not records or records[0]["iteration"] != 0:
        return None
    task = text_task.task
    T = records[-1]["iteration"]
    lam0 = None if records[0].get("lam") is None else np.asarray(records[0]["lam"])
    pred = predict(text_task, policies[0], lam0, T, trained, rule, K)
    if not _is_star(rule):
        pred["rule"] = rule.record()  # a STaR run's prediction reads as before
    pred["initial_lam_measured"] = records[0].get("lam")
    pred["trained_questions"] = None if trained is None else [int(q) for q in trained]
    pred["finite_k"] = finite_k_band(task, policies[0], K, T, seed, trained, n_seeds, rule)
    pred["one_step"] = one_step_predictions(policies, task, trained, rule, K)
    strings = [list(text_task.state_strings(n)) for n in range(1, task.n_steps + 1)]
    pred["empty_rows"] = empty_row_predictions(policies, kept, task, strings)
    return pred


def write_prediction(out, text_task, records: list[dict], policies, kept, K: int, seed: int,
                     trained=None, rule=None) -> dict | None:
    """:func:`predictions` of the run; write ``prediction.json`` and ``star.png`` in ``out`` and
    return the prediction (None without iteration 0)."""
    pred = predictions(text_task, records, policies, kept, K, seed, trained, rule=rule)
    if pred is None:
        return None
    write_json(Path(out) / "prediction.json", pred)
    named = "" if _is_star(rule) else f", rule {rule.label()}"
    plot_prediction(pred, records, Path(out) / "star.png",
                    title=f"{text_task.name} task, N={text_task.n_steps}{named}")
    return pred


def plot_prediction(pred: dict, records: list[dict], path, title: str = "") -> str:
    """Predicted (lines) against measured (markers) accuracy and lam_n over STaR iterations."""
    from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, convention_label, integer_ticks, new_figure, save_figure

    fig, axes = new_figure(ncols=2, height=5.2)
    ax_acc, ax_lam = axes[0]
    its = np.array([r["iteration"] for r in records])
    pit = np.array(pred["iterations"])
    rule = pred.get("rule", {}).get("label")  # a run under another rule than STaR: its name on every theory line
    of = "" if rule is None else f" of {rule}"
    styles = {"symmetric": ("-", f"theory{of}: symmetric family from measured $\\lambda_n$"),
              "kernel": ("--", f"theory{of}: exact operator on measured kernel")}
    for name, (ls, label) in styles.items():
        if name in pred:
            ax_acc.plot(pit, pred[name]["accuracy"], ls, color="k" if name == "symmetric" else "0.5", label=label)
    band = pred.get("finite_k")
    if band is not None:
        ax_acc.fill_between(pit, band["lo"], band["hi"], color="0.5", alpha=0.25, lw=0,
                            label=f"theory: tabular {rule or 'STaR'} at K={band['K']} (5-95%, {len(band['seeds'])} seeds)")
    one = pred.get("one_step")
    if one is not None and len(one["accuracy"]) > 1:
        ax_acc.plot(pit[1:len(one["accuracy"])], one["accuracy"][1:], "x", color="k", ms=7, zorder=5,
                    label=f"theory{of}: one exact step from the LLM's kernel of t-1")
    acc = np.array([r["sampled_accuracy"] for r in records])
    se = np.array([r["sampled_accuracy_se"] for r in records])
    ax_acc.fill_between(its, acc - 1.96 * se, acc + 1.96 * se, color="C0", alpha=0.2)
    ax_acc.plot(its, acc, "o", color="C0", label="measured: sampled accuracy (95% band)")
    ax_acc.plot(its, [r["exact_accuracy"] for r in records], "s", mfc="none", color="C3",
                label="measured: exact J of model kernel")
    if records[0].get("exact_accuracy_heldout") is not None:
        for key, marker, label in (("train", "^", "trained"), ("heldout", "v", "held-out")):
            ax_acc.plot(its, [r[f"exact_accuracy_{key}"] for r in records], marker, mfc="none", color="C2", ms=5,
                        label=f"measured: exact J on the {label} questions")
    ax_acc.set_xlabel(ITERATION_LABEL)
    ax_acc.set_ylabel(ACCURACY_LABEL)
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)
    use_lam = records[0].get("lam") is not None
    key = "lam" if use_lam else "step_correct"
    measured = np.array([r[key] for r in records])  # (iterations, N)
    for n in range(measured.shape[1]):
        c = f"C{n}"
        if "symmetric" in pred and use_lam:
            ax_lam.plot(pit, np.array(pred["symmetric"]["lam"])[:, n], ("-", ":", "-.")[n % 3], color=c, lw=1.5,
                        label=f"theory step {n + 1}")
        elif key in pred["kernel"]:
            ax_lam.plot(pit, np.array(pred["kernel"][key])[:, n], "--", color=c, lw=1,
                        label=f"theory step {n + 1} (measured kernel)")
        ax_lam.plot(its, measured[:, n], "o", color=c, label=f"measured step {n + 1}")
    ax_lam.set_xlabel(ITERATION_LABEL)
    ax_lam.set_ylabel(convention_label("lam") if use_lam else "step correctness Pr($s_n = s_n^*$)")
    ax_lam.set_ylim(-0.05, 1.05)
    integer_ticks(axes)
    ax_lam.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3)
    if title:
        fig.suptitle(f"STaR on a GPT-2: theory vs measurement ({title})", fontsize=10)
    return save_figure(fig, path)

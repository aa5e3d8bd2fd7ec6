r"""Where the LLM departs from the table: per-iteration metrics from kernels and kept chains only.

Iteration ``t`` of a STaR run has the measured kernels :math:`P^t` (``kernels.npz``) and the
chains kept at ``t - 1`` that :math:`P^t` was fine-tuned on (``iter_{t-1}/kept.npy``; with
``--heldout-fraction`` only the trained questions' chains are kept). From these alone
(:func:`departure_metrics`, so anyone can recompute them: :func:`recompute_departures`):

* ``one_step_exact_accuracy``: :math:`J(\mathcal{T}(P^{t-1}))`, the exact STaR operator applied
  to the LLM's own kernel of ``t - 1`` (infinite samples, unvisited rows kept), J over all
  questions. With held-out questions the operator keeps only the trained questions' chains
  (their acceptance; the others' is 0), as the run does. ``None`` at ``t = 0``.
* visited rows :math:`V_n = \{s : c_n(s) > 0\}`, the rows of step ``n`` with a kept transition at
  ``t - 1``; ``unvisited_rows`` = :math:`\sum_n |S_{n-1} \setminus V_n|`;
* ``unvisited_tv``: mean over the unvisited rows of
  :math:`\mathrm{TV}(P^{t-1}_n(\cdot \mid s), P^t_n(\cdot \mid s))` (``None`` when there are none):
  how far the model moved rows that got no data (the table keeps them: 0);
* ``visited_refit_tv``: mean over the visited rows of :math:`\mathrm{TV}(P^t_n(\cdot \mid s),
  \hat P_n(\cdot \mid s))`, :math:`\hat P_n = c_n / c_n(s)` the tabular refit of the kept chains;
* the generalisation split: ``visited_correct_change`` and ``unvisited_correct_change``, the mean
  change :math:`P^t_n(g_n(s) \mid s) - P^{t-1}_n(g_n(s) \mid s)` of the probability of the correct
  step over each part, and ``visited_refit_correct_gap``, the mean of
  :math:`P^t_n(g_n(s) \mid s) - \hat P_n(g_n(s) \mid s)` over the visited rows;
* ``exact_accuracy_train`` / ``exact_accuracy_heldout``: J of :math:`P^t` over the trained and the
  held-out questions (:func:`star_theory.accuracy_on`; ``None`` without held-out questions).

Row means give every row the same weight (each row is one decision of the model).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from star_theory import InputError, TabularPolicy, accuracy, accuracy_on, exact_star_step, transition_counts
from star_theory.model import check_policy

from .files import keeps_right_answers_only, load_array, read_metrics, validate_kept
from .model import TaskSpec
from .star_folder import finished_iterations, iteration_dir, load_kernels, read_run_json

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from numpy.typing import ArrayLike
    from star_theory import ReasoningTask

KEYS = ("one_step_exact_accuracy", "unvisited_rows", "unvisited_tv", "visited_refit_tv", "visited_correct_change",
        "unvisited_correct_change", "visited_refit_correct_gap", "exact_accuracy_train", "exact_accuracy_heldout")
"""The keys :func:`departure_metrics` adds to every iteration record."""


def _mean(x: np.ndarray):
    return float(x.mean()) if x.size else None


def row_tv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Total variation between matching rows, :math:`\frac12 \sum_{s'} |a(s, s') - b(s, s')|` (shape ``(rows,)``)."""
    return 0.5 * np.abs(a - b).sum(axis=1)


def visited_rows(kept: np.ndarray, task: ReasoningTask) -> list[np.ndarray]:
    """Per step, which rows the ``kept`` chains ``(C, N+1)`` pass through (boolean, ``(|S_{n-1}|,)``)."""
    return [c.sum(axis=1) > 0 for c in transition_counts(kept, task)]


def split_accuracy(policy: TabularPolicy, task: ReasoningTask, trained: ArrayLike | None) -> dict:
    """``exact_accuracy_train`` / ``exact_accuracy_heldout``: J over the trained questions and over
    the others (both None when ``trained`` is None: every question is trained)."""
    if trained is None:
        return {"exact_accuracy_train": None, "exact_accuracy_heldout": None}
    held = np.setdiff1d(np.arange(task.sizes[0]), trained)
    return {"exact_accuracy_train": accuracy_on(policy, task, np.asarray(trained, dtype=np.int64)),
            "exact_accuracy_heldout": accuracy_on(policy, task, held) if held.size else None}


def departure_metrics(previous_policy: TabularPolicy | None, policy: TabularPolicy, kept: np.ndarray | None,
                      task: ReasoningTask,
                      trained_questions: ArrayLike | None = None) -> dict:
    """The keys :data:`KEYS` of iteration ``t`` (module docstring): ``previous_policy`` is
    :math:`P^{t-1}` (None at ``t = 0``), ``policy`` :math:`P^t`, ``kept`` the chains ``(C, N+1)``
    kept at ``t - 1`` (what :math:`P^t` was trained on), ``trained_questions`` the trained
    questions (None: all, no held-out part)."""
    for name, p in (("policy", policy), ("previous_policy", previous_policy)):
        if p is not None:
            check_policy(p, name)
            p.check_compatible(task)
    out: dict[str, Any] = {k: None for k in KEYS}
    out.update(split_accuracy(policy, task, trained_questions))
    if previous_policy is None:
        return out
    if kept is None:
        raise InputError("departure_metrics: kept chains of t - 1 are needed for t > 0")
    kept = np.asarray(kept, dtype=np.int64).reshape(-1, task.n_steps + 1)
    questions = None if trained_questions is None else np.asarray(trained_questions, dtype=np.int64)
    out["one_step_exact_accuracy"] = accuracy(exact_star_step(previous_policy, task, questions=questions), task)
    counts = transition_counts(kept, task)
    tv_v, tv_u, dv, du, gap = [], [], [], [], []
    for n, (c, old, new) in enumerate(zip(counts, previous_policy.kernels, policy.kernels)):
        tot = c.sum(axis=1)
        v = tot > 0
        refit = c[v] / tot[v, None]
        rows = np.arange(old.shape[0])
        g = task.maps[n]
        change = new[rows, g] - old[rows, g]
        tv_v.append(row_tv(new[v], refit))
        tv_u.append(row_tv(old[~v], new[~v]))
        dv.append(change[v])
        du.append(change[~v])
        gap.append(new[rows[v], g[v]] - refit[np.arange(refit.shape[0]), g[v]])
    tv_unvisited = np.concatenate(tv_u)
    out.update({
        "unvisited_rows": int(tv_unvisited.size),
        "unvisited_tv": _mean(tv_unvisited),
        "visited_refit_tv": _mean(np.concatenate(tv_v)),
        "visited_correct_change": _mean(np.concatenate(dv)),
        "unvisited_correct_change": _mean(np.concatenate(du)),
        "visited_refit_correct_gap": _mean(np.concatenate(gap)),
    })
    return out


def read_run(out: str | os.PathLike) -> tuple:
    """``(task, records, policies, kept)`` of the finished iterations of the STaR run folder ``out``
    (``kept[t]`` the chains kept at ``t``), read and validated."""
    out = Path(out)
    run = read_run_json(out / "run.json")
    spec, right_answers = run["task"], keeps_right_answers_only(run["config"])
    task = TaskSpec.from_record(spec, f"{str(out / 'run.json')!r}").text_task().task
    done = finished_iterations(out)
    records = [read_metrics(iteration_dir(out, t) / "metrics.json", t) for t in done]
    policies = [load_kernels(iteration_dir(out, t)) for t in done]
    kept = [validate_kept(load_array(iteration_dir(out, t) / "kept.npy"), task, str(iteration_dir(out, t)), right_answers)
            for t in done]
    return task, records, policies, kept


def recompute_departures(out: str | os.PathLike) -> list[dict]:
    """The :data:`KEYS` of every finished iteration of the run folder ``out``, recomputed from its
    saved ``kernels.npz`` and ``kept.npy`` (and the trained questions its records name)."""
    task, records, policies, kept = read_run(out)
    result = []
    for i, r in enumerate(records):
        prev = i > 0 and records[i - 1]["iteration"] == r["iteration"] - 1
        result.append(departure_metrics(policies[i - 1] if prev else None, policies[i], kept[i - 1] if prev else None,
                                        task, r.get("trained_questions")))
    return result

r"""What one STaR seed of a regime did, beside the tabular theory started from its own kernels.

For a seed with measured kernels :math:`P^0, \dots, P^T`, kept chains ``kept[t]`` (sampled from
:math:`P^t`; with held-out questions only the trained questions' chains are kept) and trained
questions :math:`Q` (all without held-out questions):

* ``exact``: the exact operator's trajectory from :math:`P^0` with the chains of :math:`Q` only
  (:func:`star_theory.exact_star_step`, ``questions=Q``): J over all questions, over :math:`Q` and
  over the held-out questions;
* ``tabular``: tabular STaR at the run's K from :math:`P^0` with the chains of :math:`Q`
  (:func:`star_theory.sim.tabular_star_runs`), one run per simulator seed: the same three J;
* ``one_step``: for ``t >= 1``, :math:`J(\mathcal{T}(P^{t-1}))` (exact operator on the LLM's own
  kernel of ``t - 1``) and ``one_step_runs``: J after one tabular STaR step at K from
  :math:`P^{t-1}`, one per simulator seed (the finite-K spread of that one step);
* ``rules``: for each rule of :data:`star_theory.empty_rows.EMPTY_ROWS`, the mean over the rows
  with no kept transition at ``t - 1`` (every step, every ``t >= 1``) of
  :math:`\mathrm{TV}(P^t_n(\cdot \mid s), \hat P^t_n(\cdot \mid s))`, :math:`\hat P^t` the tabular refit
  of ``kept[t - 1]`` with its empty rows filled by the rule (:func:`star_theory.empty_rows.fill_empty_rows`;
  ``marginals`` from the states' strings), and the number of such rows;
* ``J``, ``J_train``, ``J_heldout``: the LLM's exact J per iteration over all, trained and held-out questions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from llm.files import load_array
from llm.star_folder import iteration_dir
from star_theory import accuracy, accuracy_on, exact_star_step, transition_counts
from star_theory.empty_rows import EMPTY_ROWS, fill_empty_rows
from star_theory.sim import tabular_star_runs

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from star_theory.task_protocol import Task as TextTask
    from star_theory import ReasoningTask
    from star_theory import TabularPolicy


def _split(policy, task, trained, held) -> tuple[float, float, float | None]:
    """J over all questions, over the trained ones and over the held-out ones (None without any)."""
    return (accuracy(policy, task), accuracy_on(policy, task, trained),
            accuracy_on(policy, task, held) if held.size else None)


def trained_questions(records: list[dict], task: ReasoningTask) -> np.ndarray:
    """The questions STaR trained on (a record's ``trained_questions``; every question when absent)."""
    given = records[0].get("trained_questions")
    return np.arange(task.sizes[0]) if given is None else np.asarray(given, dtype=np.int64)


def row_tv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    r"""Total variation between matching rows, :math:`\frac12 \sum_{s'} |a(s, s') - b(s, s')|`."""
    return 0.5 * np.abs(a - b).sum(axis=1)


def rule_tvs(policies: Sequence[TabularPolicy], kept_of: Callable[[int], np.ndarray], task: ReasoningTask,
             strings) -> dict:
    """``{rule: mean TV over the unvisited rows}`` (None when no row went unvisited) and ``unvisited_rows``
    (their number summed over ``t >= 1`` and the steps); ``kept_of(t)`` the chains kept at ``t``."""
    tv: dict[str, list] = {rule: [] for rule in EMPTY_ROWS}
    for t in range(1, len(policies)):
        counts = transition_counts(kept_of(t - 1), task)
        for n, (c, old, new) in enumerate(zip(counts, policies[t - 1].kernels, policies[t].kernels)):
            tot = c.sum(axis=1)
            visited = tot > 0
            if visited.all():
                continue
            refit = np.divide(c, np.where(visited, tot, 1.0)[:, None])
            for rule in EMPTY_ROWS:
                pred = fill_empty_rows(refit, old, visited, rule, strings[n + 1])
                tv[rule].append(row_tv(new[~visited], pred[~visited]))
    rows = int(sum(x.size for x in tv["keep"]))
    return {"unvisited_rows": rows,
            "tv": {rule: (float(np.concatenate(v).mean()) if rows else None) for rule, v in tv.items()}}


def seed_departures(run: dict, text_task: TextTask, K: int, sim_seeds: Sequence[int]) -> dict:
    """The quantities of the module docstring for one seed (``run``: :func:`experiments.llm_common.llm_run`'s)."""
    task, policies, records = text_task.task, run["policies"], run["records"]
    T = len(policies) - 1
    trained = trained_questions(records, task)
    held = np.setdiff1d(np.arange(task.sizes[0]), trained)
    questions = None if held.size == 0 else trained
    star = Path(run["folder"]) / "star"
    strings = [list(text_task.state_strings(n)) for n in range(task.n_steps + 1)]
    p, exact = policies[0], []
    for t in range(T + 1):
        exact.append(_split(p, task, trained, held))
        p = exact_star_step(p, task, questions=questions) if t < T else p
    sim = tabular_star_runs(policies[0], task, K, T, sim_seeds, questions=questions)
    one: list[float | None] = [None]
    one_runs: list[np.ndarray | None] = [None]
    for t in range(1, T + 1):
        one.append(accuracy(exact_star_step(policies[t - 1], task, questions=questions), task))
        step = tabular_star_runs(policies[t - 1], task, K, 1, sim_seeds, questions=questions)
        one_runs.append(np.asarray(step["accuracy_runs"])[:, 1])
    meas = [_split(q, task, trained, held) for q in policies]
    out = {
        "trained_questions": trained.tolist(), "heldout_questions": held.tolist(),
        "J": [m[0] for m in meas], "J_train": [m[1] for m in meas], "J_heldout": [m[2] for m in meas],
        "exact": [e[0] for e in exact], "exact_train": [e[1] for e in exact], "exact_heldout": [e[2] for e in exact],
        "tabular_runs": np.asarray(sim["accuracy_runs"]),
        "one_step": one, "one_step_runs": one_runs,
        "rules": rule_tvs(policies, lambda t: load_array(iteration_dir(star, t) / "kept.npy"), task, strings),
    }
    if questions is not None:
        out["tabular_train_runs"] = np.asarray(sim["accuracy_train_runs"])
        out["tabular_heldout_runs"] = np.asarray(sim["accuracy_heldout_runs"])
    return out

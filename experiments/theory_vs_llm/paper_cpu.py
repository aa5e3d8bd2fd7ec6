"""The analysis's own scale on a CPU: the ``paper-cpu`` LLM preset (zip D=3, N=3, M=64, state tokens,
K = 4096 chains per question, exact trie sampler, count-weighted refit stopped on the entropy gap)
against the theory, per iteration:

* the exact-operator prediction from the measured initial kernel (a line);
* tabular finite-sample STaR with the same K from the measured initial kernel (runs over seeds);
* the LLM's exact J (its measured kernel) and sampled accuracy, per-step lam_n and the distance of
  each step's kernel from the symmetric family;
* the tabular refit of the LLM's own kept chains (:func:`tabular_refits`): what an exact
  maximum-likelihood refit would have made of the same chains. Its distance from the LLM's kernel
  is the refit error the fine-tuning left, a statistic of the run used as the floor of the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np

from llm.files import load_array
from llm.star_folder import iteration_dir
from star_theory import accuracy, fit_symmetric, refit_from_counts, transition_counts

from ..llm_common import seed_cases
from ..llm_settings import llm_settings

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from experiments.framework import Context
    from star_theory import ReasoningTask
    from star_theory import TabularPolicy


def tabular_refits(policies: Sequence[TabularPolicy], folder: str, task: ReasoningTask, iterations: int) -> dict:
    """J, lam_n and family distance of the exact refit of each iteration's kept chains (t >= 1).

    The refit of iteration ``t`` is :func:`star_theory.refit_from_counts` of the chains kept at
    ``t - 1`` from the LLM's measured kernel at ``t - 1`` (``policies``, as the run returned them;
    rows with no kept chain keep it). Entry 0 is the measured initial kernel itself. The kept
    chains are read from the run's folder, where the loop records them.
    """
    star = Path(folder) / "star"
    acc, lam, dist = [], [], []
    for t in range(iterations + 1):
        if t == 0:
            p = policies[0]
        else:
            prev = policies[t - 1]
            kept = load_array(iteration_dir(star, t - 1) / "kept.npy")
            p = refit_from_counts(transition_counts(kept, task), prev, "keep") if len(kept) else prev
        fit = fit_symmetric(p, task)
        acc.append(accuracy(p, task))
        lam.append(fit.lam)
        dist.append(fit.distance)
    return {"accuracy": np.asarray(acc), "lam": np.asarray(lam), "distance": np.asarray(dist)}


def run_paper_cpu(lams: Sequence[float], iterations: int, sim_seeds: int, llm_seeds: int, ctx: Context) -> dict:
    """The paper-cpu cases (:func:`experiments.llm_common.seed_cases`: ``llm_seeds`` STaR seeds each), with each seed's refits."""
    return {str(lam): seed_cases(ctx, llm_settings(lam, iterations, "paper-cpu"),
                                [ctx.child_seed("sim-paper-cpu", lam, i) for i in range(sim_seeds)], iterations, llm_seeds,
                                extra=lambda c: {"refit": tabular_refits(c["policies"], c["folder"], c["text_task"].task,
                                                                         iterations)})
            for lam in lams}

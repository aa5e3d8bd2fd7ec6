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

import numpy as np

from star_theory import accuracy, fit_symmetric, refit_from_counts, transition_counts
from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, convention_label, integer_ticks, new_figure, save_figure

from ..llm_common import llm_case


def paper_cpu_settings(lam: float, iterations: int) -> dict:
    from llm.config import preset

    return {**preset("paper-cpu"), "lam": [lam], "iterations": iterations}


def tabular_refits(folder: str, task, iterations: int) -> dict:
    """J, lam_n and family distance of the exact refit of each iteration's kept chains (t >= 1).

    The refit of iteration ``t`` is :func:`star_theory.refit_from_counts` of the chains kept at
    ``t - 1`` from the LLM's measured kernel at ``t - 1`` (rows with no kept chain keep it).
    Entry 0 is the measured initial kernel itself.
    """
    from pathlib import Path

    from llm.files import load_array
    from llm.star import iteration_dir, load_kernels

    star = Path(folder) / "star"
    acc, lam, dist = [], [], []
    for t in range(iterations + 1):
        if t == 0:
            p = load_kernels(iteration_dir(star, 0))
        else:
            prev = load_kernels(iteration_dir(star, t - 1))
            kept = load_array(iteration_dir(star, t - 1) / "kept.npy")
            p = refit_from_counts(transition_counts(kept, task), prev, "keep") if len(kept) else prev
        fit = fit_symmetric(p, task)
        acc.append(accuracy(p, task))
        lam.append(fit.lam)
        dist.append(fit.distance)
    return {"accuracy": np.asarray(acc), "lam": np.asarray(lam), "distance": np.asarray(dist)}


def run_paper_cpu(lams, iterations: int, sim_seeds: int, ctx) -> dict:
    runs = {}
    for lam in lams:
        r = llm_case(ctx, paper_cpu_settings(lam, iterations),
                     [ctx.child_seed("sim-paper-cpu", lam, i) for i in range(sim_seeds)], iterations)
        tt, K, sim = r["text_task"], r["K"], r["simulated"]
        runs[str(lam)] = {"records": r["records"], "prediction": r["prediction"], "simulated": sim, "K": K,
                          "refit": tabular_refits(r["folder"], tt.task, iterations), "llm_folder": r["folder"],
                          "llm_config": r["config"], "M": tt.task.sizes[0], "N": tt.task.n_steps}
    if runs:
        plot_paper_cpu(runs, ctx.figure("theory_vs_llm_paper_cpu.png"))
    return runs


def plot_paper_cpu(runs: dict, path) -> None:
    fig, axes = new_figure(ncols=3, nrows=len(runs), width=4.6, height=4.4)
    axes = np.atleast_2d(axes)
    for row, (lam, r) in enumerate(runs.items()):
        recs, pred, sim, K = r["records"], r["prediction"], r["simulated"], r["K"]
        t = np.array([x["iteration"] for x in recs])
        st = np.arange(len(sim["mean"]))
        ax = axes[row, 0]
        ax.plot(np.arange(len(pred["kernel"]["accuracy"])), pred["kernel"]["accuracy"], "-", color="black",
                label="theory: exact operator from the measured kernel")
        ax.fill_between(st, sim["lo"], sim["hi"], color="tab:green", alpha=0.25)
        ax.plot(st, sim["mean"], ":", color="tab:green", label=f"theory: tabular STaR, K={K}, 5-95% of {len(sim['seeds'])} runs")
        acc = np.array([x["sampled_accuracy"] for x in recs])
        se = np.array([x["sampled_accuracy_se"] for x in recs])
        ax.errorbar(t, acc, yerr=1.96 * se, fmt="o", color="tab:blue", ms=4, capsize=2, label="LLM: sampled accuracy (95% CI)")
        ax.plot(t, [x["exact_accuracy"] for x in recs], "s", mfc="none", color="tab:red", label="LLM: exact J")
        ax.set(xlabel=ITERATION_LABEL, ylabel=ACCURACY_LABEL, ylim=(-0.02, 1.02))
        ax.set_title(f"corpus lam={lam}: zip M={r['M']}, N={r['N']}, K={K}", fontsize=9)
        ax.legend(fontsize=6, loc="lower right")
        for col, key, runs_key, label in ((1, "lam", "lam_runs", convention_label("lam")),
                                          (2, "family_distance", "distance_runs", "distance from the family (mean TV)")):
            ax = axes[row, col]
            sim_runs = np.asarray(sim[runs_key])  # (R, T+1, N)
            meas = np.asarray([x[key] for x in recs])
            for n in range(meas.shape[1]):
                c = f"C{n}"
                lo, hi = np.percentile(sim_runs[:, :, n], [5, 95], axis=0)
                ax.fill_between(st, lo, hi, color=c, alpha=0.15)
                ax.plot(st, sim_runs[:, :, n].mean(axis=0), ":", color=c, label=f"tabular K={K}, step {n + 1}")
                if col == 1:
                    ax.plot(np.arange(len(pred["kernel"]["lam"])), np.asarray(pred["kernel"]["lam"])[:, n], "-",
                            color=c, lw=0.8, label=f"exact operator, step {n + 1}")
                ax.plot(t + 0.1 * (n - 1), meas[:, n], "o", color=c, ms=4, label=f"LLM, step {n + 1}")
            ax.set(xlabel=ITERATION_LABEL, ylabel=label)
            if col == 1:
                ax.set_ylim(-0.05, 1.05)
            ax.legend(fontsize=6, loc="best", ncol=1)
    integer_ticks(axes)
    fig.suptitle("paper-cpu: STaR on a 2-layer GPT-2 (state tokens), trie sampler, count-weighted refit "
                 "(convention: lam)", fontsize=10)
    save_figure(fig, path)

r"""The theory's prediction of a STaR run, from the measured pretrained model, and its figure.

Two predictions start from iteration 0's measurement and iterate the exact STaR operator
(:func:`star_theory.star_trajectory`, infinite samples, exact refit):

* ``symmetric``: the symmetric-family policy with the MEASURED initial :math:`\lambda_n`
  (:func:`star_theory.symmetric_policy`), as the analysis does (bijective tasks only);
* ``kernel``: the measured kernel of the pretrained model itself (any task), which also carries
  the model's distance from the family.

The figure puts them (lines) beside the measured iterations (markers): accuracy on the left
(the exact accuracy of the measured kernel, and the sampled accuracy with a 95% binomial band),
:math:`\lambda_n` per step on the right (lam convention) — or, for tasks outside the symmetric
family, the per-step correctness :math:`\Pr(s_n = s_n^*)`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from star_theory import (
    accuracy,
    fit_symmetric,
    star_trajectory,
    step_correctness,
    symmetric_policy,
)
from star_theory.io import write_json


def predict(text_task, initial_policy, initial_lam, iterations: int) -> dict:
    """Predicted accuracy and per-step lam (or step correctness) for ``t = 0..iterations``."""
    task = text_task.task
    out = {"iterations": list(range(iterations + 1))}
    runs = {"kernel": initial_policy}
    if task.is_bijective() and initial_lam is not None:
        runs["symmetric"] = symmetric_policy(task, lam=np.clip(initial_lam, -1 / (task.sizes[0] - 1), 1))
    for name, p0 in runs.items():
        traj = star_trajectory(p0, task, iterations)
        entry = {"accuracy": [accuracy(p, task) for p in traj]}
        if task.is_bijective():
            entry["lam"] = [fit_symmetric(p, task).lam for p in traj]
        entry["step_correct"] = [step_correctness(p, task)[0] for p in traj]
        out[name] = entry
    return out


def write_prediction(out, text_task, records: list[dict], initial_policy) -> dict | None:
    """Predict the run of ``records`` from iteration 0's measured policy ``initial_policy``; write
    ``prediction.json`` and ``star.png`` in ``out`` and return the prediction (None without iteration 0)."""
    if not records or records[0]["iteration"] != 0:
        return None
    T = records[-1]["iteration"]
    lam0 = None if records[0].get("lam") is None else np.asarray(records[0]["lam"])
    pred = predict(text_task, initial_policy, lam0, T)
    pred["initial_lam_measured"] = records[0].get("lam")
    write_json(Path(out) / "prediction.json", pred)
    plot_prediction(pred, records, Path(out) / "star.png", title=f"{text_task.name} task, N={text_task.n_steps}")
    return pred


def plot_prediction(pred: dict, records: list[dict], path, title: str = "") -> str:
    """Predicted (lines) against measured (markers) accuracy and lam_n over STaR iterations."""
    from star_theory.plots.style import ACCURACY_LABEL, ITERATION_LABEL, convention_label, integer_ticks, new_figure, save_figure

    fig, axes = new_figure(ncols=2)
    ax_acc, ax_lam = axes[0]
    its = np.array([r["iteration"] for r in records])
    pit = np.array(pred["iterations"])
    styles = {"symmetric": ("-", "theory: symmetric family from measured $\\lambda_n$"),
              "kernel": ("--", "theory: exact operator on measured kernel")}
    for name, (ls, label) in styles.items():
        if name in pred:
            ax_acc.plot(pit, pred[name]["accuracy"], ls, color="k" if name == "symmetric" else "0.5", label=label)
    acc = np.array([r["sampled_accuracy"] for r in records])
    se = np.array([r["sampled_accuracy_se"] for r in records])
    ax_acc.fill_between(its, acc - 1.96 * se, acc + 1.96 * se, color="C0", alpha=0.2)
    ax_acc.plot(its, acc, "o", color="C0", label="measured: sampled accuracy (95% band)")
    ax_acc.plot(its, [r["exact_accuracy"] for r in records], "s", mfc="none", color="C3",
                label="measured: exact J of model kernel")
    ax_acc.set_xlabel(ITERATION_LABEL)
    ax_acc.set_ylabel(ACCURACY_LABEL)
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.legend(fontsize=7, loc="lower right")
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
    ax_lam.legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(f"STaR on a GPT-2: theory vs measurement ({title})", fontsize=10)
    return save_figure(fig, path)

"""Figures of the theory: closed-form (= exact operator) STaR trajectories, drawn as lines."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from .style import ACCURACY_LABEL, ITERATION_LABEL, convention_label, new_figure, save_figure

if TYPE_CHECKING:  # for annotations only: not imported at run time
    from star_theory.closed_form import SymmetricTrajectory


def plot_trajectory(trajectory: SymmetricTrajectory, path, title: str | None = None) -> str:
    """Accuracy, per-step parameter and flawed-chain share against the iteration.

    ``trajectory`` is a :class:`~star_theory.closed_form.SymmetricTrajectory` of one policy
    (``lam`` of shape ``(T+1, N)``); the parameter panel shows the convention it was given in.
    """
    params = np.asarray(trajectory.params())
    if params.ndim != 2:
        raise InputError(f"plot_trajectory needs one policy (params of shape (T+1, N)), got {params.shape}")
    conv = trajectory.convention
    t = np.arange(params.shape[0])
    fig, axes = new_figure(ncols=3, width=4.6, height=3.8)
    ax_acc, ax_lam, ax_share = axes[0]
    ax_acc.plot(t, trajectory.accuracy, "-", color="black", lw=2, label="J (closed form)")
    ax_acc.set_xlabel(ITERATION_LABEL)
    ax_acc.set_ylabel(ACCURACY_LABEL)
    ax_acc.set_ylim(-0.02, 1.02)
    ax_acc.legend(loc="best")
    N = params.shape[1]
    for n in range(N):
        ax_lam.plot(t, params[:, n], "-", lw=1.6, label=f"step {n + 1}", alpha=0.9)
    M = float(np.ravel(trajectory.M)[0])
    optimum = 1.0 if conv == "lam" else (M - 1.0) / M
    ax_lam.axhline(optimum, color="gray", ls=":", lw=1, label=f"optimum ({optimum:.4g})")
    ax_lam.set_xlabel(ITERATION_LABEL)
    ax_lam.set_ylabel(convention_label(conv), fontsize=8)
    lo = min(0.0, float(np.min(params)))
    ax_lam.set_ylim(lo - 0.02, 1.02)
    if N <= 10:
        ax_lam.legend(loc="lower right", fontsize=8)
    ax_share.plot(t, trajectory.flawed_share, "-", color="tab:red", lw=1.6)
    ax_share.set_xlabel(ITERATION_LABEL)
    ax_share.set_ylabel("flawed-chain share of kept chains")
    ax_share.set_ylim(-0.02, 1.02)
    for ax in (ax_acc, ax_lam, ax_share):
        ax.set_xlim(0, max(1, t[-1]))
    if title:
        fig.suptitle(title, fontsize=10)
    return save_figure(fig, path)

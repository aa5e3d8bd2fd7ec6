"""Shared figure style and the atomic PNG writer."""

from __future__ import annotations

import io
import os

# Figures are always rendered to PNG with Agg; a backend named in the environment (possibly one
# matplotlib rejects on import) plays no part.
os.environ.pop("MPLBACKEND", None)
import matplotlib  # noqa: E402
import numpy as np  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from ..errors import InputError  # noqa: E402
from ..io import atomic_write_bytes  # noqa: E402

CONVENTION_LABEL = {
    "lam": r"$\lambda_n$ (lam: mixture weight, $P_n=\lambda_n P_n^*+(1-\lambda_n)U_M$)",
    "eps": r"$\varepsilon_n$ (eps: excess probability, $P(\mathrm{correct})=1/M+\varepsilon_n$)",
}
ACCURACY_LABEL = "accuracy J (probability of a correct answer)"
ITERATION_LABEL = "STaR iteration t"
DPI = 120


def convention_label(convention: str) -> str:
    """Axis label naming the convention (``lam`` or ``eps``)."""
    if convention not in CONVENTION_LABEL:
        raise InputError(f"convention must be 'lam' or 'eps', got {convention!r}")
    return CONVENTION_LABEL[convention]


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.2, height: float = 4.0):
    """A figure with a grid of axes (``squeeze=False``: always a 2-d array of axes)."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.ravel():
        ax.grid(True, alpha=0.3)
    return fig, axes


def legend_below(ax, ncol: int = 1, fontsize: float = 7, handles=None, **kw):
    """The legend of ``ax`` under its x label, outside the data region (``tight_layout`` makes room for it)."""
    kw.setdefault("loc", "upper center")
    kw.setdefault("bbox_to_anchor", (0.5, -0.13))
    if handles is not None:
        kw["handles"] = handles
    return ax.legend(fontsize=fontsize, ncol=ncol, **kw)


def integer_ticks(axes) -> None:
    """Integer ticks on the x axis of every axes in ``axes`` (iterations are whole numbers)."""
    for ax in np.ravel(axes):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def save_figure(fig, path: str | os.PathLike) -> str:
    """Write ``fig`` as PNG to ``path`` atomically and close it."""
    path = os.fspath(path)
    if not path.lower().endswith(".png"):
        plt.close(fig)
        raise InputError(f"figure path must end in .png, got {path!r}")
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=DPI)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())
    return path

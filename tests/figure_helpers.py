"""What a drawn figure shows, read back from matplotlib: legends against the data region, filled bands,
titles. ``capture`` keeps every figure a module saves (its ``save_figure`` wrapped), laid out as saved."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np


def capture(monkeypatch, module) -> dict:
    """``{png name: figure}`` of every figure ``module`` saves from now on (its layout final, drawn once)."""
    figs: dict = {}
    original = module.save_figure

    def save(fig, path):
        fig.tight_layout()
        fig.canvas.draw()
        figs[Path(path).name] = fig
        return original(fig, path)

    monkeypatch.setattr(module, "save_figure", save)
    return figs


def legends_over_data(fig) -> list[str]:
    """Titles of the axes of ``fig`` whose legend's box overlaps the axes' data region (window extents)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)  # a saved figure is closed: drawn again on a canvas of its own, as laid out
    canvas.draw()
    renderer = canvas.get_renderer()
    out = []
    for ax in fig.axes:
        leg = ax.get_legend()
        if leg is not None and leg.get_window_extent(renderer).overlaps(ax.get_window_extent(renderer)):
            out.append(ax.get_title() or "(untitled axes)")
    return out


def data_axes(fig) -> list:
    """The axes of ``fig`` that draw data (colour bars left out)."""
    return [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]


def filled_bands(ax) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(x, lo, hi)`` of every ``fill_between`` region of ``ax`` (the lowest and highest vertex at each x)."""
    from matplotlib.collections import PolyCollection

    out = []
    for coll in ax.collections:
        if not isinstance(coll, PolyCollection) or not coll.get_paths():
            continue
        v = coll.get_paths()[0].vertices
        xs = np.unique(v[:, 0])
        out.append((xs, np.array([v[v[:, 0] == x, 1].min() for x in xs]),
                    np.array([v[v[:, 0] == x, 1].max() for x in xs])))
    return out


def half_widths(tolerance: str) -> np.ndarray:
    """The half-widths a band finding's tolerance prints (``... half-widths [a, b, ...]``)."""
    m = re.search(r"half-widths \[([^\]]*)\]", tolerance)
    assert m, tolerance
    return np.array([float(x) for x in m.group(1).split(",")])

"""Noise figures: realised noise rate vs level, and one run's clean → noisy transition matrix."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from noisebench.analysis import prepare
from noisebench.analysis.figures.panels import (
    _count_text,
    _variant,
    _varying,
)
from noisebench.analysis.figures.style import (
    COLORS,
    PANEL_NOISE_KEYS,
    _axes,
    _fmt_n,
    _grid,
)
from noisebench.analysis.values import is_missing


def draw_noise_rates(rates: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Realised noise rate (%) vs level, one line per N (mean over draws), min–max band where draws differ.

    ``rates``: :func:`~noisebench.analysis.prepare.noise_rates` rows of one task, family and level parameter.
    """
    ax = _axes(ax)
    for i, (n_train, rows) in enumerate(rates.groupby("n_train", dropna=False, sort=True)):
        rows = rows.sort_values("noise_level")
        x, color = rows["noise_level"].to_numpy(dtype=float), COLORS[(i + 1) % len(COLORS)]
        name = f"N={_fmt_n(n_train)}" if not is_missing(n_train) else "whole pool"
        ax.plot(x, rows["mean"] * 100, marker="o", color=color, label=f"{name}: mean over draws")
        if (rows["n_draws"] > 1).any():
            ax.fill_between(x, rows["min"] * 100, rows["max"] * 100, color=color, alpha=0.2, linewidth=0,
                            label=f"{name}: min–max")
    ax.set_xlabel(prepare.level_axis_label(rates["noise_family"].iloc[0], rates["noise_param"].iloc[0]))
    ax.set_ylabel("realised noise rate (% of training labels)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


TRANSITION_ANNOTATED_SHARES: int = 8
"""Up to this many classes a transition cell shows its count and row share; above, its count only."""
TRANSITION_MAX_SIDE_IN: float = 10.0
"""The transition figure grows 1.1 in per class up to this side, so 20 classes stay legible on a page."""


def draw_transition(matrix: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Heatmap of clean → noisy counts coloured by row percentage, each cell annotated with count and %.

    ``matrix``: :func:`~noisebench.analysis.prepare.transition_matrix`.
    """
    ax = _axes(ax)
    counts = matrix.to_numpy(dtype=float)
    k = counts.shape[0]
    row_sums = counts.sum(axis=1, keepdims=True)
    pct = np.divide(counts, row_sums, out=np.zeros_like(counts), where=row_sums > 0) * 100
    image = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    many = k > TRANSITION_ANNOTATED_SHARES  # small cells: the count alone; the colour still gives the share
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(counts[i, j])}" if many else f"{int(counts[i, j])}\n({pct[i, j]:.1f}%)", ha="center",
                    va="center", color="white" if pct[i, j] > 55 else "black", fontsize=10 if k <= 4 else 8 if k <= 8 else 6)
    labels = list(matrix.columns)
    ax.set_xticks(range(k), labels, rotation=90 if many else 30 if max(len(str(x)) for x in labels) > 6 else 0,
                  fontsize=7 if many else None)
    ax.set_yticks(range(k), list(matrix.index), fontsize=7 if many else None)
    ax.set_xlabel("noisy label")
    ax.set_ylabel("clean label")
    ax.figure.colorbar(image, ax=ax, label="% of the clean label's examples", shrink=0.8)
    meta = matrix.attrs
    rate = meta.get("rate")
    level = meta.get("noise_level")
    noise = prepare.noise_label(meta.get("noise_family"), meta.get("noise_param"), level) if level is not None else "noise"
    ax.set_title(f"{meta.get('task', '?')}: {noise}, realised noise "
                 f"{'n/a' if rate is None else format(float(rate), '.1%')}\n{meta.get('source', '')}; "
                 f"{int(counts.sum())} examples", fontsize=9)
    return ax


def noise_rate_figure(draws: pd.DataFrame) -> Figure:
    """Realised noise rate vs level, one panel per (task, family, level parameter, weak fit, n_relabel), one line per N."""
    rates = prepare.noise_rates(draws)
    if rates.empty:
        raise ValueError("noise rates: no noisy runs with a realised noise rate")
    found = list(prepare.groups(rates, ("task", *PANEL_NOISE_KEYS)))
    fig, axes = _grid(len(found), (4.8, 3.8))
    varying = _varying(found)
    for ax, (key, rows) in zip(axes, found):
        draw_noise_rates(rows, ax=ax)
        variant = _variant(key, varying)
        ax.set_title(f"{key['task']}{' · ' + variant if variant else ''}\n{_count_text(rows['n_draws'], 'noise draw')}",
                     fontsize=10)
    return fig


def transition_figure(path: Path | str) -> Figure:
    """Clean → noisy heatmap of a noise artifact or run directory."""
    matrix = prepare.transition_matrix(path)
    side = max(4.6, min(1.1 * matrix.shape[0] + 2.6, TRANSITION_MAX_SIDE_IN))
    fig, ax = plt.subplots(figsize=(side + 0.8, side), layout="constrained")
    draw_transition(matrix, ax=ax)
    return fig

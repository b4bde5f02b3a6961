"""Training figures: memorisation of wrong labels per epoch, and t-SNE of test embeddings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from noisebench.analysis import prepare
from noisebench.analysis.figures.panels import (
    _count_text,
    _variant,
    _varying,
)
from noisebench.analysis.figures.style import (
    PANEL_SIZE,
    _axes,
    _colors,
    _grid,
    _panel_title,
)

_MEMO_STYLES = (("train_acc_clean", "-", "clean examples: predicted = label"),
                ("train_acc_corrupted_noisy", "--", "corrupted examples: predicted = noisy label (memorised)"))


def draw_memorisation(memo: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Per-epoch share of clean examples fitted (solid) and corrupted ones memorised (dashed), per method label.

    ``memo``: :func:`~noisebench.analysis.prepare.memorisation` rows of one panel. Each line is
    labelled ``"<method label>: <column>"``.
    """
    ax = _axes(ax)
    colors = _colors(memo, "method_label", "method")
    for label, rows in memo.groupby("method_label", sort=False):
        rows = rows.sort_values("epoch")
        for column, style, _ in _MEMO_STYLES:
            y = rows[column].to_numpy(dtype=float) * 100
            if np.isfinite(y).any():
                ax.plot(rows["epoch"].to_numpy(dtype=float), y, linestyle=style, color=colors[label], marker="o",
                        markersize=3, linewidth=1.5, label=f"_{label}: {column}")
    handles = [Line2D([], [], color=c, linewidth=2.5, label=lab) for lab, c in colors.items()]
    handles += [Line2D([], [], color="0.3", linestyle=style, label=text) for _, style, text in _MEMO_STYLES]
    ax.legend(handles=handles, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    ax.set_ylim(-3, 103)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("% of training examples")
    ax.grid(True, alpha=0.3)
    return ax


def draw_tsne(points: pd.DataFrame, *, label_names: Sequence[str] | None = None, ax: Axes | None = None) -> Axes:
    """Scatter of t-SNE points coloured by true label (:func:`~noisebench.analysis.prepare.tsne_points`)."""
    ax = _axes(ax)
    labels = sorted(points["label"].unique())
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    for i, lab in enumerate(labels):
        rows = points[points["label"] == lab]
        name = str(label_names[lab]) if label_names is not None and 0 <= lab < len(label_names) else f"label {lab}"
        ax.scatter(rows["x"], rows["y"], s=8, alpha=0.7, color=cmap(i % cmap.N), label=name, linewidths=0)
    ax.set(xlabel="t-SNE 1", ylabel="t-SNE 2", xticks=[], yticks=[])
    ax.legend(fontsize=8, markerscale=2, title="true label", title_fontsize=8, loc="upper center",
              bbox_to_anchor=(0.5, -0.08), ncol=min(len(labels), 5), frameon=False)
    return ax


def memorisation_figure(table: pd.DataFrame, history: pd.DataFrame, *, noise_family: str, noise_level: float,
                        noise_param: str | None = None) -> Figure:
    """Memorisation per epoch at one noise level, one panel per (task, model, N, weak fit, n_relabel, pooling)."""
    memo = prepare.memorisation(table, history, noise_family=noise_family, noise_level=noise_level,
                                noise_param=noise_param)
    noise = prepare.noise_label(noise_family, prepare.level_parameter_name(noise_family, noise_param), noise_level)
    if memo.empty or memo[list(prepare.MEMORISATION_COLUMNS)].isna().all().all():
        raise ValueError(f"memorisation: no per-epoch records for the runs at {noise}")
    found = list(prepare.groups(memo, prepare.MEMORISATION_KEYS))
    fig, axes = _grid(len(found), (PANEL_SIZE[0] + 0.6, PANEL_SIZE[1] + 0.9))
    varying = _varying(found)
    for ax, (key, rows) in zip(axes, found):
        draw_memorisation(rows, ax=ax)
        n_runs = rows.groupby("method_label")["n_runs"].max()
        variant = _variant(key, varying)
        ax.set_title(_panel_title(key, f"{noise}{', ' + variant if variant else ''}; {_count_text(n_runs)}"),
                     fontsize=10)
    return fig


def tsne_figure(run_dirs: Mapping[str, Path | str], *, title: str | None = None,
                label_names: Sequence[str] | None = None) -> Figure:
    """t-SNE of test [CLS] embeddings, one panel per run (name → run directory), coloured by true label."""
    if not run_dirs:
        raise ValueError("tsne: no run directories given")
    points = {name: prepare.tsne_points(d) for name, d in run_dirs.items()}
    fig, axes = _grid(len(points), (5.0, 5.2 if title else 4.9))
    for ax, (name, frame) in zip(axes, points.items()):
        draw_tsne(frame, label_names=label_names, ax=ax)
        ax.set_title(f"{name}\n{len(frame)} of {frame.attrs['n_total']} test examples, coloured by true label",
                     fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig

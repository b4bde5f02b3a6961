"""Transfer figure (paper Table 5): few-shot test accuracy vs N for each encoder initialisation (``init_from``).

The numbers come from :func:`~noisebench.analysis.transfer.transfer_summary`; this module draws
them (:func:`draw_transfer`), one figure per transfer task (:func:`transfer_figure`), which
:func:`~noisebench.analysis.figures.assembly.plot_all` writes as ``transfer_<task>`` when the
table holds runs with ``init_from``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from noisebench.analysis.figures.style import COLORS, PANEL_SIZE, save_figure
from noisebench.analysis.transfer import PRETRAINED, source_label, transfer_summary
from noisebench.analysis.values import is_missing
from noisebench.store.table import collect_table


def draw_transfer(summary: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Test accuracy (%) vs N (log axis) of one task's :func:`transfer_summary` rows: a line per series, t-interval bars."""
    if ax is None:
        ax = plt.subplots(figsize=PANEL_SIZE, layout="constrained")[1]
    series = list(summary.groupby(["init", "method_label"], sort=False))
    several_methods = summary["method_label"].nunique() > 1
    order = sorted(series, key=lambda item: (item[0][0] != PRETRAINED, item[0]))
    for i, ((init, method), rows) in enumerate(order):
        rows = rows.sort_values("n_train")
        x = rows["n_train"].to_numpy(dtype=float) * 1.04 ** (i - (len(order) - 1) / 2)  # dodge on the log axis
        mean = rows["mean"].to_numpy(dtype=float) * 100
        low, high = rows["ci_low"].to_numpy(dtype=float) * 100, rows["ci_high"].to_numpy(dtype=float) * 100
        label = f"{init} · {method}" if several_methods else init
        color = COLORS[i % len(COLORS)]
        ax.plot(x, mean, marker="o", color=color, label=label, linewidth=1.6, markersize=5)
        has_ci = np.isfinite(low) & np.isfinite(high)
        ax.errorbar(x[has_ci], mean[has_ci], yerr=[mean[has_ci] - low[has_ci], high[has_ci] - mean[has_ci]], fmt="none",
                    color=color, capsize=3)
    ns = sorted(summary["n_train"].unique())
    ax.set_xscale("log")
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.minorticks_off()
    ax.set_xlabel("training examples N (target task)")
    ax.set_ylabel("test accuracy (%)")
    runs = f"{summary['n'].min()}" + (f"–{summary['n'].max()}" if summary["n"].nunique() > 1 else "")
    ax.set_title(f"{summary['task'].iloc[0]}: mean and 95% t-interval over {runs} seed sets", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best", title="encoder from", title_fontsize=8)
    return ax


def transfer_tasks(table: pd.DataFrame) -> list[str]:
    """The tasks with at least one run whose ``init_from`` is set (sorted); empty when the table has none."""
    if "init_from" not in table.columns:
        return []
    return sorted(map(str, table.loc[~table["init_from"].map(is_missing), "task"].unique()))


def _summary(table: pd.DataFrame, results_dir: Path) -> pd.DataFrame:
    """:func:`transfer_summary` with each source run named by its own config (read from ``results_dir``)."""
    values = table["init_from"].dropna().unique() if "init_from" in table.columns else []
    return transfer_summary(table, labels={v: source_label(v, results_dir) for v in values})


def transfer_figure(table: pd.DataFrame, results_dir: Path | str, task: str) -> Figure:
    """One transfer task's :func:`draw_transfer` on its own figure; source runs named from ``results_dir``."""
    summary = _summary(table[table["task"] == task], Path(results_dir))
    rows = summary[summary["task"] == task]
    if rows.empty:
        raise ValueError(f"transfer: no run of task {task} starts from another run (init_from)")
    fig, ax = plt.subplots(figsize=PANEL_SIZE, layout="constrained")
    draw_transfer(rows, ax=ax)
    return fig


def write_transfer_figures(results_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """``<out_dir>/transfer_<task>.png`` and ``.pdf`` for every transfer task of ``results_dir``; the paths written."""
    summary = _summary(collect_table(Path(results_dir)), Path(results_dir))
    written = []
    for task, rows in summary.groupby("task", sort=True):
        fig, ax = plt.subplots(figsize=PANEL_SIZE, layout="constrained")
        draw_transfer(rows, ax=ax)
        written += save_figure(fig, Path(out_dir) / f"transfer_{task}")
    return written

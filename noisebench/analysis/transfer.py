"""Transfer figure (paper Table 5): few-shot test accuracy vs N for each encoder initialisation (``init_from``).

A *transfer task* is a task with at least one run whose ``init_from`` is set; its runs from the
pre-trained encoder (``init_from`` missing) are the reference series. Each series is one
initialisation (and method, when a task has several): mean test accuracy over seed sets with a
two-sided Student-t interval, per N. Source runs are named by their own config (task and method),
read from the results directory; ``init_from`` is resolved as training resolves it (a run_id under
``<results>/runs``, else a path relative to the results directory).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from noisebench.analysis.keys import SEED_KEYS
from noisebench.analysis.plots import COLORS, PANEL_SIZE, save_figure
from noisebench.analysis.prepare import method_label, t_interval
from noisebench.analysis.values import is_missing
from noisebench.methods import hyper_parameter_names
from noisebench.store.layout import named_run_dir
from noisebench.store.read import has_config, has_metrics, read_config
from noisebench.store.table import collect_table

PRETRAINED = "pre-trained"
"""Series label of runs that start from the pre-trained encoder."""
SUMMARY_COLUMNS = ["task", "init", "method_label", "n_train", "n", "mean", "ci_low", "ci_high"]


def source_label(init_from: Any, results_dir: Path | None = None) -> str:
    """How a figure names an initialisation: ``pre-trained``, ``<source task> <method label>`` for a run, else the value."""
    if is_missing(init_from):
        return PRETRAINED
    if results_dir is not None:
        name = str(init_from)
        run_dir = named_run_dir(results_dir, name)
        if has_config(run_dir) and has_metrics(run_dir):
            source = read_config(run_dir)
            return f"{source['task']} {method_label(source['method'], source)}"
    return str(init_from)


def transfer_summary(table: pd.DataFrame, *, labels: Mapping[Any, str] | None = None, metric: str = "test_accuracy",
                     confidence: float = 0.95) -> pd.DataFrame:
    """Mean ``metric`` and t-interval over seed sets per (transfer task, initialisation, method, N).

    Args:
        table: the tidy results table (:func:`~noisebench.store.table.collect_table`).
        labels: series name per ``init_from`` value (default: the value; ``pre-trained`` when missing).
        metric: a fraction in [0, 1].
        confidence: of the two-sided t-interval (NaN bounds for a single run).

    Returns:
        One row per series and N: :data:`SUMMARY_COLUMNS`, sorted by task, series, N.

    Raises:
        ValueError: no run has ``init_from``, or one seed set appears twice in a series (runs that
        differ in another key: filter the table first).
    """
    if "init_from" not in table.columns or table["init_from"].map(is_missing).all():
        raise ValueError("no run in the table starts from another run (init_from): not a transfer experiment")
    tasks = table.loc[~table["init_from"].map(is_missing), "task"].unique()
    frame = table[table["task"].isin(tasks)].copy()
    frame["init"] = [(labels or {}).get(v, source_label(v)) if not is_missing(v) else PRETRAINED for v in frame["init_from"]]
    params = [p for p in hyper_parameter_names() if p in frame.columns]
    frame["method_label"] = [method_label(m, row) for m, row in zip(frame["method"], frame[params].to_dict("records"))]
    rows = []
    for (task, init, method, n_train), group in frame.groupby(["task", "init", "method_label", "n_train"], sort=True):
        keys = [k for k in SEED_KEYS if k in group.columns]
        seeds = group[keys].astype(object).where(group[keys].notna(), None)
        if seeds.duplicated().any():
            raise ValueError(f"{task} {init} {method} N={n_train}: a seed set has several runs; filter the table to one configuration")
        mean, low, high = t_interval(group[metric].to_numpy(dtype=float), confidence)
        rows.append({"task": task, "init": init, "method_label": method, "n_train": int(n_train), "n": len(group),
                     "mean": mean, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def draw_transfer(summary: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Test accuracy (%) vs N (log axis) of one task's :func:`transfer_summary` rows: a line per series, t-interval bars."""
    if ax is None:
        import matplotlib.pyplot as plt

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


def write_transfer_figures(results_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """``<out_dir>/transfer_<task>.png`` and ``.pdf`` for every transfer task of ``results_dir``; the paths written."""
    import matplotlib.pyplot as plt

    table = collect_table(Path(results_dir))
    values = table["init_from"].dropna().unique() if "init_from" in table.columns else []
    summary = transfer_summary(table, labels={v: source_label(v, Path(results_dir)) for v in values})
    written = []
    for task, rows in summary.groupby("task", sort=True):
        fig, ax = plt.subplots(figsize=PANEL_SIZE, layout="constrained")
        draw_transfer(rows, ax=ax)
        written += save_figure(fig, Path(out_dir) / f"transfer_{task}")
    return written

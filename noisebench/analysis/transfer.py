"""Transfer (paper Table 5): few-shot test accuracy vs N for each encoder initialisation (``init_from``).

A *transfer task* is a task with at least one run whose ``init_from`` is set; its runs from the
pre-trained encoder (``init_from`` missing) are the reference series. Each series is one
initialisation (and method, when a task has several): mean test accuracy over seed sets with a
two-sided Student-t interval, per N. Source runs are named by their own config (task and method),
read from the results directory; ``init_from`` is resolved as training resolves it (a run_id under
``<results>/runs``, else a path relative to the results directory). The figure is drawn by
:mod:`noisebench.analysis.figures.transfer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from noisebench.analysis.keys import SEED_KEYS
from noisebench.analysis.prepare import method_label, t_interval
from noisebench.analysis.values import is_missing
from noisebench.methods import hyper_parameter_names
from noisebench.store.layout import named_run_dir
from noisebench.store.read import has_config, has_metrics, read_config

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

"""The tidy results table (one row per finished run), the per-epoch history, and ``results.parquet``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench.io import write_bytes_atomic
from noisebench.methods import hyper_parameter_names
from noisebench.store.layout import METRICS_FILE, results_table_path, run_dir
from noisebench.store.read import finished_runs, read_config, read_metrics, require_numbers

SCALAR_METRICS = (
    "test_accuracy", "dev_accuracy", "best_epoch", "realized_noise_rate", "n_corrupted", "n_dev", "n_test",
    "setup_time_s", "train_time_s", "eval_time_s", "wall_time_s",
)
HISTORY_COLUMNS = (
    "epoch", "train_loss", "dev_accuracy", "train_acc_clean", "train_acc_corrupted_noisy", "train_acc_corrupted_true",
)
NOISE_COLUMNS = ("noise_family", "noise_param", "noise_level")


def collect_table(results_dir: Path) -> pd.DataFrame:
    """One row per finished run: ``run_id``, every config key, one column per hyper-parameter, every scalar metric.

    ``noise_level`` is NaN for clean runs; a hyper-parameter column is NaN for a method without it.
    """
    rows = []
    for path in finished_runs(results_dir):
        metrics = read_metrics(path)
        require_numbers(metrics, SCALAR_METRICS, where=f"run {path.name}: {METRICS_FILE}")
        rows.append({"run_id": path.name, **read_config(path), **{k: metrics.get(k) for k in SCALAR_METRICS}})
    table = pd.DataFrame(rows)
    for column in ("noise_level", *hyper_parameter_names()):
        table[column] = pd.to_numeric(table[column], errors="coerce") if column in table else np.nan
    for column in ("noise_family", "noise_param"):
        if column not in table:
            table[column] = None
    return table


def collect_history(results_dir: Path) -> pd.DataFrame:
    """Per-epoch records of every finished run (long format, keyed by ``run_id``)."""
    rows = []
    for path in finished_runs(results_dir):
        history = read_metrics(path).get("history", [])
        rows.extend({"run_id": path.name, **{k: h.get(k) for k in HISTORY_COLUMNS}} for h in history)
    return pd.DataFrame(rows, columns=["run_id", *HISTORY_COLUMNS])


def run_versions(results_dir: Path, run_ids: list[str]) -> tuple[dict[str, Any] | None, int, int]:
    """(software versions of the first run that records them, runs read, distinct version sets)."""
    first, distinct, read = None, set(), 0
    for run_id in sorted(map(str, run_ids)):
        try:
            versions = read_metrics(run_dir(results_dir, run_id)).get("versions")
        except (OSError, ValueError):
            continue
        if versions:
            read += 1
            first = first or versions
            distinct.add(json.dumps(versions, sort_keys=True))
    return first, read, len(distinct)


def write_results_table(results_dir: Path) -> Path:
    """Rebuild ``results.parquet`` from the run directories alone (atomically)."""
    path = results_table_path(results_dir)
    table = collect_table(results_dir)
    write_bytes_atomic(path, table.to_parquet(index=False), crash_name="table-write")
    return path

"""The tidy results table: one row per finished run, rebuilt from run directories alone."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd

log = logging.getLogger(__name__)

SCALAR_METRICS = (
    "test_accuracy", "dev_accuracy", "best_epoch", "realized_noise_rate", "n_corrupted", "n_dev", "n_test",
    "setup_time_s", "train_time_s", "eval_time_s", "wall_time_s",
)
HISTORY_COLUMNS = (
    "epoch", "train_loss", "dev_accuracy", "train_acc_clean", "train_acc_corrupted_noisy", "train_acc_corrupted_true",
)


def finished_runs(results_dir: Path) -> list[Path]:
    """Run directories under ``<results>/runs`` that carry a DONE marker, sorted by run_id."""
    runs = Path(results_dir) / "runs"
    return sorted(p for p in runs.glob("*") if (p / "DONE").is_file()) if runs.is_dir() else []


def _load(run_dir: Path) -> tuple[dict, dict]:
    config = json.loads((run_dir / "config.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return config, metrics


def collect_table(results_dir: Path) -> pd.DataFrame:
    """One row per finished run: every config key, ``run_id`` and every scalar metric.

    ``temperature`` is NaN for clean runs and ``tau`` NaN for CE runs.
    """
    rows = []
    for run_dir in finished_runs(results_dir):
        config, metrics = _load(run_dir)
        rows.append({"run_id": run_dir.name, **config, **{k: metrics.get(k) for k in SCALAR_METRICS}})
    table = pd.DataFrame(rows)
    for column in ("temperature", "tau", "noise_rate"):
        if column in table:
            table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def collect_history(results_dir: Path) -> pd.DataFrame:
    """Per-epoch records of every finished run (long format, keyed by ``run_id``)."""
    rows = []
    for run_dir in finished_runs(results_dir):
        _, metrics = _load(run_dir)
        rows.extend({"run_id": run_dir.name, **{k: h.get(k) for k in HISTORY_COLUMNS}} for h in metrics.get("history", []))
    return pd.DataFrame(rows, columns=["run_id", *HISTORY_COLUMNS])

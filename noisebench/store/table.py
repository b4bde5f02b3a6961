"""The tidy results table (one row per finished run), the per-epoch history, and ``results.parquet``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench.io import write_bytes_atomic
from noisebench.methods import hyper_parameter_names
from noisebench.store.layout import results_table_path, run_dir
from noisebench.store.read import finished_runs, read_config, read_metrics
from noisebench.store.validate import HISTORY_COLUMNS, SCALAR_METRICS

SELECTIONS = "selections"
"""Column of runs that evaluated the test set every epoch: every rule's pick, as JSON text (see :func:`expand_selections`)."""
_EVALUATION_ONLY = ("test_every_epoch", "save_embeddings", "save_model")
"""Config fields that change what a run records, not its numbers: runs differing only here are the same run."""
NOISE_COLUMNS = ("noise_family", "noise_param", "noise_level")


def collect_table(results_dir: Path) -> pd.DataFrame:
    """One row per finished run: ``run_id``, every config key, one column per hyper-parameter, every scalar metric.

    ``noise_level`` is NaN for clean runs; a hyper-parameter column is NaN for a method without it.
    """
    rows = []
    for path in finished_runs(results_dir):
        metrics = read_metrics(path)  # schema-checked: scalar metrics are numbers, history a list of objects
        selections = metrics.get(SELECTIONS)
        rows.append({
            "run_id": path.name, **read_config(path), **{k: metrics.get(k) for k in SCALAR_METRICS},
            SELECTIONS: json.dumps(selections, sort_keys=True) if isinstance(selections, dict) and selections else None,
        })
    table = pd.DataFrame(rows)
    for column in ("noise_level", *hyper_parameter_names()):
        table[column] = pd.to_numeric(table[column], errors="coerce") if column in table else np.nan
    for column in ("noise_family", "noise_param"):
        if column not in table:
            table[column] = None
    return table


def expand_selections(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus, for each run that recorded every rule's pick, one row per other rule.

    Such a row is the same trained run with ``selection`` set to that rule and the metrics of the epoch
    the rule keeps (``test_accuracy``, ``dev_accuracy``, ``noisy_dev_accuracy``, ``best_epoch``);
    ``reselected`` marks it. A row that repeats a run trained with that rule (same config but for
    evaluation-only fields) is left out: the trained run stands; runs trained under several rules give
    the other rules' rows once (training does not depend on the rule without early stopping).
    """
    if SELECTIONS not in table or table[SELECTIONS].isna().all():
        return table.assign(reselected=False)
    derived = []
    for _, row in table[table[SELECTIONS].notna()].iterrows():
        for rule, pick in json.loads(row[SELECTIONS]).items():
            if rule != row.get("selection"):
                derived.append({**row.to_dict(), "selection": rule, "best_epoch": pick["epoch"], "test_accuracy": pick["test_accuracy"],
                                "dev_accuracy": pick["dev_accuracy"], "noisy_dev_accuracy": pick.get("noisy_dev_accuracy")})
    trained = table.assign(reselected=False)
    if not derived:
        return trained
    extra = pd.DataFrame(derived).assign(reselected=True)
    same_run = [c for c in table.columns if c not in (*SCALAR_METRICS, "run_id", SELECTIONS, *_EVALUATION_ONLY)]
    seen, keep = set(_row_keys(trained, same_run)), []
    for key in _row_keys(extra, same_run):  # one row per run and rule: a trained run, else the first derivation
        keep.append(key not in seen)
        seen.add(key)
    extra = extra[keep]
    return pd.concat([trained, extra], ignore_index=True)


def _row_keys(frame: pd.DataFrame, columns: list[str]) -> list[tuple[str, ...]]:
    """Each row's ``columns`` as a hashable key (missing values compare equal)."""
    return [tuple(map(repr, row)) for row in frame[columns].itertuples(index=False)]


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

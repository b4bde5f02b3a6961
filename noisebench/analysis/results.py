"""The tidy results table and every read of a run's or an artifact's files the analysis does.

Plots and the report never open ``config.json``, ``metrics.json``, ``noise.json`` or
``embeddings.npz`` themselves: they call the readers here, so a change of the on-disk format
(and the mapping of legacy run directories) lives in one module.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis.keys import options_key
from noisebench.errors import ConfigError
from noisebench.methods import get_method, hyper_parameter_names
from noisebench.noise.families import get_family, is_clean
from noisebench.runfiles import read_run_json, require_numbers

log = logging.getLogger(__name__)

SCALAR_METRICS = (
    "test_accuracy", "dev_accuracy", "best_epoch", "realized_noise_rate", "n_corrupted", "n_dev", "n_test",
    "setup_time_s", "train_time_s", "eval_time_s", "wall_time_s",
)
HISTORY_COLUMNS = (
    "epoch", "train_loss", "dev_accuracy", "train_acc_clean", "train_acc_corrupted_noisy", "train_acc_corrupted_true",
)
NOISE_COLUMNS = ("noise_family", "noise_param", "noise_level")
_LEGACY_LEVELS = {"temperature": "temperature", "noise_rate": "rate"}
"""Legacy config.json key -> the parameter name it held (before families were registered objects)."""


def finished_runs(results_dir: Path) -> list[Path]:
    """Run directories under ``<results>/runs`` with a DONE marker, sorted; hidden (temporary) names ignored."""
    runs = Path(results_dir) / "runs"
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if not p.name.startswith(".") and p.is_dir() and (p / "DONE").is_file())


def _json(path: Path) -> dict[str, Any]:
    """A run's JSON file; a truncated, binary or non-object file stops the command naming the run."""
    return read_run_json(path)


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """A run's ``metrics.json``."""
    return _json(Path(run_dir) / "metrics.json")


def read_config(run_dir: Path) -> dict[str, Any]:
    """A run's ``config.json`` as one flat table row (see :func:`flatten_config`)."""
    return flatten_config(_json(Path(run_dir) / "config.json"))


def read_noise_json(path: Path) -> dict[str, Any]:
    """``noise.json`` of a noise artifact (``path`` is the artifact directory or the file)."""
    path = Path(path)
    file = path / "noise.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no noise.json (not a noise artifact)")
    return _json(file)


def read_embeddings(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(cls [n, d], labels [n])`` from a run's ``embeddings.npz``."""
    file = Path(run_dir) / "embeddings.npz"
    if not file.is_file():
        raise FileNotFoundError(f"{run_dir}: no embeddings.npz")
    with np.load(file) as data:
        if "cls" not in data or "labels" not in data:
            raise ValueError(f"{file}: needs arrays 'cls' and 'labels'")
        cls, labels = np.asarray(data["cls"], dtype=float), np.asarray(data["labels"]).astype(int)
    if cls.ndim != 2 or labels.shape != (cls.shape[0],):
        raise ValueError(f"{file}: 'cls' must be [n, d] and 'labels' [n], got {cls.shape} and {labels.shape}")
    return cls, labels


def _declared(method: str) -> set[str] | None:
    """Hyper-parameter names ``method`` declares; None for a method this process does not know."""
    try:
        return {p.name for p in get_method(method).hyper_parameters}
    except ConfigError:
        return None


def flatten_config(config: dict[str, Any]) -> dict[str, Any]:
    """A config.json as a table row: ``method_params`` spread into columns, legacy keys mapped.

    Old run directories stored the noise level as ``temperature`` or ``noise_rate`` and the method's
    hyper-parameters as top-level ``lam``/``tau`` (CE carried ``lam=0``, ``tau=None``). They become
    ``noise_param``/``noise_level`` and one column per hyper-parameter the method declares, so old
    and new runs land in the same columns.
    """
    row = {k: v for k, v in config.items() if k not in ("method_params", *_LEGACY_LEVELS, *hyper_parameter_names())}
    params = dict(config.get("method_params") or {})
    declared = _declared(str(config.get("method")))
    for name in hyper_parameter_names():
        if name in config and name not in params and (declared is None or name in declared):
            params[name] = config[name]
    row.update({k: v for k, v in params.items() if v is not None})
    if isinstance(row.get("weak_options"), dict):  # one text value: a mapping cannot key a setting, and all-empty ones cannot go to Parquet
        row["weak_options"] = options_key(row["weak_options"])
    for key, param in _LEGACY_LEVELS.items():
        if config.get(key) is not None and row.get("noise_level") is None:
            row["noise_level"], row["noise_param"] = config[key], param
    if is_clean(row.get("noise_family")):
        row["noise_level"], row["noise_param"] = None, None
    elif row.get("noise_param") is None:
        row["noise_param"] = get_family(row["noise_family"]).parameter.name
    return row


def collect_table(results_dir: Path) -> pd.DataFrame:
    """One row per finished run: ``run_id``, every config key, one column per hyper-parameter, every scalar metric.

    ``noise_level`` is NaN for clean runs; a hyper-parameter column is NaN for a method without it.
    """
    rows = []
    for run_dir in finished_runs(results_dir):
        metrics = read_metrics(run_dir)
        require_numbers(metrics, SCALAR_METRICS, where=f"run {run_dir.name}: metrics.json")
        rows.append({"run_id": run_dir.name, **read_config(run_dir), **{k: metrics.get(k) for k in SCALAR_METRICS}})
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
    for run_dir in finished_runs(results_dir):
        history = read_metrics(run_dir).get("history", [])
        rows.extend({"run_id": run_dir.name, **{k: h.get(k) for k in HISTORY_COLUMNS}} for h in history)
    return pd.DataFrame(rows, columns=["run_id", *HISTORY_COLUMNS])


def run_versions(results_dir: Path, run_ids: list[str]) -> tuple[dict[str, Any] | None, int, int]:
    """(software versions of the first run that records them, runs read, distinct version sets)."""
    first, distinct, read = None, set(), 0
    for run_id in sorted(map(str, run_ids)):
        try:
            versions = read_metrics(Path(results_dir) / "runs" / run_id).get("versions")
        except (OSError, ValueError):
            continue
        if versions:
            read += 1
            first = first or versions
            distinct.add(json.dumps(versions, sort_keys=True))
    return first, read, len(distinct)

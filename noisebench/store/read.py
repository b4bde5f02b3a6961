"""Validated reads of a run directory's files (and of a noise artifact's noise.json).

A damaged JSON file is a RunFileError naming the run. Analysis code never opens ``config.json``,
``metrics.json``, ``noise.json`` or ``embeddings.npz`` itself: it calls the readers here, so a change
of the on-disk format (and the mapping of legacy run directories) lives in the store.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from noisebench.errors import RunFileError
from noisebench.store.layout import CONFIG_FILE, EMBEDDINGS_FILE, METRICS_FILE, NOISE_FILE, is_done, runs_root
from noisebench.store.rows import flatten_config
from noisebench.store.validate import (
    check_config,
    check_metrics,
    require_numbers,  # noqa: F401 - its older import path
)


def read_run_json(path: Path) -> dict[str, Any]:
    """``config.json`` or ``metrics.json`` of a run as a dict.

    Raises:
        RunFileError: the file is missing, truncated, binary or not a JSON object; the message names
            the run folder and says how to recover (remove it, or train it again).
    """
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        raise RunFileError(f"run {path.parent.name}: {path.name} is unreadable ({reason}); remove {path.parent} or train it again") from exc
    if not isinstance(value, dict):
        raise RunFileError(f"run {path.parent.name}: {path.name} holds a {type(value).__name__}, not a JSON object; remove {path.parent} or train it again")
    return value


def finished_runs(results_dir: Path) -> list[Path]:
    """Run directories under ``<results>/runs`` with a DONE marker, sorted; hidden (temporary) names ignored."""
    runs = runs_root(results_dir)
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if not p.name.startswith(".") and p.is_dir() and is_done(p))


def has_config(run_dir: Path) -> bool:
    return (Path(run_dir) / CONFIG_FILE).is_file()


def has_metrics(run_dir: Path) -> bool:
    return (Path(run_dir) / METRICS_FILE).is_file()


def has_embeddings(run_dir: Path) -> bool:
    return (Path(run_dir) / EMBEDDINGS_FILE).is_file()


def is_noise_artifact(path: Path) -> bool:
    """``path`` is a noise artifact's folder (it holds noise.json) or its noise.json."""
    path = Path(path)
    return (path / NOISE_FILE).is_file() or path.name == NOISE_FILE


def read_metrics(run_dir: Path) -> dict[str, Any]:
    """A run's ``metrics.json``, schema-checked (:func:`~noisebench.store.validate.check_metrics`)."""
    path = Path(run_dir) / METRICS_FILE
    metrics = read_run_json(path)
    check_metrics(metrics, where=f"run {path.parent.name}: {path.name}")
    return metrics


def read_config(run_dir: Path) -> dict[str, Any]:
    """A run's ``config.json``, schema-checked (:func:`~noisebench.store.validate.check_config`), as one flat
    table row (see :func:`~noisebench.store.rows.flatten_config`)."""
    path = Path(run_dir) / CONFIG_FILE
    config = read_run_json(path)
    check_config(config, where=f"run {path.parent.name}: {path.name}")
    return flatten_config(config)


def read_noise_json(path: Path) -> dict[str, Any]:
    """``noise.json`` of a noise artifact (``path`` is the artifact directory or the file)."""
    path = Path(path)
    file = path / NOISE_FILE if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no noise.json (not a noise artifact)")
    return read_run_json(file)


def read_embeddings(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(cls [n, d], labels [n])`` from a run's ``embeddings.npz``."""
    file = Path(run_dir) / EMBEDDINGS_FILE
    if not file.is_file():
        raise FileNotFoundError(f"{run_dir}: no embeddings.npz")
    with np.load(file) as data:
        if "cls" not in data or "labels" not in data:
            raise ValueError(f"{file}: needs arrays 'cls' and 'labels'")
        cls, labels = np.asarray(data["cls"], dtype=float), np.asarray(data["labels"]).astype(int)
    if cls.ndim != 2 or labels.shape != (cls.shape[0],):
        raise ValueError(f"{file}: 'cls' must be [n, d] and 'labels' [n], got {cls.shape} and {labels.shape}")
    return cls, labels

"""The layout of a results folder: where runs, noise artifacts, the table and claim locks live.

    <results>/
      results.parquet            the tidy table (rebuilt from the run folders alone)
      noise/<task>/...           noise artifacts (labels.parquet + noise.json)
      runs/<run_id>/             config.json, metrics.json, [embeddings.npz], [model/], [tb/], DONE | FAILED (+ traceback.txt)
      runs/.locks/<run_id>.lock  the claim of a run being executed

A run folder's marker (DONE or FAILED) is written last; hidden names under ``runs/`` are temporary.
"""

from __future__ import annotations

import re
from pathlib import Path

from noisebench.schema import RunConfig

RUNS = "runs"
NOISE = "noise"
RESULTS_TABLE = "results.parquet"
LOCKS = ".locks"

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
EMBEDDINGS_FILE = "embeddings.npz"
TRACEBACK_FILE = "traceback.txt"
NOISE_FILE = "noise.json"
"""A noise artifact's description (written by :mod:`noisebench.noise.artifact`)."""

DONE = "DONE"
FAILED = "FAILED"
MODEL_DIR = "model"
"""The saved model's folder inside a run directory."""
TENSORBOARD_DIR = "tb"
"""The TensorBoard event files' folder inside a run directory (``report_to: [tensorboard]``)."""
RUN_ID = re.compile(r"[0-9a-f]{16}")


def runs_root(results_dir: Path) -> Path:
    return Path(results_dir) / RUNS


def run_dir(results_dir: Path, run_id: str) -> Path:
    """``<results>/runs/<run_id>`` (whether or not it exists)."""
    return runs_root(results_dir) / str(run_id)


def run_path(results_dir: Path, config: RunConfig) -> Path:
    return run_dir(results_dir, config.run_id)


def named_run_dir(results_dir: Path, name: str) -> Path:
    """The run folder ``name`` stands for: a run_id under ``<results>/runs``, else a path relative to ``results_dir``."""
    return run_dir(results_dir, name) if RUN_ID.fullmatch(name) else Path(results_dir) / Path(name).expanduser()


def lock_path(results_dir: Path, run_id: str) -> Path:
    return runs_root(results_dir) / LOCKS / f"{run_id}.lock"


def noise_root(results_dir: Path) -> Path:
    return Path(results_dir) / NOISE


def results_table_path(results_dir: Path) -> Path:
    return Path(results_dir) / RESULTS_TABLE


def traceback_path(results_dir: Path, run_id: str) -> Path:
    """A failed run's traceback."""
    return run_dir(results_dir, run_id) / TRACEBACK_FILE


def is_done(path: Path) -> bool:
    return (Path(path) / DONE).is_file()


def is_failed(path: Path) -> bool:
    return (Path(path) / FAILED).is_file()

"""Run directories: ``<results>/runs/<run_id>/`` with config.json, metrics.json, DONE written last.

A run directory is assembled under a temporary name and renamed into place, so a killed run
leaves no half-written directory under its final name. A failed run gets a directory with its
traceback and a FAILED marker instead of DONE; a later attempt replaces it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from noisebench.faults import crash_point
from noisebench.io import remove_leftovers, write_json_atomic
from noisebench.train.config import RunConfig

DONE = "DONE"
FAILED = "FAILED"


def runs_root(results_dir: Path) -> Path:
    return Path(results_dir) / "runs"


def run_path(results_dir: Path, config: RunConfig) -> Path:
    return runs_root(results_dir) / config.run_id


def is_done(path: Path) -> bool:
    return (Path(path) / DONE).is_file()


def _publish(results_dir: Path, config: RunConfig, fill) -> Path:
    """Build the run directory in a temporary sibling, then move it into place (replacing a FAILED one)."""
    root = runs_root(results_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = root / config.run_id
    remove_leftovers(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{config.run_id}.tmp-", dir=root))
    try:
        write_json_atomic(tmp / "config.json", config.to_dict())
        marker = fill(tmp)
        (tmp / marker).write_text("")
        crash_point("run-write")
        if final.exists():
            if is_done(final):
                raise FileExistsError(f"run {final} is already done")
            trash = Path(tempfile.mkdtemp(prefix=f".{config.run_id}.tmp-old-", dir=root))
            os.replace(final, trash / "old")
            shutil.rmtree(trash, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final


def write_done(results_dir: Path, config: RunConfig, metrics: dict[str, Any], embeddings: np.ndarray | None = None, test_labels: np.ndarray | None = None) -> Path:
    """Publish a finished run: config.json, metrics.json, optional embeddings.npz, then DONE."""

    def fill(tmp: Path) -> str:
        write_json_atomic(tmp / "metrics.json", metrics)
        if embeddings is not None:
            np.savez_compressed(tmp / "embeddings.npz", cls=embeddings.astype(np.float16), labels=test_labels)
        return DONE

    return _publish(results_dir, config, fill)


def write_failed(results_dir: Path, config: RunConfig, error: BaseException) -> Path:
    """Publish a failed run: config.json, traceback.txt, then FAILED."""

    def fill(tmp: Path) -> str:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        (tmp / "traceback.txt").write_text(text)
        return FAILED

    return _publish(results_dir, config, fill)

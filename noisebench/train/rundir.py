"""Run directories: ``<results>/runs/<run_id>/`` with config.json, metrics.json, DONE written last.

A run directory is assembled under a temporary name and renamed into place, so a killed run
leaves no half-written directory under its final name. A failed run gets a directory with its
traceback and a FAILED marker instead of DONE; a later attempt replaces it.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from noisebench.io import atomic_dir, write_json_atomic
from noisebench.schema import RunConfig

DONE = "DONE"
FAILED = "FAILED"


def runs_root(results_dir: Path) -> Path:
    return Path(results_dir) / "runs"


def run_path(results_dir: Path, config: RunConfig) -> Path:
    return runs_root(results_dir) / config.run_id


def is_done(path: Path) -> bool:
    return (Path(path) / DONE).is_file()


def _publish(results_dir: Path, config: RunConfig, fill: Callable[[Path], str]) -> Path:
    """Build the run directory in a temporary sibling, then move it into place.

    ``fill`` writes the run's files into the temporary folder and returns the marker to write last.
    A FAILED (or unmarked) run directory is replaced; a DONE one is never (FileExistsError).
    """
    final = run_path(results_dir, config)
    with atomic_dir(final, overwrite=_replaceable, crash_name="run-write") as tmp:
        write_json_atomic(tmp / "config.json", config.to_dict())
        marker = fill(tmp)
        (tmp / marker).write_text("")
    return final


def _replaceable(existing: Path) -> bool:
    return not is_done(existing)


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

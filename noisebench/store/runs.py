"""Publishing run directories: ``<results>/runs/<run_id>/`` with config.json, metrics.json, DONE written last.

A run trained with ``save_model`` also holds ``model/``: its best-dev classifier and tokenizer
(``save_pretrained``, safetensors), which another run's ``init_from`` starts from
(:func:`resolve_init_from`).

A run directory is assembled under a temporary name and renamed into place, so a killed run
leaves no half-written directory under its final name. A failed run gets a directory with its
traceback and a FAILED marker instead of DONE; a later attempt replaces it.
"""

from __future__ import annotations

import os
import shutil
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from noisebench.errors import ModelError, OutputError
from noisebench.io import atomic_dir, write_json_atomic
from noisebench.schema import RunConfig
from noisebench.store.layout import (
    CONFIG_FILE,
    DONE,
    EMBEDDINGS_FILE,
    FAILED,
    METRICS_FILE,
    MODEL_DIR,
    RUN_ID,
    TRACEBACK_FILE,
    is_done,
    run_path,
    runs_root,
)

WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")


class SavableModel(Protocol):
    """A fine-tuned model that writes itself (weights, config, tokenizer) into a folder."""

    def save(self, folder: Path) -> None: ...


def _publish(results_dir: Path, config: RunConfig, fill: Callable[[Path], str]) -> Path:
    """Build the run directory in a temporary sibling, then move it into place.

    ``fill`` writes the run's files into the temporary folder and returns the marker to write last.
    A FAILED (or unmarked) run directory is replaced; a DONE one is never (FileExistsError).
    """
    final = run_path(results_dir, config)
    with atomic_dir(final, overwrite=_replaceable, crash_name="run-write") as tmp:
        write_json_atomic(tmp / CONFIG_FILE, config.to_dict())
        marker = fill(tmp)
        (tmp / marker).write_text("")
    return final


def _replaceable(existing: Path) -> bool:
    return not is_done(existing)


def write_done(
    results_dir: Path, config: RunConfig, metrics: dict[str, Any], embeddings: np.ndarray | None = None,
    test_labels: np.ndarray | None = None, *, model: SavableModel | None = None, logs: Mapping[str, Path] | None = None,
) -> Path:
    """Publish a finished run: config.json, metrics.json, optional embeddings.npz and model/, then DONE.

    ``logs``: folders moved into the run directory under their names (a tracker's, e.g. tb/).

    Raises:
        OutputError: a file could not be written (disk full, no permission: e.g. while saving the model);
            nothing is published as DONE, the run is marked FAILED with its metrics.json kept (if the disk
            lets that much be written) and the message says where.
        FileExistsError: the run is already DONE.
    """

    def fill(tmp: Path) -> str:
        write_json_atomic(tmp / METRICS_FILE, metrics)
        if embeddings is not None:
            np.savez_compressed(tmp / EMBEDDINGS_FILE, cls=embeddings.astype(np.float16), labels=test_labels)
        if model is not None:
            model.save(tmp / MODEL_DIR)
        for name, folder in (logs or {}).items():
            shutil.move(str(folder), tmp / name)
        return DONE

    try:
        return _publish(results_dir, config, fill)
    except FileExistsError:
        raise
    except OSError as error:
        raise OutputError(f"run {config.run_id}: writing it failed ({_reason(error)}); not published, {_keep_failed(results_dir, config, error, metrics)}") from error


def _reason(error: OSError) -> str:
    where = f": {error.filename}" if error.filename else ""
    return f"{error.strerror or type(error).__name__}{where}"


def _keep_failed(results_dir: Path, config: RunConfig, error: OSError, metrics: dict[str, Any]) -> str:
    """Mark the run FAILED keeping its metrics; says where they are, or that they could not be kept."""
    try:
        path = write_failed(results_dir, config, error, metrics=metrics)
    except OSError as again:
        return f"and its metrics could not be kept either ({_reason(again)})"
    return f"marked FAILED with its metrics kept in {path / METRICS_FILE}"


def write_failed(results_dir: Path, config: RunConfig, error: BaseException, *, metrics: dict[str, Any] | None = None) -> Path:
    """Publish a failed run: config.json, traceback.txt, the metrics of a run that trained but could not be
    published (``metrics``), then FAILED."""

    def fill(tmp: Path) -> str:
        text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
        (tmp / TRACEBACK_FILE).write_text(text)
        if metrics is not None:
            write_json_atomic(tmp / METRICS_FILE, metrics)
        return FAILED

    return _publish(results_dir, config, fill)


def resolve_init_from(init_from: str, results_dir: Path | None) -> Path:
    """The saved model folder that ``init_from`` names.

    ``init_from`` is a run_id (16 hex digits: ``<results>/runs/<run_id>``), a run directory, or a saved
    model folder (``config.json`` and weights, as ``save_pretrained`` writes them); a relative path is
    taken against ``results_dir`` (``..`` lexically). A run directory must be DONE and hold ``model/``
    (trained with save_model).

    Raises:
        ModelError: one line naming what was tried and why it is not a saved model.
    """
    if RUN_ID.fullmatch(init_from):
        path = runs_root(_results(init_from, results_dir)) / init_from
        tried = f"run {init_from} ({path})"
    else:
        path = Path(init_from).expanduser()
        if not path.is_absolute():
            path = Path(os.path.normpath(_results(init_from, results_dir) / path))  # the results folder may not exist yet
        tried = str(path)
    prefix = f"init_from {init_from!r}: tried {tried}"
    if not path.is_dir():
        missing = "no such run in this results folder (train the run with save_model first)" if RUN_ID.fullmatch(init_from) else "no such folder"
        raise ModelError(f"{prefix}: {'a file, not a folder' if path.exists() else missing}")
    if _is_run_dir(path):
        if not is_done(path):
            raise ModelError(f"{prefix}: the run is not finished (no {DONE} marker)")
        if not (path / MODEL_DIR).is_dir():
            raise ModelError(f"{prefix}: the run saved no model (no {MODEL_DIR}/; train it with save_model true)")
        path = path / MODEL_DIR
    if not (path / "config.json").is_file() or not any(  # a saved model's own config (save_pretrained)
           (path / name).is_file() for name in WEIGHT_FILES):
        raise ModelError(f"{prefix}: neither a finished run directory nor a saved model (config.json and {' or '.join(WEIGHT_FILES[::2])})")
    return path


def _results(init_from: str, results_dir: Path | None) -> Path:
    if results_dir is None:
        raise ModelError(f"init_from {init_from!r} is a run id or a relative path: it needs a results directory")
    return Path(results_dir)


def _is_run_dir(path: Path) -> bool:
    return any((path / name).exists() for name in (DONE, FAILED, MODEL_DIR)) or (path / METRICS_FILE).is_file()

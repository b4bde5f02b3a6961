"""Schema checks of a run's config.json and metrics.json: the one validator every reader goes through.

The readers in :mod:`noisebench.store.read` call :func:`check_config` and :func:`check_metrics` on every
file they return, so ``collect``, ``report``, ``plot`` and the analysis see well-typed values or one
:class:`~noisebench.errors.RunFileError` naming the run and the file. Checks are of types only, and
only of the keys present (legacy run directories lack some); ``task`` and ``method`` are required.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from noisebench.errors import RunFileError

SCALAR_METRICS = (
    "test_accuracy", "dev_accuracy", "noisy_dev_accuracy", "dev_noise_rate", "best_epoch", "realized_noise_rate", "n_corrupted", "n_dev",
    "n_test", "setup_time_s", "train_time_s", "eval_time_s", "wall_time_s",
)
"""The metrics that are one number each (or null)."""
HISTORY_COLUMNS = (
    "epoch", "train_loss", "dev_accuracy", "noisy_dev_accuracy", "test_accuracy", "train_acc_clean", "train_acc_corrupted_noisy",
    "train_acc_corrupted_true",
)
"""The numbers of one epoch's record in ``history`` (each a number or null)."""
METRIC_MAPPINGS = ("transition_matrix", "selections", "versions")
"""Metrics that are a JSON object (or null)."""

REQUIRED_TEXT = ("task", "method")
CONFIG_TEXT = ("model", "init_from", "noise_family", "noise_param", "weak_fit", "weak_model", "pooling", "precision", "selection")
CONFIG_INTEGERS = ("n_train", "data_seed", "noise_seed", "n_relabel", "train_seed", "epochs", "batch_size", "max_length", "dev_limit", "test_limit", "patience")
CONFIG_NUMBERS = ("noise_level", "lr", "warmup_ratio", "weight_decay")
CONFIG_FLAGS = ("pool_from_dev", "save_embeddings", "save_model", "test_every_epoch")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _refuse(where: str, key: str, value: Any, expected: str) -> None:
    shown = repr(value) if len(repr(value)) <= 40 else f"a {type(value).__name__}"
    raise RunFileError(f"{where}: {key} is {shown}, expected {expected}; remove the run folder or train it again")


def require_numbers(values: Mapping[str, Any], keys: Iterable[str], *, where: str) -> None:
    """Raise RunFileError unless every present ``keys`` of ``values`` is a finite real number (or null).

    Args:
        values: e.g. a run's metrics.
        keys: the scalar fields that must be numbers (``test_accuracy``, ``wall_time_s``, ...).
        where: names the file in the message, e.g. ``"run 2b6cf3156495dd24: metrics.json"``.
    """
    for key in keys:
        value = values.get(key)
        if value is not None and not _is_number(value):
            raise RunFileError(f"{where}: {key} is {value!r}, expected a finite number")


def _require_types(values: Mapping[str, Any], *, where: str) -> None:
    """The config's present keys have their types (text, integers, numbers, flags)."""
    kinds = (
        (CONFIG_TEXT, lambda v: isinstance(v, str), "text"),
        (CONFIG_INTEGERS, lambda v: _is_number(v) and float(v).is_integer(), "an integer"),
        (CONFIG_NUMBERS, _is_number, "a finite number"),
        (CONFIG_FLAGS, lambda v: isinstance(v, bool), "true or false"),
    )
    for keys, accepts, expected in kinds:
        for key in keys:
            value = values.get(key)
            if value is not None and not accepts(value):
                _refuse(where, key, value, expected)


def check_config(config: Mapping[str, Any], *, where: str) -> None:
    """A run's config.json: ``task`` and ``method`` are text, every other known key has its type, and
    ``method_params`` maps names to numbers (or nulls).

    Raises:
        RunFileError: naming ``where`` (the run and the file), the key and what was expected.
    """
    for key in REQUIRED_TEXT:
        if not isinstance(config.get(key), str) or not config[key]:
            _refuse(where, key, config.get(key), "a name (text)")
    _require_types(config, where=where)
    params = config.get("method_params")
    if params is None:
        return
    if not isinstance(params, Mapping):
        _refuse(where, "method_params", params, "a JSON object")
    for name, value in params.items():
        if value is not None and not _is_number(value):
            _refuse(where, f"method_params.{name}", value, "a finite number")


def check_metrics(metrics: Mapping[str, Any], *, where: str) -> None:
    """A run's metrics.json: scalar metrics are numbers, ``history`` a list of objects whose epoch numbers
    are numbers, and the mapping-valued metrics are objects (each may be missing or null).

    Raises:
        RunFileError: naming ``where`` (the run and the file), the key and what was expected.
    """
    require_numbers(metrics, SCALAR_METRICS, where=where)
    for key in METRIC_MAPPINGS:
        if metrics.get(key) is not None and not isinstance(metrics[key], Mapping):
            _refuse(where, key, metrics[key], "a JSON object")
    history = metrics.get("history")
    if history is None:
        return
    if not isinstance(history, list):
        _refuse(where, "history", history, "a list of per-epoch objects")
    for index, record in enumerate(history):
        if not isinstance(record, Mapping):
            _refuse(where, f"history[{index}]", record, "a JSON object")
        require_numbers(record, HISTORY_COLUMNS, where=f"{where}: history[{index}]")

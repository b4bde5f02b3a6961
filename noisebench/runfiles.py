"""Defensive reads of a run directory's JSON files: a damaged file is a RunFileError naming the run."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from noisebench.errors import RunFileError


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


def require_numbers(values: dict[str, Any], keys: Iterable[str], *, where: str) -> None:
    """Raise RunFileError unless every present ``keys`` of ``values`` is a finite real number (or null).

    Args:
        values: e.g. a run's metrics.
        keys: the scalar fields that must be numbers (``test_accuracy``, ``wall_time_s``, ...).
        where: names the file in the message, e.g. ``"run 2b6cf3156495dd24: metrics.json"``.
    """
    for key in keys:
        value = values.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise RunFileError(f"{where}: {key} is {value!r}, expected a finite number")

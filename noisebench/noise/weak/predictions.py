"""``predictions``: a user's own per-class probabilities (their model's, an LLM's) read from a file, not fitted.

The file is CSV or Parquet (by extension: ``.csv``, ``.parquet``/``.pq``) with a column ``id`` (the
task's example ids) and one probability column per class, named ``prob_<label name>`` (e.g.
``prob_negative``, ``prob_positive``) or, for every class alike, ``prob_<class index>`` (``prob_0``,
``prob_1``). Each row must be non-negative and sum to 1 (within 1e-6); its ids must cover every
relabelled example. Nothing is fitted, so every fit mode gives the same scores (noise.json says
``fitted: false``); dev accuracy is measured on the dev examples the file covers (None if none).
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from noisebench.errors import DataError
from noisebench.noise.weak.base import WeakLabeller, WeakOption, WeakScorer

ROW_SUM_TOLERANCE = 1e-6
PREFIX = "prob_"
READERS = {".csv": lambda data: pd.read_csv(data, dtype={"id": str}), ".parquet": pd.read_parquet, ".pq": pd.read_parquet}


@dataclass(frozen=True)
class PredictionTable(WeakScorer):
    """Validated probabilities from a file: one row per id (as a string), one column per class in class order."""

    path: str
    probabilities: pd.DataFrame
    sha256: str

    def log_probs(self, frame: pd.DataFrame) -> np.ndarray:
        ids = frame["id"].astype(str)
        missing = ~ids.isin(self.probabilities.index)
        if missing.any():
            raise DataError(
                f"predictions file {self.path}: no row for {int(missing.sum())} of the {len(frame)} examples to score "
                f"(e.g. id {ids[missing].iloc[0]}); its ids must cover every relabelled example"
            )
        with np.errstate(divide="ignore"):
            return np.log(self.probabilities.loc[ids.to_numpy()].to_numpy(dtype=float))

    def accuracy(self, frame: pd.DataFrame) -> float | None:
        """Accuracy on the examples of ``frame`` that the file covers (None if it covers none)."""
        return super().accuracy(frame[frame["id"].astype(str).isin(self.probabilities.index)])

    def provenance(self) -> dict[str, Any]:
        return {"sha256": self.sha256}


def read_predictions(path: str, label_names: tuple[str, ...]) -> PredictionTable:
    """Read and check a predictions file; every problem is one DataError line naming the file."""
    where = f"predictions file {path}"
    data, sha256 = _read_bytes(Path(path), where)
    table = _parse(data, Path(path).suffix.lower(), where)
    if "id" not in table.columns:
        raise DataError(f"{where}: no id column (columns: {', '.join(map(str, table.columns))})")
    columns = _class_columns([str(c) for c in table.columns], label_names, where)
    ids = table["id"].astype(str)
    if ids.duplicated().any():
        raise DataError(f"{where}: id {ids[ids.duplicated()].iloc[0]} appears more than once")
    probabilities = _probabilities(table, columns, ids, where)
    return PredictionTable(path, probabilities, sha256)


def _read_bytes(path: Path, where: str) -> tuple[bytes, str]:
    if path.suffix.lower() not in READERS:
        raise DataError(f"{where}: expected a .csv or .parquet file (read by its extension)")
    if not path.is_file():
        raise DataError(f"{where}: not found" if not path.exists() else f"{where}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{where}: unreadable: {exc.strerror or exc}") from exc
    return data, hashlib.sha256(data).hexdigest()


def _parse(data: bytes, suffix: str, where: str) -> pd.DataFrame:
    if not data.strip():
        raise DataError(f"{where}: the file is empty")
    try:
        table = READERS[suffix](io.BytesIO(data))
    except pd.errors.EmptyDataError:
        raise DataError(f"{where}: the file is empty") from None
    except (ValueError, OSError, ImportError) as exc:  # parser, encoding and Arrow errors are ValueErrors
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise DataError(f"{where}: unreadable as {suffix.lstrip('.')}: {type(exc).__name__}: {reason}") from None
    if table.empty:
        raise DataError(f"{where}: no rows")
    return table


def _class_columns(columns: list[str], label_names: tuple[str, ...], where: str) -> list[str]:
    """The probability column of each class, in class order: all ``prob_<label name>`` or all ``prob_<index>``."""
    found = [c for c in columns if c.startswith(PREFIX)]
    by_name = [f"{PREFIX}{name}" for name in label_names]
    by_index = [f"{PREFIX}{k}" for k in range(len(label_names))]
    for expected in (by_name, by_index):
        if sorted(found) == sorted(expected):
            return expected
    raise DataError(
        f"{where}: {len(found)} probability columns ({', '.join(found) or 'none'}) for a task with {len(label_names)} classes; "
        f"expected {', '.join(by_name)} (or {', '.join(by_index)})"
    )


def _probabilities(table: pd.DataFrame, columns: list[str], ids: pd.Series, where: str) -> pd.DataFrame:
    """The class columns as floats indexed by id, each row checked: numbers, non-negative, summing to 1."""
    values = table[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    for bad, problem in (
        (~np.isfinite(values).all(axis=1), "a missing or non-numeric probability"),
        ((values < 0).any(axis=1), "a negative probability"),
        (np.abs(values.sum(axis=1) - 1.0) > ROW_SUM_TOLERANCE, f"probabilities that do not sum to 1 (tolerance {ROW_SUM_TOLERANCE:g})"),
    ):
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            row = ", ".join(f"{c}={table[c].iloc[i]}" for c in columns)
            raise DataError(f"{where}: {int(bad.sum())} rows have {problem}, e.g. id {ids.iloc[i]}: {row}")
    return pd.DataFrame(values, index=pd.Index(ids.to_numpy(), name="id"), columns=range(len(columns)))


class Predictions(WeakLabeller):
    """Scores a user brings: the noise follows their model's (or an LLM's) confusions."""

    name: ClassVar[str] = "predictions"
    description: ClassVar[str] = (
        "a file of per-class probabilities (CSV or Parquet: id, prob_<label name> or prob_<class index>); "
        "not fitted, so every fit mode gives the same scores"
    )
    options: ClassVar[tuple[WeakOption, ...]] = (
        WeakOption("file", "CSV or Parquet with id and one prob_<label name> (or prob_<class index>) column per class", kind="file"),
    )
    fits_to_data: ClassVar[bool] = False

    def fit(self, train: pd.DataFrame, *, label_names: tuple[str, ...], seed: int, options: Mapping[str, str]) -> PredictionTable:
        return read_predictions(options["file"], label_names)

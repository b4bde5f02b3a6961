"""Rater tables: every rater's label for every example, read from a file and attached to a task's frame.

A rater table has one row per (example, rater): ``id`` (the example's id in the task), ``rater`` (any
id) and ``label`` (a class name or raw label value, as in the task's data; empty = the rater abstained).
This is the common form of multi-annotator data (ChaosNLI, CIFAR-10N-style tables), so a task reads one
from a file; vader's scores are turned into one (:func:`noisebench.data.vader.vader_rater_table`).

The contract other modules rely on: :func:`attach_ratings` gives the task frame a :data:`RATINGS_COLUMN`
holding, per example, a tuple of class ids (0..K-1), one per rater in rater-id order, with
:data:`ABSTAIN` for a rater who abstained; an example no rater labelled gets an empty tuple. The
annotator noise family reads nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from noisebench.errors import DataError

RATINGS_COLUMN = "ratings"
ABSTAIN = -1
"""The class id of a rater who gave no label (an empty cell, or a neutral vader score)."""
TABLE_COLUMNS = ("id", "rater", "label")


def read_rater_table(path: Path) -> pd.DataFrame:
    """The rater table in ``path`` (CSV or Parquet, by extension) as ``id, rater, label``.

    CSV cells are read as strings (an id ``007`` stays ``007``); :func:`attach_ratings` matches ids and
    labels by their string form, so either format works with integer or string ids and labels.
    """
    path = Path(path)
    name = path.name.lower()
    try:
        if name.endswith((".csv", ".csv.gz")):
            table = pd.read_csv(path, dtype=str, keep_default_na=False, na_values={"label": [""]})
        elif name.endswith((".parquet", ".pq")):
            table = pd.read_parquet(path)
        else:
            raise DataError(f"rater table {path}: expected a .csv or .parquet file")
    except pd.errors.EmptyDataError:
        raise DataError(f"rater table {path} is empty") from None
    except (OSError, ValueError) as exc:
        detail = " ".join(str(exc).split())
        raise DataError(f"cannot read rater table {path}: {type(exc).__name__}: {detail}") from exc
    check_rater_table(table, str(path))
    return table.loc[:, list(TABLE_COLUMNS)]


def check_rater_table(table: pd.DataFrame, where: str) -> None:
    """Raise a one-line DataError if ``table`` lacks a column, has no rows, or rows without an id or
    rater, or rates an example twice by one rater (a rater's vote would then count twice)."""
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        present = ", ".join(map(str, table.columns)) or "none"
        raise DataError(f"rater table {where} has no column {', '.join(missing)} (it needs id, rater, label; its columns: {present})")
    if table.empty:
        raise DataError(f"rater table {where} is empty")
    keys = table[["id", "rater"]]
    blank = (keys.isna() | (keys.astype(str).apply(lambda column: column.str.strip()) == "")).any(axis=1).to_numpy()
    if blank.any():
        raise DataError(f"rater table {where}: {int(blank.sum())} rows have no id or rater (the first is data row {int(np.argmax(blank)) + 1})")
    twice = table.duplicated(["id", "rater"])
    if twice.any():
        first = table[twice].iloc[0]
        raise DataError(
            f"rater table {where} has {int(twice.sum())} duplicate (id, rater) pairs "
            f"(e.g. example {first['id']!r} by rater {first['rater']!r})"
        )


def attach_ratings(frame: pd.DataFrame, table: pd.DataFrame, label_ids: Mapping[object, int], *, where: str) -> pd.DataFrame:
    """``frame`` with its :data:`RATINGS_COLUMN`: per example, its raters' class ids in rater-id order.

    ``label_ids`` maps a raw label value (a class name, or an int as in the task's data) to its class id;
    a table label matches a key or the key's string form, so a CSV's ``"1"`` finds the key ``1``. Every
    table row must name an example of ``frame`` (a rater table for the wrong task is an error, not an
    empty column). ``where`` names the table's source in error messages.
    """
    check_rater_table(table, where)
    ids = table["id"].map(_key).to_numpy()
    known = frame["id"].map(_key)
    unknown = pd.unique(ids[~pd.Series(ids).isin(known).to_numpy()])
    if len(unknown):
        raise DataError(f"rater table {where} names {len(unknown)} unknown examples (e.g. {unknown[0]!r})")
    per_example = _group_by_example(ids, table["rater"], _class_ids(table["label"], label_ids, where))
    result = frame.copy()
    result[RATINGS_COLUMN] = [per_example.get(k, ()) for k in known]
    return result


def _group_by_example(ids: np.ndarray, raters: pd.Series, class_ids: np.ndarray) -> dict[str, tuple[int, ...]]:
    """``{example id: its raters' class ids}``, each tuple in rater-id order so that it does not depend
    on the table's row order."""
    by_rater = np.argsort(_sortable(raters).to_numpy(), kind="stable")
    order = by_rater[np.argsort(ids[by_rater], kind="stable")]
    ids, class_ids = ids[order], class_ids[order]
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
    chunks = np.split(class_ids, starts[1:])
    return {ids[s]: tuple(chunk.tolist()) for s, chunk in zip(starts, chunks)}


def _class_ids(labels: pd.Series, label_ids: Mapping[object, int], where: str) -> np.ndarray:
    """Each label's class id (:data:`ABSTAIN` where empty); an unknown label is a DataError naming it."""
    lookup = {_key(raw): int(cid) for raw, cid in label_ids.items()}
    codes, values = pd.factorize(labels, use_na_sentinel=True)
    known = ", ".join(dict.fromkeys(map(str, label_ids)))
    ids = []
    for value in values:
        if _key(value) not in lookup and _key(value) != "":
            raise DataError(f"rater table {where}: label {value!r} is not one of the task's labels ({known})")
        ids.append(lookup.get(_key(value), ABSTAIN))
    return np.array([*ids, ABSTAIN], dtype=np.int64)[codes]  # code -1 (a missing label) takes the last: ABSTAIN


def _key(value: object) -> str:
    """How an id or label is matched: its string form, an integral float (a Parquet int column with
    nulls) written as the integer."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value).strip()


def _sortable(raters: pd.Series) -> pd.Series:
    """Rater ids in a sortable form: numbers as numbers (rater 10 after rater 9), anything mixed as text."""
    return raters.astype(str) if raters.dtype == object else raters

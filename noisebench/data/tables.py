"""Read a user's data table (CSV, TSV, JSON Lines or Parquet, by extension) with one-line errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from noisebench.errors import DataError

OBSERVED_COLUMN = "observed_label"
"""A split's column holding each example's published noisy label (class ids) beside ``label``, the clean
one: a task declared with ``noisy_label: COLUMN`` has it (the ``observed`` noise family reads it)."""

READERS = {
    ".csv": lambda path: pd.read_csv(path, keep_default_na=False, na_values=[""]),
    ".tsv": lambda path: pd.read_csv(path, sep="\t", keep_default_na=False, na_values=[""], quoting=3),
    ".jsonl": lambda path: pd.read_json(path, lines=True, dtype=False),
    ".parquet": pd.read_parquet,
}
"""Extension -> reader. Only empty cells are missing values ("NA" and "null" are text); TSV has no quoting."""


def read_table(path: Path | str, *, what: str = "data file") -> pd.DataFrame:
    """The table at ``path``; an unknown extension, unreadable, malformed or empty file is a DataError."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DataError(f"{what} {path}: unknown format {path.suffix or '(no extension)'!r}; use {', '.join(READERS)}")
    if not path.is_file():
        raise DataError(f"{what} {path}: no such file")
    try:
        frame = reader(path)
    except pd.errors.EmptyDataError:
        raise DataError(f"{what} {path}: the file is empty") from None
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{what} {path}: cannot read it as {path.suffix.lstrip('.').upper()}: {reason}") from None
    except Exception as exc:  # pyarrow's errors on a damaged Parquet file are not ValueErrors
        raise DataError(f"{what} {path}: cannot read it: {type(exc).__name__}: {' '.join(str(exc).split())}") from None
    if frame.empty:
        raise DataError(f"{what} {path}: no rows")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def require_columns(frame: pd.DataFrame, columns: dict[str, str], *, where: str) -> None:
    """Raise DataError unless every column named in ``columns`` (role -> column) is in ``frame``."""
    missing = [f"{role} column {column!r}" for role, column in columns.items() if column not in frame.columns]
    if missing:
        raise DataError(f"{where}: no {', '.join(missing)}; columns present: {', '.join(map(str, frame.columns))}")

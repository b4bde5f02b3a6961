"""Number and table formats of the report (see :mod:`noisebench.analysis.report` for the formats), and its constants."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.keys import NOISE_SETUP_KEYS, TRAINING_KEYS
from noisebench.analysis.stats import BASE_KEYS
from noisebench.analysis.values import is_missing

ALPHA: float = 0.05
"""Level of the ``significant`` column and of the replication rule."""
PAPER_ENCODER: str = "roberta-large"
TOP_K: int = 3


def _pct(x: Any, digits: int = 2) -> str:
    return "n/a" if is_missing(x) else f"{float(x) * 100:.{digits}f}"


def _pp(x: Any) -> str:
    return "n/a" if is_missing(x) else f"{float(x) * 100:+.2f}"


def _delta_ci(d: Any, lo: Any, hi: Any) -> str:
    if is_missing(d):
        return "n/a"
    return f"{_pp(d)} " + ("[n/a]" if is_missing(lo) or is_missing(hi) else f"[{_pp(lo)}, {_pp(hi)}]")


def _n(x: Any) -> str:
    return "all" if is_missing(x) else f"{float(x):g}"


def _g(x: Any) -> str:
    return "—" if is_missing(x) else f"{float(x):g}"


def _noise(row: Mapping[str, Any]) -> str:
    return prepare.noise_label(row.get("noise_family"), row.get("noise_param"), row.get("noise_level"))


_VARIANT_KEYS: tuple[str, ...] = NOISE_SETUP_KEYS + TRAINING_KEYS


def _variant_keys(table: pd.DataFrame) -> list[str]:
    """Setting keys beyond task, model, N and level that take several values in ``table`` (shown as a column)."""
    return [k for k in _VARIANT_KEYS if k in table.columns and table[k].dropna().astype(str).nunique() > 1]


def _variant(row: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """The ``setting`` cell of a row when some keys vary (empty list otherwise)."""
    if not keys:
        return []
    parts = [f"{k.replace('_', ' ')} {_g(row.get(k)) if k == 'n_relabel' else row.get(k)}"
             for k in keys if not is_missing(row.get(k))]
    return [", ".join(parts) or "—"]


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def _values(table: pd.DataFrame, column: str) -> str:
    vals = table[column].dropna().unique().tolist() if column in table.columns else []
    try:
        vals = sorted(vals)
    except TypeError:
        vals = sorted(map(str, vals))
    shown = [_g(v) if isinstance(v, (int, float, np.integer, np.floating)) else str(v) for v in vals]
    return ", ".join(shown) if shown else "n/a"


def _select(frame: pd.DataFrame, key: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of ``frame`` equal to ``key`` on every column it has (NaN matches NaN)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in key.items():
        if column in frame.columns:
            mask &= frame[column].isna() if is_missing(value) else frame[column] == value
    return frame[mask]


def _realised(table: pd.DataFrame, row: Mapping[str, Any]) -> float:
    if "realized_noise_rate" not in table.columns:
        return math.nan
    values = pd.to_numeric(_select(table, {k: row.get(k) for k in BASE_KEYS})["realized_noise_rate"], errors="coerce")
    return float(values.mean()) if values.notna().any() else math.nan

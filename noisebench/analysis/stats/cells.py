"""Cells of the paired analysis: the keys that identify one, and baseline/treatment runs matched by seed triple."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis.keys import PANEL_KEYS, SEED_KEYS, SETTING_KEYS, with_setting_keys
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE, hyper_parameter_names

#: Keys of a setting; the baseline runs are grouped by these alone.
BASE_KEYS: tuple[str, ...] = SETTING_KEYS
#: Which two methods a cell compares.
METHOD_KEYS: tuple[str, ...] = ("baseline_method", "treatment_method")
#: Columns every table needs (the others of :data:`BASE_KEYS` may be absent from a legacy table).
REQUIRED_KEYS: tuple[str, ...] = PANEL_KEYS + ("noise_family", "noise_level")



def cell_keys() -> tuple[str, ...]:
    """Columns that identify a cell: the setting, the two methods, every hyper-parameter."""
    return BASE_KEYS + METHOD_KEYS + hyper_parameter_names()


def holm_family_keys() -> tuple[str, ...]:
    """Cell keys shared by one Holm family of :func:`compare_methods`: all but the level and the treatment.

    So one family holds every (treatment variant × noise level) cell of one noise family in one
    (task, model, n_train, weak_fit, n_relabel, pooling) against one baseline; levels given as the
    family's own parameter and as target rates are levels of the same family.
    """
    varying = ("noise_param", "noise_level", "treatment_method") + hyper_parameter_names()
    return tuple(k for k in cell_keys() if k not in varying)


def _with_hyper_parameters(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a NaN column for every registered hyper-parameter and optional setting key it lacks."""
    missing = [c for c in hyper_parameter_names() if c not in table.columns]
    return with_setting_keys(table.assign(**{c: np.nan for c in missing}) if missing else table)



# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def _require_columns(table: pd.DataFrame, columns: Iterable[str], *, where: str) -> None:
    """Raise ``ValueError`` naming every column of ``columns`` missing from ``table``."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(table).__name__}")
    missing = sorted({c for c in columns if c not in table.columns})
    if missing:
        raise ValueError(
            f"{where}: results table is missing required column(s): {', '.join(missing)}"
        )


def _require_finite(table: pd.DataFrame, column: str, *, where: str) -> None:
    """Raise ``ValueError`` naming the runs whose ``column`` is NaN/missing."""
    values = pd.to_numeric(table[column], errors="coerce")
    bad = table.loc[values.isna(), "run_id"].tolist()
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        raise ValueError(f"{where}: column {column!r} is missing/NaN for run(s): {shown}")


def _scalar(value: Any) -> Any:
    """NumPy scalar -> Python scalar; None/NA -> float NaN."""
    if value is None or value is pd.NA:
        return float("nan")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hashable(values: Iterable[Any]) -> tuple:
    """Dict key in which every NaN becomes ``None`` (NaN != NaN breaks look-ups)."""
    return tuple(None if is_missing(v) else _scalar(v) for v in values)


def _sort_key(values: tuple) -> tuple:
    """Order keys deterministically, None (NaN) first within a position."""
    return tuple((v is not None, v if v is not None else 0) for v in values)


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> dict[tuple, pd.DataFrame]:
    """Group ``frame`` by ``keys`` keeping NaN keys; map hashable key -> sub-frame."""
    if frame.empty:
        return {}
    out: dict[tuple, pd.DataFrame] = {}
    for key, group in frame.groupby(list(keys), dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        out[_hashable(key)] = group
    return out


def _std(values: np.ndarray) -> float:
    """Sample standard deviation (ddof=1); NaN for fewer than 2 values."""
    return float(np.std(values, ddof=1)) if len(values) >= 2 else float("nan")



# --------------------------------------------------------------------------
# pairing
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PairedCell:
    """Baseline and treatment runs of one cell, matched by seed triple.

    ``key`` maps every column of :func:`cell_keys` to its value (NaN for a clean cell's
    ``noise_level``, for hyper-parameters the treatment lacks, and for the treatment of a
    setting that has baseline runs only). ``baseline``/``treatment`` hold the metric of the
    paired runs aligned with ``seeds``; ``unpaired_*`` the run_ids of each side without a partner.
    """

    key: dict[str, Any]
    metric: str
    seeds: tuple[tuple[Any, ...], ...]
    baseline: np.ndarray
    treatment: np.ndarray
    baseline_run_ids: tuple[Any, ...]
    treatment_run_ids: tuple[Any, ...]
    unpaired_baseline: tuple[Any, ...]
    unpaired_treatment: tuple[Any, ...]

    @property
    def n_pairs(self) -> int:
        return len(self.seeds)

    @property
    def differences(self) -> np.ndarray:
        """Per-pair ``treatment - baseline``."""
        return self.treatment - self.baseline


def _seed_map(group: pd.DataFrame | None, *, where: str) -> dict[tuple, pd.Series]:
    """Map seed triple -> row, raising on duplicate seed triples."""
    out: dict[tuple, pd.Series] = {}
    duplicates: list[Any] = []
    for _, row in (group if group is not None else pd.DataFrame()).iterrows():
        seed = _hashable(row[k] for k in SEED_KEYS)
        if seed in out:
            duplicates.extend([out[seed]["run_id"], row["run_id"]])
        out[seed] = row
    if duplicates:
        raise ValueError(
            f"{where}: several runs share one (data_seed, noise_seed, train_seed) in one cell, "
            f"so pairing is ambiguous (filter the table to one training configuration): "
            f"{', '.join(map(str, dict.fromkeys(duplicates)))}"
        )
    return out


def _pair(key: dict[str, Any], base: pd.DataFrame | None, treat: pd.DataFrame | None, metric: str) -> PairedCell:
    where = f"paired_cells(cell={tuple(key.values())})"
    base_rows, treat_rows = _seed_map(base, where=where), _seed_map(treat, where=where)
    common = sorted(set(base_rows) & set(treat_rows), key=_sort_key)
    only_base = sorted(set(base_rows) - set(treat_rows), key=_sort_key)
    only_treat = sorted(set(treat_rows) - set(base_rows), key=_sort_key)
    return PairedCell(
        key={k: float("nan") if v is None else v for k, v in key.items()},
        metric=metric,
        seeds=tuple(common),
        baseline=np.array([float(base_rows[s][metric]) for s in common], dtype=float),
        treatment=np.array([float(treat_rows[s][metric]) for s in common], dtype=float),
        baseline_run_ids=tuple(_scalar(base_rows[s]["run_id"]) for s in common),
        treatment_run_ids=tuple(_scalar(treat_rows[s]["run_id"]) for s in common),
        unpaired_baseline=tuple(_scalar(base_rows[s]["run_id"]) for s in only_base),
        unpaired_treatment=tuple(_scalar(treat_rows[s]["run_id"]) for s in only_treat),
    )


def paired_cells(
    table: pd.DataFrame,
    *,
    metric: str = "test_accuracy",
    baseline: str = BASELINE,
    treatments: Sequence[str] | None = None,
) -> list[PairedCell]:
    """Split the results table into cells and pair each treatment's runs with the baseline's by seed triple.

    Parameters
    ----------
    table
        Tidy results table. Needs ``run_id``, ``method``, :data:`REQUIRED_KEYS`, :data:`SEED_KEYS`
        and ``metric``; missing hyper-parameter and optional setting columns count as NaN.
    metric
        Column compared (must be non-NaN on every baseline/treatment row).
    baseline, treatments
        Values of ``method``; ``treatments=None`` means every other method in the table.

    Returns
    -------
    list of PairedCell
        One per treatment variant of each setting, paired against the setting's baseline runs
        (the baseline's own hyper-parameters are ignored). A setting with baseline runs only
        yields one cell with a NaN treatment and ``n_pairs = 0``; so does a treatment variant
        without baseline runs. Sorted by key (NaN first).
    """
    where = "paired_cells"
    _require_columns(table, ("run_id", "method", metric) + REQUIRED_KEYS + SEED_KEYS, where=where)
    table = _with_hyper_parameters(table)
    if treatments is None:
        treatments = [m for m in dict.fromkeys(table["method"]) if m != baseline]
    rows = table[table["method"].isin([baseline, *treatments])]
    _require_finite(rows, metric, where=where)
    hps = hyper_parameter_names()
    base_groups = _groups(rows[rows["method"] == baseline], BASE_KEYS)
    treat_groups = _groups(rows[rows["method"].isin(list(treatments))], BASE_KEYS + ("method",) + hps)
    cells: list[PairedCell] = []
    n_base = len(BASE_KEYS)
    for key, treat in treat_groups.items():
        cell = {**dict(zip(BASE_KEYS, key)), "baseline_method": baseline, "treatment_method": key[n_base],
                **dict(zip(hps, key[n_base + 1:]))}
        cells.append(_pair(cell, base_groups.get(key[:n_base]), treat, metric))
    used = {key[:n_base] for key in treat_groups}
    for key, base in base_groups.items():
        if key not in used:
            cell = {**dict(zip(BASE_KEYS, key)), "baseline_method": baseline, "treatment_method": None,
                    **dict.fromkeys(hps)}
            cells.append(_pair(cell, base, None, metric))
    cells.sort(key=lambda c: _sort_key(_hashable(c.key.values())))
    return cells



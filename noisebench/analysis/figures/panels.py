"""Panels of a figure: one per (task, model, N, pooling, noise family and level parameter, weak fit, n_relabel), and their titles."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.figures.style import (
    PANEL_NOISE_KEYS,
    _fmt_n,
)
from noisebench.analysis.keys import (
    NOISE_SETUP_KEYS,
    PANEL_KEYS,
    TRAINING_KEYS,
)
from noisebench.analysis.values import is_missing
from noisebench.noise.families import is_clean


def panels(frame: pd.DataFrame) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """One ``(key, rows)`` per (task, model, n_train, pooling) and noisy (family, noise_param, weak_fit, n_relabel),
    the clean rows of its (task, model, n_train, pooling) in each.

    So temperature levels and target rates of one family are two panels sharing one clean anchor.
    A (task, model, n_train, pooling) with clean rows only is one panel.
    """
    out = []
    for key, group in prepare.groups(frame, PANEL_KEYS + TRAINING_KEYS):
        clean_rows = group["noise_family"].map(is_clean)
        clean = group[clean_rows]
        noisy = list(prepare.groups(group[~clean_rows], PANEL_NOISE_KEYS))
        for noise_key, rows in noisy or [(dict.fromkeys(PANEL_NOISE_KEYS), group.iloc[0:0])]:
            out.append(({**key, **noise_key}, pd.concat([rows, clean])))
    return out


def _matches(frame: pd.DataFrame, key: Mapping[str, Any]) -> pd.Series:
    """Rows of ``frame`` equal to ``key`` on each of its columns ``frame`` has (NaN matches NaN)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in key.items():
        if column in frame.columns:
            mask &= frame[column].map(is_missing) if is_missing(value) else frame[column] == value
    return mask


def _rates_by_level(rates: pd.DataFrame, key: Mapping[str, Any]) -> dict[float, float]:
    """Mean realised rate per level of one panel (its task, N and noise keys)."""
    rows = rates[_matches(rates, {k: key.get(k) for k in ("task", "n_train", *PANEL_NOISE_KEYS)})]
    return dict(zip(rows["noise_level"].astype(float), rows["mean"]))


def _varying(found: Sequence[tuple[Mapping[str, Any], pd.DataFrame]]) -> list[str]:
    """Panel keys beyond (task, model, N) whose set values differ between panels (shown in the titles)."""
    return [k for k in (*NOISE_SETUP_KEYS, *TRAINING_KEYS)
            if len({str(key.get(k)) for key, _ in found if not is_missing(key.get(k))}) > 1]


def _variant(key: Mapping[str, Any], varying: Sequence[str]) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {_fmt_n(key[k]) if k == 'n_relabel' else key[k]}"
                     for k in varying if not is_missing(key.get(k)))


def _noise_title(key: Mapping[str, Any], varying: Sequence[str]) -> str:
    """``<family> noise`` of a panel (target-rate axes do not name it) and its varying setting keys."""
    family = key.get("noise_family")
    noise = "clean labels" if is_missing(family) or is_clean(family) else f"{family} noise"
    variant = _variant(key, varying)
    return f"{noise}, {variant}" if variant else noise


def _count_text(counts: Iterable[int], unit: str = "run") -> str:
    counts = [int(c) for c in counts if c > 0]
    if not counts:
        return f"no {unit}s"
    lo, hi = min(counts), max(counts)
    return f"n = {hi} {unit}{'s' if hi > 1 else ''} per point" if lo == hi else f"n = {lo}–{hi} {unit}s per point"

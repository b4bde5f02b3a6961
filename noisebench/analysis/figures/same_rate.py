"""Same rate, different noise: each method's test accuracy under every noise family that ran at one target rate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from noisebench.analysis import prepare
from noisebench.analysis.figures.panels import _count_text
from noisebench.analysis.figures.style import MIN_RUNS_FOR_BAND, PANEL_SIZE, _axes, _colors, _grid, _panel_title
from noisebench.analysis.keys import PANEL_KEYS, TRAINING_KEYS
from noisebench.analysis.stats import family_order, same_rate_levels
from noisebench.analysis.values import is_missing
from noisebench.noise.families import is_clean

MARKERS: tuple[str, ...] = ("o", "s", "^", "D", "v", "P", "X")
"""One marker per method label (in colour order), so methods stay apart in print too."""
CLEAN_TICK = "clean"
_CHAR_WIDTH_IN = 0.08
"""About the width of one tick-label character (10 pt), to tell whether family names fit side by side."""
_CATEGORY_WIDTH_IN = 1.5


def _category(row: Mapping[str, Any]) -> tuple[Any, str]:
    """A row's x position key: (None, "") for the clean anchor, else (noise family, set-up text)."""
    return (None, "") if is_clean(row["noise_family"]) else (row["noise_family"], prepare.noise_setup_text(row))


def _categories(summary: pd.DataFrame) -> list[tuple[Any, str]]:
    """(noise family, set-up text) of each x position: the clean anchor, then the families in :func:`family_order`."""
    clean = summary["noise_family"].map(is_clean)
    noisy = summary[~clean]
    setups = {f: sorted({prepare.noise_setup_text(r) for r in rows.to_dict("records")}) for f, rows in noisy.groupby("noise_family")}
    out: list[tuple[Any, str]] = [(None, "")] if clean.any() else []
    return out + [(f, setup) for f in family_order(setups) for setup in setups[f]]


def _tick(category: tuple[Any, str], n_setups: int, rates: Mapping[tuple[Any, str], float] | None) -> str:
    family, setup = category
    if is_clean(family):
        return CLEAN_TICK
    name = f"{family}\n({setup})" if n_setups > 1 and setup else str(family)
    rate = (rates or {}).get(category)
    return name if rate is None or is_missing(rate) else f"{name}\n{rate:.1%}"


def draw_same_rate(summary: pd.DataFrame, *, rates: Mapping[tuple[Any, str], float] | None = None,
                   ax: Axes | None = None) -> Axes:
    """Mean test accuracy (%) per noise family at one matched level, one marker and colour per method label.

    ``summary``: :func:`~noisebench.analysis.prepare.cell_summary` rows of one level of
    :func:`~noisebench.analysis.stats.same_rate_levels` and of its clean anchor. x: the clean anchor
    (when present), then each family (:func:`~noisebench.analysis.stats.family_order`, a control next to
    the family it controls); a method's points are dodged apart, each with its t-interval bar from
    :data:`MIN_RUNS_FOR_BAND` runs (its runs as dots below). A dashed line per method marks its clean mean.
    ``rates``: (family, set-up text) -> mean realised noise rate, shown under the family's name.
    """
    ax = _axes(ax)
    categories = _categories(summary)
    position = {c: float(i) for i, c in enumerate(categories)}
    colors = _colors(summary, "method_label", "method")
    labels = list(colors)
    width = min(0.5, 0.18 * len(labels))
    for i, label in enumerate(labels):
        rows = summary[summary["method_label"] == label]
        shift = (i - (len(labels) - 1) / 2) * (width / max(len(labels) - 1, 1))
        x = np.array([position[_category(r)] for r in rows.to_dict("records")]) + shift
        mean, low, high = (rows[c].to_numpy(dtype=float) * 100 for c in ("mean", "ci_low", "ci_high"))
        color, marker = colors[label], MARKERS[i % len(MARKERS)]
        ax.plot(x, mean, linestyle="none", marker=marker, markersize=7, color=color, label=str(label))
        banded = (rows["n"].to_numpy() >= MIN_RUNS_FOR_BAND) & np.isfinite(low) & np.isfinite(high)
        ax.errorbar(x[banded], mean[banded], yerr=[mean[banded] - low[banded], high[banded] - mean[banded]], fmt="none",
                    color=color, capsize=3, linewidth=1.2)
        dots = [(xi, v * 100) for xi, vs in zip(x[~banded], rows["values"].to_numpy()[~banded]) for v in vs]
        if dots:
            ax.scatter(*zip(*dots), s=12, color=color, alpha=0.6, linewidths=0, label="_runs " + str(label))
        clean = rows["noise_family"].map(is_clean).to_numpy()
        if clean.any():
            ax.axhline(float(mean[clean][0]), color=color, linestyle="--", linewidth=0.9, alpha=0.6,
                       label="_clean " + str(label))
    _x_axis(ax, categories, rates)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, axis="y", alpha=0.3)
    handles = ax.get_legend_handles_labels()[0]
    if summary["noise_family"].map(is_clean).any():
        handles.append(Line2D([], [], color="0.4", linestyle="--", linewidth=0.9, label="clean mean (per method)"))
    ax.legend(handles=handles, fontsize=8, loc="best")
    return ax


def _x_axis(ax: Axes, categories: Sequence[tuple[Any, str]], rates: Mapping[tuple[Any, str], float] | None) -> None:
    """Family names as tick labels (rotated when long), the clean anchor set apart by a dotted line."""
    counts = Counter(f for f, _ in categories)
    ticks = [_tick(c, counts[c[0]], rates) for c in categories]
    ax.set_xticks(range(len(categories)), ticks)
    ax.set_xlim(-0.6, len(categories) - 0.4)
    longest = max((len(line) for t in ticks for line in t.split("\n")), default=0)
    spacing_in = ax.figure.get_figwidth() * ax.get_position().width / max(len(categories), 1)
    if longest * _CHAR_WIDTH_IN > spacing_in:  # the names would run into each other: rotate them
        for text in ax.get_xticklabels():
            text.set(rotation=25, ha="right", rotation_mode="anchor")
    if categories and is_clean(categories[0][0]) and len(categories) > 1:
        ax.axvline(0.5, color="0.7", linewidth=0.8, linestyle=":")
    ax.set_xlabel("training labels (under each family: mean realised noise rate)" if rates else "training labels")


def _level_rows(summary: pd.DataFrame, level: Mapping[str, Any]) -> pd.DataFrame:
    """The rows of one matched level: its families' at the level and its clean anchor's."""
    anchor = np.ones(len(summary), dtype=bool)
    for k in PANEL_KEYS + TRAINING_KEYS:
        anchor &= summary[k].map(is_missing).to_numpy() if is_missing(level[k]) else (summary[k] == level[k]).to_numpy()
    at = (summary["noise_family"].isin(level["noise_families"]) & (summary["noise_param"] == level["noise_param"])
          & np.isclose(pd.to_numeric(summary["noise_level"], errors="coerce"), float(level["noise_level"])))
    return summary[anchor & (at.to_numpy() | summary["noise_family"].map(is_clean).to_numpy())]


def _rates(table: pd.DataFrame, rows: pd.DataFrame) -> dict[tuple[Any, str], float]:
    """(family, set-up text) -> mean realised noise rate of its noise draws among ``rows``' settings."""
    draws = prepare.noise_draws(table)
    if draws.empty:
        return {}
    out: dict[tuple[Any, str], list[float]] = {}
    keys = [k for k in draws.columns if k != "rate"]

    def key(r: Mapping[str, Any]) -> tuple:
        return tuple(None if is_missing(r[k]) else str(r[k]) for k in keys)

    wanted = {key(r) for r in rows.to_dict("records")}
    for r in draws.to_dict("records"):
        if key(r) in wanted:
            out.setdefault(_category(r), []).append(float(r["rate"]))
    return {k: float(np.mean(v)) for k, v in out.items()}


def same_rate_figure(table: pd.DataFrame, *, confidence: float = 0.95) -> Figure:
    """One :func:`draw_same_rate` panel per :func:`~noisebench.analysis.stats.same_rate_levels` level.

    Raises
    ------
    ValueError
        When no target-rate level of one task, model and N has runs of two noise families.
    """
    levels = same_rate_levels(table[pd.to_numeric(table["test_accuracy"], errors="coerce").notna()])
    if levels.empty:
        raise ValueError("same_rate_families: no target-rate level with runs of at least two noise families")
    summary = prepare.cell_summary(table, confidence=confidence)
    width = max(PANEL_SIZE[0], _CATEGORY_WIDTH_IN * (max(len(f) for f in levels["noise_families"]) + 1) + 1.4)
    fig, axes = _grid(len(levels), (width, PANEL_SIZE[1] + 0.6))
    varying = [k for k in TRAINING_KEYS if k in levels.columns and levels[k].astype(str).nunique() > 1]  # e.g. the selection rule
    for ax, level in zip(axes, levels.to_dict("records")):
        rows = _level_rows(summary, level)
        draw_same_rate(rows, rates=_rates(table, rows) or None, ax=ax)
        symbol = prepare.level_symbol(level["noise_families"][0], level["noise_param"])
        setting = "".join(f" · {k.replace('_', ' ')} {level[k]}" for k in varying)
        ax.set_title(f"{_panel_title(level)} · {symbol} = {float(level['noise_level']):g}{setting}\n"
                     f"{_count_text(rows['n'])}; bars: {confidence:.0%} t-interval from {MIN_RUNS_FOR_BAND} runs",
                     fontsize=9)
    return fig


__all__ = ["CLEAN_TICK", "MARKERS", "draw_same_rate", "same_rate_figure"]

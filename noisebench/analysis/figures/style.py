"""Shared by every figure: sizes, colours, the one saver (:func:`save_figure`), panel layout and the noise axis.

:func:`save_figure` (PNG at :data:`DPI` and PDF) and :func:`save_figure_as` (any of :data:`FIGURE_FORMATS`)
are the only places that write files, every file of a figure published together.
Noise axes are labelled by the family registry (the family's parameter, or the target rate when the
levels are target noise rates). The noise axis either places each level at its value
(``x="level"``) or at its mean realised noise rate (``x="realised"``, see :data:`X_MODES`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from io import BytesIO
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from noisebench.analysis import prepare
from noisebench.analysis.keys import NOISE_SETUP_KEYS
from noisebench.analysis.values import is_missing
from noisebench.io import write_files_atomic
from noisebench.methods import BASELINE
from noisebench.noise.families import is_clean

DPI: int = 150
PANEL_SIZE: tuple[float, float] = (5.2, 4.2)
MAX_COLS: int = 3
MIN_RUNS_FOR_BAND: int = 3
"""Below this many runs a point shows its runs as dots and no t-interval."""
BASELINE_COLOR = "#4d4d4d"
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
X_MODES: tuple[str, ...] = ("level", "realised")
"""Noise axis: each level at its value (clean one step left), or at its mean realised noise rate in % (clean at 0)."""
FIGURE_FORMATS: tuple[str, ...] = ("png", "pdf", "svg")
"""What a single figure file may be (its suffix); :func:`save_figure` writes PNG and PDF."""
PANEL_NOISE_KEYS: tuple[str, ...] = ("noise_family", "noise_param") + NOISE_SETUP_KEYS
"""Besides (task, model, N, pooling), what splits panels: one noise family and level parameter per panel."""


# --------------------------------------------------------------------------
# saving and layout
# --------------------------------------------------------------------------


def save_figure(fig: Figure, out_stem: Path | str) -> list[Path]:
    """Write ``fig`` to ``<out_stem>.png`` and ``.pdf`` together (:func:`save_figure_as`), return the paths."""
    stem = Path(out_stem)
    return save_figure_as(fig, [stem.parent / f"{stem.name}.{ext}" for ext in ("png", "pdf")])


def save_figure_as(fig: Figure, paths: Sequence[Path]) -> list[Path]:
    """Write ``fig`` to each of ``paths`` in the format its suffix names (one of :data:`FIGURE_FORMATS`), close it.

    Every format is rendered first, then all files are published together (each to a temporary name,
    then all renamed), so an error never leaves a PNG that disagrees with its PDF.
    """
    try:
        rendered = {}
        for path in map(Path, paths):
            buffer = BytesIO()
            fig.savefig(buffer, format=figure_format(path), dpi=DPI)
            rendered[path] = buffer.getvalue()
    finally:
        plt.close(fig)
    write_files_atomic(rendered, crash_name="figure-write")
    return list(rendered)


def figure_format(path: Path | str) -> str:
    """The format a figure file's suffix names (``.PNG`` -> ``png``); anything else is a ValueError."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FIGURE_FORMATS:
        raise ValueError(f"{path}: a figure file ends in {', '.join('.' + f for f in FIGURE_FORMATS)}, not {Path(path).suffix or 'no suffix'!r}")
    return suffix


def _grid(n_panels: int, panel_size: tuple[float, float] = PANEL_SIZE) -> tuple[Figure, list[Axes]]:
    """A figure with ``n_panels`` axes, wrapped after :data:`MAX_COLS`; unused axes removed."""
    ncols = max(1, min(n_panels, MAX_COLS))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
                             layout="constrained", squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.remove()
    return fig, flat[:n_panels]


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots(figsize=PANEL_SIZE, layout="constrained")[1] if ax is None else ax


def _fmt_n(value: Any) -> str:
    if is_missing(value):
        return "all"
    return f"{float(value):g}"


def _slug(*parts: Any) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", "_".join(str(p) for p in parts if str(p))).strip("-")


def _panel_title(key: Mapping[str, Any], extra: str = "") -> str:
    title = f"{key.get('task', '?')} · {key.get('model', '?')} · N={_fmt_n(key.get('n_train'))}"
    return f"{title}\n{extra}" if extra else title


def _colors(frame: pd.DataFrame, label: str, method: str) -> dict[str, str]:
    """Baseline grey, every other series label its own colour (stable order)."""
    pairs = frame[[label, method]].drop_duplicates().sort_values([method, label], key=lambda s: s.astype(str))
    others = [lab for lab, m in zip(pairs[label], pairs[method]) if m != BASELINE]
    colors = {lab: BASELINE_COLOR for lab, m in zip(pairs[label], pairs[method]) if m == BASELINE}
    return {**colors, **{lab: COLORS[i % len(COLORS)] for i, lab in enumerate(others)}}


def _level_parameter(frame: pd.DataFrame) -> tuple[Any, Any]:
    """(family, noise_param) of the panel's noisy rows; (None, None) for a clean-only panel."""
    noisy = frame[~frame["noise_family"].map(is_clean)]
    if noisy.empty:
        return None, None
    param = noisy["noise_param"].iloc[0] if "noise_param" in noisy.columns else None
    return noisy["noise_family"].iloc[0], param


def _clean_x(levels: Sequence[float]) -> float:
    """Where the clean anchor sits: one level step left of the lowest level."""
    levels = sorted(levels)
    if not levels:
        return 0.0
    span = levels[-1] - levels[0]
    step = span / max(len(levels) - 1, 1) if span > 0 else max(abs(levels[0]) * 0.5, 0.2)
    return levels[0] - step


def _check_x(x: str) -> None:
    if x not in X_MODES:
        raise ValueError(f"noise axis x must be one of {', '.join(X_MODES)}, got {x!r}")


def _noise_axis(ax: Axes, frame: pd.DataFrame, rates: Mapping[float, float] | None, x: str = "level") -> dict[str, Any]:
    """Ticks at the noise levels (and the clean anchor); returns ``position`` (level -> x), ``clean_x``, ``dodge``.

    ``x="level"``: a level at its value, labelled with its realised rate when ``rates`` is given.
    ``x="realised"``: a level at its mean realised noise rate in percent (``rates``, required for
    every level), clean at 0, each tick labelled with the level and the rate (``T=0.9`` / ``20%``).
    """
    _check_x(x)
    family, param = _level_parameter(frame)
    levels = sorted({float(v) for v in frame["noise_level"] if not is_missing(v)})
    has_clean = frame["noise_family"].map(is_clean).any()
    symbol = prepare.level_symbol(family, param) if family is not None else ""
    if x == "realised":
        unknown = [lv for lv in levels if not rates or lv not in rates or is_missing(rates[lv])]
        if unknown:
            raise ValueError(f"realised noise axis: no realised noise rate for {family} {symbol}="
                             f"{', '.join(f'{lv:g}' for lv in unknown)}")
        position = {lv: float(rates[lv]) * 100 for lv in levels}  # type: ignore[index]
        cx = 0.0
        labels = [f"{symbol}={lv:g}\n{rates[lv]:.0%}" for lv in levels]  # type: ignore[index]
        clean_label = "clean\n0%"
    else:
        position = {lv: lv for lv in levels}
        cx = _clean_x(levels)
        labels = [f"{lv:g}\n({rates[lv]:.0%})" if rates and lv in rates else f"{lv:g}" for lv in levels]
        clean_label = "clean\n(0%)" if rates else "clean"
    ticks = ([cx] if has_clean else []) + [position[lv] for lv in levels]
    ax.set_xticks(ticks, ([clean_label] if has_clean else []) + labels)
    if ticks:
        pad = (max(ticks) - min(ticks)) * 0.08 if len(ticks) > 1 else 0.2
        ax.set_xlim(min(ticks) - pad, max(ticks) + pad)
    if x == "level" and has_clean and levels:
        ax.axvline((cx + levels[0]) / 2, color="0.7", linewidth=0.8, linestyle=":")
    if family is None:
        ax.set_xlabel("training labels")
    elif x == "realised":
        ax.set_xlabel(f"mean realised noise rate (%); ticks: {prepare.level_axis_label(family, param)}")
    else:
        ax.set_xlabel(prepare.level_axis_label(family, param) + ("  (mean realised noise rate)" if rates else ""))
    span = (max(ticks) - min(ticks)) if len(ticks) > 1 else 1.0
    return {"position": position, "clean_x": cx, "dodge": span * 0.02}


def _x(frame: pd.DataFrame, axis: Mapping[str, Any]) -> np.ndarray:
    return np.array([axis["clean_x"] if is_clean(f) else axis["position"][float(v)]
                     for f, v in zip(frame["noise_family"], frame["noise_level"])])

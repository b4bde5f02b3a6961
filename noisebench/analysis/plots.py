"""Figures for the CE vs CE+SCL label-noise study (matplotlib, Agg backend).

Every ``plot_*`` function takes tables or paths plus an output path *stem*
(``out/accuracy_vs_noise`` -> ``out/accuracy_vs_noise.png`` and ``.pdf``),
writes a PNG (:data:`DPI` dots per inch) and a PDF, closes its figure and
returns the written paths.  Figures are laid out with matplotlib's constrained
layout and saved without ``bbox_inches="tight"``, so a PNG is exactly
``figsize * DPI`` pixels.

Conventions of the input tables are those of
:func:`noisebench.analysis.results.collect_table` /
:func:`~noisebench.analysis.results.collect_history` (accuracies and noise
rates are fractions; they are drawn in percent) and of
:func:`noisebench.analysis.stats.compare_methods`.

One *panel* is one ``(task, model, n_train)`` setting.  Runs of the
``"uniform"`` noise family are not drawn by the temperature figures.

This module must not import the training code or the CLI.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from scipy import stats as sps  # noqa: E402

from noisebench.analysis.stats import compare_methods  # noqa: E402
from noisebench.analysis.values import is_missing  # noqa: E402

__all__ = [
    "DPI",
    "PANEL_SIZE",
    "method_label",
    "plot_accuracy_vs_noise",
    "plot_difference_vs_noise",
    "plot_noise_rate_vs_temperature",
    "plot_transition_matrix",
    "plot_memorisation",
    "plot_tsne",
    "plot_all",
    "t_interval",
]

log = logging.getLogger(__name__)

#: Resolution of the PNG files.
DPI: int = 150
#: Size of one panel in inches (width, height).
PANEL_SIZE: tuple[float, float] = (5.2, 4.2)
#: Up to this many points t-SNE uses the exact gradient, above it Barnes-Hut.
EXACT_TSNE_MAX_POINTS: int = 500
#: Panels per row before wrapping.
MAX_COLS: int = 3

PANEL_KEYS: tuple[str, ...] = ("task", "model", "n_train")
SEED_KEYS: tuple[str, ...] = ("data_seed", "noise_seed", "train_seed")
_CE_COLOR = "#4d4d4d"
_SCL_COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _fmt_n(value: Any) -> str:
    if is_missing(value):
        return "all"
    f = float(value)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def _slug(*parts: Any) -> str:
    text = "_".join(str(p) for p in parts if p is not None and str(p) != "")
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", text).strip("-")


def _save(fig: Figure, out_stem: Path | str) -> list[Path]:
    """Write ``fig`` as PNG and PDF next to ``out_stem`` (each atomically); close it."""
    stem = Path(out_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for ext in ("png", "pdf"):
            final = stem.parent / f"{stem.name}.{ext}"
            fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.tmp-", dir=final.parent)
            os.close(fd)
            try:
                fig.savefig(tmp, format=ext, dpi=DPI)
                os.replace(tmp, final)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written.append(final)
    finally:
        plt.close(fig)
    return written


def _subplots(n_panels: int, *, panel_size: tuple[float, float] = PANEL_SIZE) -> tuple[Figure, list[Axes]]:
    """A figure with ``n_panels`` axes (wrapped after :data:`MAX_COLS`); unused axes removed."""
    ncols = max(1, min(n_panels, MAX_COLS))
    nrows = max(1, math.ceil(n_panels / ncols))
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(panel_size[0] * ncols, panel_size[1] * nrows),
        layout="constrained", squeeze=False,
    )
    flat = list(axes.ravel())
    for ax in flat[n_panels:]:
        ax.remove()
    return fig, flat[:n_panels]


def method_label(method: str, lam: Any = None, tau: Any = None) -> str:
    """``"CE"`` or ``"CE+SCL (λ=…, τ=…)"``."""
    if method == "ce":
        return "CE"
    if method == "ce-scl":
        if is_missing(lam) and is_missing(tau):
            return "CE+SCL"
        return f"CE+SCL (λ={float(lam):g}, τ={float(tau):g})"
    return str(method)


def _series_key(row: Mapping[str, Any]) -> tuple:
    """CE runs form one series whatever their lam/tau; CE+SCL one per (lam, tau)."""
    if row["method"] == "ce":
        return ("ce", None, None)
    lam = None if is_missing(row.get("lam")) else float(row["lam"])
    tau = None if is_missing(row.get("tau")) else float(row["tau"])
    return (str(row["method"]), lam, tau)


def _series_order(keys: Iterable[tuple]) -> list[tuple]:
    def order(k: tuple) -> tuple:
        rank = {"ce": 0, "ce-scl": 1}.get(k[0], 2)
        return (rank, str(k[0]), -1 if k[1] is None else k[1], -1 if k[2] is None else k[2])

    return sorted(set(keys), key=order)


def _series_colors(keys: Sequence[tuple]) -> dict[tuple, str]:
    colors: dict[tuple, str] = {}
    i = 0
    for k in keys:
        if k[0] == "ce":
            colors[k] = _CE_COLOR
        else:
            colors[k] = _SCL_COLORS[i % len(_SCL_COLORS)]
            i += 1
    return colors


def _panels(frame: pd.DataFrame) -> list[tuple[tuple, pd.DataFrame]]:
    """Split by (task, model, n_train), NaN kept, deterministic order."""
    if frame.empty:
        return []
    keys = [k for k in PANEL_KEYS if k in frame.columns]
    out = []
    for key, group in frame.groupby(keys, dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        out.append((tuple(key), group))
    out.sort(key=lambda kv: tuple((is_missing(v), str(v) if not isinstance(v, (int, float)) or is_missing(v)
                                   else f"{float(v):020.6f}") for v in kv[0]))
    return out


def _panel_rows(table: pd.DataFrame, key: tuple) -> pd.DataFrame:
    """Rows of ``table`` in the panel ``key`` (NaN matches NaN)."""
    rows = table
    for k, v in zip(PANEL_KEYS, key):
        if k in rows.columns:
            rows = rows[rows[k].isna()] if is_missing(v) else rows[rows[k] == v]
    return rows


def _panel_title(key: tuple, extra: str = "") -> str:
    parts = dict(zip(PANEL_KEYS, key))
    title = f"{parts.get('task', '?')} · {parts.get('model', '?')} · N={_fmt_n(parts.get('n_train'))}"
    return f"{title}\n{extra}" if extra else title


def _seed_count_text(counts: Iterable[int]) -> str:
    counts = [int(c) for c in counts if c > 0]
    if not counts:
        return "no runs"
    lo, hi = min(counts), max(counts)
    unit = "seed" if hi == 1 else "seeds"
    return f"n = {hi} {unit} per point" if lo == hi else f"n = {lo}–{hi} seeds per point"


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval; the interval is NaN for fewer than 2 values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(np.mean(x))
    if x.size < 2:
        return (mean, math.nan, math.nan)
    half = float(sps.t.ppf(0.5 + confidence / 2, x.size - 1) * np.std(x, ddof=1) / math.sqrt(x.size))
    return (mean, mean - half, mean + half)


def _require(table: pd.DataFrame, columns: Iterable[str], where: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(table).__name__}")
    missing = sorted(set(columns) - set(table.columns))
    if missing:
        raise ValueError(f"{where}: table is missing column(s): {', '.join(missing)}")


def _temperature_and_clean(table: pd.DataFrame) -> pd.DataFrame:
    rows = table[table["noise_family"].isin(["temperature", "none"])].copy()
    rows["temperature"] = pd.to_numeric(rows["temperature"], errors="coerce")
    rows.loc[rows["noise_family"] == "none", "temperature"] = np.nan
    rows = rows[(rows["noise_family"] == "none") | rows["temperature"].notna()]
    rows = rows[pd.to_numeric(rows["test_accuracy"], errors="coerce").notna()]
    return rows


def _clean_x(temps: Sequence[float]) -> tuple[float, float]:
    """x position of the "clean" marker left of the temperatures, and a dodge unit."""
    temps = sorted(t for t in temps if np.isfinite(t))
    if not temps:
        return 0.0, 0.05
    span = temps[-1] - temps[0]
    step = span / max(len(temps) - 1, 1) if span > 0 else max(abs(temps[0]) * 0.5, 0.2)
    return temps[0] - step, step * 0.06


def _noise_ticks(
    ax: Axes, temps: Sequence[float], rates: Mapping[float, float] | None, clean_x: float | None,
) -> None:
    """Ticks at the temperatures (and the clean position); with ``rates``, "T\n(rate%)" labels."""
    ticks, labels = [], []
    if clean_x is not None:
        ticks.append(clean_x)
        labels.append("clean\n(0%)" if rates is not None else "clean")
    for t in sorted(temps):
        ticks.append(t)
        if rates is None:
            labels.append(f"{t:g}")
        else:
            rate = rates.get(t, math.nan)
            labels.append(f"{t:g}\n({rate:.0%})" if np.isfinite(rate) else f"{t:g}\n(n/a)")
    ax.set_xticks(ticks, labels)
    if ticks:
        pad = (max(ticks) - min(ticks)) * 0.08 if len(ticks) > 1 else 0.2
        ax.set_xlim(min(ticks) - pad, max(ticks) + pad)


def _mean_rates(frame: pd.DataFrame) -> dict[float, float]:
    """Mean realised noise rate per temperature, over distinct noise draws."""
    if "realized_noise_rate" not in frame.columns or "noise_family" not in frame.columns:
        return {}
    temp = frame[frame["noise_family"] == "temperature"].copy()
    temp["realized_noise_rate"] = pd.to_numeric(temp["realized_noise_rate"], errors="coerce")
    temp = temp[temp["realized_noise_rate"].notna()]
    draw = [c for c in ("temperature", "data_seed", "noise_seed") if c in temp.columns]
    temp = temp.drop_duplicates(subset=draw) if draw else temp
    return {float(t): float(g["realized_noise_rate"].mean()) for t, g in temp.groupby("temperature")}


def _band(ax: Axes, x: np.ndarray, mean: np.ndarray, lo: np.ndarray, hi: np.ndarray, color: str) -> None:
    """CI band where consecutive points have an interval; error bars for isolated ones."""
    ok = np.isfinite(lo) & np.isfinite(hi)
    if not ok.any():
        return
    ax.fill_between(x, np.where(ok, lo, mean), np.where(ok, hi, mean), where=ok,
                    color=color, alpha=0.18, linewidth=0, interpolate=False)
    for i in np.flatnonzero(ok):
        left = i > 0 and ok[i - 1]
        right = i < len(ok) - 1 and ok[i + 1]
        if not (left or right):
            ax.errorbar([x[i]], [mean[i]], yerr=[[mean[i] - lo[i]], [hi[i] - mean[i]]],
                        color=color, capsize=3, linewidth=1, fmt="none")


# --------------------------------------------------------------------------
# headline: accuracy vs noise temperature
# --------------------------------------------------------------------------


def plot_accuracy_vs_noise(table: pd.DataFrame, out_stem: Path | str, *, confidence: float = 0.95) -> list[Path]:
    """Test accuracy (%) vs noise temperature T, CE vs each CE+SCL (λ, τ), one panel per setting.

    Points are means over seeds with a Student-t ``confidence`` band (none for a
    single seed).  Clean runs (``noise_family == "none"``), if present, are drawn
    as separate markers with t error bars at a "clean" position left of the
    temperatures.  Tick labels give T and the mean realised noise rate.

    Raises
    ------
    ValueError
        When the table has no temperature or clean runs with a test accuracy.
    """
    where = "plot_accuracy_vs_noise"
    _require(table, ("run_id", "method", "noise_family", "temperature", "test_accuracy") + PANEL_KEYS, where)
    rows = _temperature_and_clean(table)
    if rows.empty:
        raise ValueError(f"{where}: no temperature-noise or clean runs with a test accuracy")
    rows = rows.assign(_series=[_series_key(r) for r in rows.to_dict("records")])
    series = _series_order(rows["_series"])
    colors = _series_colors(series)
    panels = _panels(rows)
    fig, axes = _subplots(len(panels))
    for ax, (key, panel) in zip(axes, panels):
        noisy = panel[panel["noise_family"] == "temperature"]
        clean = panel[panel["noise_family"] == "none"]
        temps = sorted(noisy["temperature"].unique().tolist())
        cx, dodge = _clean_x(temps)
        counts: list[int] = []
        present = [s for s in series if (panel["_series"] == s).any()]
        for i, s in enumerate(present):
            color, label = colors[s], method_label(*s)
            sn = noisy[noisy["_series"] == s]
            if not sn.empty:
                agg = [(float(t), *t_interval(g["test_accuracy"], confidence), len(g))
                       for t, g in sn.groupby("temperature")]
                agg.sort()
                x = np.array([a[0] for a in agg])
                m, lo, hi = (np.array([a[k] for a in agg]) * 100 for k in (1, 2, 3))
                lo, hi = np.clip(lo, 0, 100), np.clip(hi, 0, 100)  # accuracy lives in [0, 100]
                counts += [a[4] for a in agg]
                ax.plot(x, m, marker="o", color=color, label=label, linewidth=1.6, markersize=5)
                _band(ax, x, m, lo, hi, color)
                label = None
            sc = clean[clean["_series"] == s]
            if not sc.empty:
                m, lo, hi = (v * 100 for v in t_interval(sc["test_accuracy"], confidence))
                counts.append(len(sc))
                xc = cx + (i - (len(present) - 1) / 2) * dodge
                yerr = [[m - lo], [hi - m]] if np.isfinite(lo) else None
                ax.errorbar([xc], [m], yerr=yerr, fmt="D", color=color, capsize=3,
                            markersize=6, markerfacecolor="white", markeredgewidth=1.5, label=label)
        if not clean.empty and temps:
            ax.axvline((cx + temps[0]) / 2, color="0.7", linewidth=0.8, linestyle=":")
        rates = _mean_rates(panel) or None
        _noise_ticks(ax, temps, rates, cx if not clean.empty else None)
        if temps:
            ax.set_xlabel("noise temperature T" + ("  (mean realised noise rate)" if rates else ""))
        else:
            ax.set_xlabel("training labels")
        ax.set_ylabel("test accuracy (%)")
        shape = " and ".join((["band"] if temps else []) + (["bars"] if not clean.empty else []))
        ax.set_title(_panel_title(key, _seed_count_text(counts)
                                  + (f"; {shape}: {confidence:.0%} t-interval" if max(counts, default=0) > 1 else "")),
                     fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    return _save(fig, out_stem)


# --------------------------------------------------------------------------
# paired differences
# --------------------------------------------------------------------------


def plot_difference_vs_noise(
    stats_df: pd.DataFrame, out_stem: Path | str, *, table: pd.DataFrame | None = None,
) -> list[Path]:
    """Mean paired difference CE+SCL − CE (percentage points) vs T, with its CI as error bars.

    ``stats_df`` is the output of :func:`noisebench.analysis.stats.compare_methods`
    (interval: its bootstrap CI).  Cells with ``significant`` True (Holm-adjusted
    sign-flip p < alpha) are drawn as filled stars.  Clean cells appear at a
    "clean" position left of the temperatures.  With ``table`` given, the tick
    labels also carry the mean realised noise rate per T.

    Raises
    ------
    ValueError
        When no temperature/clean cell has at least one pair.
    """
    where = "plot_difference_vs_noise"
    _require(stats_df, ("noise_family", "temperature", "lam", "tau", "n_pairs", "mean_diff", "ci_low",
                        "ci_high", "significant") + PANEL_KEYS, where)
    cells = stats_df[stats_df["noise_family"].isin(["temperature", "none"]) & (stats_df["n_pairs"] > 0)].copy()
    cells = cells[(cells["noise_family"] == "none") | pd.to_numeric(cells["temperature"], errors="coerce").notna()]
    if cells.empty:
        raise ValueError(f"{where}: no temperature/clean cell with paired CE and CE+SCL runs")
    cells["_series"] = [("ce-scl", None if is_missing(r["lam"]) else float(r["lam"]),
                         None if is_missing(r["tau"]) else float(r["tau"])) for r in cells.to_dict("records")]
    series = _series_order(cells["_series"])
    colors = _series_colors(series)
    panels = _panels(cells)
    fig, axes = _subplots(len(panels))
    for ax, (key, panel) in zip(axes, panels):
        temps = sorted(float(t) for t in panel.loc[panel["noise_family"] == "temperature", "temperature"].unique())
        has_clean = (panel["noise_family"] == "none").any()
        cx, dodge = _clean_x(temps)
        dodge *= 1.6
        rates = _mean_rates(_panel_rows(table, key)) if table is not None else {}
        present = [s for s in series if (panel["_series"] == s).any()]
        star_labelled = False
        for i, s in enumerate(present):
            color = colors[s]
            sub = panel[panel["_series"] == s].copy()
            sub["_x"] = [cx if fam == "none" else float(t) for fam, t in zip(sub["noise_family"], sub["temperature"])]
            sub = sub.sort_values("_x")
            x = sub["_x"].to_numpy(dtype=float) + (i - (len(present) - 1) / 2) * dodge
            m = sub["mean_diff"].to_numpy(dtype=float) * 100
            lo = sub["ci_low"].to_numpy(dtype=float) * 100
            hi = sub["ci_high"].to_numpy(dtype=float) * 100
            ok = np.isfinite(lo) & np.isfinite(hi)
            yerr = np.vstack([np.where(ok, m - lo, 0.0), np.where(ok, hi - m, 0.0)])
            noisy = sub["noise_family"].to_numpy() == "temperature"
            ax.plot(x[noisy], m[noisy], color=color, linewidth=1.2, alpha=0.8)
            ax.errorbar(x, m, yerr=yerr, fmt="o", color=color, capsize=3, markersize=5,
                        label=f"{method_label('ce-scl', s[1], s[2])} − CE")
            sig = sub["significant"].astype("boolean").fillna(False).to_numpy(dtype=bool)
            if sig.any():
                ax.plot(x[sig], m[sig], linestyle="none", marker="*", markersize=15, color=color,
                        markeredgecolor="black", markeredgewidth=0.6, zorder=3)
                star_labelled = True
        if star_labelled:
            ax.plot([], [], linestyle="none", marker="*", markersize=13, color="0.65", markeredgecolor="black",
                    markeredgewidth=0.6, label="Holm p<0.05")
        else:
            ax.plot([], [], linestyle="none", marker="*", markersize=11, markerfacecolor="none",
                    markeredgecolor="black", label="Holm p<0.05: no cell")
        ax.axhline(0.0, color="black", linewidth=0.9)
        if has_clean and temps:
            ax.axvline((cx + temps[0]) / 2, color="0.7", linewidth=0.8, linestyle=":")
        _noise_ticks(ax, temps, rates or None, cx if has_clean else None)
        n = panel["n_pairs"].astype(int)
        ax.set_xlabel("noise temperature T" + ("  (mean realised noise rate)" if rates else ""))
        ax.set_ylabel("Δ test accuracy, CE+SCL − CE (pp)")
        ax.set_title(_panel_title(key, _seed_count_text(n).replace("seeds", "pairs").replace("seed", "pair")
                                  + "; bars: bootstrap CI"), fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    return _save(fig, out_stem)


# --------------------------------------------------------------------------
# noise rate vs temperature
# --------------------------------------------------------------------------


def _read_noise_json(path: Path) -> dict[str, Any]:
    path = Path(path)
    file = path / "noise.json" if path.is_dir() else path
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no noise.json (not a noise artifact)")
    return json.loads(file.read_text(encoding="utf-8"))


def _noise_rate_frame(source: pd.DataFrame | Iterable[Path | str]) -> pd.DataFrame:
    """Columns task, n_train, temperature, rate (fraction), one row per noise draw."""
    if isinstance(source, pd.DataFrame):
        _require(source, ("task", "noise_family", "temperature", "realized_noise_rate"),
                 "plot_noise_rate_vs_temperature")
        rows = source[source["noise_family"] == "temperature"].copy()
        rows["temperature"] = pd.to_numeric(rows["temperature"], errors="coerce")
        rows["rate"] = pd.to_numeric(rows["realized_noise_rate"], errors="coerce")
        rows = rows[rows["temperature"].notna() & rows["rate"].notna()]
        if "n_train" not in rows.columns:
            rows["n_train"] = np.nan
        draw = [c for c in ("task", "n_train", "temperature", "data_seed", "noise_seed") if c in rows.columns]
        rows = rows.drop_duplicates(subset=draw)
        return rows[["task", "n_train", "temperature", "rate"]].reset_index(drop=True)
    records = []
    for path in source:
        meta = _read_noise_json(Path(path))
        if meta.get("family") != "temperature":
            continue
        records.append({
            "task": meta.get("task", "?"), "n_train": np.nan,
            "temperature": float(meta["params"]["temperature"]), "rate": float(meta["realized_noise_rate"]),
        })
    return pd.DataFrame(records, columns=["task", "n_train", "temperature", "rate"])


def plot_noise_rate_vs_temperature(source: pd.DataFrame | Iterable[Path | str], out_stem: Path | str) -> list[Path]:
    """Realised noise rate (%) vs temperature T, mean over noise draws with the min–max range.

    ``source`` is the results table (one draw per distinct ``(data_seed,
    noise_seed)``; the rate is over each run's N training labels) or an iterable
    of noise-artifact directories (rate over the whole relabelled pool).  One
    panel per task, one line per N.

    Raises
    ------
    ValueError
        When there is no temperature-noise rate to plot.
    """
    frame = _noise_rate_frame(source)
    if frame.empty:
        raise ValueError("plot_noise_rate_vs_temperature: no temperature-noise runs with a realised noise rate")
    tasks = sorted(frame["task"].astype(str).unique())
    fig, axes = _subplots(len(tasks), panel_size=(4.8, 3.8))
    for ax, task in zip(axes, tasks):
        sub = frame[frame["task"].astype(str) == task]
        ns = sorted(sub["n_train"].unique(), key=lambda v: (is_missing(v), 0 if is_missing(v) else v))
        counts = []
        for i, n in enumerate(ns):
            part = sub[sub["n_train"].isna()] if is_missing(n) else sub[sub["n_train"] == n]
            agg = part.groupby("temperature")["rate"].agg(["mean", "min", "max", "size"]).sort_index()
            counts += agg["size"].tolist()
            x = agg.index.to_numpy(dtype=float)
            color = _SCL_COLORS[(i + 1) % len(_SCL_COLORS)]
            label = f"N={_fmt_n(n)}" if isinstance(source, pd.DataFrame) else "whole pool"
            ax.plot(x, agg["mean"] * 100, marker="o", color=color, label=f"{label}: mean over draws")
            if (agg["size"] > 1).any():
                ax.fill_between(x, agg["min"] * 100, agg["max"] * 100, color=color, alpha=0.2, linewidth=0,
                                label=f"{label}: min–max")
        ax.set_xlabel("noise temperature T")
        ax.set_ylabel("realised noise rate (% of training labels)")
        ax.set_title(f"{task}\n{_seed_count_text(counts).replace('seed', 'noise draw')}", fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    return _save(fig, out_stem)


# --------------------------------------------------------------------------
# transition matrix
# --------------------------------------------------------------------------


def _read_transition(path: Path) -> dict[str, Any]:
    """``{"counts", "labels", "task", "family", "level", "rate", "source"}`` from an artifact or a run dir."""
    path = Path(path)
    if (path / "noise.json").is_file() or path.name == "noise.json":
        meta = _read_noise_json(path)
        params = meta.get("params", {}) or {}
        level = params.get("temperature", params.get("rate"))
        source = "noise artifact (whole relabelled pool)"
    elif (path / "metrics.json").is_file():
        meta = json.loads((path / "metrics.json").read_text(encoding="utf-8"))
        config_file = path / "config.json"
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
        meta = {**meta, "task": config.get("task", "?"), "family": config.get("noise_family")}
        level = config.get("temperature") if config.get("noise_family") == "temperature" else config.get("noise_rate")
        source = f"run {path.name} (N={_fmt_n(config.get('n_train'))} training labels)"
    else:
        raise FileNotFoundError(f"{path}: neither a noise artifact (noise.json) nor a run directory (metrics.json)")
    tm = meta.get("transition_matrix")
    if not tm or "counts" not in tm:
        raise ValueError(f"{path}: no transition_matrix with counts")
    if tm.get("orientation", "rows=clean, cols=noisy") != "rows=clean, cols=noisy":
        raise ValueError(f"{path}: unexpected transition-matrix orientation {tm.get('orientation')!r}")
    counts = np.asarray(tm["counts"], dtype=float)
    labels = list(tm.get("labels") or [str(i) for i in range(counts.shape[0])])
    rate = meta.get("realized_noise_rate")
    if rate is None and counts.sum() > 0:
        rate = 1.0 - np.trace(counts) / counts.sum()
    return {"counts": counts, "labels": labels, "task": meta.get("task", "?"), "family": meta.get("family"),
            "level": level, "rate": rate, "source": source}


def plot_transition_matrix(artifact_dir: Path | str, out_stem: Path | str) -> list[Path]:
    """Heatmap of the clean → noisy label counts, each cell annotated with its row percentage.

    ``artifact_dir`` is a noise-artifact directory (``noise.json``) or a run
    directory (``metrics.json`` + ``config.json``, the run's own N labels).
    Colour = row-normalised percentage (rows are clean labels, columns noisy).
    """
    tm = _read_transition(Path(artifact_dir))
    counts, labels = tm["counts"], tm["labels"]
    k = counts.shape[0]
    row_sums = counts.sum(axis=1, keepdims=True)
    pct = np.divide(counts, row_sums, out=np.zeros_like(counts), where=row_sums > 0) * 100
    side = max(4.6, 1.1 * k + 2.6)
    fig, ax = plt.subplots(figsize=(side + 0.8, side), layout="constrained")
    im = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    fontsize = 10 if k <= 4 else 8 if k <= 8 else 6
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(counts[i, j])}\n({pct[i, j]:.1f}%)", ha="center", va="center",
                    color="white" if pct[i, j] > 55 else "black", fontsize=fontsize)
    ax.set_xticks(range(k), labels, rotation=30 if max(len(str(x)) for x in labels) > 6 else 0)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("noisy label")
    ax.set_ylabel("clean label")
    fig.colorbar(im, ax=ax, label="% of the clean label's examples", shrink=0.8)
    family, level, rate = tm["family"], tm["level"], tm["rate"]
    if family == "temperature" and level is not None:
        noise = f"T={float(level):g}"
    elif family == "uniform" and level is not None:
        noise = f"uniform, rate={float(level):g}"
    else:
        noise = str(family or "noise")
    rate_text = f"realised noise {float(rate):.1%}" if rate is not None else "realised noise n/a"
    ax.set_title(f"{tm['task']}: {noise}, {rate_text}\n{tm['source']}; {int(counts.sum())} examples",
                 fontsize=9)
    return _save(fig, out_stem)


# --------------------------------------------------------------------------
# memorisation
# --------------------------------------------------------------------------

_MEMO_CURVES: tuple[tuple[str, str, str], ...] = (
    ("train_acc_clean", "-", "clean examples: predicted = label"),
    ("train_acc_corrupted_noisy", "--", "corrupted examples: predicted = noisy label (memorised)"),
)


def plot_memorisation(
    table: pd.DataFrame, history: pd.DataFrame, out_stem: Path | str, *, temperature: float | None = None,
) -> list[Path]:
    """Per-epoch fit to clean labels and memorisation of wrong labels, CE vs CE+SCL, at one T.

    Colour = method (CE, each CE+SCL (λ, τ)); solid = share of clean training
    examples predicted as their label; dashed = share of corrupted training
    examples predicted as their *noisy* label.  Curves are means over seeds.
    ``temperature`` defaults to the highest T in the table.

    Raises
    ------
    ValueError
        When there are no temperature-noise runs, the temperature is absent, or
        the history holds no memorisation records for those runs.
    """
    where = "plot_memorisation"
    _require(table, ("run_id", "method", "noise_family", "temperature") + PANEL_KEYS, where)
    _require(history, ("run_id", "epoch") + tuple(c for c, _, _ in _MEMO_CURVES), where)
    noisy = table[table["noise_family"] == "temperature"].copy()
    noisy["temperature"] = pd.to_numeric(noisy["temperature"], errors="coerce")
    noisy = noisy[noisy["temperature"].notna()]
    if noisy.empty:
        raise ValueError(f"{where}: no temperature-noise runs")
    if temperature is None:
        temperature = float(noisy["temperature"].max())
    at_t = noisy[np.isclose(noisy["temperature"].to_numpy(dtype=float), float(temperature))]
    if at_t.empty:
        raise ValueError(f"{where}: no runs at T={temperature:g}; present: "
                         f"{', '.join(f'{t:g}' for t in sorted(noisy['temperature'].unique()))}")
    hist = history.copy()
    for c, _, _ in _MEMO_CURVES:
        hist[c] = pd.to_numeric(hist[c], errors="coerce")
    hist["epoch"] = pd.to_numeric(hist["epoch"], errors="coerce")
    keep = ["run_id", "method", "lam", "tau", "realized_noise_rate"] + list(PANEL_KEYS)
    merged = hist.merge(at_t[[c for c in keep if c in at_t.columns]], on="run_id", how="inner")
    merged = merged[merged["epoch"].notna()]
    if merged.empty or merged[[c for c, _, _ in _MEMO_CURVES]].isna().all().all():
        raise ValueError(f"{where}: the history has no memorisation records for the runs at T={temperature:g}")
    merged["_series"] = [_series_key(r) for r in merged.to_dict("records")]
    series = _series_order(merged["_series"])
    colors = _series_colors(series)
    panels = _panels(merged)
    fig, axes = _subplots(len(panels), panel_size=(PANEL_SIZE[0] + 0.6, PANEL_SIZE[1] + 0.9))
    for ax, (key, panel) in zip(axes, panels):
        present = [s for s in series if (panel["_series"] == s).any()]
        n_runs = []
        for s in present:
            sub = panel[panel["_series"] == s]
            n_runs.append(sub["run_id"].nunique())
            means = sub.groupby("epoch")[[c for c, _, _ in _MEMO_CURVES]].mean().sort_index()
            for col, style, _ in _MEMO_CURVES:
                y = means[col].to_numpy(dtype=float) * 100
                if np.isfinite(y).any():
                    ax.plot(means.index.to_numpy(dtype=float), y, linestyle=style, color=colors[s],
                            marker="o", markersize=3, linewidth=1.5)
        ax.set_ylim(-3, 103)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel("% of training examples")
        rates = _mean_rates(_panel_rows(at_t, key))
        rate = next(iter(rates.values()), math.nan)
        rate_text = f", realised noise {rate:.0%}" if np.isfinite(rate) else ""
        ax.set_title(_panel_title(key, f"T={float(temperature):g}{rate_text}; {_seed_count_text(n_runs)}"),
                     fontsize=10)
        ax.grid(True, alpha=0.3)
        handles = [Line2D([], [], color=colors[s], linewidth=2.5, label=method_label(*s)) for s in present]
        handles += [Line2D([], [], color="0.3", linestyle=style, label=text) for _, style, text in _MEMO_CURVES]
        ax.legend(handles=handles, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2,
                  frameon=False)
    return _save(fig, out_stem)


# --------------------------------------------------------------------------
# t-SNE of test [CLS] embeddings
# --------------------------------------------------------------------------


def _load_embeddings(run_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    file = Path(run_dir) / "embeddings.npz"
    if not file.is_file():
        raise FileNotFoundError(f"{run_dir}: no embeddings.npz")
    with np.load(file) as data:
        if "cls" not in data or "labels" not in data:
            raise ValueError(f"{file}: needs arrays 'cls' and 'labels'")
        cls, labels = np.asarray(data["cls"], dtype=float), np.asarray(data["labels"]).astype(int)
    if cls.ndim != 2 or labels.shape != (cls.shape[0],):
        raise ValueError(f"{file}: 'cls' must be [n, d] and 'labels' [n], got {cls.shape} and {labels.shape}")
    if cls.shape[0] < 5:
        raise ValueError(f"{file}: t-SNE needs at least 5 points, got {cls.shape[0]}")
    return cls, labels


def plot_tsne(
    run_dirs: Mapping[str, Path | str],
    out_stem: Path | str,
    *,
    label_names: Sequence[str] | None = None,
    max_points: int | None = 2000,
    perplexity: float = 30.0,
    tsne_method: str = "auto",
    title: str | None = None,
) -> list[Path]:
    """t-SNE of test [CLS] embeddings, one panel per run, coloured by true label (Gunel et al. Fig. 2).

    ``run_dirs`` maps a panel title (e.g. ``"CE"``, ``"CE+SCL"``) to a run
    directory holding ``embeddings.npz`` (``cls`` [n, d], ``labels`` [n]).
    ``sklearn.manifold.TSNE(random_state=0, init="pca")``; the perplexity is
    capped below ``(n - 1) / 3``.  With more than ``max_points`` test examples a
    fixed (seed 0) subsample of that size is embedded, the same indices for
    every run of equal length.  ``tsne_method="auto"`` uses the exact gradient
    up to :data:`EXACT_TSNE_MAX_POINTS` points (faster and more accurate there)
    and Barnes-Hut above.  ``title`` (optional) names the setting above the panels.
    """
    from sklearn.manifold import TSNE

    if not run_dirs:
        raise ValueError("plot_tsne: no run directories given")
    loaded = {name: _load_embeddings(Path(d)) for name, d in run_dirs.items()}
    all_labels = sorted(set(np.concatenate([lab for _, lab in loaded.values()]).tolist()))
    cmap = plt.get_cmap("tab10" if len(all_labels) <= 10 else "tab20")
    colors = {lab: cmap(i % cmap.N) for i, lab in enumerate(all_labels)}

    def name_of(lab: int) -> str:
        if label_names is not None and 0 <= lab < len(label_names):
            return str(label_names[lab])
        return f"label {lab}"

    fig, axes = _subplots(len(loaded), panel_size=(5.0, 5.2 if title else 4.9))
    for ax, (name, (cls, labels)) in zip(axes, loaded.items()):
        n = cls.shape[0]
        note = f"{n} test examples"
        if max_points is not None and n > max_points:
            idx = np.sort(np.random.default_rng(0).choice(n, size=max_points, replace=False))
            cls, labels = cls[idx], labels[idx]
            note = f"{max_points} of {n} test examples"
        perp = float(min(perplexity, max(1.0, (cls.shape[0] - 1) / 3.0 - 1e-6)))
        method = ("exact" if cls.shape[0] <= EXACT_TSNE_MAX_POINTS else "barnes_hut") if tsne_method == "auto" \
            else tsne_method
        xy = TSNE(n_components=2, random_state=0, init="pca", perplexity=perp, method=method).fit_transform(cls)
        for lab in all_labels:
            mask = labels == lab
            if mask.any():
                ax.scatter(xy[mask, 0], xy[mask, 1], s=8, alpha=0.7, color=colors[lab], label=name_of(lab),
                           linewidths=0)
        ax.set_title(f"{name}\n{note}, coloured by true label", fontsize=10)
        ax.set_xlabel("t-SNE 1")
        ax.set_ylabel("t-SNE 2")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(fontsize=8, markerscale=2, title="true label", title_fontsize=8, loc="upper center",
                  bbox_to_anchor=(0.5, -0.08), ncol=min(len(all_labels), 5), frameon=False)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, out_stem)


# --------------------------------------------------------------------------
# everything
# --------------------------------------------------------------------------


def _label_names(run_dir: Path) -> list[str] | None:
    """Class names of a run, from its metrics.json transition matrix (None when unavailable)."""
    try:
        metrics = json.loads((Path(run_dir) / "metrics.json").read_text(encoding="utf-8"))
        labels = (metrics.get("transition_matrix") or {}).get("labels")
    except (OSError, ValueError):
        return None
    return [str(x) for x in labels] if labels else None


def _pick_tsne_runs(table: pd.DataFrame, results_dir: Path) -> tuple[dict[str, Path], str, str] | None:
    """A CE / CE+SCL pair (same setting and seeds) with embeddings; highest T first, then clean."""
    runs_dir = Path(results_dir) / "runs"
    with_emb = table[[(runs_dir / str(r) / "embeddings.npz").is_file() for r in table["run_id"]]]
    if with_emb.empty:
        return None
    keys = [k for k in ("task", "model", "n_train", "noise_family", "temperature") + SEED_KEYS if k in with_emb.columns]
    best: tuple[tuple, dict[str, Path], str, str] | None = None
    for key, group in with_emb.groupby(keys, dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        info = dict(zip(keys, key))
        picks: dict[str, Path] = {}
        for method in ("ce", "ce-scl"):
            rows = group[group["method"] == method].sort_values("run_id")
            if not rows.empty:
                r = rows.iloc[0]
                name = method_label(method, r.get("lam"), r.get("tau"))
                picks[name] = runs_dir / str(r["run_id"])
        if not picks:
            continue
        t = info.get("temperature")
        rank = (len(picks), -1.0 if is_missing(t) else float(t),
                tuple(-float(info[k]) if not is_missing(info.get(k)) else 0.0 for k in SEED_KEYS if k in info))
        noise = f"T{float(t):g}" if not is_missing(t) else "clean"
        stem = _slug("tsne", info.get("task"), f"N{_fmt_n(info.get('n_train'))}", noise)
        seeds = ", ".join(f"{k.split('_')[0]} {_fmt_n(info[k]) if not is_missing(info.get(k)) else '—'}"
                          for k in SEED_KEYS if k in info)
        title = (f"{info.get('task')} · {info.get('model')} · N={_fmt_n(info.get('n_train'))} · "
                 f"{'T=' + format(float(t), 'g') if not is_missing(t) else 'clean labels'}  (seeds: {seeds})")
        if best is None or rank > best[0]:
            best = (rank, picks, stem, title)
    return None if best is None else (best[1], best[2], best[3])


def plot_all(
    table: pd.DataFrame, history: pd.DataFrame | None, results_dir: Path | str, out_dir: Path | str,
) -> list[Path]:
    """Every figure the results support, into ``out_dir``; returns the written paths.

    Files (``.png`` and ``.pdf`` each): ``accuracy_vs_noise``,
    ``difference_vs_noise``, ``noise_rate_vs_temperature``,
    ``transition_<task>_N<N>_T<T>`` (one run's N labels at each task's highest
    T), ``memorisation_T<T>`` (highest T) and ``tsne_<task>_N<N>_<T|clean>``.
    A figure the table cannot support is skipped with a logged reason (INFO);
    a figure that fails unexpectedly is logged as a WARNING and skipped.

    Raises
    ------
    ValueError
        When the table is empty (``"no finished runs in <results_dir>"``).
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    if table is None or len(table) == 0:
        raise ValueError(f"no finished runs in {results_dir}")
    _require(table, ("run_id", "method", "noise_family", "temperature", "test_accuracy") + PANEL_KEYS, "plot_all")
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    history = history if history is not None else pd.DataFrame(columns=["run_id", "epoch"])
    temp_rows = table[(table["noise_family"] == "temperature")
                      & pd.to_numeric(table["temperature"], errors="coerce").notna()]

    def attempt(name: str, func, *args, **kwargs) -> None:  # noqa: ANN001
        try:
            written.extend(func(*args, **kwargs))
        except (ValueError, FileNotFoundError, KeyError) as exc:
            log.warning("plot_all: skipped %s: %s", name, exc)

    # headline
    if _temperature_and_clean(table).empty:
        log.info("plot_all: skipped accuracy_vs_noise: no temperature-noise or clean runs")
    else:
        attempt("accuracy_vs_noise", plot_accuracy_vs_noise, table, out_dir / "accuracy_vs_noise")

    # paired differences
    methods = set(table["method"].unique())
    if not {"ce", "ce-scl"} <= methods:
        log.info("plot_all: skipped difference_vs_noise: only method(s) %s in the table",
                 ", ".join(sorted(map(str, methods))))
    else:
        try:
            scored = table[table["noise_family"].isin(["temperature", "none"])
                           & pd.to_numeric(table["test_accuracy"], errors="coerce").notna()]
            stats_df = compare_methods(scored)
        except ValueError as exc:
            log.warning("plot_all: skipped difference_vs_noise: %s", exc)
        else:
            if (stats_df["n_pairs"] > 0).any():
                attempt("difference_vs_noise", plot_difference_vs_noise, stats_df, out_dir / "difference_vs_noise",
                        table=table)
            else:
                log.info("plot_all: skipped difference_vs_noise: no CE run shares its seeds with a CE+SCL run")

    # noise rates and transition matrices
    if temp_rows.empty:
        log.info("plot_all: skipped noise_rate_vs_temperature, transition matrices and memorisation: "
                 "no temperature-noise runs")
    else:
        if "realized_noise_rate" in temp_rows.columns and pd.to_numeric(
                temp_rows["realized_noise_rate"], errors="coerce").notna().any():
            attempt("noise_rate_vs_temperature", plot_noise_rate_vs_temperature, table,
                    out_dir / "noise_rate_vs_temperature")
        else:
            log.info("plot_all: skipped noise_rate_vs_temperature: no realised noise rates")
        made_tm = False
        for task, group in temp_rows.groupby("task", sort=True):
            t_max = pd.to_numeric(group["temperature"]).max()
            cand = group[np.isclose(pd.to_numeric(group["temperature"]).to_numpy(dtype=float), t_max)]
            cand = cand.sort_values(["n_train", *[k for k in SEED_KEYS if k in cand.columns], "run_id"])
            for run_id, n_train in zip(cand["run_id"], cand["n_train"]):
                run_dir = results_dir / "runs" / str(run_id)
                if (run_dir / "metrics.json").is_file():
                    stem = out_dir / _slug("transition", task, f"N{_fmt_n(n_train)}", f"T{float(t_max):g}")
                    attempt(f"transition matrix of {task}", plot_transition_matrix, run_dir, stem)
                    made_tm = True
                    break
        if not made_tm:
            log.info("plot_all: skipped transition matrices: no metrics.json under %s/runs for the noisy runs",
                     results_dir)
        if history.empty or "train_acc_corrupted_noisy" not in history.columns:
            log.info("plot_all: skipped memorisation: no per-epoch history")
        else:
            t_max = float(pd.to_numeric(temp_rows["temperature"]).max())
            attempt("memorisation", plot_memorisation, table, history, out_dir / _slug("memorisation", f"T{t_max:g}"),
                    temperature=t_max)

    # t-SNE
    picked = _pick_tsne_runs(table, results_dir)
    if picked is None:
        log.info("plot_all: skipped t-SNE: no embeddings.npz under %s/runs", results_dir)
    else:
        attempt("t-SNE", plot_tsne, picked[0], out_dir / picked[1],
                label_names=_label_names(next(iter(picked[0].values()))), title=picked[2])
    return written

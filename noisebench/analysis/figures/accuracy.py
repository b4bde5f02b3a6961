"""Accuracy figures: test accuracy vs noise, paired difference vs noise, every method against the baseline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from noisebench.analysis import prepare
from noisebench.analysis.figures.panels import (
    _count_text,
    _noise_title,
    _rates_by_level,
    _varying,
    panels,
)
from noisebench.analysis.figures.style import (
    MIN_RUNS_FOR_BAND,
    PANEL_SIZE,
    _axes,
    _check_x,
    _colors,
    _fmt_n,
    _grid,
    _noise_axis,
    _panel_title,
    _x,
    save_figure,
)
from noisebench.analysis.summary import SUMMARY_BY
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE
from noisebench.noise.families import is_clean


def _draw_series(ax: Axes, rows: pd.DataFrame, x: np.ndarray, color: str, label: str, clean: np.ndarray) -> None:
    """Noisy means as a line (label = series), clean mean as a diamond; t band and bars from 3 runs, dots below."""
    mean = rows["mean"].to_numpy(dtype=float) * 100
    low, high = (np.clip(rows[c].to_numpy(dtype=float) * 100, 0, 100) for c in ("ci_low", "ci_high"))
    banded = rows["n"].to_numpy() >= MIN_RUNS_FOR_BAND
    if (~clean).any():
        ax.plot(x[~clean], mean[~clean], marker="o", color=color, label=label, linewidth=1.6, markersize=5)
        band = banded & ~clean
        ax.fill_between(x, np.where(band, low, mean), np.where(band, high, mean), where=band, color=color,
                        alpha=0.18, linewidth=0)
    if clean.any():
        ax.plot(x[clean], mean[clean], "D", color=color, markerfacecolor="white", markeredgewidth=1.5,
                label=("_clean " if (~clean).any() else "") + label)
    ax.errorbar(x[banded], mean[banded], yerr=[mean[banded] - low[banded], high[banded] - mean[banded]], fmt="none",
                color=color, capsize=3)
    few = ~banded
    if few.any():
        dots = [(xi, v * 100) for xi, vs in zip(x[few], rows["values"].to_numpy()[few]) for v in vs]
        ax.scatter(*zip(*dots), s=14, color=color, alpha=0.6, linewidths=0, label="_runs " + label)


def draw_accuracy(summary: pd.DataFrame, *, rates: Mapping[float, float] | None = None, x: str = "level",
                  ax: Axes | None = None) -> Axes:
    """Mean test accuracy (%) vs noise per method label, clean runs as an anchor.

    ``summary``: :func:`~noisebench.analysis.prepare.cell_summary` rows of one panel (one noise
    family and level parameter plus clean). A line per method label through its noisy means (the
    line's label is the method label); a t-interval band where a point has at least
    :data:`MIN_RUNS_FOR_BAND` runs, the individual runs as dots where it has fewer. Each method's
    points are shifted by a small dodge (as in :func:`draw_difference`) so that methods at one
    noise level (a grid with a single level per family) do not hide each other's intervals. ``rates``:
    mean realised noise rate (fraction) per level. ``x="level"``: levels at their values, clean one
    step left, rates under the tick labels; ``x="realised"``: each level at its rate in percent,
    clean at 0 (``rates`` required).
    """
    ax = _axes(ax)
    axis = _noise_axis(ax, summary, rates, x)
    colors = _colors(summary, "method_label", "method")
    for i, (label, rows) in enumerate(summary.groupby("method_label", sort=False)):
        rows = rows.assign(_x=_x(rows, axis)).sort_values("_x")
        clean = rows["noise_family"].map(is_clean).to_numpy()
        x = rows["_x"].to_numpy() + (i - (len(colors) - 1) / 2) * axis["dodge"]
        _draw_series(ax, rows, x, colors[label], str(label), clean)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


def draw_difference(diffs: pd.DataFrame, *, rates: Mapping[float, float] | None = None, x: str = "level",
                    ax: Axes | None = None) -> Axes:
    """Mean paired difference treatment − baseline (pp) vs noise, bootstrap CI bars, stars where Holm p < α.

    ``diffs``: :func:`~noisebench.analysis.prepare.paired_differences` rows of one panel with
    ``n_pairs > 0``. The line of each treatment is labelled ``"<treatment> − <baseline>"``.
    ``rates`` and ``x`` as in :func:`draw_accuracy`.
    """
    ax = _axes(ax)
    axis = _noise_axis(ax, diffs, rates, x)
    colors = _colors(diffs.assign(method="_"), "treatment_label", "method")
    for i, (label, rows) in enumerate(diffs.groupby("treatment_label", sort=False)):
        rows = rows.assign(_x=_x(rows, axis)).sort_values("_x")
        x = rows["_x"].to_numpy() + (i - (len(colors) - 1) / 2) * axis["dodge"]
        mean, low, high = (rows[c].to_numpy(dtype=float) * 100 for c in ("mean_diff", "ci_low", "ci_high"))
        ok = np.isfinite(low) & np.isfinite(high)
        noisy = ~rows["noise_family"].map(is_clean).to_numpy()
        name = f"{label} − {rows['baseline_label'].iloc[0]}"
        ax.plot(x[noisy], mean[noisy], color=colors[label], marker="o", linewidth=1.2, label=name)
        ax.plot(x[~noisy], mean[~noisy], "D", color=colors[label], label="_clean " + name)
        ax.errorbar(x[ok], mean[ok], yerr=[mean[ok] - low[ok], high[ok] - mean[ok]], fmt="none", color=colors[label],
                    capsize=3)
        sig = rows["significant"].astype(bool).to_numpy()
        ax.plot(x[sig], mean[sig], linestyle="none", marker="*", markersize=15, color=colors[label],
                markeredgecolor="black", markeredgewidth=0.6, label="_holm " + name)
    any_sig = diffs["significant"].astype(bool).any()
    ax.plot([], [], linestyle="none", marker="*", markersize=12, color="0.65" if any_sig else "none",
            markeredgecolor="black", label="Holm p<0.05" + ("" if any_sig else ": no cell"))
    ax.axhline(0.0, color="black", linewidth=0.9)
    ax.set_ylabel("Δ test accuracy (pp)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


SUMMARY_STATISTICS: dict[str, tuple[float, float, str]] = {
    "mean_diff": (100.0, 0.0, "mean Δ test accuracy vs {baseline} over cells (pp)"),
    "p_improvement": (1.0, 0.5, "probability of improvement over {baseline}"),
}
"""Statistic of a method summary -> (scale to the axis unit, no-effect reference, axis label)."""


def draw_method_summary(summary: pd.DataFrame, *, statistic: str = "mean_diff", ax: Axes | None = None) -> Axes:
    """One statistic per treatment: its estimate (dot) and bootstrap interval (bar), one row each (rliable's interval plot).

    ``summary``: :func:`~noisebench.analysis.prepare.method_summaries` rows of one group (one
    baseline). ``statistic``: a key of :data:`SUMMARY_STATISTICS`, ``"mean_diff"`` (percentage
    points, no effect at 0) or ``"p_improvement"`` (no effect at 0.5). The dot of a treatment is a
    line labelled with its treatment label, its interval a bar labelled ``"_ci <label>"``; rows
    run top to bottom in label order.
    """
    if statistic not in SUMMARY_STATISTICS:
        raise ValueError(f"draw_method_summary: statistic must be one of {', '.join(SUMMARY_STATISTICS)}, "
                         f"got {statistic!r}")
    scale, reference, xlabel = SUMMARY_STATISTICS[statistic]
    ax = _axes(ax)
    colors = _colors(summary.assign(method="_"), "treatment_label", "method")
    rows = summary.sort_values("treatment_label", key=lambda c: c.astype(str)).to_dict("records")
    for y, r in enumerate(rows):
        label, color = str(r["treatment_label"]), colors[r["treatment_label"]]
        low, high = (float(r[f"{statistic}_ci_{end}"]) * scale for end in ("low", "high"))
        ax.barh(y, high - low, left=low, height=0.55, color=color, alpha=0.35, linewidth=0, label=f"_ci {label}")
        ax.plot([float(r[statistic]) * scale], [y], marker="o", markersize=7, color=color, linestyle="none",
                label=label)
    ax.set_yticks(range(len(rows)), [str(r["treatment_label"]) for r in rows])
    ax.set_ylim(len(rows) - 0.5, -0.5)
    ax.axvline(reference, color="black", linewidth=0.9, linestyle=":")
    ax.use_sticky_edges = False  # a bar's left end would otherwise sit on the frame
    ax.margins(x=0.08)
    if statistic == "p_improvement":
        ax.set_xlim(0.0, 1.0)
    baseline = rows[0]["baseline_label"] if rows else BASELINE
    ax.set_xlabel(xlabel.format(baseline=baseline))
    ax.grid(True, axis="x", alpha=0.3)
    return ax


def accuracy_figure(table: pd.DataFrame, *, confidence: float = 0.95, x: str = "level") -> Figure:
    """Test accuracy vs noise, one panel per :func:`panels` key, clean runs as anchor (``x``: see :data:`X_MODES`)."""
    _check_x(x)
    summary = prepare.cell_summary(table, confidence=confidence)
    if summary.empty:
        raise ValueError("accuracy_vs_noise: no runs with a test accuracy")
    rates = prepare.noise_rates(prepare.noise_draws(table))
    fig, axes = _grid(len(found := panels(summary)))
    varying = _varying(found)
    for ax, (key, rows) in zip(axes, found):
        draw_accuracy(rows, rates=_rates_by_level(rates, key) or None, x=x, ax=ax)
        band = f"; band: {confidence:.0%} t-interval from {MIN_RUNS_FOR_BAND} runs, dots: runs below"
        ax.set_title(f"{_panel_title(key)} · {_noise_title(key, varying)}\n{_count_text(rows['n'])}{band}", fontsize=9)
    return fig


def difference_figure(table: pd.DataFrame, *, x: str = "level") -> Figure:
    """Paired difference of every treatment vs the baseline, one panel per :func:`panels` key."""
    _check_x(x)
    diffs = prepare.paired_differences(table)
    diffs = diffs[diffs["n_pairs"] > 0]
    if diffs.empty:
        raise ValueError(f"difference_vs_noise: no run of another method shares its seeds with a {BASELINE} run")
    rates = prepare.noise_rates(prepare.noise_draws(table))
    fig, axes = _grid(len(found := panels(diffs)))
    varying = _varying(found)
    for ax, (key, rows) in zip(axes, found):
        draw_difference(rows, rates=_rates_by_level(rates, key) or None, x=x, ax=ax)
        ax.set_title(f"{_panel_title(key)} · {_noise_title(key, varying)}\n"
                     f"{_count_text(rows['n_pairs'], 'pair')}; bars: bootstrap CI", fontsize=9)
    return fig


def _pooled_text(rows: pd.DataFrame) -> str:
    """What a method summary pools: cells, pairs per cell, tasks and noise families."""
    def span(low: int, high: int) -> str:
        return f"{low}" if low == high else f"{low}–{high}"

    families = ", ".join(sorted({f for text in rows["noise_families"] for f in text.split(", ")}))
    tasks = ", ".join(sorted({t for text in rows["tasks"] for t in text.split(", ")}))
    return (f"{span(int(rows['n_cells'].min()), int(rows['n_cells'].max()))} cells: {tasks}\nnoise: {families}; "
            f"{span(int(rows['min_pairs_per_cell'].min()), int(rows['max_pairs_per_cell'].max()))} pairs per cell")


def method_summary_figure(table: pd.DataFrame, *, baseline: str = BASELINE, confidence: float = 0.95) -> Figure:
    """Every method against ``baseline`` over all cells: mean Δ and probability of improvement, one row per (model, N, pooling)."""
    summary = prepare.method_summaries(table, baseline=baseline, confidence=confidence)
    if summary.empty:
        raise ValueError(f"method summary: no run of another method shares its seeds with a {baseline} run")
    found = list(prepare.groups(summary, SUMMARY_BY))
    n_methods = max(len(rows) for _, rows in found)
    height = max(2.4, 0.42 * n_methods + 1.7)
    fig, axes = plt.subplots(len(found), 2, figsize=(2 * PANEL_SIZE[0], height * len(found)), layout="constrained",
                             squeeze=False)
    for (left, right), (key, rows) in zip(axes, found):
        draw_method_summary(rows, statistic="mean_diff", ax=left)
        draw_method_summary(rows, statistic="p_improvement", ax=right)
        pooling = "" if is_missing(key.get("pooling")) else f" · {key['pooling']} pooling"
        left.set_title(f"{key['model']} · N={_fmt_n(key['n_train'])}{pooling}\n{_pooled_text(rows)}", fontsize=9)
        right.set_title(f"P(treatment run > {rows['baseline_label'].iloc[0]} run) + ½ P(tie)\nmean over cells",
                        fontsize=9)
        right.set_yticklabels([])
    fig.suptitle(f"Every method against {baseline}: dot = estimate over the cells, bar = {confidence:.0%} "
                 f"stratified bootstrap CI (seeds resampled within cells)", fontsize=10)
    return fig


def plot_accuracy_vs_noise(table: pd.DataFrame, out_stem: Path | str, *, x: str = "level") -> list[Path]:
    """The headline figure (:func:`accuracy_figure`) as ``<out_stem>.png`` and ``.pdf``.

    ``x="level"`` puts each noise level at its value; ``x="realised"`` at its mean realised noise
    rate (clean at 0), the ticks naming the level.
    """
    return save_figure(accuracy_figure(table, x=x), out_stem)

"""Figures: ``draw_*`` functions draw one prepared frame on one axes; ``*_figure`` assemble panels; one saver.

A ``draw_*`` function takes a frame from :mod:`noisebench.analysis.prepare` and ``ax=None`` (a new
figure when None), draws one thing and returns the axes, so a figure's data can be tested on the
axes without pixels. A ``*_figure`` function lays out one panel per setting; :func:`save_figure`
is the only place that writes files (PNG at :data:`DPI` and PDF, atomically). Noise axes are
labelled by the family registry (the family's parameter, or the target rate when the levels are
target noise rates), series by :meth:`Method.label`. The noise axis either places each level at
its value (``x="level"``) or at its mean realised noise rate (``x="realised"``, see
:data:`X_MODES`). This module must not import
the training code or the CLI.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from io import BytesIO
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

from noisebench.analysis import prepare  # noqa: E402
from noisebench.analysis.keys import (  # noqa: E402
    NOISE_SETUP_KEYS, PANEL_KEYS, SEED_KEYS, SETTING_KEYS, TRAINING_KEYS, with_setting_keys,
)
from noisebench.analysis.summary import SUMMARY_BY  # noqa: E402
from noisebench.analysis.values import is_missing  # noqa: E402
from noisebench.io import write_bytes_atomic  # noqa: E402
from noisebench.methods import BASELINE  # noqa: E402
from noisebench.noise.families import is_clean  # noqa: E402
from noisebench.store.layout import run_dir  # noqa: E402
from noisebench.store.read import has_embeddings, has_metrics  # noqa: E402

log = logging.getLogger(__name__)

DPI: int = 150
PANEL_SIZE: tuple[float, float] = (5.2, 4.2)
MAX_COLS: int = 3
MIN_RUNS_FOR_BAND: int = 3
"""Below this many runs a point shows its runs as dots and no t-interval."""
BASELINE_COLOR = "#4d4d4d"
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")
X_MODES: tuple[str, ...] = ("level", "realised")
"""Noise axis: each level at its value (clean one step left), or at its mean realised noise rate in % (clean at 0)."""
PANEL_NOISE_KEYS: tuple[str, ...] = ("noise_family", "noise_param") + NOISE_SETUP_KEYS
"""Besides (task, model, N, pooling), what splits panels: one noise family and level parameter per panel."""


# --------------------------------------------------------------------------
# saving and layout
# --------------------------------------------------------------------------


def save_figure(fig: Figure, out_stem: Path | str) -> list[Path]:
    """Write ``fig`` to ``<out_stem>.png`` and ``.pdf`` (each atomically), close it, return the paths."""
    stem = Path(out_stem)
    written = []
    try:
        for ext in ("png", "pdf"):
            buffer = BytesIO()
            fig.savefig(buffer, format=ext, dpi=DPI)
            path = stem.parent / f"{stem.name}.{ext}"
            write_bytes_atomic(path, buffer.getvalue(), crash_name="figure-write")
            written.append(path)
    finally:
        plt.close(fig)
    return written


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


# --------------------------------------------------------------------------
# drawing: one prepared frame on one axes
# --------------------------------------------------------------------------


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


def draw_noise_rates(rates: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Realised noise rate (%) vs level, one line per N (mean over draws), min–max band where draws differ.

    ``rates``: :func:`~noisebench.analysis.prepare.noise_rates` rows of one task, family and level parameter.
    """
    ax = _axes(ax)
    for i, (n_train, rows) in enumerate(rates.groupby("n_train", dropna=False, sort=True)):
        rows = rows.sort_values("noise_level")
        x, color = rows["noise_level"].to_numpy(dtype=float), COLORS[(i + 1) % len(COLORS)]
        name = f"N={_fmt_n(n_train)}" if not is_missing(n_train) else "whole pool"
        ax.plot(x, rows["mean"] * 100, marker="o", color=color, label=f"{name}: mean over draws")
        if (rows["n_draws"] > 1).any():
            ax.fill_between(x, rows["min"] * 100, rows["max"] * 100, color=color, alpha=0.2, linewidth=0,
                            label=f"{name}: min–max")
    ax.set_xlabel(prepare.level_axis_label(rates["noise_family"].iloc[0], rates["noise_param"].iloc[0]))
    ax.set_ylabel("realised noise rate (% of training labels)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


TRANSITION_ANNOTATED_SHARES: int = 8
"""Up to this many classes a transition cell shows its count and row share; above, its count only."""
TRANSITION_MAX_SIDE_IN: float = 10.0
"""The transition figure grows 1.1 in per class up to this side, so 20 classes stay legible on a page."""


def draw_transition(matrix: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Heatmap of clean → noisy counts coloured by row percentage, each cell annotated with count and %.

    ``matrix``: :func:`~noisebench.analysis.prepare.transition_matrix`.
    """
    ax = _axes(ax)
    counts = matrix.to_numpy(dtype=float)
    k = counts.shape[0]
    row_sums = counts.sum(axis=1, keepdims=True)
    pct = np.divide(counts, row_sums, out=np.zeros_like(counts), where=row_sums > 0) * 100
    image = ax.imshow(pct, cmap="Blues", vmin=0, vmax=100)
    many = k > TRANSITION_ANNOTATED_SHARES  # small cells: the count alone; the colour still gives the share
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(counts[i, j])}" if many else f"{int(counts[i, j])}\n({pct[i, j]:.1f}%)", ha="center",
                    va="center", color="white" if pct[i, j] > 55 else "black", fontsize=10 if k <= 4 else 8 if k <= 8 else 6)
    labels = list(matrix.columns)
    ax.set_xticks(range(k), labels, rotation=90 if many else 30 if max(len(str(x)) for x in labels) > 6 else 0,
                  fontsize=7 if many else None)
    ax.set_yticks(range(k), list(matrix.index), fontsize=7 if many else None)
    ax.set_xlabel("noisy label")
    ax.set_ylabel("clean label")
    ax.figure.colorbar(image, ax=ax, label="% of the clean label's examples", shrink=0.8)
    meta = matrix.attrs
    rate = meta.get("rate")
    level = meta.get("noise_level")
    noise = prepare.noise_label(meta.get("noise_family"), meta.get("noise_param"), level) if level is not None else "noise"
    ax.set_title(f"{meta.get('task', '?')}: {noise}, realised noise "
                 f"{'n/a' if rate is None else format(float(rate), '.1%')}\n{meta.get('source', '')}; "
                 f"{int(counts.sum())} examples", fontsize=9)
    return ax


_MEMO_STYLES = (("train_acc_clean", "-", "clean examples: predicted = label"),
                ("train_acc_corrupted_noisy", "--", "corrupted examples: predicted = noisy label (memorised)"))


def draw_memorisation(memo: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Per-epoch share of clean examples fitted (solid) and corrupted ones memorised (dashed), per method label.

    ``memo``: :func:`~noisebench.analysis.prepare.memorisation` rows of one panel. Each line is
    labelled ``"<method label>: <column>"``.
    """
    ax = _axes(ax)
    colors = _colors(memo, "method_label", "method")
    for label, rows in memo.groupby("method_label", sort=False):
        rows = rows.sort_values("epoch")
        for column, style, _ in _MEMO_STYLES:
            y = rows[column].to_numpy(dtype=float) * 100
            if np.isfinite(y).any():
                ax.plot(rows["epoch"].to_numpy(dtype=float), y, linestyle=style, color=colors[label], marker="o",
                        markersize=3, linewidth=1.5, label=f"_{label}: {column}")
    handles = [Line2D([], [], color=c, linewidth=2.5, label=lab) for lab, c in colors.items()]
    handles += [Line2D([], [], color="0.3", linestyle=style, label=text) for _, style, text in _MEMO_STYLES]
    ax.legend(handles=handles, fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    ax.set_ylim(-3, 103)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel("% of training examples")
    ax.grid(True, alpha=0.3)
    return ax


def draw_tsne(points: pd.DataFrame, *, label_names: Sequence[str] | None = None, ax: Axes | None = None) -> Axes:
    """Scatter of t-SNE points coloured by true label (:func:`~noisebench.analysis.prepare.tsne_points`)."""
    ax = _axes(ax)
    labels = sorted(points["label"].unique())
    cmap = plt.get_cmap("tab10" if len(labels) <= 10 else "tab20")
    for i, lab in enumerate(labels):
        rows = points[points["label"] == lab]
        name = str(label_names[lab]) if label_names is not None and 0 <= lab < len(label_names) else f"label {lab}"
        ax.scatter(rows["x"], rows["y"], s=8, alpha=0.7, color=cmap(i % cmap.N), label=name, linewidths=0)
    ax.set(xlabel="t-SNE 1", ylabel="t-SNE 2", xticks=[], yticks=[])
    ax.legend(fontsize=8, markerscale=2, title="true label", title_fontsize=8, loc="upper center",
              bbox_to_anchor=(0.5, -0.08), ncol=min(len(labels), 5), frameon=False)
    return ax


# --------------------------------------------------------------------------
# figures: one panel per (task, model, N, pooling, noise family and level parameter, weak fit, n_relabel)
# --------------------------------------------------------------------------


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


def noise_rate_figure(draws: pd.DataFrame) -> Figure:
    """Realised noise rate vs level, one panel per (task, family, level parameter, weak fit, n_relabel), one line per N."""
    rates = prepare.noise_rates(draws)
    if rates.empty:
        raise ValueError("noise rates: no noisy runs with a realised noise rate")
    found = list(prepare.groups(rates, ("task", *PANEL_NOISE_KEYS)))
    fig, axes = _grid(len(found), (4.8, 3.8))
    varying = _varying(found)
    for ax, (key, rows) in zip(axes, found):
        draw_noise_rates(rows, ax=ax)
        variant = _variant(key, varying)
        ax.set_title(f"{key['task']}{' · ' + variant if variant else ''}\n{_count_text(rows['n_draws'], 'noise draw')}",
                     fontsize=10)
    return fig


def transition_figure(path: Path | str) -> Figure:
    """Clean → noisy heatmap of a noise artifact or run directory."""
    matrix = prepare.transition_matrix(path)
    side = max(4.6, min(1.1 * matrix.shape[0] + 2.6, TRANSITION_MAX_SIDE_IN))
    fig, ax = plt.subplots(figsize=(side + 0.8, side), layout="constrained")
    draw_transition(matrix, ax=ax)
    return fig


def memorisation_figure(table: pd.DataFrame, history: pd.DataFrame, *, noise_family: str, noise_level: float,
                        noise_param: str | None = None) -> Figure:
    """Memorisation per epoch at one noise level, one panel per (task, model, N, weak fit, n_relabel, pooling)."""
    memo = prepare.memorisation(table, history, noise_family=noise_family, noise_level=noise_level,
                                noise_param=noise_param)
    noise = prepare.noise_label(noise_family, prepare.level_parameter_name(noise_family, noise_param), noise_level)
    if memo.empty or memo[list(prepare.MEMORISATION_COLUMNS)].isna().all().all():
        raise ValueError(f"memorisation: no per-epoch records for the runs at {noise}")
    found = list(prepare.groups(memo, prepare.MEMORISATION_KEYS))
    fig, axes = _grid(len(found), (PANEL_SIZE[0] + 0.6, PANEL_SIZE[1] + 0.9))
    varying = _varying(found)
    for ax, (key, rows) in zip(axes, found):
        draw_memorisation(rows, ax=ax)
        n_runs = rows.groupby("method_label")["n_runs"].max()
        variant = _variant(key, varying)
        ax.set_title(_panel_title(key, f"{noise}{', ' + variant if variant else ''}; {_count_text(n_runs)}"),
                     fontsize=10)
    return fig


def tsne_figure(run_dirs: Mapping[str, Path | str], *, title: str | None = None,
                label_names: Sequence[str] | None = None) -> Figure:
    """t-SNE of test [CLS] embeddings, one panel per run (name → run directory), coloured by true label."""
    if not run_dirs:
        raise ValueError("tsne: no run directories given")
    points = {name: prepare.tsne_points(d) for name, d in run_dirs.items()}
    fig, axes = _grid(len(points), (5.0, 5.2 if title else 4.9))
    for ax, (name, frame) in zip(axes, points.items()):
        draw_tsne(frame, label_names=label_names, ax=ax)
        ax.set_title(f"{name}\n{len(frame)} of {frame.attrs['n_total']} test examples, coloured by true label",
                     fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


# --------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------


def plot_accuracy_vs_noise(table: pd.DataFrame, out_stem: Path | str, *, x: str = "level") -> list[Path]:
    """The headline figure (:func:`accuracy_figure`) as ``<out_stem>.png`` and ``.pdf``.

    ``x="level"`` puts each noise level at its value; ``x="realised"`` at its mean realised noise
    rate (clean at 0), the ticks naming the level.
    """
    return save_figure(accuracy_figure(table, x=x), out_stem)


def _highest_levels(table: pd.DataFrame) -> list[tuple[str, str, float]]:
    """(family, noise_param, highest level) for every noisy family and level parameter in the table."""
    table = with_setting_keys(table)
    noisy = table[~table["noise_family"].map(is_clean) & pd.to_numeric(table["noise_level"], errors="coerce").notna()]
    return [(f, p, float(g["noise_level"].max())) for (f, p), g in noisy.groupby(["noise_family", "noise_param"], sort=True)]


def _level_slugs(levels: Sequence[tuple[str, str, float]]) -> dict[tuple[str, str, float], str]:
    """File-name part per (family, noise_param, level): :func:`~noisebench.analysis.prepare.level_slug`, plus
    ``_<family>`` where families share it (target rates, or uniform and pair at one rate), so no figure overwrites another."""
    plain = {key: prepare.level_slug(*key) for key in levels}
    counts = pd.Series(list(plain.values()), dtype=object).value_counts()
    return {key: slug if counts[slug] == 1 else f"{slug}_{key[0]}" for key, slug in plain.items()}


def _transition_runs(table: pd.DataFrame, results_dir: Path) -> list[tuple[str, Path]]:
    """(figure stem, run dir) per task, family and level parameter: the first run with metrics.json at the highest level."""
    out = []
    table = with_setting_keys(table)
    slugs = _level_slugs(_highest_levels(table))
    for (family, param, level), slug in slugs.items():
        at = table[(table["noise_family"] == family) & (table["noise_param"] == param)
                   & np.isclose(table["noise_level"].astype(float), level)]
        for task, group in at.groupby("task", sort=True):
            group = group.sort_values(["n_train", "run_id"])
            for run_id, n_train in zip(group["run_id"], group["n_train"]):
                if has_metrics(run_dir(results_dir, run_id)):
                    stem = _slug("transition", task, f"N{_fmt_n(n_train)}", slug)
                    out.append((stem, run_dir(results_dir, run_id)))
                    break
    return out


def _tsne_pick(table: pd.DataFrame, results_dir: Path) -> tuple[dict[str, Path], str, str] | None:
    """A baseline run and one treatment run (same setting and seeds) with embeddings; noisiest first."""
    rows = table[[has_embeddings(run_dir(results_dir, r)) for r in table["run_id"]]]
    if rows.empty:
        return None
    rows = prepare.with_labels(with_setting_keys(rows)).sort_values(["method", "run_id"], key=lambda s: s.astype(str))
    keys = [*SETTING_KEYS, *SEED_KEYS]
    best = None
    for key, group in prepare.groups(rows, keys):
        picks = {lab: run_dir(results_dir, g["run_id"].iloc[0]) for lab, g in group.groupby("method_label", sort=False)}
        picks = dict(sorted(picks.items(), key=lambda kv: kv[0] != prepare.method_label(BASELINE, {}))[:2])
        level, family, param = key["noise_level"], key["noise_family"], key["noise_param"]
        rank = (len(picks), not is_clean(family), -1.0 if is_missing(level) else float(level))
        noise = "clean" if is_clean(family) else prepare.level_slug(family, param, level)
        seeds = ", ".join(f"{k.split('_')[0]} {_fmt_n(key[k]) if not is_missing(key[k]) else '—'}" for k in SEED_KEYS)
        title = f"{_panel_title(key)} · {prepare.noise_label(family, param, level)}  (seeds: {seeds})"
        if best is None or rank > best[0]:
            best = (rank, picks, _slug("tsne", key["task"], f"N{_fmt_n(key['n_train'])}", noise), title.replace("\n", " "))
    return best[1:] if best else None


def _figure_jobs(table: pd.DataFrame, history: pd.DataFrame, results_dir: Path) -> list[tuple[str, Callable[[], Figure]]]:
    """(figure stem, figure factory) of every figure the table can support; skips are logged (INFO)."""
    jobs: list[tuple[str, Callable[[], Figure]]] = [("accuracy_vs_noise", lambda: accuracy_figure(table))]
    draws = prepare.noise_draws(table)
    if not draws.empty:
        jobs.append(("accuracy_vs_realised_noise", lambda: accuracy_figure(table, x="realised")))
    if table["method"].nunique() > 1:
        jobs.append(("difference_vs_noise", lambda: difference_figure(table)))
        jobs.append(("method_summary", lambda: method_summary_figure(table)))
    else:
        log.info("plot_all: skipped difference_vs_noise and method_summary: only method(s) %s",
                 ", ".join(map(str, table["method"].unique())))
    if draws.empty:
        log.info("plot_all: skipped realised-noise accuracy, noise rates, transition matrices and memorisation: "
                 "no noisy runs with a realised noise rate")
        levels: list[tuple[str, str, float]] = []
    else:
        jobs += [(_noise_rate_stem(f, p), lambda d=d: noise_rate_figure(d))
                 for (f, p), d in draws.groupby(["noise_family", "noise_param"], sort=True)]
        levels = _highest_levels(table)
        transitions = _transition_runs(table, results_dir)
        jobs += [(stem, lambda d=folder: transition_figure(d)) for stem, folder in transitions]
        if not transitions:
            log.info("plot_all: skipped transition matrices: no metrics.json under %s/runs", results_dir)
    if history.empty or history.get("train_acc_corrupted_noisy", pd.Series(dtype=float)).isna().all():
        log.info("plot_all: skipped memorisation: no per-epoch history")
    else:
        jobs += [(_slug("memorisation", slug),
                  lambda f=f, p=p, lv=lv: memorisation_figure(table, history, noise_family=f, noise_level=lv, noise_param=p))
                 for (f, p, lv), slug in _level_slugs(levels).items()]
    picked = _tsne_pick(table, results_dir)
    if picked is None:
        log.info("plot_all: skipped t-SNE: no embeddings.npz under %s/runs", results_dir)
    else:
        names = prepare.class_names(next(iter(picked[0].values())))
        jobs.append((picked[1], lambda: tsne_figure(picked[0], title=picked[2], label_names=names)))
    return jobs


def _noise_rate_stem(family: str, noise_param: str) -> str:
    """``noise_rate_vs_<parameter>``; target rates name their family (two families may share the target axis)."""
    if prepare.level_parameter_is_target(noise_param):
        return _slug("noise_rate_vs", noise_param, family)
    return f"noise_rate_vs_{noise_param}"


def plot_all(table: pd.DataFrame, history: pd.DataFrame | None, results_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Every figure the results support, into ``out_dir``; returns the written paths.

    Files (``.png`` and ``.pdf`` each): ``accuracy_vs_noise`` (levels at their values),
    ``accuracy_vs_realised_noise`` (levels at their mean realised noise rate; when the table has
    noisy runs with a realised rate), ``difference_vs_noise``, ``method_summary`` (every method
    against the baseline over all cells, :func:`method_summary_figure`), ``noise_rate_vs_<parameter>`` per
    family (``noise_rate_vs_target_rate_<family>`` for target rates),
    ``transition_<task>_N<N>_<level>`` (one run's N labels at each family's and level parameter's
    highest level), ``memorisation_<level>`` (``<level>_<family>`` in both where families share the
    level's name, e.g. target rates) and ``tsne_<task>_N<N>_<level|clean>``.
    A figure the table cannot support is skipped with a logged reason.

    Raises
    ------
    ValueError
        When the table is empty (``"no finished runs in <results_dir>"``).
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    if table is None or len(table) == 0:
        raise ValueError(f"no finished runs in {results_dir}")
    history = history if history is not None else pd.DataFrame(columns=["run_id", "epoch"])
    written: list[Path] = []
    for stem, make in _figure_jobs(table, history, results_dir):
        before = set(plt.get_fignums())
        try:
            written += save_figure(make(), out_dir / stem)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            for number in set(plt.get_fignums()) - before:  # a figure half made before the error
                plt.close(number)
            log.warning("plot_all: skipped %s: %s", stem, exc)
    return written

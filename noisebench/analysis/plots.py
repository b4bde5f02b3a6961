"""Figures: ``draw_*`` functions draw one prepared frame on one axes; ``*_figure`` assemble panels; one saver.

A ``draw_*`` function takes a frame from :mod:`noisebench.analysis.prepare` and ``ax=None`` (a new
figure when None), draws one thing and returns the axes, so a figure's data can be tested on the
axes without pixels. A ``*_figure`` function lays out one panel per setting; :func:`save_figure`
is the only place that writes files (PNG at :data:`DPI` and PDF, atomically). Noise axes are
labelled by the family registry, series by :meth:`Method.label`. This module must not import
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
from noisebench.analysis.values import is_missing  # noqa: E402
from noisebench.io import write_bytes_atomic  # noqa: E402
from noisebench.methods import BASELINE  # noqa: E402
from noisebench.noise.families import get_family, is_clean  # noqa: E402

log = logging.getLogger(__name__)

DPI: int = 150
PANEL_SIZE: tuple[float, float] = (5.2, 4.2)
MAX_COLS: int = 3
MIN_RUNS_FOR_BAND: int = 3
"""Below this many runs a point shows its runs as dots and no t-interval."""
BASELINE_COLOR = "#4d4d4d"
COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2")


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


def _noise_family(frame: pd.DataFrame) -> str | None:
    families = sorted({f for f in frame["noise_family"] if not is_clean(f)})
    return families[0] if families else None


def _clean_x(levels: Sequence[float]) -> float:
    """Where the clean anchor sits: one level step left of the lowest level."""
    levels = sorted(levels)
    if not levels:
        return 0.0
    span = levels[-1] - levels[0]
    step = span / max(len(levels) - 1, 1) if span > 0 else max(abs(levels[0]) * 0.5, 0.2)
    return levels[0] - step


def _noise_axis(ax: Axes, frame: pd.DataFrame, rates: Mapping[float, float] | None) -> dict[str, Any]:
    """Ticks at the noise levels (and the clean anchor), labelled with the realised rates; x positions."""
    family = _noise_family(frame)
    levels = sorted({float(v) for v in frame["noise_level"] if not is_missing(v)})
    has_clean = frame["noise_family"].map(is_clean).any()
    cx = _clean_x(levels)
    ticks = ([cx] if has_clean else []) + levels
    labels = (["clean\n(0%)" if rates else "clean"] if has_clean else []) + [
        f"{lv:g}\n({rates[lv]:.0%})" if rates and lv in rates else f"{lv:g}" for lv in levels]
    ax.set_xticks(ticks, labels)
    if ticks:
        pad = (max(ticks) - min(ticks)) * 0.08 if len(ticks) > 1 else 0.2
        ax.set_xlim(min(ticks) - pad, max(ticks) + pad)
    if has_clean and levels:
        ax.axvline((cx + levels[0]) / 2, color="0.7", linewidth=0.8, linestyle=":")
    axis = get_family(family).parameter.label if family else "training labels"
    ax.set_xlabel(axis + ("  (mean realised noise rate)" if rates and family else ""))
    return {"clean_x": cx, "dodge": (levels[-1] - cx) * 0.02 if levels else 0.05}


def _x(frame: pd.DataFrame, clean_x: float) -> np.ndarray:
    return np.array([clean_x if is_clean(f) else float(v) for f, v in zip(frame["noise_family"], frame["noise_level"])])


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


def draw_accuracy(summary: pd.DataFrame, *, rates: Mapping[float, float] | None = None, ax: Axes | None = None) -> Axes:
    """Mean test accuracy (%) vs noise level per method label, clean runs as an anchor left of the levels.

    ``summary``: :func:`~noisebench.analysis.prepare.cell_summary` rows of one panel (one noise
    family plus clean). A line per method label through its noisy means (the line's label is the
    method label); a t-interval band where a point has at least :data:`MIN_RUNS_FOR_BAND` runs,
    the individual runs as dots where it has fewer. ``rates``: realised noise rate per level, shown
    under the tick labels.
    """
    ax = _axes(ax)
    axis = _noise_axis(ax, summary, rates)
    colors = _colors(summary, "method_label", "method")
    for i, (label, rows) in enumerate(summary.groupby("method_label", sort=False)):
        rows = rows.assign(_x=_x(rows, axis["clean_x"])).sort_values("_x")
        clean = rows["noise_family"].map(is_clean).to_numpy()
        x = rows["_x"].to_numpy() + np.where(clean, (i - (len(colors) - 1) / 2) * axis["dodge"], 0.0)
        _draw_series(ax, rows, x, colors[label], str(label), clean)
    ax.set_ylabel("test accuracy (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


def draw_difference(diffs: pd.DataFrame, *, rates: Mapping[float, float] | None = None, ax: Axes | None = None) -> Axes:
    """Mean paired difference treatment − baseline (pp) vs noise level, bootstrap CI bars, stars where Holm p < α.

    ``diffs``: :func:`~noisebench.analysis.prepare.paired_differences` rows of one panel with
    ``n_pairs > 0``. The line of each treatment is labelled ``"<treatment> − <baseline>"``.
    """
    ax = _axes(ax)
    axis = _noise_axis(ax, diffs, rates)
    colors = _colors(diffs.assign(method="_"), "treatment_label", "method")
    for i, (label, rows) in enumerate(diffs.groupby("treatment_label", sort=False)):
        rows = rows.assign(_x=_x(rows, axis["clean_x"])).sort_values("_x")
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


def draw_noise_rates(rates: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Realised noise rate (%) vs level, one line per N (mean over draws), min–max band where draws differ.

    ``rates``: :func:`~noisebench.analysis.prepare.noise_rates` rows of one task and family.
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
    ax.set_xlabel(get_family(rates["noise_family"].iloc[0]).parameter.label)
    ax.set_ylabel("realised noise rate (% of training labels)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return ax


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
    for i in range(k):
        for j in range(k):
            ax.text(j, i, f"{int(counts[i, j])}\n({pct[i, j]:.1f}%)", ha="center", va="center",
                    color="white" if pct[i, j] > 55 else "black", fontsize=10 if k <= 4 else 8 if k <= 8 else 6)
    labels = list(matrix.columns)
    ax.set_xticks(range(k), labels, rotation=30 if max(len(str(x)) for x in labels) > 6 else 0)
    ax.set_yticks(range(k), list(matrix.index))
    ax.set_xlabel("noisy label")
    ax.set_ylabel("clean label")
    ax.figure.colorbar(image, ax=ax, label="% of the clean label's examples", shrink=0.8)
    meta = matrix.attrs
    rate = meta.get("rate")
    level = meta.get("noise_level")
    noise = prepare.noise_label(meta.get("noise_family"), level) if level is not None else "noise"
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
# figures: one panel per (task, model, N, noise family)
# --------------------------------------------------------------------------


def panels(frame: pd.DataFrame) -> list[tuple[dict[str, Any], pd.DataFrame]]:
    """One ``(key, rows)`` per (task, model, n_train, noisy family), the setting's clean rows in each.

    A setting with clean rows only is one panel.
    """
    out = []
    for key, group in prepare.groups(frame, prepare.PANEL_KEYS):
        clean = group[group["noise_family"].map(is_clean)]
        families = sorted({f for f in group["noise_family"] if not is_clean(f)})
        for family in families or [None]:
            rows = pd.concat([group[group["noise_family"] == family], clean]) if family else clean
            out.append(({**key, "noise_family": family}, rows))
    return out


def _rates_by_level(rates: pd.DataFrame, key: Mapping[str, Any]) -> dict[float, float]:
    rows = rates[(rates["task"] == key["task"]) & (rates["noise_family"] == key["noise_family"])]
    rows = rows[rows["n_train"].isna()] if is_missing(key["n_train"]) else rows[rows["n_train"] == key["n_train"]]
    return dict(zip(rows["noise_level"].astype(float), rows["mean"]))


def _count_text(counts: Iterable[int], unit: str = "run") -> str:
    counts = [int(c) for c in counts if c > 0]
    if not counts:
        return f"no {unit}s"
    lo, hi = min(counts), max(counts)
    return f"n = {hi} {unit}{'s' if hi > 1 else ''} per point" if lo == hi else f"n = {lo}–{hi} {unit}s per point"


def accuracy_figure(table: pd.DataFrame, *, confidence: float = 0.95) -> Figure:
    """Test accuracy vs noise level, one panel per (task, model, N, family), clean runs as anchor."""
    summary = prepare.cell_summary(table, confidence=confidence)
    if summary.empty:
        raise ValueError("accuracy_vs_noise: no runs with a test accuracy")
    rates = prepare.noise_rates(prepare.noise_draws(table))
    fig, axes = _grid(len(found := panels(summary)))
    for ax, (key, rows) in zip(axes, found):
        draw_accuracy(rows, rates=_rates_by_level(rates, key) or None, ax=ax)
        band = f"; band: {confidence:.0%} t-interval from {MIN_RUNS_FOR_BAND} runs, dots: single runs"
        ax.set_title(_panel_title(key, _count_text(rows["n"]) + band), fontsize=9)
    return fig


def difference_figure(table: pd.DataFrame) -> Figure:
    """Paired difference of every treatment vs the baseline, one panel per (task, model, N, family)."""
    diffs = prepare.paired_differences(table)
    diffs = diffs[diffs["n_pairs"] > 0]
    if diffs.empty:
        raise ValueError(f"difference_vs_noise: no run of another method shares its seeds with a {BASELINE} run")
    rates = prepare.noise_rates(prepare.noise_draws(table))
    fig, axes = _grid(len(found := panels(diffs)))
    for ax, (key, rows) in zip(axes, found):
        draw_difference(rows, rates=_rates_by_level(rates, key) or None, ax=ax)
        ax.set_title(_panel_title(key, _count_text(rows["n_pairs"], "pair") + "; bars: bootstrap CI"), fontsize=9)
    return fig


def noise_rate_figure(draws: pd.DataFrame) -> Figure:
    """Realised noise rate vs level, one panel per (task, family), one line per N (``draws``: one row per draw)."""
    rates = prepare.noise_rates(draws)
    if rates.empty:
        raise ValueError("noise rates: no noisy runs with a realised noise rate")
    found = list(rates.groupby(["task", "noise_family"], sort=True))
    fig, axes = _grid(len(found), (4.8, 3.8))
    for ax, ((task, _), rows) in zip(axes, found):
        draw_noise_rates(rows, ax=ax)
        ax.set_title(f"{task}\n{_count_text(rows['n_draws'], 'noise draw')}", fontsize=10)
    return fig


def transition_figure(path: Path | str) -> Figure:
    """Clean → noisy heatmap of a noise artifact or run directory."""
    matrix = prepare.transition_matrix(path)
    side = max(4.6, 1.1 * matrix.shape[0] + 2.6)
    fig, ax = plt.subplots(figsize=(side + 0.8, side), layout="constrained")
    draw_transition(matrix, ax=ax)
    return fig


def memorisation_figure(table: pd.DataFrame, history: pd.DataFrame, *, noise_family: str, noise_level: float) -> Figure:
    """Memorisation per epoch at one noise level, one panel per (task, model, N)."""
    memo = prepare.memorisation(table, history, noise_family=noise_family, noise_level=noise_level)
    if memo.empty or memo[list(prepare.MEMORISATION_COLUMNS)].isna().all().all():
        raise ValueError(f"memorisation: no per-epoch records for the runs at "
                         f"{prepare.noise_label(noise_family, noise_level)}")
    found = list(prepare.groups(memo, prepare.PANEL_KEYS))
    fig, axes = _grid(len(found), (PANEL_SIZE[0] + 0.6, PANEL_SIZE[1] + 0.9))
    for ax, (key, rows) in zip(axes, found):
        draw_memorisation(rows, ax=ax)
        n_runs = rows.groupby("method_label")["n_runs"].max()
        ax.set_title(_panel_title(key, f"{prepare.noise_label(noise_family, noise_level)}; {_count_text(n_runs)}"),
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


def plot_accuracy_vs_noise(table: pd.DataFrame, out_stem: Path | str) -> list[Path]:
    """The headline figure (:func:`accuracy_figure`) as ``<out_stem>.png`` and ``.pdf``."""
    return save_figure(accuracy_figure(table), out_stem)


def _highest_levels(table: pd.DataFrame) -> list[tuple[str, float]]:
    """(family, highest level) for every noisy family in the table."""
    noisy = table[~table["noise_family"].map(is_clean) & pd.to_numeric(table["noise_level"], errors="coerce").notna()]
    return [(f, float(g["noise_level"].max())) for f, g in noisy.groupby("noise_family", sort=True)]


def _transition_runs(table: pd.DataFrame, results_dir: Path) -> list[tuple[str, Path]]:
    """(figure stem, run dir) per task and family: the first run with metrics.json at the highest level."""
    out = []
    for family, level in _highest_levels(table):
        at = table[(table["noise_family"] == family) & np.isclose(table["noise_level"].astype(float), level)]
        for task, group in at.groupby("task", sort=True):
            group = group.sort_values(["n_train", *prepare.SETTING_KEYS[3:], "run_id"])
            for run_id, n_train in zip(group["run_id"], group["n_train"]):
                if (results_dir / "runs" / str(run_id) / "metrics.json").is_file():
                    stem = _slug("transition", task, f"N{_fmt_n(n_train)}", get_family(family).folder_name(level))
                    out.append((stem, results_dir / "runs" / str(run_id)))
                    break
    return out


def _tsne_pick(table: pd.DataFrame, results_dir: Path) -> tuple[dict[str, Path], str, str] | None:
    """A baseline run and one treatment run (same setting and seeds) with embeddings; noisiest first."""
    runs = Path(results_dir) / "runs"
    rows = table[[(runs / str(r) / "embeddings.npz").is_file() for r in table["run_id"]]]
    if rows.empty:
        return None
    rows = prepare.with_labels(rows).sort_values(["method", "run_id"], key=lambda s: s.astype(str))
    keys = [*prepare.SETTING_KEYS, "data_seed", "noise_seed", "train_seed"]
    best = None
    for key, group in prepare.groups(rows, keys):
        picks = {lab: runs / str(g["run_id"].iloc[0]) for lab, g in group.groupby("method_label", sort=False)}
        picks = dict(sorted(picks.items(), key=lambda kv: kv[0] != prepare.method_label(BASELINE, {}))[:2])
        level = key["noise_level"]
        rank = (len(picks), not is_clean(key["noise_family"]), -1.0 if is_missing(level) else float(level))
        noise = "clean" if is_clean(key["noise_family"]) else get_family(key["noise_family"]).folder_name(level)
        seeds = ", ".join(f"{k.split('_')[0]} {_fmt_n(key[k]) if not is_missing(key[k]) else '—'}" for k in keys[5:])
        title = f"{_panel_title(key)} · {prepare.noise_label(key['noise_family'], level)}  (seeds: {seeds})"
        if best is None or rank > best[0]:
            best = (rank, picks, _slug("tsne", key["task"], f"N{_fmt_n(key['n_train'])}", noise), title.replace("\n", " "))
    return best[1:] if best else None


def _figure_jobs(table: pd.DataFrame, history: pd.DataFrame, results_dir: Path) -> list[tuple[str, Callable[[], Figure]]]:
    """(figure stem, figure factory) of every figure the table can support; skips are logged (INFO)."""
    jobs: list[tuple[str, Callable[[], Figure]]] = [("accuracy_vs_noise", lambda: accuracy_figure(table))]
    if table["method"].nunique() > 1:
        jobs.append(("difference_vs_noise", lambda: difference_figure(table)))
    else:
        log.info("plot_all: skipped difference_vs_noise: only method(s) %s", ", ".join(map(str, table["method"].unique())))
    draws = prepare.noise_draws(table)
    if draws.empty:
        log.info("plot_all: skipped noise rates, transition matrices and memorisation: no noisy runs")
        levels: list[tuple[str, float]] = []
    else:
        jobs += [(f"noise_rate_vs_{get_family(f).parameter.name}", lambda d=d: noise_rate_figure(d))
                 for f, d in draws.groupby("noise_family", sort=True)]
        levels = _highest_levels(table)
        transitions = _transition_runs(table, results_dir)
        jobs += [(stem, lambda d=run_dir: transition_figure(d)) for stem, run_dir in transitions]
        if not transitions:
            log.info("plot_all: skipped transition matrices: no metrics.json under %s/runs", results_dir)
    if history.empty or history.get("train_acc_corrupted_noisy", pd.Series(dtype=float)).isna().all():
        log.info("plot_all: skipped memorisation: no per-epoch history")
    else:
        jobs += [(_slug("memorisation", get_family(f).folder_name(lv)),
                  lambda f=f, lv=lv: memorisation_figure(table, history, noise_family=f, noise_level=lv))
                 for f, lv in levels]
    picked = _tsne_pick(table, results_dir)
    if picked is None:
        log.info("plot_all: skipped t-SNE: no embeddings.npz under %s/runs", results_dir)
    else:
        names = prepare.class_names(next(iter(picked[0].values())))
        jobs.append((picked[1], lambda: tsne_figure(picked[0], title=picked[2], label_names=names)))
    return jobs


def plot_all(table: pd.DataFrame, history: pd.DataFrame | None, results_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Every figure the results support, into ``out_dir``; returns the written paths.

    Files (``.png`` and ``.pdf`` each): ``accuracy_vs_noise``, ``difference_vs_noise``,
    ``noise_rate_vs_<parameter>`` per family, ``transition_<task>_N<N>_<level>`` (one run's N labels at each
    family's highest level), ``memorisation_<level>`` and ``tsne_<task>_N<N>_<level|clean>``.
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

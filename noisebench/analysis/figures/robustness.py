"""More robust, or just better? Δ treatment − baseline vs noise level against the clean Δ, gains marked where Holm-significant."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from noisebench.analysis import prepare
from noisebench.analysis.figures.panels import _count_text, _noise_title, _varying, panels
from noisebench.analysis.figures.style import _axes, _colors, _grid, _noise_axis, _panel_title, _x
from noisebench.analysis.stats import robustness_gains
from noisebench.methods import BASELINE


def label_gains(gains: pd.DataFrame) -> pd.DataFrame:
    """``gains`` (:func:`~noisebench.analysis.stats.robustness_gains`) plus ``baseline_label`` and ``treatment_label``."""
    labels = [prepare.method_label(r["treatment_method"], r) for r in gains.to_dict("records")]
    baselines = [prepare.method_label(m, {}) for m in gains["baseline_method"]]
    return gains.assign(baseline_label=baselines, treatment_label=labels)


def draw_robustness(gains: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Noisy Δ treatment − baseline (pp, bootstrap CI bars) vs noise level, the clean Δ as a dashed line per treatment.

    ``gains``: :func:`label_gains` rows of one panel with ``n_pairs > 0``. A marker is filled where
    the robustness gain (noisy Δ − clean Δ) is Holm-significant (``significant``), open otherwise,
    so a filled marker away from its dashed line reads "more (or less) robust", an open one on a
    line above 0 "just better". The line of a treatment is labelled ``"<treatment> − <baseline>"``.
    """
    ax = _axes(ax)
    axis = _noise_axis(ax, gains, None)
    colors = _colors(gains.assign(method="_"), "treatment_label", "method")
    for i, (label, rows) in enumerate(gains.groupby("treatment_label", sort=False)):
        rows = rows.assign(_x=_x(rows, axis)).sort_values("_x")
        x = rows["_x"].to_numpy() + (i - (len(colors) - 1) / 2) * axis["dodge"]
        mean, low, high = (rows[c].to_numpy(dtype=float) * 100
                           for c in ("noisy_delta", "noisy_delta_ci_low", "noisy_delta_ci_high"))
        color, name = colors[label], f"{label} − {rows['baseline_label'].iloc[0]}"
        ok = np.isfinite(low) & np.isfinite(high)
        ax.errorbar(x[ok], mean[ok], yerr=[mean[ok] - low[ok], high[ok] - mean[ok]], fmt="none", color=color,
                    capsize=3)
        ax.plot(x, mean, color=color, linewidth=1.2, label=name)
        sig = rows["significant"].astype(bool).to_numpy()
        ax.plot(x[sig], mean[sig], "o", markersize=8, color=color, label="_gain significant " + name)
        ax.plot(x[~sig], mean[~sig], "o", markersize=8, color=color, markerfacecolor="white", markeredgewidth=1.5,
                label="_no evidence " + name)
        clean = float(np.mean(rows["clean_delta"].to_numpy(dtype=float))) * 100
        ax.axhline(clean, color=color, linestyle="--", linewidth=1.1, label=f"_clean {name}")
    ax.axhline(0.0, color="black", linewidth=0.9)
    ax.set_ylabel("Δ test accuracy, treatment − baseline (pp)")
    ax.grid(True, alpha=0.3)
    ax.legend(handles=ax.get_legend_handles_labels()[0] + _key_handles(), fontsize=8, loc="best")
    return ax


def _key_handles() -> list[Line2D]:
    """Legend entries for the dashed clean line and the filled/open markers (shared by every treatment)."""
    return [Line2D([], [], color="0.4", linestyle="--", label="clean Δ (same seeds)"),
            Line2D([], [], color="0.4", marker="o", linestyle="none", markersize=8,
                   label="gain vs clean Holm p<0.05"),
            Line2D([], [], color="0.4", marker="o", linestyle="none", markersize=8, markerfacecolor="white",
                   markeredgewidth=1.5, label="gain not significant")]


def robustness_figure(table: pd.DataFrame, *, baseline: str = BASELINE, confidence: float = 0.95) -> Figure:
    """Δ vs noise level against the clean Δ, one panel per :func:`panels` key (:func:`draw_robustness`)."""
    scored = table[pd.to_numeric(table["test_accuracy"], errors="coerce").notna()]
    gains = robustness_gains(scored, baseline=baseline, confidence=confidence)
    gains = label_gains(gains[gains["n_pairs"] > 0])
    if gains.empty:
        raise ValueError(f"robustness_vs_noise: no noisy pair of another method and {baseline} has both clean partners")
    fig, axes = _grid(len(found := panels(gains)))
    varying = _varying(found)
    for ax, (key, rows) in zip(axes, found):
        draw_robustness(rows, ax=ax)
        ax.set_title(f"{_panel_title(key)} · {_noise_title(key, varying)}\n"
                     f"{_count_text(rows['n_pairs'], 'seed pair')}; bars: {confidence:.0%} bootstrap CI of the noisy Δ",
                     fontsize=9)
    return fig

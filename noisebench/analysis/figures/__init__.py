"""Figures: ``draw_*`` functions draw one prepared frame on one axes; ``*_figure`` assemble panels; one saver.

A ``draw_*`` function takes a frame from :mod:`noisebench.analysis.prepare` and ``ax=None`` (a new
figure when None), draws one thing and returns the axes, so a figure's data can be tested on the
axes without pixels. A ``*_figure`` function lays out one panel per setting;
:func:`~noisebench.analysis.figures.style.save_figure` (PNG and PDF) and ``save_figure_as`` (one file per
given path) are the only places that write files, every file of a figure published together; :func:`plot_all` writes every figure the results support. Noise axes are
labelled by the family registry, series by :meth:`Method.label`. Modules by concept: ``style``
(sizes, colours, saver, noise axis), ``panels``, ``accuracy``, ``noise``, ``training``,
``transfer``, ``robustness``, ``same_rate`` and ``assembly`` (:func:`plot_all`). This package must not import the training code
or the CLI.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # before any module below imports pyplot (every submodule import runs this file first)

from noisebench.analysis.figures.accuracy import (  # noqa: E402
    SUMMARY_STATISTICS,
    accuracy_figure,
    difference_figure,
    draw_accuracy,
    draw_difference,
    draw_method_summary,
    method_summary_figure,
    plot_accuracy_vs_noise,
)
from noisebench.analysis.figures.assembly import plot_all  # noqa: E402
from noisebench.analysis.figures.noise import (  # noqa: E402
    TRANSITION_ANNOTATED_SHARES,
    TRANSITION_MAX_SIDE_IN,
    draw_noise_rates,
    draw_transition,
    noise_rate_figure,
    transition_figure,
)
from noisebench.analysis.figures.panels import panels  # noqa: E402
from noisebench.analysis.figures.robustness import draw_robustness, label_gains, robustness_figure  # noqa: E402
from noisebench.analysis.figures.same_rate import draw_same_rate, same_rate_figure  # noqa: E402
from noisebench.analysis.figures.style import (  # noqa: E402
    BASELINE_COLOR,
    COLORS,
    DPI,
    FIGURE_FORMATS,
    MAX_COLS,
    MIN_RUNS_FOR_BAND,
    PANEL_NOISE_KEYS,
    PANEL_SIZE,
    X_MODES,
    figure_format,
    save_figure,
    save_figure_as,
)
from noisebench.analysis.figures.training import draw_memorisation, draw_tsne, memorisation_figure, tsne_figure  # noqa: E402
from noisebench.analysis.figures.transfer import draw_transfer, transfer_figure, write_transfer_figures  # noqa: E402

__all__ = [
    "BASELINE_COLOR", "COLORS", "DPI", "FIGURE_FORMATS", "MAX_COLS", "MIN_RUNS_FOR_BAND", "PANEL_NOISE_KEYS", "PANEL_SIZE",
    "SUMMARY_STATISTICS", "TRANSITION_ANNOTATED_SHARES", "TRANSITION_MAX_SIDE_IN", "X_MODES",
    "accuracy_figure", "difference_figure", "draw_accuracy", "draw_difference", "draw_memorisation",
    "draw_method_summary", "draw_noise_rates", "draw_same_rate", "figure_format", "draw_robustness", "draw_transfer", "draw_transition", "draw_tsne",
    "label_gains", "memorisation_figure", "method_summary_figure", "noise_rate_figure", "panels",
    "plot_accuracy_vs_noise", "plot_all", "robustness_figure", "same_rate_figure", "save_figure", "save_figure_as", "transfer_figure", "transition_figure", "tsne_figure", "write_transfer_figures",
]

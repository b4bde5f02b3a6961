"""Method-level summary over cells: mean paired difference and probability of improvement over the baseline.

The definitions are rliable's (Agarwal et al., "Deep reinforcement learning at the edge of the
statistical precipice", NeurIPS 2021), with a *cell* of :mod:`noisebench.analysis.stats` (one
task, noise family and level, …) in the role of rliable's task and a seed triple in the role of a
run:

* **mean difference**: the mean over cells of each cell's mean paired difference treatment −
  baseline (rliable's ``aggregate_mean`` of per-task means, on the paired differences). Every
  cell weighs the same, whatever its number of pairs.
* **probability of improvement**: the mean over cells of P(X > Y) + ½ P(X = Y), X a treatment run
  and Y a baseline run of the cell drawn independently: the Mann-Whitney U statistic over
  n_X · n_Y (``rliable.metrics.probability_of_improvement``). It ignores the pairing, as rliable does.
* **intervals**: percentile stratified bootstrap: runs are resampled with replacement within each
  cell, cells stay fixed. For the difference the pairs are resampled (a pair stays together); for
  the probability the treatment and the baseline runs are resampled independently (rliable's
  ``StratifiedIndependentBootstrap``). Each cell resamples its own number of runs, so cells with
  unequal seed counts (an unfinished grid) need no special case.

Why not the ``rliable`` package itself: its interval code (``rliable.library``, version 1.2.0, the
latest) resamples through ``arch``; arch 7 does not import under pandas 3, and arch 8 no longer
accepts the ``random_state`` argument rliable passes. Its resampler also draws from NumPy's global
random state and needs one rectangular (runs × tasks) matrix. The statistics are therefore
computed here with NumPy and SciPy (``scipy.stats.mannwhitneyu``), seeded through a local
``numpy.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from noisebench.analysis.keys import PANEL_KEYS, TRAINING_KEYS
from noisebench.analysis.stats import BASE_KEYS, METHOD_KEYS, PairedCell, paired_cells
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE, hyper_parameter_names
from noisebench.noise.families import is_clean

__all__ = [
    "SUMMARY_BY",
    "SUMMARY_COLUMNS",
    "mean_difference",
    "cell_probability_of_improvement",
    "probability_of_improvement",
    "stratified_bootstrap",
    "method_summary",
]

SUMMARY_BY: tuple[str, ...] = tuple(k for k in PANEL_KEYS if k != "task") + TRAINING_KEYS
"""Default grouping of :func:`method_summary`: one summary per (model, n_train, pooling) pools tasks and noise."""
SUMMARY_COLUMNS: tuple[str, ...] = (
    "n_cells", "n_pairs", "min_pairs_per_cell", "max_pairs_per_cell", "tasks", "noise_families",
    "mean_baseline", "mean_treatment", "mean_diff", "mean_diff_ci_low", "mean_diff_ci_high",
    "p_improvement", "p_improvement_ci_low", "p_improvement_ci_high",
)


def mean_difference(differences: Sequence[np.ndarray]) -> float:
    """Mean over cells of each cell's mean paired difference.

    Args:
        differences: one 1-D array per cell, its per-pair differences treatment − baseline.
    Returns:
        The aggregate mean (cells weighted equally).
    """
    return float(np.mean([np.mean(d) for d in differences]))


def cell_probability_of_improvement(treatment: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """P(X > Y) + ½ P(X = Y) of one cell along the last axis (vectorised over leading axes).

    Args:
        treatment: runs of the treatment, shape (..., n_X).
        baseline: runs of the baseline, shape (..., n_Y), leading axes as ``treatment``.
    Returns:
        Mann-Whitney U of ``treatment`` over n_X · n_Y, shape (...).
    """
    u = stats.mannwhitneyu(treatment, baseline, axis=-1, method="asymptotic").statistic
    return np.asarray(u, dtype=float) / (np.shape(treatment)[-1] * np.shape(baseline)[-1])


def probability_of_improvement(treatment: Sequence[np.ndarray], baseline: Sequence[np.ndarray]) -> float:
    """rliable's average probability of improvement of the treatment over the baseline.

    Args:
        treatment, baseline: one 1-D array of runs per cell, in the same cell order (lengths may differ).
    Returns:
        The mean over cells of :func:`cell_probability_of_improvement`.
    """
    return float(np.mean([cell_probability_of_improvement(np.asarray(t, float), np.asarray(b, float))
                          for t, b in zip(treatment, baseline, strict=True)]))


def stratified_bootstrap(
    cells: Sequence[tuple[np.ndarray, ...]],
    cell_statistic: Callable[..., np.ndarray],
    *,
    paired: bool,
    reps: int = 10_000,
    confidence: float = 0.95,
    random_state: int = 0,
) -> tuple[float, float, float]:
    """Point estimate and percentile interval of the mean over cells of ``cell_statistic``.

    Runs are resampled with replacement within each cell, never across cells.

    Args:
        cells: per cell a tuple of 1-D arrays (its samples, e.g. ``(differences,)`` or
            ``(treatment, baseline)``).
        cell_statistic: maps the arrays of a cell, shape (..., n) each, to shape (...).
        paired: True: one draw of indices per cell, shared by its arrays (equal lengths, pairs
            stay together); False: every array resampled on its own.
        reps: bootstrap resamples.
        confidence: interval coverage, in (0, 1).
        random_state: seed of the resampling.
    Returns:
        (estimate, low, high).
    """
    if not cells:
        raise ValueError("stratified_bootstrap: no cells")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"stratified_bootstrap: confidence must be in (0, 1), got {confidence}")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 1:
        raise ValueError(f"stratified_bootstrap: reps must be a positive integer, got {reps!r}")
    rng = np.random.default_rng(random_state)
    cells = [tuple(np.asarray(a, dtype=float) for a in arrays) for arrays in cells]
    estimate = float(np.mean([cell_statistic(*arrays) for arrays in cells]))
    replicates = np.zeros(int(reps))
    for arrays in cells:
        if paired:
            index = rng.integers(0, len(arrays[0]), size=(reps, len(arrays[0])))
            replicates += cell_statistic(*(a[index] for a in arrays))
        else:
            replicates += cell_statistic(*(a[rng.integers(0, len(a), size=(reps, len(a)))] for a in arrays))
    low, high = np.quantile(replicates / len(cells), [(1 - confidence) / 2, (1 + confidence) / 2])
    return estimate, float(low), float(high)


def _summary_row(cells: Sequence[PairedCell], **bootstrap: Any) -> dict[str, Any]:
    """The :data:`SUMMARY_COLUMNS` of one treatment variant's cells."""
    n_pairs = [c.n_pairs for c in cells]
    diff = stratified_bootstrap([(c.differences,) for c in cells], lambda d: np.mean(d, axis=-1), paired=True,
                                **bootstrap)
    poi = stratified_bootstrap([(c.treatment, c.baseline) for c in cells], cell_probability_of_improvement,
                               paired=False, **bootstrap)
    return {
        "n_cells": len(cells), "n_pairs": int(sum(n_pairs)),
        "min_pairs_per_cell": min(n_pairs), "max_pairs_per_cell": max(n_pairs),
        "tasks": ", ".join(sorted({str(c.key["task"]) for c in cells})),
        "noise_families": ", ".join(sorted({str(c.key["noise_family"]) for c in cells})),
        "mean_baseline": float(np.mean([c.baseline.mean() for c in cells])),
        "mean_treatment": float(np.mean([c.treatment.mean() for c in cells])),
        "mean_diff": diff[0], "mean_diff_ci_low": diff[1], "mean_diff_ci_high": diff[2],
        "p_improvement": poi[0], "p_improvement_ci_low": poi[1], "p_improvement_ci_high": poi[2],
    }


def method_summary(
    table: pd.DataFrame,
    *,
    baseline: str = BASELINE,
    treatments: Sequence[str] | None = None,
    metric: str = "test_accuracy",
    by: Sequence[str] = SUMMARY_BY,
    include_clean: bool = False,
    confidence: float = 0.95,
    reps: int = 10_000,
    random_state: int = 0,
) -> pd.DataFrame:
    """Every treatment variant against ``baseline``, pooled over the cells of each group of ``by``.

    The cells are those of :func:`~noisebench.analysis.stats.paired_cells` with at least one pair
    (runs without a partner are left out, as in :func:`~noisebench.analysis.stats.compare_methods`),
    noisy ones only unless ``include_clean``. A group of ``by`` (default :data:`SUMMARY_BY`: model,
    n_train and pooling) pools every task and noise setting of one comparison; pass e.g.
    ``by=("model", "n_train", "pooling", "noise_family")`` for one summary per noise family.

    Args:
        table: tidy results table (see :func:`~noisebench.analysis.stats.paired_cells`).
        baseline, treatments, metric: as in :func:`~noisebench.analysis.stats.compare_methods`.
        by: setting keys (:data:`~noisebench.analysis.stats.BASE_KEYS`) a summary is split by.
        include_clean: pool clean cells too.
        confidence, reps, random_state: of :func:`stratified_bootstrap` (one seeded resampling per row).
    Returns:
        One row per group and treatment variant: ``by``, ``baseline_method``, ``treatment_method``,
        the hyper-parameter columns, then :data:`SUMMARY_COLUMNS`: cells and pairs pooled, the
        fewest and most pairs of a cell, the tasks and noise families pooled, the means over cells of
        the baseline's and the treatment's mean, ``mean_diff`` with its interval and
        ``p_improvement`` with its interval. Differences are in the metric's units (fractions).
        ``attrs`` holds ``metric``, ``confidence``, ``reps`` and ``include_clean``.
    """
    unknown = [k for k in by if k not in BASE_KEYS]
    if unknown:
        raise ValueError(f"method_summary: by must be setting keys {BASE_KEYS}, got {unknown}")
    keys = tuple(by) + METHOD_KEYS + hyper_parameter_names()
    cells = [c for c in paired_cells(table, metric=metric, baseline=baseline, treatments=treatments)
             if c.n_pairs > 0 and not is_missing(c.key["treatment_method"])
             and (include_clean or not is_clean(c.key["noise_family"]))]
    rows = []
    if cells:
        index = pd.DataFrame([{k: c.key[k] for k in keys} for c in cells])
        for key, group in index.groupby(list(keys), dropna=False, sort=True):
            row = _summary_row([cells[i] for i in group.index], reps=reps, confidence=confidence,
                               random_state=random_state)
            rows.append({**dict(zip(keys, key)), **row})
    out = pd.DataFrame(rows, columns=list(keys + SUMMARY_COLUMNS))
    out.attrs.update(metric=metric, confidence=confidence, reps=reps, include_clean=include_clean)
    return out

"""Descriptive summaries over seeds: plain means, the paper's top-k-by-dev rule, p-value formatting."""

from __future__ import annotations

import numpy as np
import pandas as pd

from noisebench.analysis.stats.cells import (
    BASE_KEYS,
    REQUIRED_KEYS,
    _groups,
    _hashable,
    _require_columns,
    _require_finite,
    _sort_key,
    _std,
    _with_hyper_parameters,
)
from noisebench.analysis.values import is_missing
from noisebench.methods import hyper_parameter_names

# --------------------------------------------------------------------------
# descriptive summaries (the paper's reporting rule next to the plain one)
# --------------------------------------------------------------------------


def _summary_keys() -> tuple[str, ...]:
    return BASE_KEYS + ("method",) + hyper_parameter_names()


def seed_summary(table: pd.DataFrame, *, metric: str = "test_accuracy") -> pd.DataFrame:
    """Plain mean ± std of ``metric`` over all runs of each (setting, method, hyper-parameters).

    NaN keys are kept (clean cells have ``noise_level = NaN``). ``std_all`` is the sample
    standard deviation (ddof=1), NaN for a single run.

    Returns
    -------
    pandas.DataFrame
        Setting keys, ``method``, hyper-parameter columns, ``n_all``, ``mean_all``, ``std_all``.
    """
    where = "seed_summary"
    _require_columns(table, ("run_id", metric, "method") + REQUIRED_KEYS, where=where)
    _require_finite(table, metric, where=where)
    keys = _summary_keys()
    rows = []
    for key, group in sorted(_groups(_with_hyper_parameters(table), keys).items(), key=lambda kv: _sort_key(kv[0])):
        values = group[metric].to_numpy(dtype=float)
        rows.append({
            **{k: (float("nan") if v is None else v) for k, v in zip(keys, key)},
            "n_all": len(values),
            "mean_all": float(np.mean(values)),
            "std_all": _std(values),
        })
    return pd.DataFrame(rows, columns=list(keys) + ["n_all", "mean_all", "std_all"])


def top_k_by_dev(
    table: pd.DataFrame,
    *,
    k: int = 3,
    metric: str = "test_accuracy",
    by: str = "dev_accuracy",
) -> pd.DataFrame:
    """The paper's reporting rule next to the plain all-seed summary.

    Gunel et al. report, per (cell, method), the mean ± std of the test metric
    over the ``k = 3`` runs with the highest dev accuracy.  Here the candidate
    runs are all runs of the (cell, method) group (every seed and any other
    configuration in the table); ranking is by ``by`` descending with ties
    broken by ``run_id`` ascending, so the selection is deterministic.  The
    paper does not say which standard deviation it reports; the sample
    standard deviation (ddof=1) is used.  A group with fewer than ``k`` runs
    uses all of them (``n_top{k}`` says how many).

    This rule selects on a noisy dev score and so is optimistic; it is given
    for comparison with the published numbers, next to the plain summary of
    :func:`seed_summary`.

    Returns
    -------
    pandas.DataFrame
        The keys of :func:`seed_summary`, ``n_all``, ``mean_all``, ``std_all``,
        ``n_top{k}``, ``mean_top{k}``, ``std_top{k}``, ``top{k}_run_ids``
        (comma-separated, in rank order).
    """
    where = "top_k_by_dev"
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"{where}: k must be a positive integer, got {k!r}")
    _require_columns(table, ("run_id", metric, by, "method") + REQUIRED_KEYS, where=where)
    table = _with_hyper_parameters(table)
    keys = _summary_keys()
    _require_finite(table, metric, where=where)
    _require_finite(table, by, where=where)
    summary = seed_summary(table, metric=metric)
    top = []
    for key, group in sorted(_groups(table, keys).items(), key=lambda kv: _sort_key(kv[0])):
        chosen = group.sort_values([by, "run_id"], ascending=[False, True], kind="mergesort")
        chosen = chosen.head(int(k))
        values = chosen[metric].to_numpy(dtype=float)
        top.append({
            "_key": key,
            f"n_top{k}": len(values),
            f"mean_top{k}": float(np.mean(values)),
            f"std_top{k}": _std(values),
            f"top{k}_run_ids": ",".join(map(str, chosen["run_id"].tolist())),
        })
    top_frame = pd.DataFrame(top)
    summary_keys = [_hashable(r) for r in summary[list(keys)].itertuples(index=False)]
    by_key = {r["_key"]: r for r in top}
    extra = pd.DataFrame([{c: v for c, v in by_key[sk].items() if c != "_key"}
                          for sk in summary_keys],
                         columns=[c for c in top_frame.columns if c != "_key"])
    return pd.concat([summary.reset_index(drop=True), extra], axis=1)


def format_p(p: float | None, *, digits: int = 3) -> str:
    """Render a p-value: ``"n/a"`` for None/NaN (not computed), ``"<0.001"`` style floor."""
    if p is None or is_missing(p):
        return "n/a"
    floor = 10.0 ** (-digits)
    if p < floor:
        return f"<{floor:.{digits}f}"
    return f"{p:.{digits}f}"


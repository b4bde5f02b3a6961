"""Same rate, different noise: noise families side by side at one target rate, and each family against its control.

At one target noise rate ρ every family flips about the same share of training labels; what differs
is *which* labels. :func:`same_rate_levels` finds the target-rate levels at which several noise
families ran in one setting; :func:`same_rate_comparison` puts, at each, every family's (and the
clean anchor's) mean accuracy per method variant, its paired Δ against the baseline
(:func:`~noisebench.analysis.stats.compare_methods`) and its robustness gain
(:func:`~noisebench.analysis.stats.robustness_gains`) side by side, without testing anything anew.

A family whose registry entry names another as the family it is a synthetic control of
(``NoiseFamily.control_of``, read by :func:`control_of`) is paired with that family by seed triple:
:func:`control_gaps` gives, per setting and method variant, the per-seed difference
``metric(family) − metric(control)`` through :func:`~noisebench.analysis.stats.paired_test`. For a
dataset's own noisy labels against class-conditional noise with the same transition matrix, the gap
is the instance-dependent part of the real noise: positive, the real noise hurts less than its
control; negative, more.

Levels pair only when every setting key but the family agrees, ``noise_param`` included: two families'
own parameters are different quantities, so in practice the pairs are at target rates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis.keys import NOISE_SETUP_KEYS, PANEL_KEYS, SEED_KEYS, SETTING_KEYS, TRAINING_KEYS
from noisebench.analysis.stats.cells import (
    REQUIRED_KEYS,
    _groups,
    _hashable,
    _pair,
    _require_columns,
    _require_finite,
    _sort_key,
    _with_hyper_parameters,
)
from noisebench.analysis.stats.compare import _add_holm, _test_columns, compare_methods
from noisebench.analysis.stats.paired import paired_test
from noisebench.analysis.stats.robustness import robustness_gains
from noisebench.analysis.stats.summaries import seed_summary
from noisebench.errors import ConfigError
from noisebench.methods import BASELINE, hyper_parameter_names
from noisebench.noise.families import TARGET_RATE, get_family, is_clean

__all__ = [
    "CONTROL_GAP_COLUMNS", "MATCH_KEYS", "SAME_RATE_COLUMNS", "control_gaps", "control_of", "family_order",
    "same_rate_comparison", "same_rate_levels",
]

#: One matched level: the setting without the noise family and its set-up (a clean anchor shares the first part).
MATCH_KEYS: tuple[str, ...] = PANEL_KEYS + TRAINING_KEYS + ("noise_param", "noise_level")
CONTROL_GAP_COLUMNS: tuple[str, ...] = (
    "n_pairs", "n_unpaired_family", "n_unpaired_control", "mean_family", "mean_control", "gap", "ci_low", "ci_high",
    "ci_method", "p_ttest", "p_signflip", "signflip_exact", "p_wilcoxon", "notes", "p_holm", "holm_family_size",
    "significant",
)
SAME_RATE_COLUMNS: tuple[str, ...] = (
    "clean", "n_runs", "mean", "sd", "realised_rate", "n_pairs", "delta", "delta_ci_low", "delta_ci_high",
    "delta_p_signflip", "delta_p_holm", "gain_pairs", "gain", "gain_ci_low", "gain_ci_high", "gain_p_holm",
)
_ANCHOR = PANEL_KEYS + TRAINING_KEYS


# --------------------------------------------------------------------------
# families and their controls
# --------------------------------------------------------------------------


def control_of(family: object) -> str | None:
    """The family ``family`` is a synthetic control of (its registry entry's ``control_of``).

    None for clean runs, for a family that is nobody's control, and for a family this process does not know.
    """
    if is_clean(family):
        return None
    try:
        return get_family(str(family)).control_of
    except ConfigError:
        return None


def family_order(families: Iterable[Any]) -> list[Any]:
    """``families`` sorted by name, each control placed right after the family it is a control of."""
    names = sorted(dict.fromkeys(families), key=str)
    controls = [f for f in names if control_of(f) in names]
    out = [f for f in names if f not in controls]
    for control in controls:
        out.insert(out.index(control_of(control)) + 1, control)
    return out


# --------------------------------------------------------------------------
# the family − control gap
# --------------------------------------------------------------------------


def _gap_row(key: dict[str, Any], family: str, control: str, family_runs: pd.DataFrame | None,
             control_runs: pd.DataFrame | None, metric: str, **test_kwargs: Any) -> dict[str, Any]:
    """Pair one setting's runs of one method variant under ``family`` and ``control`` by seed and test the gap."""
    cell = _pair(key, control_runs, family_runs, metric)  # baseline = control, so differences are family − control
    res = paired_test(cell.baseline, cell.treatment, **test_kwargs)
    return {
        **cell.key, "noise_family": family, "control_family": control,
        "n_pairs": cell.n_pairs, "n_unpaired_family": len(cell.unpaired_treatment),
        "n_unpaired_control": len(cell.unpaired_baseline), "mean_family": res.mean_treatment,
        "mean_control": res.mean_baseline, "gap": res.mean_difference, **_test_columns(res),
    }


def control_gaps(
    table: pd.DataFrame,
    *,
    metric: str = "test_accuracy",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    random_state: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Each noise family against its synthetic control, paired by seed triple, per setting and method variant.

    For every family G of the table that is the ``control_of`` of another family F of the table, and
    every setting (:data:`~noisebench.analysis.keys.SETTING_KEYS` but the family) where both ran: each
    method variant's runs under G and under F that share ``(data_seed, noise_seed, train_seed)`` form
    the pairs, and :func:`~noisebench.analysis.stats.paired_test` tests the per-seed gap
    ``metric(G) − metric(F)``. Runs without a partner are counted, not used.

    Parameters
    ----------
    table
        Tidy results table (as for :func:`~noisebench.analysis.stats.paired_cells`).
    metric, confidence, n_resamples, random_state
        As in :func:`~noisebench.analysis.stats.paired_test`.
    alpha
        Level of the ``significant`` column.

    Returns
    -------
    pandas.DataFrame
        One row per (family pair, setting, method variant): the setting keys with ``noise_family`` = G,
        ``control_family`` = F, ``method``, the hyper-parameter columns, then :data:`CONTROL_GAP_COLUMNS`:
        ``n_pairs``, ``n_unpaired_family``/``n_unpaired_control``, ``mean_family``/``mean_control`` (over
        the pairs), ``gap`` (their difference) with its bootstrap ``ci_low``/``ci_high`` and
        ``ci_method``, ``p_ttest``, ``p_signflip``, ``signflip_exact``, ``p_wilcoxon`` (NaN = not run),
        ``notes``, ``p_holm`` (sign-flip p adjusted by Holm over the method variants of one setting and
        family pair), ``holm_family_size`` and ``significant`` (``p_holm < alpha``). Empty, with these
        columns, when no family and its control are both in the table. ``attrs["metric"]`` holds the metric.

    Raises
    ------
    ValueError
        On a missing column, a NaN metric in a compared run, or several runs of one seed triple in one cell.
    """
    where = "control_gaps"
    _require_columns(table, ("run_id", "method", metric) + REQUIRED_KEYS + SEED_KEYS, where=where)
    table = _with_hyper_parameters(table)
    hps = hyper_parameter_names()
    settings = tuple(k for k in SETTING_KEYS if k != "noise_family")
    keys = settings + ("method",) + hps
    present = [f for f in dict.fromkeys(table["noise_family"]) if not is_clean(f)]
    test_kwargs = dict(confidence=confidence, n_resamples=n_resamples, random_state=random_state)
    rows = []
    for control in sorted(present, key=str):
        family = control_of(control)
        if family not in present:
            continue
        runs = {name: table[table["noise_family"] == name] for name in (family, control)}
        for frame in runs.values():
            _require_finite(frame, metric, where=where)
        cells = {name: _groups(frame, keys) for name, frame in runs.items()}
        shared = {k[:len(settings)] for k in cells[family]} & {k[:len(settings)] for k in cells[control]}
        for key in sorted({k for side in cells.values() for k in side if k[:len(settings)] in shared}, key=_sort_key):
            rows.append(_gap_row(dict(zip(keys, key)), family, control, cells[family].get(key), cells[control].get(key),
                                 metric, **test_kwargs))
    columns = [*SETTING_KEYS, "control_family", "method", *hps]
    out = pd.DataFrame(rows, columns=columns + list(CONTROL_GAP_COLUMNS[:-3]))
    out = _add_holm(out, [*SETTING_KEYS, "control_family"], alpha)
    out.attrs["metric"] = metric
    return out


# --------------------------------------------------------------------------
# families side by side at one target rate
# --------------------------------------------------------------------------


def _is_target(noise_param: Any) -> bool:
    return not pd.isna(noise_param) and str(noise_param) == TARGET_RATE.name


def same_rate_levels(table: pd.DataFrame) -> pd.DataFrame:
    """Target-rate levels at which at least two noise families ran in one (task, model, N, training keys).

    Returns one row per such level: :data:`MATCH_KEYS`, ``noise_families`` (a tuple in
    :func:`family_order`) and ``has_clean`` (whether clean runs of the same task, model, N and training
    keys, the clean anchor, are in the table). Empty, with these columns, when there is none.
    """
    columns = [*MATCH_KEYS, "noise_families", "has_clean"]
    if table is None or table.empty:
        return pd.DataFrame(columns=columns)
    table = _with_hyper_parameters(table)
    clean_rows = table["noise_family"].map(is_clean)
    anchors = set(_groups(table[clean_rows], _ANCHOR))
    noisy = table[~clean_rows & table["noise_param"].map(_is_target)]
    rows = []
    for key, group in sorted(_groups(noisy, MATCH_KEYS).items(), key=lambda kv: _sort_key(kv[0])):
        families = family_order(group["noise_family"])
        if len(families) >= 2:
            rows.append({**dict(zip(MATCH_KEYS, key)), "noise_families": tuple(families),
                         "has_clean": key[:len(_ANCHOR)] in anchors})
    return pd.DataFrame(rows, columns=columns)


def _lookup(frame: pd.DataFrame, method_column: str) -> dict[tuple, Mapping[str, Any]]:
    """Setting keys + method + hyper-parameters -> row of a comparison (``method_column``: its treatment column)."""
    if frame.empty:
        return {}
    keys = [*SETTING_KEYS, method_column, *hyper_parameter_names()]
    return {_hashable(r[k] for k in keys): r for r in frame.to_dict("records")}


def _realised_rates(table: pd.DataFrame, keys: Sequence[str]) -> dict[tuple, float]:
    """Mean realised noise rate per (setting, method variant) of the runs that record one."""
    if "realized_noise_rate" not in table.columns:
        return {}
    rates = table.assign(realized_noise_rate=pd.to_numeric(table["realized_noise_rate"], errors="coerce"))
    return {key: float(group["realized_noise_rate"].mean()) for key, group in _groups(rates, keys).items()}


def _comparison_row(level: Mapping[str, Any], summary: Mapping[str, Any], delta: Mapping | None, gain: Mapping | None,
                    rate: float) -> dict[str, Any]:
    """One row of :func:`same_rate_comparison`: a summary row with its Δ and gain rows (NaN where there is none)."""
    nan = float("nan")
    d, g = delta or {}, gain or {}
    own = {k: summary[k] for k in ("noise_family", *NOISE_SETUP_KEYS, "method", *hyper_parameter_names())}
    return {
        **{k: level[k] for k in MATCH_KEYS}, **own, "clean": is_clean(summary["noise_family"]),
        "n_runs": int(summary["n_all"]), "mean": summary["mean_all"], "sd": summary["std_all"], "realised_rate": rate,
        "n_pairs": int(d.get("n_pairs", 0)), "delta": d.get("mean_diff", nan), "delta_ci_low": d.get("ci_low", nan),
        "delta_ci_high": d.get("ci_high", nan), "delta_p_signflip": d.get("p_signflip", nan),
        "delta_p_holm": d.get("p_holm", nan), "gain_pairs": int(g.get("n_pairs", 0)), "gain": g.get("gain", nan),
        "gain_ci_low": g.get("ci_low", nan), "gain_ci_high": g.get("ci_high", nan), "gain_p_holm": g.get("p_holm", nan),
    }


def same_rate_comparison(
    table: pd.DataFrame,
    *,
    comparisons: pd.DataFrame | None = None,
    gains: pd.DataFrame | None = None,
    baseline: str = BASELINE,
    metric: str = "test_accuracy",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    random_state: int = 0,
) -> pd.DataFrame:
    """At each :func:`same_rate_levels` level: every family's and the clean anchor's numbers per method variant.

    Nothing is tested here: the mean is :func:`~noisebench.analysis.stats.seed_summary`'s, Δ (treatment −
    ``baseline``, paired by seed) with its interval, sign-flip p and Holm p is the cell's row of
    ``comparisons`` (:func:`~noisebench.analysis.stats.compare_methods`), and the robustness gain with its
    interval and Holm p the row of ``gains`` (:func:`~noisebench.analysis.stats.robustness_gains`); either
    is computed from ``table`` (with ``metric``, ``confidence``, ``n_resamples``, ``random_state``) when
    not given, so a caller that has them passes them in.

    Returns
    -------
    pandas.DataFrame
        One row per (matched level, family or clean anchor, noise set-up, method variant), in level, then
        :func:`family_order` (clean first), then method order (baseline first): :data:`MATCH_KEYS` of the
        matched level (so the clean anchor's rows carry the level they are shown at), ``noise_family`` and
        :data:`~noisebench.analysis.keys.NOISE_SETUP_KEYS` of the runs, ``method``, the hyper-parameters,
        then :data:`SAME_RATE_COLUMNS`: ``clean``, ``n_runs``, ``mean``, ``sd``, ``realised_rate`` (mean
        realised noise rate of the runs), ``n_pairs``, ``delta``, ``delta_ci_low``/``delta_ci_high``,
        ``delta_p_signflip``, ``delta_p_holm`` (NaN for the baseline), ``gain_pairs``, ``gain``,
        ``gain_ci_low``/``gain_ci_high``, ``gain_p_holm`` (NaN for the baseline and the clean anchor).
        Empty, with these columns, when the table has no matched level.
    """
    hps = hyper_parameter_names()
    columns = [*MATCH_KEYS, "noise_family", *NOISE_SETUP_KEYS, "method", *hps, *SAME_RATE_COLUMNS]
    levels = same_rate_levels(table)
    if levels.empty:
        return pd.DataFrame(columns=columns)
    table = _with_hyper_parameters(table)
    kwargs = dict(metric=metric, confidence=confidence, n_resamples=n_resamples, random_state=random_state)
    comparisons = compare_methods(table, baseline=baseline, **kwargs) if comparisons is None else comparisons
    gains = robustness_gains(table, baseline=baseline, **kwargs) if gains is None else gains
    deltas, gained = _lookup(comparisons, "treatment_method"), _lookup(gains, "treatment_method")
    keys = [*SETTING_KEYS, "method", *hps]
    rates = _realised_rates(table, keys)
    summary = seed_summary(table, metric=metric).to_dict("records")
    rows = []
    for level in levels.to_dict("records"):
        anchor = _hashable(level[k] for k in _ANCHOR)
        order = ["clean", *level["noise_families"]]
        at = [r for r in summary if _hashable(r[k] for k in _ANCHOR) == anchor and (is_clean(r["noise_family"]) or (
            r["noise_family"] in level["noise_families"]
            and _hashable((r["noise_param"], r["noise_level"])) == _hashable((level["noise_param"], level["noise_level"]))))]
        at.sort(key=lambda r: (order.index("clean" if is_clean(r["noise_family"]) else r["noise_family"]),
                               _sort_key(_hashable(r[k] for k in NOISE_SETUP_KEYS)), r["method"] != baseline,
                               str(r["method"]), _sort_key(_hashable(r[k] for k in hps))))
        for r in at:
            key = _hashable(r[k] for k in keys)
            rows.append(_comparison_row(level, r, deltas.get(key), gained.get(key), rates.get(key, np.nan)))
    return pd.DataFrame(rows, columns=columns)

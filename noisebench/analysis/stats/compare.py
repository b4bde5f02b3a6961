"""Every method against a baseline, cell by cell, and what noise costs each method against its clean anchor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis.keys import PANEL_KEYS, TRAINING_KEYS
from noisebench.analysis.stats.cells import (
    BASE_KEYS,
    REQUIRED_KEYS,
    PairedCell,
    _groups,
    _hashable,
    _require_columns,
    _require_finite,
    _sort_key,
    _with_hyper_parameters,
    cell_keys,
    holm_family_keys,
    paired_cells,
)
from noisebench.analysis.stats.paired import PairedResult, holm, paired_test
from noisebench.methods import BASELINE, hyper_parameter_names
from noisebench.noise.families import is_clean

# --------------------------------------------------------------------------
# the comparison table
# --------------------------------------------------------------------------

_RESULT_COLUMNS: tuple[str, ...] = (
    "n_pairs", "n_unpaired_baseline", "n_unpaired_treatment", "mean_baseline", "mean_treatment", "mean_diff",
    "ci_low", "ci_high", "ci_method", "p_ttest", "p_signflip", "signflip_exact", "p_wilcoxon", "notes",
)
_HOLM_COLUMNS: tuple[str, ...] = ("p_holm", "holm_family_size", "significant")


def _result_row(cell: PairedCell, **test_kwargs: Any) -> dict[str, Any]:
    res = paired_test(cell.baseline, cell.treatment, **test_kwargs)
    return {
        **cell.key,
        "n_pairs": cell.n_pairs,
        "n_unpaired_baseline": len(cell.unpaired_baseline),
        "n_unpaired_treatment": len(cell.unpaired_treatment),
        "mean_baseline": res.mean_baseline,
        "mean_treatment": res.mean_treatment,
        "mean_diff": res.mean_difference,
        **_test_columns(res),
    }


def _test_columns(res: PairedResult) -> dict[str, Any]:
    """The interval and p-value columns of one paired test, as every results frame here shows them."""
    return {
        "ci_low": res.ci_low,
        "ci_high": res.ci_high,
        "ci_method": res.ci_method,
        "p_ttest": res.p_ttest,
        "p_signflip": res.p_signflip,
        "signflip_exact": res.signflip_exact,
        "p_wilcoxon": float("nan") if res.p_wilcoxon is None else res.p_wilcoxon,
        "notes": "; ".join(res.notes),
    }


def _add_holm(out: pd.DataFrame, family_by: Sequence[str], alpha: float) -> pd.DataFrame:
    """Holm-adjust the sign-flip p-values within each family of rows sharing ``family_by``."""
    out["p_holm"] = np.nan
    out["holm_family_size"] = 0
    families: dict[tuple, list[int]] = {}
    for i, row in enumerate(out[list(family_by)].itertuples(index=False)):
        families.setdefault(_hashable(row), []).append(i)
    for idx in families.values():
        p = out["p_signflip"].to_numpy(dtype=float)[idx]
        out.loc[out.index[idx], "p_holm"] = holm(p)
        out.loc[out.index[idx], "holm_family_size"] = int(np.sum(~np.isnan(p)))
    out["significant"] = (out["p_holm"] < alpha).fillna(False).astype(bool)
    return out


def compare_methods(
    table: pd.DataFrame,
    *,
    baseline: str = BASELINE,
    treatments: Sequence[str] | None = None,
    metric: str = "test_accuracy",
    family_by: Sequence[str] | None = None,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    random_state: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """Paired comparison of every treatment method with ``baseline``, one row per cell.

    Every cell of :func:`paired_cells` appears, including cells with a single method
    (``n_pairs = 0``) and cells with one pair (tests NaN). Means, interval and tests use the
    paired runs only, so ``mean_diff == mean_treatment - mean_baseline``; unpaired runs are
    counted (use :func:`seed_summary` for all-run means).

    Multiple comparisons: Holm's step-down correction (:func:`holm`) of the **sign-flip**
    p-values within each family of cells sharing ``family_by`` (default :func:`holm_family_keys`:
    all (treatment variant × noise level) cells of one noise family in one task, model, n_train,
    weak fit, relabelled pool and pooling; clean cells form their own family). The
    sign-flip test is exact for the small seed counts used here and does not assume normal
    differences; the t-test p-values are reported alongside, unadjusted. Cells without a p-value
    (``n_pairs < 2``) are left out of the family.

    Returns
    -------
    pandas.DataFrame
        The cell keys (:func:`cell_keys`), ``n_pairs``, ``n_unpaired_baseline``,
        ``n_unpaired_treatment``, ``mean_baseline``, ``mean_treatment``, ``mean_diff``, ``ci_low``,
        ``ci_high``, ``ci_method``, ``p_ttest``, ``p_signflip``, ``signflip_exact``, ``p_wilcoxon``
        (NaN = not run), ``notes``, ``p_holm``, ``holm_family_size``, ``significant``
        (``p_holm < alpha``). ``attrs["metric"]`` holds the metric name.
    """
    keys = cell_keys()
    family_by = holm_family_keys() if family_by is None else tuple(family_by)
    unknown = [k for k in family_by if k not in keys]
    if unknown:
        raise ValueError(f"compare_methods: family_by must be cell keys {keys}, got {unknown}")
    cells = paired_cells(table, metric=metric, baseline=baseline, treatments=treatments)
    rows = [_result_row(c, confidence=confidence, n_resamples=n_resamples, random_state=random_state) for c in cells]
    out = _add_holm(pd.DataFrame(rows, columns=list(keys + _RESULT_COLUMNS)), family_by, alpha)
    out.attrs["metric"] = metric
    return out



# --------------------------------------------------------------------------
# the clean anchor: what noise costs each method
# --------------------------------------------------------------------------

#: A noisy run's clean partner shares these (and the method's hyper-parameters and :data:`ANCHOR_SEEDS`).
ANCHOR_KEYS: tuple[str, ...] = PANEL_KEYS + TRAINING_KEYS + ("method",)
#: Clean runs have no noise seed, so a pair is matched on these two seeds.
ANCHOR_SEEDS: tuple[str, ...] = ("data_seed", "train_seed")
_COST_COLUMNS: tuple[str, ...] = (
    "n_pairs", "n_noisy_runs", "n_unpaired_noisy", "n_unpaired_clean", "mean_clean", "mean_noisy", "mean_drop",
    "ci_low", "ci_high", "ci_method", "p_ttest", "p_signflip", "signflip_exact", "p_wilcoxon", "notes",
)


def _clean_partners(clean: pd.DataFrame, metric: str) -> dict[tuple, dict[tuple, pd.Series]]:
    """Anchor key -> (data_seed, train_seed) -> the one clean run; ValueError when a seed pair has several."""
    out: dict[tuple, dict[tuple, pd.Series]] = {}
    for key, group in _groups(clean, ANCHOR_KEYS + hyper_parameter_names()).items():
        seeds: dict[tuple, pd.Series] = {}
        for _, row in group.iterrows():
            seed = _hashable(row[k] for k in ANCHOR_SEEDS)
            if seed in seeds:
                raise ValueError(
                    f"noise_cost: clean runs {seeds[seed]['run_id']} and {row['run_id']} share (data_seed, "
                    f"train_seed) = {seed} for {key}, so the clean anchor is ambiguous (filter the table to one "
                    f"training configuration)")
            seeds[seed] = row
        out[key] = seeds
    return out


def _cost_row(key: dict[str, Any], noisy: pd.DataFrame, partners: dict[tuple, pd.Series], metric: str,
              **test_kwargs: Any) -> dict[str, Any]:
    """Pair one noisy setting's runs of one method variant with their clean partners and test the drop."""
    by_seed = {}
    for seed, group in _groups(noisy, ANCHOR_SEEDS).items():
        by_seed[seed] = group[metric].to_numpy(dtype=float)
    common = sorted(set(by_seed) & set(partners), key=_sort_key)
    clean = np.array([float(partners[s][metric]) for s in common], dtype=float)
    noisy_means = np.array([float(np.mean(by_seed[s])) for s in common], dtype=float)
    res = paired_test(noisy_means, clean, **test_kwargs)  # treatment − baseline = clean − noisy
    return {
        **key,
        "n_pairs": len(common),
        "n_noisy_runs": int(sum(len(by_seed[s]) for s in common)),
        "n_unpaired_noisy": int(sum(len(v) for s, v in by_seed.items() if s not in partners)),
        "n_unpaired_clean": len(set(partners) - set(by_seed)),
        "mean_clean": res.mean_treatment,
        "mean_noisy": res.mean_baseline,
        "mean_drop": res.mean_difference,
        **_test_columns(res),
    }


def noise_cost(
    table: pd.DataFrame,
    *,
    metric: str = "test_accuracy",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    random_state: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """What noise costs each method: clean − noisy ``metric``, paired with the method's clean runs.

    Pairing rule. A noisy run's clean partner is the clean run (``noise_family`` clean) of the same
    task, model, n_train, pooling, method, hyper-parameters, ``data_seed`` and ``train_seed``:
    same training subset, same initialisation and data order, only the labels differ. Clean runs
    have no noise seed, so when several noisy runs of one setting share a clean partner (crossed
    seeds: several ``noise_seed`` per (data_seed, train_seed)), their metric is **averaged per
    clean partner** and that mean is one pair. One pair per clean run keeps the pairs as
    independent as the clean runs are; pairing each noisy run with a repeated clean value would
    count one clean run several times and make the tests over-confident. With zipped seeds (one
    noisy run per (data_seed, train_seed)) this is plain one-to-one pairing.

    Each (noisy setting, method variant) is tested with :func:`paired_test` on
    ``baseline = noisy (mean per partner)``, ``treatment = clean``, so its difference is the drop
    ``clean − noisy`` (a positive drop: noise costs accuracy), in the metric's own units (fractions
    of 1 for accuracies). Holm's correction of the sign-flip p-values runs over the noise levels of
    one (setting without the level, method variant): each method's own question "what does noise cost
    it", unlike :func:`compare_methods`, whose families span every treatment.

    Parameters
    ----------
    table
        Tidy results table with clean and noisy runs (see :func:`paired_cells`).
    metric, confidence, n_resamples, random_state
        As in :func:`paired_test`.
    alpha
        Level of the ``significant`` column.

    Returns
    -------
    pandas.DataFrame
        One row per noisy setting and method variant: :data:`BASE_KEYS`, ``method``, the
        hyper-parameter columns, ``n_pairs`` (clean partners), ``n_noisy_runs`` (noisy runs in the
        pairs), ``n_unpaired_noisy`` (noisy runs without a clean partner), ``n_unpaired_clean``
        (clean runs of the anchor without a noisy run here), ``mean_clean``, ``mean_noisy``,
        ``mean_drop`` (= ``mean_clean − mean_noisy`` over the pairs), ``ci_low``/``ci_high`` (bootstrap
        interval of the drop), ``ci_method``, ``p_ttest``, ``p_signflip``, ``signflip_exact``,
        ``p_wilcoxon`` (NaN = not run), ``notes``, ``p_holm``, ``holm_family_size``,
        ``significant``. Empty (with these columns) when the table has no noisy or no clean runs.
        ``attrs["metric"]`` holds the metric name.
    """
    where = "noise_cost"
    _require_columns(table, ("run_id", "method", metric) + REQUIRED_KEYS + ANCHOR_SEEDS, where=where)
    table = _with_hyper_parameters(table)
    _require_finite(table, metric, where=where)
    hps = hyper_parameter_names()
    clean_rows = table["noise_family"].map(is_clean)
    partners = _clean_partners(table[clean_rows], metric)
    keys = BASE_KEYS + ("method",) + hps
    anchor_index = [keys.index(k) for k in ANCHOR_KEYS + hps]
    test_kwargs = dict(confidence=confidence, n_resamples=n_resamples, random_state=random_state)
    rows = []
    for key, noisy in sorted(_groups(table[~clean_rows], keys).items(), key=lambda kv: _sort_key(kv[0])):
        anchor = tuple(key[i] for i in anchor_index)
        cell = {k: float("nan") if v is None else v for k, v in zip(keys, key)}
        rows.append(_cost_row(cell, noisy, partners.get(anchor, {}), metric, **test_kwargs))
    family_by = tuple(k for k in keys if k != "noise_level")
    out = pd.DataFrame(rows, columns=list(keys + _COST_COLUMNS))
    out = _add_holm(out, family_by, alpha)
    out.attrs["metric"] = metric
    return out



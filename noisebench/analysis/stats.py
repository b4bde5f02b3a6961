"""Paired statistics of any training method against a baseline on the tidy results table.

The unit of analysis is a *cell*: one setting (:data:`~noisebench.analysis.keys.SETTING_KEYS`:
task, model, n_train, noise_family, noise_param, noise_level, weak_fit, n_relabel, pooling)
together with one treatment method and its hyper-parameter values (one column per
name of :func:`noisebench.methods.hyper_parameter_names`). The baseline runs of the same setting
(method :data:`noisebench.methods.BASELINE` unless told otherwise) are shared by every treatment
variant of that setting. A baseline run and a treatment run form a *pair* when they share
``(data_seed, noise_seed, train_seed)``: same training subset, same noisy labels, same
initialisation and data order. Pairing removes the seed-to-seed variance both methods share, so
every test here is a test on the per-seed differences ``treatment - baseline``.

Runs without a partner are never dropped silently: they are listed in :class:`PairedCell` and
counted in :func:`compare_methods`.

:func:`noise_cost` pairs the other way round: each method's noisy runs with its clean runs of
the same (task, model, n_train, pooling, hyper-parameters, data_seed, train_seed), the clean
anchor, so the accuracy a method loses to noise is measured on shared subsets and initialisations.

Conventions
-----------
* ``noise_level`` is NaN for clean cells and a hyper-parameter column NaN for a method without
  it. NaN keys are treated as equal to each other when grouping (never dropped).
* A table without one of :data:`~noisebench.analysis.keys.OPTIONAL_KEYS` (written before the key
  existed) is read as if the column were all NaN; a noisy row without ``noise_param`` means its
  family's own parameter.
* Metrics are fractions in ``[0, 1]``; differences are on the same scale.
* All randomness (bootstrap, randomised permutation test) is seeded through ``random_state``.
* Rows are assumed to be unique per (cell, method, seed triple). A duplicate makes the pairing
  ambiguous (typically: several learning rates in one cell) and raises ``ValueError``; filter
  the table to one training configuration first.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from noisebench.analysis.keys import PANEL_KEYS, SEED_KEYS, SETTING_KEYS, TRAINING_KEYS, with_setting_keys
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE, hyper_parameter_names
from noisebench.noise.families import is_clean

__all__ = [
    "BASE_KEYS",
    "REQUIRED_KEYS",
    "ANCHOR_KEYS",
    "SEED_KEYS",
    "METHOD_KEYS",
    "MAX_EXACT_SIGNFLIP_PAIRS",
    "MIN_PAIRS_WILCOXON",
    "CONSTANT_DIFF_ATOL",
    "PairedCell",
    "PairedResult",
    "cell_keys",
    "holm_family_keys",
    "paired_cells",
    "paired_test",
    "holm",
    "compare_methods",
    "noise_cost",
    "seed_summary",
    "top_k_by_dev",
    "format_p",
]

#: Keys of a setting; the baseline runs are grouped by these alone.
BASE_KEYS: tuple[str, ...] = SETTING_KEYS
#: Which two methods a cell compares.
METHOD_KEYS: tuple[str, ...] = ("baseline_method", "treatment_method")
#: Columns every table needs (the others of :data:`BASE_KEYS` may be absent from a legacy table).
REQUIRED_KEYS: tuple[str, ...] = PANEL_KEYS + ("noise_family", "noise_level")

#: Up to this many pairs the sign-flip test enumerates all 2**n sign vectors
#: (2**16 = 65 536 permutations); beyond it a seeded random sample is used.
MAX_EXACT_SIGNFLIP_PAIRS: int = 16
#: The Wilcoxon signed-rank test is only run from this many pairs on.  With n
#: pairs the smallest attainable exact two-sided p-value is 2 / 2**n, i.e.
#: 0.0625 for n = 5 and 0.03125 for n = 6: below 6 pairs the test can never
#: reject at the 5 % level, so it is reported as "n/a" instead.
MIN_PAIRS_WILCOXON: int = 6
#: Paired differences whose spread (max - min) is at most this are treated as
#: identical.  Accuracies are multiples of 1/N_test, so genuine spreads are
#: far larger; a spread below 1e-12 is floating-point round-off (in binary,
#: 0.6 - 0.5 != 0.7 - 0.6), which would otherwise make the t statistic
#: explode to +-inf with p == 0.
CONSTANT_DIFF_ATOL: float = 1e-12


def cell_keys() -> tuple[str, ...]:
    """Columns that identify a cell: the setting, the two methods, every hyper-parameter."""
    return BASE_KEYS + METHOD_KEYS + hyper_parameter_names()


def holm_family_keys() -> tuple[str, ...]:
    """Cell keys shared by one Holm family of :func:`compare_methods`: all but the level and the treatment.

    So one family holds every (treatment variant × noise level) cell of one noise family in one
    (task, model, n_train, weak_fit, n_relabel, pooling) against one baseline; levels given as the
    family's own parameter and as target rates are levels of the same family.
    """
    varying = ("noise_param", "noise_level", "treatment_method") + hyper_parameter_names()
    return tuple(k for k in cell_keys() if k not in varying)


def _with_hyper_parameters(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a NaN column for every registered hyper-parameter and optional setting key it lacks."""
    missing = [c for c in hyper_parameter_names() if c not in table.columns]
    return with_setting_keys(table.assign(**{c: np.nan for c in missing}) if missing else table)


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def _require_columns(table: pd.DataFrame, columns: Iterable[str], *, where: str) -> None:
    """Raise ``ValueError`` naming every column of ``columns`` missing from ``table``."""
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{where}: expected a pandas DataFrame, got {type(table).__name__}")
    missing = sorted({c for c in columns if c not in table.columns})
    if missing:
        raise ValueError(
            f"{where}: results table is missing required column(s): {', '.join(missing)}"
        )


def _require_finite(table: pd.DataFrame, column: str, *, where: str) -> None:
    """Raise ``ValueError`` naming the runs whose ``column`` is NaN/missing."""
    values = pd.to_numeric(table[column], errors="coerce")
    bad = table.loc[values.isna(), "run_id"].tolist()
    if bad:
        shown = ", ".join(map(str, bad[:10])) + (" ..." if len(bad) > 10 else "")
        raise ValueError(f"{where}: column {column!r} is missing/NaN for run(s): {shown}")


def _scalar(value: Any) -> Any:
    """NumPy scalar -> Python scalar; None/NA -> float NaN."""
    if value is None or value is pd.NA:
        return float("nan")
    if isinstance(value, np.generic):
        return value.item()
    return value


def _hashable(values: Iterable[Any]) -> tuple:
    """Dict key in which every NaN becomes ``None`` (NaN != NaN breaks look-ups)."""
    return tuple(None if is_missing(v) else _scalar(v) for v in values)


def _sort_key(values: tuple) -> tuple:
    """Order keys deterministically, None (NaN) first within a position."""
    return tuple((v is not None, v if v is not None else 0) for v in values)


def _groups(frame: pd.DataFrame, keys: Sequence[str]) -> dict[tuple, pd.DataFrame]:
    """Group ``frame`` by ``keys`` keeping NaN keys; map hashable key -> sub-frame."""
    if frame.empty:
        return {}
    out: dict[tuple, pd.DataFrame] = {}
    for key, group in frame.groupby(list(keys), dropna=False, sort=False):
        key = key if isinstance(key, tuple) else (key,)
        out[_hashable(key)] = group
    return out


def _std(values: np.ndarray) -> float:
    """Sample standard deviation (ddof=1); NaN for fewer than 2 values."""
    return float(np.std(values, ddof=1)) if len(values) >= 2 else float("nan")


# --------------------------------------------------------------------------
# pairing
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PairedCell:
    """Baseline and treatment runs of one cell, matched by seed triple.

    ``key`` maps every column of :func:`cell_keys` to its value (NaN for a clean cell's
    ``noise_level``, for hyper-parameters the treatment lacks, and for the treatment of a
    setting that has baseline runs only). ``baseline``/``treatment`` hold the metric of the
    paired runs aligned with ``seeds``; ``unpaired_*`` the run_ids of each side without a partner.
    """

    key: dict[str, Any]
    metric: str
    seeds: tuple[tuple[Any, ...], ...]
    baseline: np.ndarray
    treatment: np.ndarray
    baseline_run_ids: tuple[Any, ...]
    treatment_run_ids: tuple[Any, ...]
    unpaired_baseline: tuple[Any, ...]
    unpaired_treatment: tuple[Any, ...]

    @property
    def n_pairs(self) -> int:
        return len(self.seeds)

    @property
    def differences(self) -> np.ndarray:
        """Per-pair ``treatment - baseline``."""
        return self.treatment - self.baseline


def _seed_map(group: pd.DataFrame | None, *, where: str) -> dict[tuple, pd.Series]:
    """Map seed triple -> row, raising on duplicate seed triples."""
    out: dict[tuple, pd.Series] = {}
    duplicates: list[Any] = []
    for _, row in (group if group is not None else pd.DataFrame()).iterrows():
        seed = _hashable(row[k] for k in SEED_KEYS)
        if seed in out:
            duplicates.extend([out[seed]["run_id"], row["run_id"]])
        out[seed] = row
    if duplicates:
        raise ValueError(
            f"{where}: several runs share one (data_seed, noise_seed, train_seed) in one cell, "
            f"so pairing is ambiguous (filter the table to one training configuration): "
            f"{', '.join(map(str, dict.fromkeys(duplicates)))}"
        )
    return out


def _pair(key: dict[str, Any], base: pd.DataFrame | None, treat: pd.DataFrame | None, metric: str) -> PairedCell:
    where = f"paired_cells(cell={tuple(key.values())})"
    base_rows, treat_rows = _seed_map(base, where=where), _seed_map(treat, where=where)
    common = sorted(set(base_rows) & set(treat_rows), key=_sort_key)
    only_base = sorted(set(base_rows) - set(treat_rows), key=_sort_key)
    only_treat = sorted(set(treat_rows) - set(base_rows), key=_sort_key)
    return PairedCell(
        key={k: float("nan") if v is None else v for k, v in key.items()},
        metric=metric,
        seeds=tuple(common),
        baseline=np.array([float(base_rows[s][metric]) for s in common], dtype=float),
        treatment=np.array([float(treat_rows[s][metric]) for s in common], dtype=float),
        baseline_run_ids=tuple(_scalar(base_rows[s]["run_id"]) for s in common),
        treatment_run_ids=tuple(_scalar(treat_rows[s]["run_id"]) for s in common),
        unpaired_baseline=tuple(_scalar(base_rows[s]["run_id"]) for s in only_base),
        unpaired_treatment=tuple(_scalar(treat_rows[s]["run_id"]) for s in only_treat),
    )


def paired_cells(
    table: pd.DataFrame,
    *,
    metric: str = "test_accuracy",
    baseline: str = BASELINE,
    treatments: Sequence[str] | None = None,
) -> list[PairedCell]:
    """Split the results table into cells and pair each treatment's runs with the baseline's by seed triple.

    Parameters
    ----------
    table
        Tidy results table. Needs ``run_id``, ``method``, :data:`REQUIRED_KEYS`, :data:`SEED_KEYS`
        and ``metric``; missing hyper-parameter and optional setting columns count as NaN.
    metric
        Column compared (must be non-NaN on every baseline/treatment row).
    baseline, treatments
        Values of ``method``; ``treatments=None`` means every other method in the table.

    Returns
    -------
    list of PairedCell
        One per treatment variant of each setting, paired against the setting's baseline runs
        (the baseline's own hyper-parameters are ignored). A setting with baseline runs only
        yields one cell with a NaN treatment and ``n_pairs = 0``; so does a treatment variant
        without baseline runs. Sorted by key (NaN first).
    """
    where = "paired_cells"
    _require_columns(table, ("run_id", "method", metric) + REQUIRED_KEYS + SEED_KEYS, where=where)
    table = _with_hyper_parameters(table)
    if treatments is None:
        treatments = [m for m in dict.fromkeys(table["method"]) if m != baseline]
    rows = table[table["method"].isin([baseline, *treatments])]
    _require_finite(rows, metric, where=where)
    hps = hyper_parameter_names()
    base_groups = _groups(rows[rows["method"] == baseline], BASE_KEYS)
    treat_groups = _groups(rows[rows["method"].isin(list(treatments))], BASE_KEYS + ("method",) + hps)
    cells: list[PairedCell] = []
    n_base = len(BASE_KEYS)
    for key, treat in treat_groups.items():
        cell = {**dict(zip(BASE_KEYS, key)), "baseline_method": baseline, "treatment_method": key[n_base],
                **dict(zip(hps, key[n_base + 1:]))}
        cells.append(_pair(cell, base_groups.get(key[:n_base]), treat, metric))
    used = {key[:n_base] for key in treat_groups}
    for key, base in base_groups.items():
        if key not in used:
            cell = {**dict(zip(BASE_KEYS, key)), "baseline_method": baseline, "treatment_method": None,
                    **dict.fromkeys(hps)}
            cells.append(_pair(cell, base, None, metric))
    cells.sort(key=lambda c: _sort_key(_hashable(c.key.values())))
    return cells


# --------------------------------------------------------------------------
# paired tests
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedResult:
    """Outcome of :func:`paired_test` (differences are ``treatment - baseline``).

    Attributes
    ----------
    n_pairs
        Number of pairs.
    mean_baseline, mean_treatment, mean_difference
        Means over the pairs (NaN when ``n_pairs == 0``).
    ci_low, ci_high
        Bootstrap confidence interval of the mean difference (NaN when
        ``n_pairs < 2``).
    ci_method
        ``"BCa"``, ``"percentile"`` (BCa undefined, see ``notes``) or ``None``.
    confidence
        Confidence level of the interval.
    p_ttest
        Two-sided paired t-test p-value; NaN when ``n_pairs < 2`` or when all
        differences are identical (zero variance: t is undefined).
    p_signflip
        Two-sided sign-flip permutation p-value of the mean difference.
    signflip_exact
        True when all 2**n sign vectors were enumerated, False when sampled,
        None when not computed.
    p_wilcoxon
        Two-sided Wilcoxon signed-rank p-value, None when
        ``n_pairs < MIN_PAIRS_WILCOXON``.
    notes
        Human-readable reasons for every NaN/None/fallback above.
    """

    n_pairs: int
    mean_baseline: float
    mean_treatment: float
    mean_difference: float
    ci_low: float
    ci_high: float
    ci_method: str | None
    confidence: float
    p_ttest: float
    p_signflip: float
    signflip_exact: bool | None
    p_wilcoxon: float | None
    notes: tuple[str, ...] = field(default=())


def _mean_stat(d: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(d, axis=axis)


def _bootstrap_ci(
    diff: np.ndarray, *, confidence: float, n_resamples: int, random_state: int, constant: bool
) -> tuple[float, float, str, list[str]]:
    notes: list[str] = []
    kwargs = dict(confidence_level=confidence, n_resamples=n_resamples, random_state=random_state)
    if len(diff) >= 3 and not constant:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", stats.DegenerateDataWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            ci = stats.bootstrap((diff,), np.mean, method="BCa", **kwargs).confidence_interval
        low, high = float(ci.low), float(ci.high)
        if np.isfinite(low) and np.isfinite(high) and low <= high:
            return low, high, "BCa", notes
        notes.append("BCa interval degenerate (NaN); percentile bootstrap used")
    elif constant:
        notes.append("all differences identical: BCa undefined, percentile bootstrap used")
    else:
        notes.append("fewer than 3 pairs: BCa unreliable, percentile bootstrap used")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        ci = stats.bootstrap((diff,), np.mean, method="percentile", **kwargs).confidence_interval
    return float(ci.low), float(ci.high), "percentile", notes


def paired_test(
    baseline: np.ndarray,
    treatment: np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    random_state: int = 0,
    max_exact_pairs: int = MAX_EXACT_SIGNFLIP_PAIRS,
) -> PairedResult:
    """Compare two aligned samples of paired runs.

    Assumptions: ``baseline[i]`` and ``treatment[i]`` come from the same seed
    triple, and the pairs are independent of each other.  The t-test further
    assumes roughly normal differences; the sign-flip test only assumes the
    differences are symmetric about 0 under the null (exchangeable signs); the
    Wilcoxon test assumes symmetric differences and tests their median.

    Computed quantities:

    * mean difference ``mean(treatment - baseline)``;
    * ``scipy.stats.bootstrap((diff,), np.mean, method="BCa")`` interval,
      falling back to ``method="percentile"`` when BCa is undefined (fewer than
      3 pairs, all differences identical, or a NaN result); ``ci_method``
      records which was used;
    * ``scipy.stats.ttest_rel(treatment, baseline)`` p-value, reported as NaN
      when all differences are identical (zero variance makes t undefined;
      SciPy would return ``p = 0`` or NaN depending on round-off);
    * sign-flip permutation p-value of the mean difference via
      ``scipy.stats.permutation_test(..., permutation_type="samples")``:
      exact (all 2**n sign vectors) for ``n <= max_exact_pairs``, otherwise
      ``n_resamples`` random sign vectors seeded by ``random_state``;
    * ``scipy.stats.wilcoxon(treatment, baseline)`` p-value only for
      ``n >= MIN_PAIRS_WILCOXON`` (6): with fewer pairs its smallest
      attainable two-sided p-value exceeds 0.05, so it is None ("n/a").

    With fewer than 2 pairs no interval or test is computed (NaN/None, see
    ``notes``); this is not an error.

    Parameters
    ----------
    baseline, treatment
        1-D arrays of equal length with finite values.
    confidence
        Confidence level of the bootstrap interval, in (0, 1).
    n_resamples
        Bootstrap resamples, and sign vectors for the non-exact sign-flip test.
    random_state
        Seed for the bootstrap and the sampled sign-flip test.
    max_exact_pairs
        Largest number of pairs for which the sign-flip test is exact.

    Returns
    -------
    PairedResult
    """
    b, t = _check_samples(baseline, treatment, confidence)
    n, nan = int(b.size), float("nan")
    if n == 0:
        return PairedResult(0, nan, nan, nan, nan, nan, None, confidence, nan, nan, None, None,
                            ("no pairs: nothing to compare",))
    diff = t - b
    means = (float(np.mean(b)), float(np.mean(t)), float(np.mean(diff)))
    if n < 2:
        return PairedResult(n, *means, nan, nan, None, confidence, nan, nan, None, None,
                            ("fewer than 2 pairs: no interval or test",))
    constant = float(np.ptp(diff)) <= CONSTANT_DIFF_ATOL
    ci_low, ci_high, ci_method, notes = _bootstrap_ci(
        diff, confidence=confidence, n_resamples=n_resamples, random_state=random_state, constant=constant)
    if constant:
        p_ttest = nan
        notes.append("t-test undefined: all paired differences identical (zero variance)")
    else:
        p_ttest = float(stats.ttest_rel(t, b).pvalue)
    exact = n <= max_exact_pairs
    p_signflip = _signflip_p(diff, exact=exact, n_resamples=n_resamples, random_state=random_state, notes=notes)
    p_wilcoxon = _wilcoxon_p(b, t, notes=notes)
    if exact and 2.0 / 2**n > 0.05:
        notes.append(f"exact sign-flip p cannot fall below 2/2**{n} = {2.0 / 2**n:.4g}")
    return PairedResult(n, *means, ci_low, ci_high, ci_method, confidence, p_ttest, p_signflip, exact, p_wilcoxon,
                        tuple(notes))


def _check_samples(baseline: np.ndarray, treatment: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray]:
    b, t = np.asarray(baseline, dtype=float), np.asarray(treatment, dtype=float)
    if b.ndim != 1 or t.ndim != 1 or b.shape != t.shape:
        raise ValueError(f"paired_test: baseline and treatment must be 1-D of equal length, got shapes "
                         f"{b.shape} and {t.shape}")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(t))):
        raise ValueError("paired_test: baseline and treatment must be finite (no NaN/inf)")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"paired_test: confidence must be in (0, 1), got {confidence}")
    return b, t


def _signflip_p(diff: np.ndarray, *, exact: bool, n_resamples: int, random_state: int, notes: list[str]) -> float:
    """Two-sided sign-flip permutation p of the mean: all 2**n sign vectors, or a seeded sample."""
    perm = stats.permutation_test(
        (diff,), statistic=lambda d, axis: np.mean(d, axis=axis), permutation_type="samples", vectorized=True,
        n_resamples=np.inf if exact else n_resamples, alternative="two-sided",
        **({} if exact else {"random_state": random_state}),
    )
    if not exact:
        notes.append(f"sign-flip p from {n_resamples} random sign vectors (not exact)")
    return float(perm.pvalue)


def _wilcoxon_p(b: np.ndarray, t: np.ndarray, *, notes: list[str]) -> float | None:
    """Wilcoxon signed-rank p from :data:`MIN_PAIRS_WILCOXON` pairs on, else None (see there)."""
    if len(b) < MIN_PAIRS_WILCOXON:
        notes.append(f"wilcoxon n/a: with {len(b)} < {MIN_PAIRS_WILCOXON} pairs its smallest two-sided p "
                     f"exceeds 0.05")
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        return float(stats.wilcoxon(t, b).pvalue)


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm-Bonferroni adjusted p-values, ignoring NaN entries.

    Uses ``statsmodels.stats.multitest.multipletests(method="holm")`` on the
    finite entries only; NaN (or None) entries, i.e. untested cells, stay NaN
    and do not count towards the family size.  Holm controls the family-wise
    error rate under arbitrary dependence between the tests.

    Parameters
    ----------
    p_values
        1-D p-values in [0, 1]; NaN/None allowed.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values, same length and order as the input.
    """
    p = np.asarray(p_values, dtype=float).reshape(-1)
    finite = ~np.isnan(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        raise ValueError("holm: p-values must lie in [0, 1]")
    out = np.full(p.shape, np.nan)
    if finite.any():
        out[finite] = multipletests(p[finite], method="holm")[1]
    return out


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

"""Paired tests on per-seed differences: mean with a bootstrap interval, paired t, exact sign-flip, Wilcoxon; Holm."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

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



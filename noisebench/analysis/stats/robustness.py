"""More robust, or just better? The robustness gain: how much a method's advantage over the baseline grows under noise.

A treatment can beat the baseline under noise simply because it beats it everywhere. The
*robustness gain* separates the two: per seed, ``(treatment − baseline at a noise level) −
(treatment − baseline on clean labels)``. A positive gain means the treatment's advantage grows
with noise (it is more robust); a gain of 0 with a positive clean Δ means it is just better.

Pairing. A noisy treatment run and a noisy baseline run pair by seed triple (as in
:func:`~noisebench.analysis.stats.paired_cells`). Each of the two is anchored to the clean run
of its own method with the same ``(data_seed, train_seed)`` and the same non-noise setting keys
(the clean anchor of :func:`~noisebench.analysis.stats.noise_cost`, :data:`ANCHOR_KEYS`), so all
four runs of one gain share the training subset and the initialisation. As in ``noise_cost``,
noisy pairs that share one clean partner (several noise seeds per data and train seed) are
averaged first, so each clean pair counts once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis.keys import PANEL_KEYS, SEED_KEYS, TRAINING_KEYS
from noisebench.analysis.stats.cells import (
    REQUIRED_KEYS,
    PairedCell,
    _hashable,
    _require_columns,
    _sort_key,
    _with_hyper_parameters,
    cell_keys,
    paired_cells,
)
from noisebench.analysis.stats.compare import ANCHOR_SEEDS, _add_holm, _clean_partners, _test_columns
from noisebench.analysis.stats.paired import MAX_EXACT_SIGNFLIP_PAIRS, PairedResult, paired_test
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE, hyper_parameter_names
from noisebench.noise.families import is_clean

__all__ = ["robustness_gain", "robustness_gains", "gain_family_keys"]

_GAIN_COLUMNS: tuple[str, ...] = (
    "n_pairs", "n_noisy_pairs", "n_missing_clean", "missing_clean", "n_unpaired_baseline", "n_unpaired_treatment",
    "clean_delta", "clean_delta_ci_low", "clean_delta_ci_high", "noisy_delta", "noisy_delta_ci_low",
    "noisy_delta_ci_high", "gain", "ci_low", "ci_high", "ci_method", "p_ttest", "p_signflip", "signflip_exact",
    "p_wilcoxon", "notes",
)


def robustness_gain(
    clean_baseline: np.ndarray,
    clean_treatment: np.ndarray,
    noisy_baseline: np.ndarray,
    noisy_treatment: np.ndarray,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    random_state: int = 0,
    max_exact_pairs: int = MAX_EXACT_SIGNFLIP_PAIRS,
) -> PairedResult:
    """Paired test of the per-seed robustness gain ``(noisy_treatment − noisy_baseline) − (clean_treatment − clean_baseline)``.

    The four arrays are aligned by seed: entry ``i`` of each comes from one (data seed, train seed),
    the noisy pair trained on noisy labels of that subset, the clean pair on its clean labels.

    Returns
    -------
    PairedResult
        Exactly :func:`~noisebench.analysis.stats.paired_test` with ``baseline`` = the clean Δs and
        ``treatment`` = the noisy Δs: ``mean_baseline`` is the mean clean Δ, ``mean_treatment`` the
        mean noisy Δ, ``mean_difference`` the mean gain, with its bootstrap interval, paired t,
        exact sign-flip and (from 6 pairs) Wilcoxon p-values on the gains.

    Raises
    ------
    ValueError
        When the arrays are not 1-D of one length or hold NaN/inf.
    """
    arrays = [np.asarray(a, dtype=float) for a in (clean_baseline, clean_treatment, noisy_baseline, noisy_treatment)]
    if any(a.ndim != 1 for a in arrays) or len({a.shape for a in arrays}) != 1:
        raise ValueError(f"robustness_gain: the four arrays must be 1-D of equal length, got shapes "
                         f"{[a.shape for a in arrays]}")
    cb, ct, nb, nt = arrays
    return paired_test(ct - cb, nt - nb, confidence=confidence, n_resamples=n_resamples, random_state=random_state,
                       max_exact_pairs=max_exact_pairs)


def gain_family_keys() -> tuple[str, ...]:
    """Keys of one Holm family of :func:`robustness_gains`: every cell key but ``noise_level``.

    So one family holds the levels of one noise family and level parameter in one setting, for one
    treatment variant (as in :func:`~noisebench.analysis.stats.noise_cost`).
    """
    return tuple(k for k in cell_keys() if k != "noise_level")


def _anchor(cell: PairedCell, method: Any, hps: Sequence[Any]) -> tuple:
    """The clean-anchor key (:data:`ANCHOR_KEYS` + hyper-parameters) of ``method`` in ``cell``'s setting."""
    return _hashable([*(cell.key[k] for k in PANEL_KEYS + TRAINING_KEYS), method, *hps])


def _by_clean_seed(cell: PairedCell) -> dict[tuple, list[int]]:
    """(data_seed, train_seed) -> indices of the cell's noisy pairs with those seeds."""
    where = [SEED_KEYS.index(k) for k in ANCHOR_SEEDS]
    out: dict[tuple, list[int]] = {}
    for i, seed in enumerate(cell.seeds):
        out.setdefault(tuple(seed[j] for j in where), []).append(i)
    return out


def _missing_text(seed: tuple, lacking: Sequence[Any]) -> str:
    return f"data_seed {seed[0]}, train_seed {seed[1]}: no clean {' or '.join(map(str, lacking))} run"


def _gain_row(cell: PairedCell, base: dict[tuple, pd.Series], treat: dict[tuple, pd.Series],
              **test_kwargs: Any) -> dict[str, Any]:
    """Anchor one noisy cell's pairs to their clean partners and test the gain."""
    by_seed = _by_clean_seed(cell)
    seeds = sorted(by_seed, key=_sort_key)
    complete = [s for s in seeds if s in base and s in treat]
    missing = [s for s in seeds if s not in complete]
    metric = cell.metric
    cb = np.array([float(base[s][metric]) for s in complete])
    ct = np.array([float(treat[s][metric]) for s in complete])
    nb = np.array([float(np.mean(cell.baseline[by_seed[s]])) for s in complete])
    nt = np.array([float(np.mean(cell.treatment[by_seed[s]])) for s in complete])
    res = robustness_gain(cb, ct, nb, nt, **test_kwargs)
    clean, noisy = paired_test(cb, ct, **test_kwargs), paired_test(nb, nt, **test_kwargs)
    names = (cell.key["baseline_method"], cell.key["treatment_method"])
    lacking = [[n for n, side in zip(names, (base, treat)) if s not in side] for s in missing]
    return {
        **cell.key,
        "n_pairs": len(complete),
        "n_noisy_pairs": int(sum(len(by_seed[s]) for s in complete)),
        "n_missing_clean": int(sum(len(by_seed[s]) for s in missing)),
        "missing_clean": "; ".join(_missing_text(s, lack) for s, lack in zip(missing, lacking)),
        "n_unpaired_baseline": len(cell.unpaired_baseline),
        "n_unpaired_treatment": len(cell.unpaired_treatment),
        "clean_delta": res.mean_baseline, "clean_delta_ci_low": clean.ci_low, "clean_delta_ci_high": clean.ci_high,
        "noisy_delta": res.mean_treatment, "noisy_delta_ci_low": noisy.ci_low, "noisy_delta_ci_high": noisy.ci_high,
        "gain": res.mean_difference,
        **_test_columns(res),
    }


def robustness_gains(
    table: pd.DataFrame,
    *,
    baseline: str = BASELINE,
    treatments: Sequence[str] | None = None,
    metric: str = "test_accuracy",
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    random_state: int = 0,
    alpha: float = 0.05,
) -> pd.DataFrame:
    """The robustness gain of every treatment variant over ``baseline`` at every noise level (see the module doc).

    Parameters
    ----------
    table
        Tidy results table with clean and noisy runs (see :func:`paired_cells`).
    baseline, treatments
        Values of ``method``; ``treatments=None`` means every other method with noisy runs.
    metric, confidence, n_resamples, random_state
        As in :func:`paired_test`.
    alpha
        Level of the ``significant`` column.

    Returns
    -------
    pandas.DataFrame
        One row per (noisy setting, treatment variant) with noisy pairs: the cell keys
        (:func:`cell_keys`); ``n_pairs`` (clean seed pairs with both clean partners: the unit of
        the test); ``n_noisy_pairs`` (noisy pairs in them); ``n_missing_clean`` and
        ``missing_clean`` (noisy pairs left out because a clean partner is missing, and which
        seeds lack which method); ``n_unpaired_baseline``/``n_unpaired_treatment`` (noisy runs
        without a noisy partner); ``clean_delta``, ``noisy_delta`` (mean treatment − baseline over
        the pairs) each with a bootstrap interval (``*_ci_low``/``*_ci_high``); ``gain`` (=
        ``noisy_delta − clean_delta``) with ``ci_low``/``ci_high``, ``ci_method``, ``p_ttest``,
        ``p_signflip``, ``signflip_exact``, ``p_wilcoxon`` (NaN = not run), ``notes``; ``p_holm``
        (sign-flip p adjusted by Holm over the levels of one :func:`gain_family_keys` family),
        ``holm_family_size`` and ``significant`` (``p_holm < alpha``). ``attrs["metric"]`` holds
        the metric name.

    Raises
    ------
    ValueError
        On a missing column or metric, or when a (method, data seed, train seed) has several clean runs.
    """
    _require_columns(table, ("run_id", "method", metric) + REQUIRED_KEYS + SEED_KEYS, where="robustness_gains")
    table = _with_hyper_parameters(table)
    hps = hyper_parameter_names()
    clean_rows = table["noise_family"].map(is_clean)
    clean = table[clean_rows]
    base_clean = clean[clean["method"] == baseline].assign(**{h: np.nan for h in hps})  # its hyper-parameters are ignored
    base_partners = _clean_partners(base_clean, metric)
    treat_partners = _clean_partners(clean[clean["method"] != baseline], metric)
    test_kwargs = dict(confidence=confidence, n_resamples=n_resamples, random_state=random_state)
    rows = []
    for cell in paired_cells(table[~clean_rows], metric=metric, baseline=baseline, treatments=treatments):
        if is_missing(cell.key["treatment_method"]) or cell.n_pairs == 0:
            continue
        base = base_partners.get(_anchor(cell, baseline, [None] * len(hps)), {})
        treat = treat_partners.get(_anchor(cell, cell.key["treatment_method"], [cell.key[h] for h in hps]), {})
        rows.append(_gain_row(cell, base, treat, **test_kwargs))
    out = pd.DataFrame(rows, columns=list(cell_keys() + _GAIN_COLUMNS))
    out = _add_holm(out, gain_family_keys(), alpha)
    out.attrs["metric"] = metric
    return out

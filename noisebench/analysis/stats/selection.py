"""What a selection rule is worth: each rule's test accuracy against a reference rule on the same runs.

Rows of one (setting without ``selection``, method, hyper-parameters) and one seed triple that differ
only in ``selection`` are the same trained run scored under two rules (``expand_selections``) or two
runs that trained identically but for the rule; they pair by seed triple. The paired difference
``reference − rule`` is what selecting on the reference (by default clean dev, ``best_dev``) adds over
the rule (e.g. a noisy dev split, which is what a practitioner has).
"""

from __future__ import annotations

import pandas as pd

from noisebench.analysis.keys import SEED_KEYS, SETTING_KEYS, with_setting_keys
from noisebench.analysis.stats.paired import paired_test
from noisebench.methods import hyper_parameter_names
from noisebench.selection import DEFAULT_SELECTION

SELECTION_EFFECT_COLUMNS: tuple[str, ...] = (
    "rule", "n_pairs", "mean_reference", "mean_rule", "added", "ci_low", "ci_high", "p_ttest", "p_signflip",
)


def _group_keys(table: pd.DataFrame) -> list[str]:
    """Setting (without ``selection``), method and hyper-parameter columns present in ``table``."""
    keys = [k for k in SETTING_KEYS if k != "selection"] + ["method", *hyper_parameter_names()]
    return [k for k in keys if k in table.columns]


def selection_effects(
    table: pd.DataFrame, *, reference: str = DEFAULT_SELECTION, metric: str = "test_accuracy", confidence: float = 0.95,
    n_resamples: int = 10_000, random_state: int = 0,
) -> pd.DataFrame:
    """Per (setting, method, other rule): ``added`` = mean over seeds of metric(reference) − metric(rule), with
    :func:`~noisebench.analysis.stats.paired_test`'s interval and p-values; empty when the table holds one rule.

    Columns: the setting keys but ``selection``, ``method``, the hyper-parameters, then
    :data:`SELECTION_EFFECT_COLUMNS`. Seeds without a partner under the other rule are left out of the pairs.
    """
    table = with_setting_keys(table)
    table = table.assign(**{k: table[k].fillna(-1) for k in SEED_KEYS})  # a clean run has no noise seed: -1 pairs with -1
    keys = _group_keys(table)
    rows = []
    for key, group in table.groupby(keys, dropna=False, sort=True):
        by_rule = {rule: runs.set_index(list(SEED_KEYS))[metric] for rule, runs in group.groupby("selection")}
        if reference not in by_rule:
            continue
        for rule, values in by_rule.items():
            if rule == reference:
                continue
            shared = by_rule[reference].index.intersection(values.index)
            if len(shared) == 0:
                continue
            result = paired_test(values.loc[shared].to_numpy(float), by_rule[reference].loc[shared].to_numpy(float),
                                 confidence=confidence, n_resamples=n_resamples, random_state=random_state)
            rows.append({
                **dict(zip(keys, key)), "rule": rule, "n_pairs": result.n_pairs, "mean_reference": result.mean_treatment,
                "mean_rule": result.mean_baseline, "added": result.mean_difference, "ci_low": result.ci_low,
                "ci_high": result.ci_high, "p_ttest": result.p_ttest, "p_signflip": result.p_signflip,
            })
    return pd.DataFrame(rows, columns=[*keys, *SELECTION_EFFECT_COLUMNS])

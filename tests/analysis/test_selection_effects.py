"""What clean-dev selection adds over another rule, paired by seed, checked against scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from noisebench.analysis.report.selection import _selection_section
from noisebench.analysis.report.writers import to_markdown
from noisebench.analysis.stats import selection_effects


def _rows(rule: str, accuracies: list[float], *, method: str = "ce", noisy: bool = True) -> list[dict]:
    return [{
        "task": "rt-polarity", "model": "m", "n_train": 100, "method": method, "selection": rule,
        "noise_family": "temperature" if noisy else "none", "noise_param": "target_rate" if noisy else None,
        "noise_level": 0.3 if noisy else np.nan, "pooling": "mean", "batch_size": 16,
        "data_seed": s, "noise_seed": s if noisy else None, "train_seed": s, "test_accuracy": a,
    } for s, a in enumerate(accuracies)]


def test_added_is_the_paired_difference_with_scipys_t_test():
    clean_dev = [0.70, 0.72, 0.69, 0.75, 0.71, 0.74]
    noisy_dev = [0.68, 0.70, 0.69, 0.71, 0.70, 0.70]
    table = pd.DataFrame(_rows("best_dev", clean_dev) + _rows("best_noisy_dev", noisy_dev) + _rows("last_epoch", clean_dev[:4]))
    effects = selection_effects(table).set_index("rule")
    row = effects.loc["best_noisy_dev"]
    assert row["n_pairs"] == 6 and row["added"] == pytest.approx(np.mean(np.subtract(clean_dev, noisy_dev)))
    assert row["p_ttest"] == pytest.approx(stats.ttest_rel(clean_dev, noisy_dev).pvalue)
    assert row["ci_low"] < row["added"] < row["ci_high"]
    assert effects.loc["last_epoch", "n_pairs"] == 4 and effects.loc["last_epoch", "added"] == pytest.approx(0.0)


def test_clean_runs_pair_without_a_noise_seed_and_methods_stay_apart():
    table = pd.DataFrame(_rows("best_dev", [0.8, 0.9], noisy=False) + _rows("best_noisy_dev", [0.7, 0.8], noisy=False)
                         + _rows("best_dev", [0.5, 0.5], method="ce-scl") + _rows("best_noisy_dev", [0.5, 0.6], method="ce-scl"))
    effects = selection_effects(table)
    assert sorted(zip(effects["method"], effects["n_pairs"], effects["added"].round(6))) == [("ce", 2, 0.1), ("ce-scl", 2, -0.05)]


def test_one_rule_gives_no_section():
    effects = selection_effects(pd.DataFrame(_rows("best_dev", [0.7, 0.8])))
    assert effects.empty and _selection_section(effects, "best_dev") == []
    section = to_markdown(_selection_section(selection_effects(pd.DataFrame(_rows("best_dev", [0.7, 0.8]) + _rows("last_epoch", [0.6, 0.8]))), "best_dev"))
    assert "## What best_dev selection adds" in section and "last_epoch" in section and "+5.00" in section

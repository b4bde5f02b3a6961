"""Tests for noisebench.analysis.summary: brute-force counts, bootstrap behaviour and known effects."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fake_runs import (
    BENCHMARK_METHODS,
    CE,
    SCL,
    benchmark_cells,
    brute_force_improvement,
    make_benchmark_table,
    make_table,
)

from noisebench.analysis.summary import (
    SUMMARY_BY,
    cell_probability_of_improvement,
    mean_difference,
    method_summary,
    probability_of_improvement,
    stratified_bootstrap,
)

REPS = 2000


def ragged_cells(seed: int = 0):
    """Treatment and baseline runs of 6 cells with unequal run counts and many ties (accuracies on a coarse grid)."""
    rng = np.random.default_rng(seed)
    sizes = [(3, 3), (5, 4), (1, 2), (7, 7), (2, 6), (4, 1)]
    treatment = [rng.integers(0, 6, n_t) / 10 for n_t, _ in sizes]
    baseline = [rng.integers(0, 6, n_b) / 10 for _, n_b in sizes]
    return treatment, baseline


# --------------------------------------------------------------------------
# the two statistics
# --------------------------------------------------------------------------


def test_probability_of_improvement_is_the_brute_force_count_averaged_over_cells():
    for seed in range(5):
        treatment, baseline = ragged_cells(seed)
        per_cell = [brute_force_improvement(t, b) for t, b in zip(treatment, baseline)]
        assert any(0 < p < 1 for p in per_cell)
        assert probability_of_improvement(treatment, baseline) == pytest.approx(np.mean(per_cell), abs=1e-12)
        for t, b, p in zip(treatment, baseline, per_cell):
            assert float(cell_probability_of_improvement(t, b)) == pytest.approx(p, abs=1e-12)


def test_cell_probability_is_vectorised_over_leading_axes():
    rng = np.random.default_rng(3)
    treatment, baseline = rng.integers(0, 4, (50, 6)) / 4, rng.integers(0, 4, (50, 5)) / 4
    expected = [brute_force_improvement(t, b) for t, b in zip(treatment, baseline)]
    np.testing.assert_allclose(cell_probability_of_improvement(treatment, baseline), expected, atol=1e-12)


def test_probability_of_improvement_of_identical_runs_is_one_half_and_swapping_flips_it():
    treatment, baseline = ragged_cells(1)
    assert probability_of_improvement(baseline, baseline) == pytest.approx(0.5)
    p = probability_of_improvement(treatment, baseline)
    assert probability_of_improvement(baseline, treatment) == pytest.approx(1 - p)


def test_mean_difference_weighs_cells_equally():
    differences = [np.array([1.0, 1.0, 1.0, 1.0]), np.array([3.0])]
    assert mean_difference(differences) == pytest.approx(2.0)  # not the pooled mean 1.4


# --------------------------------------------------------------------------
# the stratified bootstrap
# --------------------------------------------------------------------------


def _mean(d):
    return np.mean(d, axis=-1)


def test_interval_contains_the_estimate_and_is_seeded():
    treatment, baseline = ragged_cells(2)
    for cells, statistic, paired in (([(t,) for t in treatment], _mean, True),
                                     (list(zip(treatment, baseline)), cell_probability_of_improvement, False)):
        first = stratified_bootstrap(cells, statistic, paired=paired, reps=REPS, random_state=5)
        assert first[1] <= first[0] <= first[2] and first[1] < first[2]
        assert stratified_bootstrap(cells, statistic, paired=paired, reps=REPS, random_state=5) == first
        assert stratified_bootstrap(cells, statistic, paired=paired, reps=REPS, random_state=6) != first
    assert stratified_bootstrap([(t,) for t in treatment], _mean, paired=True, reps=REPS)[0] == \
        pytest.approx(mean_difference(treatment))


def test_runs_are_resampled_within_cells_each_its_own_number():
    """The interval's width matches the resampling variance of a mean of independent within-cell means."""
    rng = np.random.default_rng(4)
    cells = [rng.normal(loc, 1.0, n) for loc, n in ((0.0, 8), (10.0, 20), (-5.0, 12))]
    _, low, high = stratified_bootstrap([(c,) for c in cells], _mean, paired=True, reps=40_000, random_state=1)
    sd = np.sqrt(sum(np.var(c) / len(c) for c in cells)) / len(cells)  # no between-cell spread
    assert (high - low) / (2 * 1.959964 * sd) == pytest.approx(1.0, abs=0.03)


def test_paired_resampling_keeps_pairs_and_independent_resampling_does_not():
    runs = [np.arange(6, dtype=float), np.arange(4, dtype=float)]
    same = [(r, r.copy()) for r in runs]
    _, low, high = stratified_bootstrap(same, cell_probability_of_improvement, paired=True, reps=REPS)
    assert low == high == pytest.approx(0.5)  # one index draw for both: always identical samples
    _, low, high = stratified_bootstrap(same, cell_probability_of_improvement, paired=False, reps=REPS)
    assert low < 0.5 < high


def test_bootstrap_rejects_bad_arguments():
    cells = [(np.ones(3),)]
    with pytest.raises(ValueError, match="confidence"):
        stratified_bootstrap(cells, _mean, paired=True, confidence=1.0)
    with pytest.raises(ValueError, match="reps"):
        stratified_bootstrap(cells, _mean, paired=True, reps=0)
    with pytest.raises(ValueError, match="no cells"):
        stratified_bootstrap([], _mean, paired=True)


# --------------------------------------------------------------------------
# the method-level summary of a results table
# --------------------------------------------------------------------------


def known_effect_table(points: float = 1.0) -> pd.DataFrame:
    """benchmark-small's grid where every method is the baseline plus ``points`` on every seed triple.

    The baseline's seeds lie within half a point of each other, so every treatment run beats every baseline run.
    """
    table = make_benchmark_table()
    setting = table[["task", "noise_family", "noise_level"]].astype(str).agg("/".join, axis=1)
    offset = setting.map({s: i / 100 for i, s in enumerate(sorted(set(setting)))})
    baseline = 0.7 + 0.0005 * table["data_seed"] + offset
    return table.assign(test_accuracy=np.where(table["method"] == CE, baseline, baseline + points / 100))


def test_a_method_one_point_better_on_every_seed():
    out = method_summary(known_effect_table(), reps=REPS)
    assert len(out) == len(BENCHMARK_METHODS) - 1 and set(out["baseline_method"]) == {CE}
    for row in out.to_dict("records"):
        assert (row["n_cells"], row["n_pairs"], row["min_pairs_per_cell"], row["max_pairs_per_cell"]) == (5, 50, 10, 10)
        assert row["tasks"] == "rt-polarity, vader-movie"
        assert row["noise_families"] == "annotator, temperature, uniform"
        for column in ("mean_diff", "mean_diff_ci_low", "mean_diff_ci_high"):
            assert row[column] == pytest.approx(0.01, abs=1e-12)
        for column in ("p_improvement", "p_improvement_ci_low", "p_improvement_ci_high"):
            assert row[column] == pytest.approx(1.0)


def test_swapping_method_and_baseline_flips_the_summary():
    table = known_effect_table()
    (row,) = method_summary(table, baseline=SCL, treatments=[CE], reps=REPS).to_dict("records")
    assert (row["baseline_method"], row["treatment_method"]) == (SCL, CE)
    assert row["mean_diff"] == pytest.approx(-0.01, abs=1e-12) and row["p_improvement"] == pytest.approx(0.0)
    assert row["mean_diff_ci_high"] == pytest.approx(-0.01, abs=1e-12) and row["p_improvement_ci_high"] == pytest.approx(0.0)


def test_summary_numbers_are_the_means_over_cells_of_the_paired_runs():
    table = make_benchmark_table()
    table = table.drop(table.index[(table["task"] == "rt-polarity") & (table["data_seed"] >= 7)
                                   & (table["method"] == SCL)])  # rt-polarity cells: 7 pairs, the others 10
    out = method_summary(table, treatments=[SCL], reps=REPS)
    (row,) = out.to_dict("records")
    cells = benchmark_cells(table, SCL)
    diffs = [np.mean(scl - ce) for scl, ce in cells]
    improvements = [brute_force_improvement(scl, ce) for scl, ce in cells]
    assert (row["n_cells"], row["n_pairs"], row["min_pairs_per_cell"], row["max_pairs_per_cell"]) == (5, 44, 7, 10)
    assert row["mean_diff"] == pytest.approx(np.mean(diffs), abs=1e-12)
    assert row["p_improvement"] == pytest.approx(np.mean(improvements), abs=1e-12)
    assert row["mean_diff_ci_low"] < row["mean_diff"] < row["mean_diff_ci_high"]
    assert out.attrs["metric"] == "test_accuracy" and out.attrs["reps"] == REPS


def test_summary_by_noise_family_and_clean_cells():
    by_family = method_summary(make_benchmark_table(), by=SUMMARY_BY + ("noise_family",), reps=200)
    assert len(by_family) == 3 * (len(BENCHMARK_METHODS) - 1)
    assert dict(zip(by_family["noise_family"], by_family["n_cells"])) == {"annotator": 1, "temperature": 2, "uniform": 2}
    table = make_table(levels=(0.3, 0.9))  # two noise levels and a clean anchor
    assert method_summary(table, reps=200)["n_cells"].tolist() == [2]
    assert method_summary(table, include_clean=True, reps=200)["n_cells"].tolist() == [3]
    assert method_summary(make_table(levels=()), reps=200).empty
    with pytest.raises(ValueError, match="by must be setting keys"):
        method_summary(table, by=("lr",))

"""Tests for noisebench.analysis.prepare: every prepared number recomputed here with NumPy/SciPy."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from fake_runs import CE, SCL, make_history, make_table, write_artifact, write_runs
from scipy import stats

from noisebench.analysis import prepare

SCL_LABEL = "ce-scl(λ=0.9, τ=0.3)"


def test_labels_come_from_the_registries():
    assert prepare.method_label(CE, {"lam": math.nan, "tau": math.nan}) == "ce"
    assert prepare.method_label(SCL, {"lam": 0.9, "tau": 0.3}) == SCL_LABEL
    assert prepare.method_label("not-registered", {}) == "not-registered"
    assert prepare.noise_label("none", None, math.nan) == "clean"
    assert prepare.noise_label("temperature", "temperature", 0.9) == "temperature T=0.9"
    assert prepare.noise_label("temperature", None, 0.9) == "temperature T=0.9"  # legacy: the family's own
    assert prepare.noise_label("temperature", "target_rate", 0.2) == "temperature ρ=0.2"
    assert prepare.noise_label("uniform", "rate", 0.2) == "uniform r=0.2"
    assert prepare.noise_label("not-registered", "knob", 0.5) == "not-registered knob=0.5"
    assert prepare.level_axis_label("temperature", "target_rate") == "target noise rate"
    assert prepare.level_axis_label("temperature", math.nan) == "temperature T"


def test_t_interval_matches_scipy():
    x = [0.80, 0.82, 0.79, 0.85, 0.81]
    mean, lo, hi = prepare.t_interval(x)
    assert mean == pytest.approx(np.mean(x))
    assert (lo, hi) == pytest.approx(stats.t.interval(0.95, 4, loc=np.mean(x), scale=stats.sem(x)))
    m1, lo1, hi1 = prepare.t_interval([0.8])
    assert m1 == 0.8 and math.isnan(lo1) and math.isnan(hi1)


def test_cell_summary_per_setting_and_method_label():
    table = make_table(scl=((0.9, 0.3), (0.5, 0.1)))
    summary = prepare.cell_summary(table)
    assert len(summary) == 4 * 3  # clean + 3 levels, x 3 method labels
    for level in (math.nan, 0.6):
        for method, lam, label in ((CE, math.nan, "ce"), (SCL, 0.5, "ce-scl(λ=0.5, τ=0.1)")):
            runs = table[(table["method"] == method)
                         & (table["noise_level"].isna() if math.isnan(level) else table["noise_level"] == level)
                         & (table["lam"].isna() if math.isnan(lam) else table["lam"] == lam)]["test_accuracy"]
            row = summary[(summary["method_label"] == label) & (
                summary["noise_level"].isna() if math.isnan(level) else summary["noise_level"] == level)]
            assert len(row) == 1
            row = row.iloc[0]
            assert row["n"] == len(runs) == 5
            assert row["mean"] == pytest.approx(runs.mean())
            assert row["sd"] == pytest.approx(np.std(runs, ddof=1))
            low, high = stats.t.interval(0.95, len(runs) - 1, loc=runs.mean(), scale=stats.sem(runs))
            assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
            assert sorted(row["values"]) == sorted(runs)


def test_noise_rates_count_each_draw_once():
    table = make_table(levels=(0.3, 0.9))
    draws = prepare.noise_draws(table)
    assert len(draws) == 2 * 5  # CE and CE+SCL of one seed share their noisy labels
    rates = prepare.noise_rates(draws)
    for level in (0.3, 0.9):
        ce = table[(table["noise_level"] == level) & (table["method"] == CE)]["realized_noise_rate"]
        row = rates[rates["noise_level"] == level].iloc[0]
        assert (row["mean"], row["min"], row["max"], row["n_draws"]) == (
            pytest.approx(ce.mean()), pytest.approx(ce.min()), pytest.approx(ce.max()), 5)


def test_noise_rates_from_artifacts(tmp_path):
    counts = [[40, 5, 5], [4, 40, 6], [10, 10, 30]]
    dirs = [write_artifact(tmp_path / f"t{t}", t, counts) for t in (0.3, 0.9)]
    dirs.append(write_artifact(tmp_path / "u", 0.2, counts, family="uniform", param="rate"))
    draws = prepare.artifact_noise_draws(dirs)
    assert draws["noise_level"].tolist() == [0.3, 0.9, 0.2]
    assert draws["noise_family"].tolist() == ["temperature", "temperature", "uniform"]
    assert draws["rate"].tolist() == pytest.approx([1 - 110 / 150] * 3)


def test_paired_differences_label_each_treatment():
    table = make_table(seeds=4, levels=(0.9,))
    diffs = prepare.paired_differences(table, n_resamples=200)
    noisy = diffs[diffs["noise_level"] == 0.9].iloc[0]
    ce = table[(table["noise_level"] == 0.9) & (table["method"] == CE)].sort_values("data_seed")
    scl = table[(table["noise_level"] == 0.9) & (table["method"] == SCL)].sort_values("data_seed")
    assert (noisy["baseline_label"], noisy["treatment_label"]) == ("ce", SCL_LABEL)
    assert noisy["mean_diff"] == pytest.approx(np.mean(scl["test_accuracy"].to_numpy() - ce["test_accuracy"].to_numpy()))
    assert noisy["n_pairs"] == 4


def test_memorisation_means_per_epoch():
    table = make_table(seeds=3, levels=(0.3, 0.9))
    history = make_history(table)
    history.loc[history["run_id"] == table.loc[table["noise_level"] == 0.9, "run_id"].iloc[0],
                "train_acc_corrupted_noisy"] = 0.0  # one run differs: the mean must see it
    memo = prepare.memorisation(table, history, noise_family="temperature", noise_level=0.9)
    runs = table[(table["noise_level"] == 0.9) & (table["method"] == CE)]["run_id"]
    expected = history[history["run_id"].isin(runs)].groupby("epoch")["train_acc_corrupted_noisy"].mean()
    got = memo[memo["method_label"] == "ce"].set_index("epoch")["train_acc_corrupted_noisy"]
    np.testing.assert_allclose(got.to_numpy(), expected.to_numpy())
    assert set(memo["n_runs"]) == {3} and set(memo["method_label"]) == {"ce", SCL_LABEL}


def test_transition_matrix_from_artifact_and_run(tmp_path):
    counts = [[40, 5, 5], [4, 40, 6], [0, 0, 0]]
    matrix = prepare.transition_matrix(write_artifact(tmp_path / "a", 0.7, counts, labels=("x", "y", "z")))
    np.testing.assert_array_equal(matrix.to_numpy(), counts)
    assert list(matrix.index) == list(matrix.columns) == ["x", "y", "z"]
    assert matrix.attrs["noise_level"] == 0.7 and matrix.attrs["rate"] == pytest.approx(1 - 80 / 100)
    table = make_table(levels=(0.9,), seeds=1, clean=False)
    run = prepare.transition_matrix(write_runs(tmp_path / "res", table) / "runs" / "run0000")
    assert run.attrs["noise_family"] == "temperature" and run.attrs["noise_level"] == 0.9
    assert run.to_numpy().sum() == 100
    with pytest.raises(FileNotFoundError):
        prepare.transition_matrix(tmp_path / "nothing")


def test_target_rate_artifacts_and_runs_keep_their_level_parameter(tmp_path):
    counts = [[40, 10], [5, 45]]
    art = write_artifact(tmp_path / "rho", 0.65, counts, labels=("a", "b"))
    meta = json.loads((art / "noise.json").read_text())
    (art / "noise.json").write_text(json.dumps({**meta, "target_rate": 0.15, "weak_model": {"fit": "in-sample"}}))
    draws = prepare.artifact_noise_draws([art])
    assert draws[["noise_param", "noise_level", "weak_fit"]].values.tolist() == [["target_rate", 0.15, "in-sample"]]
    matrix = prepare.transition_matrix(art)
    assert (matrix.attrs["noise_param"], matrix.attrs["noise_level"]) == ("target_rate", 0.15)
    both = pd.concat([make_table(seeds=2, levels=(0.2,), clean=False, noise_param="target_rate"),
                      make_table(seeds=2, levels=(0.2,), clean=False, start=100)], ignore_index=True)
    history = make_history(both)
    memo_t = prepare.memorisation(both, history, noise_family="temperature", noise_level=0.2)
    memo_r = prepare.memorisation(both, history, noise_family="temperature", noise_level=0.2, noise_param="target_rate")
    assert set(memo_t["n_runs"]) == set(memo_r["n_runs"]) == {2}  # 2 runs each, never the 4 of both
    rates = prepare.noise_rates(prepare.noise_draws(both))
    assert sorted(rates["noise_param"]) == ["target_rate", "temperature"] and set(rates["n_draws"]) == {2}

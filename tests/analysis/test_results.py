"""Tests for noisebench.store.table: the tidy table from today's and from legacy run directories."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from fake_runs import CE, SCL, make_table, write_runs

from noisebench.store.read import finished_runs
from noisebench.store.rows import flatten_config
from noisebench.store.table import collect_history, collect_table


def _by_id(table: pd.DataFrame) -> pd.DataFrame:
    return table.set_index("run_id").sort_index()


@pytest.mark.parametrize("legacy", [False, True])
def test_table_has_noise_and_hyper_parameter_columns(tmp_path, legacy):
    made = pd.concat([make_table(seeds=2, levels=(0.5,)),
                      make_table(seeds=1, levels=(0.2,), family="uniform", clean=False, start=100)], ignore_index=True)
    table = _by_id(collect_table(write_runs(tmp_path, made, legacy=legacy)))
    expected = _by_id(made)
    assert len(table) == len(made)
    assert "method_params" not in table and "temperature" not in table and "noise_rate" not in table
    for column in ("noise_family", "noise_param", "method", "data_seed", "train_seed", "test_accuracy"):
        assert table[column].tolist() == expected[column].tolist(), column
    for column in ("noise_level", "lam", "tau", "noise_seed"):
        pd.testing.assert_series_equal(table[column].astype(float), expected[column].astype(float), check_names=False)
    assert set(table.loc[table["method"] == CE, "lam"].map(math.isnan)) == {True}  # legacy lam=0 dropped
    assert set(table.loc[table["noise_family"] == "uniform", "noise_param"]) == {"rate"}


def test_flatten_keeps_a_zero_weight_of_the_method_that_has_it():
    legacy = {"method": SCL, "lam": 0.0, "tau": 0.3, "noise_family": "none", "temperature": None, "noise_rate": None}
    assert flatten_config(legacy) == {"method": SCL, "lam": 0.0, "tau": 0.3, "noise_family": "none",
                                           "noise_level": None, "noise_param": None}
    new = {"method": SCL, "method_params": {"lam": 0.5, "tau": 0.1}, "noise_family": "temperature",
           "noise_param": "temperature", "noise_level": 0.7}
    assert flatten_config(new) == {"method": SCL, "lam": 0.5, "tau": 0.1, "noise_family": "temperature",
                                   "noise_param": "temperature", "noise_level": 0.7}


def test_hidden_and_unfinished_directories_are_ignored(tmp_path):
    write_runs(tmp_path, make_table(seeds=1, levels=()))
    hidden = tmp_path / "runs" / ".abc.tmp-123"
    (tmp_path / "runs" / "run0000").rename(hidden)
    (tmp_path / "runs" / "run0001" / "DONE").unlink()
    assert finished_runs(tmp_path) == []
    assert collect_table(tmp_path).empty and collect_history(tmp_path).empty
    assert finished_runs(tmp_path / "nowhere") == []


def test_history_is_long_per_epoch(tmp_path):
    made = make_table(seeds=1, levels=(0.9,), clean=False)
    history = collect_history(write_runs(tmp_path, made))
    assert len(history) == 4 * len(made)
    assert sorted(history["run_id"].unique()) == sorted(made["run_id"])

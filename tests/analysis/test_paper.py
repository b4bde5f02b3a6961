"""Tests for noisebench.analysis.paper (published numbers of Gunel et al. 2021)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from noisebench.analysis.paper import COLUMNS, SOURCE, TABLES, match_paper, paper_table

NOISEBENCH_TASKS = {"sst2", "qnli", "mnli", "cola", "mrpc", "rte", "amazon2", "yelp2"}


def one(frame: pd.DataFrame, **key) -> pd.Series:
    mask = pd.Series(True, index=frame.index)
    for k, v in key.items():
        mask &= frame[k] == v
    assert mask.sum() == 1, key
    return frame[mask].iloc[0]


def test_shape_and_columns():
    t = paper_table()
    assert tuple(t.columns) == COLUMNS
    assert t["setting"].value_counts().to_dict() == {
        "noisy": 24, "few-shot": 18, "full": 12, "transfer": 4,
    }
    assert len(t) == 58
    assert set(t["method"]) == {"ce", "ce-scl"}
    assert set(t["task"]) <= NOISEBENCH_TASKS
    for setting, label in TABLES.items():
        assert set(t.loc[t["setting"] == setting, "table"]) == {label}
    assert TABLES == {"few-shot": "Table 2 (few-shot)", "noisy": "Table 3 (noisy)",
                      "full": "Table 4 (full GLUE)", "transfer": "Table 5 (transfer)"}
    assert "2011.01403" in SOURCE and all(f"Table {i}" in SOURCE for i in (2, 3, 4, 5))


def test_each_comparison_has_both_methods():
    t = paper_table().fillna({"n_train": -1, "noise_level": -1})
    counts = t.groupby(["setting", "task", "n_train", "noise_level"])["method"].apply(sorted)
    assert all(methods == ["ce", "ce-scl"] for methods in counts)


def test_nan_conventions():
    t = paper_table()
    few = t["setting"] == "few-shot"
    noisy = t["setting"] == "noisy"
    assert set(t.loc[few, "n_train"]) == {20.0, 100.0, 1000.0}
    assert t.loc[~few, "n_train"].isna().all()
    assert set(t.loc[noisy, "noise_level"]) == {0.3, 0.5, 0.7, 0.9}
    assert set(t.loc[noisy, "noise_family"]) == {"temperature"} and set(t.loc[~noisy, "noise_family"]) == {"none"}
    assert t.loc[~noisy, "noise_level"].isna().all()
    assert t.loc[noisy | (t["setting"] == "full"), "std"].isna().all()
    assert t.loc[few | (t["setting"] == "transfer"), "std"].notna().all()
    assert t.loc[noisy, "note"].str.contains("Sec. 5.2").all()


@pytest.mark.parametrize(
    "key,mean,std",
    [
        (dict(setting="few-shot", task="sst2", n_train=20, method="ce"), 85.9, 2.1),
        (dict(setting="few-shot", task="qnli", n_train=20, method="ce-scl"), 75.7, 4.8),
        (dict(setting="few-shot", task="mnli", n_train=1000, method="ce-scl"), 81.5, 0.2),
        (dict(setting="few-shot", task="mnli", n_train=100, method="ce"), 59.2, 2.1),
        (dict(setting="noisy", task="mnli", noise_level=0.7, method="ce-scl"), 62.3, None),
        (dict(setting="noisy", task="qnli", noise_level=0.9, method="ce"), 75.9, None),
        (dict(setting="noisy", task="sst2", noise_level=0.3, method="ce-scl"), 92.6, None),
        (dict(setting="full", task="cola", method="ce"), 86.4, None),
        (dict(setting="full", task="mnli", method="ce-scl"), 89.9, None),
        (dict(setting="transfer", task="amazon2", method="ce"), 87.4, 6.4),
        (dict(setting="transfer", task="yelp2", method="ce-scl"), 91.2, 0.4),
    ],
)
def test_spot_values(key, mean, std):
    row = one(paper_table(), **key)
    assert row["mean"] == pytest.approx(mean)
    if std is None:
        assert math.isnan(row["std"])
    else:
        assert row["std"] == pytest.approx(std)


def test_match_paper_few_shot_and_noisy():
    few = match_paper({"task": "sst2", "n_train": 100, "noise_family": "none",
                       "temperature": float("nan")})
    assert len(few) == 2 and set(few["setting"]) == {"few-shot"}
    assert one(few, method="ce-scl")["mean"] == pytest.approx(92.8)

    # a compare_methods-style row: n_train is ignored for the noisy table
    noisy = match_paper({"task": "mnli", "model": "roberta-large", "n_train": 100,
                         "noise_family": "temperature", "noise_level": 0.5})
    assert len(noisy) == 2 and set(noisy["setting"]) == {"noisy"}
    assert one(noisy, method="ce")["mean"] == pytest.approx(55.3)
    assert one(noisy, method="ce-scl")["mean"] == pytest.approx(62.1)


def test_match_paper_other_settings_and_misses():
    assert set(match_paper({"task": "cola", "setting": "full"})["mean"]) == {86.4, 87.3}
    assert set(match_paper({"task": "yelp2", "n_train": 20})["setting"]) == {"transfer"}
    assert set(match_paper({"task": "rte"})["setting"]) == {"full"}
    assert match_paper({"task": "sst2", "n_train": 500}).empty
    assert match_paper({"task": "sst2", "noise_family": "uniform", "temperature": 0.5}).empty
    assert match_paper({"task": "sst2", "temperature": 0.4}).empty
    assert len(match_paper({"task": "sst2", "noise_family": "temperature", "temperature": 0.3})) == 2
    with pytest.raises(ValueError, match="task"):
        match_paper({"n_train": 20})
    with pytest.raises(ValueError, match="setting"):
        match_paper({"task": "sst2", "setting": "zero-shot"})

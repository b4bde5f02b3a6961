"""Tests for rater tables: reading CSV and Parquet, attaching each example's rater labels as class ids in
rater order (the annotator family's contract), and one DataError line for each kind of bad table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.data.raters import ABSTAIN, RATINGS_COLUMN, attach_ratings, read_rater_table
from noisebench.errors import DataError

LABEL_IDS = {"ant": 0, "bee": 1, "cat": 2}
FRAME = pd.DataFrame({"id": ["e1", "e2", "e3"], "text": ["x", "y", "z"], "label": [0, 2, 1]})
CSV = """id,rater,label
e2,r2,cat
e1,r3,bee
e1,r1,ant
e2,r1,
e1,r2,cat
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_csv_table_gives_each_example_its_class_ids_in_rater_order_with_abstentions_and_no_raters(tmp_path: Path) -> None:
    table = read_rater_table(_write(tmp_path, "r.csv", CSV))
    rated = attach_ratings(FRAME, table, LABEL_IDS, where="r.csv")
    assert rated[RATINGS_COLUMN].tolist() == [(0, 2, 1), (ABSTAIN, 2), ()]
    pd.testing.assert_frame_equal(rated.drop(columns=RATINGS_COLUMN), FRAME)
    assert RATINGS_COLUMN not in FRAME.columns  # the caller's frame is left alone


def test_the_order_of_the_tables_rows_does_not_matter(tmp_path: Path) -> None:
    table = read_rater_table(_write(tmp_path, "r.csv", CSV))
    shuffled = table.sample(frac=1.0, random_state=3)
    first = attach_ratings(FRAME, table, LABEL_IDS, where="t")[RATINGS_COLUMN]
    assert attach_ratings(FRAME, shuffled, LABEL_IDS, where="t")[RATINGS_COLUMN].equals(first)


def test_numeric_rater_ids_sort_as_numbers() -> None:
    table = pd.DataFrame({"id": ["e1"] * 3, "rater": [10, 9, 2], "label": ["cat", "bee", "ant"]})
    assert attach_ratings(FRAME, table, LABEL_IDS, where="t")[RATINGS_COLUMN].iloc[0] == (0, 1, 2)


def test_integer_labels_and_ids_match_through_their_string_form(tmp_path: Path) -> None:
    """A CSV reads every cell as text; a Parquet int column with nulls comes back as floats."""
    frame = pd.DataFrame({"id": [7, 8], "label": [1, 0]})
    csv = read_rater_table(_write(tmp_path, "r.csv", "id,rater,label\n7,a,1\n7,b,\n8,a,0\n"))
    assert attach_ratings(frame, csv, {0: 0, 1: 1}, where="t")[RATINGS_COLUMN].tolist() == [(1, ABSTAIN), (0,)]
    path = tmp_path / "r.parquet"
    pd.DataFrame({"id": [7, 7, 8], "rater": ["a", "b", "a"], "label": [1.0, np.nan, 0.0]}).to_parquet(path)
    parquet = read_rater_table(path)
    assert attach_ratings(frame, parquet, {0: 0, 1: 1}, where="t")[RATINGS_COLUMN].tolist() == [(1, ABSTAIN), (0,)]
    assert attach_ratings(frame, parquet, {"0": 0, "1": 1}, where="t")[RATINGS_COLUMN].tolist() == [(1, ABSTAIN), (0,)]


def test_a_parquet_table_reads_like_the_csv(tmp_path: Path) -> None:
    path = tmp_path / "r.parquet"
    read_rater_table(_write(tmp_path, "r.csv", CSV)).assign(extra=1).to_parquet(path)
    table = read_rater_table(path)
    assert list(table.columns) == ["id", "rater", "label"]
    assert attach_ratings(FRAME, table, LABEL_IDS, where="t")[RATINGS_COLUMN].tolist() == [(0, 2, 1), (ABSTAIN, 2), ()]


def _one_line_data_error(call, match: str) -> None:
    with pytest.raises(DataError, match=match) as info:
        call()
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "name, text, match",
    [
        ("r.csv", "id,who,label\ne1,r1,ant\n", r"r\.csv has no column rater .*its columns: id, who, label"),
        ("r.csv", "", r"rater table .*r\.csv is empty"),
        ("r.csv", "id,rater,label\n", r"rater table .*r\.csv is empty"),
        ("r.csv", "id,rater,label\ne1,r1,ant\ne2,r1,bee\ne1,r1,cat\n", r"r\.csv has 1 duplicate \(id, rater\) pairs \(e\.g\. example 'e1' by rater 'r1'\)"),
        ("r.csv", "id,rater,label\n,r1,ant\n", r"r\.csv: 1 rows have no id or rater"),
        ("r.parquet", "not parquet", r"cannot read rater table .*r\.parquet"),
        ("r.json", "[]", r"r\.json: expected a \.csv or \.parquet file"),
    ],
)
def test_a_bad_table_file_is_one_data_error_line_naming_the_file(tmp_path: Path, name: str, text: str, match: str) -> None:
    path = _write(tmp_path, name, text)
    _one_line_data_error(lambda: read_rater_table(path), match)


def test_a_missing_file_is_a_data_error(tmp_path: Path) -> None:
    _one_line_data_error(lambda: read_rater_table(tmp_path / "none.csv"), r"cannot read rater table .*none\.csv")


def test_a_table_naming_unknown_examples_is_a_data_error_counting_them() -> None:
    table = pd.DataFrame({"id": ["e1", "zz", "yy", "zz"], "rater": ["a", "a", "a", "b"], "label": ["ant"] * 4})
    _one_line_data_error(lambda: attach_ratings(FRAME, table, LABEL_IDS, where="r.csv"), r"rater table r\.csv names 2 unknown examples \(e\.g\. 'zz'\)")


def test_an_unknown_label_is_a_data_error_naming_it_and_the_known_labels() -> None:
    table = pd.DataFrame({"id": ["e1", "e2"], "rater": ["a", "a"], "label": ["ant", "dog"]})
    _one_line_data_error(lambda: attach_ratings(FRAME, table, LABEL_IDS, where="r.csv"), r"r\.csv: label 'dog' is not one of the task's labels \(ant, bee, cat\)")


def test_attach_checks_a_table_it_did_not_read() -> None:
    table = pd.DataFrame({"id": ["e1", "e1"], "rater": ["a", "a"], "label": ["ant", "bee"]})
    _one_line_data_error(lambda: attach_ratings(FRAME, table, LABEL_IDS, where="mem"), r"mem has 1 duplicate")
    _one_line_data_error(lambda: attach_ratings(FRAME, table.drop(columns="label"), LABEL_IDS, where="mem"), r"no column label")

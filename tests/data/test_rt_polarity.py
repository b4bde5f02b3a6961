"""Tests for the Rotten Tomatoes corpus loader on a small synthetic bz2 CSV."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd
import pytest

from noisebench.data.rt_polarity import LABEL_NAMES, load_rt_polarity
from noisebench.errors import DataError

ROWS = [
    # category, text, movie_name, has_plot_and_reviews
    ("plot", "A boy meets a dragon.", "dragon", "True"),
    ("fresh", "A delight from start to finish.", "dragon", "True"),
    ("rotten", "Tedious and overlong.", "dragon", "True"),
    ("fresh", "A delight from start to finish.", "other", "False"),  # duplicate, same label
    ("fresh", "  Sharp, funny, humane.  ", "other", "False"),  # surrounding spaces
    ("fresh", "Sharp, funny, humane.", "third", "False"),  # duplicate after stripping
    ("fresh", "Love it or hate it.", "other", "False"),  # conflicting labels: dropped
    ("rotten", "Love it or hate it.", "third", "False"),
    ("rotten", "   ", "third", "False"),  # blank text
    ("rotten", "", "third", "False"),  # empty text
    ("plot", "Tedious and overlong.", "third", "True"),  # plot row sharing a review's text: not a conflict
    ("rotten", "NA", "third", "False"),  # must stay a string, not NaN
    ("fresh", "Quietly devastating.", "fourth", "True"),
    ("rotten", "A mess, \"but\" an honest one.", "fourth", "True"),
]

EXPECTED = {  # text -> label (rotten=0, fresh=1), worked out by hand from ROWS
    "A delight from start to finish.": 1,
    "Tedious and overlong.": 0,
    "Sharp, funny, humane.": 1,
    "NA": 0,
    "Quietly devastating.": 1,
    'A mess, "but" an honest one.': 0,
}


def _write(rows, path: Path) -> Path:
    frame = pd.DataFrame(rows, columns=["category", "text", "movie_name", "has_plot_and_reviews"])
    frame.to_csv(path, index=False, compression="bz2")
    return path


@pytest.fixture()
def corpus(tmp_path: Path) -> pd.DataFrame:
    return load_rt_polarity(_write(ROWS, tmp_path / "corpus.csv.bz2"))


def test_loader_keeps_unique_nonconflicting_fresh_and_rotten_texts(corpus: pd.DataFrame) -> None:
    assert list(corpus.columns) == ["id", "text", "text_pair", "label"]
    assert dict(zip(corpus["text"], corpus["label"])) == EXPECTED
    assert len(corpus) == len(EXPECTED)  # each text kept once


def test_loader_drops_plot_rows_conflicting_texts_and_blank_texts(corpus: pd.DataFrame) -> None:
    texts = set(corpus["text"])
    assert "A boy meets a dragon." not in texts
    assert "Love it or hate it." not in texts
    assert all(t.strip() == t and t for t in texts)


def test_labels_are_rotten_zero_fresh_one(corpus: pd.DataFrame) -> None:
    assert LABEL_NAMES == ("rotten", "fresh")
    assert corpus["label"].dtype.kind == "i"
    assert corpus.loc[corpus["text"] == "Quietly devastating.", "label"].item() == 1
    assert corpus.loc[corpus["text"] == "Tedious and overlong.", "label"].item() == 0


def test_ids_are_unique_content_hashes_and_text_pair_is_empty(corpus: pd.DataFrame) -> None:
    assert corpus["id"].is_unique
    for row in corpus.itertuples():
        assert row.id == "rt-" + hashlib.sha1(row.text.encode("utf-8")).hexdigest()[:12]
    assert (corpus["text_pair"] == "").all()


def test_ids_do_not_depend_on_row_order(tmp_path: Path, corpus: pd.DataFrame) -> None:
    shuffled = pd.DataFrame(ROWS).sample(frac=1.0, random_state=3).itertuples(index=False)
    reordered = load_rt_polarity(_write(list(shuffled), tmp_path / "shuffled.csv.bz2"))
    assert dict(zip(reordered["id"], reordered["text"])) == dict(zip(corpus["id"], corpus["text"]))
    assert dict(zip(reordered["id"], reordered["label"])) == dict(zip(corpus["id"], corpus["label"]))
    pd.testing.assert_frame_equal(reordered, corpus)  # sorted by id, so even the row order matches


def test_unreadable_corpus_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="Rotten Tomatoes"):
        load_rt_polarity(tmp_path / "missing.csv.bz2")
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n")
    with pytest.raises(DataError):
        load_rt_polarity(bad)


def test_a_truncated_bz2_corpus_is_a_data_error_not_an_eof_taken_for_ctrl_d(tmp_path: Path) -> None:
    path = _write(ROWS * 50, tmp_path / "corpus.csv.bz2")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match="EOFError"):
        load_rt_polarity(path)

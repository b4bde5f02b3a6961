"""Load GLUE tasks from the canonical TSV layout or the Hugging Face hub into one raw-split schema.

Every split is a DataFrame with exactly the columns ``id`` (str, unique within the split),
``text`` (str), ``text_pair`` (str, ``""`` for single-sentence tasks) and ``label``
(int64 in ``0..K-1``, the same ids as the hub's ``ClassLabel``). Splits are keyed ``"train"``
and ``"dev"``; ids look like ``"train-17"`` (the 0-based data row in the file, or the hub ``idx``).

Files are parsed without any quote handling (GLUE text contains bare quotes), as UTF-8 with an
optional BOM (MRPC has one). Any malformed row raises :class:`DataError` naming the file and
its 1-based line number.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from noisebench.errors import DataError

__all__ = ["COLUMNS", "GLUE_TASKS", "GlueSpec", "DataError", "load_glue_dir", "load_glue_hub"]

COLUMNS: tuple[str, ...] = ("id", "text", "text_pair", "label")
HUB_DATASET = "nyu-mll/glue"

# CoLA files have no header; these are the names of its four positional columns.
_COLA_COLUMNS: tuple[str, ...] = ("source", "label", "original_mark", "sentence")


@dataclass(frozen=True)
class GlueSpec:
    """Where a GLUE task lives (files and hub config) and how its columns and labels map."""

    name: str
    dir_name: str
    hub_config: str
    is_pair: bool
    label_names: tuple[str, ...]
    tsv_text_column: str
    tsv_pair_column: str | None
    tsv_label_column: str
    tsv_label_is_id: bool  # True: the file stores the integer id; False: the label name
    hub_text_column: str
    hub_pair_column: str | None
    train_file: str = "train.tsv"
    dev_file: str = "dev.tsv"
    hub_dev_split: str = "validation"
    tsv_header: tuple[str, ...] | None = None  # fixed column names for header-less files

    @property
    def num_labels(self) -> int:
        return len(self.label_names)


GLUE_TASKS: dict[str, GlueSpec] = {
    "sst2": GlueSpec(
        name="sst2",
        dir_name="SST-2",
        hub_config="sst2",
        is_pair=False,
        label_names=("negative", "positive"),
        tsv_text_column="sentence",
        tsv_pair_column=None,
        tsv_label_column="label",
        tsv_label_is_id=True,
        hub_text_column="sentence",
        hub_pair_column=None,
    ),
    "cola": GlueSpec(
        name="cola",
        dir_name="CoLA",
        hub_config="cola",
        is_pair=False,
        label_names=("unacceptable", "acceptable"),
        tsv_text_column="sentence",
        tsv_pair_column=None,
        tsv_label_column="label",
        tsv_label_is_id=True,
        hub_text_column="sentence",
        hub_pair_column=None,
        tsv_header=_COLA_COLUMNS,
    ),
    "mrpc": GlueSpec(
        name="mrpc",
        dir_name="MRPC",
        hub_config="mrpc",
        is_pair=True,
        label_names=("not_equivalent", "equivalent"),
        tsv_text_column="#1 String",
        tsv_pair_column="#2 String",
        tsv_label_column="Quality",
        tsv_label_is_id=True,
        hub_text_column="sentence1",
        hub_pair_column="sentence2",
    ),
    "rte": GlueSpec(
        name="rte",
        dir_name="RTE",
        hub_config="rte",
        is_pair=True,
        label_names=("entailment", "not_entailment"),
        tsv_text_column="sentence1",
        tsv_pair_column="sentence2",
        tsv_label_column="label",
        tsv_label_is_id=False,
        hub_text_column="sentence1",
        hub_pair_column="sentence2",
    ),
    "qnli": GlueSpec(
        name="qnli",
        dir_name="QNLI",
        hub_config="qnli",
        is_pair=True,
        label_names=("entailment", "not_entailment"),
        tsv_text_column="question",
        tsv_pair_column="sentence",
        tsv_label_column="label",
        tsv_label_is_id=False,
        hub_text_column="question",
        hub_pair_column="sentence",
    ),
    "mnli": GlueSpec(
        name="mnli",
        dir_name="MNLI",
        hub_config="mnli",
        is_pair=True,
        label_names=("entailment", "neutral", "contradiction"),
        tsv_text_column="sentence1",
        tsv_pair_column="sentence2",
        tsv_label_column="gold_label",
        tsv_label_is_id=False,
        hub_text_column="premise",
        hub_pair_column="hypothesis",
        dev_file="dev_matched.tsv",
        hub_dev_split="validation_matched",
    ),
}


def get_spec(task: str) -> GlueSpec:
    """Return the spec of ``task`` (case-insensitive) or raise DataError listing known tasks."""
    spec = GLUE_TASKS.get(task.lower()) if isinstance(task, str) else None
    if spec is None:
        known = ", ".join(sorted(GLUE_TASKS))
        raise DataError(f"unknown GLUE task {task!r}; known tasks: {known}")
    return spec


# --------------------------------------------------------------------------- local TSV files


def load_glue_dir(
    task: str, data_dir: Path, *, pool_from_dev: bool = False
) -> dict[str, pd.DataFrame]:
    """Load ``task`` from a GLUE root (``data_dir/SST-2/train.tsv``) or from its task folder.

    Returns ``{"train": df, "dev": df}``. A missing train file raises DataError unless
    ``pool_from_dev`` is true, in which case the result holds only ``"dev"`` (the caller carves
    its pool from dev). When the train file exists it is always returned.
    """
    spec = get_spec(task)
    task_dir = _task_dir(spec, Path(data_dir))
    dev_path = task_dir / spec.dev_file
    train_path = task_dir / spec.train_file
    if not dev_path.is_file():
        raise DataError(f"GLUE {spec.name} dev file not found: {dev_path}")
    splits: dict[str, pd.DataFrame] = {}
    if train_path.is_file():
        splits["train"] = read_glue_tsv(spec, train_path, split="train")
    elif not pool_from_dev:
        raise DataError(
            f"GLUE {spec.name} train file not found: {train_path}; "
            "pass pool_from_dev=True (--pool-from-dev) to carve the training pool from dev"
        )
    splits["dev"] = read_glue_tsv(spec, dev_path, split="dev")
    return splits


def _task_dir(spec: GlueSpec, data_dir: Path) -> Path:
    """Resolve the task folder: ``data_dir/<dir_name>``, or ``data_dir`` if it holds the files."""
    nested = data_dir / spec.dir_name
    if nested.is_dir():
        return nested
    if (data_dir / spec.dev_file).is_file() or (data_dir / spec.train_file).is_file():
        return data_dir
    return nested


def read_glue_tsv(spec: GlueSpec, path: Path, *, split: str) -> pd.DataFrame:
    """Parse one canonical GLUE TSV file of ``spec``'s task into the raw-split schema."""
    lines = _read_lines(path)
    if spec.tsv_header is not None:
        header, first_data_line, body = spec.tsv_header, 1, lines
    else:
        if not lines:
            raise DataError(f"GLUE file {path} is empty (expected a header line)")
        header, first_data_line, body = tuple(lines[0].split("\t")), 2, lines[1:]
    positions = _column_positions(spec, header, path)
    ids: list[str] = []
    texts: list[str] = []
    pairs: list[str] = []
    labels: list[int] = []
    for row, line in enumerate(body):
        lineno = first_data_line + row
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataError(
                f"GLUE file {path} line {lineno}: expected {len(header)} tab-separated fields, "
                f"got {len(fields)}"
            )
        where = f"GLUE file {path} line {lineno}"
        texts.append(_clean_text(fields[positions[0]], where, spec.tsv_text_column))
        if positions[1] is None:
            pairs.append("")
        else:
            pairs.append(_clean_text(fields[positions[1]], where, spec.tsv_pair_column or ""))
        labels.append(_parse_label(spec, fields[positions[2]], where))
        ids.append(f"{split}-{row}")
    return _frame(ids, texts, pairs, labels)


def _read_lines(path: Path) -> list[str]:
    """Read ``path`` as UTF-8 (BOM allowed); split on newlines only, dropping a final empty line."""
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"GLUE file {path} is not valid UTF-8: {exc}") from exc
    except OSError as exc:
        raise DataError(f"could not read GLUE file {path}: {exc}") from exc
    # str.splitlines would also split on \x0b, \x1c, \u2028 ..., which can occur inside GLUE text.
    lines = [line.removesuffix("\r") for line in content.split("\n")]
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _column_positions(
    spec: GlueSpec, header: Sequence[str], path: Path
) -> tuple[int, int | None, int]:
    """Find the text, pair and label columns of ``spec`` in ``header`` by name."""
    names = [name.strip() for name in header]
    wanted = [spec.tsv_text_column, spec.tsv_pair_column, spec.tsv_label_column]
    missing = [name for name in wanted if name is not None and name not in names]
    if missing:
        raise DataError(
            f"GLUE file {path} line 1: header lacks column(s) {', '.join(missing)} "
            f"(found: {', '.join(names)})"
        )
    text_pos = names.index(spec.tsv_text_column)
    pair_pos = names.index(spec.tsv_pair_column) if spec.tsv_pair_column is not None else None
    return text_pos, pair_pos, names.index(spec.tsv_label_column)


def _clean_text(raw: str, where: str, column: str) -> str:
    """Strip surrounding whitespace; an empty result is an error."""
    text = raw.strip()
    if not text:
        raise DataError(f"{where}: empty text in column {column!r}")
    return text


def _parse_label(spec: GlueSpec, raw: str, where: str) -> int:
    """Map a file label (an integer id or a label name, per ``spec``) to its id in ``0..K-1``."""
    value = raw.strip()
    if spec.tsv_label_is_id:
        if value.isascii() and value.isdigit() and int(value) < spec.num_labels:
            return int(value)
        expected = ", ".join(str(i) for i in range(spec.num_labels))
    else:
        if value in spec.label_names:
            return spec.label_names.index(value)
        expected = ", ".join(spec.label_names)
    raise DataError(
        f"{where}: unknown label {value!r} for {spec.name} (expected one of {expected})"
    )


def _frame(ids: list[str], texts: list[str], pairs: list[str], labels: list[int]) -> pd.DataFrame:
    """Assemble the raw-split DataFrame with the canonical column order and dtypes."""
    return pd.DataFrame(
        {
            "id": pd.Series(ids, dtype=object),
            "text": pd.Series(texts, dtype=object),
            "text_pair": pd.Series(pairs, dtype=object),
            "label": pd.Series(labels, dtype="int64"),
        },
        columns=list(COLUMNS),
    )


# --------------------------------------------------------------------------- Hugging Face hub


def load_glue_hub(task: str) -> dict[str, pd.DataFrame]:
    """Load ``task`` from the hub dataset ``nyu-mll/glue`` as ``{"train": df, "dev": df}``."""
    spec = get_spec(task)
    try:
        import datasets

        dataset_dict = datasets.load_dataset(HUB_DATASET, spec.hub_config)
    except Exception as exc:  # network, auth, cache and hub-side failures all look alike here
        raise DataError(
            f"could not load GLUE task {spec.name} from the hub ({type(exc).__name__}: {exc}); "
            "pass --data-dir or set NOISEBENCH_GLUE_DIR"
        ) from exc
    train = _hub_split(spec, dataset_dict, "train")
    dev = _hub_split(spec, dataset_dict, spec.hub_dev_split)
    return {
        "train": hub_split_to_frame(spec, train, split="train"),
        "dev": hub_split_to_frame(spec, dev, split="dev"),
    }


def _hub_split(spec: GlueSpec, dataset_dict: Any, split: str) -> Any:
    """Return ``dataset_dict[split]`` or raise DataError naming the available splits."""
    try:
        return dataset_dict[split]
    except (KeyError, TypeError) as exc:
        available = ", ".join(map(str, getattr(dataset_dict, "keys", list)()))
        raise DataError(
            f"hub dataset {HUB_DATASET}/{spec.hub_config} has no split {split!r} "
            f"(found: {available})"
        ) from exc


def hub_split_to_frame(spec: GlueSpec, dataset: Any, *, split: str) -> pd.DataFrame:
    """Map one hub split (a ``datasets.Dataset``) of ``spec``'s task into the raw-split schema."""
    where = f"hub {HUB_DATASET}/{spec.hub_config} split {split!r}"
    _check_hub_columns(spec, dataset, where)
    _check_hub_label_names(spec, dataset, where)
    n_rows = len(dataset)
    idx = list(dataset["idx"]) if "idx" in dataset.column_names else list(range(n_rows))
    raw_texts = list(dataset[spec.hub_text_column])
    raw_pairs = list(dataset[spec.hub_pair_column]) if spec.hub_pair_column else [""] * n_rows
    raw_labels = list(dataset["label"])
    ids = [f"{split}-{i}" for i in idx]
    if len(set(ids)) != len(ids):
        raise DataError(f"{where}: duplicate idx values")
    texts = [
        _clean_text(str(text), f"{where} idx {i}", spec.hub_text_column)
        for text, i in zip(raw_texts, idx)
    ]
    pairs = raw_pairs
    if spec.hub_pair_column:
        pairs = [
            _clean_text(str(pair), f"{where} idx {i}", spec.hub_pair_column)
            for pair, i in zip(raw_pairs, idx)
        ]
    labels = [
        _check_hub_label(spec, label, f"{where} idx {i}") for label, i in zip(raw_labels, idx)
    ]
    return _frame(ids, texts, pairs, labels)


def _check_hub_columns(spec: GlueSpec, dataset: Any, where: str) -> None:
    """Raise DataError if the hub split lacks the text, pair or label column."""
    wanted = [spec.hub_text_column, spec.hub_pair_column, "label"]
    missing = [name for name in wanted if name is not None and name not in dataset.column_names]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {', '.join(missing)} "
            f"(found: {', '.join(dataset.column_names)})"
        )


def _check_hub_label_names(spec: GlueSpec, dataset: Any, where: str) -> None:
    """If the label feature is a ClassLabel, its names must equal ``spec.label_names``."""
    names = getattr(dataset.features.get("label"), "names", None)
    if names is not None and tuple(names) != spec.label_names:
        raise DataError(
            f"{where}: label names {tuple(names)} differ from expected {spec.label_names}"
        )


def _check_hub_label(spec: GlueSpec, label: Any, where: str) -> int:
    """Return ``label`` as an int in ``0..K-1`` or raise DataError."""
    valid = isinstance(label, numbers.Integral) and not isinstance(label, bool)
    if not valid or not 0 <= int(label) < spec.num_labels:
        raise DataError(f"{where}: label {label!r} outside 0..{spec.num_labels - 1}")
    return int(label)

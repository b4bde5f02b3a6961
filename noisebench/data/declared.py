"""Tasks declared in YAML: a user's data files or a Hugging Face dataset become a registered task.

A tasks file is a list of entries (see :class:`TaskEntry`; the README's "Extending" section has an
example)::

    - name: mine                          # letters, digits, '.', '_', '-'
      files: {train: mine.csv, test: mine-test.csv}   # CSV, TSV, JSONL or Parquet; dev, test optional
      text: sentence                      # column names
      text_pair: null                     # a second column for sentence-pair tasks
      label: category                     # the clean (verified) label
      noisy_label: null                   # optional: the dataset's own noisy label column (observed noise)
      label_names: [bad, neutral, good]   # optional: else a ClassLabel's names, else the sorted values
      id: null                            # optional id column; else ids are <split>-<row>
      raters: mine-raters.csv             # optional rater table (id, rater, label): annotator noise
    - name: ag-news-local
      hub: ./ag_news_saved                # a hub id, or a folder written by save_to_disk
      config: null
      splits: {train: train, test: test}  # role -> the dataset's split name
      text: text
      label: label

Paths are relative to the tasks file. Labels match ``label_names`` by name, else as a 0-based class
index. Missing dev/test splits are carved from train by :func:`noisebench.data.splits.fixed_splits`.
Registering a file exports its path in ``NOISEBENCH_TASKS_FILES`` so spawned grid workers register it too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from noisebench.data.hub import load_hub_splits
from noisebench.data.splits import fixed_splits
from noisebench.data.tables import OBSERVED_COLUMN, read_table, require_columns
from noisebench.errors import ConfigError, DataError
from noisebench.schema import describe_error
from noisebench.yamlfile import line_of, read_yaml

TASKS_FILES_ENV = "NOISEBENCH_TASKS_FILES"
ROLES = ("train", "dev", "test")
Role = Literal["train", "dev", "test"]
TASK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
DEFAULT_HUB_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


def _task_name(value: Any) -> Any:
    if isinstance(value, str) and not TASK_NAME.match(value):
        raise ValueError(f"a task name is letters, digits, '.', '_' and '-' (it names folders), got {value!r}")
    return value


def _names(value: Any) -> Any:
    """Label names may be written as numbers (star ratings): they are names all the same."""
    return tuple(str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for v in value) if isinstance(value, list) else value


Text = Annotated[str, Field(min_length=1)]


class TaskEntry(BaseModel):
    """One declared task: where its data is, which columns hold text and labels, how it is shown."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    name: Annotated[Text, BeforeValidator(_task_name)]
    description: str = ""
    files: dict[Role, Text] | None = None
    hub: Text | None = None
    config: Text | None = None
    splits: dict[Role, Text] | None = None
    text: Text
    text_pair: Text | None = None
    label: Text
    noisy_label: Text | None = None
    id: Text | None = None
    label_names: Annotated[tuple[Text, ...], BeforeValidator(_names), Field(min_length=2)] | None = None
    raters: Text | None = None
    display_name: Text | None = None
    paper_task: Text | None = None
    paper_note: Text | None = None

    @model_validator(mode="after")
    def _one_source(self) -> TaskEntry:
        if (self.files is None) == (self.hub is None):
            raise ValueError("give exactly one of files: {train: ..., dev: ..., test: ...} or hub: <id or save_to_disk folder>")
        if self.files is not None and "train" not in self.files:
            raise ValueError("files: needs a train file (dev and test are optional)")
        for key in ("config", "splits"):
            if self.files is not None and getattr(self, key) is not None:
                raise ValueError(f"{key}: applies to hub datasets only")
        if self.noisy_label is not None and self.noisy_label == self.label:
            raise ValueError(f"noisy_label: names the clean label column {self.label!r}; give the column of the dataset's own noisy labels")
        if self.label_names is not None and len(set(self.label_names)) < len(self.label_names):
            raise ValueError(f"label_names: a name is listed twice: {list(self.label_names)}")
        return self

    @property
    def is_pair(self) -> bool:
        return self.text_pair is not None

    def source(self) -> str:
        if self.hub is not None:
            return f"hub {self.hub}" + (f" ({self.config})" if self.config else "")
        return "files " + ", ".join(f"{role} {Path(path).name}" for role, path in self.files.items())


def read_tasks_file(path: Path | str) -> list[TaskEntry]:
    """The entries of a tasks file, with paths made absolute; every problem is one ConfigError with its line."""
    path = Path(path)
    root, data = read_yaml(path, what="tasks file")
    if not isinstance(data, list) or not data:
        raise ConfigError(f"{path} line {line_of(root, ())}: a tasks file is a non-empty list of task entries")
    entries: list[TaskEntry] = []
    for i, item in enumerate(data):
        try:
            entry = TaskEntry.model_validate(item)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = f"[{i}]" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
            raise ConfigError(f"{path} line {line_of(root, (i, *error['loc']))}: " + describe_error({**error, "loc": (where,)})) from None
        if entry.name in (e.name for e in entries):
            raise ConfigError(f"{path} line {line_of(root, (i, 'name'))}: task {entry.name!r} is declared twice")
        entries.append(_absolute(entry, path.parent))
    return entries


def _absolute(entry: TaskEntry, base: Path) -> TaskEntry:
    """``entry`` with its file paths (and a hub folder that exists there) relative to ``base`` made absolute."""
    def here(value: str) -> str:
        return str((base / Path(value).expanduser()).resolve())

    update: dict[str, Any] = {}
    if entry.files is not None:
        update["files"] = {role: here(p) for role, p in entry.files.items()}
    if entry.raters is not None:
        update["raters"] = here(entry.raters)
    if entry.hub is not None and (base / entry.hub).is_dir():
        update["hub"] = here(entry.hub)
    return entry.model_copy(update=update)


@dataclass(frozen=True)
class DeclaredLoader:
    """Builds the fixed splits of a declared task (compares by its entry, so a file registered twice is one task)."""

    entry: TaskEntry

    def __call__(self, **_: object):
        from noisebench.data.tasks import TaskData

        entry = self.entry
        raw, found_names = _raw_splits(entry)
        names, label_ids = _label_ids(entry, raw, found_names)
        frames = {role: _standard(entry, role, frame, label_ids) for role, frame in raw.items()}
        _check_unique_ids(entry, frames)
        if entry.raters is not None:
            frames = _with_ratings(entry, frames, label_ids)
        pool, weak_train, dev, test = fixed_splits(
            frames["train"], frames.get("dev"), frames.get("test"), what=f"task {entry.name}", label_names=names
        )
        return TaskData(entry.name, names, entry.is_pair, pool, weak_train, dev, test)


def _raw_splits(entry: TaskEntry) -> tuple[dict[str, pd.DataFrame], tuple[str, ...] | None]:
    """The splits as the source has them, and the label names a ClassLabel feature gives (None if none)."""
    where = f"task {entry.name}"
    if entry.files is not None:
        return {role: read_table(path, what=f"{where}: {role} file") for role, path in entry.files.items()}, None
    wanted = {**DEFAULT_HUB_SPLITS, **(entry.splits or {})}
    found = load_hub_splits(entry.hub, entry.config, wanted, label=entry.label, where=where)
    names = next((split.label_names for split in found.values() if split.label_names), None)
    return {role: split.frame for role, split in found.items()}, names


def _label_ids(entry: TaskEntry, raw: Mapping[str, pd.DataFrame], found_names: tuple[str, ...] | None) -> tuple[tuple[str, ...], dict[Any, int]]:
    """The class names and a map from every raw label value (and its text) to its class id."""
    where = f"task {entry.name}"
    label_columns = [entry.label, *([entry.noisy_label] if entry.noisy_label else [])]
    for role, frame in raw.items():
        columns = {
            "text": entry.text, "label": entry.label, **({"noisy_label": entry.noisy_label} if entry.noisy_label else {}),
            **({"text_pair": entry.text_pair} if entry.text_pair else {}), **({"id": entry.id} if entry.id else {}),
        }
        require_columns(frame, columns, where=f"{where}: {role} split")
        for column in label_columns:
            missing = frame[column].isna()
            if missing.any():
                raise DataError(f"{where}: {role} split row {int(np.flatnonzero(missing)[0])} has no label (column {column!r})")
    column_values = {column: pd.unique(pd.concat([frame[column] for frame in raw.values()], ignore_index=True)) for column in label_columns}
    values = pd.unique(np.concatenate(list(column_values.values())))
    if entry.label_names and found_names and entry.label_names != found_names and set(entry.label_names) == set(found_names):
        raise DataError(f"{where}: label_names {list(entry.label_names)} list the dataset's class names {list(found_names)} in another order")
    names = entry.label_names or found_names
    if names is None:
        ordered = sorted(values, key=lambda v: (isinstance(v, str), v if not isinstance(v, str) else 0, str(v)))
        names = tuple(_text(v) for v in ordered)
        label_ids: dict[Any, int] = {value: k for k, value in enumerate(ordered)}
    else:
        label_ids = {}
        for column, column_uniques in column_values.items():
            for value in column_uniques:
                label_ids[value] = _class_of(value, names, where=f"{where}: label column {column!r}")
    label_ids.update({_text(value): k for value, k in list(label_ids.items())})
    if len(set(label_ids.values())) < 2:
        raise DataError(f"{where}: the label column {entry.label!r} holds one class ({names[next(iter(label_ids.values()))]!r}); a task needs at least 2")
    return tuple(names), label_ids


def _text(value: Any) -> str:
    """A label value as a name: ``3.0`` read from a file is ``3``."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _class_of(value: Any, names: tuple[str, ...], *, where: str) -> int:
    """The class id of one raw label: its name's position, else the value itself as a 0-based index."""
    if _text(value) in names:
        return names.index(_text(value))
    try:
        index = float(value)
    except (TypeError, ValueError):
        index = float("nan")
    if index.is_integer() and 0 <= index < len(names):
        return int(index)
    raise DataError(f"{where}: value {value!r} is neither one of the label names {list(names)} nor a class index 0..{len(names) - 1}")


def _standard(entry: TaskEntry, role: str, frame: pd.DataFrame, label_ids: Mapping[Any, int]) -> pd.DataFrame:
    """One split as ``id, text, text_pair, label`` (label ids int64, text as str, ids unique str)."""
    where = f"task {entry.name}: {role} split"
    text = frame[entry.text]
    if text.isna().any():
        raise DataError(f"{where} row {int(np.flatnonzero(text.isna())[0])} has no text (column {entry.text!r})")
    pair = frame[entry.text_pair].fillna("").astype(str) if entry.text_pair else pd.Series("", index=frame.index)
    ids = frame[entry.id].map(_text) if entry.id else pd.Series([f"{role}-{i}" for i in range(len(frame))], index=frame.index)
    observed = {OBSERVED_COLUMN: frame[entry.noisy_label].map(label_ids).astype(np.int64).to_numpy()} if entry.noisy_label else {}
    return pd.DataFrame({
        "id": ids.to_numpy(dtype=object), "text": text.astype(str).to_numpy(dtype=object), "text_pair": pair.to_numpy(dtype=object),
        "label": frame[entry.label].map(label_ids).astype(np.int64).to_numpy(), **observed,
    })


def _check_unique_ids(entry: TaskEntry, frames: Mapping[str, pd.DataFrame]) -> None:
    ids = pd.concat([frame["id"] for frame in frames.values()], ignore_index=True)
    duplicated = ids[ids.duplicated()]
    if not duplicated.empty:
        raise DataError(f"task {entry.name}: id {duplicated.iloc[0]!r} occurs twice (ids must be unique across train, dev and test; column {entry.id!r})")


def _with_ratings(entry: TaskEntry, frames: dict[str, pd.DataFrame], label_ids: Mapping[Any, int]) -> dict[str, pd.DataFrame]:
    """Every split with its examples' rater labels (the annotator family's input)."""
    from noisebench.data.raters import attach_ratings, read_rater_table

    table = read_rater_table(Path(entry.raters))
    whole = pd.concat([frame.assign(_role=role) for role, frame in frames.items()], ignore_index=True)
    rated = attach_ratings(whole, table, label_ids, where=f"{entry.raters} (task {entry.name})")
    return {role: part.drop(columns="_role").reset_index(drop=True) for role, part in rated.groupby("_role", sort=False)}


def register_tasks_file(path: Path | str, *, export: bool = True, origin: str | None = None) -> list[str]:
    """Register every task of a tasks file; return their names. ``export`` adds the file to
    ``NOISEBENCH_TASKS_FILES`` so that worker processes started later register it too; ``origin`` is how
    ``noisebench list`` names where the tasks come from (default: the file)."""
    from noisebench.data.tasks import TaskSpec, register_task

    path = Path(path).expanduser().resolve()
    names = []
    for entry in read_tasks_file(path):
        spec = TaskSpec(
            entry.name, entry.label_names or (), entry.is_pair, entry.description or f"declared in {path.name}",
            DeclaredLoader(entry), source=f"{entry.source()} ({origin or f'tasks file {path}'})", display_name=entry.display_name,
            paper_task=entry.paper_task, paper_note=entry.paper_note,
        )
        try:
            register_task(spec)
        except ValueError:
            raise ConfigError(f"{path}: task {entry.name!r} is already registered (a built-in, a plugin or another tasks file); rename it") from None
        names.append(entry.name)
    if export:
        listed = os.environ.get(TASKS_FILES_ENV, "").split(os.pathsep)
        if str(path) not in listed:
            os.environ[TASKS_FILES_ENV] = os.pathsep.join(filter(None, [*listed, str(path)]))
    return names


def register_env_tasks_files() -> None:
    """Register the tasks files named in ``NOISEBENCH_TASKS_FILES`` (a grid worker's or a user's)."""
    for part in filter(None, os.environ.get(TASKS_FILES_ENV, "").split(os.pathsep)):
        register_tasks_file(part, export=False)

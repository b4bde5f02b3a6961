"""The fixed splits every task is cut into (pool, weak-train, dev, test), by one set of rules and one seed.

A task's source gives some of train / dev / test. What it lacks is carved, stratified by label with
:data:`SPLIT_SEED`, by the rules of the built-in tasks:

- train, dev and test given: used as they are;
- train and dev (no test): dev is halved into dev and test (the GLUE rule: test labels are hidden);
- train and test (no dev): :data:`DEV_FRACTION` of train becomes dev;
- train only: :data:`TEST_FRACTION` of it becomes test and :data:`DEV_FRACTION` dev (the vader rule).

Then :data:`WEAK_TRAIN_FRACTION` of what is left (at most :data:`WEAK_TRAIN_MAX`) becomes weak-train,
the clean examples a held-out weak labeller is fitted on, and the rest is the pool.
"""

from __future__ import annotations

import pandas as pd

from noisebench.errors import DataError

SPLIT_SEED = 0
"""Seed of every fixed split (dev halves, test carve-out, weak-train carve-out). Never varied."""

WEAK_TRAIN_FRACTION = 0.2
WEAK_TRAIN_MAX = 2000
TEST_FRACTION, DEV_FRACTION = 0.2, 0.1
"""Shares of a task's whole data held out as test and dev when its source has neither."""
MIN_TRAIN_PER_CLASS = 5
"""Examples of each class the train split needs: the weak-train carve-out (20%) then holds one of each."""
MIN_DEV_PER_CLASS = 2
"""Examples of each class the dev split needs: its validation and test halves then hold one of each."""


def stratified_split(frame: pd.DataFrame, size: int | float) -> tuple[pd.DataFrame, pd.DataFrame]:
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


def carve_weak_train(pool: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(pool, weak_train)``: WEAK_TRAIN_FRACTION of the pool, at most WEAK_TRAIN_MAX, set aside."""
    size = min(WEAK_TRAIN_MAX, int(round(WEAK_TRAIN_FRACTION * len(pool))))
    return stratified_split(pool, size)


def fixed_splits(
    train: pd.DataFrame, dev: pd.DataFrame | None, test: pd.DataFrame | None, *, what: str, label_names: tuple[str, ...]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(pool, weak_train, dev, test)`` from the splits a source gives, carving the missing ones (module doc)."""
    names = label_names
    if dev is None and test is None:
        require_per_class(train, f"{what}: the train split (test and dev carved from it)", names, 10 * MIN_TRAIN_PER_CLASS)
        whole = len(train)
        rest, test = stratified_split(train, int(round(TEST_FRACTION * whole)))
        train, dev = stratified_split(rest, int(round(DEV_FRACTION * whole)))
    elif dev is None:
        require_per_class(train, f"{what}: the train split (dev carved from it)", names, 2 * MIN_TRAIN_PER_CLASS)
        train, dev = stratified_split(train, DEV_FRACTION)
    elif test is None:
        require_per_class(dev, f"{what}: the dev split (halved into validation and test)", names, MIN_DEV_PER_CLASS)
        dev, test = stratified_split(dev, 0.5)
    require_per_class(train, f"{what}: the train split", names, MIN_TRAIN_PER_CLASS)
    for split, frame in (("dev", dev), ("test", test)):
        require_per_class(frame, f"{what}: the {split} split", names, 1)
    pool, weak_train = carve_weak_train(train)
    return pool, weak_train, dev, test

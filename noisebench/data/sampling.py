"""Few-shot sampling: a stratified, nested order of the train pool per data_seed."""

from __future__ import annotations

import numpy as np
import pandas as pd

from noisebench.errors import DataError


def nested_order(labels: np.ndarray, seed: int) -> np.ndarray:
    """Return a permutation of ``range(len(labels))`` whose every prefix is near-stratified.

    Each class is shuffled with ``seed``; the example of rank ``r`` in a class of size ``n_c``
    gets the key ``(r + u) / n_c`` with ``u`` uniform in [0, 1), and examples are sorted by key.
    A prefix of length N therefore holds about ``N * n_c / n`` examples of class c, and the
    prefix for N=20 is contained in the one for N=100 (subsets are nested by construction).
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    keys = np.empty(len(labels), dtype=np.float64)
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        ranks = rng.permutation(len(members))
        keys[members] = (ranks + rng.random(len(members))) / len(members)
    return np.argsort(keys, kind="stable")


def sample_subset(pool: pd.DataFrame, n: int, data_seed: int) -> pd.DataFrame:
    """The first ``n`` examples of the pool in its nested order for ``data_seed``.

    Raises:
        DataError: if ``n`` exceeds the pool or is smaller than the number of classes.
    """
    n_classes = pool["label"].nunique()
    if n > len(pool):
        raise DataError(f"n_train={n} is larger than the train pool ({len(pool)} examples)")
    if n < n_classes:
        raise DataError(f"n_train={n} is smaller than the number of classes ({n_classes})")
    order = nested_order(pool["label"].to_numpy(), data_seed)
    return pool.iloc[order[:n]].reset_index(drop=True)

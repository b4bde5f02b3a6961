"""Tests for few-shot sampling: a stratified, nested order of the pool per data_seed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from noisebench.data.sampling import nested_order, sample_subset
from noisebench.errors import DataError


def _imbalanced_labels(n: int = 2000) -> np.ndarray:
    """3 classes at 60/30/10 %, interleaved in a shuffled order."""
    labels = np.repeat([0, 1, 2], [int(0.6 * n), int(0.3 * n), n - int(0.6 * n) - int(0.3 * n)])
    return np.random.default_rng(99).permutation(labels)


def _pool(labels: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {"id": [f"ex-{i}" for i in range(len(labels))], "text": [f"t{i}" for i in range(len(labels))], "text_pair": "", "label": labels}
    )


def test_nested_order_is_a_permutation() -> None:
    labels = _imbalanced_labels()
    order = nested_order(labels, seed=5)
    assert order.shape == labels.shape
    assert np.array_equal(np.sort(order), np.arange(len(labels)))


def test_nested_order_is_deterministic_per_seed_and_differs_across_seeds() -> None:
    labels = _imbalanced_labels()
    assert np.array_equal(nested_order(labels, 1), nested_order(labels, 1))
    orders = [nested_order(labels, seed) for seed in range(4)]
    for i in range(4):
        for j in range(i + 1, 4):
            assert not np.array_equal(orders[i][:20], orders[j][:20])


def test_subsets_are_nested_across_sizes() -> None:
    pool = _pool(_imbalanced_labels())
    small, mid, large = (set(sample_subset(pool, n, data_seed=3)["id"]) for n in (20, 100, 1000))
    assert len(small) == 20 and len(mid) == 100 and len(large) == 1000
    assert small < mid < large
    other_seed = set(sample_subset(pool, 100, data_seed=4)["id"])
    assert other_seed != mid


def test_subset_rows_are_the_pools_rows() -> None:
    pool = _pool(_imbalanced_labels())
    subset = sample_subset(pool, 50, data_seed=0)
    assert list(subset.columns) == list(pool.columns)
    merged = subset.merge(pool, on="id", suffixes=("", "_pool"))
    assert len(merged) == 50
    assert (merged["label"] == merged["label_pool"]).all() and (merged["text"] == merged["text_pool"]).all()


@pytest.mark.parametrize("seed", [0, 1, 7, 42])
def test_every_prefix_is_near_stratified(seed: int) -> None:
    """Each class's count in a prefix of length N stays close to N * share.

    For K classes the key construction bounds the deviation by 1 + share_c * (K - 2): each class's
    count is within 1 of t * n_c for the prefix's key threshold t, and the K errors add up to the
    difference N - t * n. (A plain +-1 bound does not hold: 1.2 is reached for 60/30/10.)
    """
    labels = _imbalanced_labels()
    n, k = len(labels), 3
    shares = np.bincount(labels) / n
    order = nested_order(labels, seed)
    onehot = np.eye(k)[labels[order]]
    counts = np.cumsum(onehot, axis=0)  # counts[N-1, c] = class c count among the first N
    sizes = np.arange(1, n + 1)[:, None]
    deviation = np.abs(counts - sizes * shares)
    assert (deviation < 1 + shares * (k - 2)).all()
    for size in (3, 10, 20, 50, 100, 500, 1000):  # the sizes experiments use, within +-1.5
        assert (deviation[size - 1] <= 1.5).all(), (size, counts[size - 1], size * shares)
    # the minority class (10 %) shows up by N=20 and holds ~10 % of N=100
    assert counts[19, 2] >= 1 and 9 <= counts[99, 2] <= 11


def test_sample_subset_rejects_n_larger_than_the_pool() -> None:
    pool = _pool(_imbalanced_labels(100))
    with pytest.raises(DataError, match=r"n_train=101\b"):
        sample_subset(pool, 101, data_seed=0)
    assert len(sample_subset(pool, 100, data_seed=0)) == 100


def test_sample_subset_rejects_n_smaller_than_the_number_of_classes() -> None:
    pool = _pool(_imbalanced_labels(100))
    with pytest.raises(DataError, match=r"n_train=2\b.*classes \(3\)"):
        sample_subset(pool, 2, data_seed=0)
    assert len(sample_subset(pool, 3, data_seed=0)) == 3

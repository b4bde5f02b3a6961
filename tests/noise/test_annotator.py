"""Tests for the annotator noise family: the plurality of k drawn raters over categorical labels against
brute-force enumeration of every set of raters, the binary case against the former closed form, seeded
draws against the exact rate, and the family's inputs, extra columns and errors."""

from __future__ import annotations

import itertools
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest

from noisebench.data.raters import attach_ratings
from noisebench.data.vader import LABEL_NAMES, vader_rater_table
from noisebench.errors import ConfigError
from noisebench.noise.calibrate import solve_level
from noisebench.noise.families import NoiseInputs, get_family
from noisebench.noise.families.annotator import AnnotatorFamily, RatedInputs, plurality_probabilities, rater_counts

A = -1  # an abstaining rater
THREE_CLASS = (  # each example's raters' class ids (3 classes)
    (0, 0, 1, 2, A),  # a clear plurality with one abstention
    (0, 1, 2, A, A),  # three-way tie, two abstentions
    (2, 2, 1, 1, 0, A),  # two classes tie at the top
    (A, A, A),  # nobody votes: every draw is a three-way coin
    (1, 1, 1),  # unanimous
    (0, 2, A, A, 2, 0, 0),  # class 1 never used
)
CLEAN = np.array([0, 1, 2, 0, 1, 2])
K = 3


def _brute_probabilities(raters: tuple[int, ...], k: int, num_labels: int) -> list[Fraction]:
    """P(noisy = c) by enumerating every set of k raters: the plurality of non-abstaining votes, a tie
    (all-abstain: among every class) split evenly."""
    totals, subsets = [Fraction(0)] * num_labels, 0
    for chosen in itertools.combinations(range(len(raters)), k):
        votes = [sum(raters[i] == c for i in chosen) for c in range(num_labels)]
        top = [c for c in range(num_labels) if votes[c] == max(votes)]
        for c in top:
            totals[c] += Fraction(1, len(top))
        subsets += 1
    return [t / subsets for t in totals]


def _inputs(ratings=THREE_CLASS, clean=CLEAN, num_labels=K) -> RatedInputs:
    return RatedInputs(np.asarray(clean), num_labels, ratings=tuple(ratings), ids=tuple(f"ex{i}" for i in range(len(ratings))))


@pytest.mark.parametrize("k", [1, 2, 3])
def test_probabilities_and_expected_rate_equal_enumerating_every_set_of_raters(k: int) -> None:
    expected = np.array([[float(p) for p in _brute_probabilities(r, k, K)] for r in THREE_CLASS])
    family = AnnotatorFamily()
    np.testing.assert_allclose(family.probabilities(_inputs(), k), expected, rtol=1e-12, atol=1e-15)
    wrong = [1 - expected[i, y] for i, y in enumerate(CLEAN)]
    assert family.expected_rate(_inputs(), k) == pytest.approx(np.mean(wrong), rel=1e-12)


@pytest.mark.parametrize("num_labels, k", [(4, 4), (6, 5), (20, 3)])
def test_more_classes_and_raters_equal_enumeration_too(num_labels: int, k: int) -> None:
    rng = np.random.default_rng(num_labels)
    ratings = [tuple(int(v) for v in rng.integers(-1, num_labels, size=rng.integers(k, 11))) for _ in range(25)]
    expected = np.array([[float(p) for p in _brute_probabilities(r, k, num_labels)] for r in ratings])
    got = plurality_probabilities(rater_counts(tuple(ratings), num_labels), k)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_one_rater_is_their_label_and_an_abstention_a_uniform_class() -> None:
    counts = rater_counts(THREE_CLASS, K)
    expected = (counts[:, :K] + counts[:, K:] / K) / counts.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(plurality_probabilities(counts, 1), expected, rtol=1e-12)


# the binary case: vader's scores through the rater table, against the former closed form


def _former_positive_majority(scores: list[tuple[int, ...]], k: int) -> np.ndarray:
    """The former family's P(majority positive), tie = 1/2, from the raw scores (its formula, kept as the
    reference): multivariate-hypergeometric pmf over (positive, negative, neutral) splits."""
    from scipy.stats import multivariate_hypergeom

    counts = np.array([[sum(s > 0 for s in r), sum(s < 0 for s in r), sum(s == 0 for s in r)] for r in scores])
    splits = np.array([(p, m, k - p - m) for p in range(k + 1) for m in range(k + 1 - p)])
    weights = np.where(splits[:, 0] > splits[:, 1], 1.0, np.where(splits[:, 0] == splits[:, 1], 0.5, 0.0))
    pmf = multivariate_hypergeom.pmf(splits[None, :, :], counts[:, None, :], k)
    return np.nan_to_num(pmf, nan=0.0) @ weights


def _vader_like(n: int, seed: int = 0) -> pd.DataFrame:
    """Snippets with 15 to 29 raters' -4..+4 scores, rated into class ids as load_vader does."""
    rng = np.random.default_rng(seed)
    scores = [tuple(int(v) for v in np.clip(rng.integers(-2, 3) + rng.integers(-3, 4, size=rng.integers(15, 30)), -4, 4)) for _ in range(n)]
    frame = pd.DataFrame({"id": [f"s{i}" for i in range(n)], "scores": scores})
    frame["label"] = [int(np.mean(s) > 0) for s in scores]
    return attach_ratings(frame, vader_rater_table(frame), {name: i for i, name in enumerate(LABEL_NAMES)}, where="vader-like")


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 15])
def test_binary_raters_give_the_former_majority_probability(k: int) -> None:
    frame = _vader_like(300)
    inputs = AnnotatorFamily().make_inputs(frame, 2)
    probs = AnnotatorFamily().probabilities(inputs, k)
    positive = _former_positive_majority(list(frame["scores"]), k)
    np.testing.assert_allclose(probs[:, 1], positive, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-12)


# draws


def test_many_seeded_draws_realise_the_exact_rate_and_class_shares() -> None:
    copies = 4_000
    inputs = _inputs(THREE_CLASS * copies, np.tile(CLEAN, copies))
    family, k = AnnotatorFamily(), 2
    noisy = family.draw(inputs, k, noise_seed=5)
    exact = family.probabilities(inputs, k)
    realised = noisy != inputs.clean
    wrong = 1.0 - exact[np.arange(len(noisy)), inputs.clean]
    assert abs(realised.mean() - wrong.mean()) < 4 * np.sqrt((wrong * (1 - wrong)).sum()) / len(noisy)
    for c in range(K):
        p = exact[:, c]
        assert abs((noisy == c).mean() - p.mean()) < 4 * np.sqrt((p * (1 - p)).sum()) / len(noisy) + 1e-12


def test_the_draw_matches_simulating_the_raters_and_is_prefix_stable() -> None:
    """Literal simulation: draw k raters without replacement, count votes, break ties at random."""
    raters = (0, 0, 1, 2, 2, A, A, 1, 0)
    n, k = 30_000, 3
    inputs = _inputs((raters,) * n, np.zeros(n, dtype=np.int64))
    noisy = AnnotatorFamily().draw(inputs, k, noise_seed=1)
    rng = np.random.default_rng(99)
    simulated = np.empty(n, dtype=np.int64)
    for i in range(n):
        votes = np.bincount([raters[j] for j in rng.choice(len(raters), k, replace=False) if raters[j] != A], minlength=K)
        simulated[i] = rng.choice(np.flatnonzero(votes == votes.max()))
    for c in range(K):
        assert (noisy == c).mean() == pytest.approx((simulated == c).mean(), abs=0.015)
    prefix = _inputs((raters,) * 50, np.zeros(50, dtype=np.int64))
    assert np.array_equal(AnnotatorFamily().draw(prefix, k, noise_seed=1), noisy[:50])


def test_binary_noise_falls_with_more_raters() -> None:
    inputs = AnnotatorFamily().make_inputs(_vader_like(200, seed=1), 2)
    rates = [AnnotatorFamily().expected_rate(inputs, k) for k in (1, 3, 5)]
    assert rates[0] > rates[1] > rates[2]


# the family's interface


def test_annotator_is_registered_with_an_integer_number_of_raters() -> None:
    family = get_family("annotator")
    assert isinstance(family, AnnotatorFamily) and family.parameter.name == "raters"
    assert family.parameter.check(3.0) == 3 and family.folder_name(3) == "k3"
    for bad in (0, 2.5, 16):
        with pytest.raises(ConfigError, match="raters must be an integer"):
            family.parameter.check(bad)


def test_inputs_come_from_the_frames_ratings_column() -> None:
    frame = pd.DataFrame({"id": ["a", "b"], "label": [2, 0], "ratings": [(1, 2, A), (0, 0)]})
    inputs = AnnotatorFamily().make_inputs(frame, 3)
    assert inputs.ratings == ((1, 2, A), (0, 0)) and inputs.ids == ("a", "b") and inputs.clean.tolist() == [2, 0]
    with pytest.raises(ConfigError, match="needs each example's rater labels"):
        AnnotatorFamily().make_inputs(frame.drop(columns="ratings"), 3)


def test_each_examples_rater_counts_per_class_are_stored_beside_its_labels() -> None:
    columns = AnnotatorFamily().extra_columns(_inputs())
    assert list(columns) == ["raters_0", "raters_1", "raters_2", "raters_abstain"]
    assert columns["raters_0"].tolist() == [2, 1, 1, 0, 0, 3]
    assert columns["raters_1"].tolist() == [1, 1, 2, 0, 3, 0]
    assert columns["raters_2"].tolist() == [1, 1, 2, 0, 0, 2]
    assert columns["raters_abstain"].tolist() == [1, 2, 1, 3, 0, 2]


def test_missing_ratings_too_few_raters_or_a_bad_class_id_is_a_config_error() -> None:
    family = AnnotatorFamily()
    with pytest.raises(ConfigError, match="rater labels"):
        family.expected_rate(NoiseInputs(np.array([0, 1]), 2), 1)
    with pytest.raises(ConfigError, match="k=4 raters, but example ex3 has only 3"):
        family.expected_rate(_inputs(), 4)
    with pytest.raises(ConfigError, match="rater label 3 is not a class id of a 3-class task"):
        family.expected_rate(_inputs(((0, 3),), [0]), 1)


def test_annotator_takes_no_target_rate() -> None:
    with pytest.raises(ConfigError, match="--raters"):
        solve_level(AnnotatorFamily(), _inputs(), 0.05)

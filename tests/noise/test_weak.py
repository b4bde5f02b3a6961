"""Tests for the weak tf-idf + logistic-regression classifier that drives model-based noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from noisebench.noise.weak import WEAK_KIND, fit_weak_model

POSITIVE = ["great", "superb", "lovely", "moving", "brilliant", "charming"]
NEGATIVE = ["awful", "boring", "dull", "clumsy", "tedious", "bland"]
FILLER = ["film", "story", "actor", "scene", "plot", "music", "camera", "script"]


def _frame(n: int, seed: int, *, signal: float = 0.8, pair: bool = False) -> pd.DataFrame:
    """Texts whose sentiment word agrees with the label with probability ``signal``."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    texts, pairs = [], []
    for label in labels:
        agrees = rng.random() < signal
        vocab = POSITIVE if (label == 1) == agrees else NEGATIVE
        words = list(rng.choice(FILLER, size=4)) + [rng.choice(vocab)]
        rng.shuffle(words)
        texts.append(" ".join(words))
        pairs.append(" ".join(rng.choice(FILLER, size=3)) if pair else "")
    return pd.DataFrame({"id": [f"x{i}" for i in range(n)], "text": texts, "text_pair": pairs, "label": labels})


@pytest.fixture(scope="module")
def fitted():
    train = _frame(400, seed=0)
    return train, fit_weak_model(train, num_labels=2)


def test_weak_model_records_its_kind_and_training_size(fitted) -> None:
    train, weak = fitted
    assert weak.kind == WEAK_KIND == "tfidf-logreg"
    assert weak.train_size == len(train) and weak.num_labels == 2


def test_log_probs_rows_are_log_probabilities(fitted) -> None:
    _, weak = fitted
    lp = weak.log_probs(_frame(200, seed=1))
    assert lp.shape == (200, 2)
    assert (lp <= 0).all()
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-9)


def test_log_probs_match_the_pipelines_predicted_probabilities(fitted) -> None:
    _, weak = fitted
    test = _frame(100, seed=2)
    np.testing.assert_allclose(np.exp(weak.log_probs(test)), weak.pipeline.predict_proba(list(test["text"])), rtol=1e-9)


def test_accuracy_matches_a_hand_computation(fitted) -> None:
    _, weak = fitted
    test = _frame(300, seed=3)
    predicted = weak.pipeline.predict(list(test["text"]))
    expected = sum(int(p == y) for p, y in zip(predicted, test["label"])) / len(test)
    assert weak.accuracy(test) == pytest.approx(expected, abs=1e-12)
    # the text is only partly predictive: the model is useful but imperfect
    assert 0.65 < expected < 0.95


def test_unseen_classes_get_zero_probability(fitted) -> None:
    train, _ = fitted
    weak3 = fit_weak_model(train, num_labels=3)  # class 2 never appears in training
    lp = weak3.log_probs(_frame(50, seed=4))
    assert lp.shape == (50, 3)
    assert np.isneginf(lp[:, 2]).all()
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-9)


def test_pair_inputs_are_joined_with_a_separator() -> None:
    train = _frame(300, seed=5, pair=True)
    weak = fit_weak_model(train, num_labels=2)
    test = _frame(60, seed=6, pair=True)
    joined = test.assign(text=test["text"] + " [SEP] " + test["text_pair"], text_pair="")
    np.testing.assert_allclose(weak.log_probs(test), weak.log_probs(joined), rtol=1e-12)
    # the pair is really part of the input: dropping it changes the scores
    text_only = test.assign(text_pair="")
    assert not np.allclose(weak.log_probs(test), weak.log_probs(text_only))


def test_fit_is_deterministic(fitted) -> None:
    train, weak = fitted
    again = fit_weak_model(train, num_labels=2)
    test = _frame(50, seed=7)
    np.testing.assert_array_equal(weak.log_probs(test), again.log_probs(test))

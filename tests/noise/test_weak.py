"""Tests for the weak-labeller registry, its options and fit modes, and tfidf-logreg (today's numbers, unchanged)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline

from noisebench.errors import ConfigError
from noisebench.noise.weak import (
    DEFAULT_WEAK_MODEL,
    WEAK_LABELLERS,
    fit_weak_model,
    get_labeller,
    resolve_weak,
    weak_folder_suffix,
    weak_scores,
)

POSITIVE = ["great", "superb", "lovely", "moving", "brilliant", "charming"]
NEGATIVE = ["awful", "boring", "dull", "clumsy", "tedious", "bland"]
FILLER = ["film", "story", "actor", "scene", "plot", "music", "camera", "script"]
LABELS = ("neg", "pos")


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
    return pd.DataFrame({"id": [f"x{seed}-{i}" for i in range(n)], "text": texts, "text_pair": pairs, "label": labels})


def _reference_pipeline(frame: pd.DataFrame):
    """tfidf-logreg as it was before the registry, built here with scikit-learn directly."""
    texts = [a if not b else f"{a} [SEP] {b}" for a, b in zip(frame["text"], frame["text_pair"])]
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000, random_state=0),
    )
    return pipeline.fit(texts, frame["label"].to_numpy()), texts


@pytest.fixture(scope="module")
def fitted():
    train = _frame(400, seed=0)
    return train, fit_weak_model(train, num_labels=2)


# ------------------------------------------------------------------ the registry and options


def test_the_built_in_labellers_are_registered_and_tfidf_is_the_default() -> None:
    assert {"tfidf-logreg", "encoder-probe", "predictions"} <= set(WEAK_LABELLERS.names())
    assert DEFAULT_WEAK_MODEL == "tfidf-logreg"
    assert resolve_weak(None, {}, model="m") == ("tfidf-logreg", {})


def test_an_unknown_labeller_is_a_config_error_listing_the_known_ones() -> None:
    with pytest.raises(ConfigError, match=r"unknown weak labeller 'magic'; known: tfidf-logreg, encoder-probe, predictions"):
        get_labeller("magic")


def test_encoder_probe_options_default_to_the_runs_model_and_128_tokens() -> None:
    assert resolve_weak("encoder-probe", {}, model="my/model") == ("encoder-probe", {"encoder": "my/model", "max_length": "128"})
    assert resolve_weak("encoder-probe", {"encoder": "other", "max_length": "64"}, model="m")[1] == {"encoder": "other", "max_length": "64"}


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("tfidf-logreg", {"encoder": "x"}, "weak labeller tfidf-logreg has no option 'encoder' (it takes no options)"),
        ("encoder-probe", {"file": "p.csv"}, "weak labeller encoder-probe has no option 'file' (its options: encoder, max_length)"),
        ("encoder-probe", {"max_length": "0"}, "option max_length must be an integer >= 1, got '0'"),
        ("encoder-probe", {"encoder": ""}, "option encoder must be a non-empty string"),
        ("predictions", {}, "weak labeller predictions needs option file"),
    ],
)
def test_bad_options_are_one_line_config_errors(name, options, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        resolve_weak(name, options, model="m")


def test_only_a_non_default_labeller_gets_a_folder_suffix_and_options_change_it() -> None:
    assert weak_folder_suffix("tfidf-logreg", {}) == ""
    a = weak_folder_suffix("encoder-probe", {"encoder": "a", "max_length": "128"})
    b = weak_folder_suffix("encoder-probe", {"encoder": "b", "max_length": "128"})
    assert a.startswith("-encoder-probe-") and len(a) == len("-encoder-probe-") + 8 and a != b


# ------------------------------------------------------------------ tfidf-logreg: today's numbers


def test_tfidf_through_the_registry_equals_a_directly_built_pipeline() -> None:
    train, test = _frame(300, seed=10, pair=True), _frame(80, seed=11, pair=True)
    scorer = get_labeller("tfidf-logreg").fit(train, label_names=LABELS, seed=0, options={})
    reference, _ = _reference_pipeline(train)
    _, test_texts = _reference_pipeline(test)
    np.testing.assert_array_equal(scorer.log_probs(test), reference.predict_log_proba(test_texts))


def test_in_sample_and_cross_fit_scores_equal_scikit_learn_fitted_by_hand() -> None:
    frame = _frame(200, seed=12).sort_values("id").reset_index(drop=True)
    dev = _frame(60, seed=13)
    labeller = get_labeller("tfidf-logreg")
    common = dict(weak_train=frame.iloc[:0], dev=dev, labeller=labeller, options={}, label_names=LABELS)
    in_sample = weak_scores(frame, fit="in-sample", **common)
    reference, texts = _reference_pipeline(frame)
    np.testing.assert_array_equal(in_sample.log_probs, reference.predict_log_proba(texts))
    _, dev_texts = _reference_pipeline(dev)
    assert in_sample.dev_accuracy == pytest.approx(np.mean(reference.predict(dev_texts) == dev["label"].to_numpy()), abs=1e-12)
    assert (in_sample.fit, in_sample.train_size, in_sample.fitted) == ("in-sample", 200, True)

    cross = weak_scores(frame, fit="cross-fit", **common)
    expected = np.empty((len(frame), 2))
    for train_index, score_index in StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(frame)), frame["label"]):
        fold, _ = _reference_pipeline(frame.iloc[train_index])
        _, fold_texts = _reference_pipeline(frame.iloc[score_index])
        expected[score_index] = fold.predict_log_proba(fold_texts)
    np.testing.assert_array_equal(cross.log_probs, expected)
    assert (cross.folds, cross.train_size) == (5, 160)


def test_log_probs_rows_are_log_probabilities(fitted) -> None:
    _, weak = fitted
    lp = weak.log_probs(_frame(200, seed=1))
    assert lp.shape == (200, 2)
    assert (lp <= 0).all()
    np.testing.assert_allclose(np.exp(lp).sum(axis=1), 1.0, atol=1e-9)


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

"""Weak auxiliary classifiers whose logits drive model-based noise (default: tf-idf + logistic regression)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline

from noisebench.errors import ConfigError, DataError

WEAK_KIND = "tfidf-logreg"


@dataclass(frozen=True)
class WeakModel:
    """A fitted weak classifier and what it was trained on."""

    pipeline: Pipeline
    kind: str
    train_size: int
    num_labels: int

    def log_probs(self, frame: pd.DataFrame) -> np.ndarray:
        """Per-example log-probabilities ``[n, num_labels]``.

        Log-probabilities equal the logits up to a per-example constant, so
        ``softmax(log_probs / T) == softmax(logits / T)`` for every temperature T.
        """
        scores = np.full((len(frame), self.num_labels), -np.inf)
        seen = self.pipeline.classes_
        scores[:, seen] = self.pipeline.predict_log_proba(_inputs(frame))
        return scores

    def accuracy(self, frame: pd.DataFrame) -> float:
        """Accuracy against the frame's (clean) labels."""
        predicted = self.log_probs(frame).argmax(axis=1)
        return float(np.mean(predicted == frame["label"].to_numpy()))


def fit_weak_model(train: pd.DataFrame, *, num_labels: int, seed: int = 0) -> WeakModel:
    """Fit tf-idf (word 1-2 grams, sublinear tf) + class-balanced logistic regression on clean examples.

    Class balancing keeps the weak model from collapsing onto the majority class, which would
    make the noise almost one-directional; C=4 was the best of {1, 4, 10} on rt-polarity dev.
    """
    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000, random_state=seed),
    )
    pipeline.fit(_inputs(train), train["label"].to_numpy())
    return WeakModel(pipeline, WEAK_KIND, len(train), num_labels)


def _inputs(frame: pd.DataFrame) -> list[str]:
    """One string per example; a sentence pair is joined with a separator token."""
    pairs = frame["text_pair"].to_numpy()
    return [a if not b else f"{a} [SEP] {b}" for a, b in zip(frame["text"].to_numpy(), pairs)]


@dataclass(frozen=True)
class WeakScores:
    """The weak model's log-probabilities for the examples it relabels, and how it was fitted."""

    log_probs: np.ndarray
    fit: str
    train_size: int
    dev_accuracy: float
    fit_accuracy: float
    """Accuracy of the scores against the clean labels of the relabelled examples themselves."""
    folds: int | None = None


CROSS_FIT_FOLDS = 5


def _in_sample(frame: pd.DataFrame, weak_train: pd.DataFrame, dev: pd.DataFrame, num_labels: int) -> WeakScores:
    """Fitted on the examples it relabels: near-clean at low T, noise where the model finds an example ambiguous."""
    model = fit_weak_model(_fittable(frame, "in-sample"), num_labels=num_labels)
    return _scores(model.log_probs(frame), frame, "in-sample", len(frame), model.accuracy(dev))


def _held_out(frame: pd.DataFrame, weak_train: pd.DataFrame, dev: pd.DataFrame, num_labels: int) -> WeakScores:
    """Fitted on a disjoint clean split: every relabelled example gets an out-of-sample prediction."""
    model = fit_weak_model(weak_train, num_labels=num_labels)
    return _scores(model.log_probs(frame), frame, "held-out", len(weak_train), model.accuracy(dev))


def _cross_fit(frame: pd.DataFrame, weak_train: pd.DataFrame, dev: pd.DataFrame, num_labels: int) -> WeakScores:
    """k-fold over the relabelled examples: each is scored by a model that never saw it, none spent on a split."""
    labels = _fittable(frame, "cross-fit")["label"].to_numpy()
    folds = min(CROSS_FIT_FOLDS, len(frame))
    smallest_class = np.bincount(labels)[np.bincount(labels) > 0].min()
    splitter = (StratifiedKFold if smallest_class >= folds else KFold)(folds, shuffle=True, random_state=0)
    log_probs = np.empty((len(frame), num_labels))
    dev_accuracy = []
    for train_index, score_index in splitter.split(np.zeros(len(frame)), labels):
        model = fit_weak_model(frame.iloc[train_index], num_labels=num_labels)
        log_probs[score_index] = model.log_probs(frame.iloc[score_index])
        dev_accuracy.append(model.accuracy(dev))
    train_size = len(frame) - len(frame) // folds
    return _scores(log_probs, frame, "cross-fit", train_size, float(np.mean(dev_accuracy)), folds)


def _fittable(frame: pd.DataFrame, fit: str) -> pd.DataFrame:
    """``frame`` if a weak model can be fitted on it in mode ``fit`` (2 classes, a few examples of each)."""
    counts = frame["label"].value_counts()
    if len(counts) < 2 or counts.min() < 2:
        raise DataError(
            f"a {fit} weak model needs at least 2 examples of each of 2 classes among the relabelled examples, "
            f"got {dict(counts)}; relabel more examples (n_relabel) or use weak fit held-out"
        )
    return frame


def _scores(log_probs: np.ndarray, frame: pd.DataFrame, fit: str, train_size: int, dev_accuracy: float, folds: int | None = None) -> WeakScores:
    fit_accuracy = float(np.mean(log_probs.argmax(axis=1) == frame["label"].to_numpy()))
    return WeakScores(log_probs, fit, train_size, dev_accuracy, fit_accuracy, folds)


WEAK_FITS = {"in-sample": _in_sample, "held-out": _held_out, "cross-fit": _cross_fit}
"""How the weak model is fitted relative to the examples it relabels."""
DEFAULT_WEAK_FIT = "in-sample"


def check_weak_fit(fit: str) -> str:
    if fit not in WEAK_FITS:
        raise ConfigError(f"unknown weak-model fit {fit!r}; known: {', '.join(WEAK_FITS)}")
    return fit


def weak_scores(frame: pd.DataFrame, *, fit: str, weak_train: pd.DataFrame, dev: pd.DataFrame, num_labels: int) -> WeakScores:
    """Weak log-probabilities for ``frame`` under fit mode ``fit`` (see :data:`WEAK_FITS`)."""
    return WEAK_FITS[check_weak_fit(fit)](frame, weak_train, dev, num_labels)

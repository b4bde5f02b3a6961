"""``tfidf-logreg``: tf-idf word 1-2 grams + class-balanced logistic regression (the default weak labeller)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from noisebench.errors import DataError
from noisebench.noise.weak.base import WeakLabeller, WeakScorer, class_log_probs

if TYPE_CHECKING:  # scikit-learn is imported when a model is fitted: the CLI's cheap checks need none
    from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class WeakModel(WeakScorer):
    """A fitted tf-idf + logistic-regression pipeline and what it was trained on."""

    pipeline: Pipeline
    train_size: int
    num_labels: int

    def log_probs(self, frame: pd.DataFrame) -> np.ndarray:
        return class_log_probs(self.pipeline, _inputs(frame), self.num_labels)

    def accuracy(self, frame: pd.DataFrame) -> float:
        """Accuracy against the frame's (clean) labels."""
        return float(np.mean(self.log_probs(frame).argmax(axis=1) == frame["label"].to_numpy()))


def fit_weak_model(train: pd.DataFrame, *, num_labels: int, seed: int = 0) -> WeakModel:
    """Fit tf-idf (word 1-2 grams, sublinear tf) + class-balanced logistic regression on clean examples.

    Class balancing keeps the weak model from collapsing onto the majority class, which would
    make the noise almost one-directional; C=4 was the best of {1, 4, 10} on rt-polarity dev.

    Raises:
        DataError: the examples give the vectoriser no vocabulary (too few, or no word in two of them).
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    pipeline = make_pipeline(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        LogisticRegression(C=4.0, class_weight="balanced", max_iter=1000, random_state=seed),
    )
    vectoriser, classifier = pipeline.steps[0][1], pipeline.steps[-1][1]
    try:
        features = vectoriser.fit_transform(_inputs(train))
    except ValueError as error:  # the vectoriser's word for text it cannot use: an empty vocabulary
        reason = " ".join(str(error).split()).rstrip(".")
        raise DataError(
            f"the tfidf-logreg weak model cannot be fitted on these {len(train)} examples: {reason}; "
            "relabel more examples (n_relabel) or use weak fit held-out"
        ) from error
    classifier.fit(features, train["label"].to_numpy())  # the same two steps as pipeline.fit
    return WeakModel(pipeline, len(train), num_labels)


def _inputs(frame: pd.DataFrame) -> list[str]:
    """One string per example; a sentence pair is joined with a separator token."""
    pairs = frame["text_pair"].to_numpy()
    return [a if not b else f"{a} [SEP] {b}" for a, b in zip(frame["text"].to_numpy(), pairs)]


class TfidfLogreg(WeakLabeller):
    """Bag of word n-grams: cheap and strong on sentiment, at chance on sentence pairs (it cannot relate the two)."""

    name: ClassVar[str] = "tfidf-logreg"
    description: ClassVar[str] = "tf-idf word 1-2 grams + class-balanced logistic regression (C=4); a pair is joined with [SEP]"

    def fit(self, train: pd.DataFrame, *, label_names: tuple[str, ...], seed: int, options: Mapping[str, str]) -> WeakModel:
        return fit_weak_model(train, num_labels=len(label_names), seed=seed)

"""Fit modes: which clean examples a weak labeller is fitted on, relative to the examples it relabels.

The modes are the same for every labeller: in-sample (fitted on the relabelled examples themselves),
held-out (on a disjoint clean split, ``weak_train``), cross-fit (k-fold over the relabelled examples,
each scored by a model that never saw it). A labeller that does not fit to data (``fits_to_data``
False, e.g. a file of predictions) gives the same scores in every mode, and says so (``fitted`` False).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from noisebench.errors import ConfigError, DataError
from noisebench.noise.weak.base import WeakLabeller, WeakScorer

WEAK_SEED = 0
"""Seed of every weak fit (logistic regression, cross-fit folds): the weak labeller is part of the task's noise, not a run's draw."""
CROSS_FIT_FOLDS = 5

Fitter = Callable[[pd.DataFrame], WeakScorer]
"""A labeller with its options and the task's classes bound: clean examples in, a scorer out."""


@dataclass(frozen=True)
class WeakScores:
    """The weak labeller's log-probabilities for the examples it relabels, and how it was fitted."""

    log_probs: np.ndarray
    fit: str
    train_size: int
    dev_accuracy: float | None
    fit_accuracy: float
    """Accuracy of the scores against the clean labels of the relabelled examples themselves."""
    folds: int | None = None
    fitted: bool = True
    """False for a labeller that does not fit to data: ``fit`` then changes nothing."""
    provenance: dict[str, Any] = field(default_factory=dict)


def _in_sample(fitter: Fitter, frame: pd.DataFrame, weak_train: pd.DataFrame, dev: pd.DataFrame) -> WeakScores:
    """Fitted on the examples it relabels: near-clean at low T, noise where the model finds an example ambiguous."""
    scorer = fitter(_fittable(frame, "in-sample"))
    return _scores(scorer.log_probs(frame), frame, "in-sample", len(frame), scorer.accuracy(dev), provenance=scorer.provenance())


def _held_out(fitter: Fitter, frame: pd.DataFrame, weak_train: pd.DataFrame, dev: pd.DataFrame) -> WeakScores:
    """Fitted on a disjoint clean split: every relabelled example gets an out-of-sample prediction."""
    scorer = fitter(weak_train)
    return _scores(scorer.log_probs(frame), frame, "held-out", len(weak_train), scorer.accuracy(dev), provenance=scorer.provenance())


def _cross_fit(fitter: Fitter, frame: pd.DataFrame, weak_train: pd.DataFrame, dev: pd.DataFrame) -> WeakScores:
    """k-fold over the relabelled examples: each is scored by a model that never saw it, none spent on a split."""
    from sklearn.model_selection import KFold, StratifiedKFold

    labels = _fittable(frame, "cross-fit")["label"].to_numpy()
    folds = min(CROSS_FIT_FOLDS, len(frame))
    smallest_class = np.bincount(labels)[np.bincount(labels) > 0].min()
    splitter = (StratifiedKFold if smallest_class >= folds else KFold)(folds, shuffle=True, random_state=WEAK_SEED)
    parts, dev_accuracy = [], []
    for train_index, score_index in splitter.split(np.zeros(len(frame)), labels):
        scorer = fitter(frame.iloc[train_index])
        parts.append((score_index, scorer.log_probs(frame.iloc[score_index])))
        dev_accuracy.append(scorer.accuracy(dev))
    log_probs = np.empty((len(frame), parts[0][1].shape[1]))
    for score_index, fold in parts:
        log_probs[score_index] = fold
    train_size = len(frame) - len(frame) // folds
    return _scores(log_probs, frame, "cross-fit", train_size, _mean(dev_accuracy), folds, scorer.provenance())


def _fittable(frame: pd.DataFrame, fit: str) -> pd.DataFrame:
    """``frame`` if a weak model can be fitted on it in mode ``fit`` (2 classes, a few examples of each)."""
    counts = frame["label"].value_counts()
    if len(counts) < 2 or counts.min() < 2:
        raise DataError(
            f"a {fit} weak model needs at least 2 examples of each of 2 classes among the relabelled examples, "
            f"got {dict(counts)}; relabel more examples (n_relabel) or use weak fit held-out"
        )
    return frame


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _scores(log_probs: np.ndarray, frame: pd.DataFrame, fit: str, train_size: int, dev_accuracy: float | None,
            folds: int | None = None, provenance: dict[str, Any] | None = None) -> WeakScores:
    fit_accuracy = float(np.mean(log_probs.argmax(axis=1) == frame["label"].to_numpy()))
    return WeakScores(log_probs, fit, train_size, dev_accuracy, fit_accuracy, folds, provenance=provenance or {})


def _unfitted(fitter: Fitter, frame: pd.DataFrame, fit: str, dev: pd.DataFrame) -> WeakScores:
    """Scores of a labeller that fits to nothing: one scorer, no training examples, the same in every fit mode."""
    scorer = fitter(frame.iloc[:0])
    scores = _scores(scorer.log_probs(frame), frame, fit, 0, scorer.accuracy(dev), provenance=scorer.provenance())
    return dataclasses.replace(scores, fitted=False)


WEAK_FITS = {"in-sample": _in_sample, "held-out": _held_out, "cross-fit": _cross_fit}
"""How the weak labeller is fitted relative to the examples it relabels."""
DEFAULT_WEAK_FIT = "in-sample"


def check_weak_fit(fit: str) -> str:
    if fit not in WEAK_FITS:
        raise ConfigError(f"unknown weak-model fit {fit!r}; known: {', '.join(WEAK_FITS)}")
    return fit


def weak_scores(frame: pd.DataFrame, *, fit: str, weak_train: pd.DataFrame, dev: pd.DataFrame, labeller: WeakLabeller,
                options: Mapping[str, str], label_names: tuple[str, ...]) -> WeakScores:
    """``labeller``'s log-probabilities for ``frame`` under fit mode ``fit`` (see :data:`WEAK_FITS`)."""
    check_weak_fit(fit)

    def fitter(train: pd.DataFrame) -> WeakScorer:
        return labeller.fit(train, label_names=label_names, seed=WEAK_SEED, options=options)

    if not labeller.fits_to_data:
        return _unfitted(fitter, frame, fit, dev)
    return WEAK_FITS[fit](fitter, frame, weak_train, dev)

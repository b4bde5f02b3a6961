"""Model selection: registered rules that score each epoch, and early stopping with a patience.

A rule scores an epoch from its row of the run's history (higher is better); a run keeps the weights of
the epoch with the highest score, the earliest one on ties. ``best_dev`` reads the clean dev accuracy,
``best_noisy_dev`` the accuracy on the dev split relabelled by the same noise as the training labels,
``last_epoch`` the epoch number. A plugin adds a rule with
``register_selection_rule(SelectionRule("name", score, needs=(...)))``. Importable without torch (grid specs
validate ``evaluation.selection`` against the registry).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from noisebench.errors import ConfigError
from noisebench.registry import Registry


@dataclass(frozen=True)
class Evaluation:
    """One split's predictions after an epoch, with the labels they are scored against."""

    predictions: np.ndarray
    labels: np.ndarray

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.predictions == self.labels))


Evaluations = Mapping[str, Evaluation]
"""Split name -> evaluation. The loop evaluates ``train`` (against the noisy training labels), ``dev``
(clean labels), ``noisy_dev`` (the same dev predictions against the dev split relabelled like the
training labels; the clean labels on a clean run) and, with ``test_every_epoch``, ``test``."""

EpochRecord = Mapping[str, Any]
"""One epoch's row of a run's history: ``epoch``, ``train_loss``, ``dev_accuracy``, ``noisy_dev_accuracy``,
``test_accuracy`` (with ``test_every_epoch``) and the memorisation shares."""


@dataclass(frozen=True)
class SelectionRule:
    """``score(record)``: how good an epoch's weights are (higher is better), from its history row.

    ``needs``: the record keys the score reads. A rule scores a run's stored history the same way it
    scores the live epochs, so rules can be compared on the same trained runs (:func:`reselect`).
    """

    name: str
    score: Callable[[EpochRecord], float]
    description: str = ""
    needs: tuple[str, ...] = ()


SELECTION_RULES: Registry[SelectionRule] = Registry("selection rule")
DEFAULT_SELECTION = "best_dev"


def register_selection_rule(rule: SelectionRule) -> SelectionRule:
    """Make ``rule`` available under ``rule.name`` to training and grid specs."""
    return SELECTION_RULES.register(rule.name, rule)


def get_selection_rule(name: str) -> SelectionRule:
    return SELECTION_RULES.get(name)


def _recorded(key: str) -> Callable[[EpochRecord], float]:
    return lambda record: float(record[key])


register_selection_rule(SelectionRule(
    DEFAULT_SELECTION, _recorded("dev_accuracy"), "the epoch with the best clean dev accuracy", needs=("dev_accuracy",)))
register_selection_rule(SelectionRule(
    "best_noisy_dev", _recorded("noisy_dev_accuracy"),
    "the epoch with the best accuracy on the dev split relabelled like the training labels (what a practitioner has)",
    needs=("noisy_dev_accuracy",)))
register_selection_rule(SelectionRule("last_epoch", _recorded("epoch"), "the last epoch trained", needs=("epoch",)))


def missing_needs(rule: SelectionRule, available: Iterable[str]) -> list[str]:
    """The record keys ``rule`` reads that a run does not record."""
    have = set(available)
    return [key for key in rule.needs if key not in have]


def reselect(history: Sequence[EpochRecord], rule: SelectionRule) -> EpochRecord | None:
    """The history row ``rule`` keeps (the earliest on ties, as in training); None when a row lacks what it needs."""
    best, best_score = None, None
    for record in history:
        if missing_needs(rule, record) or any(record[key] is None for key in rule.needs):
            return None
        score = rule.score(record)
        if best_score is None or score > best_score:
            best, best_score = record, score
    return best


@dataclass
class Selection:
    """Which epoch a run keeps under ``rule``, and whether it should stop.

    ``patience``: stop once this many epochs in a row have not beaten the best score (None: never
    stop early, train every epoch).
    """

    rule: SelectionRule
    patience: int | None = None
    best_epoch: int | None = None
    best_score: float | None = None
    epochs_without_improvement: int = 0

    def __post_init__(self) -> None:
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"selection patience must be >= 1 (or None: no early stopping), got {self.patience}")

    @classmethod
    def named(cls, name: str = DEFAULT_SELECTION, *, patience: int | None = None) -> Selection:
        return cls(get_selection_rule(name), patience)

    def update(self, epoch: int, record: EpochRecord) -> bool:
        """Score ``epoch`` from its history row; True when it is the best so far (strictly better: ties keep the earlier epoch)."""
        score = self.rule.score(record)
        if self.best_score is None or score > self.best_score:
            self.best_epoch, self.best_score, self.epochs_without_improvement = epoch, score, 0
            return True
        self.epochs_without_improvement += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.epochs_without_improvement >= self.patience

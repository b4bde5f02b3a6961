"""Model selection: registered rules that score each epoch, and early stopping with a patience.

A rule scores an epoch from its evaluations (higher is better); a run keeps the weights of the epoch
with the highest score, the earliest one on ties. A plugin adds a rule with
``register_selection_rule(SelectionRule("name", score))``. Importable without torch (grid specs
validate ``evaluation.selection`` against the registry).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

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
"""Split name -> evaluation; the loop evaluates ``train`` (against the noisy training labels) and ``dev`` (clean)."""


@dataclass(frozen=True)
class SelectionRule:
    """``score(epoch, evaluations)``: how good an epoch's weights are (higher is better)."""

    name: str
    score: Callable[[int, Evaluations], float]
    description: str = ""


SELECTION_RULES: Registry[SelectionRule] = Registry("selection rule")
DEFAULT_SELECTION = "best_dev"


def register_selection_rule(rule: SelectionRule) -> SelectionRule:
    """Make ``rule`` available under ``rule.name`` to training and grid specs."""
    return SELECTION_RULES.register(rule.name, rule)


def get_selection_rule(name: str) -> SelectionRule:
    return SELECTION_RULES.get(name)


def _dev_accuracy(epoch: int, evaluations: Evaluations) -> float:
    return evaluations["dev"].accuracy


register_selection_rule(SelectionRule(DEFAULT_SELECTION, _dev_accuracy, "the epoch with the best clean dev accuracy"))


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

    def update(self, epoch: int, evaluations: Evaluations) -> bool:
        """Score ``epoch``; True when it is the best so far (strictly better: ties keep the earlier epoch)."""
        score = self.rule.score(epoch, evaluations)
        if self.best_score is None or score > self.best_score:
            self.best_epoch, self.best_score, self.epochs_without_improvement = epoch, score, 0
            return True
        self.epochs_without_improvement += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.epochs_without_improvement >= self.patience

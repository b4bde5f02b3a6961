"""Real noise that ships with a dataset: the ``observed`` family, and its same-T synthetic control.

A task declared with ``noisy_label: COLUMN`` beside ``label:`` carries each example's published noisy
label (from real annotators, users, or a weak process) next to its verified clean one, in the
:data:`OBSERVED_COLUMN` of its splits.

``observed`` (share s in [0, 1]): example i's training label is its observed noisy label with
probability s, its clean label otherwise. The inherited inverse-CDF draw spends the i-th uniform of the
noise seed on example i (prefix-stable, like every family) and, for a fixed seed, the examples that take
their noisy label at a smaller s are among those that take it at a larger one; s = 1 is the dataset as
published, exactly. The expected rate is s × (the examples' disagreement rate), so a target rate has a
closed form up to the dataset's own rate.

``observed-same-t`` (weight w in [0, 1]) is its control: the class-conditional transition matrix T of
the same examples' clean/observed pairs (row c: how class c's observed labels spread over the classes)
is estimated and fed to the matrix family's rule, ``P = (1 - w)·I + w·T``. At w = s both families have
the same expected rate and the same expected transition counts; what differs is *which* examples flip:
the observed noise hits the examples annotators found hard, the control hits a class's examples alike.
The gap between them (paired by seed) is the part of the real noise that is instance-dependent
(CIFAR-N: synthetic noise with the human T was "much easier" than the human noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from noisebench.data.tables import OBSERVED_COLUMN
from noisebench.errors import ConfigError
from noisebench.noise.families.base import NoiseFamily, NoiseInputs
from noisebench.noise.families.matrix import MatrixFamily, mixed_probabilities, share_for_rate
from noisebench.parameters import Parameter


@dataclass(frozen=True)
class ObservedInputs(NoiseInputs):
    """Noise inputs with each example's observed noisy label (``observed[i]``, a class id)."""

    observed: np.ndarray | None = None


def observed_transition(clean: np.ndarray, observed: np.ndarray, num_labels: int) -> np.ndarray:
    """``[K, K]``: row c is the share of clean-class-c examples whose observed label is each class
    (rows = clean, columns = observed); a class with no example keeps its label (identity row)."""
    counts = np.zeros((num_labels, num_labels))
    np.add.at(counts, (clean, observed), 1.0)
    totals = counts.sum(axis=1, keepdims=True)
    return np.where(totals > 0, counts / np.maximum(totals, 1.0), np.eye(num_labels))


class _ObservedBase(NoiseFamily):
    """What both families read: each example's observed noisy label."""

    def make_inputs(self, frame: pd.DataFrame, num_labels: int, weak_log_probs: np.ndarray | None = None) -> ObservedInputs:
        if OBSERVED_COLUMN not in frame.columns:
            raise ConfigError(
                f"noise family {self.name} needs each example's published noisy label; only a task declared with "
                f"noisy_label: COLUMN in a tasks file has one"
            )
        return ObservedInputs(frame["label"].to_numpy(), num_labels, weak_log_probs, observed=frame[OBSERVED_COLUMN].to_numpy(dtype=np.int64))

    def _observed(self, inputs: NoiseInputs) -> np.ndarray:
        observed = getattr(inputs, "observed", None)
        if observed is None or len(observed) != len(inputs.clean):
            raise ConfigError(f"noise family {self.name} needs each example's observed noisy label (its inputs come from make_inputs on a task with noisy_label)")
        return observed

    def source_labels(self, inputs: NoiseInputs) -> np.ndarray | None:
        return self._observed(inputs)

    def extra_columns(self, inputs: NoiseInputs) -> dict[str, np.ndarray]:
        """Each example's observed noisy label, beside its clean and drawn ones."""
        return {OBSERVED_COLUMN: self._observed(inputs)}

    def disagreement(self, inputs: NoiseInputs) -> float:
        """The share of these examples whose observed label differs from the clean one (the rate at share 1)."""
        return float(np.mean(self._observed(inputs) != inputs.clean)) if len(inputs.clean) else 0.0


class ObservedFamily(_ObservedBase):
    name = "observed"
    parameter = Parameter("share", "s", "share of observed labels s", low=0.0, high=1.0)
    description = "with probability s an example takes the dataset's own noisy label (s = 1: as published)"

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        n = len(inputs.clean)
        probs = np.zeros((n, inputs.num_labels))
        probs[np.arange(n), inputs.clean] += 1.0 - level
        probs[np.arange(n), self._observed(inputs)] += level
        return probs

    def level_for_rate(self, inputs: NoiseInputs, rate: float) -> float | None:
        return share_for_rate(rate, self.disagreement(inputs), self.name, self.parameter.name)


class SameTransitionFamily(_ObservedBase):
    name = "observed-same-t"
    parameter = MatrixFamily.parameter  # the matrix family's rule, fed the estimated T
    description = "class-conditional noise with the transition matrix T estimated from the dataset's own noisy labels (observed's control)"
    control_of = ObservedFamily.name

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        return mixed_probabilities(self.transition(inputs), inputs.clean, level)

    def level_for_rate(self, inputs: NoiseInputs, rate: float) -> float | None:
        return share_for_rate(rate, self.disagreement(inputs), self.name, self.parameter.name)  # mean_i(1 - T[y_i, y_i]) is the disagreement

    def transition(self, inputs: NoiseInputs) -> np.ndarray:
        return observed_transition(inputs.clean, self._observed(inputs), inputs.num_labels)


__all__ = ["OBSERVED_COLUMN", "ObservedFamily", "ObservedInputs", "SameTransitionFamily", "observed_transition"]

"""Symmetric noise: with probability r a label is replaced by one of the other classes, uniformly."""

from __future__ import annotations

import numpy as np

from noisebench.noise.families.base import NoiseFamily, NoiseInputs
from noisebench.parameters import Parameter


class UniformFamily(NoiseFamily):
    name = "uniform"
    parameter = Parameter("rate", "r", "noise rate r", low=0.0, high=1.0)
    description = "with probability r a label moves to another class, uniformly"

    def level_for_rate(self, inputs: NoiseInputs, rate: float) -> float | None:
        return rate

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        n, k = len(inputs.clean), inputs.num_labels
        probs = np.full((n, k), level / (k - 1))
        probs[np.arange(n), inputs.clean] = 1.0 - level
        return probs

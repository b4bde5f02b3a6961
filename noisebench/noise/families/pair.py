"""Pair (asymmetric) noise: with probability r a label moves to the next class, (y + 1) mod K."""

from __future__ import annotations

import numpy as np

from noisebench.noise.families.base import NoiseFamily, NoiseInputs
from noisebench.parameters import Parameter


class PairFamily(NoiseFamily):
    name = "pair"
    parameter = Parameter("rate", "r", "noise rate r", low=0.0, high=1.0)  # the same option as uniform's --rate
    description = "with probability r a label moves to the next class, (y + 1) mod K"

    def level_for_rate(self, inputs: NoiseInputs, rate: float) -> float | None:
        return rate  # every example flips with probability r, so the expected rate is r

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        n, k = len(inputs.clean), inputs.num_labels
        rows = np.arange(n)
        probs = np.zeros((n, k))
        probs[rows, inputs.clean] = 1.0 - level
        probs[rows, (inputs.clean + 1) % k] += level
        return probs

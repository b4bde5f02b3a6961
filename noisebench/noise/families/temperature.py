"""The paper's family: each label is redrawn from softmax(weak-model logits / T); higher T, more noise."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from noisebench.errors import ConfigError
from noisebench.noise.families.base import NoiseFamily, NoiseInputs
from noisebench.parameters import Parameter


def tempered_probs(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / T)`` row-wise; T must be positive."""
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


class TemperatureFamily(NoiseFamily):
    name = "temperature"
    parameter = Parameter("temperature", "T", "temperature T", low=0.0, low_open=True)
    needs_weak_model = True
    description = "label drawn from softmax(weak logits / T) (Gunel et al. 2021)"
    search_range = (1e-3, 1e3)  # T -> 0: the weak model's argmax error; T -> inf: uniform over classes

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        if inputs.weak_log_probs is None:
            raise ConfigError("the temperature family needs the weak model's log-probabilities")
        # log-probabilities equal the logits up to a per-example constant: same tempered softmax
        return tempered_probs(inputs.weak_log_probs, level)

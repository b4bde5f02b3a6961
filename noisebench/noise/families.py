"""Noise families: rules that redraw clean labels into noisy ones, given seeds and parameters."""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from noisebench.errors import ConfigError

FAMILIES = ("temperature", "uniform")


def tempered_probs(logits: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(logits / T)`` row-wise; T must be positive."""
    if not temperature > 0:
        raise ConfigError(f"temperature must be > 0, got {temperature}")
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=1)


def draw_labels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row by inverse CDF; row i uses the i-th uniform of ``rng``.

    Drawing row by row in a fixed order makes a prefix of the examples get the same labels
    whatever the total count, so nested subsets share their noisy labels.
    """
    uniforms = rng.random(len(probs))
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    return (uniforms[:, None] >= cdf).sum(axis=1).astype(np.int64)


def temperature_noise(logits: np.ndarray, temperature: float, noise_seed: int) -> np.ndarray:
    """The paper's family: each label is drawn from ``softmax(weak_logits / T)``."""
    return draw_labels(tempered_probs(logits, temperature), np.random.default_rng(noise_seed))


def uniform_noise(clean: np.ndarray, rate: float, num_labels: int, noise_seed: int) -> np.ndarray:
    """Symmetric noise: with probability ``rate`` a label is replaced by a different class, uniformly."""
    if not 0 <= rate <= 1:
        raise ConfigError(f"noise rate must be in [0, 1], got {rate}")
    probs = np.full((len(clean), num_labels), rate / (num_labels - 1))
    probs[np.arange(len(clean)), clean] = 1 - rate
    return draw_labels(probs, np.random.default_rng(noise_seed))

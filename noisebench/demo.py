"""The offline demo grid: rt-polarity, N=100, three temperatures, CE vs CE+SCL (paper λ, τ), two seeds."""

from __future__ import annotations

from noisebench.methods import BASELINE
from noisebench.methods.ce_scl import CE_SCL
from noisebench.noise.families.temperature import TemperatureFamily
from noisebench.schema import RunConfig

DEMO_TEMPERATURES = (0.1, 0.5, 0.9)
DEMO_SEEDS = (0, 1)
DEMO_METHODS = (BASELINE, CE_SCL.name)


def demo_configs() -> list[RunConfig]:
    """12 runs sized for about 8 minutes on 2 CPU cores (short epochs, evaluation on split prefixes)."""
    common = dict(
        task="rt-polarity", n_train=100, noise_family=TemperatureFamily.name, epochs=5, batch_size=16, lr=3e-4,
        max_length=64, dev_limit=200, test_limit=500,
    )
    return [
        RunConfig(**common, noise_level=t, data_seed=s, noise_seed=s, train_seed=s, method=m)
        for t in DEMO_TEMPERATURES
        for s in DEMO_SEEDS
        for m in DEMO_METHODS
    ]

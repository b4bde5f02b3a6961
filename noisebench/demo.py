"""The offline demo grid: rt-polarity, N=100, three temperatures, CE vs CE+SCL, two seeds."""

from __future__ import annotations

from noisebench.train.config import RunConfig

DEMO_TEMPERATURES = (0.1, 0.5, 0.9)
DEMO_SEEDS = (0, 1)


def demo_configs() -> list[RunConfig]:
    """12 runs sized for about 8 minutes on 2 CPU cores (short epochs, evaluation on split prefixes)."""
    common = dict(
        task="rt-polarity", n_train=100, noise_family="temperature", epochs=5, batch_size=16, lr=3e-4,
        max_length=64, dev_limit=200, test_limit=500,
    )
    methods = [dict(method="ce", lam=0.0, tau=None), dict(method="ce-scl", lam=0.9, tau=0.3)]
    return [
        RunConfig(**common, temperature=t, data_seed=s, noise_seed=s, train_seed=s, **m)
        for t in DEMO_TEMPERATURES
        for s in DEMO_SEEDS
        for m in methods
    ]

"""The offline demo grid: rt-polarity, N=100, clean + two noise rates, CE vs CE+SCL (paper λ, τ), three seed sets."""

from __future__ import annotations

from typing import Any

from noisebench.grid.spec import GridSpec, expand
from noisebench.schema import RunConfig

DEMO_GRID: dict[str, Any] = {
    "name": "demo",
    "description": "offline demo: rt-polarity, MiniLM (mean pooling), N=100, clean + in-sample temperature noise at rates 0.1 and 0.3",
    "tasks": ["rt-polarity"],
    "model": "all-minilm-l6-v2",
    "n_train": [100],
    "noise": {"family": "temperature", "target_rates": [0.1, 0.3], "weak_fit": "in-sample", "include_clean": True},
    "methods": ["ce", {"name": "ce-scl", "lam": [0.9], "tau": [0.3]}],
    "seeds": {"data": [0, 1, 2], "noise": [0, 1, 2], "train": [0, 1, 2]},
    "training": {"epochs": 5, "batch_size": 16, "lr": 3e-4, "max_length": 64, "pooling": "mean"},
    "evaluation": {"dev_limit": 200, "test_limit": 500},
}
"""The quick grid's recipe at a third of its size (experiments/quick.yaml); validated by the grid schema."""


def demo_configs() -> list[RunConfig]:
    """18 runs (3 noise settings x 2 methods x 3 seed sets), sized for under 10 minutes on 2 CPU cores."""
    return expand(GridSpec.model_validate(DEMO_GRID))

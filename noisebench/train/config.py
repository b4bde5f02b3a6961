"""One run's resolved configuration, its validation, and its run_id (a hash of the config)."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from noisebench.assets import DEFAULT_ENCODER_ASSET
from noisebench.errors import ConfigError

METHODS = ("ce", "ce-scl")
NOISE_FAMILIES = ("none", "temperature", "uniform")


@dataclass(frozen=True)
class RunConfig:
    """Everything that determines one run's numbers. Flat, so it maps one-to-one onto the results table.

    ``noise_family="none"`` trains on clean labels. For ``method="ce"``, ``lam`` is 0 and ``tau`` None.
    ``dev_limit``/``test_limit`` evaluate on the first k examples of the fixed splits (None = all).
    """

    task: str = "rt-polarity"
    model: str = DEFAULT_ENCODER_ASSET
    n_train: int = 100
    data_seed: int = 0
    noise_family: str = "none"
    temperature: float | None = None
    noise_rate: float | None = None
    noise_seed: int | None = None
    method: str = "ce"
    lam: float = 0.0
    tau: float | None = None
    train_seed: int = 0
    epochs: int = 10
    batch_size: int = 16
    lr: float = 2e-5
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 128
    dev_limit: int | None = None
    test_limit: int | None = None
    pool_from_dev: bool = False
    save_embeddings: bool = False

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def run_id(self) -> str:
        """Short sha256 of the canonical JSON of the config."""
        canonical = json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> RunConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(payload) - known)
        if unknown:
            raise ConfigError(f"unknown run config keys: {', '.join(unknown)}")
        return cls(**payload)


def _validate(c: RunConfig) -> None:
    if c.method not in METHODS:
        raise ConfigError(f"unknown method {c.method!r}; known: {', '.join(METHODS)}")
    if not 0.0 <= c.lam <= 1.0 or math.isnan(c.lam):
        raise ConfigError(f"lambda must be in [0, 1], got {c.lam}")
    if c.method == "ce" and (c.lam != 0.0 or c.tau is not None):
        raise ConfigError("method ce takes no lambda or tau (use ce-scl)")
    if c.method == "ce-scl" and (c.tau is None or not c.tau > 0):
        raise ConfigError(f"tau must be > 0, got {c.tau}")
    if c.noise_family not in NOISE_FAMILIES:
        raise ConfigError(f"unknown noise family {c.noise_family!r}; known: {', '.join(NOISE_FAMILIES)}")
    if c.noise_family == "temperature" and (c.temperature is None or not c.temperature > 0):
        raise ConfigError(f"temperature must be > 0, got {c.temperature}")
    if c.noise_family == "uniform" and (c.noise_rate is None or not 0 <= c.noise_rate <= 1):
        raise ConfigError(f"noise rate must be in [0, 1], got {c.noise_rate}")
    if c.noise_family != "none" and c.noise_seed is None:
        raise ConfigError("a noisy run needs a noise_seed")
    for name in ("n_train", "epochs", "batch_size", "max_length"):
        if getattr(c, name) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(c, name)}")
    for name in ("dev_limit", "test_limit"):
        if getattr(c, name) is not None and getattr(c, name) < 1:
            raise ConfigError(f"{name} must be >= 1, got {getattr(c, name)}")
    if not c.lr > 0:
        raise ConfigError(f"lr must be > 0, got {c.lr}")
    if not 0 <= c.warmup_ratio < 1:
        raise ConfigError(f"warmup_ratio must be in [0, 1), got {c.warmup_ratio}")

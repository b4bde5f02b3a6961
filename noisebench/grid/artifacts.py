"""Shared noise artifacts for grid runs: one per (task, family, level, data_seed, noise_seed)."""

from __future__ import annotations

import time
from pathlib import Path

from noisebench.data.tasks import load_task
from noisebench.errors import DataError
from noisebench.grid.claims import claim
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.train.config import RunConfig

WAIT_FOR_OTHER_WRITER_S = 600.0


def noise_spec(config: RunConfig) -> NoiseSpec | None:
    """The artifact a run needs, or None for clean labels.

    Artifacts relabel the whole pool in the nested order of ``data_seed``; a run's N-example subset
    is a prefix of that order and its noisy labels are the same for every N, so one artifact
    serves every n_train, method and train_seed.
    """
    if config.noise_family == "none":
        return None
    level = config.temperature if config.noise_family == "temperature" else config.noise_rate
    assert level is not None and config.noise_seed is not None
    return NoiseSpec(config.noise_family, level, config.noise_seed, config.data_seed, None)


def artifact_path(results_dir: Path, task: str, spec: NoiseSpec) -> Path:
    return Path(results_dir) / "noise" / task / f"{spec.family}-{spec.level:g}" / f"data{spec.data_seed}-noise{spec.noise_seed}"


def ensure_artifact(results_dir: Path, config: RunConfig, *, data_dir: Path | None = None) -> Path | None:
    """Return the run's artifact, generating it under a claim if no worker has yet."""
    spec = noise_spec(config)
    if spec is None:
        return None
    path = artifact_path(results_dir, config.task, spec)
    deadline = time.monotonic() + WAIT_FOR_OTHER_WRITER_S
    while not path.exists():
        with claim(path.with_name(f".{path.name}.lock")) as mine:
            if mine and not path.exists():
                task = load_task(config.task, data_dir=data_dir, pool_from_dev=config.pool_from_dev)
                generate(task, [spec], [path], progress=False)
                break
        if time.monotonic() > deadline:
            raise DataError(f"timed out waiting for another worker to write {path}")
        time.sleep(1.0)
    return path

"""Shared noise artifacts for grid runs: one per (task, family, level, weak labeller and fit, data_seed, noise_seed, n_relabel)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from noisebench.data.tasks import load_task
from noisebench.errors import DataError
from noisebench.grid.claims import claim
from noisebench.noise.families import is_clean
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.schema import RunConfig
from noisebench.store.layout import noise_root

WAIT_FOR_OTHER_WRITER_S = 600.0


def noise_spec(config: RunConfig) -> NoiseSpec | None:
    """The artifact a run needs, or None for clean labels.

    An artifact relabels the first ``config.n_relabel`` pool examples (None: the whole pool) in the
    nested order of ``data_seed``; a run's N-example subset is a prefix of that order and its noisy
    labels are the same for every N <= n_relabel, so one artifact serves every such n_train, method
    and train_seed.
    """
    if is_clean(config.noise_family):
        return None
    assert config.noise_level is not None and config.noise_seed is not None
    return NoiseSpec(
        family=config.noise_family, level=config.noise_level, noise_seed=config.noise_seed,
        data_seed=config.data_seed, n_relabel=config.n_relabel, noise_param=config.noise_param,
        weak_fit=config.weak_fit, weak_model=config.weak_model, weak_options=tuple(sorted(config.weak_options.items())),
    )


def needed_artifacts(configs: Iterable[RunConfig]) -> dict[tuple[str, NoiseSpec], RunConfig]:
    """The distinct artifacts ``configs`` train on, each with the first run that needs it, in order.

    Every method variant and train seed of one (task, noise setting, data and noise seed) shares one.
    """
    firsts: dict[tuple[str, NoiseSpec], RunConfig] = {}
    for config in configs:
        spec = noise_spec(config)
        if spec is not None:
            firsts.setdefault((config.task, spec), config)
    return firsts


def artifact_path(results_dir: Path, task: str, spec: NoiseSpec) -> Path:
    """``noise/<task>/<family>-<T0.5|target0.2>[-<labeller>[-<options hash>]][-<fit>]/data<d>-noise<n>``, plus ``-relabel<k>`` unless
    the whole pool is relabelled."""
    seeds = f"data{spec.data_seed}-noise{spec.noise_seed}"
    if spec.n_relabel is not None:
        seeds += f"-relabel{spec.n_relabel}"
    return noise_root(results_dir) / task / f"{spec.family}-{spec.folder_name()}" / seeds


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

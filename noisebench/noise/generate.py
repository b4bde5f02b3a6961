"""Generate noise artifacts for a task: fit the weak model once, relabel per temperature, write each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from noisebench.data.sampling import nested_order
from noisebench.data.tasks import TaskData, frame_hash
from noisebench.errors import ConfigError, DataError
from noisebench.noise.artifact import noise_summary, write_artifact
from noisebench.noise.families import FAMILIES, temperature_noise, uniform_noise
from noisebench.noise.weak import WeakModel, fit_weak_model


@dataclass(frozen=True)
class NoiseSpec:
    """One artifact to make: the family and its parameter, seeds, and how many pool examples to relabel.

    ``n_relabel=None`` relabels the whole pool. Examples are taken (and drawn) in the pool's nested
    order for ``data_seed``, so an artifact for N covers the training subset of every n_train <= N.
    """

    family: str
    level: float
    noise_seed: int = 0
    data_seed: int = 0
    n_relabel: int | None = None

    def validate(self, pool_size: int) -> None:
        if self.family not in FAMILIES:
            raise ConfigError(f"unknown noise family {self.family!r}; known: {', '.join(FAMILIES)}")
        if self.family == "temperature" and not self.level > 0:
            raise ConfigError(f"temperature must be > 0, got {self.level}")
        if self.family == "uniform" and not 0 <= self.level <= 1:
            raise ConfigError(f"uniform noise rate must be in [0, 1], got {self.level}")
        if self.n_relabel is not None and not 1 <= self.n_relabel <= pool_size:
            raise DataError(f"n_relabel={self.n_relabel} must be between 1 and the pool size {pool_size}")

    @property
    def param_name(self) -> str:
        return "temperature" if self.family == "temperature" else "rate"


def relabel_frame(task: TaskData, spec: NoiseSpec) -> pd.DataFrame:
    """The examples ``spec`` covers, in nested order for ``spec.data_seed``."""
    order = nested_order(task.pool["label"].to_numpy(), spec.data_seed)
    if spec.n_relabel is not None:
        order = order[: spec.n_relabel]
    return task.pool.iloc[order].reset_index(drop=True)


def make_labels(task: TaskData, spec: NoiseSpec, weak: WeakModel | None) -> pd.DataFrame:
    """Per-example clean and noisy labels (and the weak model's probabilities for model-based families)."""
    frame = relabel_frame(task, spec)
    clean = frame["label"].to_numpy()
    labels = pd.DataFrame({"id": frame["id"], "label_clean": clean})
    if spec.family == "temperature":
        assert weak is not None
        log_probs = weak.log_probs(frame)
        noisy = temperature_noise(log_probs, spec.level, spec.noise_seed)
        for k in range(task.num_labels):
            labels[f"weak_prob_{k}"] = np.exp(log_probs[:, k])
    else:
        noisy = uniform_noise(clean, spec.level, task.num_labels, spec.noise_seed)
    labels["label_noisy"] = noisy
    labels["is_corrupted"] = noisy != clean
    return labels


def build_meta(task: TaskData, spec: NoiseSpec, labels: pd.DataFrame, weak: WeakModel | None) -> dict[str, Any]:
    """The ``noise.json`` content (without schema and package versions, added on write)."""
    meta: dict[str, Any] = {
        "task": task.name,
        "family": spec.family,
        "params": {spec.param_name: spec.level},
        "seeds": {"noise_seed": spec.noise_seed, "data_seed": spec.data_seed, "split_seed": 0},
        "n_relabel": "all" if spec.n_relabel is None else spec.n_relabel,
        "source_hash": task.source_hash,
        **noise_summary(labels["label_clean"].to_numpy(), labels["label_noisy"].to_numpy(), task.label_names),
    }
    if weak is not None:
        meta["weak_model"] = {
            "kind": weak.kind,
            "train_size": weak.train_size,
            "dev_accuracy": weak.accuracy(task.dev),
        }
    return meta


_WEAK_CACHE: dict[str, WeakModel] = {}


def weak_model_for(task: TaskData) -> WeakModel:
    """The task's weak model, fitted once per process (keyed by the hash of its clean training split)."""
    key = f"{task.name}:{task.num_labels}:{frame_hash(task.weak_train)}"
    if key not in _WEAK_CACHE:
        _WEAK_CACHE[key] = fit_weak_model(task.weak_train, num_labels=task.num_labels)
    return _WEAK_CACHE[key]


def generate(task: TaskData, specs: list[NoiseSpec], out_dirs: list[Path], *, progress: bool = True) -> list[Path]:
    """Write one artifact per spec. All specs are validated and all outputs checked before anything is written."""
    for spec in specs:
        spec.validate(len(task.pool))
    taken = [p for p in out_dirs if Path(p).exists()]
    if taken:
        raise DataError(f"output {taken[0]} already exists; choose another --out or remove it")
    weak = weak_model_for(task) if any(s.family == "temperature" for s in specs) else None
    written = []
    for spec, out_dir in tqdm(list(zip(specs, out_dirs)), desc="relabelling", unit="artifact", disable=not progress):
        labels = make_labels(task, spec, weak)
        written.append(write_artifact(out_dir, labels, build_meta(task, spec, labels, weak)))
    return written

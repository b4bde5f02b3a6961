"""Generate noise artifacts for a task: fit the weak model once (if a family needs it), relabel per level, write each."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from noisebench.data.sampling import nested_order
from noisebench.data.tasks import TaskData, frame_hash
from noisebench.errors import ConfigError, DataError
from noisebench.noise.artifact import noise_summary, write_artifact
from noisebench.noise.families import NoiseFamily, NoiseInputs, get_family
from noisebench.noise.families.base import labels_frame
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
        self.noise_family.parameter.check(self.level)
        for name, seed in (("noise_seed", self.noise_seed), ("data_seed", self.data_seed)):
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {seed!r}")
        if self.n_relabel is not None and not 1 <= self.n_relabel <= pool_size:
            raise DataError(f"n_relabel={self.n_relabel} must be between 1 and the pool size {pool_size}")

    @property
    def noise_family(self) -> NoiseFamily:
        return get_family(self.family)


def relabel_frame(task: TaskData, spec: NoiseSpec) -> pd.DataFrame:
    """The examples ``spec`` covers, in nested order for ``spec.data_seed``."""
    order = nested_order(task.pool["label"].to_numpy(), spec.data_seed)
    if spec.n_relabel is not None:
        order = order[: spec.n_relabel]
    return task.pool.iloc[order].reset_index(drop=True)


def noise_inputs(task: TaskData, frame: pd.DataFrame, family: NoiseFamily, weak: WeakModel | None) -> NoiseInputs:
    """What ``family`` sees of the examples in ``frame``: clean labels and, if it needs them, weak log-probabilities."""
    log_probs = None
    if family.needs_weak_model:
        if weak is None:
            raise ConfigError(f"noise family {family.name} needs a weak model")
        log_probs = weak.log_probs(frame)
    return NoiseInputs(frame["label"].to_numpy(), task.num_labels, log_probs)


def make_labels(task: TaskData, spec: NoiseSpec, weak: WeakModel | None) -> tuple[pd.DataFrame, float]:
    """Per-example clean and noisy labels (and the family's extra columns, e.g. weak probabilities),
    with the family's exact expected noise rate over these examples."""
    family = spec.noise_family
    frame = relabel_frame(task, spec)
    inputs = noise_inputs(task, frame, family, weak)
    noisy = family.draw(inputs, spec.level, spec.noise_seed)
    labels = labels_frame(frame["id"], inputs.clean, noisy, family.extra_columns(inputs))
    return labels, family.expected_rate(inputs, spec.level)


def build_meta(task: TaskData, spec: NoiseSpec, labels: pd.DataFrame, weak: WeakModel | None, expected_rate: float) -> dict[str, Any]:
    """The ``noise.json`` content (without schema and package versions, added on write)."""
    meta: dict[str, Any] = {
        "task": task.name,
        "family": spec.family,
        "params": {spec.noise_family.parameter.name: spec.level},
        "seeds": {"noise_seed": spec.noise_seed, "data_seed": spec.data_seed, "split_seed": 0},
        "n_relabel": "all" if spec.n_relabel is None else spec.n_relabel,
        "source_hash": task.source_hash,
        "expected_noise_rate": expected_rate,
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
    weak = weak_model_for(task) if any(s.noise_family.needs_weak_model for s in specs) else None
    written = []
    for spec, out_dir in tqdm(list(zip(specs, out_dirs)), desc="relabelling", unit="artifact", disable=not progress):
        labels, expected = make_labels(task, spec, weak)
        written.append(write_artifact(out_dir, labels, build_meta(task, spec, labels, weak, expected)))
    return written

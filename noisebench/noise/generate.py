"""Generate noise artifacts for a task: score with the weak model once (if the family needs it), relabel per level, write each."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench.assets import DEFAULT_ENCODER_ASSET
from noisebench.data.sampling import nested_order
from noisebench.data.tasks import TaskData, frame_hash
from noisebench.errors import ConfigError, DataError
from noisebench.noise.artifact import noise_summary, write_artifact
from noisebench.noise.calibrate import solve_level
from noisebench.noise.existing import keep_existing
from noisebench.noise.families import TARGET_RATE, NoiseFamily, get_family, level_parameter
from noisebench.noise.families.base import labels_frame
from noisebench.noise.weak import (
    DEFAULT_WEAK_FIT,
    WeakScores,
    check_weak_fit,
    get_labeller,
    resolve_weak,
    weak_folder_suffix,
    weak_scores,
)
from noisebench.progress import progress_bar


@dataclass(frozen=True)
class NoiseSpec:
    """One artifact to make: the family and its level, seeds, how many pool examples to relabel, and which
    weak labeller scores the examples and how it is fitted.

    ``level`` is a value of ``noise_param``: the family's own parameter (None: that one) or
    ``target_rate``, in which case the family's parameter is solved so that the expected noise rate
    over the relabelled examples equals the level. ``weak_fit`` applies to families that need a weak
    model (None: the default, in-sample) and must be None for the others. ``n_relabel=None``
    relabels the whole pool. ``weak_model`` (None: the default, tfidf-logreg) and ``weak_options``
    (name-value pairs, sorted) also apply only to such families; an option left out takes its default,
    and a default that is "the run's model" is the default encoder asset here (a NoiseSpec knows no run:
    RunConfig and the CLI fill it first). Examples are taken (and drawn) in the pool's nested order for
    ``data_seed``, so an artifact for N covers the training subset of every n_train <= N.
    """

    family: str
    level: float
    noise_seed: int = 0
    data_seed: int = 0
    n_relabel: int | None = None
    noise_param: str | None = None
    weak_fit: str | None = None
    weak_model: str | None = None
    weak_options: tuple[tuple[str, str], ...] = ()

    def validate(self, pool_size: int) -> None:
        level_parameter(self.family, self.noise_param).check(self.level)
        for name, seed in (("noise_seed", self.noise_seed), ("data_seed", self.data_seed)):
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {seed!r}")
        given = [k for k in ("weak_fit", "weak_model", "weak_options") if getattr(self, k)]
        if given and not self.noise_family.needs_weak_model:
            raise ConfigError(f"noise family {self.family} uses no weak model, so it takes no {', '.join(given)}")
        if self.weak_fit is not None:
            check_weak_fit(self.weak_fit)
        self.resolved_weak()
        if self.n_relabel is not None and not 1 <= self.n_relabel <= pool_size:
            raise DataError(f"n_relabel={self.n_relabel} must be between 1 and the pool size {pool_size}")

    @property
    def noise_family(self) -> NoiseFamily:
        return get_family(self.family)

    @property
    def is_target(self) -> bool:
        return self.noise_param == TARGET_RATE.name

    @property
    def resolved_weak_fit(self) -> str | None:
        return (self.weak_fit or DEFAULT_WEAK_FIT) if self.noise_family.needs_weak_model else None

    def resolved_weak(self) -> tuple[str, dict[str, str]] | None:
        """``(labeller, options)`` with defaults filled, or None for a family without a weak model."""
        if not self.noise_family.needs_weak_model:
            return None
        return resolve_weak(self.weak_model, dict(self.weak_options), model=DEFAULT_ENCODER_ASSET)

    def folder_name(self) -> str:
        """``T0.5``, ``r0.2``, ``target0.2``; with ``-<labeller>[-<options hash>]`` for a weak labeller other than
        the default and ``-<fit>`` for a weak fit other than the default."""
        name = f"target{self.level:g}" if self.is_target else self.noise_family.folder_name(self.level)
        weak = self.resolved_weak()
        if weak is not None:
            name += weak_folder_suffix(*weak)
        fit = self.resolved_weak_fit
        return name if fit in (None, DEFAULT_WEAK_FIT) else f"{name}-{fit}"


def relabel_frame(task: TaskData, spec: NoiseSpec) -> pd.DataFrame:
    """The examples ``spec`` covers, in nested order for ``spec.data_seed``."""
    order = nested_order(task.pool["label"].to_numpy(), spec.data_seed)
    if spec.n_relabel is not None:
        order = order[: spec.n_relabel]
    return task.pool.iloc[order].reset_index(drop=True)


_SCORES_CACHE: dict[tuple, WeakScores] = {}


def scores_for(task: TaskData, frame: pd.DataFrame, fit: str, labeller: str, options: dict[str, str]) -> WeakScores:
    """The weak labeller's scores for ``frame``, in its order.

    The labeller is fitted on the examples sorted by id, so it depends on which examples are relabelled,
    not on their order: every data_seed relabelling the whole pool shares one weak model. Cached per
    process per (task data, example set, fit, labeller and options).
    """
    canonical = frame.sort_values("id", kind="stable").reset_index(drop=True)
    key = (task.name, frame_hash(canonical), task.label_names, fit, frame_hash(task.weak_train), labeller, tuple(sorted(options.items())))
    if key not in _SCORES_CACHE:
        _SCORES_CACHE[key] = weak_scores(
            canonical, fit=fit, weak_train=task.weak_train, dev=task.dev, labeller=get_labeller(labeller),
            options=options, label_names=task.label_names,
        )
    cached = _SCORES_CACHE[key]
    position = pd.Series(range(len(canonical)), index=canonical["id"].to_numpy())
    return dataclasses.replace(cached, log_probs=cached.log_probs[position.loc[frame["id"].to_numpy()].to_numpy()])


@dataclass(frozen=True)
class Relabelled:
    """One relabelling: the labels table and what noise.json says about how it was made."""

    labels: pd.DataFrame
    level: float
    expected_rate: float
    scores: WeakScores | None
    source: np.ndarray | None = None
    """The noise source's labels of these examples (a dataset's own noisy labels), where the family has one."""


def relabel(task: TaskData, spec: NoiseSpec) -> Relabelled:
    """Draw the noisy labels of ``spec`` (solving the family's level first for a target rate)."""
    return _relabel_examples(task, spec, relabel_frame(task, spec), spec.noise_seed)


DEV_STREAM = 0x646576
"""Mixed with the noise seed for the dev split's draw, so it is not the pool's first draws again."""


def relabel_dev(task: TaskData, spec: NoiseSpec) -> Relabelled:
    """The dev split relabelled by the same family, level, weak labeller and fit as the pool, from the same noise seed.

    The weak labeller is fitted as ``spec`` says with dev in the pool's place (in-sample: on dev itself),
    and a target rate is solved on dev, so the dev split's noise rate is near the training one.
    """
    seed = int(np.random.SeedSequence([spec.noise_seed, DEV_STREAM]).generate_state(1)[0])
    return _relabel_examples(task, spec, task.dev.reset_index(drop=True), seed)


def _relabel_examples(task: TaskData, spec: NoiseSpec, frame: pd.DataFrame, seed: int) -> Relabelled:
    family = spec.noise_family
    weak = spec.resolved_weak()
    scores = None if weak is None else scores_for(task, frame, spec.resolved_weak_fit, *weak)
    inputs = family.make_inputs(frame, task.num_labels, None if scores is None else scores.log_probs)
    level = solve_level(family, inputs, spec.level) if spec.is_target else spec.level
    noisy = family.draw(inputs, level, seed)
    labels = labels_frame(frame["id"], inputs.clean, noisy, family.extra_columns(inputs))
    return Relabelled(labels, level, family.expected_rate(inputs, level), scores, family.source_labels(inputs))


def source_meta(task: TaskData, made: Relabelled) -> dict[str, Any]:
    """noise.json's ``source`` block, for a family that draws from a noise source: the full rate and transition
    matrix of the source's labels on the same examples (what share 1 would give), beside the drawn ones."""
    if made.source is None:
        return {}
    clean = made.labels["label_clean"].to_numpy()
    return {"source": {"what": "the examples' own noisy labels, all of them (the rate at share 1)", **noise_summary(clean, made.source, task.label_names)}}


def dev_meta(task: TaskData, spec: NoiseSpec, made: Relabelled) -> dict[str, Any]:
    """noise.json's ``dev`` block: the dev split's level, expected and realised noise and transition matrix."""
    return {
        "params": {spec.noise_family.parameter.name: made.level},
        "expected_noise_rate": made.expected_rate,
        **noise_summary(made.labels["label_clean"].to_numpy(), made.labels["label_noisy"].to_numpy(), task.label_names),
        **source_meta(task, made),
    }


def _dev_or_reason(task: TaskData, spec: NoiseSpec) -> Relabelled | str:
    """The noisy dev labels, or why they cannot be made (e.g. a predictions file without dev ids): the
    artifact still serves every run that selects on clean dev."""
    try:
        return relabel_dev(task, spec)
    except (ConfigError, DataError) as exc:
        return str(exc)


def build_meta(task: TaskData, spec: NoiseSpec, made: Relabelled) -> dict[str, Any]:
    """The ``noise.json`` content (without schema and package versions, added on write)."""
    meta: dict[str, Any] = {
        "task": task.name,
        "family": spec.family,
        "params": {spec.noise_family.parameter.name: made.level},
        "seeds": {"noise_seed": spec.noise_seed, "data_seed": spec.data_seed, "split_seed": 0},
        "n_relabel": "all" if spec.n_relabel is None else spec.n_relabel,
        "source_hash": task.source_hash,
        "expected_noise_rate": made.expected_rate,
        **noise_summary(made.labels["label_clean"].to_numpy(), made.labels["label_noisy"].to_numpy(), task.label_names),
        **source_meta(task, made),
    }
    if spec.is_target:
        meta["target_rate"] = spec.level
    weak = spec.resolved_weak()
    if made.scores is not None and weak is not None:
        meta["weak_model"] = {
            "kind": weak[0],
            "options": weak[1],
            "fit": made.scores.fit,
            "fitted": made.scores.fitted,
            "train_size": made.scores.train_size,
            "folds": made.scores.folds,
            "dev_accuracy": made.scores.dev_accuracy,
            "fit_accuracy": made.scores.fit_accuracy,
            **made.scores.provenance,
            **({} if made.scores.fitted else {"note": "read, not fitted: every fit mode gives the same scores"}),
        }
    return meta


@dataclass(frozen=True)
class Drawn:
    """An artifact drawn in memory, not yet written: its spec, output folder, pool and dev relabellings."""

    spec: NoiseSpec
    out_dir: Path
    pool: Relabelled
    dev: Relabelled | str


def generate(task: TaskData, specs: list[NoiseSpec], out_dirs: list[Path], *, progress: bool = True) -> list[Path]:
    """Write one artifact per spec; return every output folder, in order.

    An output that already exists is kept if it is the same artifact, intact (running an interrupted
    command again finishes it), and is an error otherwise (:func:`~noisebench.noise.existing.keep_existing`).
    All specs are validated, all outputs checked and every missing relabelling drawn (a target rate out of
    reach fails here) before anything is written (:func:`draw`, then :func:`write_drawn`).
    """
    for drawn in draw(task, specs, out_dirs, progress=progress):
        write_drawn(task, drawn)
    return [Path(out_dir) for out_dir in out_dirs]


def draw(task: TaskData, specs: list[NoiseSpec], out_dirs: list[Path], *, progress: bool = True) -> list[Drawn]:
    """Every spec validated against ``task``, every output checked, and each missing artifact drawn in memory;
    nothing is written. An output that already holds the same artifact is left out (see :func:`generate`).

    Raises:
        ConfigError, DataError: a spec the task cannot take (e.g. annotator noise on a task without raters,
            n_relabel over the pool, a target rate out of reach) or an output holding another artifact.
    """
    for spec in specs:
        spec.validate(len(task.pool))
        spec.noise_family.check_classes(task.num_labels)
    pending = [(spec, Path(out_dir)) for spec, out_dir in zip(specs, out_dirs) if not keep_existing(task, spec, Path(out_dir))]
    for spec, _ in pending:  # fit or read every weak labeller first: a bad predictions file or encoder fails before the bar starts
        weak = spec.resolved_weak()
        if weak is not None:
            scores_for(task, relabel_frame(task, spec), spec.resolved_weak_fit, *weak)
    bar = progress_bar(pending, desc="relabelling", unit="artifact", disable=not progress or not pending)
    return [Drawn(spec, out_dir, relabel(task, spec), _dev_or_reason(task, spec)) for spec, out_dir in bar]


def write_drawn(task: TaskData, drawn: Drawn) -> Path:
    """Write an artifact that :func:`draw` made (atomically, as :func:`~noisebench.noise.artifact.write_artifact` does)."""
    meta = build_meta(task, drawn.spec, drawn.pool)
    if isinstance(drawn.dev, str):
        return write_artifact(drawn.out_dir, drawn.pool.labels, {**meta, "dev": {"unavailable": drawn.dev}})
    return write_artifact(drawn.out_dir, drawn.pool.labels, {**meta, "dev": dev_meta(task, drawn.spec, drawn.dev)}, dev_labels=drawn.dev.labels)

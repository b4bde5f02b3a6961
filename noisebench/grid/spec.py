"""Experiment grid files: ``experiments/*.yaml`` -> a validated :class:`GridSpec` -> a list of RunConfig.

Field types, bounds and defaults come from :mod:`noisebench.schema`, noise families and methods from
their registries, so a family or method that a plugin registers works in a grid as it is. Every
problem is a :class:`~noisebench.errors.ConfigError` naming the file, the line and the key path, e.g.
``experiments/quick.yaml line 18: noise.levels[2]: temperature must be in (0, inf), got -0.1``.
Duplicate keys and malformed YAML are errors too; booleans are never numbers; ``1e-5`` (a string to
YAML 1.1) gets the hint to write ``1.0e-5``. Anchors and merge keys (``<<``) work.

Schema (R = required; the defaults of ``training`` and ``evaluation`` are RunConfig's)::

    name: quick                   # R
    description: "..."
    task_files: [tasks.yaml]      #    tasks files declaring more tasks (paths relative to the grid file)
    tasks: [rt-polarity]          # R  task names (noisebench.data.tasks, or declared in task_files)
    model: all-minilm-l6-v2       # R  asset name, local path or hub id
    n_train: [100, all]           # R  ints >= 1, or all: the task's whole pool, resolved by ``expand``
    noise:                        # R  one block, or a list of blocks (settings are their union per task)
      family: temperature         # R  a registered noise family, or none (clean labels)
      levels: [0.1, 0.5]          #    values of the family's parameter: required for a family, not for none
      target_rates: [0.2]         #    expected noise rates, each solved for the family's parameter
      weak_fit: in-sample         #    families with a weak model: in-sample, held-out or cross-fit
      weak_model: encoder-probe   #    families with a weak model: a registered weak labeller (default tfidf-logreg)
      weak_options: {encoder: m}  #    its options (noisebench list weak-labellers); encoder-probe's encoder: the grid's model
      include_clean: false        #    clean runs too (the anchor at noise 0)
      n_relabel: all              #    all, or how many pool examples each artifact relabels (>= every n_train)
      tasks: [rt-polarity]        #    only these of the grid's tasks (default: all of them)
    methods:                      # R  a registered method (hyper-parameters at their defaults), or a name
      - ce                        #    and a list of values per hyper-parameter (the others at their
      - {name: ce-scl, lam: [0.9], tau: [0.1, 0.3]}   # defaults); expands to every combination
    seeds:                        # R  lists of ints >= 0
      data: [0, 1, 2]             # R  the few-shot subset draw
      noise: [0, 1, 2]            #    the relabelling draw: required unless family is none (then ignored)
      train: [0, 1, 2]            # R  initialisation, batch order, dropout
      mode: zipped                #    zipped: the i-th seeds form seed set i; crossed: every combination
    training: {epochs, batch_size (or a list: an axis), lr, warmup_ratio, weight_decay, max_length, pooling: cls|mean, precision: fp32|bf16|fp16,
               save_model: false, init_from: null,   # init_from: one value or a list (an axis); see TrainingSpec
               report_to: [tensorboard]}             # trackers each run also reports to (not in the run's config)
    evaluation: {dev_limit, test_limit, pool_from_dev, save_embeddings, selection: best_dev (or a list: an axis), patience, test_every_epoch}
    executor: {partition: null, time_min: 60, gpus_per_node: 1, gpus_per_run: 1, cpus_per_task: 8, mem_gb: 32, array_parallelism: 16}
                                  #    without name: these (submitit's) keys, for --executor (default local); or
                                  #    a registered executor's block: {name: ray, num_cpus_per_run: 1,
                                  #    num_gpus_per_run: 0.25, address: null}; see 'noisebench list executors'

A task, n_train, level, hyper-parameter value, method variant or seed set listed twice is an error:
those runs would share a run_id; so is a noise setting (or clean runs) that two blocks give one task.
"""
from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    PrivateAttr,
    ValidationError,
    WrapValidator,
    model_validator,
)

from noisebench.errors import ConfigError
from noisebench.grid.executors import ExecutorOptions
from noisebench.grid.sections import (  # noqa: F401  (ExecutorSpec and the sections are part of this module's API)
    ALL,
    CountOrAll,
    EvaluationSpec,
    ExecutorSpec,
    MethodSpec,
    NoiseBlocks,
    NoiseGrid,
    SeedSpec,
    TaskName,
    TrainingSpec,
    _executor_block,
    _Invalid,
    _register_tasks_file,
    _unique,
)
from noisebench.methods import get_method
from noisebench.noise.families import get_family, is_clean, noise_label
from noisebench.schema import (
    STRICT,
    Name,
    RunConfig,
    describe_error,
)
from noisebench.yamlfile import Loc, key_path, line_of, read_yaml

__all__ = [
    "ALL", "EvaluationSpec", "ExecutorSpec", "GridSpec", "MethodSpec", "NoiseGrid", "SeedSpec",
    "TrainingSpec", "expand", "load_grid",
]


class GridSpec(BaseModel):
    """One experiment grid; :func:`load_grid` reads it from YAML with line numbers in errors."""

    model_config = STRICT

    name: Name
    description: str = ""
    task_files: Annotated[list[Annotated[Name, AfterValidator(_register_tasks_file)]], AfterValidator(_unique)] = []
    tasks: Annotated[list[TaskName], Field(min_length=1), AfterValidator(_unique)]
    model: Name
    n_train: Annotated[list[CountOrAll], Field(min_length=1), AfterValidator(_unique)]
    noise: NoiseBlocks
    methods: Annotated[list[MethodSpec], Field(min_length=1)]
    seeds: SeedSpec
    training: TrainingSpec = TrainingSpec()
    evaluation: EvaluationSpec = EvaluationSpec()
    executor: Annotated[ExecutorOptions, WrapValidator(_executor_block)] = ExecutorSpec()
    _source: Path | None = PrivateAttr(None)

    @model_validator(mode="before")
    @classmethod
    def _empty_sections(cls, data: Any) -> Any:
        """``training:`` with nothing under it keeps every default."""
        if isinstance(data, dict):
            return {k: {} if v is None and k in ("training", "evaluation", "executor") else v for k, v in data.items()}
        return data

    @model_validator(mode="after")
    def _check_across_sections(self) -> GridSpec:
        try:
            self.seeds.check(noisy=self.noisy)
        except _Invalid as exc:
            raise _Invalid(str(exc), "seeds", *exc.loc) from None
        for i, block in enumerate(self.noise):
            self._check_block(i, block)
        for task in self.tasks:
            self.settings(task)
        self.method_variants()
        return self

    def _check_block(self, i: int, block: NoiseGrid) -> None:
        for j, task in enumerate(block.tasks or []):
            if task not in self.tasks:
                raise _Invalid(f"task {task} is not one of the grid's tasks ({', '.join(self.tasks)})", "noise", i, "tasks", j)
        count = block.relabel_count
        if count is None:
            return
        if ALL in self.n_train:
            raise _Invalid(f"must be {ALL!r} when n_train includes {ALL!r}, got {count}", "noise", i, "n_relabel")
        largest = max(int(n) for n in self.n_train)
        if count < largest:
            raise _Invalid(
                f"must be >= the largest n_train ({largest}) so that each artifact covers every training subset, got {count}",
                "noise", i, "n_relabel",
            )

    @property
    def noisy(self) -> bool:
        """Whether any block corrupts labels (then noise seeds are required)."""
        return any(block.noisy for block in self.noise)

    def settings(self, task: str) -> list[dict[str, Any]]:
        """The noise settings ``task`` runs under: every block that applies to it, in order; a setting that
        two blocks give the task is an error."""
        settings: list[dict[str, Any]] = []
        origin: list[int] = []
        for i, block in enumerate(self.noise):
            if not block.applies_to(task):
                continue
            for setting in block.settings():
                if setting in settings:
                    first = origin[settings.index(setting)]
                    shown = "clean runs" if is_clean(setting["noise_family"]) else (
                        f"{setting['noise_family']} {setting.get('noise_param') or get_family(setting['noise_family']).parameter.name} {setting['noise_level']:g}"
                    )
                    raise _Invalid(f"{shown} for task {task} already come from noise[{first}]", "noise", i)
                settings.append(setting)
                origin.append(i)
        return settings

    def method_variants(self) -> list[tuple[str, dict[str, float]]]:
        """Every ``(method, params)`` in order; a variant listed twice is an error."""
        variants: list[tuple[str, dict[str, float]]] = []
        first: dict[tuple[str, tuple[tuple[str, float], ...]], int] = {}
        for i, method in enumerate(self.methods):
            for params in method.variants():
                key = (method.name, tuple(sorted(params.items())))
                if key in first:
                    shown = get_method(method.name).label(params)
                    raise _Invalid(f"duplicate method variant {shown} (also in methods[{first[key]}])", "methods", i)
                first[key] = i
                variants.append((method.name, params))
        return variants

    @property
    def source(self) -> Path | None:
        """The file this grid was loaded from, if any."""
        return self._source

    @property
    def label(self) -> str:
        """How errors name this grid: its file, else its name."""
        return str(self._source) if self._source is not None else f"grid {self.name!r}"


# --------------------------------------------------------------------------------------------------
# Expansion

PoolSize = Callable[[str], int]


def expand(grid: GridSpec, *, pool_size: PoolSize | None = None) -> list[RunConfig]:
    """Every run of ``grid``, ordered by task, init_from, batch size, n_train, noise level, seed set, method variant, selection rule.

    ``pool_size(task)`` resolves ``n_train: all``; it is only called for grids that use "all", once
    per task, and defaults to the size of the task's pool (``load_task``, honouring
    ``evaluation.pool_from_dev``). An "all" that resolves to a size also listed explicitly is dropped.
    """
    common = {"model": grid.model, **grid.training.model_dump(exclude={"init_from", "batch_size", "report_to"}), **grid.evaluation.model_dump(exclude={"selection"})}
    seed_sets = grid.seeds.seed_sets(noisy=grid.noisy)
    variants = grid.method_variants()
    configs = [
        RunConfig(
            task=task, n_train=n_train, data_seed=data_seed, train_seed=train_seed, method=method, method_params=params,
            noise_seed=None if is_clean(setting["noise_family"]) else noise_seed, init_from=init_from, batch_size=batch_size,
            selection=selection, **setting, **common,
        )
        for task in grid.tasks
        for init_from in grid.training.init_from
        for batch_size in grid.training.batch_size
        for n_train in _resolve_n_train(grid, task, pool_size)
        for setting in grid.settings(task)
        for data_seed, noise_seed, train_seed in seed_sets
        for method, params in variants
        for selection in grid.evaluation.selection
    ]
    _refuse_repeated_runs(grid, configs)
    return configs


def _refuse_repeated_runs(grid: GridSpec, configs: list[RunConfig]) -> None:
    """Two entries that describe one run once defaults are filled in (e.g. two noise blocks, one naming the
    default weak labeller) would share a run_id: a ConfigError naming the run."""
    seen: dict[str, int] = {}
    for index, config in enumerate(configs):
        if config.run_id in seen:
            setting = noise_label(config.noise_family, config.noise_param, config.noise_level)
            raise ConfigError(
                f"{grid.label}: runs {seen[config.run_id] + 1} and {index + 1} are the same run {config.run_id} ({config.task} N={config.n_train} "
                f"{setting} {get_method(config.method).label(config.method_params)}) once defaults are filled in: two noise blocks or "
                "method variants describe one setting; list it once"
            )
        seen[config.run_id] = index


def _resolve_n_train(grid: GridSpec, task: str, pool_size: PoolSize | None) -> list[int]:
    if ALL not in grid.n_train:
        return [int(n) for n in grid.n_train]
    size = (pool_size or _default_pool_size(grid.evaluation.pool_from_dev))(task)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"{grid.label}: n_train all: pool size of task {task} must be an int >= 1, got {size!r}")
    return list(dict.fromkeys(size if n == ALL else int(n) for n in grid.n_train))


def _default_pool_size(pool_from_dev: bool) -> PoolSize:
    def size(task: str) -> int:
        from noisebench.data.tasks import load_task

        return len(load_task(task, pool_from_dev=pool_from_dev).pool)

    return size


# --------------------------------------------------------------------------------------------------
# Loading, with the YAML line of every error


def load_grid(path: Path | str) -> GridSpec:
    """Read, validate and return the grid at ``path``; every problem is a ConfigError with a line."""
    path = Path(path)
    root, data = read_yaml(path, what="grid file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path} line {line_of(root, ())}: expected a mapping of grid keys, got {type(data).__name__}")
    try:
        grid = GridSpec.model_validate(data, context={"base": path.parent})
    except ValidationError as exc:
        error = exc.errors()[0]
        loc: Loc = tuple(error["loc"]) + getattr((error.get("ctx") or {}).get("error"), "loc", ())
        if isinstance(data.get("noise"), dict) and loc[:2] == ("noise", 0):
            loc = ("noise", *loc[2:])  # one block written as a mapping: no index in its key paths
        raise ConfigError(f"{path} line {line_of(root, loc)}: {_describe(error, loc)}") from None
    grid._source = path
    return grid


def _describe(error: Any, loc: Loc) -> str:
    """``schema.describe_error`` with our key path, plus hints for unknown keys and YAML 1.1 floats."""
    kind, value = error["type"], error.get("input")
    if kind == "invalid_key":
        return f"{key_path(loc[:-1]) or 'grid'}: keys must be strings, got {value!r}"
    if kind == "too_short" or (kind == "int_type" and isinstance(value, float)):  # not "got a list" / "got 100"
        return f"{key_path(loc)}: " + ("must not be empty" if kind == "too_short" else f"must be an integer, got {value!r}")
    if kind in ("model_type", "model_attributes_type"):
        error = {**error, "type": "dict_type"}
    message = describe_error({**error, "loc": (key_path(loc),) if loc else ()})
    if kind == "extra_forbidden":
        message += _known_keys(loc)
    if kind in ("float_type", "int_type") and isinstance(value, str) and _is_number(value):
        mantissa, _, exponent = value.strip().lower().partition("e")
        fixed = f"{mantissa}.0e{exponent}" if exponent and "." not in mantissa else "a plain number"
        message += f" (YAML 1.1 reads {value} as a string: write {fixed})"
    return message


_SECTIONS: dict[Loc, type[BaseModel]] = {
    (): GridSpec, ("noise",): NoiseGrid, ("seeds",): SeedSpec,
    ("training",): TrainingSpec, ("evaluation",): EvaluationSpec, ("executor",): ExecutorSpec,
}


def _known_keys(loc: Loc) -> str:
    model = _SECTIONS.get(tuple(part for part in loc[:-1] if not isinstance(part, int)))
    if model is None:
        return ""
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return (f" (did you mean {close[0]!r}?)" if close else "") + f"; known keys: {', '.join(known)}"


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

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
    training: {epochs, batch_size, lr, warmup_ratio, weight_decay, max_length, pooling: cls|mean, precision: fp32|bf16|fp16,
               save_model: false, init_from: null}   # init_from: one value or a list (an axis); see TrainingSpec
    evaluation: {dev_limit, test_limit, pool_from_dev, save_embeddings, selection: best_dev}
    executor: {partition: null, time_min: 60, gpus_per_node: 1, gpus_per_run: 1, cpus_per_task: 8, mem_gb: 32, array_parallelism: 16}
                                  #    without name: these (submitit's) keys, for --executor (default local); or
                                  #    a registered executor's block: {name: ray, num_cpus_per_run: 1,
                                  #    num_gpus_per_run: 0.25, address: null}; see 'noisebench list executors'

A task, n_train, level, hyper-parameter value, method variant or seed set listed twice is an error:
those runs would share a run_id; so is a noise setting (or clean runs) that two blocks give one task.
"""

from __future__ import annotations

import difflib
import itertools
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from noisebench.errors import ConfigError
from noisebench.grid.executors import ExecutorOptions, options_model
from noisebench.grid.executors.submitit import SubmititOptions
from noisebench.yamlfile import Loc, key_path, line_of, read_yaml
from noisebench.methods import get_method
from noisebench.noise.families import CLEAN, TARGET_RATE, get_family, is_clean
from noisebench.noise.weak import DEFAULT_WEAK_MODEL, check_weak_fit, get_labeller
from noisebench.schema import (
    STRICT,
    Name,
    NonNegativeFloat,
    PositiveFloat,
    Pooling,
    PositiveInt,
    Precision,
    Ratio,
    RunConfig,
    Seed,
    default,
    describe_error,
)

__all__ = [
    "ALL", "EvaluationSpec", "ExecutorSpec", "GridSpec", "MethodSpec", "NoiseGrid", "SeedSpec",
    "TrainingSpec", "expand", "load_grid",
]

ALL = "all"
"""``n_train: [all]`` (the whole pool) and ``n_relabel: all``."""



class _Invalid(ValueError):
    """A validation error that knows where the bad value sits below the model that raised it."""

    def __init__(self, message: str, *loc: str | int) -> None:
        super().__init__(message)
        self.loc = loc


def _first_repeat(items: Sequence[Hashable]) -> tuple[int, int] | None:
    """``(i, j)``: item i repeats item j < i; None when all differ."""
    first: dict[Hashable, int] = {}
    for i, item in enumerate(items):
        if item in first:
            return i, first[item]
        first[item] = i
    return None


def _unique(items: list[Any]) -> list[Any]:
    repeat = _first_repeat(items)
    if repeat is not None:
        i, j = repeat
        raise _Invalid(f"duplicate entry {items[i]!r} (same as item {j})", i)
    return items


def _or_all(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if value == ALL:
        return ALL
    if isinstance(value, str):
        raise ValueError(f"must be an integer >= 1 or {ALL!r}, got {value!r}")
    return handler(value)


def _known_task(name: str) -> str:
    from noisebench.data.tasks import get_task_spec

    get_task_spec(name)  # a DataError (a ValueError) listing the known tasks
    return name


def _known_selection_rule(name: str) -> str:
    from noisebench.train.selection import get_selection_rule

    get_selection_rule(name)  # a ConfigError (a ValueError) listing the registered rules
    return name


def _register_tasks_file(name: str, info: ValidationInfo) -> str:
    """Register the tasks a grid's ``task_files`` entry declares (relative to the grid file) before its tasks are checked."""
    from noisebench.data.declared import register_tasks_file

    base = (info.context or {}).get("base", Path("."))
    register_tasks_file(Path(base) / name)
    return name


def _numbers_as_text(value: Any) -> Any:
    """Option values are strings; ``max_length: 64`` in YAML is an int and means ``"64"``."""
    if isinstance(value, dict):
        return {k: str(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v for k, v in value.items()}
    return value


CountOrAll = Annotated[PositiveInt, WrapValidator(_or_all)]
"""An int >= 1 or :data:`ALL`."""
TaskName = Annotated[Name, AfterValidator(_known_task)]
Values = Annotated[list[Annotated[float, Field(allow_inf_nan=False)]], Field(min_length=1), AfterValidator(_unique)]
Seeds = Annotated[list[Seed], Field(min_length=1)]


class NoiseGrid(BaseModel):
    """The noise family, its levels, and how many pool examples each artifact relabels."""

    model_config = STRICT

    family: Name = CLEAN
    levels: Values | None = None
    target_rates: Values | None = None
    weak_fit: Name | None = None
    weak_model: Name | None = None
    weak_options: Annotated[dict[str, str], BeforeValidator(_numbers_as_text)] | None = None
    include_clean: bool = False
    n_relabel: CountOrAll = ALL
    tasks: Annotated[list[TaskName], Field(min_length=1), AfterValidator(_unique)] | None = None

    @model_validator(mode="after")
    def _check_levels(self) -> NoiseGrid:
        if is_clean(self.family):
            for key in ("levels", "target_rates", "weak_fit", "weak_model", "weak_options", "include_clean", "n_relabel"):
                if key in self.model_fields_set:
                    raise _Invalid(f"does not apply to noise family {self.family}", key)
            return self
        try:
            family = get_family(self.family)
        except ConfigError as exc:
            raise _Invalid(str(exc), "family") from None
        parameter = family.parameter
        if self.levels is None and self.target_rates is None:
            raise _Invalid(
                f"required for noise family {self.family} (or target_rates): {parameter.name} values in {parameter.bounds_text()}", "levels"
            )
        for key, check in (("levels", parameter.check), ("target_rates", TARGET_RATE.check)):
            for i, level in enumerate(getattr(self, key) or []):
                try:
                    check(level)
                except ConfigError as exc:
                    raise _Invalid(str(exc), key, i) from None
        for key in ("weak_fit", "weak_model", "weak_options"):
            if getattr(self, key) is not None and not family.needs_weak_model:
                raise _Invalid(f"noise family {self.family} uses no weak model", key)
        if self.weak_fit is not None:
            try:
                check_weak_fit(self.weak_fit)
            except ConfigError as exc:
                raise _Invalid(str(exc), "weak_fit") from None
        self._check_weak_labeller()
        return self

    def _check_weak_labeller(self) -> None:
        """The labeller is registered and takes these options (a default that is the run's model is checked per run)."""
        if self.weak_model is None and self.weak_options is None:
            return
        try:
            labeller = get_labeller(self.weak_model or DEFAULT_WEAK_MODEL)
        except ConfigError as exc:
            raise _Invalid(str(exc), "weak_model") from None
        options = self.weak_options or {}
        try:
            labeller.resolve_options(options, model="the grid's model")
        except ConfigError as exc:
            unknown = sorted(set(options) - {option.name for option in labeller.options})
            loc = ("weak_options", unknown[0]) if unknown else ("weak_options",) if options else ("weak_model",)
            raise _Invalid(str(exc), *loc) from None

    @property
    def noisy(self) -> bool:
        return not is_clean(self.family)

    def settings(self) -> list[dict[str, Any]]:
        """The noise fields of each setting to expand: clean runs (if included, or for a clean grid), then
        each level of the family's parameter, then each target rate."""
        clean = {"noise_family": CLEAN}
        if not self.noisy:
            return [clean]
        own = {"noise_family": self.family, "weak_fit": self.weak_fit, "weak_model": self.weak_model, "weak_options": self.weak_options or {}, "n_relabel": self.relabel_count}
        return (
            ([clean] if self.include_clean else [])
            + [{**own, "noise_level": level} for level in self.levels or []]
            + [{**own, "noise_param": TARGET_RATE.name, "noise_level": rate} for rate in self.target_rates or []]
        )

    @property
    def relabel_count(self) -> int | None:
        """How many pool examples each artifact relabels; None for the whole pool."""
        return None if self.n_relabel == ALL else int(self.n_relabel)

    def applies_to(self, task: str) -> bool:
        return self.tasks is None or task in self.tasks


def _as_blocks(value: Any) -> Any:
    """``noise:`` as one mapping is a list of one block."""
    return [value] if isinstance(value, dict) else value


NoiseBlocks = Annotated[list[NoiseGrid], BeforeValidator(_as_blocks), Field(min_length=1)]


class MethodSpec(BaseModel):
    """A registered method with a list of values per hyper-parameter; unlisted ones take their defaults."""

    model_config = ConfigDict(strict=True, extra="allow", frozen=True)

    name: Name
    __pydantic_extra__: dict[str, Values]

    @model_validator(mode="before")
    @classmethod
    def _from_yaml(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"name": data}
        if not isinstance(data, dict):
            raise ValueError(f"must be a method name or a mapping with a name, got {type(data).__name__}")
        return {k: v if k == "name" or isinstance(v, list) else [v] for k, v in data.items()}

    @model_validator(mode="after")
    def _check_hyper_parameters(self) -> MethodSpec:
        try:
            parameters = {p.name: p for p in get_method(self.name).hyper_parameters}
        except ConfigError as exc:
            raise _Invalid(str(exc), "name") from None
        for key, values in self.values.items():
            if key not in parameters:
                takes = ", ".join(parameters) or "no hyper-parameters"
                raise _Invalid(f"unknown key: method {self.name} takes {takes}", key)
            for i, value in enumerate(values):
                try:
                    parameters[key].check(value)
                except ConfigError as exc:
                    raise _Invalid(str(exc), key, i) from None
        return self

    @property
    def values(self) -> dict[str, list[float]]:
        """The listed values per hyper-parameter."""
        return dict(self.model_extra or {})

    def variants(self) -> list[dict[str, float]]:
        """Every combination of the listed values, resolved (defaults filled in), in declaration order."""
        method = get_method(self.name)
        listed = [p.name for p in method.hyper_parameters if p.name in self.values]
        combos = itertools.product(*(self.values[name] for name in listed))
        return [method.resolve(dict(zip(listed, combo))) for combo in combos]


class SeedSpec(BaseModel):
    """Seed lists and how they combine into seed sets."""

    model_config = STRICT

    data: Seeds
    noise: Seeds | None = None
    train: Seeds
    mode: Literal["zipped", "crossed"] = "zipped"

    def used(self, *, noisy: bool) -> dict[str, list[int]]:
        lists = {"data": self.data, "noise": self.noise or [], "train": self.train}
        return lists if noisy else {k: v for k, v in lists.items() if k != "noise"}

    def seed_sets(self, *, noisy: bool = True) -> list[tuple[int, int | None, int]]:
        """``(data_seed, noise_seed, train_seed)``: zipped, or the product with data outermost; noise None if clean."""
        lists = self.used(noisy=noisy)
        combine = zip if self.mode == "zipped" else itertools.product
        sets = list(combine(*lists.values()))
        return sets if noisy else [(data, None, train) for data, train in sets]

    def check(self, *, noisy: bool) -> None:
        """Noise seeds for a noisy grid; equal zipped lengths; no seed set (or crossed seed) twice."""
        if noisy and self.noise is None:
            raise _Invalid("required unless the noise family is none", "noise")
        lists = self.used(noisy=noisy)
        if self.mode == "crossed":
            for key, seeds in lists.items():
                repeat = _first_repeat(seeds)
                if repeat is not None:
                    raise _Invalid(f"duplicate {key} seed {seeds[repeat[0]]}", key, repeat[0])
            return
        lengths = {key: len(seeds) for key, seeds in lists.items()}
        for key, length in lengths.items():
            if length != lengths["data"]:
                shown = ", ".join(f"{k} {n}" for k, n in lengths.items())
                raise _Invalid(f"zipped seed lists must have equal lengths, got {shown}", key)
        sets = list(zip(*lists.values()))
        repeat = _first_repeat(sets)
        if repeat is not None:
            i, j = repeat
            raise _Invalid(f"seed set {i} ({', '.join(lists)} = {', '.join(map(str, sets[i]))}) repeats seed set {j}", "data", i)


def _as_list(value: Any) -> Any:
    """A single value (null included) is a list of one."""
    return value if isinstance(value, list) else [value]


InitFrom = Annotated[list[Name | None], BeforeValidator(_as_list), Field(min_length=1), AfterValidator(_unique)]
"""Where the encoder weights come from, per run: null (the pre-trained ``model``), a run_id, or a path."""


class TrainingSpec(BaseModel):
    """Training settings shared by every run; ``init_from`` (one value or a list) is an axis of the grid.

    ``init_from`` entries: null for the pre-trained ``model``; a run_id of a run saved with
    ``save_model: true`` in the same results directory; or a run directory or saved model folder,
    relative to the results directory (see :func:`noisebench.store.runs.resolve_init_from`).
    """

    model_config = STRICT

    epochs: PositiveInt = default("epochs")
    batch_size: PositiveInt = default("batch_size")
    lr: PositiveFloat = default("lr")
    warmup_ratio: Ratio = default("warmup_ratio")
    weight_decay: NonNegativeFloat = default("weight_decay")
    max_length: PositiveInt = default("max_length")
    pooling: Pooling = default("pooling")
    precision: Precision = default("precision")
    save_model: bool = default("save_model")
    init_from: InitFrom = [default("init_from")]


class EvaluationSpec(BaseModel):
    model_config = STRICT

    dev_limit: PositiveInt | None = default("dev_limit")
    test_limit: PositiveInt | None = default("test_limit")
    pool_from_dev: bool = default("pool_from_dev")
    save_embeddings: bool = default("save_embeddings")
    selection: Annotated[Name, AfterValidator(_known_selection_rule)] = "best_dev"


ExecutorSpec = SubmititOptions
"""What an ``executor:`` block without ``name`` holds: today's flat keys (Slurm resources, gpus_per_run)."""


def _executor_block(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """The ``executor:`` block as the typed options of the executor it names (unnamed: :data:`ExecutorSpec`)."""
    if not isinstance(value, dict) or not isinstance(value.get("name"), (str, type(None))):
        return handler(value)
    name = value.get("name")
    try:
        model = options_model(name)
    except ConfigError as exc:
        raise _Invalid(str(exc), "name") from None
    if name is not None:
        for key in value:
            if key not in model.model_fields:
                raise _Invalid(f"unknown key: executor {name} takes {', '.join(k for k in model.model_fields if k != 'name')}", key)
    return model.model_validate(value)


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
    """Every run of ``grid``, ordered by task, init_from, n_train, noise level, seed set, method variant.

    ``pool_size(task)`` resolves ``n_train: all``; it is only called for grids that use "all", once
    per task, and defaults to the size of the task's pool (``load_task``, honouring
    ``evaluation.pool_from_dev``). An "all" that resolves to a size also listed explicitly is dropped.
    """
    common = {"model": grid.model, **grid.training.model_dump(exclude={"init_from"}), **grid.evaluation.model_dump(exclude={"selection"})}
    seed_sets = grid.seeds.seed_sets(noisy=grid.noisy)
    variants = grid.method_variants()
    return [
        RunConfig(
            task=task, n_train=n_train, data_seed=data_seed, train_seed=train_seed, method=method, method_params=params,
            noise_seed=None if is_clean(setting["noise_family"]) else noise_seed, init_from=init_from, **setting, **common,
        )
        for task in grid.tasks
        for init_from in grid.training.init_from
        for n_train in _resolve_n_train(grid, task, pool_size)
        for setting in grid.settings(task)
        for data_seed, noise_seed, train_seed in seed_sets
        for method, params in variants
    ]


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

"""The sections of a grid file (noise blocks, methods, seeds, training, evaluation, executor) and their shared validators.

:mod:`noisebench.grid.spec` assembles them into a :class:`~noisebench.grid.spec.GridSpec`.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from noisebench.errors import ConfigError
from noisebench.grid.executors import options_model
from noisebench.grid.executors.submitit import SubmititOptions
from noisebench.methods import get_method
from noisebench.noise.families import CLEAN, TARGET_RATE, get_family, is_clean
from noisebench.noise.weak import DEFAULT_WEAK_MODEL, check_weak_fit, get_labeller
from noisebench.schema import (
    STRICT,
    Name,
    NonNegativeFloat,
    Pooling,
    PositiveFloat,
    PositiveInt,
    Precision,
    Ratio,
    Seed,
    SelectionRuleName,
    default,
)
from noisebench.trackers import get_tracker

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


def _known_tracker(name: str) -> str:
    get_tracker(name)  # a ConfigError listing the registered trackers
    return name


TrackerName = Annotated[Name, AfterValidator(_known_tracker)]


class TrainingSpec(BaseModel):
    """Training settings shared by every run; ``init_from`` and ``batch_size`` (one value or a list) are axes of the grid.

    ``init_from`` entries: null for the pre-trained ``model``; a run_id of a run saved with
    ``save_model: true`` in the same results directory; or a run directory or saved model folder,
    relative to the results directory (see :func:`noisebench.store.runs.resolve_init_from`).
    """

    model_config = STRICT

    epochs: PositiveInt = default("epochs")
    batch_size: Annotated[list[PositiveInt], BeforeValidator(_as_list), Field(min_length=1), AfterValidator(_unique)] = [default("batch_size")]
    lr: PositiveFloat = default("lr")
    warmup_ratio: Ratio = default("warmup_ratio")
    weight_decay: NonNegativeFloat = default("weight_decay")
    max_length: PositiveInt = default("max_length")
    pooling: Pooling = default("pooling")
    precision: Precision = default("precision")
    save_model: bool = default("save_model")
    init_from: InitFrom = [default("init_from")]
    report_to: Annotated[list[TrackerName], BeforeValidator(_as_list), AfterValidator(_unique)] = []
    """Registered trackers every run also reports to (noisebench.trackers); not part of a run's config or run_id."""


class EvaluationSpec(BaseModel):
    model_config = STRICT

    dev_limit: PositiveInt | None = default("dev_limit")
    test_limit: PositiveInt | None = default("test_limit")
    pool_from_dev: bool = default("pool_from_dev")
    save_embeddings: bool = default("save_embeddings")
    selection: Annotated[list[SelectionRuleName], BeforeValidator(_as_list), Field(min_length=1), AfterValidator(_unique)] = [default("selection")]
    """One rule, or a list: an axis (each rule its own runs; with test_every_epoch one run serves every rule in the analysis)."""
    patience: PositiveInt | None = default("patience")
    test_every_epoch: bool = default("test_every_epoch")


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

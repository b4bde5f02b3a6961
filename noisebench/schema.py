"""The one definition of a run: field types, bounds and defaults, shared by RunConfig, grid files and the CLI.

Everything that determines a run's numbers is a field of :class:`RunConfig`. Grid files
(:mod:`noisebench.grid.spec`) reuse the same annotated types and take their defaults from
``RunConfig.model_fields``; the CLI takes its option defaults from there too (:func:`default`).
Validation errors become :class:`~noisebench.errors.ConfigError` with one line per problem
(:func:`describe_error`): the key path, what is allowed and the bad value.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from noisebench.assets import DEFAULT_ENCODER_ASSET
from noisebench.errors import ConfigError
from noisebench.methods import BASELINE, get_method
from noisebench.noise.families import CLEAN, get_family, is_clean, level_parameter
from noisebench.noise.weak import DEFAULT_WEAK_FIT, DEFAULT_WEAK_MODEL, check_weak_fit, resolve_weak
from noisebench.selection import DEFAULT_SELECTION, get_selection_rule

Seed = Annotated[int, Field(ge=0)]
PositiveInt = Annotated[int, Field(ge=1)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Ratio = Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1)]
Precision = Literal["fp32", "bf16", "fp16"]
"""Forward-pass precision: autocast to bf16/fp16 with float32 weights, or plain float32."""
Pooling = Literal["cls", "mean"]
"""Sentence features for the classifier and SCL: the first token's state, or the masked mean (train/encoder.py)."""

STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)


def _known_selection_rule(name: str) -> str:
    get_selection_rule(name)  # a ConfigError (a ValueError) listing the registered rules
    return name


SelectionRuleName = Annotated[Name, AfterValidator(_known_selection_rule)]
"""A registered selection rule (:mod:`noisebench.selection`)."""


class RunConfig(BaseModel):
    """Everything that determines one run's numbers. Flat, so it maps one-to-one onto the results table.

    ``noise_family="none"`` trains on clean labels (the other noise fields None); otherwise
    ``noise_level`` is a value of ``noise_param``: the family's own parameter (temperature, rate, ...;
    the default) or ``target_rate``, the expected noise rate the family's parameter is solved for. ``method_params`` holds the method's hyper-parameters, every one resolved
    (defaults filled in), so equal runs have equal run_ids. ``dev_limit``/``test_limit`` evaluate on
    the first k examples of the fixed splits (None = all).
    """

    model_config = STRICT

    task: Name = Field("rt-polarity", description="task name, e.g. rt-polarity, sst2")
    model: Name = Field(DEFAULT_ENCODER_ASSET, description="offline asset name, local path or hub id")
    init_from: Name | None = Field(
        None, description="encoder weights from a run saved with save_model (its run_id or run directory) or a saved model folder; "
        "relative paths are against the results directory; None: the pre-trained model. The head is always new"
    )
    n_train: PositiveInt = Field(100, description="training examples (a nested few-shot subset of the pool)")
    data_seed: Seed = Field(0, description="which examples form the training subset")
    noise_family: Name = Field(CLEAN, description="noise family, or none for clean labels")
    noise_param: str | None = Field(None, description="what noise_level is a value of: the family's parameter (default) or target_rate")
    noise_level: float | None = Field(None, description="value of noise_param")
    noise_seed: Seed | None = Field(None, description="the relabelling draw")
    n_relabel: PositiveInt | None = Field(None, description="how many pool examples the artifact relabels (None: all)")
    weak_fit: str | None = Field(None, description="weak model fit for families that use one: in-sample (default), held-out, cross-fit")
    weak_model: str | None = Field(None, description="weak labeller for families that use one (default tfidf-logreg; see noisebench list)")
    weak_options: dict[str, str] = Field(default_factory=dict, description="the weak labeller's options, every one resolved (defaults filled in)")
    method: Name = Field(BASELINE, description="training method")
    method_params: dict[str, float] = Field(default_factory=dict, description="the method's hyper-parameters")
    train_seed: Seed = Field(0, description="head initialisation, batch order, dropout")
    pooling: Pooling = Field("cls", description="sentence features for the classifier and SCL: first token or masked mean")
    precision: Precision = Field(
        "fp32", description="forward-pass precision (autocast; float32 weights). A fixed value, not 'auto', so run_id does not depend on the machine: the CLI resolves --precision auto before building the config"
    )
    epochs: PositiveInt = 10
    batch_size: PositiveInt = 16
    lr: PositiveFloat = 2e-5
    warmup_ratio: Ratio = 0.1
    weight_decay: NonNegativeFloat = 0.01
    max_length: PositiveInt = 128
    dev_limit: PositiveInt | None = Field(None, description="evaluate on the first k dev examples only")
    test_limit: PositiveInt | None = Field(None, description="evaluate on the first k test examples only")
    pool_from_dev: bool = Field(False, description="carve the train pool out of dev (no train file)")
    save_embeddings: bool = Field(False, description="save the test set's [CLS] embeddings (for t-SNE)")
    save_model: bool = Field(False, description="save the selected epoch's model and its tokenizer in the run directory (model/), for init_from")
    selection: SelectionRuleName = Field(
        DEFAULT_SELECTION, description="the rule that picks the tested epoch: best_dev (clean dev), best_noisy_dev (dev relabelled like the "
        "training labels), last_epoch, or a plugin's (see noisebench list selection)"
    )
    patience: PositiveInt | None = Field(None, description="stop after this many epochs without a better selection score (None: train every epoch)")
    test_every_epoch: bool = Field(
        False, description="also evaluate the test set after every epoch, so every selection rule can be scored on the same trained run"
    )

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ConfigError(describe_error(exc.errors()[0])) from None

    @model_validator(mode="after")
    def _check_noise_and_method(self) -> RunConfig:
        if is_clean(self.noise_family):
            given = [k for k in ("noise_param", "noise_level", "noise_seed", "n_relabel") if getattr(self, k) is not None] + self._weak_fields_given()
            if given:
                raise ConfigError(f"a clean run (noise_family none) takes no {', '.join(given)}")
        else:
            self._resolve_noise()
        resolved = get_method(self.method).resolve(self.method_params)
        if resolved != self.method_params:
            object.__setattr__(self, "method_params", resolved)
        return self

    def _resolve_noise(self) -> None:
        family = get_family(self.noise_family)
        parameter = level_parameter(family.name, self.noise_param)
        if self.noise_level is None:
            raise ConfigError(f"noise family {family.name} needs a noise_level ({parameter.name})")
        parameter.check(self.noise_level)
        if self.noise_seed is None:
            raise ConfigError("a noisy run needs a noise_seed")
        if self.n_relabel is not None and self.n_relabel < self.n_train:
            raise ConfigError(f"n_relabel ({self.n_relabel}) must be >= n_train ({self.n_train}) so the artifact covers the training subset")
        if family.needs_weak_model:
            weak_fit = check_weak_fit(self.weak_fit or DEFAULT_WEAK_FIT)
            weak_model, weak_options = resolve_weak(self.weak_model, self.weak_options, model=self.model)
        else:
            given = self._weak_fields_given()
            if given:
                raise ConfigError(f"noise family {family.name} uses no weak model, so it takes no {', '.join(given)}")
            weak_fit, weak_model, weak_options = None, None, {}
        object.__setattr__(self, "noise_param", parameter.name)
        object.__setattr__(self, "weak_fit", weak_fit)
        object.__setattr__(self, "weak_model", weak_model)
        object.__setattr__(self, "weak_options", weak_options)

    def _weak_fields_given(self) -> list[str]:
        """The weak-labeller fields set away from their defaults (a family without a weak model takes none)."""
        return [k for k in ("weak_fit", "weak_model") if getattr(self, k) is not None] + (["weak_options"] if self.weak_options else [])

    @property
    def run_id(self) -> str:
        """Short sha256 of the canonical JSON of the config (fields of :data:`HASHED_WHEN_SET` only when set)."""
        payload = {k: v for k, v in self.to_dict().items() if not (k in HASHED_WHEN_SET and v in HASHED_WHEN_SET[k])}
        canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    @classmethod
    def from_dict(cls, payload: dict[str, Any]) -> RunConfig:
        """A config from ``to_dict()`` output."""
        return build(cls, payload)


HASHED_WHEN_SET: dict[str, tuple[Any, ...]] = {
    "init_from": (None,), "save_model": (False,), "weak_model": (None, DEFAULT_WEAK_MODEL), "weak_options": ({},),
    "selection": (DEFAULT_SELECTION,), "patience": (None,), "test_every_epoch": (False,),
}
"""Fields added after results existed, with their default values: a field at a default is left out of
``run_id``, so the runs of earlier versions keep their ids (a grid re-run still skips them). A weak
model is None without one and the default labeller (what every earlier run used) with one."""


def build(model: type[BaseModel], payload: dict[str, Any], *, where: str = "") -> Any:
    """``model.model_validate(payload)`` with validation errors as one ConfigError line."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ConfigError((f"{where}: " if where else "") + describe_error(exc.errors()[0])) from None


def default(field: str) -> Any:
    """The default of a RunConfig field (for CLI options)."""
    info = RunConfig.model_fields[field]
    return info.get_default(call_default_factory=True)


def describe_error(error: Any) -> str:
    """One pydantic error as ``path: what is allowed, got value``."""
    path = ".".join(str(part) for part in error.get("loc", ()))
    kind, ctx, value = error.get("type", ""), error.get("ctx", {}) or {}, error.get("input")
    if kind == "value_error" and "error" in ctx:
        what = str(ctx["error"])
        return f"{path}: {what}" if path else what
    if kind == "missing":
        return f"{path}: required key is missing"
    if kind == "extra_forbidden":
        return f"{path}: unknown key"
    what = _KINDS.get(kind)
    if what is None:
        what = error.get("msg", kind)
    else:
        what = what.format(**{k: _fmt(v) for k, v in ctx.items()})
    return f"{path}: {what}, got {_shown(value)}" if path else f"{what}, got {_shown(value)}"


_KINDS = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "finite_number": "must be finite",
    "int_type": "must be an integer",
    "int_from_float": "must be an integer",
    "float_type": "must be a number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "string_too_short": "must not be empty",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "too_short": "must not be empty",
    "literal_error": "must be one of {expected}",
}


def _fmt(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return f"{value:g}"
    return str(value)


def _shown(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "null"
    if isinstance(value, (int, float)):
        return _fmt(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__

"""Experiment grid specs: ``experiments/*.yaml`` -> validated frozen dataclasses -> a list of RunConfig.

A grid file is one YAML mapping. Every key is checked: unknown keys (at any level), wrong types and
impossible values raise :class:`~noisebench.errors.ConfigError` naming the file, the line and the key
path, e.g. ``experiments/quick.yaml line 7: noise.temperatures[2]: temperature must be > 0, got -0.1``.
Malformed YAML, duplicate keys and a missing file are ConfigErrors too. Booleans are never accepted
where a number is expected, and numbers that YAML 1.1 reads as strings (``1e-5``: write ``1.0e-5``)
are rejected with that hint. Anchors and merge keys (``<<``) work; explicit keys override merged ones.

Schema (R = required, otherwise optional with the default shown)::

    name: quick                     # R  str
    description: "..."              #    str, default ""
    tasks: [rt-polarity]            # R  non-empty list of task names (keys of noisebench.data.tasks.TASKS)
    model: all-minilm-l6-v2         # R  str: asset name, local path or hub id
    n_train: [100]                  # R  non-empty list; each an int >= 1 or "all" (the task's whole pool,
                                    #    resolved at expand time; see ``expand``)
    noise:                          # R
      family: temperature           # R  none | temperature | uniform
      temperatures: [0.1, 0.5]      #    required for (and only allowed with) temperature; each > 0
      rates: [0.2, 0.4]             #    required for (and only allowed with) uniform; each in [0, 1]
      n_relabel: all                #    "all" (default) or int >= 1: how many pool examples each noise
                                    #    artifact relabels; an int must be >= every n_train ("all" is then
                                    #    not allowed in n_train). Not allowed with family none.
    methods:                        # R  non-empty list; each item "ce" or a mapping:
      - ce                          #    ce -> lam 0.0, tau None ({name: ce} works too; ce takes no lam/tau)
      - {name: ce-scl, lam: [0.9], tau: [0.3]}   # ce-scl needs lam (each in [0, 1]) and tau (each > 0);
                                    #    it expands to every (lam, tau) pair
    seeds:                          # R
      data: [0, 1, 2]               # R  non-empty list of int >= 0: the few-shot subset draw
      noise: [0, 1, 2]              #    required unless family is none: the noisy-label draw
      train: [0, 1, 2]              # R  initialisation and batch order
      mode: zipped                  #    zipped (default): the i-th data, noise and train seeds form seed
                                    #    set i (the lists must have equal lengths); crossed: every combination
    training:                       #    every key optional, defaults from RunConfig
      epochs: 10                    #    int >= 1
      batch_size: 16                #    int >= 1
      lr: 2.0e-5                    #    > 0
      warmup_ratio: 0.1             #    in [0, 1)
      weight_decay: 0.01            #    >= 0
      max_length: 128               #    int >= 1
    evaluation:                     #    every key optional
      dev_limit: null               #    null (all) or int >= 1: evaluate on the first k dev examples
      test_limit: null              #    null (all) or int >= 1
      pool_from_dev: false          #    bool: carve the pool from GLUE dev when there is no train file
      save_embeddings: false        #    bool
      selection: best_dev           #    best_dev only: model selection on dev after each epoch
    executor:                       #    every key optional: Slurm resources (submitit)
      partition: null               #    null or str
      time_min: 60                  #    int >= 1
      gpus_per_node: 1              #    int >= 0
      cpus_per_task: 8              #    int >= 1
      mem_gb: 32                    #    int >= 1
      array_parallelism: 16         #    int >= 1

Duplicates (a task, n_train, temperature, rate, lam or tau listed twice, two identical method
variants, two identical seed sets) are errors: they would give runs with the same run_id.

With ``family: none`` every run trains on clean labels: ``temperature``, ``noise_rate`` and
``noise_seed`` are None and ``seeds.noise`` is ignored (it may be omitted; if given it is type-checked
but neither counted for the zipped length check nor expanded).
"""

from __future__ import annotations

import difflib
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, NamedTuple, Union

import yaml

from noisebench.errors import ConfigError
from noisebench.train.config import METHODS, NOISE_FAMILIES, RunConfig

__all__ = [
    "ALL",
    "SEED_MODES",
    "SELECTIONS",
    "NoiseGrid",
    "MethodSpec",
    "SeedSpec",
    "TrainingSpec",
    "EvaluationSpec",
    "ExecutorSpec",
    "GridSpec",
    "NoiseJob",
    "load_grid",
    "expand",
    "noise_jobs",
]

ALL = "all"
"""``n_train: [all]`` (the whole pool) and ``n_relabel: all``."""

SEED_MODES = ("zipped", "crossed")
SELECTIONS = ("best_dev",)

_RUN_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(RunConfig)}

NTrain = Union[int, str]
"""An int >= 1 or :data:`ALL`."""


# --------------------------------------------------------------------------------------------------
# Dataclasses


@dataclass(frozen=True)
class NoiseGrid:
    """The noise family and its levels. ``n_relabel=None`` means the whole pool ("all")."""

    family: str = "none"
    temperatures: tuple[float, ...] = ()
    rates: tuple[float, ...] = ()
    n_relabel: int | None = None

    @property
    def levels(self) -> tuple[float | None, ...]:
        """The family's parameter values; ``(None,)`` for clean training."""
        if self.family == "temperature":
            return self.temperatures
        if self.family == "uniform":
            return self.rates
        return (None,)


@dataclass(frozen=True)
class MethodSpec:
    """A training objective and its hyperparameter lists (ce: ``lam=(0.0,)``, ``tau=(None,)``)."""

    name: str
    lam: tuple[float, ...] = (0.0,)
    tau: tuple[float | None, ...] = (None,)

    def variants(self) -> list[tuple[str, float, float | None]]:
        """Every ``(method, lam, tau)``, lam-major."""
        return [(self.name, lam, tau) for lam in self.lam for tau in self.tau]


@dataclass(frozen=True)
class SeedSpec:
    """Seed lists and how they combine into seed sets."""

    data: tuple[int, ...]
    noise: tuple[int, ...]
    train: tuple[int, ...]
    mode: str = "zipped"

    def seed_sets(self, *, noisy: bool = True) -> list[tuple[int, int | None, int]]:
        """``(data_seed, noise_seed, train_seed)`` in order; ``noisy=False`` ignores the noise seeds (None).

        zipped: the i-th seeds of each list; crossed: the product, data seed outermost.
        """
        noise: Sequence[int | None] = self.noise if noisy else (None,)
        if self.mode == "zipped":
            if noisy:
                sets = list(zip(self.data, self.noise, self.train))
            else:
                sets = [(d, None, t) for d, t in zip(self.data, self.train)]
        else:
            sets = list(itertools.product(self.data, noise, self.train))
        return list(dict.fromkeys(sets))


@dataclass(frozen=True)
class TrainingSpec:
    epochs: int = _RUN_DEFAULTS["epochs"]
    batch_size: int = _RUN_DEFAULTS["batch_size"]
    lr: float = _RUN_DEFAULTS["lr"]
    warmup_ratio: float = _RUN_DEFAULTS["warmup_ratio"]
    weight_decay: float = _RUN_DEFAULTS["weight_decay"]
    max_length: int = _RUN_DEFAULTS["max_length"]


@dataclass(frozen=True)
class EvaluationSpec:
    dev_limit: int | None = _RUN_DEFAULTS["dev_limit"]
    test_limit: int | None = _RUN_DEFAULTS["test_limit"]
    pool_from_dev: bool = _RUN_DEFAULTS["pool_from_dev"]
    save_embeddings: bool = _RUN_DEFAULTS["save_embeddings"]
    selection: str = "best_dev"


@dataclass(frozen=True)
class ExecutorSpec:
    """Slurm resources per array task (submitit)."""

    partition: str | None = None
    time_min: int = 60
    gpus_per_node: int = 1
    cpus_per_task: int = 8
    mem_gb: int = 32
    array_parallelism: int = 16


@dataclass(frozen=True)
class GridSpec:
    """One experiment grid, as loaded by :func:`load_grid` (which does all the validation)."""

    name: str
    description: str
    tasks: tuple[str, ...]
    model: str
    n_train: tuple[NTrain, ...]
    noise: NoiseGrid
    methods: tuple[MethodSpec, ...]
    seeds: SeedSpec
    training: TrainingSpec = TrainingSpec()
    evaluation: EvaluationSpec = EvaluationSpec()
    executor: ExecutorSpec = ExecutorSpec()
    source: Path | None = None

    @property
    def label(self) -> str:
        """How errors name this grid: its file, else its name."""
        return str(self.source) if self.source is not None else f"grid {self.name!r}"


class NoiseJob(NamedTuple):
    """One noise artifact a grid needs; shared by every method variant and train seed."""

    task: str
    n_train: int
    family: str
    level: float
    data_seed: int
    noise_seed: int


# --------------------------------------------------------------------------------------------------
# Expansion


PoolSize = Callable[[str], int]


def expand(grid: GridSpec, *, pool_size: PoolSize | None = None) -> list[RunConfig]:
    """Every run of ``grid``, ordered by task, n_train, noise level, seed set, method variant.

    ``pool_size(task)`` resolves ``n_train: all``; it is only called for grids that use "all", once
    per task, and defaults to the size of the task's pool (``load_task``, honouring
    ``evaluation.pool_from_dev``). An "all" that resolves to a size also listed explicitly is dropped.
    """
    family = grid.noise.family
    seed_sets = grid.seeds.seed_sets(noisy=family != "none")
    variants = [variant for method in grid.methods for variant in method.variants()]
    t, e = grid.training, grid.evaluation
    runs: list[RunConfig] = []
    try:
        for task in grid.tasks:
            for n_train in _resolve_n_train(grid, task, pool_size):
                for level in grid.noise.levels:
                    for data_seed, noise_seed, train_seed in seed_sets:
                        for method, lam, tau in variants:
                            runs.append(
                                RunConfig(
                                    task=task,
                                    model=grid.model,
                                    n_train=n_train,
                                    data_seed=data_seed,
                                    noise_family=family,
                                    temperature=level if family == "temperature" else None,
                                    noise_rate=level if family == "uniform" else None,
                                    noise_seed=noise_seed,
                                    method=method,
                                    lam=lam,
                                    tau=tau,
                                    train_seed=train_seed,
                                    epochs=t.epochs,
                                    batch_size=t.batch_size,
                                    lr=t.lr,
                                    warmup_ratio=t.warmup_ratio,
                                    weight_decay=t.weight_decay,
                                    max_length=t.max_length,
                                    dev_limit=e.dev_limit,
                                    test_limit=e.test_limit,
                                    pool_from_dev=e.pool_from_dev,
                                    save_embeddings=e.save_embeddings,
                                )
                            )
    except ConfigError as exc:
        raise ConfigError(f"{grid.label}: {exc}") from exc
    return runs


def noise_jobs(grid: GridSpec, *, pool_size: PoolSize | None = None) -> list[NoiseJob]:
    """The distinct noise artifacts ``grid`` needs, in expansion order (none for ``family: none``).

    One per ``(task, n_train, family, level, data_seed, noise_seed)``: every method variant and train
    seed of that tuple trains on the same noisy labels. Each relabels ``grid.noise.n_relabel`` pool
    examples (None: all). ``pool_size`` as in :func:`expand`.
    """
    if grid.noise.family == "none":
        return []
    seed_sets = grid.seeds.seed_sets(noisy=True)
    jobs: dict[NoiseJob, None] = {}
    for task in grid.tasks:
        for n_train in _resolve_n_train(grid, task, pool_size):
            for level in grid.noise.levels:
                for data_seed, noise_seed, _ in seed_sets:
                    assert level is not None and noise_seed is not None
                    jobs[NoiseJob(task, n_train, grid.noise.family, level, data_seed, noise_seed)] = None
    return list(jobs)


def _resolve_n_train(grid: GridSpec, task: str, pool_size: PoolSize | None) -> list[int]:
    if ALL not in grid.n_train:
        return [int(n) for n in grid.n_train]
    if pool_size is None:
        pool_size = _default_pool_size(grid.evaluation.pool_from_dev)
    size = pool_size(task)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"{grid.label}: n_train all: pool size of task {task} must be an int >= 1, got {size!r}")
    resolved = [size if n == ALL else int(n) for n in grid.n_train]
    return list(dict.fromkeys(resolved))


def _default_pool_size(pool_from_dev: bool) -> PoolSize:
    def size(task: str) -> int:
        from noisebench.data.tasks import load_task

        return len(load_task(task, pool_from_dev=pool_from_dev).pool)

    return size


# --------------------------------------------------------------------------------------------------
# YAML with line numbers


class _LineDict(dict):
    """A mapping that remembers the line of each key (1-based)."""

    line: int = 1

    def __init__(self) -> None:
        super().__init__()
        self.lines: dict[Any, int] = {}


class _LineList(list):
    """A sequence that remembers the line of each item (1-based)."""

    line: int = 1
    lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry line numbers; duplicate keys are errors."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    explicit = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)  # merged (<<) pairs first, then the explicit ones, which override them
    first_explicit = len(node.value) - explicit
    out = _LineDict()
    out.line = node.start_mark.line + 1
    explicit_keys: set[Any] = set()
    for index, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, "found an unhashable key", key_node.start_mark
            ) from None
        if index >= first_explicit:
            if key in explicit_keys:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first at line {out.lines[key]})",
                    key_node.start_mark,
                )
            explicit_keys.add(key)
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _LineList:
    out = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


_LineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_LineLoader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


# --------------------------------------------------------------------------------------------------
# Validation helpers


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, int):
        return f"an integer ({value})"
    if isinstance(value, float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _looks_numeric(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


class _At:
    """A value of the document with its key path and the line of its key (or list item)."""

    def __init__(self, file: str, path: str, line: int, value: Any) -> None:
        self.file, self.path, self.line, self.value = file, path, line, value

    def error(self, message: str) -> ConfigError:
        where = f"{self.path}: " if self.path else ""
        return ConfigError(f"{self.file} line {self.line}: {where}{message}")

    def _child_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def child(self, key: str, value: Any, line: int) -> _At:
        return _At(self.file, self._child_path(key), line, value)

    def missing(self, key: str, why: str = "required key is missing") -> ConfigError:
        return _At(self.file, self._child_path(key), self.line, None).error(why)

    # containers ----------------------------------------------------------------------------------

    def mapping(
        self, required: Iterable[str] = (), optional: Iterable[str] = (), *, null_ok: bool = False
    ) -> dict[str, _At]:
        """The children of a mapping; unknown keys and missing required keys are errors."""
        required, optional = tuple(required), tuple(optional)
        if self.value is None and null_ok:
            data: dict[Any, Any] = _LineDict()
        elif isinstance(self.value, dict):
            data = self.value
        else:
            raise self.error(f"expected a mapping, got {_type_name(self.value)}")
        lines = getattr(data, "lines", {})
        known = required + optional
        children: dict[str, _At] = {}
        for key, value in data.items():
            line = lines.get(key, self.line)
            if not isinstance(key, str):
                raise _At(self.file, self.path, line, None).error(f"keys must be strings, got {_type_name(key)}")
            child = self.child(key, value, line)
            if key not in known:
                close = difflib.get_close_matches(key, known, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise child.error(f"unknown key{hint}; known keys: {', '.join(known)}")
            children[key] = child
        for key in required:
            if key not in children:
                raise self.missing(key)
        return children

    def items(self, what: str = "list") -> list[_At]:
        """The items of a non-empty list."""
        if not isinstance(self.value, list):
            raise self.error(f"expected a list, got {_type_name(self.value)}")
        if not self.value:
            raise self.error(f"{what} must not be empty")
        lines = getattr(self.value, "lines", [self.line] * len(self.value))
        return [_At(self.file, f"{self.path}[{i}]", lines[i], v) for i, v in enumerate(self.value)]

    # scalars -------------------------------------------------------------------------------------

    def string(self, *, choices: Sequence[str] | None = None, what: str = "value", empty_ok: bool = False) -> str:
        value = self.value
        if not isinstance(value, str):
            raise self.error(f"{what} must be a string, got {_type_name(value)}")
        if choices is not None and value not in choices:
            raise self.error(f"unknown {what} {value!r}; known: {', '.join(choices)}")
        if not empty_ok and not value.strip():
            raise self.error(f"{what} must not be empty")
        return value

    def integer(self, *, minimum: int | None = None, what: str = "value") -> int:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{what} must be an integer, got {_type_name(value)}")
        if minimum is not None and value < minimum:
            raise self.error(f"{what} must be >= {minimum}, got {value}")
        return value

    def optional_integer(self, *, minimum: int | None = None, what: str = "value") -> int | None:
        return None if self.value is None else self.integer(minimum=minimum, what=what)

    def number(
        self,
        *,
        what: str = "value",
        gt: float | None = None,
        ge: float | None = None,
        le: float | None = None,
        lt: float | None = None,
    ) -> float:
        value = self.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            hint = ""
            if isinstance(value, str) and _looks_numeric(value):
                mantissa, _, exponent = value.strip().lower().partition("e")
                fixed = f"{mantissa}.0e{exponent}" if exponent and "." not in mantissa else "a plain number"
                hint = f" (YAML reads {value} as a string: write {fixed})"
            raise self.error(f"{what} must be a number, got {_type_name(value)}{hint}")
        value = float(value)
        if not math.isfinite(value):
            raise self.error(f"{what} must be finite, got {value}")
        if not (
            (gt is None or value > gt)
            and (ge is None or value >= ge)
            and (le is None or value <= le)
            and (lt is None or value < lt)
        ):
            raise self.error(f"{what} must be {_bounds(gt, ge, le, lt)}, got {_fmt(value)}")
        return value

    def boolean(self, *, what: str = "value") -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"{what} must be true or false, got {_type_name(self.value)}")
        return self.value


def _bounds(gt: float | None, ge: float | None, le: float | None, lt: float | None) -> str:
    low = ("(", ">", gt) if gt is not None else ("[", ">=", ge) if ge is not None else None
    high = (")", "<", lt) if lt is not None else ("]", "<=", le) if le is not None else None
    if low and high:
        return f"in {low[0]}{_fmt(low[2])}, {_fmt(high[2])}{high[0]}"
    if low:
        return f"{low[1]} {_fmt(low[2])}"
    assert high is not None
    return f"{high[1]} {_fmt(high[2])}"


def _fmt(value: float) -> str:
    return f"{value:g}" if value == int(value) else repr(value)


def _no_duplicates(items: Sequence[tuple[_At, Any]], what: str) -> None:
    """Error at the second of two items with equal values."""
    seen: dict[Any, _At] = {}
    for at, value in items:
        if value in seen:
            raise at.error(f"duplicate {what} {value!r} (also at line {seen[value].line})")
        seen[value] = at


# --------------------------------------------------------------------------------------------------
# Loading


def load_grid(path: Path | str) -> GridSpec:
    """Read, validate and return the grid at ``path``; every problem is a ConfigError with a line."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: grid file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{file}: is a directory, not a grid file") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{file}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read grid file: {exc.strerror or exc}") from None
    try:
        data = yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise ConfigError(f"{file}{line}: malformed YAML: {problem}{context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: malformed YAML: {exc}") from None
    return _parse(_At(file, "", 1, data), source=path)


_TOP_REQUIRED = ("name", "tasks", "model", "n_train", "noise", "methods", "seeds")
_TOP_OPTIONAL = ("description", "training", "evaluation", "executor")


def _parse(root: _At, *, source: Path | None) -> GridSpec:
    if root.value is None:
        raise root.error("the grid file is empty; expected a mapping with keys " + ", ".join(_TOP_REQUIRED))
    top = root.mapping(_TOP_REQUIRED, _TOP_OPTIONAL)
    name = top["name"].string(what="name")
    description = ""
    if "description" in top and top["description"].value is not None:
        description = top["description"].string(what="description", empty_ok=True)
    tasks = _parse_tasks(top["tasks"])
    model = top["model"].string(what="model")
    n_train_items = _parse_n_train(top["n_train"])
    noise = _parse_noise(top["noise"], n_train_items)
    methods = _parse_methods(top["methods"])
    seeds = _parse_seeds(top["seeds"], noisy=noise.family != "none")
    training = _parse_training(top["training"]) if "training" in top else TrainingSpec()
    evaluation = _parse_evaluation(top["evaluation"]) if "evaluation" in top else EvaluationSpec()
    executor = _parse_executor(top["executor"]) if "executor" in top else ExecutorSpec()
    return GridSpec(
        name=name,
        description=description,
        tasks=tasks,
        model=model,
        n_train=tuple(value for _, value in n_train_items),
        noise=noise,
        methods=methods,
        seeds=seeds,
        training=training,
        evaluation=evaluation,
        executor=executor,
        source=source,
    )


def _parse_tasks(at: _At) -> tuple[str, ...]:
    from noisebench.data.tasks import TASKS

    items = [(item, item.string(choices=tuple(TASKS), what="task")) for item in at.items("tasks")]
    _no_duplicates(items, "task")
    return tuple(value for _, value in items)


def _parse_n_train(at: _At) -> list[tuple[_At, NTrain]]:
    items: list[tuple[_At, NTrain]] = []
    for item in at.items("n_train"):
        if isinstance(item.value, str):
            if item.value != ALL:
                raise item.error(f"n_train must be an integer >= 1 or {ALL!r}, got {item.value!r}")
            items.append((item, ALL))
        else:
            items.append((item, item.integer(minimum=1, what="n_train")))
    _no_duplicates(items, "n_train")
    return items


def _parse_noise(at: _At, n_train_items: list[tuple[_At, NTrain]]) -> NoiseGrid:
    keys = at.mapping(("family",), ("temperatures", "rates", "n_relabel"))
    family = keys["family"].string(choices=NOISE_FAMILIES, what="noise family")
    allowed = {"none": (), "temperature": ("temperatures", "n_relabel"), "uniform": ("rates", "n_relabel")}[family]
    for key in ("temperatures", "rates", "n_relabel"):
        if key in keys and key not in allowed:
            raise keys[key].error(f"does not apply to noise family {family}")
    temperatures: tuple[float, ...] = ()
    rates: tuple[float, ...] = ()
    if family == "temperature":
        if "temperatures" not in keys:
            raise at.missing("temperatures", "required for noise family temperature")
        levels = [(i, i.number(what="temperature", gt=0)) for i in keys["temperatures"].items("temperatures")]
        _no_duplicates(levels, "temperature")
        temperatures = tuple(v for _, v in levels)
    elif family == "uniform":
        if "rates" not in keys:
            raise at.missing("rates", "required for noise family uniform")
        levels = [(i, i.number(what="noise rate", ge=0, le=1)) for i in keys["rates"].items("rates")]
        _no_duplicates(levels, "noise rate")
        rates = tuple(v for _, v in levels)
    n_relabel: int | None = None
    if "n_relabel" in keys:
        rel = keys["n_relabel"]
        if isinstance(rel.value, str):
            if rel.value != ALL:
                raise rel.error(f"n_relabel must be an integer >= 1 or {ALL!r}, got {rel.value!r}")
        else:
            n_relabel = rel.integer(minimum=1, what="n_relabel")
            sizes = [n for _, n in n_train_items]
            if ALL in sizes:
                raise rel.error(f"n_relabel must be {ALL!r} when n_train includes {ALL!r}, got {n_relabel}")
            largest = max(int(n) for n in sizes)
            if n_relabel < largest:
                raise rel.error(
                    f"n_relabel must be >= the largest n_train ({largest}) so that each artifact covers "
                    f"every training subset, got {n_relabel}"
                )
    return NoiseGrid(family=family, temperatures=temperatures, rates=rates, n_relabel=n_relabel)


def _parse_methods(at: _At) -> tuple[MethodSpec, ...]:
    methods: list[MethodSpec] = []
    seen: dict[tuple[str, float, float | None], _At] = {}
    for item in at.items("methods"):
        method = _parse_method(item)
        for variant in method.variants():
            if variant in seen:
                name, lam, tau = variant
                shown = name if name == "ce" else f"{name} lam={_fmt(lam)} tau={_fmt(tau)}"  # type: ignore[arg-type]
                raise item.error(f"duplicate method variant {shown} (also at line {seen[variant].line})")
            seen[variant] = item
        methods.append(method)
    return tuple(methods)


def _parse_method(item: _At) -> MethodSpec:
    if isinstance(item.value, str):
        name = item.string(choices=METHODS, what="method")
        if name != "ce":
            raise item.error(f"method {name} needs lam and tau: write {{name: {name}, lam: [...], tau: [...]}}")
        return MethodSpec("ce")
    if not isinstance(item.value, dict):
        raise item.error(f"a method must be a name or a mapping, got {_type_name(item.value)}")
    keys = item.mapping(("name",), ("lam", "tau"))
    name = keys["name"].string(choices=METHODS, what="method")
    if name == "ce":
        for key in ("lam", "tau"):
            if key in keys:
                raise keys[key].error("method ce takes no lam or tau (use ce-scl)")
        return MethodSpec("ce")
    for key in ("lam", "tau"):
        if key not in keys:
            raise item.missing(key, f"required for method {name}")
    lams = [(i, i.number(what="lambda", ge=0, le=1)) for i in keys["lam"].items("lam")]
    _no_duplicates(lams, "lambda")
    taus = [(i, i.number(what="tau", gt=0)) for i in keys["tau"].items("tau")]
    _no_duplicates(taus, "tau")
    return MethodSpec(name, tuple(v for _, v in lams), tuple(v for _, v in taus))


def _parse_seed_list(at: _At) -> list[tuple[_At, int]]:
    return [(item, item.integer(minimum=0, what="seed")) for item in at.items("seed list")]


def _parse_seeds(at: _At, *, noisy: bool) -> SeedSpec:
    keys = at.mapping(("data", "train"), ("noise", "mode"))
    mode = keys["mode"].string(choices=SEED_MODES, what="seed mode") if "mode" in keys else "zipped"
    if noisy and "noise" not in keys:
        raise at.missing("noise", "required unless the noise family is none")
    lists = {key: _parse_seed_list(keys[key]) for key in ("data", "noise", "train") if key in keys}
    used = ("data", "noise", "train") if noisy else ("data", "train")
    if mode == "crossed":
        for key in used:
            _no_duplicates(lists[key], f"{key} seed")
    else:
        lengths = {key: len(lists[key]) for key in used}
        for key in used:
            if lengths[key] != lengths["data"]:
                shown = ", ".join(f"{k} {n}" for k, n in lengths.items())
                raise keys[key].error(f"zipped seed lists must have equal lengths, got {shown}")
        seen: dict[tuple[int, ...], int] = {}
        for i, seed_set in enumerate(zip(*(tuple(v for _, v in lists[key]) for key in used))):
            if seed_set in seen:
                raise lists["data"][i][0].error(
                    f"seed set {i} ({', '.join(used)} = {', '.join(map(str, seed_set))}) "
                    f"repeats seed set {seen[seed_set]}"
                )
            seen[seed_set] = i
    return SeedSpec(
        data=tuple(v for _, v in lists["data"]),
        noise=tuple(v for _, v in lists.get("noise", [])),
        train=tuple(v for _, v in lists["train"]),
        mode=mode,
    )


def _parse_training(at: _At) -> TrainingSpec:
    keys = at.mapping((), [f.name for f in fields(TrainingSpec)], null_ok=True)
    values: dict[str, Any] = {}
    for key in ("epochs", "batch_size", "max_length"):
        if key in keys:
            values[key] = keys[key].integer(minimum=1, what=key)
    if "lr" in keys:
        values["lr"] = keys["lr"].number(what="lr", gt=0)
    if "warmup_ratio" in keys:
        values["warmup_ratio"] = keys["warmup_ratio"].number(what="warmup_ratio", ge=0, lt=1)
    if "weight_decay" in keys:
        values["weight_decay"] = keys["weight_decay"].number(what="weight_decay", ge=0)
    return TrainingSpec(**values)


def _parse_evaluation(at: _At) -> EvaluationSpec:
    keys = at.mapping((), [f.name for f in fields(EvaluationSpec)], null_ok=True)
    values: dict[str, Any] = {}
    for key in ("dev_limit", "test_limit"):
        if key in keys:
            values[key] = keys[key].optional_integer(minimum=1, what=key)
    for key in ("pool_from_dev", "save_embeddings"):
        if key in keys:
            values[key] = keys[key].boolean(what=key)
    if "selection" in keys:
        values["selection"] = keys["selection"].string(choices=SELECTIONS, what="selection")
    return EvaluationSpec(**values)


def _parse_executor(at: _At) -> ExecutorSpec:
    keys = at.mapping((), [f.name for f in fields(ExecutorSpec)], null_ok=True)
    values: dict[str, Any] = {}
    if "partition" in keys and keys["partition"].value is not None:
        values["partition"] = keys["partition"].string(what="partition")
    minimums = {"time_min": 1, "gpus_per_node": 0, "cpus_per_task": 1, "mem_gb": 1, "array_parallelism": 1}
    for key, minimum in minimums.items():
        if key in keys:
            values[key] = keys[key].integer(minimum=minimum, what=key)
    return ExecutorSpec(**values)

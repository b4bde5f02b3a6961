"""Grid specs: loading, validation with line numbers, expansion into RunConfigs and noise jobs."""

from __future__ import annotations

import textwrap
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from noisebench.errors import ConfigError
from noisebench.grid.artifacts import needed_artifacts
from noisebench.grid.spec import (
    ALL,
    EvaluationSpec,
    ExecutorSpec,
    GridSpec,
    NoiseGrid,
    SeedSpec,
    TrainingSpec,
    expand,
    load_grid,
)
from noisebench.methods import METHODS, Method, register_method
from noisebench.noise.families import FAMILIES, NoiseFamily, NoiseInputs, register_family
from noisebench.parameters import Parameter
from noisebench.schema import RunConfig

REPO = Path(__file__).resolve().parents[2]


def noise_jobs(grid, **kwargs) -> list:
    """The distinct (task, NoiseSpec) artifacts the grid's runs train on."""
    return list(needed_artifacts(expand(grid, **kwargs)))
SHIPPED = ["quick", "benchmark-small", "paper-noise", "paper-fewshot", "paper-glue"]

FULL = textwrap.dedent(
    """\
    # a comment line
    name: test-grid
    description: "a full grid"
    tasks: [rt-polarity]
    model: all-minilm-l6-v2
    n_train: [100]
    noise:
      family: temperature
      levels:
        - 0.1
        - 0.3
        - 0.5
        - 0.7
        - 0.9
      n_relabel: all
    methods:
      - ce
      - {name: ce-scl, lam: [0.9], tau: [0.3]}
    seeds:
      data: [0, 1, 2, 3, 4]
      noise: [0, 1, 2, 3, 4]
      train: [0, 1, 2, 3, 4]
      mode: zipped
    training:
      epochs: 5
      batch_size: 8
      lr: 1.0e-4
      warmup_ratio: 0.0
      weight_decay: 0.0
      max_length: 64
    evaluation:
      dev_limit: 300
      test_limit: 1000
      pool_from_dev: false
      save_embeddings: true
      selection: best_dev
    executor:
      partition: gpu
      time_min: 30
      gpus_per_node: 1
      cpus_per_task: 4
      mem_gb: 16
      array_parallelism: 8
    """
)

MINIMAL = textwrap.dedent(
    """\
    name: minimal
    tasks: [rt-polarity]
    model: all-minilm-l6-v2
    n_train: [100]
    noise:
      family: none
    methods: [ce]
    seeds:
      data: [0, 1]
      train: [0, 1]
    """
)

LEVELS = "  levels:\n    - 0.1\n    - 0.3\n    - 0.5\n    - 0.7\n    - 0.9\n"
SCL = {"lam": 0.9, "tau": 0.3}


def write(tmp_path: Path, text: str, name: str = "grid.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the ``occurrence``-th line containing ``needle``."""
    if needle.endswith("\n"):  # whole-line match
        hits = [i + 1 for i, line in enumerate(text.splitlines()) if line.strip() == needle.strip()]
    else:
        hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in text"
    return hits[occurrence - 1]


def replace(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur once"
    return text.replace(old, new)


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_grid(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    return message


# -- plugins registered at test time ------------------------------------------------------------------


class FlipFamily(NoiseFamily):
    """A toy family with an integer parameter: flip the label of every k-th example."""

    name = "test-flip"
    parameter = Parameter("every", "k", "every k-th", low=1, high=10, integer=True)

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        n, k = len(inputs.clean), inputs.num_labels
        flip = np.arange(n) % int(level) == 0
        noisy = np.where(flip, (inputs.clean + 1) % k, inputs.clean)
        return np.eye(k)[noisy]


TOY_METHOD = Method(
    "test-toy",
    lambda logits, features, labels, **params: logits.sum(),
    hyper_parameters=(
        Parameter("alpha", "a", "alpha", low=0.0, high=10.0, default=1.0),
        Parameter("beta", "b", "beta", low=0.0, low_open=True, default=2.0),
    ),
)


@pytest.fixture()
def flip_family():
    family = register_family(FlipFamily())
    yield family
    del FAMILIES._entries[family.name]


@pytest.fixture()
def toy_method():
    method = register_method(TOY_METHOD)
    yield method
    del METHODS._entries[method.name]


# -- valid grids --------------------------------------------------------------------------------------


def test_full_grid_loads(tmp_path):
    path = write(tmp_path, FULL)
    grid = load_grid(path)
    assert isinstance(grid, GridSpec)
    assert grid.source == path and grid.label == str(path)
    assert (grid.name, grid.description, grid.tasks, grid.model) == (
        "test-grid", "a full grid", ["rt-polarity"], "all-minilm-l6-v2",
    )
    assert grid.n_train == [100]
    assert grid.noise[0] == NoiseGrid(family="temperature", levels=[0.1, 0.3, 0.5, 0.7, 0.9], n_relabel=ALL)
    assert grid.noise[0].relabel_count is None
    assert [(m.name, m.values) for m in grid.methods] == [("ce", {}), ("ce-scl", {"lam": [0.9], "tau": [0.3]})]
    assert grid.seeds == SeedSpec(data=[0, 1, 2, 3, 4], noise=[0, 1, 2, 3, 4], train=[0, 1, 2, 3, 4], mode="zipped")
    assert grid.training == TrainingSpec(epochs=5, batch_size=8, lr=1e-4, warmup_ratio=0.0, weight_decay=0.0, max_length=64)
    assert grid.evaluation == EvaluationSpec(dev_limit=300, test_limit=1000, pool_from_dev=False, save_embeddings=True)
    assert grid.executor == ExecutorSpec(partition="gpu", time_min=30, gpus_per_node=1, cpus_per_task=4, mem_gb=16, array_parallelism=8)
    assert grid.executor.model_dump()["mem_gb"] == 16  # what the CLI hands to submitit
    with pytest.raises(Exception, match="frozen"):
        grid.name = "other"  # type: ignore[misc]


def test_full_grid_expands_to_50_runs_in_order(tmp_path):
    runs = expand(load_grid(write(tmp_path, FULL)))
    assert len(runs) == 5 * 2 * 5  # levels x methods x zipped seed sets
    assert all(isinstance(run, RunConfig) for run in runs)
    assert len({run.run_id for run in runs}) == 50
    first, second = runs[0], runs[1]
    assert first == RunConfig(
        task="rt-polarity", model="all-minilm-l6-v2", n_train=100, data_seed=0, noise_family="temperature",
        noise_level=0.1, noise_seed=0, method="ce", method_params={}, train_seed=0,
        epochs=5, batch_size=8, lr=1e-4, warmup_ratio=0.0, weight_decay=0.0, max_length=64,
        dev_limit=300, test_limit=1000, pool_from_dev=False, save_embeddings=True,
    )
    assert first.noise_param == "temperature"
    assert (second.method, second.method_params, second.noise_level, second.data_seed) == ("ce-scl", SCL, 0.1, 0)
    # order: noise level, then seed set, then method variant
    assert [(r.noise_level, r.data_seed, r.method) for r in runs[:4]] == [
        (0.1, 0, "ce"), (0.1, 0, "ce-scl"), (0.1, 1, "ce"), (0.1, 1, "ce-scl"),
    ]
    assert runs[10].noise_level == 0.3
    # zipped: the i-th seeds go together
    assert {(r.data_seed, r.noise_seed, r.train_seed) for r in runs} == {(i, i, i) for i in range(5)}


def test_expansion_is_deterministic(tmp_path):
    path = write(tmp_path, FULL)
    assert [r.run_id for r in expand(load_grid(path))] == [r.run_id for r in expand(load_grid(path))]


def test_crossed_seeds_count(tmp_path):
    text = replace(FULL, "  data: [0, 1, 2, 3, 4]\n  noise: [0, 1, 2, 3, 4]\n  train: [0, 1, 2, 3, 4]\n  mode: zipped",
                   "  data: [0, 1]\n  noise: [0, 1, 2]\n  train: [0, 1]\n  mode: crossed")
    grid = load_grid(write(tmp_path, text))
    runs = expand(grid)
    assert len(runs) == (2 * 3 * 2) * 5 * 2
    assert len({r.run_id for r in runs}) == len(runs)
    assert grid.seeds.seed_sets()[:3] == [(0, 0, 0), (0, 0, 1), (0, 1, 0)]


def test_zipped_is_the_default_mode(tmp_path):
    grid = load_grid(write(tmp_path, replace(FULL, "  mode: zipped\n", "")))
    assert grid.seeds.mode == "zipped"
    assert len(expand(grid)) == 50


def test_clean_expansion_ignores_noise_seeds(tmp_path):
    grid = load_grid(write(tmp_path, MINIMAL))
    runs = expand(grid)
    assert len(runs) == 2
    assert all(r.noise_family == "none" and r.noise_level is None and r.noise_seed is None for r in runs)
    assert noise_jobs(grid) == []

    # given noise seeds are ignored: not expanded (crossed) and not length-checked (zipped)
    crossed = replace(MINIMAL, "  train: [0, 1]\n", "  train: [0, 1]\n  noise: [0, 1, 2]\n  mode: crossed\n")
    runs = expand(load_grid(write(tmp_path, crossed)))
    assert len(runs) == 4
    assert all(r.noise_seed is None for r in runs)
    zipped = replace(MINIMAL, "  train: [0, 1]\n", "  train: [0, 1]\n  noise: [7]\n")
    assert len(expand(load_grid(write(tmp_path, zipped)))) == 2


def test_uniform_family_levels_are_rates(tmp_path):
    text = replace(FULL, "  family: temperature\n", "  family: uniform\n")
    text = replace(text, LEVELS, "  levels: [0, 0.2, 1]\n")
    grid = load_grid(write(tmp_path, text))
    assert grid.noise[0].levels == [0.0, 0.2, 1.0]
    runs = expand(grid)
    assert len(runs) == 3 * 5 * 2
    assert {r.noise_level for r in runs} == {0.0, 0.2, 1.0}
    assert {r.noise_param for r in runs} == {"rate"}


def test_hyper_parameter_lists_expand_to_every_combination(tmp_path):
    text = replace(FULL, "{name: ce-scl, lam: [0.9], tau: [0.3]}", "{name: ce-scl, lam: [0.5, 0.9], tau: [0.1, 0.3, 0.5]}")
    runs = expand(load_grid(write(tmp_path, text)))
    assert len(runs) == 5 * 5 * (1 + 2 * 3)
    assert [(r.method, r.method_params) for r in runs[:7]] == [
        ("ce", {}),
        ("ce-scl", {"lam": 0.5, "tau": 0.1}), ("ce-scl", {"lam": 0.5, "tau": 0.3}), ("ce-scl", {"lam": 0.5, "tau": 0.5}),
        ("ce-scl", {"lam": 0.9, "tau": 0.1}), ("ce-scl", {"lam": 0.9, "tau": 0.3}), ("ce-scl", {"lam": 0.9, "tau": 0.5}),
    ]


def test_method_name_alone_takes_the_defaults(tmp_path):
    grid = load_grid(write(tmp_path, replace(MINIMAL, "methods: [ce]", "methods: [ce-scl]")))
    assert [r.method_params for r in expand(grid)] == [SCL, SCL]


def test_unlisted_hyper_parameters_take_defaults_and_scalars_are_one_value(tmp_path):
    grid = load_grid(write(tmp_path, replace(MINIMAL, "methods: [ce]", "methods: [{name: ce-scl, lam: 0.5}, {name: ce}]")))
    assert [(r.method, r.method_params) for r in expand(grid)[:2]] == [("ce-scl", {"lam": 0.5, "tau": 0.3}), ("ce", {})]


def test_noise_jobs_shared_across_methods_and_train_seeds(tmp_path):
    grid = load_grid(write(tmp_path, FULL))
    jobs = noise_jobs(grid)
    assert len(jobs) == 5 * 5  # levels x seed sets; both methods share them
    task, spec = jobs[0]
    assert (task, spec.family, spec.level, spec.data_seed, spec.noise_seed, spec.n_relabel) == ("rt-polarity", "temperature", 0.1, 0, 0, None)
    needed = {(r.task, r.noise_family, r.noise_level, r.data_seed, r.noise_seed) for r in expand(grid)}
    assert needed == {(t, s.family, s.level, s.data_seed, s.noise_seed) for t, s in jobs}

    crossed = replace(FULL, "  data: [0, 1, 2, 3, 4]\n  noise: [0, 1, 2, 3, 4]\n  train: [0, 1, 2, 3, 4]\n  mode: zipped",
                      "  data: [0, 1]\n  noise: [0, 1]\n  train: [0, 1, 2]\n  mode: crossed")
    grid = load_grid(write(tmp_path, crossed))
    assert len(expand(grid)) == 2 * 2 * 3 * 5 * 2
    assert len(noise_jobs(grid)) == 2 * 2 * 5  # train seeds share the artifact


def test_n_relabel_count_reaches_noise_jobs(tmp_path):
    grid = load_grid(write(tmp_path, replace(FULL, "  n_relabel: all\n", "  n_relabel: 300\n")))
    assert grid.noise[0].n_relabel == 300 and grid.noise[0].relabel_count == 300
    assert {spec.n_relabel for _, spec in noise_jobs(grid)} == {300}
    assert {run.n_relabel for run in expand(grid)} == {300}


def test_defaults_come_from_run_config(tmp_path):
    grid = load_grid(write(tmp_path, MINIMAL))
    assert grid.description == ""
    assert grid.training == TrainingSpec()
    assert grid.evaluation == EvaluationSpec()
    assert grid.executor == ExecutorSpec()
    assert grid.seeds.mode == "zipped" and grid.seeds.noise is None
    assert grid.noise[0].relabel_count is None
    defaults = RunConfig()
    run = expand(grid)[0]
    for key in ("epochs", "lr", "warmup_ratio", "weight_decay", "max_length",
                "dev_limit", "test_limit", "pool_from_dev", "save_embeddings", "patience", "test_every_epoch"):
        assert getattr(run, key) == getattr(defaults, key), key
        section = grid.training if key in TrainingSpec.model_fields else grid.evaluation
        assert getattr(section, key) == RunConfig.model_fields[key].default, key
    for axis, section in (("batch_size", grid.training), ("selection", grid.evaluation)):  # axes: a list of one default
        assert getattr(run, axis) == getattr(defaults, axis) and getattr(section, axis) == [getattr(defaults, axis)], axis
    assert grid.executor.model_dump() == {
        "partition": None, "time_min": 60, "gpus_per_node": 1, "cpus_per_task": 8, "mem_gb": 32, "array_parallelism": 16,
        "gpus_per_run": 1,
    }


def test_partial_and_null_sections_keep_defaults(tmp_path):
    text = MINIMAL + "training:\n  epochs: 3\nevaluation:\nexecutor: {mem_gb: 8}\n"
    grid = load_grid(write(tmp_path, text))
    assert grid.training == TrainingSpec(epochs=3)
    assert grid.training.lr == RunConfig().lr
    assert grid.evaluation == EvaluationSpec()
    assert grid.executor == ExecutorSpec(mem_gb=8)


def test_integer_levels_become_floats(tmp_path):
    text = replace(FULL, "    - 0.9\n", "    - 2\n")
    text = replace(text, "lam: [0.9]", "lam: [1]")
    grid = load_grid(write(tmp_path, text))
    assert grid.noise[0].levels[-1] == 2.0 and isinstance(grid.noise[0].levels[-1], float)
    run = expand(grid)[-1]
    assert run.noise_level == 2.0 and isinstance(run.noise_level, float)
    assert run.method_params == {"lam": 1.0, "tau": 0.3} and isinstance(run.method_params["lam"], float)


def test_anchors_and_merge_keys(tmp_path):
    text = MINIMAL + "training:\n  <<: {epochs: 3, lr: 1.0e-3}\n  epochs: 4\n"
    grid = load_grid(write(tmp_path, text))
    assert grid.training.epochs == 4 and grid.training.lr == 1e-3
    anchored = replace(MINIMAL, "  data: [0, 1]\n  train: [0, 1]\n", "  data: &seeds [0, 1]\n  train: *seeds\n")
    assert load_grid(write(tmp_path, anchored)).seeds.train == [0, 1]


def test_error_in_a_merged_key_points_at_its_source(tmp_path):
    text = MINIMAL + "training:\n  <<: {epochs: 0, lr: 1.0e-3}\n  max_length: 32\n"
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, '<<:')}: training.epochs: must be >= 1, got 0" in message


def test_n_train_all_resolved_with_pool_size(tmp_path):
    text = replace(MINIMAL, "n_train: [100]", "n_train: [10, all]")
    text = replace(text, "tasks: [rt-polarity]", "tasks: [sst2, rte]")
    grid = load_grid(write(tmp_path, text))
    assert grid.n_train == [10, ALL]
    calls = []

    def pool_size(task):
        calls.append(task)
        return {"sst2": 5000, "rte": 2000}[task]

    runs = expand(grid, pool_size=pool_size)
    assert [(r.task, r.n_train) for r in runs] == [
        ("sst2", 10), ("sst2", 10), ("sst2", 5000), ("sst2", 5000),
        ("rte", 10), ("rte", 10), ("rte", 2000), ("rte", 2000),
    ]
    assert calls == ["sst2", "rte"]
    # an "all" that resolves to an explicitly listed size is not run twice
    assert len(expand(grid, pool_size=lambda task: 10)) == 2 * 2


def test_n_train_all_default_pool_size_uses_load_task(tmp_path, monkeypatch):
    import noisebench.data.tasks as tasks

    seen = []

    def fake_load_task(name, *, data_dir=None, pool_from_dev=False):
        seen.append((name, pool_from_dev))
        return SimpleNamespace(pool=[0] * 321)

    monkeypatch.setattr(tasks, "load_task", fake_load_task)
    text = replace(MINIMAL, "n_train: [100]", "n_train: [all]") + "evaluation: {pool_from_dev: true}\n"
    runs = expand(load_grid(write(tmp_path, text)))
    assert {r.n_train for r in runs} == {321}
    assert seen == [("rt-polarity", True)]


def test_n_train_all_in_noise_jobs(tmp_path):
    grid = load_grid(write(tmp_path, replace(FULL, "n_train: [100]", "n_train: [all]")))
    runs = expand(grid, pool_size=lambda task: 777)
    assert {run.n_train for run in runs} == {777}
    assert len(noise_jobs(grid, pool_size=lambda task: 777)) == 5 * 5


def test_bad_pool_size_is_config_error(tmp_path):
    grid = load_grid(write(tmp_path, replace(MINIMAL, "n_train: [100]", "n_train: [all]")))
    with pytest.raises(ConfigError, match="pool size"):
        expand(grid, pool_size=lambda task: 0)


# -- registries: a family or method registered elsewhere works in a grid as it is ---------------------


def test_registered_family_is_accepted(tmp_path, flip_family):
    text = replace(FULL, "  family: temperature\n", "  family: test-flip\n")
    text = replace(text, LEVELS, "  levels: [2, 5]\n")
    grid = load_grid(write(tmp_path, text))
    runs = expand(grid)
    assert {(r.noise_family, r.noise_param) for r in runs} == {("test-flip", "every")}
    assert sorted({r.noise_level for r in runs}) == [2.0, 5.0]
    assert len(noise_jobs(grid)) == 2 * 5


def test_registered_family_checks_its_own_parameter(tmp_path, flip_family):
    text = replace(FULL, "  family: temperature\n", "  family: test-flip\n")
    text = replace(text, LEVELS, "  levels:\n    - 2\n    - 2.5\n")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, '- 2.5')}: noise.levels[1]: every must be an integer in [1, 10], got 2.5" in message


def test_unknown_family_lists_the_registered_ones(tmp_path, flip_family):
    message = load_error(tmp_path, replace(FULL, "family: temperature", "family: gaussian"))
    assert "noise.family: unknown noise family 'gaussian'; known: " in message
    assert all(name in message for name in ("temperature", "uniform", "test-flip"))


def test_registered_method_is_accepted(tmp_path, toy_method):
    text = replace(MINIMAL, "methods: [ce]", "methods: [test-toy, {name: test-toy, alpha: [0.5, 3], beta: 0.1}]")
    runs = expand(load_grid(write(tmp_path, text)))
    assert [(r.method, r.method_params) for r in runs[:3]] == [
        ("test-toy", {"alpha": 1.0, "beta": 2.0}),
        ("test-toy", {"alpha": 0.5, "beta": 0.1}),
        ("test-toy", {"alpha": 3.0, "beta": 0.1}),
    ]


def test_registered_method_rejects_other_keys_and_bad_values(tmp_path, toy_method):
    text = replace(MINIMAL, "methods: [ce]", "methods:\n  - {name: test-toy, lam: [0.5]}")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'lam: [0.5]')}: methods[0].lam: unknown key: method test-toy takes alpha, beta" in message
    text = replace(MINIMAL, "methods: [ce]", "methods:\n  - name: test-toy\n    alpha: [1, 11]")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'alpha:')}: methods[0].alpha[1]: alpha must be in [0, 10], got 11.0" in message


def test_default_variant_listed_twice_is_an_error(tmp_path, toy_method):
    text = replace(MINIMAL, "methods: [ce]", "methods:\n  - test-toy\n  - {name: test-toy, alpha: [1.0]}")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'alpha: [1.0]')}: methods[1]: duplicate method variant test-toy(a=1, b=2)" in message


# -- shipped grids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_grids_load(name):
    grid = load_grid(REPO / "experiments" / f"{name}.yaml")
    assert grid.name == name
    assert grid.evaluation.selection == ["best_dev"]
    assert grid.description


def test_shipped_grid_sizes():
    quick = load_grid(REPO / "experiments" / "quick.yaml")
    runs = expand(quick)
    assert len(runs) == 4 * 2 * 10
    assert {r.model for r in runs} == {"all-minilm-l6-v2"} and {r.pooling for r in runs} == {"mean"}
    assert {r.noise_family for r in runs} == {"temperature", "none"}
    noisy = [r for r in runs if r.noise_family != "none"]
    assert {(r.noise_param, r.weak_fit) for r in noisy} == {("target_rate", "in-sample")}
    assert sorted({r.noise_level for r in noisy}) == [0.1, 0.2, 0.3]
    assert (quick.training.epochs, quick.training.lr, quick.training.max_length) == (5, 3e-4, 64)
    assert (quick.evaluation.dev_limit, quick.evaluation.test_limit) == (200, 1000)
    assert len(noise_jobs(quick)) == 3 * 10
    assert "at most 45 minutes on 2 CPU cores" in (REPO / "experiments" / "quick.yaml").read_text()

    noise = load_grid(REPO / "experiments" / "paper-noise.yaml")
    assert len(expand(noise)) == 3 * 5 * 10 * 2
    fewshot = load_grid(REPO / "experiments" / "paper-fewshot.yaml")
    assert len(expand(fewshot)) == 3 * 3 * 10 * 2
    assert {r.n_train for r in expand(fewshot)} == {20, 100, 1000}
    glue = load_grid(REPO / "experiments" / "paper-glue.yaml")
    assert glue.n_train == [ALL]
    runs = expand(glue, pool_size=lambda task: 1234)  # never the real loader: no GLUE data in tests
    assert len(runs) == 6 * len(glue.seeds.data) * 2
    assert {r.n_train for r in runs} == {1234}


# -- errors: every message names the file, the key path and the line ----------------------------------


def test_negative_level_message(tmp_path):
    text = replace(FULL, "    - 0.5\n", "    - -0.1\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_grid(path)
    line = line_of(text, "- -0.1")
    assert str(info.value) == f"{path} line {line}: noise.levels[2]: temperature must be in (0, inf), got -0.1"


ERROR_CASES = [
    # (id, old, new, key path in message, needle for the expected line, text in message)
    ("unknown-top-key", "model: all-minilm-l6-v2\n", "model: all-minilm-l6-v2\nepoch: 3\n", "epoch:", "epoch: 3", "unknown key"),
    ("unknown-nested-key", "  epochs: 5\n", "  epoch: 5\n", "training.epoch:", "epoch: 5", "did you mean 'epochs'"),
    ("unknown-noise-key", "  n_relabel: all\n", "  n_relabels: all\n", "noise.n_relabels:", "n_relabels", "unknown key"),
    ("old-temperatures-key", "  levels:\n", "  temperatures:\n", "noise.temperatures:", "temperatures:",
     "known keys: family, levels, target_rates, weak_fit, weak_model, weak_options, include_clean, n_relabel"),
    ("unknown-method-key", "lam: [0.9]", "lamda: [0.9]", "methods[1].lamda:", "lamda", "method ce-scl takes lam, tau"),
    ("unknown-executor-key", "  mem_gb: 16\n", "  mem: 16\n", "executor.mem:", "mem: 16", "unknown key"),
    ("tasks-not-list", "tasks: [rt-polarity]", "tasks: rt-polarity", "tasks:", "tasks:", "must be a list"),
    ("empty-tasks", "tasks: [rt-polarity]", "tasks: []", "tasks:", "tasks:", "must not be empty"),
    ("unknown-task", "tasks: [rt-polarity]", "tasks: [rt-polarity, sst3]", "tasks[1]:", "tasks:", "unknown task 'sst3'"),
    ("duplicate-task", "tasks: [rt-polarity]", "tasks: [rt-polarity, rt-polarity]", "tasks[1]:", "tasks:", "duplicate entry"),
    ("model-not-string", "model: all-minilm-l6-v2", "model: 3", "model:", "model:", "must be a string, got 3"),
    ("n_train-zero", "n_train: [100]", "n_train: [100, 0]", "n_train[1]:", "n_train:", "must be >= 1, got 0"),
    ("n_train-string", "n_train: [100]", "n_train: ['100']", "n_train[0]:", "n_train:", "integer >= 1 or 'all'"),
    ("n_train-bool", "n_train: [100]", "n_train: [true]", "n_train[0]:", "n_train:", "must be an integer, got true"),
    ("n_train-float", "n_train: [100]", "n_train: [100.0]", "n_train[0]:", "n_train:", "must be an integer"),
    ("duplicate-n_train", "n_train: [100]", "n_train: [100, 20, 100]", "n_train[2]:", "n_train:", "duplicate entry 100"),
    ("empty-n_train", "n_train: [100]", "n_train: []", "n_train:", "n_train:", "must not be empty"),
    ("unknown-family", "family: temperature", "family: gaussian", "noise.family:", "family:", "unknown noise family 'gaussian'"),
    ("zero-level", "    - 0.1\n", "    - 0\n", "noise.levels[0]:", "- 0\n", "temperature must be in (0, inf), got 0.0"),
    ("level-string", "    - 0.3\n", "    - hot\n", "noise.levels[1]:", "- hot", "must be a number"),
    ("level-bool", "    - 0.3\n", "    - true\n", "noise.levels[1]:", "- true", "must be a number, got true"),
    ("level-nan", "    - 0.3\n", "    - .nan\n", "noise.levels[1]:", ".nan", "must be finite"),
    ("duplicate-level", "    - 0.9\n", "    - 0.3000\n", "noise.levels[4]:", "- 0.3000", "duplicate entry 0.3"),
    ("empty-levels", LEVELS, "  levels: []\n", "noise.levels:", "levels:", "must not be empty"),
    ("missing-levels", LEVELS, "", "noise.levels:", "noise:", "required for noise family temperature (or target_rates): temperature values in (0, inf)"),
    ("n_relabel-too-small", "  n_relabel: all\n", "  n_relabel: 50\n", "noise.n_relabel:", "n_relabel:", "largest n_train (100)"),
    ("n_relabel-bad-string", "  n_relabel: all\n", "  n_relabel: most\n", "noise.n_relabel:", "n_relabel:", "'all'"),
    ("n_relabel-zero", "  n_relabel: all\n", "  n_relabel: 0\n", "noise.n_relabel:", "n_relabel:", "must be >= 1, got 0"),
    ("empty-methods", "methods:\n  - ce\n  - {name: ce-scl, lam: [0.9], tau: [0.3]}\n", "methods: []\n", "methods:", "methods:", "must not be empty"),
    ("unknown-method", "  - ce\n", "  - mse\n", "methods[0].name:", "- mse", "unknown method 'mse'; known: ce, ce-scl"),
    ("unknown-method-in-mapping", "{name: ce-scl,", "{name: scl,", "methods[1].name:", "name: scl", "unknown method 'scl'"),
    ("ce-with-lam", "  - ce\n", "  - {name: ce, lam: [0.5]}\n", "methods[0].lam:", "name: ce, lam", "method ce takes no hyper-parameters"),
    ("lam-above-one", "lam: [0.9]", "lam: [0.9, 1.5]", "methods[1].lam[1]:", "lam: [0.9, 1.5]", "lam must be in [0, 1], got 1.5"),
    ("lam-negative", "lam: [0.9]", "lam: [-0.1]", "methods[1].lam[0]:", "lam: [-0.1]", "lam must be in [0, 1], got -0.1"),
    ("lam-bool", "lam: [0.9]", "lam: [true]", "methods[1].lam[0]:", "lam: [true]", "must be a number, got true"),
    ("duplicate-lam", "lam: [0.9]", "lam: [0.9, 0.90]", "methods[1].lam[1]:", "lam: [0.9, 0.90]", "duplicate entry 0.9"),
    ("tau-zero", "tau: [0.3]", "tau: [0]", "methods[1].tau[0]:", "tau: [0]", "tau must be in (0, inf), got 0.0"),
    ("tau-empty", "tau: [0.3]", "tau: []", "methods[1].tau:", "tau: []", "must not be empty"),
    ("duplicate-method", "  - ce\n", "  - ce\n  - {name: ce}\n", "methods[1]:", "{name: ce}", "duplicate method variant ce (also in methods[0])"),
    ("duplicate-default-variant", "  - ce\n", "  - ce-scl\n", "methods[1]:", "name: ce-scl", "duplicate method variant ce-scl(λ=0.9, τ=0.3)"),
    ("method-not-mapping", "  - ce\n", "  - [ce]\n", "methods[0]:", "- [ce]", "must be a method name or a mapping"),
    ("method-without-name", "{name: ce-scl, lam", "{lam", "methods[1].name:", "lam: [0.9]", "required key is missing"),
    ("unequal-zipped", "  train: [0, 1, 2, 3, 4]\n", "  train: [0, 1, 2, 3]\n", "seeds.train:", "train: [0, 1, 2, 3]", "equal lengths"),
    ("negative-seed", "  data: [0, 1, 2, 3, 4]\n", "  data: [0, 1, 2, 3, -4]\n", "seeds.data[4]:", "data: [", "must be >= 0, got -4"),
    ("empty-seeds", "  noise: [0, 1, 2, 3, 4]\n", "  noise: []\n", "seeds.noise:", "noise: []", "must not be empty"),
    ("missing-noise-seeds", "  noise: [0, 1, 2, 3, 4]\n", "", "seeds.noise:", "seeds:", "required unless"),
    ("unknown-seed-mode", "mode: zipped", "mode: paired", "seeds.mode:", "mode:", "must be one of 'zipped' or 'crossed', got 'paired'"),
    ("duplicate-seed-set", "  data: [0, 1, 2, 3, 4]\n  noise: [0, 1, 2, 3, 4]\n  train: [0, 1, 2, 3, 4]\n",
     "  data: [0, 1, 1]\n  noise: [0, 1, 1]\n  train: [0, 1, 1]\n", "seeds.data[2]:", "data: [0, 1, 1]", "repeats seed set 1"),
    ("epochs-bool", "  epochs: 5\n", "  epochs: true\n", "training.epochs:", "epochs:", "must be an integer, got true"),
    ("epochs-zero", "  epochs: 5\n", "  epochs: 0\n", "training.epochs:", "epochs:", "must be >= 1, got 0"),
    ("lr-yaml11-string", "  lr: 1.0e-4\n", "  lr: 1e-4\n", "training.lr:", "lr:", "YAML 1.1 reads 1e-4 as a string: write 1.0e-4"),
    ("lr-zero", "  lr: 1.0e-4\n", "  lr: 0\n", "training.lr:", "lr:", "must be > 0, got 0"),
    ("warmup-one", "  warmup_ratio: 0.0\n", "  warmup_ratio: 1.0\n", "training.warmup_ratio:", "warmup_ratio:", "must be < 1, got 1"),
    ("weight-decay-negative", "  weight_decay: 0.0\n", "  weight_decay: -0.01\n", "training.weight_decay:", "weight_decay:", ">= 0"),
    ("training-not-mapping", "training:\n  epochs: 5\n  batch_size: 8\n  lr: 1.0e-4\n  warmup_ratio: 0.0\n"
     "  weight_decay: 0.0\n  max_length: 64\n", "training: 5\n", "training:", "training:", "must be a mapping, got 5"),
    ("dev-limit-zero", "  dev_limit: 300\n", "  dev_limit: 0\n", "evaluation.dev_limit:", "dev_limit:", "must be >= 1"),
    ("pool-from-dev-int", "  pool_from_dev: false\n", "  pool_from_dev: 0\n", "evaluation.pool_from_dev:", "pool_from_dev:", "true or false"),
    ("unknown-selection", "  selection: best_dev\n", "  selection: last\n", "evaluation.selection[0]:", "selection:", "unknown selection rule 'last'; known: best_dev"),
    ("gpus-negative", "  gpus_per_node: 1\n", "  gpus_per_node: -1\n", "executor.gpus_per_node:", "gpus_per_node:", ">= 0"),
    ("partition-int", "  partition: gpu\n", "  partition: 5\n", "executor.partition:", "partition:", "must be a string"),
]


@pytest.mark.parametrize(
    "old,new,key_path,needle,fragment", [case[1:] for case in ERROR_CASES], ids=[case[0] for case in ERROR_CASES]
)
def test_errors_name_key_path_and_line(tmp_path, old, new, key_path, needle, fragment):
    text = replace(FULL, old, new)
    message = load_error(tmp_path, text)
    assert f" line {line_of(text, needle)}: {key_path}" in message, message
    assert fragment in message, message


def test_missing_top_level_key(tmp_path):
    message = load_error(tmp_path, replace(MINIMAL, "model: all-minilm-l6-v2\n", ""))
    assert "line 1: model: required key is missing" in message


def test_missing_nested_key(tmp_path):
    text = replace(MINIMAL, "  data: [0, 1]\n", "")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'seeds:')}: seeds.data: required key is missing" in message


def test_noise_family_none_rejects_levels_and_n_relabel(tmp_path):
    text = replace(MINIMAL, "  family: none\n", "  family: none\n  levels: [0.5]\n")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'levels')}: noise.levels: does not apply to noise family none" in message
    text = replace(MINIMAL, "  family: none\n", "  family: none\n  n_relabel: 500\n")
    assert "noise.n_relabel: does not apply to noise family none" in load_error(tmp_path, text)


def test_n_relabel_int_rejected_with_n_train_all(tmp_path):
    text = replace(FULL, "n_train: [100]", "n_train: [all]")
    text = replace(text, "  n_relabel: all\n", "  n_relabel: 500\n")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'n_relabel')}: noise.n_relabel: must be 'all' when n_train includes 'all', got 500" in message


def test_crossed_duplicate_seed(tmp_path):
    text = replace(FULL, "  train: [0, 1, 2, 3, 4]\n  mode: zipped", "  train: [0, 1, 0]\n  mode: crossed")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'train: [0, 1, 0]')}: seeds.train[2]: duplicate train seed 0" in message


def test_duplicate_variant_across_entries(tmp_path):
    text = replace(FULL, "  - {name: ce-scl, lam: [0.9], tau: [0.3]}\n",
                   "  - {name: ce-scl, lam: [0.9], tau: [0.3]}\n  - {name: ce-scl, lam: [0.5, 0.9], tau: [0.3]}\n")
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'lam: [0.5, 0.9]')}: methods[2]: duplicate method variant ce-scl(λ=0.9, τ=0.3)" in message


def test_non_string_key(tmp_path):
    text = MINIMAL + "3: x\n"
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, '3: x')}:" in message and "keys must be strings" in message


def test_duplicate_key_is_malformed(tmp_path):
    text = MINIMAL + "model: other\n"
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'model: other')}: malformed YAML" in message
    assert "duplicate key 'model' (first at line 3)" in message


def test_merged_key_may_be_overridden_but_not_repeated(tmp_path):
    text = MINIMAL + "training:\n  <<: {epochs: 3}\n  epochs: 4\n  epochs: 5\n"
    message = load_error(tmp_path, text)
    assert f"line {line_of(text, 'epochs: 5')}: malformed YAML" in message


def test_malformed_yaml_names_line(tmp_path):
    text = replace(MINIMAL, "n_train: [100]", "n_train: [100")
    message = load_error(tmp_path, text)
    assert "malformed YAML" in message
    assert " line " in message
    bad = "name: x\ntasks: [rt-polarity]\n  model: broken: here\n"
    message = load_error(tmp_path, bad)
    assert message.startswith(f"{tmp_path / 'grid.yaml'} line 3: malformed YAML"), message


def test_top_level_not_a_mapping(tmp_path):
    assert "line 1: expected a mapping of grid keys, got list" in load_error(tmp_path, "- a\n- b\n")
    assert "empty" in load_error(tmp_path, "# nothing\n")


def test_missing_file_directory_and_bad_encoding(tmp_path):
    with pytest.raises(ConfigError, match="nope.yaml: grid file not found"):
        load_grid(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        load_grid(tmp_path)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_grid(latin)


# --------------------------------------------------------------------------------------------------
# clean anchor, target rates, weak-model fit


def test_include_clean_adds_clean_runs_sharing_data_and_train_seeds(tmp_path):
    grid = load_grid(write(tmp_path, replace(FULL, "  n_relabel: all\n", "  n_relabel: all\n  include_clean: true\n")))
    runs = expand(grid)
    clean = [r for r in runs if r.noise_family == "none"]
    noisy = [r for r in runs if r.noise_family != "none"]
    assert len(clean) == 5 * 2 and len(noisy) == 5 * 5 * 2
    assert all(r.noise_level is None and r.noise_seed is None and r.weak_fit is None for r in clean)
    seeds = lambda rs: {(r.data_seed, r.train_seed, r.method) for r in rs}  # noqa: E731
    assert seeds(clean) == seeds(noisy)
    assert noise_jobs(grid) and all(spec.family == "temperature" for _, spec in noise_jobs(grid))


def test_target_rates_expand_beside_levels_with_their_own_noise_param(tmp_path):
    text = replace(FULL, LEVELS, "  levels: [0.5]\n  target_rates: [0.1, 0.2]\n  weak_fit: cross-fit\n")
    runs = expand(load_grid(write(tmp_path, text)))
    settings = sorted({(r.noise_param, r.noise_level, r.weak_fit) for r in runs})
    assert settings == [("target_rate", 0.1, "cross-fit"), ("target_rate", 0.2, "cross-fit"), ("temperature", 0.5, "cross-fit")]


def test_target_rates_alone_are_enough(tmp_path):
    runs = expand(load_grid(write(tmp_path, replace(FULL, LEVELS, "  target_rates: [0.05, 0.3]\n"))))
    assert {(r.noise_param, r.noise_level, r.weak_fit) for r in runs} == {("target_rate", 0.05, "in-sample"), ("target_rate", 0.3, "in-sample")}


@pytest.mark.parametrize(
    "new, fragment",
    [
        ("  target_rates: [1.5]\n", "noise.target_rates[0]: target_rate must be in [0, 1], got 1.5"),
        ("  levels: [0.5]\n  weak_fit: magic\n", "noise.weak_fit: unknown weak-model fit 'magic'"),
    ],
)
def test_bad_target_rates_and_weak_fits_name_their_line(tmp_path, new, fragment):
    text = replace(FULL, LEVELS, new)
    message = load_error(tmp_path, text)
    assert fragment in message and f"line {line_of(text, new.splitlines()[-1].strip().split(':')[0] + ':')}" in message


def test_weak_fit_and_include_clean_do_not_apply_without_a_weak_model_or_noise(tmp_path):
    uniform = replace(replace(FULL, "  family: temperature\n", "  family: uniform\n"), LEVELS, "  levels: [0.2]\n  weak_fit: in-sample\n")
    assert "noise.weak_fit: noise family uniform uses no weak model" in load_error(tmp_path, uniform)
    clean = replace(MINIMAL, "  family: none\n", "  family: none\n  include_clean: true\n")
    assert "noise.include_clean: does not apply to noise family none" in load_error(tmp_path, clean)


def test_benchmark_small_size():
    runs = expand(load_grid(REPO / "experiments" / "benchmark-small.yaml"))
    assert len(runs) == 4 * 5 * 10
    assert {(r.task, r.noise_family) for r in runs} == {
        ("rt-polarity", "temperature"), ("rt-polarity", "uniform"),
        ("vader-movie", "annotator"), ("vader-movie", "temperature"),
    }
    assert {r.method for r in runs} == {"ce", "ce-scl", "ls", "gce", "sce"}

"""Executors as registered objects: the grid's typed executor block, the CLI's --executor, and a toy executor
defined here only, as a user's plugin, that runs a grid through the CLI.

This module is both the test and the plugin: the CLI subprocess imports it through
``NOISEBENCH_PLUGINS=tests.grid.test_executors``, and importing it registers the toy executor.
Nothing else in noisebench knows about it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Literal

import pandas as pd
import pytest

from noisebench.errors import ConfigError
from noisebench.grid.executors import (
    Dispatch,
    Executor,
    ExecutorOptions,
    register_executor,
    resolve,
)
from noisebench.grid.executors.ray import RayOptions
from noisebench.grid.executors.submitit import SubmititOptions
from noisebench.grid.spec import ExecutorSpec, load_grid
from tests.conftest import run_cli, write_sst2


class ToyOptions(ExecutorOptions):
    order: Literal["forward", "reverse"] = "forward"


class ToyExecutor(Executor):
    """Runs the runs in this process in the order asked for, and notes what it did in toy-executor.json."""

    name = "toy"
    description = "in this process, forward or reverse (test plugin)"
    Options = ToyOptions

    def run(self, todo, options, dispatch: Dispatch) -> dict[str, str]:
        from noisebench.grid.runner import execute_one

        ordered = list(reversed(todo)) if options.order == "reverse" else list(todo)
        outcomes = {}
        for config in ordered:
            outcomes[config.run_id] = execute_one(config, dispatch.results_dir, data_dir=dispatch.data_dir)
            dispatch.report(config.run_id, outcomes[config.run_id])
        (dispatch.results_dir / "toy-executor.json").write_text(json.dumps({"order": options.order, "runs": [c.run_id for c in ordered]}))
        return outcomes


register_executor(ToyExecutor())

PLUGIN = "tests.grid.test_executors"


def nb(*args: object, home: Path) -> subprocess.CompletedProcess:
    return run_cli(*args, home=home, plugins=PLUGIN)


GRID = """\
name: toy-executor
tasks: [sst2]
model: {model}
n_train: [16]
noise: {{family: temperature, levels: [0.5]}}
methods: [ce]
seeds: {{data: [0, 1], noise: [0, 1], train: [0, 1]}}
training: {{epochs: 1, batch_size: 8, lr: 1.0e-3, max_length: 16}}
evaluation: {{dev_limit: 20, test_limit: 20}}
executor: {executor}
"""

MINIMAL = GRID.replace("{{", "{").replace("}}", "}").replace("{model}", "some-model")


def write_grid(folder: Path, executor: str, model: str = "prajjwal1/bert-tiny") -> Path:
    path = folder / "grid.yaml"
    path.write_text(GRID.format(model=model, executor=executor))
    return path


@pytest.mark.slow
def test_a_plugin_executor_runs_a_grid_through_the_cli_with_its_options(tmp_path, tiny_model_dir) -> None:
    glue = write_sst2(tmp_path / "glue", n_train=60, n_dev=40)
    grid = write_grid(tmp_path, "{name: toy, order: reverse}", model=str(tiny_model_dir))
    listing = nb("list", "executors", home=tmp_path / "home")
    assert listing.returncode == 0, listing.stderr
    assert "toy" in listing.stdout and "order (default forward)" in listing.stdout
    results = tmp_path / "results"
    run = nb("train", "--grid", grid, "--results", results, "--data-dir", glue, home=tmp_path / "home")
    assert run.returncode == 0, run.stderr
    noted = json.loads((results / "toy-executor.json").read_text())
    assert noted["order"] == "reverse" and len(noted["runs"]) == 2
    table = pd.read_parquet(results / "results.parquet")
    assert sorted(table["run_id"]) == sorted(noted["runs"])
    again = nb("train", "--grid", grid, "--results", results, "--data-dir", glue, "--executor", "local", home=tmp_path / "home")
    assert again.returncode == 0, again.stderr
    assert "skipped 2" in again.stdout  # resumed by another executor: the same claims and DONE markers


def _grid(tmp_path: Path, executor: str):
    path = tmp_path / "g.yaml"
    path.write_text(MINIMAL.replace("{executor}", executor))
    return path


def test_a_block_without_name_keeps_todays_flat_submitit_keys(tmp_path, monkeypatch) -> None:
    grid = load_grid(_grid(tmp_path, "{partition: gpu, time_min: 30}"))
    assert grid.executor == ExecutorSpec(partition="gpu", time_min=30) and grid.executor.name is None
    executor, options = resolve(None, grid.executor)
    assert executor.name == "local" and options.gpus_per_run == 1
    executor, options = resolve("submitit", grid.executor)
    assert executor.name == "submitit" and options.partition == "gpu" and options.time_min == 30


def test_a_named_block_is_that_executors_typed_options(tmp_path) -> None:
    grid = load_grid(_grid(tmp_path, "{name: ray, num_cpus_per_run: 1, num_gpus_per_run: 0.25, address: null}"))
    assert isinstance(grid.executor, RayOptions) and grid.executor.num_gpus_per_run == 0.25
    executor, options = resolve(None, grid.executor)
    assert executor.name == "ray" and options is grid.executor
    executor, options = resolve("local", grid.executor)  # --executor overrides the grid's
    assert executor.name == "local" and not isinstance(options, RayOptions)


@pytest.mark.parametrize(
    "block,fragment",
    [
        ("{name: kubernetes}", "executor.name: unknown executor 'kubernetes'; known: local, submitit, ray"),
        ("{name: ray, partition: gpu}", "executor.partition: unknown key: executor ray takes gpus_per_run, num_cpus_per_run, num_gpus_per_run, address"),
        ("{name: ray, num_gpus_per_run: -0.5}", "executor.num_gpus_per_run:"),
        ("{name: submitit, mem: 8}", "executor.mem: unknown key"),
    ],
)
def test_a_bad_executor_block_is_one_error_with_its_line(tmp_path, block, fragment) -> None:
    with pytest.raises(ConfigError) as error:
        load_grid(_grid(tmp_path, block))
    assert f"line {MINIMAL.splitlines().index('executor: {executor}') + 1}: " in str(error.value)
    assert fragment in str(error.value)


def test_command_line_overrides_must_apply_to_the_executor() -> None:
    _, options = resolve("submitit", None, {"partition": "a100", "gpus_per_run": 2})
    assert isinstance(options, SubmititOptions) and options.partition == "a100" and options.gpus_per_run == 2
    with pytest.raises(ConfigError, match="--partition does not apply to the ray executor"):
        resolve("ray", None, {"partition": "a100"})


def test_data_parallel_runs_are_refused_in_one_line_by_executors_that_cannot(tmp_path) -> None:
    dispatch = Dispatch(tmp_path)
    executor, options = resolve("ray", {"gpus_per_run": 2})
    with pytest.raises(ConfigError, match="data-parallel runs are not built for the ray executor yet"):
        executor.check(options, dispatch)
    executor, options = resolve("local", {"gpus_per_run": 2})
    with pytest.raises(ConfigError, match="needs --executor submitit"):
        executor.check(options, dispatch)
    executor, options = resolve("submitit", {"gpus_per_run": 2})
    executor.check(options, dispatch)


def test_the_cli_offers_the_registered_executors(tmp_path) -> None:
    result = nb("train", "--grid", _grid(tmp_path, "{}"), "--results", tmp_path / "r", "--executor", "nope", home=tmp_path / "home")
    assert result.returncode == 2
    assert "'local', 'submitit', 'ray', 'toy'" in result.stderr or "local, submitit, ray, toy" in result.stderr, result.stderr

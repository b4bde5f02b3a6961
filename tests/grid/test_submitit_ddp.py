"""Data-parallel grid runs (``executor.gpus_per_run``): Slurm's request, the local executor's refusal, and
submitit local jobs of two gloo ranks that write each run once, keep in step with rank 0's decisions and
train like one process."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import pandas as pd
import pytest

from noisebench.errors import ConfigError
from noisebench.grid.claims import claim
from noisebench.grid.runner import execute_chunk_data_parallel, run_grid, submitit_parameters
from noisebench.grid.spec import ExecutorSpec, expand, load_grid
from noisebench.schema import RunConfig
from noisebench.store.layout import lock_path
from noisebench.store.runs import write_done

GRID = """\
name: ddp
tasks: [sst2]
model: {model}
n_train: [16]
noise: {{family: none}}
methods: [{{name: ce-scl, lam: [0.9], tau: [0.3]}}]
seeds: {{data: [0, 1], train: [0, 1]}}
training: {{epochs: 2, batch_size: 8, lr: 1.0e-3, max_length: 16}}
executor: {{gpus_per_run: 2, time_min: 20}}
"""


@pytest.fixture()
def grid_file(tmp_path, no_dropout_model, glue_dir, monkeypatch) -> Path:
    monkeypatch.setenv("NOISEBENCH_GLUE_DIR", str(glue_dir))  # inherited by submitit's local tasks
    path = tmp_path / "ddp.yaml"
    path.write_text(GRID.format(model=no_dropout_model))
    return path


def test_slurm_gets_one_node_with_a_task_and_a_gpu_per_rank(tmp_path, monkeypatch):
    import submitit

    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    (fake_bin / "srun").write_text("#!/bin/sh\n")
    (fake_bin / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}:{os.environ['PATH']}")  # submitit's Slurm executor looks for srun
    slurm = ExecutorSpec(gpus_per_run=4, cpus_per_task=6, partition="gpu").model_dump()
    executor = submitit.AutoExecutor(folder=tmp_path, cluster="slurm")
    executor.update_parameters(**submitit_parameters(slurm, local=False))
    script = executor._executor._make_submission_file_text("python -m x", "uid")  # the sbatch file, not submitted
    for line in ("--nodes=1", "--ntasks-per-node=4", "--gpus-per-node=4", "--cpus-per-task=6", "--partition=gpu"):
        assert f"#SBATCH {line}\n" in script


@pytest.mark.parametrize(
    "executor,expected_gpus", [({}, 1), ({"gpus_per_run": 2}, 2), ({"gpus_per_run": 2, "gpus_per_node": 0}, 0), ({"gpus_per_node": 3}, 3)]
)
def test_a_job_asks_for_one_gpu_per_rank_unless_on_cpu_nodes(executor, expected_gpus):
    params = submitit_parameters(ExecutorSpec(**executor).model_dump(), local=False)
    assert params["gpus_per_node"] == expected_gpus
    assert params["tasks_per_node"] == executor.get("gpus_per_run", 1)


def test_gpus_per_node_set_below_gpus_per_run_is_rejected():
    with pytest.raises(ValueError, match="fewer than gpus_per_run 4"):
        ExecutorSpec(gpus_per_node=2, gpus_per_run=4)
    with pytest.raises(ValueError, match="gpus_per_run"):
        ExecutorSpec(gpus_per_run=0)


def test_the_local_executor_refuses_data_parallel_runs(grid_file, tmp_path):
    configs = expand(load_grid(grid_file))
    with pytest.raises(ConfigError, match="gpus_per_run 2 .* needs --executor submitit"):
        run_grid(configs, tmp_path / "r", slurm={"gpus_per_run": 2}, progress=False)
    assert not (tmp_path / "r").exists()


def _task_results(submitit_dir: Path) -> list:
    """What each task of the (single) submitit job returned, by rank."""
    paths = sorted(submitit_dir.rglob("*_result.pkl"), key=lambda p: p.name)
    return [pickle.loads(p.read_bytes())[1] for p in paths]


def test_two_gloo_ranks_through_submitit_write_each_run_once_and_train_like_one_process(grid_file, tmp_path):
    grid = load_grid(grid_file)
    configs = expand(grid)
    results = tmp_path / "ddp"
    summary = run_grid(configs, results, executor="submitit", cluster="local", jobs=1, slurm=grid.executor.model_dump(), progress=False)
    assert summary.counts() == {"done": 2}
    logs = sorted(p.name.split("_")[1] for p in (results / "submitit").rglob("*_log.out"))
    assert logs == ["0", "1"]  # one job (both runs in one chunk), two tasks
    assert _task_results(results / "submitit") == [summary.status, summary.status]  # every rank saw the same outcomes
    assert sorted(p.name for p in (results / "runs").iterdir() if not p.name.startswith(".")) == sorted(c.run_id for c in configs)

    reference = tmp_path / "one"
    run_grid(configs, reference, progress=False)
    for config in configs:
        ddp = json.loads((results / "runs" / config.run_id / "metrics.json").read_text())
        single = json.loads((reference / "runs" / config.run_id / "metrics.json").read_text())
        assert ddp["world_size"] == 2 and "world_size" not in single
        for epoch, expected in zip(ddp["history"], single["history"], strict=True):
            assert epoch["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-4)
            assert epoch["dev_accuracy"] == expected["dev_accuracy"]
        assert ddp["test_accuracy"] == single["test_accuracy"]
    assert len(pd.read_parquet(results / "results.parquet")) == 2


def test_every_rank_follows_rank0_decisions_through_a_chunk(grid_file, tmp_path):
    """A DONE run is skipped, a claimed one is busy, a failing one fails on every rank: the ranks stay in step."""
    import submitit

    done, claimed = expand(load_grid(grid_file))
    failing = RunConfig.from_dict({**done.to_dict(), "n_train": 100_000})
    results = tmp_path / "r"
    write_done(results, done, {"test_accuracy": 0.5})
    executor = submitit.AutoExecutor(folder=results / "submitit", cluster="local")
    executor.update_parameters(**submitit_parameters({"gpus_per_run": 2, "time_min": 10}, local=True))
    with claim(lock_path(results, claimed.run_id)) as mine:
        assert mine
        job = executor.submit(execute_chunk_data_parallel, [done, claimed, failing], results)
        outcomes = job.results()
    expected = {done.run_id: "skipped", claimed.run_id: "busy", failing.run_id: "failed"}
    assert outcomes == [expected, expected]
    assert "larger than the train pool" in (results / "runs" / failing.run_id / "traceback.txt").read_text()
    assert not (results / "runs" / claimed.run_id).exists()

"""The grid runner: resume, skip, redo one, failures recorded, shards, claims, submitit's local executor."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from noisebench.errors import ConfigError
from noisebench.grid.claims import claim, is_claimed, is_stale
from noisebench.grid.runner import parse_shard, plan, run_grid, select_shard
from noisebench.grid.spec import expand, load_grid
from noisebench.store.layout import lock_path
from tests.conftest import run_cli

GRID = """\
name: tiny
tasks: [sst2]
model: {model}
n_train: [16]
noise: {{family: temperature, levels: [0.5, 2.0]}}
methods: [ce, {{name: ce-scl, lam: [0.9], tau: [0.3]}}]
seeds: {{data: [0, 1], noise: [0, 1], train: [0, 1]}}
training: {{epochs: 1, batch_size: 8, lr: 1.0e-3, max_length: 16}}
"""


@pytest.fixture()
def grid_file(tmp_path, tiny_model_dir, glue_dir, monkeypatch) -> Path:
    monkeypatch.setenv("NOISEBENCH_GLUE_DIR", str(glue_dir))
    path = tmp_path / "tiny.yaml"
    path.write_text(GRID.format(model=tiny_model_dir))
    return path


@pytest.fixture()
def group_umask():
    """A results folder shared by a group: umask 002."""
    previous = os.umask(0o002)
    yield 0o002
    os.umask(previous)


def assert_follows_umask(folder: Path, umask: int) -> None:
    """``folder`` and everything published in it (hidden names aside) carry the umask's modes."""
    for path in [folder, *folder.rglob("*")]:
        if any(part.startswith(".") for part in path.relative_to(folder.parent).parts):
            continue
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def metrics_by_run(results: Path) -> dict[str, float]:
    table = pd.read_parquet(results / "results.parquet")
    return dict(zip(table["run_id"], table["test_accuracy"]))


def test_grid_runs_every_cell_once_and_writes_the_table(grid_file, tmp_path, group_umask):
    configs = expand(load_grid(grid_file))
    summary = run_grid(configs, tmp_path / "r", progress=False)
    assert summary.counts() == {"done": 8}
    assert_follows_umask(tmp_path / "r", group_umask)  # runs, artifacts, results.parquet
    table = pd.read_parquet(tmp_path / "r" / "results.parquet")
    assert sorted(table["run_id"]) == sorted(c.run_id for c in configs)
    assert set(table["method"]) == {"ce", "ce-scl"} and set(table["noise_level"]) == {0.5, 2.0}
    # one artifact per (T, data_seed, noise_seed), shared by both methods
    assert len(list((tmp_path / "r" / "noise").glob("sst2/*/*/noise.json"))) == 4

    again = run_grid(configs, tmp_path / "r", progress=False)
    assert again.counts() == {"skipped": 8}

    victim = configs[3].run_id
    before = metrics_by_run(tmp_path / "r")
    shutil.rmtree(tmp_path / "r" / "runs" / victim)
    redo = run_grid(configs, tmp_path / "r", progress=False)
    assert redo.status[victim] == "done" and redo.counts() == {"done": 1, "skipped": 7}
    assert metrics_by_run(tmp_path / "r") == before  # the redone run reproduces its numbers


def test_a_failing_run_is_recorded_and_the_grid_goes_on(grid_file, tmp_path):
    # SCE with α = β = 0 is a loss with a zero gradient: its runs fail in the training loop (an n_train over
    # the pool is refused before the grid starts, see tests/test_faults_round2_runs.py)
    grid_file.write_text(grid_file.read_text().replace("methods: [ce, ", "methods: [ce, {name: sce, alpha: [0.0], beta: [0.0]}, "))
    configs = expand(load_grid(grid_file))
    summary = run_grid(configs, tmp_path / "r", progress=False)
    assert summary.counts() == {"done": 8, "failed": 4}
    for run_id in summary.failed:
        run = tmp_path / "r" / "runs" / run_id
        assert (run / "FAILED").is_file() and not (run / "DONE").exists()
        assert "gradient is zero" in (run / "traceback.txt").read_text()
    assert len(pd.read_parquet(tmp_path / "r" / "results.parquet")) == 8
    assert set(plan(configs, tmp_path / "r")["state"]) == {"done", "failed"}


def test_shards_partition_the_grid(grid_file):
    configs = expand(load_grid(grid_file))
    shards = [select_shard(configs, parse_shard(f"{i}/3")) for i in (1, 2, 3)]
    ids = [c.run_id for shard in shards for c in shard]
    assert sorted(ids) == sorted(c.run_id for c in configs) and len(set(ids)) == len(ids)
    with pytest.raises(ConfigError, match="i/N"):
        parse_shard("2-3")
    with pytest.raises(ConfigError, match="1 <= i <= N"):
        parse_shard("4/3")


def test_a_claimed_run_is_not_executed_twice(grid_file, tmp_path):
    configs = expand(load_grid(grid_file))
    held = configs[0]
    with claim(lock_path(tmp_path / "r", held.run_id)) as mine:
        assert mine
        with claim(lock_path(tmp_path / "r", held.run_id)) as second:
            assert not second
        summary = run_grid(configs[:2], tmp_path / "r", progress=False)
    assert summary.status[held.run_id] == "busy"
    assert not (tmp_path / "r" / "runs" / held.run_id).exists()
    assert summary.status[configs[1].run_id] == "done"


def test_a_claim_left_by_a_dead_process_is_stale(tmp_path):
    lock = tmp_path / "x.lock"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    import socket

    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": int(dead.stdout), "since": 0}))
    assert is_stale(lock) and not is_claimed(lock)
    with claim(lock) as mine:
        assert mine and json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_parallel_jobs_give_the_same_numbers_as_one_job(grid_file, tmp_path):
    configs = expand(load_grid(grid_file))[:4]
    run_grid(configs, tmp_path / "one", jobs=1, progress=False)
    run_grid(configs, tmp_path / "two", jobs=2, progress=False)
    assert metrics_by_run(tmp_path / "one") == metrics_by_run(tmp_path / "two")


def test_submitit_local_executor_runs_the_grid(grid_file, tmp_path):
    configs = expand(load_grid(grid_file))[:4]
    summary = run_grid(configs, tmp_path / "s", executor="submitit", cluster="local", jobs=2, progress=False)
    assert summary.counts() == {"done": 4}
    assert len(list((tmp_path / "s" / "submitit").rglob("*_log.out"))) >= 2  # ran in submitit's subprocesses
    run_grid(configs, tmp_path / "ref", progress=False)
    assert metrics_by_run(tmp_path / "s") == metrics_by_run(tmp_path / "ref")


def test_cli_grid_dry_run_collect_and_exit_status(grid_file, tmp_path):
    env = {**os.environ, "TQDM_DISABLE": "1"}
    results = tmp_path / "r"

    def nb(*args):
        return subprocess.run([sys.executable, "-m", "noisebench", *map(str, args)], capture_output=True, text=True, env=env, timeout=600)

    dry = nb("train", "--grid", grid_file, "--results", results, "--dry-run")
    assert dry.returncode == 0 and "8 runs: todo 8" in dry.stdout and not results.exists()
    grid_file.write_text(grid_file.read_text().replace("methods: [ce, ", "methods: [ce, {name: sce, alpha: [0.0], beta: [0.0]}, ")
                         .replace("levels: [0.5, 2.0]", "levels: [0.5]"))  # SCE with alpha = beta = 0: a loss without gradient, failed at run time
    run = nb("train", "--grid", grid_file, "--results", results)
    assert run.returncode == 1 and "failed 2" in run.stdout and run.stderr.count("traceback.txt") == 2
    (results / "results.parquet").unlink()
    collected = nb("collect", results)
    assert collected.returncode == 0 and len(pd.read_parquet(results / "results.parquet")) == 4


def test_a_worker_killed_mid_grid_is_one_error_line_and_the_same_command_resumes(grid_file, tmp_path, monkeypatch):
    results = tmp_path / "r"
    monkeypatch.setenv("NOISEBENCH_CRASH_AT", "train-step:3")  # each worker SIGKILLs itself at its 3rd optimiser step: its 2nd run
    killed = run_cli("train", "--grid", grid_file, "--results", results, "--jobs", 2, home=tmp_path / "home")
    assert killed.returncode == 2 and "Traceback" not in killed.stderr
    error = [line for line in killed.stderr.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "a worker process died" in error[0] and "run the same command again" in error[0]
    done_before = {p.name for p in (results / "runs").iterdir() if (p / "DONE").exists()}
    monkeypatch.delenv("NOISEBENCH_CRASH_AT")
    resumed = run_cli("train", "--grid", grid_file, "--results", results, "--jobs", 2, home=tmp_path / "home")
    assert resumed.returncode == 0, resumed.stderr
    table = pd.read_parquet(results / "results.parquet")
    assert len(table) == len(expand(load_grid(grid_file))) == table["run_id"].nunique()
    assert done_before <= set(table["run_id"])

"""A grid under ``torchrun --nproc-per-node 2``: both ranks train every run together and end together;
an error is one line from rank 0, and status 2 is the exit of the first rank to end (the launcher stops the rest)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from noisebench.errors import ConfigError
from noisebench.grid.spec import expand, load_grid
from noisebench.grid.torchrun import check_options, is_lead_rank, under_torchrun
from tests.conftest import REPO

GRID = """\
name: ranks
tasks: [sst2]
model: {model}
n_train: [{n}]
noise: {{family: temperature, levels: [0.5]}}
methods: [ce, {{name: ce-scl, lam: [0.9], tau: [0.3]}}]
seeds: {{data: [0], noise: [0], train: [0]}}
training: {{epochs: 1, batch_size: 8, lr: 1.0e-3, max_length: 16}}
evaluation: {{dev_limit: 16, test_limit: 16}}
"""


def torchrun(*args: object, home: Path, glue: Path) -> subprocess.CompletedProcess:
    """``torchrun --nproc-per-node 2 -m noisebench ARGS`` on this machine (gloo on CPU, one thread per rank)."""
    env = {**os.environ, "NOISEBENCH_HOME": str(home), "NOISEBENCH_GLUE_DIR": str(glue), "TQDM_DISABLE": "1", "OMP_NUM_THREADS": "1"}
    for name in ("NOISEBENCH_PLUGINS", "NOISEBENCH_TASKS_FILES", "WORLD_SIZE", "RANK", "LOCAL_RANK"):
        env.pop(name, None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "noisebench", *map(str, args)]
    return subprocess.run(command, check=False, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def rank_exit_codes(result: subprocess.CompletedProcess) -> tuple[int, set[int]]:
    """From the launcher's failure summary: the exit code of the first rank to end (its "root cause"),
    and the set of every rank's. The launcher stops the ranks still running when one ends with an error
    (SIGTERM, -15): the ranks leave together, but one may be cut off while shutting down."""
    codes = [int(code) for code in re.findall(r"exitcode\s*:\s*(-?\d+)", result.stderr)]
    root = re.search(r"Root Cause.*?exitcode\s*:\s*(-?\d+)", result.stderr, re.S)
    assert codes and root, result.stderr[-3000:]
    return int(root.group(1)), set(codes)


def assert_every_rank_exits_2(result: subprocess.CompletedProcess) -> None:
    root, codes = rank_exit_codes(result)
    assert root == 2 and codes <= {2, -15}


def write_grid(path: Path, model: Path, n: int = 16) -> Path:
    path.write_text(GRID.format(model=model, n=n))
    return path


def test_a_grid_under_torchrun_trains_each_run_once_on_both_ranks_and_ends(tiny_model_dir, glue_dir, tmp_path):
    grid = write_grid(tmp_path / "g.yaml", tiny_model_dir)
    results = tmp_path / "r"
    first = torchrun("train", "--grid", grid, "--results", results, home=tmp_path / "home", glue=glue_dir)
    assert first.returncode == 0, first.stderr[-3000:]
    assert first.stdout.count("grid ranks: done 2") == 1  # rank 0 speaks for the command

    configs = expand(load_grid(grid))
    table = pd.read_parquet(results / "results.parquet")
    assert sorted(table["run_id"]) == sorted(c.run_id for c in configs)
    for config in configs:
        run = next((results / "runs").glob(f"*{config.run_id}*"))
        assert (run / "DONE").exists()
        assert json.loads((run / "metrics.json").read_text())["world_size"] == 2  # trained data-parallel
    assert not list((results / "runs").glob("*.tmp*"))

    again = torchrun("train", "--grid", grid, "--results", results, home=tmp_path / "home", glue=glue_dir)
    assert again.returncode == 0, again.stderr[-3000:]  # nothing left to do on either rank: both end
    assert again.stdout.count("grid ranks: skipped 2") == 1


def test_an_error_rank_0_finds_is_one_line_and_exit_status_2_on_every_rank(tiny_model_dir, glue_dir, tmp_path):
    grid = write_grid(tmp_path / "g.yaml", tiny_model_dir, n=100_000)  # N larger than the pool: found by rank 0's checks
    results = tmp_path / "r"
    result = torchrun("train", "--grid", grid, "--results", results, home=tmp_path / "home", glue=glue_dir)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "n_train=100000 is larger than" in errors[0], result.stderr[-3000:]
    assert_every_rank_exits_2(result)
    assert "noisebench/" not in result.stderr  # no traceback through our code (the launcher prints its own summary)
    assert not (results / "runs").exists() or not any((results / "runs").iterdir())


def test_options_that_do_not_apply_under_torchrun_are_one_error_line(tiny_model_dir, glue_dir, tmp_path):
    grid = write_grid(tmp_path / "g.yaml", tiny_model_dir)
    result = torchrun("train", "--grid", grid, "--results", tmp_path / "r", "--jobs", 2, home=tmp_path / "home", glue=glue_dir)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: --jobs does not apply under torchrun: its ranks train each run of the grid together, one run after another"]
    assert_every_rank_exits_2(result)


def test_rank_environment_is_read_from_torchruns_variables(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    monkeypatch.delenv("RANK", raising=False)
    assert (under_torchrun(), is_lead_rank()) == (False, True)
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    assert (under_torchrun(), is_lead_rank()) == (True, False)
    check_options(1, None)
    with pytest.raises(ConfigError, match="--jobs and --executor"):
        check_options(3, "ray")

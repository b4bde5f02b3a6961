"""Reliability: SIGKILL the grid at several points, resume, and get exactly the uninterrupted result."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow

GRID = """\
name: killme
tasks: [sst2]
model: {model}
n_train: [16]
noise: {{family: temperature, levels: [0.5]}}
methods: [ce, {{name: ce-scl, lam: [0.9], tau: [0.3]}}]
seeds: {{data: [0, 1], noise: [0, 1], train: [0, 1]}}
training: {{epochs: 2, batch_size: 8, lr: 1.0e-3, max_length: 16}}
"""
METRICS = ["run_id", "test_accuracy", "dev_accuracy", "best_epoch", "realized_noise_rate", "n_corrupted"]


def run_grid_cli(grid: Path, results: Path, glue: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "NOISEBENCH_GLUE_DIR": str(glue), "TQDM_DISABLE": "1"}
    env.pop("NOISEBENCH_CRASH_AT", None)
    if crash_at:
        env["NOISEBENCH_CRASH_AT"] = crash_at
    cmd = [sys.executable, "-m", "noisebench", "train", "--grid", str(grid), "--results", str(results)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)


def assert_nothing_half_written(results: Path) -> None:
    for run in (results / "runs").glob("*"):
        if run.name.startswith("."):
            continue  # temporary names and claims: never read as results
        assert (run / "DONE").is_file() or (run / "FAILED").is_file(), run
        assert (run / "config.json").is_file()
        if (run / "DONE").is_file():
            assert (run / "metrics.json").is_file()
    for artifact in (results / "noise").glob("*/*/*"):
        if not artifact.name.startswith("."):
            assert (artifact / "noise.json").is_file() and (artifact / "labels.parquet").is_file(), artifact
    if (results / "results.parquet").exists():
        pd.read_parquet(results / "results.parquet")


def test_killed_grid_resumes_to_the_uninterrupted_result(tmp_path, tiny_model_dir, glue_dir):
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID.format(model=tiny_model_dir))
    reference = run_grid_cli(grid, tmp_path / "reference", glue_dir)
    assert reference.returncode == 0, reference.stderr
    expected = pd.read_parquet(tmp_path / "reference" / "results.parquet")[METRICS].sort_values("run_id", ignore_index=True)
    assert len(expected) == 4

    results = tmp_path / "interrupted"
    # artifact writing, mid-training (3rd optimisation step = 2nd run), publishing the 2nd run, the table
    for point in ("artifact-write:2", "train-step:3", "run-write:2", "table-write:1"):
        killed = run_grid_cli(grid, results, glue_dir, crash_at=point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr[-2000:])
        assert_nothing_half_written(results)

    resumed = run_grid_cli(grid, results, glue_dir)
    assert resumed.returncode == 0, resumed.stderr
    assert_nothing_half_written(results)
    table = pd.read_parquet(results / "results.parquet")
    assert table["run_id"].is_unique and len(table) == 4
    pd.testing.assert_frame_equal(table[METRICS].sort_values("run_id", ignore_index=True), expected)

    again = run_grid_cli(grid, results, glue_dir)
    assert "skipped 4" in again.stdout

"""The ray executor for real, on a local Ray instance: a driver of a 4-run grid killed with SIGKILL after its
first finished run resumes with every run DONE exactly once, and the grid's table is the local executor's."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import write_sst2

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]  # one local Ray instance at a time under pytest -n

REPO = Path(__file__).resolve().parents[2]

GRID = """\
name: ray-grid
tasks: [sst2]
model: {model}
n_train: [16]
noise: {{family: temperature, levels: [0.5]}}
methods: [ce]
seeds: {{data: [0, 1, 2, 3], noise: [0, 1, 2, 3], train: [0, 1, 2, 3]}}
training: {{epochs: 1, batch_size: 8, lr: 1.0e-3, max_length: 16}}
evaluation: {{dev_limit: 20, test_limit: 20}}
"""
COMPARED = ["run_id", "test_accuracy", "dev_accuracy", "realized_noise_rate"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, tiny_model_dir) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ray")
    glue = write_sst2(root / "glue", n_train=60, n_dev=40)
    grid = root / "grid.yaml"
    grid.write_text(GRID.format(model=tiny_model_dir))
    return {"root": root, "glue": glue, "grid": grid, "home": root / "home"}


def _env(setup: dict[str, Path]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}  # a local instance of its own
    env.update(NOISEBENCH_HOME=str(setup["home"]), TQDM_DISABLE="1", RAY_DISABLE_USAGE_STATS="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _train(setup: dict[str, Path], results: Path, executor: str, *extra: str) -> list[str]:
    grid, glue = str(setup["grid"]), str(setup["glue"])
    return [sys.executable, "-m", "noisebench", "train", "--grid", grid, "--executor", executor, "--results", str(results), "--data-dir", glue, *extra]


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc), children first found first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _table(results: Path) -> pd.DataFrame:
    table = pd.read_parquet(results / "results.parquet")
    return table[COMPARED].sort_values("run_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def killed_then_resumed(setup) -> dict:
    """``noisebench train --grid G --executor ray`` killed with SIGKILL after its first finished run, then run again."""
    results = setup["root"] / "killed"
    runs = results / "runs"
    driver = subprocess.Popen(
        _train(setup, results, "ray", "--jobs", "1"), env=_env(setup), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    below: list[int] = []
    try:
        deadline = time.monotonic() + 180
        while not list(runs.glob("*/DONE")):
            assert driver.poll() is None, driver.stderr.read().decode()
            assert time.monotonic() < deadline, "no run finished in time"
            time.sleep(0.1)
        below = _descendants(driver.pid)  # Ray's head processes and workers, started by this driver
        os.kill(driver.pid, signal.SIGKILL)
        driver.wait(timeout=30)
    finally:
        if driver.poll() is None:
            os.kill(driver.pid, signal.SIGKILL)
            driver.wait(timeout=30)
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # the driver's session: what it started and left behind
        except ProcessLookupError:
            pass
        _kill(below)
    first = {path.parent.name: path.stat().st_mtime_ns for path in runs.glob("*/DONE")}
    resumed = subprocess.run(check=False, args=_train(setup, results, "ray", "--jobs", "2"), env=_env(setup), capture_output=True, text=True, timeout=300)
    return {"results": results, "first": first, "resumed": resumed}


def test_a_ray_driver_killed_after_its_first_run_resumes_with_every_run_done_once(killed_then_resumed) -> None:
    results, first, resumed = killed_then_resumed["results"], killed_then_resumed["first"], killed_then_resumed["resumed"]
    assert 1 <= len(first) < 4
    assert resumed.returncode == 0, resumed.stderr
    runs = results / "runs"
    folders = [p for p in runs.iterdir() if not p.name.startswith(".")]
    assert len(folders) == 4 and all((p / "DONE").is_file() for p in folders)
    assert {name: (runs / name / "DONE").stat().st_mtime_ns for name in first} == first  # finished runs were not redone
    table = pd.read_parquet(results / "results.parquet")
    assert sorted(table["run_id"]) == sorted(p.name for p in folders)


def test_the_ray_grid_writes_the_local_executors_table(setup, killed_then_resumed) -> None:
    assert killed_then_resumed["resumed"].returncode == 0, killed_then_resumed["resumed"].stderr
    local_results = setup["root"] / "local"
    local_run = subprocess.run(check=False, args=_train(setup, local_results, "local"), env=_env(setup), capture_output=True, text=True, timeout=300)
    assert local_run.returncode == 0, local_run.stderr
    assert len(_table(local_results)) == 4
    pd.testing.assert_frame_equal(_table(killed_then_resumed["results"]), _table(local_results))

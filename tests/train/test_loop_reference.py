"""The training loop reproduces, number for number, metrics stored from the loop before it called callbacks.

``data/reference_metrics.json`` was written by the inline loop (before the callback refactor) on the tiny
BERT fixture and the synthetic SST-2 data, CPU, fixed seeds. Wall times and library versions are not
compared. Regenerate (only when a change of numbers is intended) with
``NOISEBENCH_WRITE_REFERENCE=1 pytest tests/train/test_loop_reference.py``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from noisebench.data.tasks import load_task
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.schema import RunConfig
from noisebench.train.run import run_training

REFERENCE = Path(__file__).parent / "data" / "reference_metrics.json"
REFERENCE_THREADS = 2
"""torch threads when the reference was written (this project's 2-core machine)."""
NOT_COMPARED = ("setup_time_s", "train_time_s", "eval_time_s", "wall_time_s", "versions")
ADDED = {"noisy_dev_accuracy", "dev_noise_rate"}
"""Metrics recorded since the reference was stored (selection on a noisy dev split): checked to be there, not compared."""
SCL = {"method": "ce-scl", "method_params": {"lam": 0.5, "tau": 0.3}}
CASES = {  # name -> (temperature, config overrides); chosen so that selection has something to do
    "ce": (1.0, {"method": "ce"}),
    "ce-scl": (1.0, SCL),
    "ce-best-epoch-not-last": (1.0, {"method": "ce", "epochs": 3}),  # best dev at epoch 2: weights restored
    "ce-scl-dev-tie": (2.0, {**SCL, "epochs": 3, "lr": 1e-2}),  # epochs 1 and 2 tie on dev: the first is kept
}


@pytest.fixture(scope="module")
def artifacts(glue_dir, tmp_path_factory) -> dict[float, Path]:
    task = load_task("sst2", data_dir=glue_dir)
    levels = sorted({level for level, _ in CASES.values()})
    outs = [tmp_path_factory.mktemp("noise") / f"T{level}" for level in levels]
    generate(task, [NoiseSpec("temperature", level, noise_seed=3, data_seed=1) for level in levels], outs, progress=False)
    return dict(zip(levels, outs))


def _run(case: str, model: Path, glue_dir: Path, artifacts: dict[float, Path]) -> dict:
    level, overrides = CASES[case]
    base = {"task": "sst2", "model": str(model), "n_train": 64, "epochs": 2, "batch_size": 8, "lr": 2e-2, "max_length": 16}
    noise = {"noise_family": "temperature", "noise_level": level, "noise_seed": 3, "data_seed": 1}
    config = RunConfig(**{**base, **noise, **overrides})
    metrics = run_training(config, noise_dir=artifacts[level], data_dir=glue_dir, progress=False).metrics
    return {k: v for k, v in metrics.items() if k not in NOT_COMPARED}


@pytest.fixture()
def reference_threads():
    """The thread count the reference was stored with: CPU reductions split by thread count (and pytest -n runs one thread per worker)."""
    before = torch.get_num_threads()
    torch.set_num_threads(REFERENCE_THREADS)
    yield
    torch.set_num_threads(before)


@pytest.mark.skipif(torch.cuda.is_available(), reason="the stored numbers are CPU numbers (a run trains on CUDA where it can)")
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_config_reproduces_the_stored_metrics_exactly(case, tiny_model_dir, glue_dir, artifacts, reference_threads):
    metrics = json.loads(json.dumps(_run(case, tiny_model_dir, glue_dir, artifacts)))  # tuples -> lists, as stored
    if os.environ.get("NOISEBENCH_WRITE_REFERENCE"):
        stored = json.loads(REFERENCE.read_text()) if REFERENCE.exists() else {}
        REFERENCE.write_text(json.dumps({**stored, case: metrics}, indent=1, sort_keys=True) + "\n")
    stored = json.loads(REFERENCE.read_text())[case]
    assert set(metrics) - set(stored) <= ADDED and {"noisy_dev_accuracy", "dev_noise_rate"} <= set(metrics)
    history = metrics.pop("history")
    assert all("noisy_dev_accuracy" in row for row in history)
    assert [{k: v for k, v in row.items() if k not in ADDED} for row in history] == stored.pop("history")
    assert {k: v for k, v in metrics.items() if k not in ADDED} == stored

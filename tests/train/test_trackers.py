"""``report_to``: TensorBoard, MLflow and W&B receive a run's numbers, read back with each library's own reader,
and reporting never changes a run's results or run_id; a missing package is one error line before training."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import pytest

from noisebench.schema import RunConfig
from noisebench.store.layout import TENSORBOARD_DIR, run_path
from noisebench.trackers import TRACKERS

EPOCHS = 2
TIMES = ("setup_time_s", "train_time_s", "eval_time_s", "wall_time_s")


def _config(model: Path, **overrides) -> RunConfig:
    base = dict(task="sst2", model=str(model), n_train=16, epochs=EPOCHS, batch_size=8, lr=1e-3, max_length=16, dev_limit=16, test_limit=16)
    return RunConfig(**{**base, **overrides})


def _without_times(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in TIMES}


def _wandb_records(path: Path) -> list:
    """Every record of a ``.wandb`` file: W&B's LevelDB-style log (a 7-byte file header, then 32 KiB blocks of
    chunks, each with a 7-byte header: crc32, length, type FULL=1 | FIRST=2 | MIDDLE=3 | LAST=4) of protobuf Records."""
    from wandb.proto import wandb_internal_pb2

    data, records, pending = path.read_bytes(), [], b""
    assert data[:4] == b":W&B"
    index, block = 7, 32768
    while index + 7 <= len(data):
        if block - index % block < 7:  # a block's tail too short for a header is padding
            index += block - index % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[index:index + 7])
        chunk, index = data[index + 7:index + 7 + length], index + 7 + length
        if kind == 0 and length == 0:
            break
        pending = chunk if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
    return records


def _wandb_run(run_folder: Path) -> tuple[list[dict], dict, object]:
    """The rows the run logged (``run.log``), its summary and its run record, from its offline ``.wandb`` file."""
    (log_file,) = run_folder.glob("*.wandb")
    rows, summary, run = [], {}, None
    for record in _wandb_records(log_file):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            rows.append({"/".join(item.nested_key) or item.key: json.loads(item.value_json) for item in record.history.item})
        elif kind == "summary":
            summary.update({"/".join(item.nested_key) or item.key: json.loads(item.value_json) for item in record.summary.update})
        elif kind == "run":
            run = record.run
    return rows, summary, run


def test_four_tiny_runs_with_tensorboard_give_one_dev_accuracy_point_per_epoch(tiny_model_dir, glue_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from noisebench.grid.runner import run_grid

    configs = [_config(tiny_model_dir, train_seed=seed) for seed in range(4)]
    summary = run_grid(configs, tmp_path / "results", data_dir=glue_dir, progress=False, report_to=("tensorboard",), grid="tiny")
    assert summary.counts() == {"done": 4}
    for config in configs:
        folder = run_path(tmp_path / "results", config)
        history = json.loads((folder / "metrics.json").read_text())["history"]
        events = EventAccumulator(str(folder / TENSORBOARD_DIR))
        events.Reload()
        dev = events.Scalars("epoch/dev_accuracy")
        assert [point.step for point in dev] == list(range(1, EPOCHS + 1))
        assert [point.value for point in dev] == pytest.approx([row["dev_accuracy"] for row in history])
        assert len(events.Scalars("train/step_loss")) == EPOCHS * 2  # 16 examples in batches of 8
        assert [point.value for point in events.Scalars("final/test_accuracy")] == pytest.approx(
            [json.loads((folder / "metrics.json").read_text())["test_accuracy"]])
    assert not list((tmp_path / "results" / "runs").glob(f"*/{TENSORBOARD_DIR}/*/"))  # event files only, no nested runs


def test_reporting_to_every_tracker_changes_no_result_and_each_reads_back(tiny_model_dir, glue_dir, tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient

    from noisebench.train.run import run_training

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"file:{tmp_path / 'mlruns'}")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps its file store only on request
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path / "wandb"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("WANDB_PROJECT", raising=False)
    config = _config(tiny_model_dir)
    plain = run_training(config, data_dir=glue_dir, progress=False)
    reported = run_training(config, data_dir=glue_dir, progress=False, report_to=("tensorboard", "mlflow", "wandb"), grid="tiny")
    assert _without_times(reported.metrics) == _without_times(plain.metrics)
    assert RunConfig.from_dict(config.to_dict()).run_id == config.run_id and plain.logs == {}
    assert set(reported.logs) == {TENSORBOARD_DIR}
    dev_per_epoch = [row["dev_accuracy"] for row in plain.metrics["history"]]

    client = MlflowClient()
    (experiment,) = [e for e in client.search_experiments() if e.name == "tiny"]
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == config.run_id
    assert run.data.tags["noisebench.run_id"] == config.run_id and run.data.tags["noisebench.grid"] == "tiny"
    assert {key: run.data.params[key] for key in ("task", "n_train", "lr", "method")} == {"task": "sst2", "n_train": "16", "lr": "0.001", "method": config.method}
    for key, value in config.to_dict().items():  # every config field, nested ones by dotted name
        expected = {f"{key}.{sub}": str(v) for sub, v in value.items()} if isinstance(value, dict) and value else {key: str(value)}
        assert {name: run.data.params.get(name) for name in expected} == expected
    history = client.get_metric_history(run.info.run_id, "epoch/dev_accuracy")
    assert [(m.step, m.value) for m in history] == [(epoch, pytest.approx(acc)) for epoch, acc in enumerate(dev_per_epoch, start=1)]
    assert len(client.get_metric_history(run.info.run_id, "train/step_loss")) == EPOCHS * 2
    assert run.data.metrics["final/test_accuracy"] == pytest.approx(plain.metrics["test_accuracy"])

    (offline,) = (tmp_path / "wandb" / "wandb").glob("offline-run-*")
    rows, summary, wandb_run = _wandb_run(offline)
    assert (wandb_run.project, wandb_run.run_group, wandb_run.display_name) == ("noisebench", "tiny", config.run_id)
    assert {item.key: json.loads(item.value_json) for item in wandb_run.config.update}["task"] == "sst2"
    epochs = [row for row in rows if "epoch/dev_accuracy" in row]
    assert [(row["epoch"], row["epoch/dev_accuracy"]) for row in epochs] == [(e, pytest.approx(a)) for e, a in enumerate(dev_per_epoch, start=1)]
    assert len([row for row in rows if "train/step_loss" in row]) == EPOCHS * 2
    assert summary["final/test_accuracy"] == pytest.approx(plain.metrics["test_accuracy"])


@pytest.mark.parametrize("tracker", ["tensorboard", "mlflow", "wandb"])
def test_a_missing_tracker_package_is_one_error_line_before_training(tracker, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from noisebench.cli import main

    monkeypatch.setitem(sys.modules, TRACKERS.get(tracker).package, None)  # importing it now fails, as when not installed
    result = CliRunner().invoke(main, ["train", "--report-to", tracker, "--data-dir", str(tmp_path / "no-data"), "--results", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: --report-to {tracker} needs the {tracker} package: pip install 'noisebench[{tracker}]'"]
    assert not (tmp_path / "r" / "runs").exists()


GRID = """\
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


def test_the_grid_key_report_to_names_trackers_and_leaves_every_run_id_unchanged(tmp_path):
    from noisebench.errors import ConfigError
    from noisebench.grid.spec import expand, load_grid

    plain, reporting, unknown = (tmp_path / "plain.yaml", tmp_path / "reporting.yaml", tmp_path / "unknown.yaml")
    plain.write_text(GRID)
    reporting.write_text(GRID + "training:\n  report_to: [tensorboard, mlflow]\n")
    unknown.write_text(GRID + "training:\n  report_to: tensorbored\n")
    grid = load_grid(reporting)
    assert grid.training.report_to == ["tensorboard", "mlflow"]
    assert [c.run_id for c in expand(grid)] == [c.run_id for c in expand(load_grid(plain))]
    with pytest.raises(ConfigError, match=r"line 12: training.report_to\[0\]: .*unknown tracker 'tensorbored'"):
        load_grid(unknown)


def test_noisebench_train_report_to_tensorboard_publishes_event_files_in_the_run_folder(tiny_model_dir, glue_dir, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from tests.conftest import run_cli

    result = run_cli(
        "train", "--task", "sst2", "--model", tiny_model_dir, "--method", "ce", "--n-train", 16, "--epochs", EPOCHS, "--batch-size", 8,
        "--max-length", 16, "--dev-limit", 16, "--test-limit", 16, "--data-dir", glue_dir, "--report-to", "tensorboard",
        "--results", tmp_path / "r", home=tmp_path / "home",
    )
    assert result.returncode == 0, result.stderr
    (folder,) = (tmp_path / "r" / "runs").glob("*/DONE")
    events = EventAccumulator(str(folder.parent / TENSORBOARD_DIR))
    events.Reload()
    assert [point.step for point in events.Scalars("epoch/dev_accuracy")] == list(range(1, EPOCHS + 1))

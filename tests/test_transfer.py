"""Transfer (paper Table 5): the init_from grid axis, the two experiment files, the CLI's two steps, the figure."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from noisebench.analysis.figures import draw_transfer, write_transfer_figures
from noisebench.analysis.transfer import PRETRAINED, transfer_summary
from noisebench.errors import ConfigError
from noisebench.grid.spec import expand, load_grid
from tests.test_cli import assert_one_line_error, nb

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
GRID = """\
name: t
tasks: [sst2]
model: {model}
n_train: [16, 32]
noise: {{family: none}}
methods: [ce]
seeds: {{data: [0, 1], train: [0, 1]}}
training: {{epochs: 1, batch_size: 8, lr: 1.0e-3, max_length: 16{training}}}
"""


def _grid(tmp_path: Path, training: str, model: str = "m") -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID.format(model=model, training=training))
    return path


def test_an_init_from_list_is_an_axis_of_the_grid(tmp_path):
    configs = expand(load_grid(_grid(tmp_path, ", init_from: [null, 0123456789abcdef, runs/x]")))
    assert len(configs) == 3 * 2 * 2
    assert [c.init_from for c in configs[::4]] == [None, "0123456789abcdef", "runs/x"]  # outside N and seeds
    assert len({c.run_id for c in configs}) == len(configs)
    without = {c.run_id for c in expand(load_grid(_grid(tmp_path, "")))}
    assert {c.run_id for c in configs if c.init_from is None} == without  # null is the pre-trained model, as before


def test_a_single_init_from_value_and_save_model_apply_to_every_run(tmp_path):
    configs = expand(load_grid(_grid(tmp_path, ", init_from: runs/x, save_model: true")))
    assert {(c.init_from, c.save_model) for c in configs} == {("runs/x", True)}


@pytest.mark.parametrize(
    "training, message",
    [
        (", init_from: [null, a, null]", r"line 8: training.init_from\[2\]: duplicate entry"),
        (", init_from: []", "training.init_from: must not be empty"),
        (", init_from: [3]", r"training.init_from\[0\]: must be a string, got 3"),
        (", init_from: ''", r"training.init_from\[0\]: must not be empty"),
        (", save_model: 1", "training.save_model: must be true or false"),
    ],
)
def test_bad_init_from_in_a_grid_is_one_config_error(tmp_path, training, message):
    with pytest.raises(ConfigError, match=message):
        load_grid(_grid(tmp_path, training))


def test_the_transfer_grid_starts_from_the_runs_of_the_source_grid():
    source = expand(load_grid(EXPERIMENTS / "transfer-source.yaml"))
    transfer = expand(load_grid(EXPERIMENTS / "transfer.yaml"))
    assert all(c.save_model for c in source) and len(source) == 2
    inits = {c.init_from for c in transfer}
    assert inits - {None} == {c.run_id for c in source}, "update the run_ids in experiments/transfer.yaml"
    assert None in inits and len(transfer) == 3 * 2 * 5
    assert {c.task for c in transfer} == {"vader-amazon"} and {c.method for c in transfer} == {"ce"}


def _table() -> pd.DataFrame:
    rows = []
    for init, shift in ((None, 0.0), ("0123456789abcdef", 0.1)):
        for n in (20, 100):
            for seed in range(4):
                rows.append({"task": "vader-amazon", "init_from": init, "method": "ce", "n_train": n, "data_seed": seed,
                             "noise_seed": None, "train_seed": seed, "test_accuracy": 0.5 + shift + 0.01 * seed + n / 1000})
    rows.append({"task": "rt-polarity", "init_from": None, "method": "ce", "n_train": 1000, "data_seed": 0,
                 "noise_seed": None, "train_seed": 0, "test_accuracy": 0.8})  # a source run: not a transfer task
    return pd.DataFrame(rows)


def test_the_transfer_summary_is_the_mean_and_t_interval_per_init_and_n():
    summary = transfer_summary(_table(), labels={"0123456789abcdef": "rt-polarity ce"})
    assert set(summary["task"]) == {"vader-amazon"}
    assert set(summary["init"]) == {PRETRAINED, "rt-polarity ce"}
    row = summary[(summary["init"] == "rt-polarity ce") & (summary["n_train"] == 20)].iloc[0]
    values = np.array([0.6 + 0.01 * s + 0.02 for s in range(4)])
    low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert row["n"] == 4 and row["mean"] == pytest.approx(values.mean())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))


def test_the_transfer_summary_refuses_a_table_without_transfer_runs_or_with_repeated_seeds():
    table = _table()
    with pytest.raises(ValueError, match="no run in the table starts from another run"):
        transfer_summary(table.assign(init_from=None))
    with pytest.raises(ValueError, match="a seed set has several runs"):
        transfer_summary(pd.concat([table, table.iloc[:1]]))


def test_the_transfer_figure_draws_one_line_per_init_over_n():
    ax = draw_transfer(transfer_summary(_table()))
    lines = {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}
    assert set(lines) == {PRETRAINED, "0123456789abcdef"}
    assert lines[PRETRAINED].get_ydata() == pytest.approx([100 * (0.515 + 0.02), 100 * (0.515 + 0.1)])


def test_the_two_steps_through_the_cli_and_the_figure(tiny_model_dir, glue_dir, tmp_path):
    """Source run with --save-model; a grid starting from it by a path relative to its own results folder."""
    home = tmp_path / "home"
    common = ["--data-dir", glue_dir, "--model", tiny_model_dir, "--epochs", "1", "--batch-size", "8", "--lr", "1e-3", "--max-length", "16"]
    source = nb("train", "--task", "sst2", "--n-train", "48", "--save-model", *common, "--results", tmp_path / "source", env_home=home)
    assert source.returncode == 0, source.stderr
    run_id = re.search(r"runs/([0-9a-f]{16})", source.stdout).group(1)
    assert (tmp_path / "source" / "runs" / run_id / "model" / "model.safetensors").is_file()

    grid = _grid(tmp_path, f", init_from: [null, ../source/runs/{run_id}]", model=str(tiny_model_dir))
    target = nb("train", "--grid", grid, "--data-dir", glue_dir, "--results", tmp_path / "target", env_home=home)
    assert target.returncode == 0, target.stderr
    assert "done 8" in target.stdout

    written = write_transfer_figures(tmp_path / "target", tmp_path / "figures")
    assert [p.name for p in written] == ["transfer_sst2.png", "transfer_sst2.pdf"]
    summary = transfer_summary(pd.read_parquet(tmp_path / "target" / "results.parquet"))
    assert set(summary["n_train"]) == {16, 32} and set(summary["n"]) == {2}

    plotted = nb("plot", "--results", tmp_path / "target", "--out", tmp_path / "all-figures", env_home=home)
    assert plotted.returncode == 0, plotted.stderr
    names = {Path(line).name for line in plotted.stdout.splitlines()}
    assert {"transfer_sst2.png", "transfer_sst2.pdf"} <= names
    assert (tmp_path / "all-figures" / "transfer_sst2.png").is_file()


def test_the_cli_refuses_an_unknown_init_from_before_training(tiny_model_dir, glue_dir, tmp_path):
    home = tmp_path / "home"
    single = nb("train", "--task", "sst2", "--data-dir", glue_dir, "--model", tiny_model_dir, "--init-from", "0123456789abcdef",
                "--results", tmp_path / "r", env_home=home)
    assert_one_line_error(single, "init_from '0123456789abcdef': tried run 0123456789abcdef")
    grid = _grid(tmp_path, ", init_from: [null, no/such/run]", model=str(tiny_model_dir))
    run = nb("train", "--grid", grid, "--data-dir", glue_dir, "--results", tmp_path / "r", env_home=home)
    assert_one_line_error(run, "init_from 'no/such/run'")
    assert not (tmp_path / "r" / "runs").exists()

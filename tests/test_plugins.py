"""A family and a method defined here only, as a user's plugin, run through generate → grid → table → plot → report.

This module is both the test and the plugin: the CLI subprocesses import it through
``NOISEBENCH_PLUGINS=tests.test_plugins``, and importing it registers the toy family and method.
Nothing else in noisebench knows about them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.methods import Method, register_method
from noisebench.noise.families import NoiseFamily, NoiseInputs, register_family
from noisebench.parameters import Parameter
from tests.conftest import run_cli, write_sst2


class FlipClassZero(NoiseFamily):
    """Each example of class 0 moves to class 1 with probability ``share``; other classes stay clean."""

    name = "flip-class-0"
    parameter = Parameter("share", "s", "share of class 0 flipped", low=0.0, high=1.0)

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        probs = np.eye(inputs.num_labels)[inputs.clean]
        zero = inputs.clean == 0
        probs[zero, 0], probs[zero, 1] = 1.0 - level, level
        return probs


def _offset_ce(logits, features, labels, *, offset: float):
    import torch.nn.functional as F

    return F.cross_entropy(logits, labels) + offset  # a constant: the same gradients as CE


OFFSET_CE = Method(
    "offset-ce", _offset_ce, hyper_parameters=(Parameter("offset", "c", "offset c", low=0.0, default=1.0),),
    description="CE plus a constant (toy)",
)

register_family(FlipClassZero())
register_method(OFFSET_CE)



def nb(*args: object, home: Path) -> subprocess.CompletedProcess:
    return run_cli(*args, home=home, plugins="tests.test_plugins")


GRID = """\
name: toy-plugin
tasks: [sst2]
model: {model}
n_train: [24]
noise:
  family: flip-class-0
  levels: [0.5, 1.0]
methods:
  - ce
  - {{name: offset-ce, offset: [2.0]}}
seeds:
  data: [0, 1]
  noise: [0, 1]
  train: [0, 1]
training:
  epochs: 2
  batch_size: 8
  lr: 1.0e-3
  max_length: 16
evaluation:
  dev_limit: 40
  test_limit: 40
"""


@pytest.fixture(scope="module")
def toy_results(tmp_path_factory, tiny_model_dir) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("plugin")
    glue = write_sst2(root / "glue")
    grid = root / "toy.yaml"
    grid.write_text(GRID.format(model=tiny_model_dir))
    run = nb("train", "--grid", grid, "--results", root / "results", "--data-dir", glue, home=root / "home")
    assert run.returncode == 0, run.stderr
    return {"root": root, "glue": glue, "results": root / "results", "home": root / "home"}


def test_generate_offers_the_plugin_familys_parameter_and_flips_class_zero(toy_results) -> None:
    out = toy_results["root"] / "noise"
    result = nb("generate", "--task", "sst2", "--data-dir", toy_results["glue"], "--family", "flip-class-0", "--share", "1.0", "--out", out, home=toy_results["home"])
    assert result.returncode == 0, result.stderr
    labels = pd.read_parquet(out / "s1" / "labels.parquet")
    zero = labels["label_clean"] == 0
    assert (labels.loc[zero, "label_noisy"] == 1).all() and (labels.loc[~zero, "label_noisy"] == labels.loc[~zero, "label_clean"]).all()
    assert f"realised noise {zero.mean():.3f}" in result.stdout


def test_the_grid_table_carries_the_plugin_family_and_method(toy_results) -> None:
    table = pd.read_parquet(toy_results["results"] / "results.parquet")
    assert len(table) == 2 * 2 * 2  # levels x methods x seed sets
    assert set(table["noise_family"]) == {"flip-class-0"} and set(table["noise_param"]) == {"share"}
    assert sorted(set(table["noise_level"])) == [0.5, 1.0]
    toy = table[table["method"] == "offset-ce"]
    assert (toy["offset"] == 2.0).all() and table.loc[table["method"] == "ce", "offset"].isna().all()


def test_a_constant_offset_trains_exactly_like_ce(toy_results) -> None:
    table = pd.read_parquet(toy_results["results"] / "results.parquet")
    keys = ["noise_level", "data_seed", "noise_seed", "train_seed"]
    ce = table[table["method"] == "ce"].set_index(keys)["test_accuracy"].sort_index()
    toy = table[table["method"] == "offset-ce"].set_index(keys)["test_accuracy"].sort_index()
    pd.testing.assert_series_equal(ce, toy, check_names=False)


def test_plot_and_report_handle_the_plugin_family_and_method(toy_results) -> None:
    figures = toy_results["root"] / "figures"
    plot = nb("plot", "--results", toy_results["results"], "--out", f"{figures}/", home=toy_results["home"])
    assert plot.returncode == 0, plot.stderr
    assert (figures / "accuracy_vs_noise.png").stat().st_size > 0
    report_path = toy_results["root"] / "report.md"
    report = nb("report", "--results", toy_results["results"], "--out", report_path, home=toy_results["home"])
    assert report.returncode == 0, report.stderr
    text = report_path.read_text()
    assert "offset-ce" in text and "share" in text

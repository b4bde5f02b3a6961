"""Grid noise artifacts: a grid's noise.n_relabel reaches the artifact and its folder name."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest

from noisebench.errors import ConfigError
from noisebench.grid.artifacts import artifact_path, ensure_artifact, noise_spec
from noisebench.grid.spec import expand, load_grid
from noisebench.noise.generate import NoiseSpec
from noisebench.schema import RunConfig
from tests.conftest import write_sst2

GRID = textwrap.dedent(
    """\
    name: relabel
    tasks: [sst2]
    model: all-minilm-l6-v2
    n_train: [100]
    noise:
      family: {family}
      levels: [{level}]
      n_relabel: {n_relabel}
    methods: [ce]
    seeds: {{data: [0], noise: [0], train: [0]}}
    """
)


@pytest.fixture(scope="module")
def big_glue_dir(tmp_path_factory) -> Path:
    """SST-2 with a pool of 480 examples (600 train minus the 20% weak-train carve-out)."""
    return write_sst2(tmp_path_factory.mktemp("glue-big"), n_train=600)


def grid_run(tmp_path: Path, *, n_relabel: object, family: str = "temperature", level: float = 0.5):
    path = tmp_path / f"grid-{family}-{n_relabel}.yaml"
    path.write_text(GRID.format(family=family, level=level, n_relabel=n_relabel))
    grid = load_grid(path)
    (config,) = expand(grid)
    return grid, config


@pytest.mark.parametrize("family,level", [("temperature", 0.5), ("uniform", 0.2)])
def test_grid_n_relabel_gives_artifacts_of_exactly_that_size(tmp_path, big_glue_dir, family, level):
    grid, config = grid_run(tmp_path, n_relabel=300, family=family, level=level)
    assert config.n_relabel == grid.noise[0].relabel_count == 300
    path = ensure_artifact(tmp_path / "results", config, data_dir=big_glue_dir)
    assert path is not None and path.name == "data0-noise0-relabel300"
    assert len(pd.read_parquet(path / "labels.parquet")) == 300

    grid_all, config_all = grid_run(tmp_path, n_relabel="all", family=family, level=level)
    assert config_all.n_relabel is None and config_all.run_id != config.run_id  # the weak model may differ
    whole = ensure_artifact(tmp_path / "results", config_all, data_dir=big_glue_dir)
    assert whole is not None and whole != path and whole.name == "data0-noise0"
    labels = pd.read_parquet(whole / "labels.parquet")
    assert len(labels) == 480
    # the nested order makes the 300 a prefix of the whole pool's relabelled examples
    assert list(labels["id"][:300]) == list(pd.read_parquet(path / "labels.parquet")["id"])


def test_ensure_artifact_defaults_to_the_whole_pool(tmp_path):
    config = RunConfig(task="sst2", n_train=100, noise_family="uniform", noise_level=0.2, noise_seed=3, data_seed=1)
    spec = noise_spec(config)
    assert spec == NoiseSpec(family="uniform", level=0.2, noise_seed=3, data_seed=1, n_relabel=None, noise_param="rate")
    assert artifact_path(tmp_path, "sst2", spec) == tmp_path / "noise" / "sst2" / "uniform-r0.2" / "data1-noise3"
    assert ensure_artifact(tmp_path, RunConfig(task="sst2")) is None  # clean runs need none


def test_n_relabel_smaller_than_n_train_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"n_relabel \(50\) must be >= n_train \(100\)"):
        RunConfig(task="sst2", n_train=100, noise_family="uniform", noise_level=0.2, noise_seed=0, n_relabel=50)


def test_target_rate_and_weak_fit_reach_the_artifact(tmp_path, big_glue_dir):
    config = RunConfig(
        task="sst2", n_train=100, noise_family="temperature", noise_param="target_rate", noise_level=0.3,
        noise_seed=0, weak_fit="cross-fit",
    )
    path = ensure_artifact(tmp_path, config, data_dir=big_glue_dir)
    assert path is not None and path.parent.name == "temperature-target0.3-cross-fit"
    from noisebench.noise.artifact import read_artifact

    artifact = read_artifact(path)
    assert artifact.meta["target_rate"] == 0.3 and artifact.meta["weak_model"]["fit"] == "cross-fit"
    assert artifact.meta["expected_noise_rate"] == pytest.approx(0.3, abs=1e-4)
    assert {k: artifact.run_fields()[k] for k in ("noise_param", "noise_level", "weak_fit")} == {
        "noise_param": "target_rate", "noise_level": 0.3, "weak_fit": "cross-fit"}

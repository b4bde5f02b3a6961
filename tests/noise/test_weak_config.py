"""The weak labeller in run configs (resolution, run_id stability), grid files and artifacts (run_fields round trip)."""

from __future__ import annotations

import hashlib
import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.data.tasks import TaskData
from noisebench.errors import ConfigError
from noisebench.grid.artifacts import artifact_path, noise_spec
from noisebench.grid.spec import expand, load_grid
from noisebench.noise.artifact import read_artifact
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.schema import HASHED_WHEN_SET, RunConfig

NOISY = dict(noise_family="temperature", noise_level=0.5, noise_seed=0)


def _old_run_id(config: RunConfig) -> str:
    """run_id as versions before weak labellers computed it: the fields they had (later fields at their defaults)."""
    payload = {k: v for k, v in config.to_dict().items() if k not in HASHED_WHEN_SET}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


@pytest.mark.parametrize(
    "fields",
    [{}, NOISY, {**NOISY, "weak_fit": "cross-fit"}, {"noise_family": "uniform", "noise_level": 0.2, "noise_seed": 1}],
    ids=["clean", "temperature", "cross-fit", "uniform"],
)
def test_configs_without_a_weak_labeller_keep_their_run_id(fields) -> None:
    config = RunConfig(**fields)
    assert config.run_id == _old_run_id(config)


def test_naming_the_default_labeller_changes_nothing_and_another_one_changes_the_run_id() -> None:
    plain = RunConfig(**NOISY)
    assert (plain.weak_model, plain.weak_options) == ("tfidf-logreg", {})
    assert RunConfig(**NOISY, weak_model="tfidf-logreg").run_id == plain.run_id
    probe = RunConfig(**NOISY, weak_model="encoder-probe")
    other_encoder = RunConfig(**NOISY, weak_model="encoder-probe", weak_options={"encoder": "bert-base-uncased"})
    assert len({plain.run_id, probe.run_id, other_encoder.run_id}) == 3


def test_encoder_probe_defaults_to_the_runs_model() -> None:
    config = RunConfig(**NOISY, model="my/encoder", weak_model="encoder-probe")
    assert config.weak_options == {"encoder": "my/encoder", "max_length": "128"}
    assert RunConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"weak_model": "encoder-probe"}, "a clean run (noise_family none) takes no weak_model"),
        ({"weak_options": {"encoder": "x"}}, "a clean run (noise_family none) takes no weak_options"),
        ({"noise_family": "uniform", "noise_level": 0.2, "noise_seed": 0, "weak_model": "encoder-probe"}, "uses no weak model, so it takes no weak_model"),
        ({**NOISY, "weak_model": "oracle"}, "unknown weak labeller 'oracle'"),
        ({**NOISY, "weak_model": "encoder-probe", "weak_options": {"C": "1"}}, "weak labeller encoder-probe has no option 'C'"),
    ],
)
def test_bad_weak_fields_are_config_errors(fields, message) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        RunConfig(**fields)


# ------------------------------------------------------------------ grid files

GRID = """\
name: probe-grid
tasks: [rt-polarity]
model: all-minilm-l6-v2
n_train: [20]
noise:
  family: temperature
  levels: [0.5, 1.0]
{weak}
methods: [ce]
seeds: {{data: [0], noise: [0], train: [0]}}
"""


def _grid(tmp_path: Path, weak: str) -> Path:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID.format(weak=textwrap.indent(weak, "  ")))
    return path


def test_a_grid_with_weak_model_encoder_probe_validates_and_expands(tmp_path) -> None:
    runs = expand(load_grid(_grid(tmp_path, "weak_model: encoder-probe\nweak_options: {max_length: 64}")))
    assert len(runs) == 2
    assert {(r.weak_model, tuple(sorted(r.weak_options.items()))) for r in runs} == {
        ("encoder-probe", (("encoder", "all-minilm-l6-v2"), ("max_length", "64")))}
    spec = noise_spec(runs[0])
    assert (spec.weak_model, dict(spec.weak_options)) == ("encoder-probe", runs[0].weak_options)
    folder = artifact_path(tmp_path, "rt-polarity", spec).parent.name
    assert folder.startswith("temperature-T0.5-encoder-probe-")


def test_a_grid_without_weak_model_gives_the_folders_of_earlier_versions(tmp_path) -> None:
    (run, _) = expand(load_grid(_grid(tmp_path, "")))
    assert artifact_path(tmp_path, "rt-polarity", noise_spec(run)).parent.name == "temperature-T0.5"


@pytest.mark.parametrize(
    ("weak", "line", "message"),
    [
        ("weak_model: oracle", 8, "noise.weak_model: unknown weak labeller 'oracle'"),
        ("weak_model: encoder-probe\nweak_options:\n  encoder: m\n  C: 2", 11, "noise.weak_options.C: weak labeller encoder-probe has no option 'C'"),
        ("weak_model: encoder-probe\nweak_options: {max_length: 0}", 9, "option max_length must be an integer >= 1"),
        ("weak_model: predictions", 8, "noise.weak_model: weak labeller predictions needs option file"),
    ],
)
def test_bad_weak_settings_in_a_grid_name_their_line(tmp_path, weak, line, message) -> None:
    path = _grid(tmp_path, weak)
    with pytest.raises(ConfigError) as info:
        load_grid(path)
    assert str(info.value).startswith(f"{path} line {line}: ") and message in str(info.value), str(info.value)


def test_a_family_without_a_weak_model_takes_no_weak_model_in_a_grid(tmp_path) -> None:
    path = tmp_path / "grid.yaml"
    path.write_text(GRID.format(weak="  weak_model: encoder-probe").replace("temperature", "uniform").replace("[0.5, 1.0]", "[0.2]"))
    with pytest.raises(ConfigError, match="noise.weak_model: noise family uniform uses no weak model"):
        load_grid(path)


# ------------------------------------------------------------------ artifacts


def _task() -> TaskData:
    rng = np.random.default_rng(0)

    def split(prefix: str, n: int) -> pd.DataFrame:
        return pd.DataFrame({"id": [f"{prefix}{i}" for i in range(n)], "text": "a text", "text_pair": "", "label": rng.integers(0, 2, n)})

    return TaskData("toy", ("neg", "pos"), False, split("p", 40), split("w", 10), split("d", 10), split("t", 10))


def test_an_artifact_gives_back_its_weak_labeller_for_train_noise(tmp_path) -> None:
    task = _task()
    predictions = tmp_path / "p.csv"
    p = np.random.default_rng(1).uniform(size=len(task.pool))
    pd.DataFrame({"id": task.pool["id"], "prob_neg": 1 - p, "prob_pos": p}).to_csv(predictions, index=False)
    spec = NoiseSpec("temperature", 0.5, weak_model="predictions", weak_options=(("file", str(predictions)),))
    (path,) = generate(task, [spec], [tmp_path / spec.folder_name()], progress=False)
    fields = read_artifact(path).run_fields()
    assert (fields["weak_model"], fields["weak_options"], fields["weak_fit"]) == ("predictions", {"file": str(predictions)}, "in-sample")
    config = RunConfig(task="toy", n_train=20, **fields)
    assert (config.weak_model, config.weak_options) == ("predictions", {"file": str(predictions)})


def test_an_artifact_of_an_earlier_version_means_tfidf_logreg(tmp_path) -> None:
    (path,) = generate(_task(), [NoiseSpec("temperature", 0.5)], [tmp_path / "a"], progress=False)
    meta = json.loads((path / "noise.json").read_text())
    assert (meta["weak_model"]["kind"], meta["weak_model"]["options"], meta["weak_model"]["fitted"]) == ("tfidf-logreg", {}, True)
    fields = read_artifact(path).run_fields()
    assert RunConfig(task="toy", n_train=20, **fields).run_id == RunConfig(task="toy", n_train=20, **{**fields, "weak_model": None, "weak_options": {}}).run_id


def test_the_results_table_holds_runs_with_and_without_weak_options(tmp_path) -> None:
    from noisebench.store.rows import flatten_config

    configs = [RunConfig(), RunConfig(**NOISY), RunConfig(**NOISY, weak_model="encoder-probe")]
    pd.DataFrame([flatten_config(c.to_dict()) for c in configs[:2]]).to_parquet(tmp_path / "plain.parquet")  # every weak_options empty
    table = pd.DataFrame([flatten_config(c.to_dict()) for c in configs])
    table.to_parquet(tmp_path / "t.parquet")
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert back["weak_options"].isna().tolist()[:2] == [True, True]
    assert json.loads(back["weak_options"][2]) == {"encoder": "all-minilm-l6-v2", "max_length": "128"}

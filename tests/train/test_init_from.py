"""Saving a run's fine-tuned model (save_model) and starting another run from it (init_from)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from noisebench.data.tasks import load_task
from noisebench.errors import ModelError
from noisebench.schema import HASHED_WHEN_SET, RunConfig
from noisebench.store.layout import MODEL_DIR
from noisebench.store.runs import resolve_init_from, write_done, write_failed
from noisebench.train import run as run_module
from noisebench.train.encoder import fresh_model
from noisebench.train.run import run_training


def _config(model: Path, **overrides) -> RunConfig:
    base = dict(task="sst2", model=str(model), n_train=32, epochs=2, batch_size=8, lr=1e-3, max_length=16)
    return RunConfig(**{**base, **overrides})


@pytest.fixture(scope="module")
def source(tiny_model_dir, glue_dir, tmp_path_factory) -> tuple[Path, RunConfig, dict]:
    """A results folder holding one finished run trained with save_model."""
    results = tmp_path_factory.mktemp("results")
    config = _config(tiny_model_dir, save_model=True, train_seed=7)
    output = run_training(config, data_dir=glue_dir, progress=False)
    write_done(results, config, output.metrics, model=output.model)
    return results, config, output.metrics


def _encoder_and_head(state: dict[str, torch.Tensor]) -> tuple[dict, dict]:
    encoder = {k: v for k, v in state.items() if k.startswith("bert.")}
    return encoder, {k: v for k, v in state.items() if not k.startswith("bert.")}


def test_save_model_writes_a_loadable_model_that_reproduces_the_test_accuracy(source, glue_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    results, config, metrics = source
    folder = results / "runs" / config.run_id / MODEL_DIR
    assert (folder / "model.safetensors").is_file() and (folder / "config.json").is_file()
    net = AutoModelForSequenceClassification.from_pretrained(folder).eval()  # plain transformers, not our loader
    tokenizer = AutoTokenizer.from_pretrained(folder)
    test = load_task("sst2", data_dir=glue_dir).test
    correct = 0
    with torch.no_grad():
        for text, label in zip(test["text"], test["label"]):
            logits = net(**tokenizer(text, truncation=True, max_length=config.max_length, return_tensors="pt")).logits
            correct += int(logits.argmax(-1).item() == label)
    assert correct / len(test) == pytest.approx(metrics["test_accuracy"])


def test_without_save_model_no_model_is_returned(tiny_model_dir, glue_dir):
    assert run_training(_config(tiny_model_dir, epochs=1), data_dir=glue_dir, progress=False).model is None


def test_init_from_takes_the_saved_encoder_and_a_fresh_head_from_the_train_seed(source, tiny_model_dir):
    results, config, _ = source
    saved_encoder, saved_head = _encoder_and_head(load_file(results / "runs" / config.run_id / MODEL_DIR / "model.safetensors"))
    folder = str(resolve_init_from(config.run_id, results))
    for num_labels in (2, 3):  # the target task may have another label set
        net = fresh_model(str(tiny_model_dir), num_labels, seed=3, init_from=folder)
        encoder, head = _encoder_and_head(net.state_dict())
        for key, value in saved_encoder.items():
            torch.testing.assert_close(encoder[key], value, rtol=0, atol=0)
        pretrained_head = _encoder_and_head(fresh_model(str(tiny_model_dir), num_labels, seed=3).state_dict())[1]
        assert head.keys() == pretrained_head.keys() == saved_head.keys()
        for key in head:  # the head a pre-trained start gets from the same seed, not the source's
            torch.testing.assert_close(head[key], pretrained_head[key], rtol=0, atol=0)
        assert head["classifier.weight"].shape == (num_labels, 32)
        if num_labels == 2:
            assert not torch.equal(head["classifier.weight"], saved_head["classifier.weight"])


def test_a_run_with_init_from_trains_from_the_saved_encoder(source, glue_dir, monkeypatch):
    results, config, _ = source
    started: dict[str, torch.Tensor] = {}

    def spy(*args, **kwargs):
        net = fresh_model(*args, **kwargs)
        started.update({k: v.detach().clone() for k, v in net.state_dict().items()})
        return net

    monkeypatch.setattr(run_module, "fresh_model", spy)
    target = _config(Path(config.model), init_from=config.run_id, epochs=1, train_seed=0)
    output = run_training(target, data_dir=glue_dir, results_dir=results, progress=False)
    saved = load_file(results / "runs" / config.run_id / MODEL_DIR / "model.safetensors")
    torch.testing.assert_close(started["bert.encoder.layer.1.output.dense.weight"], saved["bert.encoder.layer.1.output.dense.weight"], rtol=0, atol=0)
    assert 0.0 <= output.metrics["test_accuracy"] <= 1.0


def test_init_from_resolves_a_run_id_a_run_directory_and_a_model_folder(source, tmp_path):
    results, config, _ = source
    expected = results / "runs" / config.run_id / MODEL_DIR
    assert resolve_init_from(config.run_id, results) == expected
    assert resolve_init_from(f"runs/{config.run_id}", results) == expected  # relative to the results folder
    assert resolve_init_from(str(expected), None) == expected  # an absolute model folder needs no results folder
    shutil.copytree(expected, tmp_path / "exported")
    assert resolve_init_from("../exported", tmp_path / "not-yet-made") == tmp_path / "exported"


def test_bad_init_from_is_one_model_error_naming_what_was_tried(source, tiny_model_dir, glue_dir, tmp_path):
    results, config, _ = source
    cases = {
        "0123456789abcdef": "run 0123456789abcdef",
        "no/such/folder": "no such folder",
    }
    for value, fragment in cases.items():
        with pytest.raises(ModelError, match=fragment) as info:
            resolve_init_from(value, results)
        assert str(results) in str(info.value) and "\n" not in str(info.value)
    plain = _config(tiny_model_dir, epochs=1)
    plain_dir = write_done(results, plain, {"test_accuracy": 0.5})
    with pytest.raises(ModelError, match="saved no model .*save_model true"):
        resolve_init_from(plain.run_id, results)
    failed = _config(tiny_model_dir, epochs=1, save_model=True, train_seed=99)
    write_failed(results, failed, RuntimeError("boom"))
    with pytest.raises(ModelError, match="not finished"):
        resolve_init_from(failed.run_id, results)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="neither a finished run directory nor a saved model"):
        resolve_init_from(str(tmp_path / "empty"), None)
    with pytest.raises(ModelError, match="needs a results directory"):
        resolve_init_from(config.run_id, None)
    with pytest.raises(ModelError, match="run 0123456789abcdef"):  # a run fails before it loads any data
        run_training(_config(tiny_model_dir, init_from="0123456789abcdef"), data_dir=glue_dir, results_dir=results, progress=False)
    assert plain_dir.is_dir()


def test_a_saved_model_of_another_architecture_is_refused(tiny_model_dir, tmp_path):
    from transformers import BertConfig, BertForSequenceClassification

    other = tmp_path / "other"
    BertForSequenceClassification(BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)).save_pretrained(other)
    with pytest.raises(ModelError, match=r"is not a fine-tuned .*vocab_size 50 vs .*hidden_size 16 vs 32"):
        fresh_model(str(tiny_model_dir), 2, seed=0, init_from=str(other))


def test_run_id_includes_init_from_and_save_model_and_is_unchanged_when_they_are_unset(tiny_model_dir):
    plain = _config(tiny_model_dir)
    assert plain.run_id != _config(tiny_model_dir, init_from="0123456789abcdef").run_id
    assert plain.run_id != _config(tiny_model_dir, save_model=True).run_id
    assert _config(tiny_model_dir, init_from="a").run_id != _config(tiny_model_dir, init_from="b").run_id
    before = {k: v for k, v in plain.to_dict().items() if k not in HASHED_WHEN_SET}  # a config of earlier versions: none of the later fields
    digest = hashlib.sha256(json.dumps(before, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]
    assert plain.run_id == digest
    assert RunConfig.from_dict(before) == plain


def test_the_run_directory_holds_model_weights_and_tokenizer(source):
    results, config, _ = source
    entries = sorted(p.name for p in (results / "runs" / config.run_id).iterdir())
    assert entries == sorted(["DONE", "config.json", "metrics.json", MODEL_DIR])
    saved = {p.name for p in (results / "runs" / config.run_id / MODEL_DIR).iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer_config.json"} <= saved
    assert json.loads((results / "runs" / config.run_id / "config.json").read_text())["save_model"] is True
    assert not [p for p in (results / "runs").iterdir() if p.name.startswith(".")]
    assert np.isfinite(json.loads((results / "runs" / config.run_id / "metrics.json").read_text())["test_accuracy"])

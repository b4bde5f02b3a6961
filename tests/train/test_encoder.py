"""Tests for loading encoders: one ModelError saying what was tried and why it failed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from noisebench.errors import ModelError
from noisebench.train.encoder import check_model, load_tokenizer, resolve_model_path


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    load_tokenizer.cache_clear()


def test_a_missing_local_path_is_a_model_error_naming_what_was_tried() -> None:
    with pytest.raises(ModelError, match=r"not an offline asset \(all-minilm-l6-v2.*tried local path /nonexistent/model: no such file or folder"):
        resolve_model_path("/nonexistent/model")


def test_an_empty_folder_and_a_folder_without_config_are_model_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="the folder is empty"):
        resolve_model_path(str(tmp_path))
    (tmp_path / "vocab.txt").write_text("x")
    with pytest.raises(ModelError, match="has no config.json"):
        resolve_model_path(str(tmp_path))


def test_a_hub_id_passes_through_and_fails_to_load_offline_with_one_model_error() -> None:
    assert resolve_model_path("someorg/no-such-model") == "someorg/no-such-model"
    with pytest.raises(ModelError, match=r"hub id someorg/no-such-model .*tokenizer failed to load: OSError") as info:
        check_model("someorg/no-such-model", 2)
    assert "\n" not in str(info.value)


def test_truncated_weights_in_a_local_folder_are_a_model_error(tiny_model_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ModelError, match=r"local folder .*weights failed to load"):
        check_model(str(folder), 2)


def test_a_good_local_folder_loads(tiny_model_dir: Path) -> None:
    assert resolve_model_path(str(tiny_model_dir)) == str(tiny_model_dir)
    check_model(str(tiny_model_dir), 2)

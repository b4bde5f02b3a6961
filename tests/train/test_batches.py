"""Splits padded once and pre-collated: the same training batches as per-step collation, the same
predictions as the per-split 128-row inference it replaced (issue 12)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import noisebench.train.run as run_module
from noisebench.schema import RunConfig
from noisebench.train.batches import CPU_EVAL_TOKENS, concat, encode, eval_batches, length_sorted_batches
from noisebench.train.encoder import fresh_model, load_tokenizer, pooled_forward
from noisebench.train.run import predict, run_training
from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE

CPU = torch.device("cpu")


def _varied(rng: random.Random, n: int) -> pd.DataFrame:
    """Sentences of 1 to 40 words (so batches need padding), the label given by the first cue word."""
    rows = []
    for i in range(n):
        label = rng.randint(0, 1)
        words = [rng.choice(POSITIVE if label else NEGATIVE)] + rng.choices(POSITIVE + NEGATIVE + NEUTRAL, k=rng.randint(0, 39))
        rows.append({"id": f"x{i}", "text": " ".join(words), "text_pair": " ".join(rng.sample(NEUTRAL, rng.randint(1, 9))), "label": label})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _varied(random.Random(0), 300)


@pytest.fixture(scope="module")
def varied_glue_dir(tmp_path_factory) -> Path:
    """A GLUE-layout SST-2 folder whose sentences have 1 to 40 words."""
    root = tmp_path_factory.mktemp("glue-varied")
    (root / "SST-2").mkdir()
    rng = random.Random(1)
    for name, n in (("train.tsv", 400), ("dev.tsv", 200)):
        data = _varied(rng, n)
        lines = ["sentence\tlabel", *(f"{t}\t{y}" for t, y in zip(data["text"], data["label"]))]
        (root / "SST-2" / name).write_text("\n".join(lines) + "\n")
    return root


def reference_predict(net: torch.nn.Module, features: list[dict[str, list[int]]], model: str, forward) -> tuple[np.ndarray, np.ndarray]:
    """Inference as noisebench did it before issue 12: one split at a time, sorted by length, 128 examples
    a batch, each collated by the tokenizer's ``pad``; (predicted labels, logits) in the split's order."""
    net.eval()
    order = np.argsort([len(f["input_ids"]) for f in features], kind="stable")
    logits = np.empty((len(features), net.config.num_labels), dtype=np.float32)
    with torch.inference_mode():
        for start in range(0, len(order), 128):
            index = order[start : start + 128]
            batch = dict(load_tokenizer(model).pad([features[i] for i in index], return_tensors="pt"))
            logits[index] = forward(net, batch, False)[0].numpy()
    return logits.argmax(-1), logits


def _token_lists(frame: pd.DataFrame, model: str, max_length: int, pairs: bool = False) -> list[dict[str, list[int]]]:
    enc = load_tokenizer(model)(frame["text"].tolist(), frame["text_pair"].tolist() if pairs else None, truncation=True, max_length=max_length)
    return [{k: enc[k][i] for k in enc} for i in range(len(frame))]


@pytest.mark.parametrize("pairs", [False, True])
def test_training_rows_are_exactly_what_the_tokenizer_pads_for_them(tiny_model_dir, frame, pairs):
    model = str(tiny_model_dir)
    encoded = encode(frame, model, 24, pairs)
    features = _token_lists(frame, model, 24, pairs)
    assert encoded.lengths.tolist() == [len(f["input_ids"]) for f in features]
    assert encoded.lengths.min() < encoded.lengths.max() == 24  # some padding, some truncation
    rng = np.random.default_rng(0)
    for size in (1, 7, 16, 300):
        index = rng.permutation(len(frame))[:size]
        expected = load_tokenizer(model).pad([features[i] for i in index], return_tensors="pt")
        rows = encoded.rows(index)
        assert rows.keys() == set(expected.keys())
        for key in rows:
            assert rows[key].dtype == expected[key].dtype and torch.equal(rows[key], expected[key]), key
    assert [encoded.example(i) for i in range(len(frame))] == features


def test_concat_equals_encoding_both_frames_together(tiny_model_dir, frame):
    model = str(tiny_model_dir)
    first, second = frame.iloc[:40], frame.iloc[40:]
    joined = concat(encode(first, model, 32, False), encode(second, model, 32, False), model)
    together = encode(frame, model, 32, False)
    assert np.array_equal(joined.lengths, together.lengths) and np.array_equal(joined.labels, together.labels)
    assert all(torch.equal(joined.inputs[k], together.inputs[k]) for k in together.inputs)


@pytest.mark.parametrize("max_tokens", [None, 64, 200, 1024])
def test_length_sorted_batches_cover_every_example_once_within_their_budget(max_tokens):
    lengths = np.random.default_rng(1).integers(1, 60, size=500)
    batches = length_sorted_batches(lengths, max_rows=32, max_tokens=max_tokens)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(500))
    assert np.all(np.diff(lengths[flat]) >= 0)  # sorted by length across and within batches
    for index in batches:
        assert len(index) <= 32
        padded = len(index) * lengths[index].max()
        assert len(index) == 1 or max_tokens is None or padded <= max_tokens
    if max_tokens is not None:  # greedy: a batch stops only when the next example would not fit
        for index, following in zip(batches, batches[1:]):
            assert len(index) == 32 or (len(index) + 1) * lengths[following[0]] > max_tokens
    else:
        assert [len(b) for b in batches[:-1]] == [32] * (len(batches) - 1)


def test_budgeted_batches_predict_the_labels_per_split_128_row_batches_predict(tiny_model_dir, frame):
    model = str(tiny_model_dir)
    net = fresh_model(model, 2, seed=3)
    forward = pooled_forward("mean")
    encoded = encode(frame, model, 48, False)
    batches = eval_batches(encoded, CPU)
    assert max(len(index) * encoded.lengths[index].max() for index, _ in batches.batches if len(index) > 1) <= CPU_EVAL_TOKENS
    assert len(batches.batches) > -(-len(frame) // 128)  # not the old 128-row batches
    preds, embeddings = predict(net, batches, forward=forward, want_features=True)
    expected, logits = reference_predict(net, _token_lists(frame, model, 48), model, forward)
    assert np.array_equal(preds, expected)
    assert embeddings.shape == (len(frame), net.config.hidden_size)
    with torch.inference_mode():  # the features are the pooled vectors the head sees
        recomputed = net.classifier(torch.as_tensor(embeddings)).numpy()
    np.testing.assert_allclose(recomputed, logits, atol=1e-5)


def test_a_runs_epoch_and_test_predictions_are_those_of_per_split_128_row_inference(tiny_model_dir, varied_glue_dir, monkeypatch):
    """Every predict call of a run (train + dev each epoch, test once) checked against the old inference on
    the same weights: the same labels, so the same history, model selection and test accuracy."""
    model = str(tiny_model_dir)
    config = RunConfig(task="sst2", model=model, n_train=48, epochs=3, batch_size=8, lr=3e-3, max_length=48, pooling="mean",
                       dev_limit=60, test_limit=90, save_embeddings=True)
    checked: list[tuple[int, int]] = []

    def checked_predict(net, batches, *, forward, want_features=False):
        preds, embeddings = predict(net, batches, forward=forward, want_features=want_features)
        features: list[dict[str, list[int]]] = [{}] * len(batches)
        for index, batch in batches.batches:  # unpad the pre-collated rows back into the tokenizer's lists
            for row, i in enumerate(index):
                length = int(batch["attention_mask"][row].sum())
                features[i] = {k: v[row, :length].tolist() for k, v in batch.items()}
        parts = [features] if len(batches) == 90 else [features[:48], features[48:]]  # test, or train then dev
        expected = np.concatenate([reference_predict(net, part, model, forward)[0] for part in parts])
        assert np.array_equal(preds, expected)
        checked.append((len(batches), int((preds != expected).sum())))
        return preds, embeddings

    monkeypatch.setattr(run_module, "predict", checked_predict)
    out = run_training(config, data_dir=varied_glue_dir, progress=False)
    assert checked == [(108, 0)] * 3 + [(90, 0)]
    history = out.metrics["history"]
    assert len({h["dev_accuracy"] for h in history}) > 1 or len({h["train_acc_clean"] for h in history}) > 1  # the weights moved
    assert out.test_embeddings.shape == (90, 32)

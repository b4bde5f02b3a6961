"""Tests for encoder-probe: masked-mean embeddings of a frozen encoder (a tiny random BERT here) + logistic regression."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from noisebench.errors import ModelError
from noisebench.noise.weak import get_labeller, weak_scores
from noisebench.noise.weak.encoder_probe import embedder
from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE

LABELS = ("neg", "pos")


def _frame(n: int, seed: int, *, pair: bool) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = rng.randint(0, 1)
        cue = rng.choice(POSITIVE if label else NEGATIVE)
        text = " ".join(rng.sample(NEUTRAL, 3) + [cue])
        other = " ".join(rng.sample(NEUTRAL, 4)) if pair else ""
        rows.append((f"e{seed}-{i}", text, other, label))
    return pd.DataFrame(rows, columns=["id", "text", "text_pair", "label"])


@pytest.fixture(scope="module")
def word_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny random BERT with a tokenizer that knows its words: with transformers 5 the shared fixture's
    ``BertTokenizerFast(vocab_file=...)`` ignores the file and maps every word to [UNK], so all
    sentences would embed alike."""
    import shutil

    from transformers import BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert-words")
    shutil.copytree(tiny_model_dir, folder, dirs_exist_ok=True)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        (folder / name).unlink(missing_ok=True)
    BertTokenizerFast(vocab=str(folder / "vocab.txt"), do_lower_case=True).save_pretrained(folder)
    return folder


@pytest.fixture()
def options(word_model_dir) -> dict[str, str]:
    embedder.cache_clear()  # every test embeds afresh
    return {"encoder": str(word_model_dir), "max_length": "32"}


def _fit(frame: pd.DataFrame, options: dict[str, str]):
    return get_labeller("encoder-probe").fit(frame, label_names=LABELS, seed=0, options=options)


@pytest.mark.parametrize("pair", [False, True], ids=["single", "pair"])
def test_scores_are_finite_log_probabilities_and_deterministic(options, pair) -> None:
    train, test = _frame(60, 0, pair=pair), _frame(20, 1, pair=pair)
    scorer = _fit(train, options)
    first = scorer.log_probs(test)
    assert first.shape == (20, 2) and np.isfinite(first).all()
    assert scorer.accuracy(train) > 0.8  # the embeddings carry the sentiment word
    np.testing.assert_allclose(np.exp(first).sum(axis=1), 1.0, atol=1e-9)
    embedder.cache_clear()
    np.testing.assert_array_equal(_fit(train, options).log_probs(test), first)


def test_a_pair_is_encoded_as_text_and_text_pair_together(options, word_model_dir) -> None:
    import torch
    from transformers import AutoModel, AutoTokenizer

    frame = _frame(4, 2, pair=True)
    got = embedder(options["encoder"], 32)(frame)
    tokenizer, model = AutoTokenizer.from_pretrained(word_model_dir), AutoModel.from_pretrained(word_model_dir).eval()
    assert tokenizer.unk_token_id not in tokenizer(frame["text"][0])["input_ids"]
    for i, row in frame.iterrows():  # one example at a time, unpadded: the mean of every token state
        with torch.no_grad():
            states = model(**tokenizer(row["text"], row["text_pair"], return_tensors="pt")).last_hidden_state[0]
        np.testing.assert_allclose(got[i], states.mean(dim=0).numpy(), rtol=1e-4, atol=1e-5)
    swapped = frame.assign(text=frame["text_pair"], text_pair=frame["text"])
    assert not np.allclose(embedder(options["encoder"], 32)(swapped), got, atol=1e-4)


def test_swapping_the_sentences_of_pairs_changes_the_scores(options) -> None:
    train, test = _frame(60, 3, pair=True), _frame(20, 4, pair=True)
    scorer = _fit(train, options)
    swapped = test.assign(text=test["text_pair"], text_pair=test["text"])
    assert not np.allclose(scorer.log_probs(test), scorer.log_probs(swapped))


def test_each_distinct_example_is_embedded_once(options) -> None:
    embed = embedder(options["encoder"], 32)
    a, b = _frame(30, 5, pair=False), _frame(10, 6, pair=False)
    first = embed(a)
    both = embed(pd.concat([b, a.iloc[::-1]], ignore_index=True))
    assert len(embed._rows) == len(set(a["text"]) | set(b["text"]))
    np.testing.assert_array_equal(both[len(b):], first[::-1])


def test_the_fit_modes_work_for_the_probe(options) -> None:
    frame, dev = _frame(50, 7, pair=True), _frame(20, 8, pair=True)
    common = dict(weak_train=_frame(30, 9, pair=True), dev=dev, labeller=get_labeller("encoder-probe"), options=options, label_names=LABELS)
    for fit, train_size in (("in-sample", 50), ("held-out", 30), ("cross-fit", 40)):
        scores = weak_scores(frame, fit=fit, **common)
        assert scores.log_probs.shape == (50, 2) and scores.train_size == train_size and scores.fitted
        assert 0.0 <= scores.dev_accuracy <= 1.0


def test_an_encoder_that_cannot_be_loaded_is_a_model_error(tmp_path) -> None:
    embedder.cache_clear()
    with pytest.raises(ModelError, match="weak labeller encoder-probe: cannot load model"):
        _fit(_frame(20, 10, pair=False), {"encoder": str(tmp_path / "missing"), "max_length": "32"})

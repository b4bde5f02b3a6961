"""Shared fixtures: a tiny random-initialised BERT with its tokenizer, and small GLUE-layout data."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

POSITIVE = ["good", "great", "fine", "lovely", "superb", "fun", "moving", "sharp"]
NEGATIVE = ["bad", "awful", "dull", "boring", "weak", "messy", "flat", "tired"]
NEUTRAL = ["film", "movie", "plot", "cast", "story", "script", "scene", "actor", "the", "a", "is", "and", "very"]


def _sentence(rng: random.Random, label: int) -> str:
    cue = rng.choice(POSITIVE if label else NEGATIVE)
    filler = rng.sample(NEUTRAL, 4)
    if rng.random() < 0.25:  # some examples carry a misleading cue, so a weak model errs
        filler[0] = rng.choice(NEGATIVE if label else POSITIVE)
    words = [cue, *filler]
    rng.shuffle(words)
    return " ".join(words)


def write_sst2(root: Path, n_train: int = 240, n_dev: int = 120, seed: int = 0) -> Path:
    """A GLUE-layout SST-2 folder with synthetic sentences (header `sentence\\tlabel`)."""
    rng = random.Random(seed)
    folder = root / "SST-2"
    folder.mkdir(parents=True, exist_ok=True)
    for name, n in (("train.tsv", n_train), ("dev.tsv", n_dev)):
        rows = ["sentence\tlabel"]
        for _ in range(n):
            label = rng.randint(0, 1)
            rows.append(f"{_sentence(rng, label)} \t{label}")
        (folder / name).write_text("\n".join(rows) + "\n")
    return root


REPO = Path(__file__).resolve().parents[1]

if os.environ.get("PYTEST_XDIST_WORKER"):  # `pytest -n N`: one thread per worker (and per CLI subprocess) so N workers share N cores
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)


def run_cli(*args: object, home: Path, plugins: str | None = None, offline: bool = False) -> subprocess.CompletedProcess:
    """``python -m noisebench ARGS`` as a user runs it, from the repository root, with its own cache ``home``.

    ``plugins`` names the modules to import (``NOISEBENCH_PLUGINS``; the repository goes on the path so a
    test module can be its own plugin); none is inherited, nor a tasks file. ``offline`` makes a hub
    access fail at once instead of trying the network.
    """
    env = {**os.environ, "NOISEBENCH_HOME": str(home), "TQDM_DISABLE": "1"}
    for name in ("NOISEBENCH_PLUGINS", "NOISEBENCH_TASKS_FILES"):
        env.pop(name, None)
    if plugins:
        env["NOISEBENCH_PLUGINS"] = plugins
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if offline:
        env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    command = [sys.executable, "-m", "noisebench", *map(str, args)]
    return subprocess.run(command, check=False, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


def spawn_ranks(worker: Callable[..., None], make_args: Callable[[], tuple], nprocs: int = 2) -> None:
    """``torch.multiprocessing.spawn`` of ``nprocs`` ranks of ``worker(rank, *make_args())``.

    Workers only save what they computed; the tests compare it. A rank killed by a signal (gloo's TCP
    transport aborted one once in CI) is started again, once, with fresh arguments (a fresh port or
    store); an exception raised in a worker is not retried.
    """
    import torch.multiprocessing as mp

    for attempt in range(2):
        try:
            mp.spawn(worker, args=make_args(), nprocs=nprocs, join=True)
            return
        except mp.ProcessExitedException as exc:
            if exc.signal_name is None or attempt == 1:
                raise
            warnings.warn(f"ranks started again after: {exc}", stacklevel=2)


@pytest.fixture(scope="session")
def glue_dir(tmp_path_factory) -> Path:
    return write_sst2(tmp_path_factory.mktemp("glue"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer, 32-wide BERT encoder with random weights and a word-level vocabulary.

    Saved without a classification head, like a pre-trained hub encoder, so that loading it for
    sequence classification initialises a new head (as with all-MiniLM-L6-v2 or roberta-large).
    """
    from transformers import BertConfig, BertModel, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *NEUTRAL]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True)  # positional: transformers 5 ignores vocab_file=
    config = BertConfig(
        vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=64, num_labels=2,
    )
    import torch

    torch.manual_seed(0)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def no_dropout_model(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny encoder without dropout, so that one process and two ranks compute the same function."""
    import json
    import shutil

    folder = tmp_path_factory.mktemp("tiny-no-dropout")
    shutil.copytree(tiny_model_dir, folder, dirs_exist_ok=True)
    config = json.loads((folder / "config.json").read_text())
    config.update(hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    (folder / "config.json").write_text(json.dumps(config))
    return folder


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """No test touches the user's cache or inherits a GLUE dir from the environment."""
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path / "nb-home"))
    monkeypatch.delenv("NOISEBENCH_GLUE_DIR", raising=False)


TRAINING_FIXTURES = {"tiny_model_dir", "no_dropout_model"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that loads the tiny encoder (it trains or runs a model) is ``slow``: ``pytest -m "not slow"``
    is the quick loop, the test command runs both."""
    for item in items:
        if TRAINING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)

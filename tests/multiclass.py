"""A tiny K-class text task built in memory, for the multi-class tests of noise, training and analysis.

Every word is in the tiny test BERT's vocabulary (tests/conftest.py), so the encoder sees no [UNK];
each class has its own cue words, and a quarter of the sentences carry the next class's cue, so a weak
model errs on some examples and temperature noise is not degenerate.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager

import pandas as pd
import pytest

from noisebench.data.tasks import TASKS, TaskData, TaskSpec, load_task, register_task
from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE

THREE_CLASSES = ("negative", "mixed", "positive")
_CUES = (NEGATIVE, NEUTRAL[:3], POSITIVE, NEUTRAL[3:6])
_FILLER = NEUTRAL[6:]


def _sentence(rng: random.Random, label: int) -> str:
    words = [rng.choice(_CUES[label]), *rng.sample(_FILLER, 3)]
    if rng.random() < 0.25:
        words[1] = rng.choice(_CUES[(label + 1) % len(_CUES)])
    rng.shuffle(words)
    return " ".join(words)


def _split(rng: random.Random, per_class: int, num_classes: int, prefix: str) -> pd.DataFrame:
    labels = [k for _ in range(per_class) for k in range(num_classes)]
    return pd.DataFrame({
        "id": [f"{prefix}{i:04d}" for i in range(len(labels))],
        "text": [_sentence(rng, k) for k in labels],
        "text_pair": "",
        "label": labels,
    })


def toy_task(label_names: tuple[str, ...] = THREE_CLASSES, *, pool_per_class: int = 40, seed: int = 0,
             name: str = "toy-3class") -> TaskData:
    """A balanced single-sentence task with ``len(label_names)`` classes (at most 4 cue sets)."""
    if not 2 <= len(label_names) <= len(_CUES):
        raise ValueError(f"toy_task supports 2..{len(_CUES)} classes, got {len(label_names)}")
    rng, k = random.Random(seed), len(label_names)
    return TaskData(name, tuple(label_names), False, _split(rng, pool_per_class, k, "pool"),
                    _split(rng, 10, k, "weak"), _split(rng, 10, k, "dev"), _split(rng, 10, k, "test"))


@contextmanager
def registered(task: TaskData) -> Iterator[TaskSpec]:
    """``task`` registered under its name while the block runs, so the CLI and ``run_training`` find it by name.

    The registry is a scratch copy (the task is gone afterwards) and ``load_task``'s per-process cache is
    cleared on entry and exit, so another test's task of the same name is never served from it.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TASKS, "_entries", dict(TASKS._entries))
        load_task.cache_clear()
        try:
            yield register_task(TaskSpec(task.name, task.label_names, task.is_pair, "an in-memory test task",
                                         lambda **_: task, source="test"))
        finally:
            load_task.cache_clear()

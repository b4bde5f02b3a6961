"""Users' own data as files: a 3-class CSV with string labels and a sentence-pair JSONL, with tasks files.

Every word is in the tiny test BERT's vocabulary (tests/conftest.py), so a run on these files trains
the tiny encoder without [UNK]s.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd

from tests.multiclass import THREE_CLASSES, toy_task


def write_three_class_csv(path: Path, *, per_class: int = 60, seed: int = 0) -> pd.DataFrame:
    """``sentence,category`` rows with the class names as labels (no id column, no dev/test files)."""
    task = toy_task(THREE_CLASSES, pool_per_class=per_class, seed=seed)
    frame = pd.DataFrame({"sentence": task.pool["text"], "category": [THREE_CLASSES[k] for k in task.pool["label"]]})
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return frame


def write_pair_jsonl(folder: Path, *, n_train: int = 160, n_dev: int = 60, seed: int = 0) -> dict[str, Path]:
    """``train.jsonl`` and ``dev.jsonl`` with ``uid, premise, hypothesis, verdict`` (verdict: same/different
    cue class), so the pair label depends on both sentences."""
    rng = random.Random(seed)
    sentences = toy_task(THREE_CLASSES, pool_per_class=80, seed=seed).pool
    paths = {}
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_dev)):
        rows = []
        for i in range(n):
            a, b = rng.randrange(len(sentences)), rng.randrange(len(sentences))
            if i % 2 == 0:  # half the pairs share a class
                same = sentences.index[sentences["label"] == sentences["label"].iloc[a]]
                b = int(rng.choice(list(same)))
            same_class = sentences["label"].iloc[a] == sentences["label"].iloc[b]
            rows.append({"uid": f"{split}{i}", "premise": sentences["text"].iloc[a], "hypothesis": sentences["text"].iloc[b],
                         "verdict": "same" if same_class else "different"})
        paths[split] = folder / f"{split}.jsonl"
        paths[split].write_text("".join(json.dumps(row) + "\n" for row in rows))
    return paths


def write_rater_table(path: Path, rows: pd.DataFrame, *, raters: int = 3, seed: int = 0) -> pd.DataFrame:
    """``id, rater, label`` for every row of the 3-class CSV (ids ``train-<row>``): each rater gives the
    true class name, another class (20%) or nothing (10%, an abstention)."""
    rng = random.Random(seed)
    table = []
    for i, category in enumerate(rows["category"]):
        for r in range(raters):
            draw = rng.random()
            label = "" if draw < 0.1 else rng.choice([c for c in THREE_CLASSES if c != category]) if draw < 0.3 else category
            table.append({"id": f"train-{i}", "rater": f"r{r}", "label": label})
    frame = pd.DataFrame(table)
    frame.to_csv(path, index=False)
    return frame


def write_tasks_file(folder: Path) -> Path:
    """``tasks.yaml`` declaring ``mine`` (the 3-class CSV, with a rater table) and ``pairs`` (the JSONL pair
    task), files beside it."""
    rows = write_three_class_csv(folder / "mine.csv")
    write_rater_table(folder / "mine-raters.csv", rows)
    write_pair_jsonl(folder / "pairs")
    path = folder / "tasks.yaml"
    path.write_text(
        "- name: mine\n"
        "  description: three cue classes\n"
        "  files: {train: mine.csv}\n"
        "  text: sentence\n"
        "  label: category\n"
        "  raters: mine-raters.csv\n"
        "- name: pairs\n"
        "  files: {train: pairs/train.jsonl, dev: pairs/dev.jsonl}\n"
        "  text: premise\n"
        "  text_pair: hypothesis\n"
        "  label: verdict\n"
        "  id: uid\n"
    )
    return path


OBSERVED_FLIPS = {"negative": ("mixed", 0.3), "mixed": ("positive", 0.1)}
"""The crowd's mistakes in :func:`write_observed_csv`: a negative example is called mixed 30% of the time, a mixed
one positive 10%, a positive one never mistaken (asymmetric, class-conditional noise)."""


def write_observed_csv(path: Path, *, per_class: int = 200, seed: int = 0) -> pd.DataFrame:
    """``sentence, category, crowd`` rows: the 3-class CSV with a noisy ``crowd`` label beside the clean one,
    drawn by :data:`OBSERVED_FLIPS`; and a tasks file ``tasks.yaml`` beside it declaring it as task ``crowd``."""
    rows = write_three_class_csv(path, per_class=per_class, seed=seed)
    rng = random.Random(seed + 1)
    crowd = []
    for category in rows["category"]:
        wrong, share = OBSERVED_FLIPS.get(category, (category, 0.0))
        crowd.append(wrong if rng.random() < share else category)
    rows["crowd"] = crowd
    rows.to_csv(path, index=False)
    (path.parent / "tasks.yaml").write_text(
        f"- {{name: crowd, files: {{train: {path.name}}}, text: sentence, label: category, noisy_label: crowd,"
        f" label_names: [{', '.join(THREE_CLASSES)}]}}\n"
    )
    return rows

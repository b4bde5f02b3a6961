"""An offline example of real noise that ships with a dataset: vader snippets with a clean and a noisy label.

Every snippet of the four vader corpora (Hutto & Gilbert 2014; :mod:`noisebench.data.vader`) whose mean
rating is not 0 gets two labels: ``label``, the sign of the mean of its 15 to 99 raters' scores (clean,
verified by many), and ``noisy_label``, the sign of one of its raters' scores, that rater drawn uniformly
(from ``seed``) among those who did not score it 0 (what one crowd worker would have said). The table is
written as a CSV file with a tasks file declaring it (``noisy_label: noisy_label``), so it is a task like any
user's, not a built-in corpus::

    python -m noisebench.data.observed_example results/data        # writes vader-one-rater.csv + tasks.yaml
    noisebench generate --tasks-file results/data/tasks.yaml --task vader-one-rater --family observed --target-rate 0.05 ...
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from noisebench.data.raters import ABSTAIN, RATINGS_COLUMN
from noisebench.data.vader import CORPORA, LABEL_NAMES, load_vader
from noisebench.errors import DataError
from noisebench.io import write_files_atomic

TASK = "vader-one-rater"
TABLE_FILE = f"{TASK}.csv"
TASKS_FILE = "tasks.yaml"


def one_rater_table(archive: Path | None = None, *, seed: int = 0) -> pd.DataFrame:
    """``id, text, label, noisy_label, corpus`` (labels as names) over the four corpora, sorted by id.

    A snippet whose raters all scored it 0 has no rater to draw and is left out; a text found in two corpora
    is left out too (it would leak across splits).
    """
    frames = [load_vader(corpus, archive, min_abs_mean=0.0).assign(corpus=corpus) for corpus in CORPORA]
    frame = pd.concat(frames, ignore_index=True).sort_values("id", ignore_index=True)
    frame = frame[~frame["text"].duplicated(keep=False)]
    votes = [np.array([v for v in ratings if v != ABSTAIN], dtype=np.int64) for ratings in frame[RATINGS_COLUMN]]
    rng = np.random.default_rng(seed)
    uniforms = rng.random(len(votes))  # one per snippet, in id order
    noisy = np.array([v[int(u * len(v))] if len(v) else ABSTAIN for v, u in zip(votes, uniforms)], dtype=np.int64)
    keep = noisy != ABSTAIN
    names = np.asarray(LABEL_NAMES, dtype=object)
    table = pd.DataFrame({
        "id": frame["id"].to_numpy()[keep], "text": frame["text"].to_numpy()[keep],
        "label": names[frame["label"].to_numpy()[keep]], "noisy_label": names[noisy[keep]], "corpus": frame["corpus"].to_numpy()[keep],
    })
    if table.empty:
        raise DataError("the vader corpora hold no snippet with a non-zero rating")
    return table


def tasks_entry(table: pd.DataFrame) -> list[dict]:
    disagreement = float((table["label"] != table["noisy_label"]).mean())
    return [{
        "name": TASK,
        "description": (
            f"vader snippets ({len(table):,}, four corpora): clean = sign of the raters' mean, noisy = one rater's sign "
            f"({disagreement:.1%} disagree)"
        ),
        "files": {"train": TABLE_FILE},
        "text": "text",
        "label": "label",
        "noisy_label": "noisy_label",
        "id": "id",
        "label_names": list(LABEL_NAMES),
        "display_name": "vader one-rater",
    }]


def write_example(out_dir: Path, archive: Path | None = None, *, seed: int = 0) -> Path:
    """Write the table and the tasks file declaring it into ``out_dir`` (both or neither); return the tasks file."""
    out_dir = Path(out_dir)
    table = one_rater_table(archive, seed=seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        out_dir / TABLE_FILE: table.to_csv(index=False).encode("utf-8"),
        out_dir / TASKS_FILE: yaml.safe_dump(tasks_entry(table), sort_keys=False, allow_unicode=True).encode("utf-8"),
    }
    write_files_atomic(files)
    return out_dir / TASKS_FILE


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m noisebench.data.observed_example OUT_DIR")
    path = write_example(Path(sys.argv[1]))
    print(path)

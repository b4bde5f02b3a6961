"""Sentiment snippets with every rater's score (Hutto & Gilbert, ICWSM 2014), shipped in vaderSentiment's sdist.

The archive ``hutto_ICWSM_2014.tar.gz`` holds, per corpus, ``<stem>_GroundTruth.txt`` (tab-separated
``id, mean rating, text``) and ``<stem>_anonDataRatings.txt`` (``id, mean, standard deviation, [r1, r2, ...]``),
ratings being integers from -4 (very negative) to +4 (very positive), 15 to 99 raters per snippet.

The clean label is the sign of the mean of the raw ratings (recomputed from them: for some tweets the
GroundTruth file's mean differs from its ratings'). Snippets whose |mean| is below :data:`MIN_ABS_MEAN`
are dropped: their sign is what the raters disagree about, not a label. Texts occurring more than
once are dropped entirely (they were rated separately and would leak across splits).

Each row keeps its raters' votes for the annotator noise family in the rater-table contract of
:mod:`noisebench.data.raters`: vader is one source of a rater table (:func:`vader_rater_table`: a score
above 0 votes positive, below 0 negative, 0 abstains), attached like any task's table, so the
``ratings`` column holds class ids (negative 0, positive 1, abstain -1) in the archive's rater order.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pandas as pd

from noisebench.assets import asset_path
from noisebench.data.raters import RATINGS_COLUMN, attach_ratings
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
SCORES_COLUMN = "scores"
"""The raw scores while a corpus is loaded: they give the mean rating and the rater table, then are dropped."""


def load_vader(corpus: str, archive: Path | None = None, *, min_abs_mean: float = MIN_ABS_MEAN) -> pd.DataFrame:
    """One corpus as ``id, text, text_pair, label, ratings, mean_rating`` (negative=0, positive=1), sorted by id.

    ``ratings`` holds each snippet's raters' votes as class ids (see the module docstring); ``mean_rating``
    and the label come from the raw scores.

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
            SCORES_COLUMN: [ratings[i] for i in ids],
        }
    )
    frame["mean_rating"] = [float(np.mean(r)) for r in frame[SCORES_COLUMN]]
    frame = frame[(frame["text"] != "") & (frame["mean_rating"].abs() >= min_abs_mean) & (frame["mean_rating"] != 0)]
    frame = frame[~frame["text"].duplicated(keep=False)]
    frame.insert(3, "label", (frame["mean_rating"] > 0).astype(int))
    label_ids = {name: i for i, name in enumerate(LABEL_NAMES)}
    frame = attach_ratings(frame, vader_rater_table(frame), label_ids, where=f"of the vader {corpus} corpus in {path}")
    columns = ["id", "text", "text_pair", "label", RATINGS_COLUMN, "mean_rating"]
    return frame[columns].sort_values("id", ignore_index=True)


def vader_rater_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The raters' scores of ``frame`` (its ``scores`` column) as a rater table ``id, rater, label``.

    A score above 0 votes positive, below 0 negative, and 0 abstains (no label): a rater who found the
    snippet neutral gives no sentiment label. The rater id is the score's position in the archive's list.
    """
    scores = frame[["id", SCORES_COLUMN]].explode(SCORES_COLUMN, ignore_index=True)
    values = scores[SCORES_COLUMN].to_numpy(dtype=np.int64)
    rater = scores.groupby("id", sort=False).cumcount().to_numpy()
    label = np.where(values > 0, LABEL_NAMES[1], np.where(values < 0, LABEL_NAMES[0], None))
    return pd.DataFrame({"id": scores["id"].to_numpy(), "rater": rater, "label": label})


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

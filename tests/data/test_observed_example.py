"""The offline observed-noise example: vader snippets with the raters' mean sign (clean) and one rater's sign (noisy)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.data.declared import read_tasks_file
from noisebench.data.observed_example import TABLE_FILE, TASK, one_rater_table, write_example
from noisebench.data.tables import OBSERVED_COLUMN
from noisebench.data.vader import CORPORA
from tests.data.test_vader import _synthetic_corpus, write_archive


@pytest.fixture()
def archive(tmp_path: Path) -> Path:
    corpora = {key: [(i, f"{key} {text}", r) for i, text, r in _synthetic_corpus(60, seed=j)] for j, key in enumerate(CORPORA)}
    corpora["nyt"][0] = (corpora["nyt"][0][0], corpora["movie"][0][1], corpora["nyt"][0][2])  # a text in two corpora: left out
    corpora["movie"] = [*corpora["movie"], ("999", "everyone shrugged", [0, 0, 0, 1])]  # one rater scores it, the rest 0
    return write_archive(tmp_path / "hutto.tar.gz", corpora)


def test_the_noisy_label_is_one_scoring_raters_sign_and_the_clean_label_the_means(archive: Path) -> None:
    table = one_rater_table(archive, seed=0)
    assert set(table.columns) == {"id", "text", "label", "noisy_label", "corpus"} and table["id"].is_unique
    assert set(table["corpus"]) == set(CORPORA) and "movie-0" not in set(table["id"]) and "nyt-0" not in set(table["id"])
    from tests.data.test_vader import _synthetic_corpus as corpus  # the same rows, to check each label against its scores

    scores = {f"{key}-{i}": r for j, key in enumerate(CORPORA) for i, _, r in corpus(60, seed=j)} | {"movie-999": [0, 0, 0, 1]}
    for row in table.itertuples():
        ratings = np.array(scores[row.id])
        assert row.label == ("positive" if ratings.mean() > 0 else "negative")
        signs = {"positive" if v > 0 else "negative" for v in ratings if v != 0}
        assert row.noisy_label in signs  # some rater who did not score it 0 said so
    assert table.set_index("id").loc["movie-999", "noisy_label"] == "positive"  # the only rater with a sign
    assert 0 < (table["label"] != table["noisy_label"]).mean() < 0.5
    assert one_rater_table(archive, seed=0).equals(table) and not one_rater_table(archive, seed=1).equals(table)


def test_the_example_is_a_declared_task_with_its_noisy_labels(archive: Path, tmp_path: Path) -> None:
    tasks_file = write_example(tmp_path / "data", archive)
    (entry,) = read_tasks_file(tasks_file)
    assert entry.name == TASK and entry.noisy_label == "noisy_label" and Path(entry.files["train"]).name == TABLE_FILE
    from noisebench.data.declared import DeclaredLoader

    task = DeclaredLoader(entry)()
    table = pd.read_csv(tmp_path / "data" / TABLE_FILE)
    noisy = dict(zip(table["id"], table["noisy_label"]))
    pool = task.pool
    assert [task.label_names[k] for k in pool[OBSERVED_COLUMN]] == [noisy[i] for i in pool["id"]]
    assert f"{(table['label'] != table['noisy_label']).mean():.1%} disagree" in entry.description

"""Tests for noise artifacts on disk: summary statistics, atomic write, validated read-back."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench import __version__
from noisebench.errors import ArtifactError, DataError
from noisebench.noise.artifact import (
    NoiseArtifact,
    noise_summary,
    read_artifact,
    transition_counts,
    write_artifact,
)

NAMES = ("a", "b", "c")


def _labels(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, 3, size=n)
    noisy = np.where(rng.random(n) < 0.3, rng.integers(0, 3, size=n), clean)
    return pd.DataFrame({"id": [f"ex-{i}" for i in range(n)], "label_clean": clean, "label_noisy": noisy, "is_corrupted": clean != noisy})


def _write(tmp_path: Path, labels: pd.DataFrame | None = None, meta: dict | None = None) -> Path:
    labels = _labels() if labels is None else labels
    return write_artifact(tmp_path / "art", labels, meta or {"task": "toy", "family": "uniform"})


def test_transition_counts_equal_a_crosstab_with_rows_clean() -> None:
    labels = _labels()
    counts = transition_counts(labels["label_clean"].to_numpy(), labels["label_noisy"].to_numpy(), 3)
    crosstab = pd.crosstab(labels["label_clean"], labels["label_noisy"]).reindex(index=range(3), columns=range(3), fill_value=0)
    assert counts == crosstab.to_numpy().tolist()


def test_transition_counts_orientation_is_rows_clean_cols_noisy() -> None:
    counts = transition_counts(np.array([0, 0, 0, 1]), np.array([2, 2, 0, 1]), 3)
    assert counts == [[1, 0, 2], [0, 1, 0], [0, 0, 0]]


def test_noise_summary_matches_hand_computed_rates() -> None:
    clean = np.array([0, 0, 0, 0, 1, 1, 2])
    noisy = np.array([0, 1, 2, 0, 1, 0, 2])
    summary = noise_summary(clean, noisy, NAMES)
    assert summary["n_examples"] == 7
    assert summary["realized_noise_rate"] == pytest.approx(3 / 7)
    assert summary["per_class_noise_rate"] == {"a": pytest.approx(2 / 4), "b": pytest.approx(1 / 2), "c": 0.0}
    assert summary["transition_matrix"] == {
        "orientation": "rows=clean, cols=noisy",
        "labels": ["a", "b", "c"],
        "counts": [[2, 1, 1], [1, 1, 0], [0, 0, 1]],
    }


def test_noise_summary_reports_none_for_an_absent_class_and_zero_for_no_examples() -> None:
    summary = noise_summary(np.array([0, 1]), np.array([1, 1]), NAMES)
    assert summary["per_class_noise_rate"] == {"a": 1.0, "b": 0.0, "c": None}
    empty = noise_summary(np.array([], dtype=int), np.array([], dtype=int), NAMES)
    assert empty["realized_noise_rate"] == 0.0 and empty["n_examples"] == 0


def test_write_then_read_round_trips_labels_and_meta(tmp_path: Path) -> None:
    labels = _labels()
    path = _write(tmp_path, labels, {"task": "toy", "params": {"rate": 0.3}})
    artifact = read_artifact(path)
    assert isinstance(artifact, NoiseArtifact) and artifact.path == path
    pd.testing.assert_frame_equal(artifact.labels, labels)
    labels_sha256 = hashlib.sha256((path / "labels.parquet").read_bytes()).hexdigest()
    assert artifact.meta == {"schema_version": 1, "noisebench_version": __version__, "task": "toy", "params": {"rate": 0.3}, "labels_sha256": labels_sha256}
    assert sorted(p.name for p in path.iterdir()) == ["labels.parquet", "noise.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["art"]  # no temp leftovers


def test_write_artifact_refuses_an_existing_dir_with_a_data_error(tmp_path: Path) -> None:
    path = _write(tmp_path)
    before = {p.name: p.read_bytes() for p in path.iterdir()}
    with pytest.raises(DataError, match="already exists"):
        write_artifact(path, _labels(seed=1), {"task": "other"})
    assert {p.name: p.read_bytes() for p in path.iterdir()} == before


def test_read_artifact_without_noise_json_is_a_data_error(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (path / "noise.json").unlink()
    with pytest.raises(DataError, match="not a noise artifact"):
        read_artifact(path)


def test_read_artifact_without_labels_is_a_data_error(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (path / "labels.parquet").unlink()
    with pytest.raises(DataError, match="not a noise artifact"):
        read_artifact(path)
    with pytest.raises(DataError):
        read_artifact(tmp_path / "does-not-exist")


@pytest.mark.parametrize("version", [2, 0, None, "1"])
def test_read_artifact_with_a_wrong_schema_version_is_a_data_error(tmp_path: Path, version) -> None:
    path = _write(tmp_path)
    meta = json.loads((path / "noise.json").read_text())
    if version is None:
        del meta["schema_version"]
    else:
        meta["schema_version"] = version
    (path / "noise.json").write_text(json.dumps(meta))
    with pytest.raises(DataError, match="schema_version"):
        read_artifact(path)


@pytest.mark.parametrize("column", ["id", "label_clean", "label_noisy", "is_corrupted"])
def test_read_artifact_with_a_missing_label_column_is_a_data_error(tmp_path: Path, column: str) -> None:
    path = _write(tmp_path)
    labels = pd.read_parquet(path / "labels.parquet").drop(columns=[column])
    labels.to_parquet(path / "labels.parquet", index=False)
    with pytest.raises(DataError, match=column):
        read_artifact(path)


def test_read_artifact_with_corrupt_files_is_a_data_error(tmp_path: Path) -> None:
    path = _write(tmp_path)
    (path / "noise.json").write_text("{not json")
    with pytest.raises(DataError, match="unreadable"):
        read_artifact(path)
    path2 = _write(tmp_path / "second")
    (path2 / "labels.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="unreadable"):
        read_artifact(path2)


def test_noisy_labels_for_returns_rows_in_the_requested_order(tmp_path: Path) -> None:
    labels = _labels()
    artifact = read_artifact(_write(tmp_path, labels))
    ids = pd.Series(["ex-17", "ex-3", "ex-250"])
    rows = artifact.noisy_labels_for(ids)
    assert rows["id"].tolist() == ids.tolist()
    expected = labels.set_index("id").loc[ids]
    assert rows["label_noisy"].tolist() == expected["label_noisy"].tolist()
    assert rows["label_clean"].tolist() == expected["label_clean"].tolist()


def test_noisy_labels_for_an_unknown_id_is_a_data_error(tmp_path: Path) -> None:
    artifact = read_artifact(_write(tmp_path))
    with pytest.raises(DataError, match=r"1 of the 2 .*ex-unknown"):
        artifact.noisy_labels_for(pd.Series(["ex-1", "ex-unknown"]))


def _write_consistent(tmp_path: Path, labels: pd.DataFrame | None = None) -> Path:
    labels = _labels() if labels is None else labels
    summary = noise_summary(labels["label_clean"].to_numpy(), labels["label_noisy"].to_numpy(), NAMES)
    return write_artifact(tmp_path / "art", labels, {"task": "toy", "family": "uniform", **summary})


def _edit_labels(path: Path, edit) -> None:
    labels = pd.read_parquet(path / "labels.parquet")
    edit(labels).to_parquet(path / "labels.parquet", index=False)


def _drop_hash(path: Path) -> None:
    meta = json.loads((path / "noise.json").read_text())
    del meta["labels_sha256"]
    (path / "noise.json").write_text(json.dumps(meta))


def test_an_edited_labels_file_fails_its_recorded_sha256(tmp_path: Path) -> None:
    path = _write_consistent(tmp_path)
    _edit_labels(path, lambda f: f.iloc[::-1])  # same rows, reordered: internally consistent, different bytes
    with pytest.raises(ArtifactError, match="sha256"):
        read_artifact(path)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda f: f.assign(label_noisy=f["label_clean"]), "is_corrupted disagrees"),
        (lambda f: f.assign(label_noisy=f["label_clean"], is_corrupted=False), "realised noise rate"),
        (lambda f: f.assign(label_noisy=f["label_noisy"].astype(float).where(f.index != 3)), "missing values in label_noisy"),
        (lambda f: f.assign(id=f["id"].where(f.index != 1, f["id"].iloc[0])), "duplicate id"),
        (lambda f: f.assign(label_clean=f["label_clean"].where(f.index != 0, 7), label_noisy=f["label_noisy"].where(f.index != 0, 7)), "value 7 is not a class"),
        (lambda f: f.assign(label_noisy=f["label_noisy"] + 0.5), "non-integer"),
        (lambda f: f.iloc[:-1], "n_examples"),
    ],
    ids=["noisy-set-to-clean", "noisy-set-to-clean-consistently", "nan-label", "duplicate-id", "label-outside-classes", "fractional-label", "row-dropped"],
)
def test_inconsistent_labels_are_refused_even_without_a_recorded_hash(tmp_path: Path, edit, message: str) -> None:
    path = _write_consistent(tmp_path)
    _drop_hash(path)  # an artifact from before labels_sha256: the content checks still apply
    _edit_labels(path, edit)
    with pytest.raises(ArtifactError, match=message):
        read_artifact(path)


def test_an_artifact_without_a_recorded_hash_still_reads(tmp_path: Path) -> None:
    path = _write_consistent(tmp_path)
    _drop_hash(path)
    assert len(read_artifact(path).labels) == 300

"""Tests for atomic writes: a directory or file appears complete under its final name, or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from noisebench.io import atomic_dir, read_json, write_bytes_atomic, write_json_atomic


def test_atomic_dir_publishes_the_directory_when_the_block_succeeds(tmp_path: Path) -> None:
    final = tmp_path / "out"
    with atomic_dir(final) as tmp:
        assert tmp != final and tmp.parent == tmp_path
        (tmp / "f.txt").write_text("done")
        assert not final.exists()  # not visible until the block ends
    assert (final / "f.txt").read_text() == "done"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_dir_leaves_no_final_dir_and_no_temp_when_the_block_raises(tmp_path: Path) -> None:
    final = tmp_path / "out"
    with pytest.raises(RuntimeError, match="boom"):
        with atomic_dir(final) as tmp:
            (tmp / "partial.txt").write_text("half")
            raise RuntimeError("boom")
    assert not final.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_refuses_an_existing_final_without_overwrite(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with pytest.raises(FileExistsError):
        with atomic_dir(final):
            pytest.fail("the block must not run")
    assert (final / "old.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_dir_with_overwrite_replaces_the_existing_final(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with atomic_dir(final, overwrite=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_atomic_dir_failure_with_overwrite_keeps_the_old_final(tmp_path: Path) -> None:
    final = tmp_path / "out"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with pytest.raises(ValueError):
        with atomic_dir(final, overwrite=True) as tmp:
            (tmp / "new.txt").write_text("new")
            raise ValueError
    assert sorted(p.name for p in final.iterdir()) == ["old.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_write_json_atomic_round_trips_including_numpy_scalars_and_paths(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "meta.json"
    payload = {"a": 1, "b": [1.5, "x", None], "c": {"d": True}, "n": np.int64(7), "f": np.float64(0.25), "p": Path("/x/y")}
    write_json_atomic(path, payload)
    expected = {"a": 1, "b": [1.5, "x", None], "c": {"d": True}, "n": 7, "f": 0.25, "p": "/x/y"}
    assert read_json(path) == expected
    assert json.loads(path.read_text(encoding="utf-8")) == expected
    assert [p.name for p in path.parent.iterdir()] == ["meta.json"]


def test_write_json_atomic_rejects_unserialisable_values_and_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    with pytest.raises(TypeError):
        write_json_atomic(path, {"x": object()})
    assert list(tmp_path.iterdir()) == []


def test_write_bytes_atomic_replaces_content_without_leftovers(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    write_bytes_atomic(path, b"one")
    write_bytes_atomic(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]

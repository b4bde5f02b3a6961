"""Tests for atomic writes: a directory or file appears complete under its final name, or not at all."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from noisebench.io import atomic_dir, read_json, remove_leftovers, write_bytes_atomic, write_json_atomic


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


def test_atomic_dir_overwrite_predicate_decides_per_existing_final(tmp_path: Path) -> None:
    """A run directory is replaced when FAILED and never when DONE: overwrite can be a predicate."""
    final = tmp_path / "run"
    final.mkdir()
    (final / "FAILED").write_text("")

    def not_done(existing: Path) -> bool:
        return not (existing / "DONE").exists()

    with atomic_dir(final, overwrite=not_done) as tmp:
        (tmp / "DONE").write_text("")
    assert sorted(p.name for p in final.iterdir()) == ["DONE"]
    with pytest.raises(FileExistsError):
        with atomic_dir(final, overwrite=not_done):
            pytest.fail("the block must not run")
    assert sorted(p.name for p in final.iterdir()) == ["DONE"]
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_atomic_dir_refuses_a_final_that_appeared_during_the_block(tmp_path: Path) -> None:
    final = tmp_path / "out"
    with pytest.raises(FileExistsError):
        with atomic_dir(final) as tmp:
            (tmp / "mine.txt").write_text("mine")
            final.mkdir()  # another writer published first
            (final / "theirs.txt").write_text("theirs")
    assert sorted(p.name for p in final.iterdir()) == ["theirs.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_remove_leftovers_deletes_only_hidden_temporaries_of_that_name(tmp_path: Path) -> None:
    (tmp_path / ".out.tmp-abc").mkdir()
    (tmp_path / ".out.tmp-abc" / "half.txt").write_text("half")
    (tmp_path / ".out.tmp-old-def").write_text("old")
    (tmp_path / ".other.tmp-abc").write_text("keep")
    (tmp_path / "out").mkdir()
    remove_leftovers(tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.tmp-abc", "out"]


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_published_file_follows_the_umask(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "results.parquet"
    write_bytes_atomic(path, b"table", crash_name="table-write")
    assert mode(path) == 0o666 & ~umask
    write_json_atomic(tmp_path / "meta.json", {"a": 1})
    assert mode(tmp_path / "meta.json") == 0o666 & ~umask


def test_a_published_directory_and_its_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    final = tmp_path / "runs" / "abc123"
    with atomic_dir(final) as tmp:
        write_json_atomic(tmp / "config.json", {"a": 1})
        (tmp / "DONE").write_text("")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "x.bin").write_bytes(b"x")
    assert mode(final) == 0o777 & ~umask
    assert mode(final / "sub") == 0o777 & ~umask
    for name in ("config.json", "DONE", "sub/x.bin"):
        assert mode(final / name) == 0o666 & ~umask, name
    with atomic_dir(final, overwrite=True) as tmp:  # a replacement is published the same way
        write_json_atomic(tmp / "config.json", {"a": 2})
    assert mode(final) == 0o777 & ~umask and mode(final / "config.json") == 0o666 & ~umask


def test_write_bytes_atomic_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "f.bin"
    write_bytes_atomic(path, b"old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_bytes_atomic(path, b"new")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]

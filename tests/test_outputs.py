"""Tests for the output checks made before any expensive work."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from noisebench.errors import OutputError
from noisebench.outputs import check_writable_dir, check_writable_file, refuse_existing

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def test_an_existing_or_creatable_folder_passes_and_nothing_is_created(tmp_path: Path) -> None:
    assert check_writable_dir(tmp_path) == tmp_path
    assert check_writable_dir(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert list(tmp_path.iterdir()) == []


def test_a_regular_file_where_a_folder_is_needed_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(OutputError, match=r"--results .*f is a file, not a folder"):
        check_writable_dir(tmp_path / "f", option="--results")
    with pytest.raises(OutputError, match=r"f is a file, not a folder"):
        check_writable_dir(tmp_path / "f" / "sub" / "deeper")


@pytest.mark.skipif(IS_ROOT, reason="running as root: chmod does not stop root writing")
def test_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(OutputError, match="not writable"):
        check_writable_dir(tmp_path / "ro" / "new")


def test_refuse_existing_names_the_first_existing_output_unless_overwrite(tmp_path: Path) -> None:
    (tmp_path / "b.png").write_bytes(b"old")
    paths = [tmp_path / "a.png", tmp_path / "b.png"]
    with pytest.raises(OutputError, match=r"b\.png already exists; remove it or pass --overwrite"):
        refuse_existing(paths)
    refuse_existing(paths, overwrite=True)
    refuse_existing([tmp_path / "c.png"])


def test_check_writable_file_refuses_a_folder_and_an_existing_file(tmp_path: Path) -> None:
    (tmp_path / "old.md").write_text("old")
    with pytest.raises(OutputError, match="is a folder, not a file"):
        check_writable_file(tmp_path)
    with pytest.raises(OutputError, match="old.md already exists"):
        check_writable_file(tmp_path / "old.md")
    assert check_writable_file(tmp_path / "old.md", overwrite=True) == tmp_path / "old.md"
    assert check_writable_file(tmp_path / "new" / "report.md") == tmp_path / "new" / "report.md"

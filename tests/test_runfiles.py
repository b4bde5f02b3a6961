"""Tests for defensive reads of run files."""

from __future__ import annotations

from pathlib import Path

import pytest

from noisebench.errors import RunFileError
from noisebench.store.read import read_run_json, require_numbers


@pytest.mark.parametrize(
    "content, found",
    [
        (b'{"test_accuracy": 0.8', "JSONDecodeError"),
        (b"\x89PNG\x00\xff\xfe", "UnicodeDecodeError"),
        (b"[1, 2]", "holds a list"),
    ],
    ids=["truncated", "binary", "not-an-object"],
)
def test_a_damaged_run_file_names_the_run(tmp_path: Path, content: bytes, found: str) -> None:
    run = tmp_path / "runs" / "abc123"
    run.mkdir(parents=True)
    (run / "metrics.json").write_bytes(content)
    with pytest.raises(RunFileError, match=rf"run abc123: metrics.json .*{found}"):
        read_run_json(run / "metrics.json")


def test_a_missing_run_file_names_the_run(tmp_path: Path) -> None:
    with pytest.raises(RunFileError, match="run abc123: metrics.json is unreadable"):
        read_run_json(tmp_path / "abc123" / "metrics.json")


def test_a_good_run_file_reads(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text('{"test_accuracy": 0.75}')
    assert read_run_json(tmp_path / "metrics.json") == {"test_accuracy": 0.75}


@pytest.mark.parametrize("value", ["high", True, float("nan"), [0.5]])
def test_a_metric_that_is_not_a_finite_number_is_refused(value) -> None:
    with pytest.raises(RunFileError, match="run x: metrics.json: test_accuracy is"):
        require_numbers({"test_accuracy": value}, ["test_accuracy"], where="run x: metrics.json")


def test_numbers_and_nulls_pass() -> None:
    require_numbers({"test_accuracy": 0.5, "best_epoch": 3, "n_dev": None}, ["test_accuracy", "best_epoch", "n_dev", "absent"], where="w")

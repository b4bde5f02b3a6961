"""The multi-process tests' spawn helper: a rank killed by a signal is started again once; errors are not."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import torch.multiprocessing as mp

from tests.conftest import spawn_ranks


def _abort_first_time(rank: int, marker: str) -> None:
    """Rank 1 aborts (SIGABRT) unless the marker exists; every rank that survives writes its file."""
    if rank == 1 and not Path(marker).exists():
        Path(marker).touch()
        os.kill(os.getpid(), signal.SIGABRT)
    Path(f"{marker}.{rank}").touch()


def _raise(rank: int, marker: str) -> None:
    raise ValueError("a worker's own error")


def test_a_rank_killed_by_a_signal_is_started_again_once(tmp_path):
    calls = []

    def make_args() -> tuple:
        calls.append(1)
        return (str(tmp_path / "aborted"),)

    with pytest.warns(UserWarning, match="SIGABRT"):
        spawn_ranks(_abort_first_time, make_args)
    assert len(calls) == 2  # fresh arguments for the second start
    assert (tmp_path / "aborted.0").exists() and (tmp_path / "aborted.1").exists()


def test_a_worker_exception_is_not_retried(tmp_path):
    calls = []

    def make_args() -> tuple:
        calls.append(1)
        return (str(tmp_path / "raised"),)

    with pytest.raises(mp.ProcessRaisedException, match="a worker's own error"):
        spawn_ranks(_raise, make_args)
    assert len(calls) == 1

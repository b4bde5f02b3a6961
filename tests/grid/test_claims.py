"""Claims: one holder at a time, stale claims taken over, and a claim released only by its owner."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import pytest

from noisebench.grid import claims
from noisebench.grid.claims import claim, is_claimed, is_stale


@pytest.fixture(autouse=True)
def quick_takeover(monkeypatch) -> None:
    monkeypatch.setattr(claims, "TAKEOVER_SETTLE_S", 0.01)


def token_of(lock: Path) -> str:
    return json.loads(lock.read_text())["token"]


def make_stale(lock: Path) -> None:
    """Backdate the claim file as if its owner had stopped heartbeating long ago."""
    old = time.time() - claims.STALE_AFTER_S - 60
    os.utime(lock, (old, old))


def test_a_held_claim_records_its_owner_and_refuses_a_second_taker(tmp_path):
    lock = tmp_path / "locks" / "run.lock"
    with claim(lock) as mine:
        assert mine and is_claimed(lock)
        owner = json.loads(lock.read_text())
        assert owner["host"] == socket.gethostname() and owner["pid"] == os.getpid()
        assert len(owner["token"]) == 32
        with claim(lock) as second:
            assert not second
        assert token_of(lock) == owner["token"]  # the refused taker left the claim alone
    assert not lock.exists()
    assert list(lock.parent.iterdir()) == []  # no private claim files left behind


def test_concurrent_takers_get_exactly_one_claim(tmp_path):
    lock = tmp_path / "run.lock"
    n = 8
    start, hold = threading.Barrier(n), threading.Barrier(n)
    results: list[bool] = []

    def worker() -> None:
        start.wait()
        with claim(lock) as mine:
            results.append(mine)
            hold.wait()  # nobody releases before everyone has tried

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * (n - 1) + [True]
    assert not lock.exists()


def test_releasing_a_claim_taken_over_keeps_the_new_owners_claim(tmp_path):
    lock = tmp_path / "run.lock"
    with ExitStack() as worker_b:
        worker_a = ExitStack()
        assert worker_a.enter_context(claim(lock))
        token_a = token_of(lock)
        make_stale(lock)  # worker A froze: no heartbeat for longer than STALE_AFTER_S
        assert is_stale(lock)
        assert worker_b.enter_context(claim(lock))
        token_b = token_of(lock)
        assert token_b != token_a

        worker_a.close()  # A wakes up and leaves its block

        assert lock.exists() and token_of(lock) == token_b
        assert is_claimed(lock)
    assert not lock.exists()  # B, the owner, does release it
    assert list(tmp_path.iterdir()) == []


def test_the_heartbeat_refreshes_our_own_claim(tmp_path, monkeypatch):
    monkeypatch.setattr(claims, "HEARTBEAT_S", 0.01)
    lock = tmp_path / "run.lock"
    with claim(lock) as mine:
        assert mine
        make_stale(lock)
        deadline = time.monotonic() + 5.0
        while is_stale(lock) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not is_stale(lock)


def test_the_heartbeat_stops_touching_a_claim_that_is_no_longer_ours(tmp_path, monkeypatch):
    monkeypatch.setattr(claims, "HEARTBEAT_S", 0.01)
    lock = tmp_path / "run.lock"
    with claim(lock) as mine:
        assert mine
        # another machine took the claim over (its file replaces ours) and its mtime is old
        other = tmp_path / "other.json"
        other.write_text(json.dumps({"host": "elsewhere", "pid": 1, "since": 0, "token": "b" * 32}))
        os.replace(other, lock)
        make_stale(lock)
        backdated = lock.stat().st_mtime
        time.sleep(0.2)  # many heartbeat periods
        assert lock.stat().st_mtime == backdated
    assert token_of(lock) == "b" * 32  # and leaving the block did not delete it


def test_a_claim_of_a_live_owner_is_not_stale_until_its_heartbeat_stops(tmp_path):
    lock = tmp_path / "run.lock"
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": 0, "token": "a" * 32}))
    assert not is_stale(lock)
    with claim(lock) as mine:
        assert not mine
    assert token_of(lock) == "a" * 32
    make_stale(lock)
    assert is_stale(lock)


def test_a_stale_claim_without_a_token_is_taken_over(tmp_path):
    lock = tmp_path / "run.lock"
    lock.write_text(json.dumps({"host": "elsewhere", "pid": 1, "since": 0}))  # written by an older version
    make_stale(lock)
    with claim(lock) as mine:
        assert mine and json.loads(lock.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_an_unreadable_claim_file_is_stale(tmp_path):
    lock = tmp_path / "run.lock"
    lock.write_text("{not json")
    assert is_stale(lock)
    with claim(lock) as mine:
        assert mine
    assert not lock.exists()

"""Claims: a lock file per run (or artifact) so two workers, shards or machines never do it at once.

A claim is a file created with O_CREAT | O_EXCL (atomic on local and NFS v3+ file systems) holding
the owner's host and pid. While held, a background thread touches it every ``HEARTBEAT_S``
seconds; a claim whose file has not been touched for ``STALE_AFTER_S`` seconds, or whose owner is a
dead process on this host, is stale and may be taken over (a worker killed by SIGKILL or by Slurm
leaves such a file behind).
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0


def _owner() -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time()}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(lock: Path, *, stale_after_s: float = STALE_AFTER_S) -> bool:
    """Whether an existing claim was abandoned (dead owner on this host, or no heartbeat for a while)."""
    try:
        owner = json.loads(lock.read_text())
        age = time.time() - lock.stat().st_mtime
    except (OSError, ValueError):
        return True  # vanished or half-written claim file: abandoned by a killed writer
    if owner.get("host") == socket.gethostname() and not _pid_alive(int(owner.get("pid", -1))):
        return True
    return age > stale_after_s


def is_claimed(lock: Path) -> bool:
    return lock.exists() and not is_stale(lock)


def _try_create(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        json.dump(_owner(), handle)
    return True


def _heartbeat(lock: Path, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        try:
            os.utime(lock)
        except OSError:
            return


@contextmanager
def claim(lock: Path) -> Iterator[bool]:
    """Try to take ``lock``; yield True if this process now holds it, False if someone else does."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    taken = _try_create(lock)
    if not taken and is_stale(lock):
        # Replace the stale claim by renaming our own fresh claim file over it (atomic).
        owner = _owner()
        mine = lock.with_name(f".{lock.name}.{os.getpid()}.new")
        mine.write_text(json.dumps(owner))
        try:
            if is_stale(lock):
                os.replace(mine, lock)
                time.sleep(0.2)  # let a concurrent taker's rename land, then see who won
                taken = json.loads(lock.read_text()) == owner
        finally:
            mine.unlink(missing_ok=True)
    if not taken:
        yield False
        return
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lock, stop), daemon=True)
    beat.start()
    try:
        yield True
    finally:
        stop.set()
        beat.join()
        lock.unlink(missing_ok=True)

"""Claims: a lock file per run (or artifact) so two workers, shards or machines never do it at once.

A claim is a small JSON file holding its owner's host, pid, start time and a random ``token``. It
is written complete under a private name and hard-linked to the lock path, which fails if the path
exists (atomic on local and NFS v3+ file systems), so nobody ever reads a half-written claim. While
held, a background thread touches it every ``HEARTBEAT_S`` seconds; a claim whose file has not been
touched for ``STALE_AFTER_S`` seconds, or whose owner is a dead process on this host, is stale and
may be taken over (a worker killed by SIGKILL or by Slurm leaves such a file behind).

Only the owner releases a claim: a worker that was frozen long enough for its claim to be taken
over must neither delete nor refresh the new owner's file. The heartbeat checks the token on the
file it opened and touches that very file; the release first renames the lock to a private name,
checks the token there, and deletes it only if it is ours (otherwise it puts it back).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HEARTBEAT_S = 30.0
STALE_AFTER_S = 300.0
TAKEOVER_SETTLE_S = 0.2  # how long a taker waits for a concurrent taker's rename before checking who won


def _owner(token: str) -> dict[str, Any]:
    return {"host": socket.gethostname(), "pid": os.getpid(), "since": time.time(), "token": token}


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_token(lock: Path) -> str | None:
    """The token in a claim file; None if it is missing, unreadable or has none."""
    try:
        return json.loads(lock.read_text()).get("token")
    except (OSError, ValueError, AttributeError):
        return None


def is_stale(lock: Path, *, stale_after_s: float = STALE_AFTER_S) -> bool:
    """Whether an existing claim was abandoned (dead owner on this host, or no heartbeat for a while)."""
    try:
        owner = json.loads(lock.read_text())
        age = time.time() - lock.stat().st_mtime
    except (OSError, ValueError):
        return True  # vanished or unreadable claim file
    if owner.get("host") == socket.gethostname() and not _pid_alive(int(owner.get("pid", -1))):
        return True
    return age > stale_after_s


def is_claimed(lock: Path) -> bool:
    return lock.exists() and not is_stale(lock)


def _private_name(lock: Path, token: str, suffix: str) -> Path:
    return lock.with_name(f".{lock.name}.{token}.{suffix}")


def _try_create(lock: Path, token: str) -> bool:
    """Create the claim file complete, or return False if the lock path exists."""
    mine = _private_name(lock, token, "new")
    mine.write_text(json.dumps(_owner(token)))
    try:
        os.link(mine, lock)
        return True
    except FileExistsError:
        return False
    except OSError:  # a file system without hard links: fall back to O_EXCL (a brief empty file)
        return _try_create_exclusive(lock, token)
    finally:
        mine.unlink(missing_ok=True)


def _try_create_exclusive(lock: Path, token: str) -> bool:
    try:
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        json.dump(_owner(token), handle)
    return True


def _take_over(lock: Path, token: str) -> bool:
    """Replace a stale claim by renaming our own fresh claim file over it; True if ours survived."""
    mine = _private_name(lock, token, "new")
    mine.write_text(json.dumps(_owner(token)))
    try:
        if not is_stale(lock):
            return False
        os.replace(mine, lock)
    finally:
        mine.unlink(missing_ok=True)
    time.sleep(TAKEOVER_SETTLE_S)  # let a concurrent taker's rename land, then see who won
    return _read_token(lock) == token


def _touch_if_mine(lock: Path, token: str) -> bool:
    """Refresh the claim's mtime if the file at ``lock`` is still ours; False once it is not.

    The token is read from and the time set on the same open file, so a claim that replaced ours
    after the check is never touched.
    """
    try:
        with open(lock, "rb") as handle:
            if json.loads(handle.read()).get("token") != token:
                return False
            if os.utime in os.supports_fd:
                os.utime(handle.fileno())
            else:
                os.utime(lock)
    except (OSError, ValueError, AttributeError):
        return False
    return True


def _heartbeat(lock: Path, token: str, stop: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_S):
        if not _touch_if_mine(lock, token):
            log.warning("claim %s is no longer ours; heartbeat stopped", lock)
            return


def _release(lock: Path, token: str) -> None:
    """Delete the claim file if it is ours; leave anyone else's in place.

    The lock is first renamed to a private name, so the file whose token we check is the file we
    delete. If it is not ours (our claim was taken over while we were frozen), it is hard-linked
    back, which never overwrites a claim created in the instant the path was empty; in that
    unlikely case the newer claim wins and the displaced one is dropped.
    """
    aside = _private_name(lock, token, "release")
    try:
        os.replace(lock, aside)
    except FileNotFoundError:
        return
    if _read_token(aside) == token:
        aside.unlink(missing_ok=True)
        return
    log.warning("claim %s was taken over by another worker; leaving it to its owner", lock)
    try:
        os.link(aside, lock)
    except FileExistsError:
        log.warning("claim %s was re-created while being put back; the newer claim wins", lock)
    except OSError:  # no hard links on this file system
        os.replace(aside, lock)
        return
    aside.unlink(missing_ok=True)


@contextmanager
def claim(lock: Path) -> Iterator[bool]:
    """Try to take ``lock``; yield True if this process now holds it, False if someone else does."""
    lock.parent.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex
    taken = _try_create(lock, token) or (is_stale(lock) and _take_over(lock, token))
    if not taken:
        yield False
        return
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(lock, token, stop), daemon=True)
    beat.start()
    try:
        yield True
    finally:
        stop.set()
        beat.join()
        _release(lock, token)

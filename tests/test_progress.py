"""progress_bar(): tqdm on a terminal, throttled in a log. Real child processes, stderr a pipe or a pseudo-terminal."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time

import pytest

CHILD = """
import sys, time
from {module} import {factory} as bar_of
start = time.perf_counter()
bar = bar_of(total=1000, desc="steps", leave=False{extra})
for _ in range(1000):
    time.sleep(0.001)
    bar.update(1)
bar.close()
print(time.perf_counter() - start)
"""

OURS = {"module": "noisebench.progress", "factory": "progress_bar"}
PLAIN_TQDM = {"module": "tqdm.auto", "factory": "tqdm"}


def child_code(module: str, factory: str, extra: str = "") -> str:
    return CHILD.format(module=module, factory=factory, extra=extra)


def run_with_pipe(code: str) -> tuple[str, float]:
    """stderr as a pipe (not a TTY); returns stderr as written (no newline translation) and the child's loop time in seconds."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120, check=True)
    return done.stderr.decode(), float(done.stdout)


def run_with_pty(code: str) -> str:
    """stderr as a pseudo-terminal; returns everything written to it.

    The parent keeps the follower end open until the child exits (reading a pty whose follower has
    no other holder fails with EIO on some kernels), reading whatever is ready meanwhile.
    """
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))  # a new pty is 0 columns wide: tqdm would draw nothing
    chunks = []

    def drain(wait_s: float) -> None:
        while select.select([leader], [], [], wait_s)[0]:
            chunks.append(os.read(leader, 65536))
            wait_s = 0.0

    try:
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=follower)
        deadline = time.monotonic() + 120
        while child.poll() is None and time.monotonic() < deadline:
            drain(0.05)
        assert child.wait(timeout=1) == 0
        drain(0.0)
    finally:
        os.close(follower)
        os.close(leader)
    return b"".join(chunks).decode(errors="replace")


def refreshes(text: str) -> int:
    """How many times a bar was drawn: every drawing starts with its description."""
    return text.count("steps:")


def test_plain_tqdm_in_a_log_writes_many_updates():
    """The harness can see the problem: tqdm.auto redraws ~10 times a second into a pipe."""
    stderr, _ = run_with_pipe(child_code(**PLAIN_TQDM))
    assert refreshes(stderr) >= 5


def test_progress_in_a_log_writes_first_and_final_state_only():
    stderr, _ = run_with_pipe(child_code(**OURS))
    assert 1 <= refreshes(stderr) <= 3
    assert stderr.count("\n") == 1, "the final state is kept as one line"
    assert "1000/1000" in stderr.splitlines()[-1]


def test_progress_in_a_log_refreshes_at_most_once_per_interval():
    interval_s = 0.25
    stderr, loop_s = run_with_pipe(child_code(**OURS, extra=f", log_interval_s={interval_s}"))
    assert refreshes(stderr) <= loop_s / interval_s + 3  # first state, one per interval, final state


def test_progress_on_a_terminal_updates_live():
    written = run_with_pty(child_code(**OURS))
    assert refreshes(written) >= 5


def test_disabled_progress_writes_nothing():
    stderr, _ = run_with_pipe(child_code(**OURS, extra=", disable=True"))
    assert refreshes(stderr) == 0


def test_progress_without_stderr_is_disabled(monkeypatch: pytest.MonkeyPatch):
    from noisebench.progress import progress_bar

    monkeypatch.setattr(sys, "stderr", None)
    bar = progress_bar(range(3))
    assert bar.disable
    assert list(bar) == [0, 1, 2]

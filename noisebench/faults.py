"""Crash points for the kill/resume reliability test: ``NOISEBENCH_CRASH_AT=<point>`` SIGKILLs the process there.

Points: ``artifact-write``, ``run-write``, ``table-write`` (just before the atomic rename of each),
and ``train-step`` (after the first optimisation step of a run). ``NOISEBENCH_CRASH_AT=<point>:<k>``
crashes at the k-th time the point is reached (1-based) in this process. Unset, this costs one
dictionary look-up per call.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

_hits: Counter = Counter()


def crash_point(name: str) -> None:
    """SIGKILL this process if the environment asks for a crash at ``name`` (tests only)."""
    wanted = os.environ.get("NOISEBENCH_CRASH_AT")
    if not wanted:
        return
    point, _, count = wanted.partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)

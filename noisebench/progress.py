"""Progress bars: live on a terminal, a few lines in a log (stderr redirected to a file or a pipe).

``progress_bar(...)`` takes tqdm's arguments and returns a tqdm bar. Where its stream is a terminal (or
a notebook) it is exactly ``tqdm.auto.tqdm``. Elsewhere, say a grid worker's log or a CI job, a
bar refreshing ten times a second would write thousands of carriage-return updates into the file,
so it refreshes at most once every ``log_interval_s`` seconds (the first state, then at most one
update per interval, then the final state) and keeps its last state as a line when it closes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import IO, Any

import tqdm.auto
import tqdm.autonotebook
import tqdm.std

LOG_INTERVAL_S = 30.0
"""Default: at most one progress update per this many seconds in a log."""


def progress_bar(iterable: Iterable[Any] | None = None, *, file: IO[str] | None = None, log_interval_s: float = LOG_INTERVAL_S, **kwargs: Any) -> tqdm.std.tqdm:
    """A tqdm bar over ``iterable`` (or one updated by hand), throttled when it writes to a log.

    Args:
        iterable: what to iterate over, as for ``tqdm``; None for a bar driven by ``update``.
        file: the stream the bar writes to; ``sys.stderr`` (as it is at call time) by default.
        log_interval_s: where ``file`` is not a terminal, the least time between two updates.
        **kwargs: any ``tqdm`` argument (``total``, ``desc``, ``unit``, ``disable``, ``leave``, ...).
            In a log, ``mininterval``/``maxinterval`` are ``log_interval_s`` and ``leave`` is True:
            clearing a line means nothing in a file, and the last state is the run's summary.

    Returns:
        ``tqdm.auto.tqdm`` on a terminal or in a notebook, ``tqdm.std.tqdm`` otherwise.
    """
    stream = sys.stderr if file is None else file
    if stream is None:  # no stderr at all (pythonw, some daemons)
        return tqdm.std.tqdm(iterable, **{**kwargs, "disable": True})
    if _is_terminal(stream) or _in_notebook():
        return tqdm.auto.tqdm(iterable, file=stream, **kwargs)
    throttled = {"mininterval": log_interval_s, "maxinterval": log_interval_s, "leave": True}
    return tqdm.std.tqdm(iterable, file=stream, **{**kwargs, **throttled})


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _in_notebook() -> bool:
    """Whether ``tqdm.auto`` chose its notebook widget (a kernel's stderr is not a TTY, yet is live)."""
    return tqdm.autonotebook.tqdm is not tqdm.std.tqdm

"""Progress bars: live on a terminal, a few lines in a log (stderr redirected to a file or a pipe).

``progress_bar(...)`` takes tqdm's arguments and returns a tqdm bar. Where its stream is a terminal (or
a notebook) it is exactly ``tqdm.auto.tqdm``. Elsewhere, say a grid worker's log or a CI job, a
bar refreshing ten times a second would write thousands of carriage-return updates into the file,
so it refreshes at most once every ``log_interval_s`` seconds (nothing for the first interval, then at
most one update per interval) and keeps its final state as a line when it closes.

A command that fails calls :func:`close_open_bars` before printing its error: a bar on a terminal is
closed (its line cleared, or kept and ended), a bar in a log stays silent if it has not yet shown
anything (a short command that fails leaves only its error line in the log) or ends its line if it has,
so the error always starts on a line of its own.
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
    throttled = {"mininterval": log_interval_s, "maxinterval": log_interval_s, "delay": log_interval_s, "leave": True}
    return _LogBar(iterable, file=stream, **{**kwargs, **throttled})


class _LogBar(tqdm.std.tqdm):
    """A bar in a log: silent for its first interval (``delay``), its final state on a normal close, no
    final state when abandoned (a failed command)."""

    def close(self) -> None:
        self.delay = 0  # a short bar that ends normally still leaves its final state as the summary line
        super().close()

    def abandon(self) -> None:
        """Close without drawing the final state; end the line if the bar has drawn one."""
        if self.disable:
            return
        shown = hasattr(self, "last_print_t") and self.last_print_t >= self.start_t + self.delay
        self.disable = True
        self._decr_instances(self)
        if shown:
            self.fp.write("\n")
            self.fp.flush()


def close_open_bars() -> None:
    """Close every bar still open in this process (a command failed), innermost first, before its error line."""
    bars = sorted(list(tqdm.std.tqdm._instances), key=lambda bar: -abs(getattr(bar, "pos", 0)))
    for bar in bars:
        try:
            bar.abandon() if isinstance(bar, _LogBar) else bar.close()
        except (OSError, ValueError):  # its stream is gone or closed: nothing to tidy up
            pass


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _in_notebook() -> bool:
    """Whether ``tqdm.auto`` chose its notebook widget (a kernel's stderr is not a TTY, yet is live)."""
    return tqdm.autonotebook.tqdm is not tqdm.std.tqdm

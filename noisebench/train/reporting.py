"""``report_to``: the callback that sends a run's numbers to the trackers it names (noisebench.trackers).

It only reads what the loop and the callbacks before it computed (each step's loss, each epoch's history
row, the final metrics), so a run's results and run_id are the same with or without it. Only the process
that publishes the run (rank 0 of a data-parallel run) reports.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from noisebench.schema import RunConfig
from noisebench.trackers import get_tracker
from noisebench.trackers.base import EPOCH_PREFIX, FINAL_PREFIX, STEP_LOSS, Axis, TrackedRun, Tracker, scalars
from noisebench.train.callbacks import Callback, EpochState

FINAL_SKIPPED = ("history",)


class Reporter(Callback):
    """Each optimiser step's loss, each epoch's history row and the final metrics, to every open tracker."""

    def __init__(self, trackers: list[Tracker]) -> None:
        self.trackers = trackers
        self.step = 0

    def on_step_end(self, loss: float) -> None:
        self.step += 1
        self._log(scalars({STEP_LOSS: loss}, ""), axis="step", step=self.step)

    def on_epoch_end(self, state: EpochState) -> None:
        self._log(scalars(state.record, EPOCH_PREFIX, skip=("epoch",)), axis="epoch", step=state.epoch)

    def _log(self, values: dict[str, float], *, axis: Axis, step: int) -> None:
        for tracker in self.trackers:
            tracker.log(values, axis=axis, step=step)

    def finish(self, metrics: dict[str, Any]) -> dict[str, Path]:
        """Record the final metrics and close every tracker; the folders to publish inside the run directory."""
        final = scalars(metrics, FINAL_PREFIX, skip=FINAL_SKIPPED)
        for tracker in self.trackers:
            tracker.summarise(final)
        folders = {name: folder for tracker in self.trackers for name, folder in tracker.folders().items()}
        self.close(failed=False)
        return folders

    def close(self, *, failed: bool) -> None:
        """End every tracker's run, once (a later call does nothing)."""
        trackers, self.trackers = self.trackers, []
        for tracker in trackers:
            tracker.close(failed=failed)


@contextmanager
def open_reporter(report_to: Sequence[str], config: RunConfig, *, grid: str | None, enabled: bool) -> Iterator[Reporter]:
    """A reporter to the named trackers (none unless ``enabled``); every tracker is closed as failed if the body raises."""
    run = TrackedRun(config, grid)
    reporter = Reporter([])
    try:
        for name in report_to if enabled else ():
            reporter.trackers.append(get_tracker(name)(run))
        yield reporter
    except BaseException:
        reporter.close(failed=True)
        raise

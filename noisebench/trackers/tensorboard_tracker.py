"""``tensorboard``: event files published inside the run directory (``runs/<run_id>/tb/``).

The events are written to a temporary folder while the run trains; the run's publication moves that folder
into the run directory (:func:`noisebench.store.runs.write_done`), so event files appear with the run,
atomically, and a failed run leaves none. ``tensorboard --logdir <results>/runs`` shows every run.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

from noisebench.store.layout import TENSORBOARD_DIR
from noisebench.trackers.base import Axis, TrackedRun, Tracker


class TensorBoardTracker(Tracker):
    name: ClassVar[str] = "tensorboard"
    package: ClassVar[str] = "tensorboard"
    extra: ClassVar[str] = "tensorboard"
    description: ClassVar[str] = "TensorBoard event files in the run directory (tb/)"

    def __init__(self, run: TrackedRun) -> None:
        from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package

        self.folder = Path(tempfile.mkdtemp(prefix=f"noisebench-{run.run_id}-{TENSORBOARD_DIR}-"))
        self.writer = SummaryWriter(log_dir=str(self.folder))
        self.last_epoch = 0
        rows = "\n".join(f"| {key} | {value} |" for key, value in {**run.tags, **run.params}.items())
        self.writer.add_text("config", f"| key | value |\n|---|---|\n{rows}")

    def log(self, scalars: dict[str, float], *, axis: Axis, step: int) -> None:
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, step)
        if axis == "epoch":
            self.last_epoch = step

    def summarise(self, scalars: dict[str, float]) -> None:
        for key, value in scalars.items():
            self.writer.add_scalar(key, value, self.last_epoch)

    def close(self, *, failed: bool) -> None:
        self.writer.close()
        if failed:
            shutil.rmtree(self.folder, ignore_errors=True)

    def folders(self) -> dict[str, Path]:
        return {TENSORBOARD_DIR: self.folder}

"""``wandb``: one Weights & Biases run per noisebench run; ``WANDB_MODE=offline`` works without an account.

W&B reads its own environment (``WANDB_MODE``, ``WANDB_DIR``, ``WANDB_ENTITY``, ``WANDB_API_KEY``). The project
is ``WANDB_PROJECT`` when set, else ``noisebench``; the group is the grid's name; the W&B run is named by the
run_id and tagged with it (and the grid). Step metrics are plotted against ``optimizer_step``, epoch metrics
against ``epoch``; the final numbers go to the run's summary.
"""

from __future__ import annotations

import os
from typing import ClassVar

from noisebench.trackers.base import EPOCH_AXIS, EPOCH_PREFIX, STEP_LOSS, Axis, TrackedRun, Tracker

DEFAULT_PROJECT = "noisebench"
STEP_METRIC = "optimizer_step"


class WandbTracker(Tracker):
    name: ClassVar[str] = "wandb"
    package: ClassVar[str] = "wandb"
    extra: ClassVar[str] = "wandb"
    description: ClassVar[str] = "one W&B run per run (WANDB_MODE=offline: no account; group: the grid's name)"

    def __init__(self, run: TrackedRun) -> None:
        import wandb

        self.run = wandb.init(
            project=os.environ.get("WANDB_PROJECT") or DEFAULT_PROJECT, group=run.grid, name=run.run_id,
            tags=list(run.tags.values()), config={**run.params, **run.tags}, reinit="create_new",
        )
        self.run.define_metric(STEP_METRIC)
        self.run.define_metric(STEP_LOSS, step_metric=STEP_METRIC)
        self.run.define_metric(EPOCH_AXIS)
        self.run.define_metric(f"{EPOCH_PREFIX}*", step_metric=EPOCH_AXIS)

    def log(self, scalars: dict[str, float], *, axis: Axis, step: int) -> None:
        self.run.log({**scalars, (EPOCH_AXIS if axis == EPOCH_AXIS else STEP_METRIC): step})

    def summarise(self, scalars: dict[str, float]) -> None:
        self.run.summary.update(scalars)

    def close(self, *, failed: bool) -> None:
        self.run.finish(exit_code=1 if failed else 0)

"""``mlflow``: one MLflow run per noisebench run, where ``MLFLOW_TRACKING_URI`` points (MLflow's default otherwise).

The experiment is ``MLFLOW_EXPERIMENT_ID`` or ``MLFLOW_EXPERIMENT_NAME`` when set, else the grid's name,
else MLflow's default experiment. The MLflow run is named by the run_id and tagged ``noisebench.run_id``
(and ``noisebench.grid``); its params are the flattened run config. Step losses are sent once per epoch,
in batches, so a remote server is not called every step.
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar

from noisebench.trackers.base import Axis, TrackedRun, Tracker

BATCH = 100
"""Params or metrics per ``log_batch`` call (MLflow accepts at most 100 params and 1000 metrics in one)."""
DEFAULT_EXPERIMENT_ID = "0"


class MlflowTracker(Tracker):
    name: ClassVar[str] = "mlflow"
    package: ClassVar[str] = "mlflow"
    extra: ClassVar[str] = "mlflow"
    description: ClassVar[str] = "one MLflow run per run, at MLFLOW_TRACKING_URI (experiment: the grid's name)"

    def __init__(self, run: TrackedRun) -> None:
        from mlflow.entities import Param
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient()
        experiment_id = _experiment_id(self.client, run.grid)
        self.run_id = self.client.create_run(experiment_id, run_name=run.run_id, tags=run.tags).info.run_id
        self.pending: list[Any] = []
        params = [Param(key, str(value)) for key, value in run.params.items()]
        for start in range(0, len(params), BATCH):
            self.client.log_batch(self.run_id, params=params[start:start + BATCH])

    def log(self, scalars: dict[str, float], *, axis: Axis, step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        self.pending.extend(Metric(key, value, now, step) for key, value in scalars.items())
        if axis == "epoch":
            self._flush()

    def summarise(self, scalars: dict[str, float]) -> None:
        self.log(scalars, axis="epoch", step=0)

    def close(self, *, failed: bool) -> None:
        self._flush()
        self.client.set_terminated(self.run_id, "FAILED" if failed else "FINISHED")

    def _flush(self) -> None:
        for start in range(0, len(self.pending), BATCH):
            self.client.log_batch(self.run_id, metrics=self.pending[start:start + BATCH])
        self.pending = []


def _experiment_id(client: Any, grid: str | None) -> str:
    """The environment's experiment, else the grid's (created when missing), else MLflow's default."""
    if os.environ.get("MLFLOW_EXPERIMENT_ID"):
        return os.environ["MLFLOW_EXPERIMENT_ID"]
    name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or grid
    if not name:
        return DEFAULT_EXPERIMENT_ID
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    from mlflow.exceptions import MlflowException

    try:
        return client.create_experiment(name)
    except MlflowException:  # another worker of the grid created it first
        return client.get_experiment_by_name(name).experiment_id

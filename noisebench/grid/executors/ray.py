"""``ray``: each run a Ray task with its CPUs and (fractional) GPUs, on a Ray cluster or a local instance.

Connects to ``executor.address`` or ``RAY_ADDRESS`` when given; otherwise starts a light local instance
(``--jobs`` x ``num_cpus_per_run`` CPUs, no dashboard, a small object store) and shuts it down after.
Each task runs the runner's execute_one, so claims, DONE-skipping and resume are those of every executor.
Data-parallel runs (``gpus_per_run`` > 1) are not built for Ray yet: use submitit.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from noisebench.errors import ConfigError
from noisebench.grid.executors.base import (
    Dispatch,
    Executor,
    ExecutorOptions,
    lost_outcome,
)
from noisebench.schema import Name, NonNegativeFloat, PositiveFloat

if TYPE_CHECKING:
    from noisebench.schema import RunConfig

log = logging.getLogger(__name__)

OBJECT_STORE_BYTES = 100 * 1024**2
"""A local instance's object store: tasks pass configs and outcome strings only."""


class RayOptions(ExecutorOptions):
    """Resources of each run's Ray task, and where the cluster is (None: ``RAY_ADDRESS``, else a local instance)."""

    num_cpus_per_run: PositiveFloat = 1.0
    num_gpus_per_run: NonNegativeFloat = 0.0
    address: Name | None = None


def _execute(config: RunConfig, results_dir: Path, data_dir: Path | None, threads: int, report_to: tuple[str, ...] = (), grid: str | None = None) -> str:
    """One run inside a Ray task."""
    import torch

    from noisebench.grid.runner import execute_one

    torch.set_num_threads(threads)
    return execute_one(config, results_dir, data_dir=data_dir, report_to=report_to, grid=grid)


def _forwarded_environment() -> dict[str, str]:
    """noisebench's own variables (plugins, tasks files, asset and data folders) and the trackers' (MLflow's,
    W&B's) for workers on another machine."""
    return {k: v for k, v in os.environ.items() if k.startswith(("NOISEBENCH_", "MLFLOW_", "WANDB_"))}


class RayExecutor(Executor):
    name = "ray"
    description = "each run a Ray task (num_cpus_per_run, fractional num_gpus_per_run) on RAY_ADDRESS / executor.address, else a local instance (--jobs tasks)"
    Options = RayOptions

    def check(self, options: ExecutorOptions, dispatch: Dispatch) -> None:
        if options.gpus_per_run > 1:
            raise ConfigError(
                f"executor.gpus_per_run {options.gpus_per_run}: data-parallel runs are not built for the ray executor yet; "
                "use --executor submitit (num_gpus_per_run sets each run's share of one GPU)"
            )

    def run(self, todo: list[RunConfig], options: ExecutorOptions, dispatch: Dispatch) -> dict[str, str]:
        if not todo:
            return {}
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray executor needs Ray: pip install 'noisebench[ray]'") from None
        started = self._connect(ray, options, dispatch)
        try:
            threads = max(1, int(options.num_cpus_per_run))
            task = ray.remote(num_cpus=options.num_cpus_per_run, num_gpus=options.num_gpus_per_run, max_retries=0)(_execute)
            refs = {task.remote(c, dispatch.results_dir, dispatch.data_dir, threads, dispatch.report_to, dispatch.grid): c for c in todo}
            outcomes: dict[str, str] = {}
            pending = list(refs)
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                for ref in ready:
                    config = refs[ref]
                    try:
                        outcome = ray.get(ref)
                    except Exception as error:  # noqa: BLE001 - the task's worker died (OOM, node lost)
                        log.error("ray task for run %s failed: %s", config.run_id, error)
                        outcome = lost_outcome(config, dispatch.results_dir)
                    outcomes[config.run_id] = outcome
                    dispatch.report(config.run_id, outcome)
            return outcomes
        finally:
            if started:
                ray.shutdown()

    @staticmethod
    def _connect(ray, options: RayOptions, dispatch: Dispatch) -> bool:
        """Connect (or start a local instance); False when this process was already connected (then it stays so)."""
        if ray.is_initialized():
            return False
        address = options.address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False, runtime_env={"env_vars": _forwarded_environment()})
            return True
        ray.init(
            num_cpus=max(1, round(dispatch.jobs * options.num_cpus_per_run)), include_dashboard=False,
            object_store_memory=OBJECT_STORE_BYTES, log_to_driver=False, configure_logging=False,
        )
        gpus = ray.cluster_resources().get("GPU", 0)
        if options.num_gpus_per_run > gpus:
            ray.shutdown()
            raise ConfigError(f"executor.num_gpus_per_run {options.num_gpus_per_run:g}: this machine's Ray instance has {gpus:g} GPUs")
        return True

    def concurrency(self, todo: list[RunConfig], options: ExecutorOptions, dispatch: Dispatch) -> int:
        return min(dispatch.jobs, len(todo))

"""``submitit``: Slurm job arrays through submitit (its local cluster without Slurm), data-parallel runs included."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Field, model_validator

from noisebench.grid.executors.base import (
    Dispatch,
    Executor,
    ExecutorOptions,
    lost_outcome,
)
from noisebench.schema import Name, PositiveInt

if TYPE_CHECKING:
    from noisebench.schema import RunConfig

log = logging.getLogger(__name__)


class SubmititOptions(ExecutorOptions):
    """Slurm resources per array task (submitit); also what a grid's ``executor:`` block without ``name`` holds.

    ``gpus_per_run`` K > 1 trains each run data-parallel on K processes (one node, one GPU each,
    ``cpus_per_task`` CPUs each; ``mem_gb`` is the node's).
    """

    partition: Name | None = None
    time_min: PositiveInt = 60
    gpus_per_node: Annotated[int, Field(ge=0)] = 1
    cpus_per_task: PositiveInt = 8
    mem_gb: PositiveInt = 32
    array_parallelism: PositiveInt = 16

    @model_validator(mode="after")
    def _check_gpus(self) -> SubmititOptions:
        if "gpus_per_node" in self.model_fields_set and 0 < self.gpus_per_node < self.gpus_per_run:
            from noisebench.grid.spec import (
                _Invalid,  # the grid loader's error with a location below the block
            )

            raise _Invalid(
                f"{self.gpus_per_node} is fewer than gpus_per_run {self.gpus_per_run}: each process of a run needs its "
                "own GPU (0: CPU nodes, gloo)", "gpus_per_node",
            )
        return self


def submitit_parameters(slurm: dict[str, Any] | ExecutorOptions, *, local: bool) -> dict:
    """submitit's parameters for one job from the grid's executor section: one node, a task per rank of the
    run, and (on Slurm) ``gpus_per_node`` raised to one GPU per rank (0 stays 0: CPU nodes, gloo)."""
    if isinstance(slurm, ExecutorOptions):
        slurm = slurm.model_dump()
    ranks_per_run = slurm.get("gpus_per_run", 1)
    params = {"timeout_min": slurm.get("time_min", 60), "nodes": 1, "tasks_per_node": ranks_per_run}
    if not local:
        gpus = slurm.get("gpus_per_node", 1)
        params.update(
            slurm_partition=slurm.get("partition"), gpus_per_node=gpus and max(gpus, ranks_per_run),
            cpus_per_task=slurm.get("cpus_per_task", 8), mem_gb=slurm.get("mem_gb", 32),
            slurm_array_parallelism=slurm.get("array_parallelism", 16),
        )
    return {k: v for k, v in params.items() if v is not None}


class SubmititExecutor(Executor):
    name = "submitit"
    description = "Slurm job arrays through submitit (its local cluster without Slurm); --gpus-per-run K for data-parallel runs"
    Options = SubmititOptions
    data_parallel = True

    def run(self, todo: list[RunConfig], options: ExecutorOptions, dispatch: Dispatch) -> dict[str, str]:
        """One Slurm array task per run (or, on submitit's local cluster, ``jobs`` jobs sharing the runs); with
        ``gpus_per_run`` K > 1, each job is K tasks on one node (K GPUs, ``cpus_per_task`` each), one rank each."""
        import submitit

        from noisebench.grid.runner import execute_chunk, execute_chunk_data_parallel

        results_dir, data_dir = dispatch.results_dir, dispatch.data_dir
        executor = submitit.AutoExecutor(folder=results_dir / "submitit" / "%j", cluster=dispatch.cluster)
        local = executor.cluster in ("local", "debug")
        executor.update_parameters(**submitit_parameters(options, local=local))
        n_chunks = min(dispatch.jobs, len(todo)) if local else len(todo)
        chunks = [todo[i::n_chunks] for i in range(n_chunks)] if todo else []
        task = execute_chunk if options.gpus_per_run == 1 else execute_chunk_data_parallel
        extra = [[data_dir] * len(chunks), [dispatch.report_to] * len(chunks), [dispatch.grid] * len(chunks)]
        submitted = executor.map_array(task, chunks, [results_dir] * len(chunks), *extra) if chunks else []
        outcomes: dict[str, str] = {}
        pending = list(zip(submitted, chunks))
        while pending:
            still = []
            for job, chunk in pending:
                if not job.done():
                    still.append((job, chunk))
                    continue
                try:
                    result = job.results()[0]  # rank 0's outcomes (every rank returns the same)
                except Exception as error:  # noqa: BLE001 - the job itself died (timeout, preemption, OOM)
                    log.error("submitit job %s failed: %s", job.job_id, error)
                    result = {c.run_id: lost_outcome(c, results_dir) for c in chunk}
                for run_id, status in result.items():
                    outcomes[run_id] = status
                    dispatch.report(run_id, status)
            pending = still
            if pending:
                time.sleep(2.0)
        return outcomes

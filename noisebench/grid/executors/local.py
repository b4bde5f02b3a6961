"""``local``: the runs in a process pool on this machine (``--jobs`` worker processes; 1: in this process)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from noisebench.errors import WorkerDiedError
from noisebench.grid.executors.base import Dispatch, Executor, ExecutorOptions

if TYPE_CHECKING:
    from noisebench.schema import RunConfig


class LocalOptions(ExecutorOptions):
    """No options of its own: --jobs sets the pool's size."""


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


class LocalExecutor(Executor):
    name = "local"
    description = "a process pool on this machine (--jobs workers)"
    Options = LocalOptions

    def run(self, todo: list[RunConfig], options: ExecutorOptions, dispatch: Dispatch) -> dict[str, str]:
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool
        from multiprocessing import get_context

        from noisebench.grid.runner import execute_one

        outcomes: dict[str, str] = {}
        if dispatch.jobs == 1:
            for config in todo:
                outcomes[config.run_id] = execute_one(config, dispatch.results_dir, data_dir=dispatch.data_dir, report_to=dispatch.report_to, grid=dispatch.grid)
                dispatch.report(config.run_id, outcomes[config.run_id])
            return outcomes
        threads = max(1, (os.cpu_count() or 1) // dispatch.jobs)
        with ProcessPoolExecutor(dispatch.jobs, mp_context=get_context("spawn"), initializer=_init_worker, initargs=(threads,)) as pool:
            futures = {
                pool.submit(execute_one, c, dispatch.results_dir, data_dir=dispatch.data_dir, report_to=dispatch.report_to, grid=dispatch.grid): c.run_id
                for c in todo
            }
            try:
                for future in as_completed(futures):
                    outcomes[futures[future]] = future.result()
                    dispatch.report(futures[future], outcomes[futures[future]])
            except BrokenProcessPool as error:
                raise WorkerDiedError(
                    f"a worker process died ({error}); {len(outcomes)} of {len(todo)} runs ended before it, and every "
                    "finished run is kept: run the same command again to resume the rest"
                ) from error
        return outcomes

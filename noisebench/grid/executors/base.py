"""The executor protocol: how a grid's runs are handed to processes, a cluster or a scheduler.

An :class:`Executor` is registered under a ``name`` with a one-line ``description`` and a typed
options block (``Options``, a pydantic model: the grid file's ``executor:`` section). The runner
(:func:`noisebench.grid.runner.run_grid`) picks the runs its shard owns that are not DONE, prepares
their noise artifacts, then hands them to the executor, which

* :meth:`Executor.check` refuses, before any work, what it cannot do with these options;
* :meth:`Executor.run` submits every run, waits, calls ``dispatch.report(run_id, outcome)`` as each
  finishes, and returns every run's outcome (done | skipped | busy | failed).

Each run must be executed by :func:`noisebench.grid.runner.execute_one` (or, data-parallel,
``execute_chunk_data_parallel``) wherever it lands: that is where the claim is taken, a DONE run is
skipped and the run is published atomically, so every executor resumes the same way after a kill.
A run whose worker died without an answer is :func:`lost_outcome`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from noisebench.errors import ConfigError
from noisebench.schema import Name, PositiveInt

if TYPE_CHECKING:
    from noisebench.schema import RunConfig


class ExecutorOptions(BaseModel):
    """The options every executor takes; an executor's own block subclasses this.

    ``name`` is the executor the grid file names (None: not named; then ``--executor`` or ``local``
    chooses). ``gpus_per_run`` K > 1 trains each run data-parallel on K processes, which only some
    executors can do (:attr:`Executor.data_parallel`).
    """

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    name: Name | None = Field(None, exclude=True)
    gpus_per_run: PositiveInt = 1


@dataclass(frozen=True)
class Dispatch:
    """What an executor is handed besides the runs: where they write, and whom to tell as each finishes."""

    results_dir: Path
    data_dir: Path | None = None
    jobs: int = 1
    """--jobs: worker processes (local), concurrent jobs (submitit's local cluster), concurrent tasks (a local Ray instance)."""
    cluster: str | None = None
    """--cluster (submitit: slurm | local | None for auto)."""
    report: Callable[[str, str], None] = lambda run_id, outcome: None
    report_to: tuple[str, ...] = ()
    """Registered trackers (noisebench.trackers) each run also reports to; passed to ``execute_one``."""
    grid: str | None = None
    """The grid's name, for the trackers."""


class Executor(ABC):
    """One way to execute a grid's runs; see the module docstring for the protocol."""

    name: ClassVar[str]
    description: ClassVar[str]
    Options: ClassVar[type[ExecutorOptions]] = ExecutorOptions
    data_parallel: ClassVar[bool] = False
    """Whether it can run ``gpus_per_run`` > 1 (K ranks of one run)."""

    def check(self, options: ExecutorOptions, dispatch: Dispatch) -> None:
        """Refuse (ConfigError) what this executor cannot do with ``options``, before any run starts."""
        if options.gpus_per_run > 1 and not self.data_parallel:
            raise ConfigError(
                f"executor.gpus_per_run {options.gpus_per_run} (data-parallel runs) needs --executor submitit "
                f"(--cluster local to test on this machine); the {self.name} executor runs each run in one process"
            )

    @abstractmethod
    def run(self, todo: list[RunConfig], options: ExecutorOptions, dispatch: Dispatch) -> dict[str, str]:
        """Execute ``todo`` (each under its claim, through the runner's execute_one), report and return each run's outcome."""

    def concurrency(self, todo: list[RunConfig], options: ExecutorOptions, dispatch: Dispatch) -> int:
        """How many runs are expected to run at once (for the progress bar)."""
        return min(dispatch.jobs, len(todo))


def lost_outcome(config: RunConfig, results_dir: Path) -> str:
    """The outcome of a run whose worker, job or task died without answering: done if it got to publish, else failed."""
    from noisebench.store.layout import is_done, run_path

    return "done" if is_done(run_path(results_dir, config)) else "failed"

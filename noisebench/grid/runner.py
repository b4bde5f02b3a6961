"""Execute grid runs into a results directory: shards, claims, a registered executor (grid/executors/), resumable.

Every run is keyed by its run_id. A run that is DONE is skipped; a FAILED or interrupted one is
redone. Each run is executed under a claim (``runs/.locks/<run_id>.lock``), so shards and machines
sharing the results directory never execute a run twice at once, and publishing is an atomic
rename, so a killed worker leaves nothing half-written under a run's name.

With ``gpus_per_run: K > 1`` (submitit only) each job is K tasks on one node, one rank of a
data-parallel run each: rank 0 claims, decides and publishes; the other ranks follow its decisions.
"""

from __future__ import annotations

import logging
import traceback
from collections import Counter
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from noisebench.assets import ASSETS, asset_path
from noisebench.errors import ConfigError
from noisebench.grid.artifacts import ensure_artifact
from noisebench.grid.checks import check_runs, write_artifacts
from noisebench.grid.claims import claim, is_claimed
from noisebench.grid.executors import Dispatch, ExecutorOptions
from noisebench.grid.executors import resolve as resolve_executor
from noisebench.grid.executors.submitit import submitit_parameters  # noqa: F401 - its older import path
from noisebench.grid.torchrun import check_options, run_grid_data_parallel, under_torchrun
from noisebench.methods import get_method
from noisebench.noise.families import noise_label
from noisebench.progress import progress_bar
from noisebench.schema import RunConfig
from noisebench.store.layout import is_done, is_failed, lock_path, run_path
from noisebench.store.runs import write_done, write_failed
from noisebench.store.table import write_results_table
from noisebench.trackers import check_installed

if TYPE_CHECKING:
    from noisebench.train.distributed import Ranks
    from noisebench.train.run import RunOutput

log = logging.getLogger(__name__)


@dataclass
class GridSummary:
    """What happened to each run of a grid invocation: done | skipped | failed | busy."""

    status: dict[str, str] = field(default_factory=dict)

    def counts(self) -> Counter:
        return Counter(self.status.values())

    @property
    def failed(self) -> list[str]:
        return [run_id for run_id, s in self.status.items() if s == "failed"]


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"i/N"`` (1-based) -> (i, N)."""
    if text is None:
        return None
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard must look like i/N, got {text!r}") from None
    if not 1 <= index <= count:
        raise ConfigError(f"--shard {text}: need 1 <= i <= N")
    return index, count


def select_shard(configs: Sequence[RunConfig], shard: tuple[int, int] | None) -> list[RunConfig]:
    """The runs of shard i/N, chosen by run_id hash (stable when the grid grows)."""
    if shard is None:
        return list(configs)
    index, count = shard
    return [c for c in configs if int(c.run_id, 16) % count == index - 1]


def run_state(results_dir: Path, config: RunConfig) -> str:
    """done | running | failed | todo."""
    path = run_path(results_dir, config)
    if is_done(path):
        return "done"
    if is_claimed(lock_path(results_dir, config.run_id)):
        return "running"
    return "failed" if is_failed(path) else "todo"


def plan(configs: Sequence[RunConfig], results_dir: Path) -> pd.DataFrame:
    """One row per run with its identity and state (the ``--dry-run`` listing)."""
    rows = [
        {
            "run_id": c.run_id, "state": run_state(results_dir, c), "task": c.task, "n_train": c.n_train,
            "noise": noise_label(c.noise_family, c.noise_param, c.noise_level),
            "method": get_method(c.method).label(c.method_params),
            "seeds": f"d{c.data_seed}/n{c.noise_seed}/t{c.train_seed}",
        }
        for c in configs
    ]
    return pd.DataFrame(rows)


def execute_one(
    config: RunConfig, results_dir: Path, *, data_dir: Path | None = None, progress: bool = False, report_to: tuple[str, ...] = (), grid: str | None = None,
) -> str:
    """Run one config under its claim unless it is DONE or claimed; failures are recorded, not raised.
    ``report_to``: trackers that also receive the run's numbers, tagged with the ``grid``'s name."""
    with claim(lock_path(results_dir, config.run_id)) as mine:
        decision, noise_dir = _decide(config, results_dir, data_dir, mine)
        if decision != "train":
            return decision
        output, error = _train(config, results_dir, noise_dir, data_dir, progress, report_to, grid)
        return _publish(config, results_dir, output, error, failures=[])


def execute_chunk(
    configs: list[RunConfig], results_dir: Path, data_dir: Path | None = None, report_to: tuple[str, ...] = (), grid: str | None = None,
) -> dict[str, str]:
    """Run several configs in one process (one submitit job or one pool task)."""
    return {c.run_id: execute_one(c, results_dir, data_dir=data_dir, report_to=report_to, grid=grid) for c in configs}


def execute_chunk_data_parallel(
    configs: list[RunConfig], results_dir: Path, data_dir: Path | None = None, report_to: tuple[str, ...] = (), grid: str | None = None,
) -> dict[str, str]:
    """Run several configs as one rank of each (one task of a multi-task submitit job); every rank returns the outcomes."""
    from noisebench.train import distributed  # heavy import, only where runs execute

    ranks = distributed.setup_from_job_environment()
    try:
        return {c.run_id: execute_as_rank(c, results_dir, data_dir, ranks, report_to, grid) for c in configs}
    finally:
        distributed.teardown(ranks)


def execute_as_rank(config: RunConfig, results_dir: Path, data_dir: Path | None, ranks: Ranks, report_to: tuple[str, ...], grid: str | None) -> str:
    """One data-parallel run, every rank in step: rank 0 claims the run and decides (busy, skipped, failed
    or train, with which noise artifact); after training, rank 0 publishes DONE, or FAILED if any rank
    failed, and every rank returns its outcome."""
    from noisebench.train import distributed

    with claim(lock_path(results_dir, config.run_id)) if ranks.writes else nullcontext(False) as mine:
        decision, noise_dir = distributed.from_rank0(_decide(config, results_dir, data_dir, mine) if ranks.writes else None, ranks)
        if decision != "train":
            return decision
        output, error = _train(config, results_dir, noise_dir, data_dir, False, report_to, grid)
        failures = distributed.gather_objects(None if error is None else _traceback_text(error), ranks)
        status = _publish(config, results_dir, output, error, failures=failures) if ranks.writes else None
        return distributed.from_rank0(status, ranks)


def _train(
    config: RunConfig, results_dir: Path, noise_dir: Path | None, data_dir: Path | None, progress: bool, report_to: tuple[str, ...], grid: str | None,
) -> tuple[RunOutput | None, Exception | None]:
    """The run's output, or the exception it failed with (a grid goes on past a failing cell)."""
    from noisebench.train.run import run_training  # heavy import, only where runs execute

    try:
        return run_training(config, noise_dir=noise_dir, data_dir=data_dir, results_dir=results_dir, progress=progress, report_to=report_to, grid=grid), None
    except Exception as caught:  # noqa: BLE001 - recorded as FAILED by _publish
        return None, caught


def _decide(config: RunConfig, results_dir: Path, data_dir: Path | None, mine: bool) -> tuple[str, Path | None]:
    """The decision for a claimed (``mine``) or busy run: busy | skipped | failed (no noise artifact) | train,
    and its noise artifact; taken by the one process, or by rank 0 of a data-parallel run."""
    if not mine:
        return "busy", None
    if is_done(run_path(results_dir, config)):
        return "skipped", None
    try:
        return "train", ensure_artifact(results_dir, config, data_dir=data_dir)
    except Exception as error:  # noqa: BLE001
        log.error("run %s failed: %s", config.run_id, error)
        write_failed(results_dir, config, error)
        return "failed", None


def _publish(config: RunConfig, results_dir: Path, output: RunOutput | None, error: Exception | None, *, failures: list[str | None]) -> str:
    """Publish a trained run: DONE, or FAILED with this process's error or the first failing rank's
    traceback (``failures``: one entry per rank of a data-parallel run, empty for one process)."""
    failed_rank = next((rank for rank, text in enumerate(failures) if text is not None), None)
    if error is None and failed_rank is not None:
        error = RuntimeError(f"rank {failed_rank} of {len(failures)} failed:\n{failures[failed_rank]}")
    if error is None:
        try:
            write_done(results_dir, config, output.metrics, output.test_embeddings, output.test_labels, model=output.model, logs=output.logs)
            return "done"
        except Exception as caught:  # noqa: BLE001
            error = caught
    log.error("run %s failed: %s", config.run_id, error)
    write_failed(results_dir, config, error, metrics=None if output is None else output.metrics)  # a trained run keeps its metrics
    return "failed"


def _traceback_text(error: BaseException) -> str:
    return "".join(traceback.format_exception(type(error), error, error.__traceback__))


def prepare_artifacts(configs: Sequence[RunConfig], results_dir: Path, *, data_dir: Path | None = None, progress: bool = True) -> int:
    """Check every run against its task and generate every distinct noise artifact the runs need, once, before
    runs are dispatched: all are drawn before any is written (:func:`~noisebench.grid.checks.check_runs`)."""
    return write_artifacts(check_runs(configs, results_dir, data_dir=data_dir, progress=progress))


def prefetch_assets(configs: Sequence[RunConfig]) -> None:
    """Fetch the offline encoders the runs name once, here, rather than in every worker at once."""
    for model in sorted({c.model for c in configs} & set(ASSETS)):
        asset_path(model)


class Progress:
    """One bar over the grid: done / running / failed / left, with tqdm's ETA."""

    def __init__(self, total: int, already_done: int, running: int, enabled: bool) -> None:
        self.bar = progress_bar(total=total, initial=already_done, desc="grid", unit="run", disable=not enabled)
        self.counts = Counter(done=already_done)
        self.left = total - already_done
        self.running = running
        self._show()

    def update(self, status: str) -> None:
        self.counts["done" if status in ("done", "skipped") else status] += 1
        self.left -= 1
        self.running = min(self.running, self.left)
        self.bar.update(1)
        self._show()

    def _show(self) -> None:
        self.bar.set_postfix(done=self.counts["done"], running=self.running, failed=self.counts["failed"], left=self.left)

    def close(self) -> None:
        self.bar.close()


def run_grid(
    configs: Sequence[RunConfig],
    results_dir: Path,
    *,
    jobs: int = 1,
    executor: str | None = None,
    shard: tuple[int, int] | None = None,
    data_dir: Path | None = None,
    options: ExecutorOptions | dict | None = None,
    slurm: dict | None = None,
    cluster: str | None = None,
    progress: bool = True,
    report_to: Sequence[str] = (),
    grid: str | None = None,
) -> GridSummary:
    """Run every not-yet-DONE config of this shard with a registered executor, then rebuild ``results.parquet``.

    ``executor``: its name (default: the one ``options`` names, else local). ``options``: the grid's
    ``executor:`` block (typed, or as a mapping; ``slurm`` is its older name); its ``gpus_per_run`` > 1
    (data-parallel runs) needs an executor that can (submitit; ``cluster="local"`` for this machine).
    ``report_to``: registered trackers every run also reports to (checked before any run), tagged with the ``grid``'s name.
    Under torchrun the ranks train each run together instead (:mod:`noisebench.grid.torchrun`).
    """
    if jobs < 1:
        raise ConfigError(f"--jobs must be >= 1, got {jobs}")
    if under_torchrun():
        check_options(jobs, None)
        return run_grid_data_parallel(configs, results_dir, shard=shard, data_dir=data_dir, progress=progress, report_to=report_to, grid=grid)
    chosen, chosen_options = resolve_executor(executor, options if options is not None else slurm)
    results_dir = Path(results_dir)
    check_installed(report_to)
    dispatch = Dispatch(results_dir, data_dir, jobs, cluster, report_to=tuple(report_to), grid=grid)
    chosen.check(chosen_options, dispatch)
    mine = select_shard(configs, shard)
    todo = [c for c in mine if not is_done(run_path(results_dir, c))]
    todo_ids = {c.run_id for c in todo}
    summary = GridSummary({c.run_id: "skipped" for c in mine if c.run_id not in todo_ids})
    prefetch_assets(todo)
    prepare_artifacts(todo, results_dir, data_dir=data_dir, progress=progress)
    bar = Progress(len(mine), len(mine) - len(todo), chosen.concurrency(todo, chosen_options, dispatch), progress)
    try:
        outcomes = chosen.run(todo, chosen_options, replace(dispatch, report=lambda run_id, outcome: bar.update(outcome)))
    finally:
        bar.close()
    summary.status.update(outcomes)
    write_results_table(results_dir)
    return summary

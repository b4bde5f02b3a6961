"""A grid under ``torchrun --nproc-per-node K -m noisebench train --grid G``: the K ranks train every
run together (data-parallel, as one run under torchrun), one run after another.

Rank 0 alone validates the grid, writes its noise artifacts, claims, decides, publishes and writes the
results table; every decision, and every error it meets, is broadcast, so all ranks walk the same runs
and end together (no rank waits for one that found nothing to do), and an error is raised on every
rank. The CLI prints it on rank 0 only (:func:`is_lead_rank`), the ranks leave together
(:func:`leave_together`) and every rank exits with status 2.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from noisebench.errors import ConfigError

if TYPE_CHECKING:
    from noisebench.grid.runner import GridSummary
    from noisebench.schema import RunConfig
    from noisebench.train.distributed import Ranks

T = TypeVar("T")


def under_torchrun() -> bool:
    """Whether this process is one of several ranks started by torchrun (``WORLD_SIZE`` > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def is_lead_rank() -> bool:
    """Whether this process speaks for the command: always, except ranks other than 0 under torchrun."""
    return os.environ.get("RANK", "0") == "0"


def leave_together(timeout_s: float = 60.0) -> None:
    """Under torchrun, wait (up to ``timeout_s``) until every rank is leaving, so that no rank exits first:
    the launcher stops every rank as soon as one fails, which could cut rank 0 off before its error line."""
    if not under_torchrun():
        return
    from datetime import timedelta

    import torch.distributed as dist

    try:
        if not dist.is_initialized():
            dist.init_process_group("gloo", init_method="env://", timeout=timedelta(seconds=timeout_s))
        dist.barrier()
        dist.destroy_process_group()
    except Exception:  # noqa: BLE001 - a rank that is gone already: the launcher ends the others
        return


def check_options(jobs: int, executor: str | None) -> None:
    """Under torchrun the ranks are the workers of each run: ``--jobs`` and ``--executor`` do not apply."""
    if jobs != 1 or executor is not None:
        given = " and ".join(flag for flag, value in (("--jobs", jobs != 1), ("--executor", executor is not None)) if value)
        raise ConfigError(f"{given} does not apply under torchrun: its ranks train each run of the grid together, one run after another")


def run_grid_data_parallel(
    configs: Sequence[RunConfig],
    results_dir: Path,
    *,
    shard: tuple[int, int] | None = None,
    data_dir: Path | None = None,
    progress: bool = True,
    report_to: Sequence[str] = (),
    grid: str | None = None,
) -> GridSummary:
    """Every not-yet-DONE run of this shard, trained by all ranks together; the same summary on every rank."""
    import torch

    from noisebench.grid.runner import GridSummary, Progress, execute_as_rank
    from noisebench.store.table import write_results_table
    from noisebench.train import distributed

    results_dir = Path(results_dir)
    ranks = distributed.setup(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        todo, skipped = on_rank0(lambda: _plan(configs, results_dir, shard, data_dir, progress, report_to), ranks)
        summary = GridSummary(dict.fromkeys(skipped, "skipped"))
        bar = Progress(len(todo) + len(skipped), len(skipped), min(1, len(todo)), progress and ranks.writes)
        try:
            for config in todo:
                outcome = execute_as_rank(config, results_dir, data_dir, ranks, tuple(report_to), grid)
                summary.status[config.run_id] = outcome
                bar.update(outcome)
        finally:
            bar.close()
        on_rank0(lambda: write_results_table(results_dir), ranks)
        return summary
    finally:
        distributed.teardown(ranks)


def on_rank0(step: Callable[[], T], ranks: Ranks) -> T:
    """Rank 0's result of ``step`` on every rank, or the exception it raised, raised on every rank."""
    from noisebench.train import distributed

    outcome: tuple[T | None, Exception | None] | None = None
    if ranks.writes:
        try:
            outcome = (step(), None)
        except Exception as error:  # noqa: BLE001 - raised again below, on every rank
            outcome = (None, error)
    value, error = distributed.from_rank0(outcome, ranks)
    if error is not None:
        raise error
    return value


def _plan(
    configs: Sequence[RunConfig], results_dir: Path, shard: tuple[int, int] | None, data_dir: Path | None, progress: bool, report_to: Sequence[str],
) -> tuple[list[RunConfig], list[str]]:
    """Rank 0's plan: the runs to train (checked, with their noise artifacts written) and those already DONE."""
    from noisebench.grid.runner import prefetch_assets, prepare_artifacts, select_shard
    from noisebench.store.layout import is_done, run_path
    from noisebench.trackers import check_installed

    check_installed(report_to)
    mine = select_shard(configs, shard)
    todo = [c for c in mine if not is_done(run_path(results_dir, c))]
    prefetch_assets(todo)
    prepare_artifacts(todo, results_dir, data_dir=data_dir, progress=progress)
    todo_ids = {c.run_id for c in todo}
    return todo, [c.run_id for c in mine if c.run_id not in todo_ids]

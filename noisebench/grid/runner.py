"""Execute a list of runs into a results directory: shared noise artifacts, skip what is DONE, record failures."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from noisebench.analysis.results import collect_table
from noisebench.grid.artifacts import ensure_artifact
from noisebench.io import write_bytes_atomic
from noisebench.train.config import RunConfig
from noisebench.train.run import run_training
from noisebench.train.rundir import is_done, run_path, write_done, write_failed

log = logging.getLogger(__name__)


@dataclass
class GridSummary:
    """What happened to each run of a grid invocation."""

    status: dict[str, str] = field(default_factory=dict)  # run_id -> done | skipped | failed

    def counts(self) -> Counter:
        return Counter(self.status.values())

    @property
    def failed(self) -> list[str]:
        return [run_id for run_id, s in self.status.items() if s == "failed"]


def execute_one(config: RunConfig, results_dir: Path, *, data_dir: Path | None = None, progress: bool = False) -> str:
    """Run one config unless it is DONE; a failure is written to the run directory, not raised."""
    if is_done(run_path(results_dir, config)):
        return "skipped"
    try:
        noise_dir = ensure_artifact(results_dir, config, data_dir=data_dir)
        output = run_training(config, noise_dir=noise_dir, data_dir=data_dir, progress=progress)
        write_done(results_dir, config, output.metrics, output.test_embeddings, output.test_labels)
        return "done"
    except Exception as error:  # noqa: BLE001 - a grid goes on past a failing cell
        log.error("run %s failed: %s", config.run_id, error)
        write_failed(results_dir, config, error)
        return "failed"


def write_results_table(results_dir: Path) -> Path:
    """Rebuild ``results.parquet`` from the run directories alone (atomically)."""
    path = Path(results_dir) / "results.parquet"
    table = collect_table(results_dir)
    write_bytes_atomic(path, table.to_parquet(index=False))
    return path


def run_sequential(configs: list[RunConfig], results_dir: Path, *, data_dir: Path | None = None, progress: bool = True) -> GridSummary:
    """Run every config in order in this process, then write the results table."""
    summary = GridSummary()
    bar = tqdm(configs, desc="grid", unit="run", disable=not progress)
    for config in bar:
        summary.status[config.run_id] = execute_one(config, results_dir, data_dir=data_dir, progress=progress)
        bar.set_postfix(summary.counts())
    write_results_table(results_dir)
    return summary

"""A grid's runs checked before anything is written: each task's data and pool size, and every missing
noise artifact drawn in memory, so that a setting the data cannot take fails before the first write.

``noisebench train --grid G`` and its ``--dry-run`` call the same :func:`check_runs`: a run with N
over its task's pool, annotator noise on a task without raters, a target rate out of reach or an
n_relabel over the pool is one error line either way, and nothing is written (the dry-run does the
work of drawing the artifacts a real run would write, weak models included, and discards it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from noisebench.data.tasks import TaskData, load_task
from noisebench.errors import ConfigError, DataError
from noisebench.grid.artifacts import artifact_path, needed_artifacts
from noisebench.grid.claims import claim
from noisebench.noise.families import noise_label
from noisebench.noise.generate import Drawn, NoiseSpec, draw, write_drawn
from noisebench.progress import progress_bar
from noisebench.schema import RunConfig


@dataclass(frozen=True)
class DrawnArtifacts:
    """The noise artifacts one task's runs need that are not yet on disk, drawn and ready to write."""

    task: TaskData
    artifacts: list[Drawn | None]
    """None where the artifact is already on disk."""


def check_pool(config: RunConfig, task: TaskData) -> None:
    """The run's few-shot subset fits its task's train pool (as ``sample_subset`` will need).

    Raises:
        DataError: naming the run, its n_train and the pool size.
    """
    if config.n_train > len(task.pool):
        raise DataError(f"run {config.run_id}: n_train={config.n_train} is larger than {task.name}'s train pool ({len(task.pool)} examples)")
    if config.n_train < task.num_labels:
        raise DataError(f"run {config.run_id}: n_train={config.n_train} is smaller than {task.name}'s number of classes ({task.num_labels})")


def check_runs(configs: Sequence[RunConfig], results_dir: Path, *, data_dir: Path | None = None, progress: bool = False) -> list[DrawnArtifacts]:
    """Load each task once, check every run against it and draw every missing noise artifact; write nothing.

    Returns:
        Per task, the artifacts to write (:func:`write_artifacts`) before the runs start.

    Raises:
        ConfigError, DataError: the first problem found, naming the run or the noise setting.
    """
    tasks: dict[tuple[str, bool], TaskData] = {}
    for config in configs:
        key = (config.task, config.pool_from_dev)
        if key not in tasks:
            tasks[key] = load_task(config.task, data_dir=data_dir, pool_from_dev=config.pool_from_dev)
        check_pool(config, tasks[key])
    specs: dict[tuple[str, bool], list[NoiseSpec]] = {}
    for (task_name, spec), config in needed_artifacts(configs).items():
        specs.setdefault((task_name, config.pool_from_dev), []).append(spec)
    bar = progress_bar(total=sum(map(len, specs.values())), desc="noise artifacts", unit="artifact", disable=not progress or not specs)
    drawn = []
    for key, wanted in specs.items():
        drawn.append(DrawnArtifacts(tasks[key], [_draw_one(tasks[key], spec, results_dir) for spec in wanted]))
        bar.update(len(wanted))
    bar.close()
    return drawn


def _draw_one(task: TaskData, spec: NoiseSpec, results_dir: Path) -> Drawn | None:
    """``spec``'s artifact drawn (None: already on disk, intact); an error names the task and noise setting."""
    try:
        drawn = draw(task, [spec], [artifact_path(results_dir, task.name, spec)], progress=False)
    except (ConfigError, DataError) as error:
        setting = noise_label(spec.family, spec.noise_param, spec.level)
        raise type(error)(f"task {task.name}, noise {setting} (data seed {spec.data_seed}, noise seed {spec.noise_seed}): {error}") from error
    return drawn[0] if drawn else None


def write_artifacts(drawn: Sequence[DrawnArtifacts]) -> int:
    """Write the drawn artifacts, each under its claim (another process that holds it writes the same one);
    the number written here."""
    written = 0
    for group in drawn:
        for artifact in filter(None, group.artifacts):
            path = artifact.out_dir
            with claim(path.with_name(f".{path.name}.lock")) as mine:
                if mine and not path.exists():
                    write_drawn(group.task, artifact)
                    written += 1
    return written


def check_unfinished(configs: Sequence[RunConfig], results_dir: Path, *, data_dir: Path | None = None) -> None:
    """:func:`check_runs` of the runs not yet DONE, as ``run_grid`` checks them (what ``--dry-run`` reports)."""
    from noisebench.store.layout import is_done, run_path

    check_runs([c for c in configs if not is_done(run_path(results_dir, c))], results_dir, data_dir=data_dir)

"""Outputs of ``generate`` that already exist: kept when they are the same artifact (a re-run), refused otherwise.

Artifacts are published atomically, so after an interrupted ``generate`` every artifact folder that exists
is complete. Running the same command again keeps each one that is intact and was made from the same task
data with the same settings, and makes the rest; anything else under an output name is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from noisebench.errors import ArtifactError, DataError
from noisebench.noise.artifact import read_artifact

if TYPE_CHECKING:
    from noisebench.data.tasks import TaskData
    from noisebench.noise.generate import NoiseSpec


def keep_existing(task: TaskData, spec: NoiseSpec, path: Path) -> bool:
    """Whether ``path`` already holds the artifact of ``spec`` for ``task`` (keep it); False when it does not exist.

    Raises:
        DataError: ``path`` exists but is not an intact artifact, or holds one made differently.
    """
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        return False
    try:
        artifact = read_artifact(path)
    except ArtifactError as exc:
        raise DataError(f"output {path} already exists and is not a complete noise artifact ({exc}); remove it or choose another --out") from None
    found = {"task": artifact.meta.get("task"), "source_hash": artifact.meta.get("source_hash"), **artifact.run_fields()}
    wanted = expected_fields(task, spec)
    differ = [key for key in wanted if found.get(key) != wanted[key]]
    if differ:
        what = "; ".join(f"{key} {found.get(key)!r}, not {wanted[key]!r}" for key in differ[:2])
        raise DataError(f"output {path} already exists and holds another artifact ({what}); choose another --out or remove it")
    return True


def expected_fields(task: TaskData, spec: NoiseSpec) -> dict[str, Any]:
    """What an artifact of ``spec`` made from ``task`` records: task, data hash and ``NoiseArtifact.run_fields``."""
    weak = spec.resolved_weak()
    return {
        "task": task.name,
        "source_hash": task.source_hash,
        "noise_family": spec.family,
        "noise_param": spec.noise_param or spec.noise_family.parameter.name,
        "noise_level": spec.level,
        "weak_fit": spec.resolved_weak_fit,
        "weak_model": None if weak is None else weak[0],
        "weak_options": {} if weak is None else dict(weak[1]),
        "n_relabel": spec.n_relabel,
        "noise_seed": spec.noise_seed,
        "data_seed": spec.data_seed,
    }

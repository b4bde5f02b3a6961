"""Noise artifacts on disk: labels.parquet + noise.json, written atomically, read back validated.

``noise.json`` records the sha256 of ``labels.parquet`` (``labels_sha256``) at write time; reading
verifies it, then checks the labels themselves (no missing values, integer classes within the
artifact's label set, unique ids, ``is_corrupted == (label_clean != label_noisy)``, and the counts and
realised rate that noise.json reports). Artifacts written before the hash existed get the other checks.
``dev_labels.parquet`` holds the dev split relabelled by the same noise (for selection on a noisy dev
split); ``noise.json``'s ``dev`` block summarises it the same way and carries its sha256.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench import __version__
from noisebench.assets import sha256_file
from noisebench.errors import ArtifactError, DataError
from noisebench.io import atomic_dir, read_json, write_json_atomic
from noisebench.noise.families import TARGET_RATE

SCHEMA_VERSION = 1
ORIENTATION = "rows=clean, cols=noisy"
LABEL_COLUMNS = ["id", "label_clean", "label_noisy", "is_corrupted"]
DEV_LABELS_FILE = "dev_labels.parquet"


@dataclass(frozen=True)
class NoiseArtifact:
    """A loaded artifact: its directory, its metadata and its per-example labels."""

    path: Path
    meta: dict[str, Any]
    labels: pd.DataFrame
    dev_labels: pd.DataFrame | None = None
    """The dev split relabelled like ``labels`` (``dev_labels.parquet``); None for artifacts from before
    noisy dev labels existed, or when the weak labeller could not score dev (``meta["dev"]["unavailable"]``)."""

    def run_fields(self) -> dict[str, Any]:
        """The run-config fields this artifact stands for: family, level, weak labeller and fit, noise and data seeds."""
        seeds, params = self.meta.get("seeds", {}), self.meta.get("params", {})
        target = self.meta.get("target_rate")
        weak = self.meta.get("weak_model") or {}
        return {
            "noise_family": self.meta.get("family"),
            "noise_param": TARGET_RATE.name if target is not None else next(iter(params), None),
            "noise_level": target if target is not None else next(iter(params.values()), None),
            "weak_fit": weak.get("fit"),
            "weak_model": weak.get("kind"),
            "weak_options": dict(weak.get("options") or {}),
            "n_relabel": None if self.meta.get("n_relabel", "all") == "all" else self.meta["n_relabel"],
            "noise_seed": seeds.get("noise_seed"),
            "data_seed": seeds.get("data_seed"),
        }

    def require_task(self, task: str) -> None:
        """Raise ArtifactError unless the artifact was made for ``task``."""
        if self.meta.get("task") != task:
            raise ArtifactError(f"noise artifact {self.path} was made for task {self.meta.get('task')!r}, not {task!r}")

    def noisy_labels_for(self, ids: pd.Series) -> pd.DataFrame:
        """Rows of ``labels`` for ``ids``, in that order; a missing id is a DataError."""
        indexed = self.labels.set_index("id")
        missing = ~ids.isin(indexed.index)
        if missing.any():
            raise DataError(
                f"noise artifact {self.path} does not cover {int(missing.sum())} of the {len(ids)} training "
                f"examples (e.g. {ids[missing].iloc[0]}); generate it with the same data_seed and n_relabel >= n_train"
            )
        return indexed.loc[ids.to_numpy()].reset_index()

    def noisy_dev_for(self, ids: pd.Series) -> np.ndarray:
        """Noisy dev labels for the dev ``ids`` (in that order), for selection on a noisy dev split."""
        if self.dev_labels is None:
            reason = (self.meta.get("dev") or {}).get("unavailable") or "it was made before noisy dev labels existed; generate it again"
            raise ArtifactError(f"noise artifact {self.path} has no noisy dev labels: {reason}")
        indexed = self.dev_labels.set_index("id")["label_noisy"]
        missing = ~ids.isin(indexed.index)
        if missing.any():
            raise ArtifactError(f"noise artifact {self.path}: dev example {ids[missing].iloc[0]!r} has no noisy dev label")
        return indexed.loc[ids.to_numpy()].to_numpy()


def transition_counts(clean: np.ndarray, noisy: np.ndarray, num_labels: int) -> list[list[int]]:
    """Counts ``C[i][j]`` of examples with clean label i and noisy label j (rows=clean, cols=noisy)."""
    counts = np.zeros((num_labels, num_labels), dtype=np.int64)
    np.add.at(counts, (clean, noisy), 1)
    return counts.tolist()


def noise_summary(clean: np.ndarray, noisy: np.ndarray, label_names: tuple[str, ...]) -> dict[str, Any]:
    """Realised overall and per-class noise rates and the transition matrix."""
    corrupted = clean != noisy
    per_class = {
        name: (float(corrupted[clean == k].mean()) if (clean == k).any() else None)
        for k, name in enumerate(label_names)
    }
    return {
        "n_examples": int(len(clean)),
        "realized_noise_rate": float(corrupted.mean()) if len(clean) else 0.0,
        "per_class_noise_rate": per_class,
        "transition_matrix": {
            "orientation": ORIENTATION,
            "labels": list(label_names),
            "counts": transition_counts(clean, noisy, len(label_names)),
        },
    }


def write_artifact(
    out_dir: Path, labels: pd.DataFrame, meta: dict[str, Any], *, dev_labels: pd.DataFrame | None = None, overwrite: bool = False,
) -> Path:
    """Write ``labels.parquet`` (and ``dev_labels.parquet``, whose summary is ``meta["dev"]``) and ``noise.json``
    into ``out_dir`` atomically (temp dir + rename)."""
    payload = {"schema_version": SCHEMA_VERSION, "noisebench_version": __version__, **meta}
    try:
        with atomic_dir(Path(out_dir), overwrite=overwrite, crash_name="artifact-write") as tmp:
            labels.to_parquet(tmp / "labels.parquet", index=False)
            payload["labels_sha256"] = sha256_file(tmp / "labels.parquet")
            if dev_labels is not None:
                dev_labels.to_parquet(tmp / DEV_LABELS_FILE, index=False)
                payload["dev"] = {**payload["dev"], "labels_sha256": sha256_file(tmp / DEV_LABELS_FILE)}
            write_json_atomic(tmp / "noise.json", payload)
    except FileExistsError:
        raise DataError(f"output {out_dir} already exists; choose another --out or remove it") from None
    return Path(out_dir)


def read_artifact(path: Path) -> NoiseArtifact:
    """Load and check an artifact directory; anything missing, malformed or inconsistent is an ArtifactError."""
    path = Path(path)
    meta_path, labels_path = path / "noise.json", path / "labels.parquet"
    if not meta_path.is_file() or not labels_path.is_file():
        raise ArtifactError(f"{path} is not a noise artifact (needs noise.json and labels.parquet)")
    try:
        meta = read_json(meta_path)
        labels = pd.read_parquet(labels_path)
        labels_sha256 = sha256_file(labels_path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"noise artifact {path} is unreadable: {exc}") from exc
    if not isinstance(meta, dict):
        raise ArtifactError(f"noise artifact {path}: noise.json is not a JSON object")
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise ArtifactError(f"noise artifact {path}: schema_version {meta.get('schema_version')} != {SCHEMA_VERSION}")
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise ArtifactError(f"noise artifact {path}: labels.parquet lacks columns {missing}")
    labels = check_labels(labels, meta, where=f"noise artifact {path}: labels.parquet")
    if "labels_sha256" in meta and meta["labels_sha256"] != labels_sha256:
        raise ArtifactError(
            f"noise artifact {path}: labels.parquet does not match the sha256 recorded in noise.json "
            "(edited or damaged after it was written); generate it again"
        )
    return NoiseArtifact(path, meta, labels, _read_dev_labels(path, meta))


def _read_dev_labels(path: Path, meta: dict[str, Any]) -> pd.DataFrame | None:
    """``dev_labels.parquet`` checked like the training labels against ``meta["dev"]``; None when there is none."""
    file, dev_meta = path / DEV_LABELS_FILE, meta.get("dev")
    if not file.is_file():
        return None
    where = f"noise artifact {path}: {DEV_LABELS_FILE}"
    if not isinstance(dev_meta, dict):
        raise ArtifactError(f"{where} has no summary in noise.json (dev); generate it again")
    try:
        labels, digest = pd.read_parquet(file), sha256_file(file)
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"{where} is unreadable: {exc}") from exc
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise ArtifactError(f"{where} lacks columns {missing}")
    if dev_meta.get("labels_sha256") != digest:
        raise ArtifactError(f"{where} does not match the sha256 recorded in noise.json (edited or damaged after it was written); generate it again")
    return check_labels(labels, dev_meta, where=where)


def check_labels(labels: pd.DataFrame, meta: dict[str, Any], *, where: str) -> pd.DataFrame:
    """Check the labels table on its own and against noise.json; return it with integer label columns."""
    for column in LABEL_COLUMNS:
        if labels[column].isna().any():
            raise ArtifactError(f"{where}: {int(labels[column].isna().sum())} missing values in {column}")
    if labels["id"].duplicated().any():
        raise ArtifactError(f"{where}: duplicate id {labels.loc[labels['id'].duplicated(), 'id'].iloc[0]!r}")
    names = meta.get("transition_matrix", {}).get("labels") if isinstance(meta.get("transition_matrix"), dict) else None
    converted = {}
    for column in ("label_clean", "label_noisy"):
        values = labels[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values) or not np.all(np.mod(values.to_numpy(dtype=float), 1) == 0):
            raise ArtifactError(f"{where}: {column} holds non-integer values (e.g. {values.iloc[0]!r})")
        converted[column] = values.astype(np.int64)
        outside = (converted[column] < 0) | (converted[column] >= len(names)) if names else converted[column] < 0
        if outside.any():
            allowed = f"0..{len(names) - 1} ({', '.join(map(str, names))})" if names else ">= 0"
            raise ArtifactError(f"{where}: {column} value {int(converted[column][outside].iloc[0])} is not a class of this artifact (expected {allowed})")
    labels = labels.assign(**converted)
    corrupted = labels["label_clean"] != labels["label_noisy"]
    if not pd.api.types.is_bool_dtype(labels["is_corrupted"]) or (labels["is_corrupted"] != corrupted).any():
        raise ArtifactError(f"{where}: is_corrupted disagrees with label_clean != label_noisy")
    if "n_examples" in meta and meta["n_examples"] != len(labels):
        raise ArtifactError(f"{where}: {len(labels)} rows, but noise.json says n_examples {meta['n_examples']}")
    realised = float(corrupted.mean()) if len(labels) else 0.0
    recorded = meta.get("realized_noise_rate")
    if recorded is not None and not (isinstance(recorded, (int, float)) and math.isclose(recorded, realised, abs_tol=1e-9)):
        raise ArtifactError(f"{where}: realised noise rate of the labels is {realised:.4f}, but noise.json says {recorded}")
    return labels

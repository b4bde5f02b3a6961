"""Noise artifacts on disk: labels.parquet + noise.json, written atomically, read back validated."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench import __version__
from noisebench.errors import DataError
from noisebench.io import atomic_dir, read_json, write_json_atomic
from noisebench.noise.families import TARGET_RATE

SCHEMA_VERSION = 1
ORIENTATION = "rows=clean, cols=noisy"
LABEL_COLUMNS = ["id", "label_clean", "label_noisy", "is_corrupted"]


@dataclass(frozen=True)
class NoiseArtifact:
    """A loaded artifact: its directory, its metadata and its per-example labels."""

    path: Path
    meta: dict[str, Any]
    labels: pd.DataFrame

    def run_fields(self) -> dict[str, Any]:
        """The run-config fields this artifact stands for: family, level, noise and data seeds."""
        seeds, params = self.meta.get("seeds", {}), self.meta.get("params", {})
        target = self.meta.get("target_rate")
        return {
            "noise_family": self.meta.get("family"),
            "noise_param": TARGET_RATE.name if target is not None else next(iter(params), None),
            "noise_level": target if target is not None else next(iter(params.values()), None),
            "weak_fit": self.meta.get("weak_model", {}).get("fit"),
            "n_relabel": None if self.meta.get("n_relabel", "all") == "all" else self.meta["n_relabel"],
            "noise_seed": seeds.get("noise_seed"),
            "data_seed": seeds.get("data_seed"),
        }

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


def write_artifact(out_dir: Path, labels: pd.DataFrame, meta: dict[str, Any], *, overwrite: bool = False) -> Path:
    """Write ``labels.parquet`` and ``noise.json`` into ``out_dir`` atomically (temp dir + rename)."""
    payload = {"schema_version": SCHEMA_VERSION, "noisebench_version": __version__, **meta}
    try:
        with atomic_dir(Path(out_dir), overwrite=overwrite, crash_name="artifact-write") as tmp:
            labels.to_parquet(tmp / "labels.parquet", index=False)
            write_json_atomic(tmp / "noise.json", payload)
    except FileExistsError:
        raise DataError(f"output {out_dir} already exists; choose another --out or remove it") from None
    return Path(out_dir)


def read_artifact(path: Path) -> NoiseArtifact:
    """Load and check an artifact directory; anything missing or malformed is a DataError."""
    path = Path(path)
    meta_path, labels_path = path / "noise.json", path / "labels.parquet"
    if not meta_path.is_file() or not labels_path.is_file():
        raise DataError(f"{path} is not a noise artifact (needs noise.json and labels.parquet)")
    try:
        meta = read_json(meta_path)
        labels = pd.read_parquet(labels_path)
    except (OSError, ValueError) as exc:
        raise DataError(f"noise artifact {path} is unreadable: {exc}") from exc
    if meta.get("schema_version") != SCHEMA_VERSION:
        raise DataError(f"noise artifact {path}: schema_version {meta.get('schema_version')} != {SCHEMA_VERSION}")
    missing = [c for c in LABEL_COLUMNS if c not in labels.columns]
    if missing:
        raise DataError(f"noise artifact {path}: labels.parquet lacks columns {missing}")
    return NoiseArtifact(path, meta, labels)

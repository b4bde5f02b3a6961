"""Splits of a Hugging Face dataset: a hub id (``datasets.load_dataset``) or a folder from ``save_to_disk``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from noisebench.errors import DataError


@dataclass(frozen=True)
class HubSplit:
    """One split as a DataFrame, with the label feature's class names when it is a ``ClassLabel``."""

    frame: pd.DataFrame
    label_names: tuple[str, ...] | None


def load_hub_splits(hub: str, config: str | None, splits: dict[str, str], *, label: str, where: str) -> dict[str, HubSplit]:
    """``{role: HubSplit}`` for each ``role -> split name`` of ``splits`` that the dataset has.

    ``hub`` is a hub id, or a local folder written by ``Dataset(Dict).save_to_disk`` (loaded with
    ``load_from_disk``, no network). A dataset that cannot be loaded is one DataError line that says
    what to do offline.
    """
    dataset = _load(hub, config, where)
    available = list(dataset.keys()) if hasattr(dataset, "keys") else ["train"]
    missing = [name for role, name in splits.items() if role == "train" and name not in available]
    if missing:
        raise DataError(f"{where}: {hub} has no split {missing[0]!r} (found: {', '.join(available)})")
    out = {}
    for role, name in splits.items():
        if name not in available:
            continue
        part = dataset[name] if hasattr(dataset, "keys") else dataset
        feature = part.features.get(label)
        names = tuple(map(str, feature.names)) if hasattr(feature, "names") else None
        out[role] = HubSplit(part.to_pandas(), names)
    return out


def _load(hub: str, config: str | None, where: str) -> Any:
    try:
        import datasets
    except ImportError as exc:  # a dependency of noisebench; only a broken install lacks it
        raise DataError(f"{where}: the datasets package cannot be imported: {exc}") from None
    folder = Path(hub).expanduser()
    try:
        if folder.is_dir():
            return datasets.load_from_disk(str(folder))
        return datasets.load_dataset(hub, config)
    except Exception as exc:  # network, cache, auth and hub-side failures all look alike here
        reason = " ".join(str(exc).split())[:300] or type(exc).__name__
        raise DataError(
            f"{where}: cannot load the hub dataset {hub!r}{f' ({config})' if config else ''} ({type(exc).__name__}: {reason}); "
            "offline, save it once with datasets' save_to_disk and give that folder as hub:, or declare data files"
        ) from None

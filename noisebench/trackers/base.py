"""The tracker protocol: one experiment tracker (TensorBoard, MLflow, W&B) that a run's numbers are also sent to.

A :class:`Tracker` is registered under a ``name`` with the import ``package`` it needs and the pip ``extra``
that installs it. :class:`noisebench.train.reporting.Reporter` (the training loop's callback) opens one per
run and calls :meth:`Tracker.log` with scalars on one of two axes: ``step`` (the optimiser step, 1-based:
``train/step_loss``) and ``epoch`` (``epoch/<key>`` for each number of the epoch's history row); at the
end :meth:`Tracker.summarise` gets the run's final numbers (``final/<key>``) and :meth:`Tracker.close`
ends it. A tracker imports its library when it is opened, so listing or checking trackers stays cheap.
Trackers only watch: a run's results and run_id are the same with or without them.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from noisebench.schema import RunConfig

Axis = Literal["step", "epoch"]
STEP_AXIS, EPOCH_AXIS = "step", "epoch"
STEP_LOSS = "train/step_loss"
"""The training loss of each optimiser step (the mean over ranks), on the ``step`` axis."""
EPOCH_PREFIX = "epoch/"
"""Each number of an epoch's history row (dev_accuracy, noisy_dev_accuracy, train_loss, memorisation shares), on the ``epoch`` axis."""
FINAL_PREFIX = "final/"
"""The run's final numbers (test_accuracy, the selected epoch's dev_accuracy, best_epoch, realized_noise_rate, ...)."""


@dataclass(frozen=True)
class TrackedRun:
    """What a tracker knows about the run it records: its config, and the grid it belongs to (None: a single run)."""

    config: RunConfig
    grid: str | None = None

    @property
    def run_id(self) -> str:
        return self.config.run_id

    @property
    def params(self) -> dict[str, str | int | float | bool | None]:
        """The run config, flattened (``method_params.lam``, ``weak_options.encoder``)."""
        return flatten(self.config.to_dict())

    @property
    def tags(self) -> dict[str, str]:
        """``noisebench.run_id`` and, when known, ``noisebench.grid``."""
        return {"noisebench.run_id": self.run_id, **({"noisebench.grid": self.grid} if self.grid else {})}


class Tracker(ABC):
    """One tracker's run; see the module docstring for the protocol."""

    name: ClassVar[str]
    package: ClassVar[str]
    """The import name checked before any training (``importlib.util.find_spec``)."""
    extra: ClassVar[str]
    """``pip install 'noisebench[<extra>]'`` installs the package."""
    description: ClassVar[str]

    @abstractmethod
    def __init__(self, run: TrackedRun) -> None:
        """Open the tracker's run and record the config."""

    @abstractmethod
    def log(self, scalars: dict[str, float], *, axis: Axis, step: int) -> None:
        """Record ``scalars`` at ``step`` of ``axis``."""

    @abstractmethod
    def summarise(self, scalars: dict[str, float]) -> None:
        """Record the run's final numbers (once, after the test evaluation)."""

    @abstractmethod
    def close(self, *, failed: bool) -> None:
        """End the tracker's run (marked failed when training raised)."""

    def folders(self) -> dict[str, Path]:
        """Folders to publish inside the run directory, by name (after a successful :meth:`close`)."""
        return {}


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level, keys joined with dots; lists, tuples and empty mappings become their string."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = str(value) if isinstance(value, (list, tuple)) else value
    return flat


def scalars(record: dict[str, Any], prefix: str, *, skip: tuple[str, ...] = ()) -> dict[str, float]:
    """The real numbers of ``record`` (not bools, None, NaN or nested values), named ``prefix + key``."""
    return {
        f"{prefix}{key}": float(value) for key, value in record.items()
        if key not in skip and isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    }

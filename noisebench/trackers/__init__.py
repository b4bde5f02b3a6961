"""Experiment trackers by name: ``tensorboard``, ``mlflow``, ``wandb`` (``report_to``: results where researchers look).

Each is a :class:`~noisebench.trackers.base.Tracker` registered in :data:`TRACKERS`; a plugin registers more
with :func:`register_tracker`. Each needs an optional package (``pip install 'noisebench[<name>]'``):
:func:`check_installed` refuses a missing one in one line, before any training.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence

from noisebench.errors import ConfigError, NoisebenchError
from noisebench.registry import Registry
from noisebench.trackers.base import TrackedRun, Tracker

__all__ = ["TRACKERS", "TrackedRun", "Tracker", "check_installed", "get_tracker", "register_tracker", "tracker_names"]

TRACKERS: Registry[type[Tracker]] = Registry("tracker")


def register_tracker(tracker: type[Tracker]) -> type[Tracker]:
    return TRACKERS.register(tracker.name, tracker)


def get_tracker(name: str) -> type[Tracker]:
    return TRACKERS.get(name)


def tracker_names() -> list[str]:
    """The registered trackers' names (none when a plugin fails to load: the CLI reports that error itself)."""
    try:
        return list(TRACKERS.names())
    except NoisebenchError:
        return []


def check_installed(names: Sequence[str], *, option: str = "report_to") -> None:
    """Every tracker in ``names`` is registered and its package importable.

    Raises:
        ConfigError: one line naming the option, the tracker and the extra that installs it, e.g.
            ``--report-to mlflow needs the mlflow package: pip install 'noisebench[mlflow]'``.
    """
    for name in names:
        tracker = get_tracker(name)
        if importlib.util.find_spec(tracker.package) is None:
            raise ConfigError(f"{option} {name} needs the {tracker.package} package: pip install 'noisebench[{tracker.extra}]'")


from noisebench.trackers.mlflow_tracker import MlflowTracker  # noqa: E402 - the built-in trackers register after the registry exists
from noisebench.trackers.tensorboard_tracker import TensorBoardTracker  # noqa: E402
from noisebench.trackers.wandb_tracker import WandbTracker  # noqa: E402

register_tracker(TensorBoardTracker)
register_tracker(MlflowTracker)
register_tracker(WandbTracker)

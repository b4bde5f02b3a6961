"""Registries of named extension points (noise families, training methods), with plugin loading.

A registry maps a name to one object. Built-in entries register themselves when their package is
imported; a user's own module can register more and be named in ``NOISEBENCH_PLUGINS``
(comma-separated importable modules) or in the ``noisebench.plugins`` entry-point group, so that
worker processes of a grid, which import noisebench afresh, see the same entries.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar

from noisebench.errors import ConfigError

PLUGINS_ENV = "NOISEBENCH_PLUGINS"
ENTRY_POINT_GROUP = "noisebench.plugins"

T = TypeVar("T")
_plugins_loaded = False


def load_plugins() -> None:
    """Import every plugin module once per process (entry points, then ``NOISEBENCH_PLUGINS``)."""
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        entry.load()
    for name in filter(None, (part.strip() for part in os.environ.get(PLUGINS_ENV, "").split(","))):
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ConfigError(f"{PLUGINS_ENV}: cannot import plugin module {name!r}: {exc}") from exc


class Registry(Generic[T]):
    """Name -> entry. ``kind`` names the entries in error messages ("noise family", "method").

    ``on_first_use`` runs once, after the plugins, the first time the registry is read: the task registry
    uses it to register the tasks files named in the environment, so spawned grid workers see them too.
    """

    def __init__(self, kind: str, *, on_first_use: Callable[[], None] | None = None) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._on_first_use = on_first_use

    def _load(self) -> None:
        load_plugins()
        if self._on_first_use is not None:
            hook, self._on_first_use = self._on_first_use, None
            hook()

    def register(self, name: str, entry: T) -> T:
        """Add ``entry`` under ``name``; registering the same name twice is an error unless it is the same entry."""
        current = self._entries.get(name)
        if current is not None and current != entry:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._entries[name] = entry
        return entry

    def get(self, name: str) -> T:
        """The entry called ``name``; an unknown name is a ConfigError listing the known ones."""
        self._load()
        try:
            return self._entries[name]
        except KeyError:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}") from None

    def names(self) -> tuple[str, ...]:
        self._load()
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        self._load()
        return iter(list(self._entries.values()))

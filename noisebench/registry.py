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
_plugin_error: ConfigError | None = None


def load_plugins() -> None:
    """Import every plugin module once per process (entry points, then ``NOISEBENCH_PLUGINS``).

    A plugin that cannot be found, whose import raises, or that registers a name already taken is a
    ConfigError naming the plugin and the reason. The failure is remembered and raised again by every
    later call, so nothing runs with part of its plugins (the CLI reports it before parsing any option).
    """
    global _plugins_loaded, _plugin_error
    if _plugins_loaded:
        if _plugin_error is not None:
            raise _plugin_error
        return
    _plugins_loaded = True
    try:
        for entry in entry_points(group=ENTRY_POINT_GROUP):
            _import_plugin(f"plugin entry point {entry.name!r}", entry.module, entry.load)
        for name in plugin_module_names():
            _import_plugin(f"{PLUGINS_ENV}: plugin {name!r}", name, lambda name=name: importlib.import_module(name))
    except ConfigError as error:
        _plugin_error = error
        raise


def plugin_module_names() -> list[str]:
    """The module names listed in ``NOISEBENCH_PLUGINS`` (comma-separated, blanks ignored)."""
    return [part.strip() for part in os.environ.get(PLUGINS_ENV, "").split(",") if part.strip()]


def _import_plugin(label: str, module: str, load: Callable[[], object]) -> None:
    """Run ``load`` (the import of ``module``); any failure becomes one ConfigError starting with ``label``."""
    try:
        load()
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(f"{exc.name}.")):
            raise ConfigError(f"{label}: no module named {exc.name!r} (is its folder on PYTHONPATH?)") from exc
        raise ConfigError(f"{label} failed to import: {type(exc).__name__}: {exc}") from exc
    except ConfigError as exc:  # e.g. a name that is already registered
        raise ConfigError(f"{label}: {exc}") from exc
    except Exception as exc:  # a plugin is user code: whatever it raises is reported as its error, in one line
        raise ConfigError(f"{label} failed to import: {type(exc).__name__}: {exc}") from exc


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
        """Add ``entry`` under ``name``; a name already taken by another entry is a ConfigError."""
        current = self._entries.get(name)
        if current is not None and current != entry:
            raise ConfigError(f"{self.kind} {name!r} is already registered")
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

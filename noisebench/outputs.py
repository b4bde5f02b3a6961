"""Checks on output paths made before any expensive work: writable folders, no silent overwrites."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from noisebench.errors import OutputError


def check_writable_dir(path: Path, *, option: str = "--out") -> Path:
    """Raise OutputError unless ``path`` is a folder we can write to, or one we can create.

    Walks up to the nearest existing ancestor: that must be a folder (not a regular file) and
    writable. Nothing is created; the caller creates the folder when it writes its first output.

    Args:
        path: the folder an output will be written into.
        option: how the user named it (``--results``, ``--out``), for the message.

    Returns:
        ``path``, unchanged.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{option} {path} is a file, not a folder")
    existing = path
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise OutputError(f"{option} {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        where = "" if existing == path else f" (its existing parent {existing} is not)"
        raise OutputError(f"{option} {path} is not writable{where}")
    return path


def check_writable_file(path: Path, *, option: str = "--out", overwrite: bool = False) -> Path:
    """Raise OutputError unless ``path`` can be written as a file: its folder is writable, and it does
    not exist (or ``overwrite`` is true and it is a file)."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{option} {path} is a folder, not a file")
    refuse_existing([path], overwrite=overwrite, option=option)
    check_writable_dir(path.parent, option=f"{option} {path}: folder")
    return path


def refuse_existing(paths: Iterable[Path], *, overwrite: bool = False, option: str = "--out", hint: str = "remove it or pass --overwrite") -> None:
    """Raise OutputError naming the first of ``paths`` that exists, unless ``overwrite``.

    Call with every output a command will write, before it writes any, so a refused command
    leaves nothing half-written.
    """
    if overwrite:
        return
    for path in paths:
        if Path(path).exists() or Path(path).is_symlink():
            raise OutputError(f"{option}: {path} already exists; {hint}")

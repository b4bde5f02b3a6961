"""Checks on output paths made before any expensive work: writable folders, no silent overwrites."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from noisebench.errors import ConfigError, OutputError


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


def check_figure_out(out: Path, *, formats: Iterable[str], overwrite: bool = False, option: str = "--out") -> bool:
    """Check a figure output before any work: True for one figure file, False for a folder of figures.

    A path with a suffix that is not an existing folder is a figure file: its suffix must be one of
    ``formats`` (``png``, ...), its folder writable, and it must not exist unless ``overwrite``. Anything
    else is a folder, which must be writable and empty unless ``overwrite``.
    """
    out, formats = Path(out), tuple(formats)
    if out.suffix and not out.is_dir():
        if out.suffix.lower().lstrip(".") not in formats:
            allowed = ", ".join(f".{name}" for name in formats)
            raise ConfigError(f"{option} {out}: a figure file must end in {allowed} (or name a folder, without a suffix, for every figure)")
        check_writable_file(out, option=option, overwrite=overwrite)
        return True
    check_writable_dir(out, option=option)
    refuse_existing([out] if out.is_dir() and any(out.iterdir()) else [], overwrite=overwrite, option=option)
    return False

"""Atomic publishing: a file or directory appears under its final name complete, or not at all.

This module is the one place that publishes results (noise artifacts, run directories, tables,
figures, reports). Everything is assembled under a hidden sibling ``.<name>.tmp-<random>``
(readers ignore hidden names), flushed to disk, renamed into place, and the rename itself is made
durable by fsyncing the parent directory.

Temporary files and folders are created with ``os.open(..., 0o666)`` and ``os.mkdir(..., 0o777)``
rather than ``tempfile.mkstemp``/``mkdtemp`` (which create private 0600/0700 entries): the kernel
then applies the process umask (or a default ACL) itself, so published results can be shared by a
group or by cluster nodes running as other users, and the umask never has to be read (reading it
with ``os.umask`` means changing it, which races with other threads).
"""

from __future__ import annotations

import errno
import json
import os
import secrets
import shutil
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from noisebench.faults import crash_point

FILE_MODE = 0o666  # before the umask
DIR_MODE = 0o777  # before the umask
_TEMP_TRIES = 100

#: Whether an existing final may be replaced: a flag, or a predicate called with the existing path.
Overwrite = bool | Callable[[Path], bool]


@contextmanager
def atomic_dir(final: Path, *, overwrite: Overwrite = False, crash_name: str = "dir-write") -> Iterator[Path]:
    """Yield a temporary sibling directory that is renamed to ``final`` when the block succeeds.

    ``overwrite`` says whether an existing ``final`` may be replaced: ``True``/``False``, or a
    predicate such as "not DONE" for run directories. It is asked before the block (so a refused
    publish fails early) and again just before the rename (``final`` may have appeared meanwhile);
    a refusal raises ``FileExistsError``. A crash or an exception inside the block leaves ``final``
    untouched (absent, or as it was). Call while holding the right to write ``final`` (its claim, or
    as its only writer): stale temporary siblings are deleted first.
    """
    final = Path(final)
    _check_replaceable(final, overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(final)
    tmp = _make_temp_dir(final)
    try:
        yield tmp
        _fsync_tree(tmp)
        crash_point(crash_name)
        _replace(tmp, final, move_old_aside=_check_replaceable(final, overwrite))
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_leftovers(final: Path) -> None:
    """Delete temporary siblings of ``final`` left by a killed writer.

    Call only while holding the right to write ``final`` (its claim, or as its only writer).
    """
    for leftover in Path(final).parent.glob(f".{Path(final).name}.tmp-*"):
        _remove(leftover)


def write_bytes_atomic(path: Path, data: bytes, *, crash_name: str = "file-write") -> None:
    """Write ``data`` to ``path`` through a hidden temporary sibling: fsync, rename, fsync the folder.

    The file gets ``0o666 & ~umask`` like any file the user creates.
    """
    write_files_atomic({Path(path): data}, crash_name=crash_name)


def write_files_atomic(files: Mapping[Path, bytes], *, crash_name: str = "file-write") -> None:
    """Write several files as one publish: every file to a hidden temporary sibling first, then rename all.

    A failure (a full disk, an unwritable folder, a folder under a final name) comes before the renames
    and leaves every final path as it was, so a set that belongs together (a figure's PNG and PDF) is
    never half replaced by an error. Each file gets ``0o666 & ~umask`` like any file the user creates.
    """
    for path in map(Path, files):  # the one thing that would make a rename fail once the data is written
        if path.is_dir() and not path.is_symlink():
            raise IsADirectoryError(errno.EISDIR, "a folder is in the way of the file", str(path))
    temps: dict[Path, Path] = {}
    try:
        for path, data in files.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temps[path] = _make_temp_file(path)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        crash_point(crash_name)
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except BaseException:
        for tmp in temps.values():
            tmp.unlink(missing_ok=True)
        raise
    for folder in {path.parent for path in temps}:
        _fsync_dir(folder)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _temp_sibling(final: Path, tag: str = "") -> Path:
    """A hidden name that readers skip and :func:`remove_leftovers` finds: ``.<name>.tmp-<tag><random>``."""
    return final.with_name(f".{final.name}.tmp-{tag}{secrets.token_hex(6)}")


def _make_temp_file(final: Path) -> tuple[int, Path]:
    """Create (O_EXCL) a temporary sibling file with the umask-respecting mode; return its fd and path."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(_TEMP_TRIES):
        tmp = _temp_sibling(final)
        try:
            return os.open(tmp, flags, FILE_MODE), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {final}")


def _make_temp_dir(final: Path) -> Path:
    """Create a temporary sibling directory with the umask-respecting mode."""
    for _ in range(_TEMP_TRIES):
        tmp = _temp_sibling(final)
        try:
            os.mkdir(tmp, DIR_MODE)
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary directory next to {final}")


def _check_replaceable(final: Path, overwrite: Overwrite) -> bool:
    """Raise FileExistsError if ``final`` exists and may not be replaced; return whether it exists."""
    if not final.exists():
        return False
    allowed = overwrite(final) if callable(overwrite) else overwrite
    if not allowed:
        raise FileExistsError(f"{final} already exists and may not be replaced")
    return True


def _replace(tmp: Path, final: Path, *, move_old_aside: bool) -> None:
    """Rename ``tmp`` to ``final``; with ``move_old_aside`` the existing ``final`` goes first.

    The old version is renamed away rather than deleted in place, so ``final`` is briefly absent
    but never half-deleted; a crash in between leaves it under a ``.tmp-old-`` name for
    :func:`remove_leftovers`. Without ``move_old_aside`` a ``final`` that appeared since the check
    is never removed: the rename fails on it instead.
    """
    old = _temp_sibling(final, "old-") if move_old_aside else None
    if old is not None:
        try:
            os.replace(final, old)
        except FileNotFoundError:
            old = None
    os.replace(tmp, final)
    _fsync_dir(final.parent)
    if old is not None:
        _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _fsync_tree(root: Path) -> None:
    """Flush every file and folder under ``root`` so the rename never publishes unwritten data."""
    for folder, _, files in os.walk(root):
        for name in files:
            if not (Path(folder) / name).is_symlink():
                _fsync_file(Path(folder) / name)
        _fsync_dir(Path(folder))


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    """fsync a directory so a rename in it survives a power cut; a no-op where that is unsupported."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # e.g. Windows cannot open a directory
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems (and platforms) refuse fsync on a directory
    finally:
        os.close(fd)


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

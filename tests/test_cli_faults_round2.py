"""Bad input and faults, second round, through the real CLI: broken plugins, figure files, empty results,
errors during progress output, and an interrupted ``generate`` run again.

Each case runs ``python -m noisebench ...`` in a subprocess (``run_cli``) and asserts the exit status,
exactly one stderr line starting with ``error:``, no traceback and, where files exist, that the folder's
checksum is unchanged. The broken plugins are the modules of ``tests/broken_plugins``.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.analysis.fake_runs import make_table, write_runs
from tests.conftest import run_cli

PNG, PDF = b"\x89PNG\r\n\x1a\n", b"%PDF"


def tree_digest(root: Path, *, hidden: bool = True) -> dict[str, str]:
    """Every file (by content) and folder under ``root``; ``hidden=False`` skips hidden temporary names."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
        if hidden or not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def assert_one_error_line(result: subprocess.CompletedProcess, *fragments: str, status: int = 2) -> str:
    """Exit ``status``, no traceback, and stderr exactly one ``error:`` line holding every fragment."""
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.returncode == status, (result.returncode, result.stderr)
    return lines[0]


@pytest.fixture(scope="module")
def finished_results(tmp_path_factory) -> Path:
    """A results folder of hand-made finished runs (CE and CE+SCL, clean and two temperatures)."""
    return write_runs(tmp_path_factory.mktemp("finished"), make_table(levels=(0.3, 0.9), seeds=2))


@pytest.fixture()
def workspace(tmp_path: Path, finished_results: Path, glue_dir: Path) -> Path:
    """A folder holding a copy of the finished results, a GLUE folder and an existing file (the cache
    folder, ``home(workspace)``, lies outside it)."""
    ws = tmp_path / "ws"
    shutil.copytree(finished_results, ws / "results")
    shutil.copytree(glue_dir, ws / "glue")
    (ws / "keep.txt").write_text("keep me\n")
    return ws


def home(ws: Path) -> Path:
    """NOISEBENCH_HOME for the commands run in ``ws``."""
    return ws.parent / "home"


# --------------------------------------------------------------------------- kind 1: plugins

PLUGIN_FAULTS = {
    "missing-module": ("tests.broken_plugins.absent", "no module named 'tests.broken_plugins.absent'"),
    "import-raises": ("tests.broken_plugins.raises", "failed to import: RuntimeError: the toy plugin is broken"),
    "family-name-taken": ("tests.broken_plugins.family_taken", "noise family 'temperature' is already registered"),
    "method-name-taken": ("tests.broken_plugins.method_taken", "method 'ce' is already registered"),
}

COMMANDS = {
    "help": lambda ws: ["--help"],
    "list": lambda ws: ["list"],
    "generate": lambda ws: ["generate", "--task", "sst2", "--data-dir", ws / "glue", "--temperature", "0.5", "--out", ws / "noise"],
    "train-help": lambda ws: ["train", "--help"],
    "plot": lambda ws: ["plot", "--results", ws / "results", "--out", ws / "figure.png"],
    "report": lambda ws: ["report", "--results", ws / "results", "--out", ws / "report.md"],
    "collect": lambda ws: ["collect", ws / "results"],
    "demo-help": lambda ws: ["demo", "--help"],
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fault", PLUGIN_FAULTS)
def test_a_broken_plugin_is_one_error_line_naming_it_for_every_command(workspace: Path, fault: str, command: str) -> None:
    plugin, reason = PLUGIN_FAULTS[fault]
    before = tree_digest(workspace)
    result = run_cli(*COMMANDS[command](workspace), home=home(workspace), plugins=plugin)
    assert_one_error_line(result, f"plugin {plugin!r}", reason)
    assert result.stdout == ""
    assert tree_digest(workspace) == before


# --------------------------------------------------------------------------- kind 2: plot --out FILE and --overwrite


@pytest.mark.parametrize("suffix, magic", [(".png", PNG), (".pdf", PDF), (".svg", b"<svg")])
def test_plot_out_with_a_figure_suffix_writes_that_one_format_there(workspace: Path, suffix: str, magic: bytes) -> None:
    out = workspace / "figures" / f"accuracy{suffix}"
    result = run_cli("plot", "--results", workspace / "results", "--out", out, home=home(workspace))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)
    assert magic in out.read_bytes()[:512]
    assert [p.name for p in out.parent.iterdir()] == [out.name]


@pytest.mark.parametrize("name", ["accuracy.jpg", "accuracy.txt", "accuracy.png.bak"])
def test_plot_out_with_another_suffix_is_refused_before_anything_is_written(workspace: Path, name: str) -> None:
    before = tree_digest(workspace)
    result = run_cli("plot", "--results", workspace / "results", "--out", workspace / name, home=home(workspace))
    assert_one_error_line(result, name, "must end in .png, .pdf, .svg")
    assert tree_digest(workspace) == before


def test_plot_overwrite_failing_on_a_pdf_leaves_its_png_as_it_was(workspace: Path) -> None:
    """A folder where accuracy_vs_noise.pdf should go: the error comes before its PNG is replaced."""
    figures = workspace / "figures"
    (figures / "accuracy_vs_noise.pdf").mkdir(parents=True)
    (figures / "accuracy_vs_noise.png").write_bytes(PNG + b"old figure")
    before = tree_digest(workspace)
    result = run_cli("plot", "--results", workspace / "results", "--out", figures, "--overwrite", home=home(workspace))
    assert_one_error_line(result, "accuracy_vs_noise.pdf")
    assert tree_digest(workspace) == before


def test_plot_overwrite_killed_while_publishing_keeps_the_old_pair_and_can_be_run_again(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    figures = workspace / "figures"
    figures.mkdir()
    (figures / "accuracy_vs_noise.png").write_bytes(PNG + b"old figure")
    (figures / "accuracy_vs_noise.pdf").write_bytes(PDF + b" old figure")
    before = tree_digest(figures)
    monkeypatch.setenv("NOISEBENCH_CRASH_AT", "figure-write")  # SIGKILL once both files are written under temporary names
    killed = run_cli("plot", "--results", workspace / "results", "--out", figures, "--overwrite", home=home(workspace))
    assert killed.returncode == -9, killed.stderr
    assert tree_digest(figures, hidden=False) == before
    monkeypatch.delenv("NOISEBENCH_CRASH_AT")
    again = run_cli("plot", "--results", workspace / "results", "--out", figures, "--overwrite", home=home(workspace))
    assert again.returncode == 0, again.stderr
    assert (figures / "accuracy_vs_noise.png").read_bytes().startswith(PNG) and b"old figure" not in (figures / "accuracy_vs_noise.png").read_bytes()
    assert b"old figure" not in (figures / "accuracy_vs_noise.pdf").read_bytes()


# --------------------------------------------------------------------------- kind 3: collect without finished runs


def _empty(root: Path) -> None:
    root.mkdir(parents=True)


def _unfinished_only(root: Path) -> None:
    """An unfinished run (no DONE) and a hidden half-published one."""
    write_runs(root, make_table(levels=(), seeds=2, methods=("ce",)))
    runs = sorted((root / "runs").iterdir())
    (runs[0] / "DONE").unlink()
    runs[1].rename(runs[1].with_name(f".{runs[1].name}.tmp-0123456789ab"))


def _old_table_no_runs(root: Path) -> None:
    """A results.parquet from before, but no run folder left: the old table must survive."""
    root.mkdir(parents=True)
    (root / "results.parquet").write_bytes(b"an old table")
    (root / "runs").mkdir()


@pytest.mark.parametrize("make", [_empty, _unfinished_only, _old_table_no_runs], ids=["empty", "unfinished-only", "old-table-no-runs"])
def test_collect_without_finished_runs_is_an_error_and_writes_nothing(tmp_path: Path, make) -> None:
    results = tmp_path / "ws" / "results"
    make(results)
    before = tree_digest(results.parent)
    result = run_cli("collect", results, home=tmp_path / "home")
    assert_one_error_line(result, f"no finished runs in {results}")
    assert tree_digest(results.parent) == before


# --------------------------------------------------------------------------- kind 4: errors after progress output


def test_a_failure_mid_progress_leaves_only_the_error_line_on_stderr(workspace: Path) -> None:
    """The first target rate is drawn (the bar is at 1/2) when the second turns out out of reach."""
    before = tree_digest(workspace)
    result = run_cli(
        "generate", "--task", "sst2", "--data-dir", workspace / "glue", "--target-rate", "0.1", "--target-rate", "0.99",
        "--out", workspace / "noise", home=home(workspace),
    )
    assert_one_error_line(result, "target_rate 0.99 is out of reach")
    assert tree_digest(workspace) == before


def test_a_bar_that_has_drawn_in_a_log_ends_its_line_before_the_error() -> None:
    """In a log, a bar already shown (here at once: no interval) is ended, not redrawn, when a command fails."""
    from noisebench.progress import close_open_bars, progress_bar

    log = io.StringIO()
    bar = progress_bar(total=4, desc="relabelling", file=log, log_interval_s=0.0)
    bar.update(1)
    close_open_bars()
    log.write("error: something\n")
    lines = log.getvalue().splitlines()
    assert lines[-1] == "error: something"
    assert "4/4" not in log.getvalue()  # no final state drawn for a failed command
    assert bar.disable


# --------------------------------------------------------------------------- kind 5: an interrupted generate, run again


def _generate(ws: Path, *extra: object) -> list[object]:
    return ["generate", "--task", "sst2", "--data-dir", ws / "glue", "--temperature", "0.3", "--temperature", "0.5", "--temperature", "0.9", "--out", ws / "noise", *extra]


@pytest.fixture()
def interrupted(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``generate`` of three levels, killed as it publishes the third: T0.3 and T0.5 are complete."""
    monkeypatch.setenv("NOISEBENCH_CRASH_AT", "artifact-write:3")
    killed = run_cli(*_generate(workspace), home=home(workspace))
    monkeypatch.delenv("NOISEBENCH_CRASH_AT")
    assert killed.returncode == -9, killed.stderr
    assert sorted(p.name for p in (workspace / "noise").iterdir() if not p.name.startswith(".")) == ["T0.3", "T0.5"]
    return workspace


def test_an_interrupted_generate_finishes_when_run_again_and_keeps_what_it_made(interrupted: Path) -> None:
    noise = interrupted / "noise"
    made = {name: tree_digest(noise / name) for name in ("T0.3", "T0.5")}
    result = run_cli(*_generate(interrupted), home=home(interrupted))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [str(noise / name) for name in ("T0.3", "T0.5", "T0.9")]
    assert [line.endswith("kept (made by an earlier run)") for line in lines] == [True, True, False]
    assert {name: tree_digest(noise / name) for name in ("T0.3", "T0.5")} == made
    assert sorted(p.name for p in noise.iterdir()) == ["T0.3", "T0.5", "T0.9"]  # the killed writer's temporary folder is gone
    assert json.loads((noise / "T0.9" / "noise.json").read_text())["params"] == {"temperature": 0.9}


def test_run_again_with_other_settings_is_refused_and_keeps_what_was_made(interrupted: Path) -> None:
    before = tree_digest(interrupted)
    result = run_cli(*_generate(interrupted, "--noise-seed", "1"), home=home(interrupted))
    assert_one_error_line(result, "T0.3 already exists and holds another artifact", "noise_seed 0, not 1")
    assert tree_digest(interrupted) == before


def test_run_again_over_a_damaged_artifact_is_refused_and_touches_nothing(interrupted: Path) -> None:
    labels = interrupted / "noise" / "T0.5" / "labels.parquet"
    labels.write_bytes(labels.read_bytes()[:-40])
    before = tree_digest(interrupted)
    result = run_cli(*_generate(interrupted), home=home(interrupted))
    assert_one_error_line(result, "T0.5 already exists and is not a complete noise artifact")
    assert tree_digest(interrupted) == before

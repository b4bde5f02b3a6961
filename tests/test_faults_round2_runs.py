"""Bad input and faults, second round (issue 21), on runs: unsound training runs are failed and never
published, damaged run files are one error line naming the run and file, library exceptions become one
line at their boundary, and a grid is validated completely before anything is written.

CLI cases run ``python -m noisebench ...`` (``run_cli``) and assert the exit status, exactly one stderr
line starting with ``error:``, no traceback and an unchanged checksum of the files that were there.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import subprocess
from pathlib import Path

import pytest

from noisebench.errors import DivergedError
from noisebench.schema import RunConfig
from tests.conftest import run_cli

TINY_RUN = {"task": "sst2", "n_train": 16, "epochs": 1, "batch_size": 8, "max_length": 16, "lr": 1e-3, "dev_limit": 16, "test_limit": 16}
TINY_FLAGS = ["--n-train", "16", "--epochs", "1", "--batch-size", "8", "--max-length", "16", "--lr", "1e-3", "--dev-limit", "16", "--test-limit", "16"]


def tree_digest(root: Path) -> dict[str, str]:
    """Every file (by content) and folder under ``root``."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(root.rglob("*"))}


def assert_one_error_line(result: subprocess.CompletedProcess, *fragments: str, status: int = 2, after_training: bool = False) -> str:
    """Exit ``status``, no traceback, and stderr exactly one ``error:`` line holding every fragment.

    ``after_training``: the error comes after a finished training run, whose progress bar logs its last
    state to stderr when that is not a terminal (``noisebench.progress``); those lines come before it.
    """
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    lines = result.stderr.strip().splitlines()
    if after_training:
        lines = [line for line in lines if not line.startswith("ce sst2 N=16: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    assert result.returncode == status, (result.returncode, result.stderr)
    return lines[0]


# --------------------------------------------------------------------------- kind 1: unsound runs

UNSOUND = {
    # q > 0 in float32 (a subnormal), but 1/q overflows: the first step's gradient is inf, the weights NaN
    "gce-tiny-q": ("gce", {"q": 1e-44}, "nan"),
    # α·CE + β·RCE over float32's largest finite value
    "sce-overflow": ("sce", {"alpha": 1e38, "beta": 1e38}, "inf"),
    # identically zero: nothing to learn from
    "sce-zero": ("sce", {"alpha": 0.0, "beta": 0.0}, "gradient is zero"),
}


@pytest.mark.parametrize("case", sorted(UNSOUND))
def test_an_unsound_run_fails_in_the_training_loop_naming_epoch_and_step(tiny_model_dir: Path, glue_dir: Path, case: str) -> None:
    from noisebench.train.run import run_training

    method, params, reason = UNSOUND[case]
    config = RunConfig(**TINY_RUN, model=str(tiny_model_dir), method=method, method_params=params)
    with pytest.raises(DivergedError, match=f"epoch 1 step \\d+: .*{reason}"):
        run_training(config, data_dir=glue_dir, progress=False)


def test_unsound_grid_runs_are_failed_with_the_reason_and_have_no_row(tiny_model_dir: Path, glue_dir: Path, tmp_path: Path) -> None:
    from noisebench.grid.runner import run_grid
    from noisebench.store.layout import is_done, run_path, traceback_path
    from noisebench.store.table import collect_table

    sound = RunConfig(**TINY_RUN, model=str(tiny_model_dir), method="ce")
    unsound = {case: RunConfig(**TINY_RUN, model=str(tiny_model_dir), method=m, method_params=p) for case, (m, p, _) in UNSOUND.items()}
    results = tmp_path / "results"
    summary = run_grid([sound, *unsound.values()], results, data_dir=glue_dir, progress=False)
    assert sorted(summary.failed) == sorted(c.run_id for c in unsound.values())
    for case, config in unsound.items():
        assert not is_done(run_path(results, config))
        assert "DivergedError" in traceback_path(results, config.run_id).read_text(), case
    assert collect_table(results)["run_id"].tolist() == [sound.run_id]


@pytest.mark.parametrize("case", sorted(UNSOUND))
def test_an_unsound_cli_run_is_one_error_line_and_publishes_nothing(tiny_model_dir: Path, glue_dir: Path, tmp_path: Path, case: str) -> None:
    method, params, reason = UNSOUND[case]
    results = tmp_path / "results"
    results.mkdir()
    (results / "keep.txt").write_text("keep me\n")
    before = tree_digest(results)
    flags = [item for name, value in params.items() for item in (f"--{name}", repr(value))]
    result = run_cli(
        "train", "--task", "sst2", "--data-dir", glue_dir, "--model", tiny_model_dir, *TINY_FLAGS, "--method", method, *flags, "--results", results,
        home=tmp_path / "home", offline=True,
    )
    assert_one_error_line(result, "epoch 1 step", reason)
    assert tree_digest(results) == before


@pytest.mark.parametrize(("method", "params", "shown"), [("gce", {"q": 1e-50}, "0.0 in float32"), ("sce", {"alpha": 1e39, "beta": 1.0}, "inf in float32")])
def test_a_hyper_parameter_outside_its_bounds_in_float32_is_a_config_error(method: str, params: dict[str, float], shown: str) -> None:
    from noisebench.errors import ConfigError

    with pytest.raises(ConfigError, match=shown):
        RunConfig(task="sst2", method=method, method_params=params)


def test_the_soundness_check_passes_a_sound_loss() -> None:
    import torch

    from noisebench.train.callbacks import Soundness

    net = torch.nn.Linear(2, 1)
    net(torch.ones(1, 2)).sum().backward()
    watcher = Soundness(net)
    watcher.on_epoch_start(1)
    watcher.on_after_backward()
    watcher.on_step_end(0.5)
    with pytest.raises(DivergedError, match="epoch 1 step 2"):
        watcher.on_step_end(math.inf)


# --------------------------------------------------------------------------- kind 2: run files

def _rewrite(name: str, change) -> callable:
    """A damage: the first run's ``name`` (config.json / metrics.json) replaced by ``change(its JSON)``, or by bytes."""

    def damage(run: Path) -> None:
        value = change(json.loads((run / name).read_text())) if callable(change) else change
        (run / name).write_bytes(value if isinstance(value, bytes) else json.dumps(value).encode())

    return damage


RUN_FILE_DAMAGE = {
    "config-empty": ("config.json", _rewrite("config.json", b""), "unreadable"),
    "metrics-empty": ("metrics.json", _rewrite("metrics.json", b""), "unreadable"),
    "config-list": ("config.json", _rewrite("config.json", lambda c: [c]), "holds a list"),
    "metrics-history-dict": ("metrics.json", _rewrite("metrics.json", lambda m: {**m, "history": {"epoch": 1}}), "history is {'epoch': 1}"),
    "metrics-history-row-text": ("metrics.json", _rewrite("metrics.json", lambda m: {**m, "history": ["epoch 1"]}), "history[0] is 'epoch 1'"),
    "metrics-history-loss-text": ("metrics.json", _rewrite("metrics.json", lambda m: {**m, "history": [{"epoch": 1, "train_loss": "low"}]}), "train_loss is 'low'"),
    "config-n-train-text": ("config.json", _rewrite("config.json", lambda c: {**c, "n_train": "100"}), "n_train is '100', expected an integer"),
    "config-method-number": ("config.json", _rewrite("config.json", lambda c: {**c, "method": 5}), "method is 5"),
    "config-params-list": ("config.json", _rewrite("config.json", lambda c: {**c, "method_params": [0.9]}), "method_params is [0.9]"),
    "metrics-best-epoch-text": ("metrics.json", _rewrite("metrics.json", lambda m: {**m, "best_epoch": "3"}), "best_epoch is '3'"),
}


@pytest.fixture(scope="module")
def fake_results(tmp_path_factory) -> Path:
    from tests.analysis.fake_runs import make_table, write_runs

    return write_runs(tmp_path_factory.mktemp("fake"), make_table(levels=(0.3,), seeds=2))


def _damaged_workspace(tmp_path: Path, fake_results: Path, case: str) -> tuple[Path, str, str]:
    """A copy of the fake results with the first run damaged: (results folder, its run id, the file)."""
    import shutil

    results = tmp_path / "ws" / "results"
    shutil.copytree(fake_results, results)
    run = sorted((results / "runs").iterdir())[0]
    name, damage, _ = RUN_FILE_DAMAGE[case]
    damage(run)
    return results, run.name, name


def _analysis_command(command: str, results: Path) -> list[object]:
    out = {"collect": [], "plot": ["--out", results.parent / "figure.png"], "report": ["--out", results.parent / "report.md"]}[command]
    return [command, results] if command == "collect" else [command, "--results", results, *out]


@pytest.mark.parametrize(("case", "command"), [
    *[(case, "collect") for case in sorted(RUN_FILE_DAMAGE)],
    ("config-empty", "plot"), ("metrics-history-dict", "plot"), ("config-n-train-text", "report"), ("metrics-history-row-text", "report"),
])
def test_a_damaged_run_file_is_one_error_line_naming_run_and_file(tmp_path: Path, fake_results: Path, case: str, command: str) -> None:
    results, run_id, name = _damaged_workspace(tmp_path, fake_results, case)
    before = tree_digest(results.parent)
    result = run_cli(*_analysis_command(command, results), home=tmp_path / "home")
    assert_one_error_line(result, f"run {run_id}: {name}", RUN_FILE_DAMAGE[case][2])
    assert tree_digest(results.parent) == before


@pytest.mark.parametrize("case", sorted(RUN_FILE_DAMAGE))
def test_every_reader_refuses_a_damaged_run_file(tmp_path: Path, fake_results: Path, case: str) -> None:
    from noisebench.errors import RunFileError
    from noisebench.store.table import collect_history, collect_table

    results, run_id, name = _damaged_workspace(tmp_path, fake_results, case)
    readers = [collect_table] + ([collect_history] if name == "metrics.json" else [])
    for reader in readers:
        with pytest.raises(RunFileError, match=f"run {run_id}: {name}"):
            reader(results)


@pytest.mark.parametrize("legacy", [False, True], ids=["today", "legacy"])
def test_sound_run_files_pass_the_validator(tmp_path: Path, legacy: bool) -> None:
    from noisebench.store.table import collect_history, collect_table
    from tests.analysis.fake_runs import make_table, write_runs

    results = write_runs(tmp_path, make_table(levels=(0.3,), seeds=2), legacy=legacy)
    assert len(collect_table(results)) == len(list((results / "runs").iterdir())) and not collect_history(results).empty


# --------------------------------------------------------------------------- kind 3: library exceptions at the boundary

def _unusable_text_data(root: Path, word) -> Path:
    """A GLUE-layout SST-2 whose sentences give tf-idf no vocabulary (``word(i, j)`` is the j-th word of row i)."""
    folder = root / "SST-2"
    folder.mkdir(parents=True)
    for name, n in (("train.tsv", 40), ("dev.tsv", 20)):
        rows = ["sentence\tlabel", *(f"{word(i, 0)} {word(i, 1)}\t{i % 2}" for i in range(n))]
        (folder / name).write_text("\n".join(rows) + "\n")
    return root


TFIDF_FAULTS = {
    "single-letters": (lambda i, j: "abcdefghij"[(i + j) % 10], "empty vocabulary"),  # tf-idf keeps words of 2+ characters
    "no-shared-word": (lambda i, j: f"w{i}x{j}", "no terms remain"),  # min_df=2: no word occurs in two examples
}


@pytest.mark.parametrize("case", sorted(TFIDF_FAULTS))
def test_a_weak_model_with_no_vocabulary_is_one_error_line(tmp_path: Path, case: str) -> None:
    word, reason = TFIDF_FAULTS[case]
    ws = tmp_path / "ws"
    _unusable_text_data(ws / "glue", word)
    before = tree_digest(ws)
    result = run_cli("generate", "--task", "sst2", "--data-dir", ws / "glue", "--temperature", "0.5", "--out", ws / "noise", home=tmp_path / "home")
    assert_one_error_line(result, "tfidf-logreg weak model cannot be fitted", reason)
    assert {k: v for k, v in tree_digest(ws).items() if not k.startswith("noise")} == before
    assert not list((ws / "noise").rglob("noise.json")) if (ws / "noise").exists() else True


def _model_with_config(tiny_model_dir: Path, folder: Path, **changes: object) -> Path:
    import shutil

    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))
    return folder


@pytest.mark.parametrize(("field", "value"), [("hidden_size", "32"), ("num_hidden_layers", [2])])
def test_a_model_config_of_the_wrong_type_is_a_model_error(tiny_model_dir: Path, tmp_path: Path, field: str, value: object) -> None:
    from noisebench.errors import ModelError
    from noisebench.train.encoder import check_model

    model = _model_with_config(tiny_model_dir, tmp_path / "bad-model", **{field: value})
    with pytest.raises(ModelError, match=f"cannot load model .*{field}"):
        check_model(str(model), 2)


def test_a_model_config_of_the_wrong_type_is_one_error_line_before_training(tiny_model_dir: Path, glue_dir: Path, tmp_path: Path) -> None:
    model = _model_with_config(tiny_model_dir, tmp_path / "bad-model", hidden_size="32")
    results = tmp_path / "results"
    results.mkdir()
    (results / "keep.txt").write_text("keep me\n")
    before = tree_digest(results)
    result = run_cli("train", "--task", "sst2", "--data-dir", glue_dir, "--model", model, *TINY_FLAGS, "--method", "ce", "--results", results,
                     home=tmp_path / "home", offline=True)
    assert_one_error_line(result, f"cannot load model '{model}'", "hidden_size")
    assert tree_digest(results) == before


def test_a_full_disk_while_saving_the_model_is_one_line_and_keeps_the_metrics(tiny_model_dir: Path, glue_dir: Path, tmp_path: Path) -> None:
    from noisebench.store.layout import is_done, is_failed

    results = tmp_path / "results"
    result = run_cli("train", "--task", "sst2", "--data-dir", glue_dir, "--model", tiny_model_dir, *TINY_FLAGS, "--method", "ce", "--save-model",
                     "--results", results, home=tmp_path / "home", offline=True, plugins="tests.broken_plugins.disk_full")
    line = assert_one_error_line(result, "writing it failed (No space left on device)", "marked FAILED with its metrics kept in", after_training=True)
    run = next((results / "runs").iterdir())
    assert not is_done(run) and is_failed(run) and not (run / "model").exists()
    assert str(run / "metrics.json") in line
    assert 0.0 <= json.loads((run / "metrics.json").read_text())["test_accuracy"] <= 1.0


def test_a_full_disk_while_saving_a_grid_runs_model_fails_it_keeping_the_metrics(tiny_model_dir: Path, glue_dir: Path, tmp_path: Path,
                                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from noisebench.grid.runner import run_grid
    from noisebench.store.layout import is_failed, run_path, traceback_path
    from noisebench.train.encoder import FineTuned

    def full_disk(self: FineTuned, folder: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(FineTuned, "save", full_disk)
    config = RunConfig(**TINY_RUN, model=str(tiny_model_dir), method="ce", save_model=True)
    results = tmp_path / "results"
    summary = run_grid([config], results, data_dir=glue_dir, progress=False)
    assert summary.failed == [config.run_id]
    run = run_path(results, config)
    assert is_failed(run) and "No space left on device" in traceback_path(results, config.run_id).read_text()
    assert "test_accuracy" in json.loads((run / "metrics.json").read_text())


# --------------------------------------------------------------------------- kind 4: a grid validated before the first write

GRID_BASE = """\
name: faults
tasks: [sst2]
model: {model}
n_train: [{n_train}]
methods: [ce]
seeds: {{data: [0], noise: [0], train: [0]}}
training: {{epochs: 1, batch_size: 8, max_length: 16}}
evaluation: {{dev_limit: 16, test_limit: 16}}
noise: {noise}
"""

GRID_FAULTS = {
    "annotator-without-raters": (16, "{family: annotator, levels: [3]}", ["task sst2, noise annotator k=3", "needs each example's rater labels"]),
    "unreachable-target-rate": (16, "{family: temperature, target_rates: [0.9]}", ["task sst2, noise temperature", "target_rate 0.9 is out of reach"]),
    "n-over-the-pool": (5000, "{family: uniform, levels: [0.2]}", ["n_train=5000 is larger than sst2's train pool"]),
    "same-setting-twice": (16, "[{family: temperature, levels: [0.5]}, {family: temperature, levels: [0.5], weak_fit: in-sample, weak_model: tfidf-logreg}]",
                           ["runs 1 and 2 are the same run", "once defaults are filled in"]),
    "n-relabel-over-the-pool": (16, "{family: uniform, levels: [0.2], n_relabel: 100000}", ["n_relabel=100000 must be between 1 and the pool size"]),
}


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "run"])
@pytest.mark.parametrize("case", sorted(GRID_FAULTS))
def test_a_grid_the_data_cannot_take_is_one_error_line_before_anything_is_written(tiny_model_dir: Path, glue_dir: Path, tmp_path: Path,
                                                                                  case: str, dry_run: bool) -> None:
    n_train, noise, fragments = GRID_FAULTS[case]
    grid = tmp_path / "grid.yaml"
    grid.write_text(GRID_BASE.format(model=tiny_model_dir, n_train=n_train, noise=noise))
    results = tmp_path / "results"
    results.mkdir()
    (results / "keep.txt").write_text("keep me\n")
    before = tree_digest(results)
    result = run_cli("train", "--grid", grid, *(["--dry-run"] if dry_run else []), "--data-dir", glue_dir, "--results", results,
                     home=tmp_path / "home", offline=True)
    assert_one_error_line(result, *fragments)
    assert tree_digest(results) == before

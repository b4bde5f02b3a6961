"""Bring your own data through the real CLI: a tasks file (3-class CSV, sentence-pair JSONL) and a plugin task.

generate → train → a grid with ``task_files:`` → plot and report, as subprocesses, with no package file
edited: the tasks come from files this test writes and from this module as a plugin.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from noisebench.data.tasks import TaskData, TaskSpec, register_task
from tests.conftest import run_cli
from tests.declared_files import write_tasks_file
from tests.multiclass import toy_task

PLUGIN_TASK = "plugin-4class"


def _plugin_task(**_: object) -> TaskData:
    return toy_task(("w", "x", "y", "z"), pool_per_class=30, name=PLUGIN_TASK)


register_task(TaskSpec(PLUGIN_TASK, ("w", "x", "y", "z"), False, "a 4-class task from a plugin module (toy)", _plugin_task, source="plugin tests.test_tasks_file_cli"))


def nb(*args: object, home: Path, plugin: bool = False) -> subprocess.CompletedProcess:
    return run_cli(*args, home=home, plugins="tests.test_tasks_file_cli" if plugin else None, offline=True)


def _ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_model_dir):
    root = tmp_path_factory.mktemp("byod")
    tasks = write_tasks_file(root / "data")
    home = root / "home"
    train = ["--model", tiny_model_dir, "--epochs", "1", "--batch-size", "8", "--lr", "1e-3", "--max-length", "24", "--results", root / "results"]
    out = {}
    for task in ("mine", "pairs"):
        out[task] = _ok(nb("generate", "--tasks-file", tasks, "--task", task, "--target-rate", "0.2", "--out", root / "noise" / task, home=home))
        _ok(nb("train", "--tasks-file", tasks, "--task", task, "--noise", root / "noise" / task / "target0.2", "--method", "ce-scl", "--n-train", "30", *train, home=home))
    return {"root": root, "tasks": tasks, "home": home, "train": train, "generate": out}


@pytest.mark.slow
def test_generate_reaches_the_target_rate_on_a_three_class_csv_and_a_pair_jsonl(workspace) -> None:
    for task, classes in (("mine", ["mixed", "negative", "positive"]), ("pairs", ["different", "same"])):
        meta = json.loads((workspace["root"] / "noise" / task / "target0.2" / "noise.json").read_text())
        assert meta["task"] == task and meta["transition_matrix"]["labels"] == classes
        counts = meta["transition_matrix"]["counts"]
        assert len(counts) == len(classes) and all(len(row) == len(classes) for row in counts)
        assert abs(meta["expected_noise_rate"] - 0.2) < 1e-6  # calibrated exactly; the draw is within 3 binomial sd
        assert abs(meta["realized_noise_rate"] - 0.2) < 3 * (0.2 * 0.8 / meta["n_examples"]) ** 0.5


@pytest.mark.slow
def test_train_on_a_declared_task_records_its_classes(workspace) -> None:
    runs = sorted((workspace["root"] / "results" / "runs").glob("*/metrics.json"))
    tasks = {json.loads((p.parent / "config.json").read_text())["task"] for p in runs}
    assert tasks == {"mine", "pairs"} and all((p.parent / "DONE").exists() for p in runs)


@pytest.mark.slow
def test_a_grid_with_task_files_runs_and_its_report_shows_the_three_by_three_matrix(workspace, tmp_path) -> None:
    root = workspace["root"]
    grid = root / "data" / "grid.yaml"
    grid.write_text(
        "name: byod\n"
        "task_files: [tasks.yaml]\n"
        "tasks: [mine]\n"
        f"model: {workspace['train'][1]}\n"
        "n_train: [30]\n"
        "noise: {family: uniform, target_rates: [0.3], include_clean: true}\n"
        "methods: [ce, ce-scl]\n"
        "seeds: {data: [0], noise: [0], train: [0]}\n"
        "training: {epochs: 1, batch_size: 8, lr: 1.0e-3, max_length: 24}\n"
    )
    results = tmp_path / "grid-results"
    _ok(nb("train", "--grid", grid, "--results", results, "--jobs", "2", home=workspace["home"]))
    table = pd.read_parquet(results / "results.parquet")
    assert set(table["task"]) == {"mine"} and len(table) == 4
    noise = json.loads(next((results / "noise" / "mine").glob("*/*/noise.json")).read_text())
    assert noise["transition_matrix"]["labels"] == ["mixed", "negative", "positive"]
    report = tmp_path / "report.md"
    _ok(nb("report", "--results", results, "--out", report, home=workspace["home"]))
    text = report.read_text()
    assert "mine" in text
    figures = list((tmp_path / "report-figures").rglob("*.png"))
    assert any(p.name.startswith("transition") and "mine" in p.name for p in figures), [p.name for p in figures]


@pytest.mark.slow
@pytest.mark.parametrize("task", ["mine", "pairs"])
def test_the_encoder_probe_labeller_relabels_a_declared_task(workspace, tiny_model_dir, task) -> None:
    out = workspace["root"] / "probe" / task
    _ok(nb("generate", "--tasks-file", workspace["tasks"], "--task", task, "--weak-model", "encoder-probe", "--weak-encoder",
           tiny_model_dir, "--temperature", "0.5", "--out", out, home=workspace["home"]))
    (artifact,) = out.iterdir()
    meta = json.loads((artifact / "noise.json").read_text())
    weak = meta["weak_model"]
    assert weak["kind"] == "encoder-probe" and weak["options"]["encoder"] == str(tiny_model_dir) and weak["fit"] == "in-sample"
    assert 0.0 <= weak["dev_accuracy"] <= 1.0 and meta["realized_noise_rate"] > 0.0


@pytest.mark.slow
def test_annotator_noise_from_a_declared_rater_table(workspace) -> None:
    out = workspace["root"] / "raters"
    _ok(nb("generate", "--tasks-file", workspace["tasks"], "--task", "mine", "--family", "annotator", "--raters", "1", "--out", out, home=workspace["home"]))
    meta = json.loads((out / "k1" / "noise.json").read_text())
    labels = pd.read_parquet(out / "k1" / "labels.parquet")
    raters = pd.read_csv(workspace["root"] / "data" / "mine-raters.csv", keep_default_na=False)
    names = meta["transition_matrix"]["labels"]
    votes = raters.groupby("id")["label"].agg(list)

    def flip(example: str, clean: int) -> float:  # one rater drawn: their class, or a fair 3-way coin if they abstained
        given = votes[example]
        return sum((v != names[clean]) if v else 2 / 3 for v in given) / len(given)

    expected = sum(flip(i, c) for i, c in zip(labels["id"], labels["label_clean"])) / len(labels)
    assert meta["expected_noise_rate"] == pytest.approx(expected, abs=1e-12) and len(labels) == meta["n_examples"]


def test_list_shows_declared_tasks_beside_the_built_in_ones(tmp_path) -> None:
    tasks = write_tasks_file(tmp_path)
    listing = _ok(nb("list", "tasks", "--tasks-file", tasks, home=tmp_path / "home"))
    rows = {line.split()[0]: line for line in listing.splitlines()[1:]}
    assert {"mine", "pairs", "rt-polarity", "ag-news", "trec"} <= set(rows)
    assert "3 classes" not in rows["mine"] and "classes from its data" in rows["mine"]
    assert "sentence pairs" in rows["pairs"] and "6 classes (ABBR, ENTY, DESC, HUM, LOC, NUM)" in rows["trec"]


def test_a_task_from_a_plugin_module_generates_with_no_package_file_edited(tmp_path) -> None:
    out = tmp_path / "noise"
    _ok(nb("generate", "--task", PLUGIN_TASK, "--family", "uniform", "--target-rate", "0.25", "--out", out, home=tmp_path / "home", plugin=True))
    meta = json.loads((out / "target0.25" / "noise.json").read_text())
    assert meta["transition_matrix"]["labels"] == ["w", "x", "y", "z"] and abs(meta["expected_noise_rate"] - 0.25) < 1e-9


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("generate", "--task", "mine", "--target-rate", "0.2", "--out", "OUT"), "unknown task 'mine'"),
        (("generate", "--tasks-file", "MISSING", "--task", "mine", "--target-rate", "0.2", "--out", "OUT"), "tasks file not found"),
        (("generate", "--tasks-file", "BAD", "--task", "mine", "--target-rate", "0.2", "--out", "OUT"), "no label column 'grade'"),
        (("generate", "--task", "ag-news", "--target-rate", "0.2", "--out", "OUT"), "save_to_disk"),
    ],
)
def test_bad_tasks_input_is_one_error_line_and_writes_nothing(tmp_path, args, fragment) -> None:
    tasks = write_tasks_file(tmp_path / "data")
    bad = tmp_path / "data" / "bad.yaml"
    bad.write_text("- {name: mine, files: {train: mine.csv}, text: sentence, label: grade}\n")
    swap = {"OUT": tmp_path / "out", "MISSING": tmp_path / "nope.yaml", "BAD": bad}
    result = nb(*(swap.get(a, a) for a in args), home=tmp_path / "home")
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.stderr
    assert not (tmp_path / "out").exists() and tasks.exists()

"""The CLI as a user runs it: real subprocesses, real files, one-line errors that damage nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_sst2


def nb(*args: str, env_home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NOISEBENCH_HOME": str(env_home), "TQDM_DISABLE": "1"}
    env.pop("NOISEBENCH_GLUE_DIR", None)
    return subprocess.run([sys.executable, "-m", "noisebench", *map(str, args)], capture_output=True, text=True, env=env, timeout=300)


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_one_line_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_model_dir):
    """generate → train (ce and ce-scl) → plot, once for the module."""
    root = tmp_path_factory.mktemp("cli")
    glue = write_sst2(root / "glue")
    home = root / "home"
    gen = nb("generate", "--task", "sst2", "--data-dir", glue, "--temperature", "0.2", "--temperature", "2.0", "--out", root / "noise", env_home=home)
    assert gen.returncode == 0, gen.stderr
    common = ["--task", "sst2", "--data-dir", glue, "--model", tiny_model_dir, "--n-train", "32", "--epochs", "1", "--batch-size", "8", "--lr", "1e-3", "--max-length", "16", "--results", root / "results"]
    for noise in ("T0.2", "T2"):
        for method in ("ce", "ce-scl"):
            run = nb("train", "--noise", root / "noise" / noise, "--method", method, *common, env_home=home)
            assert run.returncode == 0, run.stderr
    return {"root": root, "glue": glue, "home": home, "common": common, "generate_stdout": gen.stdout}


def test_generate_prints_realised_rates_per_temperature(workspace):
    lines = workspace["generate_stdout"].strip().splitlines()
    assert len(lines) == 2 and all("realised noise" in line for line in lines)
    assert (workspace["root"] / "noise" / "T0.2" / "noise.json").is_file()


def test_train_writes_one_run_directory_per_config(workspace):
    runs = [p for p in (workspace["root"] / "results" / "runs").iterdir() if (p / "DONE").exists()]
    assert len(runs) == 4


def test_plot_writes_a_png(workspace):
    out = workspace["root"] / "figs" / "acc.png"
    result = nb("plot", "--results", workspace["root"] / "results", "--out", out, env_home=workspace["home"])
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rerunning_a_finished_run_is_refused_and_keeps_it(workspace):
    results = workspace["root"] / "results"
    before = tree_digest(results)
    again = nb("train", "--noise", workspace["root"] / "noise" / "T0.2", "--method", "ce", *workspace["common"], env_home=workspace["home"])
    assert_one_line_error(again, "already exists")
    assert tree_digest(results) == before


def test_generate_into_an_existing_artifact_is_refused_and_keeps_it(workspace):
    """The same folder name with other settings (another noise seed); the same settings keep it (a re-run)."""
    noise = workspace["root"] / "noise"
    before = tree_digest(noise)
    result = nb("generate", "--task", "sst2", "--data-dir", workspace["glue"], "--temperature", "0.2", "--noise-seed", "1", "--out", noise, env_home=workspace["home"])
    assert_one_line_error(result, "already exists")
    assert tree_digest(noise) == before


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["generate", "--task", "nope", "--temperature", "0.5"], "unknown task"),
        (["generate", "--task", "sst2", "--temperature", "0"], "temperature must be in (0, inf), got 0.0"),
        (["generate", "--task", "sst2", "--temperature", "-1"], "temperature must be in (0, inf)"),
        (["generate", "--task", "sst2", "--temperature", "inf"], "temperature must be in (0, inf), got inf"),
        (["generate", "--task", "sst2", "--family", "gaussian", "--temperature", "1"], "unknown noise family 'gaussian'"),
        (["generate", "--task", "sst2", "--family", "uniform", "--temperature", "0.5"], "--temperature does not apply to noise family uniform"),
        (["generate", "--task", "sst2", "--family", "uniform"], "give at least one --rate or --target-rate"),
        (["generate", "--task", "sst2", "--target-rate", "1.5"], "target_rate must be in [0, 1], got 1.5"),
        (["generate", "--task", "sst2", "--temperature", "1", "--weak-fit", "magic"], "unknown weak-model fit 'magic'"),
        (["generate", "--task", "sst2", "--family", "uniform", "--rate", "0.1", "--weak-fit", "held-out"], "uses no weak model"),
        (["generate", "--task", "sst2", "--temperature", "0.5", "--temperature", "0.50"], "a level is listed twice"),
        (["generate", "--task", "sst2", "--temperature", "0.5", "--noise-seed", "-1"], "noise_seed must be an integer >= 0"),
    ],
)
def test_bad_generate_input_is_one_line_error(workspace, tmp_path, args, fragment):
    result = nb(*args, "--data-dir", workspace["glue"], "--out", tmp_path / "out", env_home=workspace["home"])
    assert_one_line_error(result, fragment)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "extra, fragment",
    [
        (["--method", "ce-scl", "--lam", "1.5"], "lam must be in [0, 1]"),
        (["--method", "ce-scl", "--lam", "-0.2"], "lam must be in [0, 1]"),
        (["--method", "ce-scl", "--tau", "0"], "tau must be in (0, inf)"),
        (["--method", "ce", "--lam", "0.5", "--tau", "5"], "method ce takes no hyper-parameters; got lam, tau"),
        (["--method", "sgd"], "unknown method 'sgd'"),
        (["--lr", "inf"], "lr: must be finite"),
        (["--train-seed", "-1"], "train_seed: must be >= 0"),
        (["--n-train", "100000"], "larger than the train pool"),
        (["--n-train", "1"], "smaller than the number of classes"),
    ],
)
def test_bad_train_input_is_one_line_error(workspace, tmp_path, extra, fragment):
    common = [a if a != workspace["root"] / "results" else tmp_path / "r" for a in workspace["common"]]
    result = nb("train", *common, *extra, env_home=workspace["home"])
    assert_one_line_error(result, fragment)
    assert not list((tmp_path / "r" / "runs").glob("*/DONE")) if (tmp_path / "r").exists() else True


def test_artifact_from_another_task_is_rejected(workspace, tmp_path):
    (tmp_path / "glue" / "RTE").mkdir(parents=True)
    rows = ["index\tsentence1\tsentence2\tlabel"] + [f"{i}\tgood film {i}\tgood {i}\t{'entailment' if i % 2 else 'not_entailment'}" for i in range(80)]
    for name in ("train.tsv", "dev.tsv"):
        (tmp_path / "glue" / "RTE" / name).write_text("\n".join(rows) + "\n")
    args = ["train", "--task", "rte", "--data-dir", tmp_path / "glue", "--noise", workspace["root"] / "noise" / "T0.2", "--n-train", "8", "--model", "unused", "--results", tmp_path / "r"]
    assert_one_line_error(nb(*args, env_home=workspace["home"]), "was made for task 'sst2'")


def test_malformed_glue_row_names_file_and_line(tmp_path):
    glue = write_sst2(tmp_path / "glue")
    train = glue / "SST-2" / "train.tsv"
    lines = train.read_text().splitlines()
    lines[5] = "a row without a label"
    train.write_text("\n".join(lines) + "\n")
    result = nb("generate", "--task", "sst2", "--data-dir", glue, "--temperature", "0.5", "--out", tmp_path / "out", env_home=tmp_path / "home")
    assert_one_line_error(result, "line 6")
    assert not (tmp_path / "out").exists()


def test_glue_dir_missing_a_file_is_one_line_error(tmp_path):
    glue = write_sst2(tmp_path / "glue")
    (glue / "SST-2" / "train.tsv").unlink()
    result = nb("generate", "--task", "sst2", "--data-dir", glue, "--temperature", "0.5", "--out", tmp_path / "out", env_home=tmp_path / "home")
    assert_one_line_error(result, "train.tsv")


def test_every_command_has_help(tmp_path):
    for command in ("generate", "train", "plot", "report", "collect", "demo"):
        result = nb(command, "--help", env_home=tmp_path)
        assert result.returncode == 0 and "Usage:" in result.stdout


def test_plot_into_a_folder_makes_every_supported_figure(workspace):
    out = workspace["root"] / "all-figures"
    result = nb("plot", "--results", workspace["root"] / "results", "--out", out, env_home=workspace["home"])
    assert result.returncode == 0, result.stderr
    names = {p.name for p in out.glob("*.png")}
    assert {"accuracy_vs_noise.png", "noise_rate_vs_temperature.png"} <= names


def test_report_writes_markdown_with_statistics(workspace):
    out = workspace["root"] / "report" / "report.md"
    result = nb("report", "--results", workspace["root"] / "results", "--out", out, env_home=workspace["home"])
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "sst2" in text and "Comparison with the paper" in text
    assert (out.parent / "report-figures" / "accuracy_vs_noise.png").is_file()


def test_plot_and_report_on_an_empty_results_dir_are_one_line_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_one_line_error(nb("plot", "--results", tmp_path / "empty", "--out", tmp_path / "x.png", env_home=tmp_path), "no finished runs")
    assert_one_line_error(nb("report", "--results", tmp_path / "empty", "--out", tmp_path / "r.md", env_home=tmp_path), "no finished runs")

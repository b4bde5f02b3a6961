"""Tests for the predictions weak labeller (a user's probabilities file, checked) through the API and the real CLI,
and for every bad weak-labeller input on ``generate``: one error line, exit status 2, nothing written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.data.tasks import load_task
from noisebench.errors import DataError
from noisebench.noise.weak import get_labeller, weak_scores
from tests.conftest import write_sst2

REPO = Path(__file__).resolve().parents[2]
LABELS = ("negative", "positive")


def _probabilities(ids: list[str], seed: int = 0) -> pd.DataFrame:
    p = np.random.default_rng(seed).uniform(0.05, 0.95, size=len(ids))
    return pd.DataFrame({"id": ids, "prob_negative": 1.0 - p, "prob_positive": p})


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> dict[str, object]:
    """A tiny GLUE SST-2 folder and its task's ids (the pool is what generate relabels)."""
    root = tmp_path_factory.mktemp("predictions")
    glue = write_sst2(root / "glue")
    task = load_task("sst2", data_dir=glue)
    return {"root": root, "glue": glue, "task": task}


def _scores(task, path: Path, fit: str):
    return weak_scores(task.pool, fit=fit, weak_train=task.weak_train, dev=task.dev, labeller=get_labeller("predictions"),
                       options={"file": str(path)}, label_names=task.label_names)


# ------------------------------------------------------------------ the labeller


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_scores_are_the_files_log_probabilities_in_the_frames_order(workspace, tmp_path, suffix) -> None:
    task = workspace["task"]
    table = _probabilities(list(task.pool["id"])[::-1])
    path = tmp_path / f"p{suffix}"
    table.to_csv(path, index=False) if suffix == ".csv" else table.to_parquet(path, index=False)
    scores = _scores(task, path, "in-sample")
    expected = np.log(table.set_index("id").loc[task.pool["id"], ["prob_negative", "prob_positive"]].to_numpy())
    np.testing.assert_allclose(scores.log_probs, expected, rtol=1e-12)
    assert scores.fit_accuracy == pytest.approx(np.mean(expected.argmax(1) == task.pool["label"].to_numpy()))
    assert scores.fitted is False and scores.train_size == 0
    assert scores.provenance == {"sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def test_every_fit_mode_gives_the_same_scores(workspace, tmp_path) -> None:
    task = workspace["task"]
    path = tmp_path / "p.csv"
    _probabilities(list(task.pool["id"])).to_csv(path, index=False)
    first = _scores(task, path, "in-sample")
    for fit in ("held-out", "cross-fit"):
        other = _scores(task, path, fit)
        np.testing.assert_array_equal(other.log_probs, first.log_probs)
        assert other.fit == fit and other.dev_accuracy is None  # the file covers no dev example


def test_class_index_columns_and_dev_accuracy_on_the_covered_dev_ids(workspace, tmp_path) -> None:
    task = workspace["task"]
    dev = task.dev.iloc[:10]
    right = pd.DataFrame({"id": dev["id"], "prob_0": (dev["label"] == 0).astype(float), "prob_1": (dev["label"] == 1).astype(float)})
    path = tmp_path / "p.csv"
    pd.concat([_probabilities(list(task.pool["id"])).set_axis(["id", "prob_0", "prob_1"], axis=1), right]).to_csv(path, index=False)
    scores = _scores(task, path, "held-out")
    assert scores.dev_accuracy == 1.0  # measured on the 10 covered dev examples only, all predicted right


def test_a_class_the_file_never_predicts_gets_minus_infinity(workspace, tmp_path) -> None:
    task = workspace["task"]
    path = tmp_path / "p.csv"
    pd.DataFrame({"id": task.pool["id"], "prob_negative": 1.0, "prob_positive": 0.0}).to_csv(path, index=False)
    log_probs = _scores(task, path, "in-sample").log_probs
    assert np.isneginf(log_probs[:, 1]).all() and (log_probs[:, 0] == 0).all()


# ------------------------------------------------------------------ through the CLI


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NOISEBENCH_GLUE_DIR"}
    return env | {"NOISEBENCH_HOME": str(root / "home"), "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1",
                  "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))}


def _generate(workspace, out: Path, *args: object) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "noisebench", "generate", "--task", "sst2", "--data-dir", workspace["glue"],
               "--temperature", "0.5", "--out", out, *args]
    return subprocess.run(list(map(str, command)), capture_output=True, text=True, env=_env(workspace["root"]), cwd=workspace["root"], timeout=300)


def _tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir" for p in sorted(root.rglob("*"))}


def test_generate_with_a_predictions_file_records_the_labeller_in_noise_json(workspace) -> None:
    task, root = workspace["task"], workspace["root"]
    path = root / "good.csv"
    pd.concat([_probabilities(list(task.pool["id"])), _probabilities(list(task.dev["id"][:5]), seed=1)]).to_csv(path, index=False)
    result = _generate(workspace, root / "noise", "--weak-model", "predictions", "--weak-predictions", path)
    assert result.returncode == 0, result.stderr
    (artifact,) = (root / "noise").iterdir()
    assert artifact.name.startswith("T0.5-predictions-")
    weak = json.loads((artifact / "noise.json").read_text())["weak_model"]
    assert weak["kind"] == "predictions" and weak["options"] == {"file": str(path)}
    assert weak["fitted"] is False and weak["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert weak["dev_accuracy"] is not None and "every fit mode gives the same scores" in weak["note"]


def _write(path: Path, content: pd.DataFrame | bytes) -> Path:
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif path.suffix == ".csv":
        content.to_csv(path, index=False)
    else:
        content.to_parquet(path, index=False)
    return path


def _bad_files(task) -> dict[str, tuple[str, pd.DataFrame | bytes, str]]:
    """case -> (file name, content, what the error line must say)."""
    good = _probabilities(list(task.pool["id"]))
    unnormalised = good.copy()
    unnormalised.loc[3, "prob_positive"] += 0.01
    return {
        "missing-ids": ("missing.csv", good.iloc[5:], f"no row for 5 of the {len(task.pool)} examples"),
        "row-not-summing-to-1": ("sum.csv", unnormalised, f"do not sum to 1 (tolerance 1e-06), e.g. id {good['id'][3]}"),
        "negative": ("negative.csv", good.assign(prob_negative=-0.5, prob_positive=1.5), "a negative probability"),
        "three-class-columns": ("three.csv", good.assign(prob_neutral=0.0), "3 probability columns (prob_negative, prob_positive, prob_neutral) for a task with 2 classes"),
        "no-id-column": ("noid.csv", good.drop(columns="id"), "no id column"),
        "duplicate-id": ("dup.csv", pd.concat([good, good.iloc[:1]]), "appears more than once"),
        "empty-file": ("empty.csv", b"", "the file is empty"),
        "header-only": ("header.csv", b"id,prob_negative,prob_positive\n", "no rows"),
        "unreadable-parquet": ("garbage.parquet", b"not a parquet file at all", "unreadable as parquet"),
        "wrong-extension": ("p.json", b"{}", "expected a .csv or .parquet file"),
    }


CASES = ["missing-ids", "row-not-summing-to-1", "negative", "three-class-columns", "no-id-column", "duplicate-id",
         "empty-file", "header-only", "unreadable-parquet", "wrong-extension", "file-not-found", "unknown-labeller",
         "option-of-another-labeller", "predictions-without-a-file", "encoder-not-loadable"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_error_line_exit_2_and_nothing_written(workspace, case) -> None:
    root = workspace["root"]
    bad = _bad_files(workspace["task"])
    folder = root / "bad" / case
    folder.mkdir(parents=True)
    if case in bad:
        name, content, fragment = bad[case]
        args: tuple[object, ...] = ("--weak-model", "predictions", "--weak-predictions", _write(folder / name, content))
    else:
        args, fragment = {
            "file-not-found": (("--weak-model", "predictions", "--weak-predictions", folder / "nope.csv"), "nope.csv: not found"),
            "unknown-labeller": (("--weak-model", "oracle"), "unknown weak labeller 'oracle'"),
            "option-of-another-labeller": (("--weak-model", "predictions", "--weak-encoder", "x"), "--weak-encoder does not apply to weak labeller predictions"),
            "predictions-without-a-file": (("--weak-model", "predictions"), "weak labeller predictions needs option file"),
            "encoder-not-loadable": (("--weak-model", "encoder-probe", "--weak-encoder", folder / "no-model"), "no-model"),
        }[case]
    before = _tree(root)
    result = _generate(workspace, folder / "out", *args)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    assert fragment in lines[0], lines[0]
    assert _tree(root) == before and not (folder / "out").exists()


def test_the_error_names_the_file(workspace, tmp_path) -> None:
    path = _write(tmp_path / "p.csv", _probabilities(["a", "b"]).drop(columns="id"))
    with pytest.raises(DataError, match=f"predictions file {path}: no id column"):
        get_labeller("predictions").fit(workspace["task"].pool, label_names=LABELS, seed=0, options={"file": str(path)})

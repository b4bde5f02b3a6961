"""Bad input and faults through the real CLI: one `error:` line, exit status 2, nothing already written touched.

Each case runs ``python -m noisebench ...`` in a subprocess against one shared workspace (a tiny GLUE
folder, a tiny local BERT, a noise artifact, a finished run, damaged copies of each, and fake cached
assets in NOISEBENCH_HOME) and asserts:

- exit status 2 (click's usage errors too: the CLI prints them as one `error:` line with exit 2);
- stderr is exactly one line, ``error: ...``, naming the bad thing, and no traceback anywhere;
- every file and folder of the workspace is unchanged (hashed before and after).

Damaged run files stop plot/report/collect with one line naming the run (a silently dropped run would
change the paired statistics); existing outputs are refused unless --overwrite.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

from noisebench.assets import STAMP_NAME, write_stamp
from tests.conftest import write_sst2

REPO = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
TINY = ["--n-train", "16", "--epochs", "1", "--batch-size", "8", "--max-length", "16", "--lr", "1e-3"]


def _env(home: Path, hf_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOISEBENCH_GLUE_DIR", "NOISEBENCH_CRASH_AT", "PIP_FIND_LINKS")}
    return env | {
        "NOISEBENCH_HOME": str(home), "TQDM_DISABLE": "1", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(hf_home), "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def nb(ws: SimpleNamespace, *args: object, home: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "noisebench", *map(str, args)], capture_output=True, text=True,
        env=_env(home or ws.home, ws.hf_home), cwd=ws.root, timeout=300,
    )


def tree_digest(root: Path) -> dict[str, str]:
    """Every file (by content) and folder under ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


# --------------------------------------------------------------------------- the workspace


def _tsv(path: Path, rows: list[tuple[str, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(["sentence\tlabel", *(f"{text}\t{label}" for text, label in rows)]) + "\n")


def _glue(root: Path, name: str, train: list[tuple[str, int]] | None, dev: list[tuple[str, int]]) -> Path:
    folder = root / "data" / name
    if train is not None:
        _tsv(folder / "SST-2" / "train.tsv", train)
    _tsv(folder / "SST-2" / "dev.tsv", dev)
    return folder


def _rows(n: int, labels: tuple[int, ...] = (0, 1)) -> list[tuple[str, int]]:
    return [(f"good film number {i}" if labels[i % len(labels)] else f"bad film number {i}", labels[i % len(labels)]) for i in range(n)]


def _edit_artifact(src: Path, dst: Path, edit: Callable[[pd.DataFrame], pd.DataFrame] | None = None, *, keep_hash: bool = True, meta_edit: Callable[[dict], None] | None = None) -> Path:
    shutil.copytree(src, dst)
    if edit is not None:
        edit(pd.read_parquet(dst / "labels.parquet")).to_parquet(dst / "labels.parquet", index=False)
    meta = json.loads((dst / "noise.json").read_text())
    if not keep_hash:
        del meta["labels_sha256"]
    if meta_edit is not None:
        meta_edit(meta)
    (dst / "noise.json").write_text(json.dumps(meta))
    return dst


def _fake_asset(home: Path, name: str, member: str, fill: Callable[[Path], None]) -> Path:
    """A cache entry laid out as assets.fetch_asset leaves it: <home>/assets/<name>/<member>, plus its stamp."""
    entry = home / "assets" / name
    entry.mkdir(parents=True)
    fill(entry / member)
    write_stamp(entry)
    return entry / member


def _corpus(path: Path) -> None:
    rows = ["category,text", *(f"{'fresh' if i % 2 else 'rotten'},snippet {i}" for i in range(50))]
    path.write_bytes(bz2.compress(("\n".join(rows) + "\n").encode()))


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


@pytest.fixture(scope="module")
def ws(tmp_path_factory, tiny_model_dir) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("bad-inputs")
    w = SimpleNamespace(root=root, home=root / "home", hf_home=tmp_path_factory.mktemp("hf-home"), model=root / "model")
    w.home.mkdir()
    w.glue = write_sst2(root / "glue")
    shutil.copytree(tiny_model_dir, w.model)
    w.common = ["--task", "sst2", "--data-dir", w.glue, "--model", w.model, *TINY]

    gen = nb(w, "generate", "--task", "sst2", "--data-dir", w.glue, "--temperature", "0.5", "--out", root / "noise")
    assert gen.returncode == 0, gen.stderr
    w.artifact = root / "noise" / "T0.5"
    run = nb(w, "train", *w.common, "--noise", w.artifact, "--method", "ce", "--results", root / "results")
    assert run.returncode == 0, run.stderr
    (w.run_dir,) = [p for p in (root / "results" / "runs").iterdir() if (p / "DONE").is_file()]

    # bad files and folders
    (root / "afile").write_text("a regular file\n")
    (root / "empty-model").mkdir()
    (root / "noconfig-model").mkdir()
    (root / "noconfig-model" / "vocab.txt").write_text("[PAD]\n")
    shutil.copytree(w.model, root / "truncated-model")
    _truncate(root / "truncated-model" / "model.safetensors")
    shutil.copytree(w.model, root / "badconfig-model")
    (root / "badconfig-model" / "config.json").write_text('{"model_type": "bert", "hidden_')
    (root / "readonly").mkdir()
    (root / "readonly").chmod(0o555)

    # damaged noise artifacts (labels.parquet edited after generate)
    bad = root / "bad-artifacts"
    art = w.artifact
    _edit_artifact(art, bad / "noisy-set-to-clean", lambda f: f.assign(label_noisy=f["label_clean"]))
    _edit_artifact(art, bad / "noisy-set-to-clean-consistently", lambda f: f.assign(label_noisy=f["label_clean"], is_corrupted=False))
    _edit_artifact(art, bad / "label-outside-classes", lambda f: f.assign(label_noisy=f["label_noisy"].where(f.index != 0, 7), is_corrupted=f["is_corrupted"] | (f.index == 0)))
    _edit_artifact(art, bad / "nan-label", lambda f: f.assign(label_noisy=f["label_noisy"].astype(float).where(f.index != 3)))
    _edit_artifact(art, bad / "duplicate-id", lambda f: f.assign(id=f["id"].where(f.index != 1, f["id"].iloc[0])))
    _edit_artifact(art, bad / "rows-reordered", lambda f: f.iloc[::-1])
    _edit_artifact(art, bad / "clean-noisy-swapped", lambda f: f.assign(label_clean=f["label_noisy"], label_noisy=f["label_clean"]))
    _edit_artifact(art, bad / "clean-noisy-swapped-no-hash", lambda f: f.assign(label_clean=f["label_noisy"], label_noisy=f["label_clean"]), keep_hash=False)
    _edit_artifact(art, bad / "ids-renamed-no-hash", lambda f: f.assign(id="x" + f["id"]), keep_hash=False)
    _edit_artifact(art, bad / "row-dropped-no-hash", lambda f: f.iloc[1:], keep_hash=False)
    _edit_artifact(art, bad / "other-task", meta_edit=lambda m: m.update(task="cola"))
    shutil.copytree(art, bad / "labels-garbage")
    (bad / "labels-garbage" / "labels.parquet").write_bytes(b"not parquet at all")
    shutil.copytree(art, bad / "noise-json-truncated")
    _truncate(bad / "noise-json-truncated" / "noise.json")
    shutil.copytree(art, bad / "noise-json-missing")
    (bad / "noise-json-missing" / "noise.json").unlink()

    # degenerate GLUE folders
    good_dev = _rows(40)
    _glue(root, "header-only-train", [], good_dev)
    _glue(root, "five-row-train", _rows(5), good_dev)
    _glue(root, "one-class-train", _rows(60, labels=(1,)), good_dev)
    _glue(root, "header-only-dev", _rows(60), [])
    _glue(root, "one-class-dev", _rows(60), _rows(20, labels=(0,)))
    _glue(root, "tiny-dev-pool-from-dev", None, _rows(8))
    empty = _glue(root, "empty-train-file", [], good_dev)
    (empty / "SST-2" / "train.tsv").write_bytes(b"")

    # fake cached assets in their own NOISEBENCH_HOMEs
    homes = root / "homes"
    corpus = _fake_asset(homes / "corpus-truncated", "rotten-tomatoes", "rotten_tomatoes_corpus_full.csv.bz2", _corpus)
    _truncate(corpus)  # after stamping: the stamp catches it
    _fake_asset(homes / "corpus-truncated-stamped", "rotten-tomatoes", "rotten_tomatoes_corpus_full.csv.bz2", lambda p: (_corpus(p), _truncate(p)))
    _fake_asset(homes / "corpus-bad-stamp", "rotten-tomatoes", "rotten_tomatoes_corpus_full.csv.bz2", _corpus)
    (homes / "corpus-bad-stamp" / "assets" / "rotten-tomatoes" / STAMP_NAME).write_text("{truncated")
    model = _fake_asset(homes / "model-truncated", "all-minilm-l6-v2", "model", lambda p: shutil.copytree(w.model, p))
    _truncate(model / "model.safetensors")
    model = _fake_asset(homes / "model-file-missing", "all-minilm-l6-v2", "model", lambda p: shutil.copytree(w.model, p))
    (model / "vocab.txt").unlink()
    w.homes = homes

    # run folders for the analysis commands
    def results_copy(name: str, damage: Callable[[Path], None] | None = None) -> Path:
        dst = root / "analysis" / name
        shutil.copytree(root / "results" / "runs", dst / "runs")
        if damage is not None:
            damage(dst / "runs" / w.run_dir.name)
        return dst

    results_copy("ok")
    results_copy("metrics-truncated", lambda run: _truncate(run / "metrics.json"))
    results_copy("metrics-binary", lambda run: (run / "metrics.json").write_bytes(b"\x89PNG\x00\xff\xfe binary"))
    results_copy("accuracy-a-string", lambda run: (run / "metrics.json").write_text(json.dumps(json.loads((run / "metrics.json").read_text()) | {"test_accuracy": "high"})))
    half = results_copy("half-published")
    shutil.copytree(half / "runs" / w.run_dir.name, half / "runs" / f".{w.run_dir.name}.tmp-0123456789ab")
    outs = root / "old-outputs"
    outs.mkdir()
    (outs / "old.png").write_bytes(b"\x89PNG old figure")
    (outs / "old.pdf").write_bytes(b"%PDF old figure")
    (outs / "old.md").write_text("# an old report\n")
    (outs / "existing_dir").mkdir()
    (outs / "existing_dir" / "keep.txt").write_text("keep me\n")
    w.outs = outs
    return w


# --------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    """One bad input: the CLI arguments (built from the workspace), a fragment the error line must hold,
    and the NOISEBENCH_HOME to use (a folder under ``homes``; None: the plain one)."""

    id: str
    args: Callable[[SimpleNamespace], list]
    fragment: str | Callable[[SimpleNamespace], str]
    home: str | None = None
    marks: tuple = field(default_factory=tuple)


def _train(*extra) -> Callable[[SimpleNamespace], list]:
    return lambda w: ["train", *w.common, *[e(w) if callable(e) else e for e in extra]]


def _gen(*extra, data: str | None = None) -> Callable[[SimpleNamespace], list]:
    def args(w: SimpleNamespace) -> list:
        data_dir = w.glue if data is None else w.root / "data" / data
        return ["generate", "--task", "sst2", "--data-dir", data_dir, "--out", w.root / "new-noise", *[e(w) if callable(e) else e for e in extra]]

    return args


def _new_results(w: SimpleNamespace) -> Path:
    return w.root / "new-results"


def _bad(name: str) -> Callable[[SimpleNamespace], Path]:
    return lambda w: w.root / "bad-artifacts" / name


def _train_on(artifact: str, *extra) -> Callable[[SimpleNamespace], list]:
    return _train("--noise", _bad(artifact), "--method", "ce", "--results", _new_results, *extra)


def _train_data(data: str, *extra) -> Callable[[SimpleNamespace], list]:
    return lambda w: ["train", "--task", "sst2", "--data-dir", w.root / "data" / data, "--model", w.model, *TINY, "--results", w.root / "new-results", *extra]


ROOT_SKIP = pytest.mark.skipif(IS_ROOT, reason="running as root: chmod does not stop root writing, so a read-only folder cannot be simulated")

CASES = [
    # kind 1: CLI options are checked by the one run schema, as the grid is
    Case("train-data-seed-negative", _train("--data-seed", "-1", "--results", _new_results), "data_seed"),
    Case("train-train-seed-negative", _train("--train-seed", "-1", "--results", _new_results), "train_seed"),
    Case("train-lr-inf", _train("--lr", "inf", "--results", _new_results), "lr: must be finite"),
    Case("train-lr-nan", _train("--lr", "nan", "--results", _new_results), "lr"),
    Case("train-lr-zero", _train("--lr", "0", "--results", _new_results), "lr"),
    Case("train-ce-with-lam", _train("--method", "ce", "--lam", "0.5", "--results", _new_results), "method ce takes no hyper-parameters"),
    Case("train-ce-with-lam-and-tau", _train("--method", "ce", "--lam", "0.5", "--tau", "5", "--results", _new_results), "got lam, tau"),
    Case("train-lam-above-one", _train("--method", "ce-scl", "--lam", "1.5", "--results", _new_results), "lam must be in [0, 1]"),
    Case("train-tau-zero", _train("--method", "ce-scl", "--tau", "0", "--results", _new_results), "tau must be in (0, inf)"),
    Case("train-epochs-zero", _train("--epochs", "0", "--results", _new_results), "epochs"),
    Case("train-batch-size-zero", _train("--batch-size", "0", "--results", _new_results), "batch_size"),
    Case("train-n-train-zero", _train("--n-train", "0", "--results", _new_results), "n_train"),
    Case("train-max-length-zero", _train("--max-length", "0", "--results", _new_results), "max_length"),
    Case("train-dev-limit-zero", _train("--dev-limit", "0", "--results", _new_results), "dev_limit"),
    Case("train-unknown-method", _train("--method", "sgd", "--results", _new_results), "unknown method 'sgd'"),
    Case("train-unknown-task", lambda w: ["train", "--task", "nope", "--results", w.root / "new-results"], "unknown task 'nope'"),
    Case("generate-temperature-inf", _gen("--temperature", "inf"), "temperature must be in (0, inf), got inf"),
    Case("generate-temperature-nan", _gen("--temperature", "nan"), "temperature"),
    Case("generate-temperature-twice", _gen("--temperature", "0.5", "--temperature", "0.50"), "a level is listed twice"),
    Case("generate-data-seed-negative", _gen("--temperature", "0.5", "--data-seed", "-1"), "data_seed must be an integer >= 0"),
    Case("generate-noise-seed-negative", _gen("--temperature", "0.5", "--noise-seed", "-1"), "noise_seed must be an integer >= 0"),
    Case("generate-n-relabel-zero", _gen("--temperature", "0.5", "--n-relabel", "0"), "n_relabel"),
    Case("generate-target-rate-above-one", _gen("--target-rate", "1.5"), "target_rate must be in [0, 1]"),
    # click's usage errors: one line too, exit 2
    Case("usage-n-train-not-an-integer", _train("--n-train", "abc", "--results", _new_results), "'abc' is not a valid integer"),
    Case("usage-unknown-option", _train("--bogus", "--results", _new_results), "No such option '--bogus'"),
    Case("usage-unknown-command", lambda w: ["frobnicate"], "No such command 'frobnicate'"),
    Case("usage-missing-required-option", lambda w: ["generate", "--temperature", "0.5", "--out", w.root / "new-noise"], "Missing option '--task'"),
    Case("usage-noise-dir-missing", _train("--noise", "/nonexistent/noise", "--results", _new_results), "/nonexistent/noise"),
    Case("usage-n-relabel-not-an-integer", _gen("--temperature", "0.5", "--n-relabel", "some"), "expected an integer or 'all'"),
    # kind 2: models that cannot be loaded
    Case("model-nonexistent-path", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", "/nonexistent/model", "--results", w.root / "new-results"], "tried local path /nonexistent/model: no such file or folder"),
    Case("model-empty-folder", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", w.root / "empty-model", "--results", w.root / "new-results"], "the folder is empty"),
    Case("model-folder-without-config", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", w.root / "noconfig-model", "--results", w.root / "new-results"], "has no config.json"),
    Case("model-a-regular-file", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", w.root / "afile", "--results", w.root / "new-results"], "a file, not a saved model's folder"),
    Case("model-hub-id-offline", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", "someorg/no-such-model", "--results", w.root / "new-results"], "hub id someorg/no-such-model"),
    Case("model-truncated-weights", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", w.root / "truncated-model", "--results", w.root / "new-results"], "weights failed to load"),
    Case("model-broken-config", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", w.root / "badconfig-model", "--results", w.root / "new-results"], "badconfig-model"),
    # kind 3: artifact integrity, before any training
    Case("artifact-noisy-set-to-clean", _train_on("noisy-set-to-clean"), "is_corrupted disagrees with label_clean != label_noisy"),
    Case("artifact-noisy-set-to-clean-consistently", _train_on("noisy-set-to-clean-consistently"), "realised noise rate of the labels is 0.0000"),
    Case("artifact-label-outside-classes", _train_on("label-outside-classes"), "value 7 is not a class"),
    Case("artifact-nan-label", _train_on("nan-label"), "missing values in label_noisy"),
    Case("artifact-duplicate-id", _train_on("duplicate-id"), "duplicate id"),
    Case("artifact-rows-reordered", _train_on("rows-reordered"), "does not match the sha256 recorded in noise.json"),
    Case("artifact-clean-noisy-swapped", _train_on("clean-noisy-swapped"), "does not match the sha256"),
    Case("artifact-clean-flipped-without-hash", _train_on("clean-noisy-swapped-no-hash"), "label_clean disagrees with sst2's data"),
    Case("artifact-ids-not-in-pool", _train_on("ids-renamed-no-hash"), "is not in sst2's train pool"),
    Case("artifact-row-dropped", _train_on("row-dropped-no-hash"), "noise.json says n_examples"),
    Case("artifact-other-task", _train_on("other-task"), "was made for task 'cola', not 'sst2'"),
    Case("artifact-labels-not-parquet", _train_on("labels-garbage"), "labels-garbage is unreadable"),
    Case("artifact-noise-json-truncated", _train_on("noise-json-truncated"), "noise-json-truncated is unreadable"),
    Case("artifact-noise-json-missing", _train_on("noise-json-missing"), "is not a noise artifact"),
    # kind 4: outputs that cannot be written, found before the work
    Case("train-results-is-a-file", _train("--results", lambda w: w.root / "afile"), "afile is a file, not a folder"),
    Case("train-results-under-a-file", _train("--results", lambda w: w.root / "afile" / "sub"), "afile is a file, not a folder"),
    Case("train-grid-results-is-a-file", lambda w: ["train", "--grid", REPO / "experiments" / "quick.yaml", "--results", w.root / "afile"], "is a file, not a folder"),
    Case("train-results-read-only", _train("--results", lambda w: w.root / "readonly" / "results"), "is not writable", marks=(ROOT_SKIP,)),
    Case("train-finished-run-again", _train("--noise", lambda w: w.artifact, "--method", "ce", "--results", lambda w: w.root / "results"), "already exists"),
    Case("generate-out-is-a-file", lambda w: ["generate", "--task", "sst2", "--data-dir", w.glue, "--temperature", "0.5", "--out", w.root / "afile"], "afile is a file, not a folder"),
    Case("generate-out-under-a-file", lambda w: ["generate", "--task", "sst2", "--data-dir", w.glue, "--temperature", "0.5", "--out", w.root / "afile" / "noise"], "afile is a file, not a folder"),
    Case("generate-out-read-only", lambda w: ["generate", "--task", "sst2", "--data-dir", w.glue, "--temperature", "0.5", "--out", w.root / "readonly"], "is not writable", marks=(ROOT_SKIP,)),
    Case("generate-second-level-exists", lambda w: ["generate", "--task", "sst2", "--data-dir", w.glue, "--temperature", "0.3", "--temperature", "0.5", "--noise-seed", "1", "--out", w.root / "noise"], "T0.5 already exists"),
    # kind 5: degenerate data
    Case("data-train-header-only", _gen("--temperature", "0.5", data="header-only-train"), "the train split is too small: 0 examples"),
    Case("data-train-five-rows", _gen("--temperature", "0.5", data="five-row-train"), "need at least 5 examples of each of its 2 classes"),
    Case("data-train-one-class", _gen("--temperature", "0.5", data="one-class-train"), "(negative 0, positive 60)"),
    Case("data-train-empty-file", _gen("--temperature", "0.5", data="empty-train-file"), "is empty"),
    Case("data-dev-header-only", _gen("--temperature", "0.5", data="header-only-dev"), "the dev split (halved into validation and test) is too small"),
    Case("data-dev-one-class", _gen("--temperature", "0.5", data="one-class-dev"), "need at least 2 examples of each"),
    Case("data-pool-from-tiny-dev", _gen("--temperature", "0.5", "--pool-from-dev", data="tiny-dev-pool-from-dev"), "need at least 10 examples of each"),
    Case("data-train-five-rows-train-command", _train_data("five-row-train"), "the train split is too small: 5 examples"),
    Case("data-train-one-class-train-command", _train_data("one-class-train"), "the train split is too small"),
    # kind 8: damaged cached assets (stamped at extraction, re-verified, re-fetched: here pip has no index)
    Case("asset-corpus-truncated", lambda w: ["generate", "--task", "rt-polarity", "--temperature", "0.5", "--out", w.root / "new-noise"], "asset rotten-tomatoes: cached copy", home="corpus-truncated"),
    Case("asset-corpus-truncated-before-stamping", lambda w: ["generate", "--task", "rt-polarity", "--temperature", "0.5", "--out", w.root / "new-noise"], "cannot read the Rotten Tomatoes corpus", home="corpus-truncated-stamped"),
    Case("asset-corpus-stamp-unreadable", lambda w: ["generate", "--task", "rt-polarity", "--temperature", "0.5", "--out", w.root / "new-noise"], "is unreadable", home="corpus-bad-stamp"),
    Case("asset-model-truncated", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", "all-minilm-l6-v2", *TINY, "--results", w.root / "new-results"], "asset all-minilm-l6-v2: cached copy", home="model-truncated"),
    Case("asset-model-file-missing", lambda w: ["train", "--task", "sst2", "--data-dir", w.glue, "--model", "all-minilm-l6-v2", *TINY, "--results", w.root / "new-results"], "model/vocab.txt is missing", home="model-file-missing"),
    # kind 6: corrupted run files (analysis commands)
    Case("plot-metrics-truncated", lambda w: ["plot", "--results", w.root / "analysis" / "metrics-truncated", "--out", w.root / "new-figure.png"], lambda w: w.run_dir.name),
    Case("report-metrics-binary", lambda w: ["report", "--results", w.root / "analysis" / "metrics-binary", "--out", w.root / "new-report.md"], lambda w: w.run_dir.name),
    Case("collect-metrics-truncated", lambda w: ["collect", w.root / "analysis" / "metrics-truncated"], lambda w: w.run_dir.name),
    Case("collect-accuracy-a-string", lambda w: ["collect", w.root / "analysis" / "accuracy-a-string"], lambda w: w.run_dir.name),
    Case("plot-accuracy-a-string", lambda w: ["plot", "--results", w.root / "analysis" / "accuracy-a-string", "--out", w.root / "new-figure.png"], lambda w: w.run_dir.name),
    # kind 7: existing outputs are not overwritten
    Case("plot-out-existing-png", lambda w: ["plot", "--results", w.root / "analysis" / "ok", "--out", w.outs / "old.png"], "old.png already exists"),
    Case("plot-out-existing-dir", lambda w: ["plot", "--results", w.root / "analysis" / "ok", "--out", w.outs / "existing_dir"], "existing_dir"),
    Case("report-out-existing-md", lambda w: ["report", "--results", w.root / "analysis" / "ok", "--out", w.outs / "old.md"], "old.md already exists"),
    Case("report-out-is-a-file-parent", lambda w: ["report", "--results", w.root / "analysis" / "ok", "--out", w.root / "afile" / "report.md"], "afile is a file, not a folder"),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=c.marks) for c in CASES])
def test_bad_input_is_one_error_line_exit_2_and_nothing_written_changes(ws: SimpleNamespace, case: Case) -> None:
    before = tree_digest(ws.root)
    home = ws.homes / case.home if case.home else None
    result = nb(ws, *case.args(ws), home=home)
    fragment = case.fragment(ws) if callable(case.fragment) else case.fragment
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert fragment in lines[0], lines[0]
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert tree_digest(ws.root) == before


def test_a_hidden_half_published_run_is_not_collected(ws: SimpleNamespace) -> None:
    """A kill during publishing leaves `.<run_id>.tmp-…` (already holding DONE): collect must not count it."""
    results = ws.root / "analysis" / "half-published"
    before = {k: v for k, v in tree_digest(results).items() if k != "results.parquet"}
    result = nb(ws, "collect", results)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("\t1 runs"), result.stdout
    assert list(pd.read_parquet(results / "results.parquet")["run_id"]) == [ws.run_dir.name]
    assert {k: v for k, v in tree_digest(results).items() if k != "results.parquet"} == before


def test_debug_shows_the_traceback_of_an_expected_error_and_still_ends_with_the_error_line(ws: SimpleNamespace) -> None:
    result = nb(ws, "--debug", "train", *ws.common, "--lr", "inf", "--results", ws.root / "new-results")
    assert result.returncode == 2
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.strip().splitlines()[-1] == "error: lr: must be finite, got inf"


def test_an_unexpected_exception_keeps_its_traceback(monkeypatch, tmp_path: Path) -> None:
    """Only expected errors become one line: a bug (here a RuntimeError) is not caught by the CLI."""
    from click.testing import CliRunner

    from noisebench import cli

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "check_writable_dir", broken)
    result = CliRunner().invoke(cli.main, ["train", "--results", str(tmp_path / "r")])
    assert isinstance(result.exception, RuntimeError) and result.exit_code != 2

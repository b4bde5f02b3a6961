"""Tests for noisebench.analysis.plots on hand-made tables, histories, embeddings and artifacts."""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from noisebench.analysis.plots import (
    DPI,
    PANEL_SIZE,
    method_label,
    plot_accuracy_vs_noise,
    plot_all,
    plot_difference_vs_noise,
    plot_memorisation,
    plot_noise_rate_vs_temperature,
    plot_transition_matrix,
    plot_tsne,
    t_interval,
)
from noisebench.analysis.stats import compare_methods

MODEL = "all-minilm-l6-v2"
NAN = float("nan")


# --------------------------------------------------------------------------
# hand-made inputs
# --------------------------------------------------------------------------


def make_table(
    *, temps=(0.3, 0.6, 0.9), seeds=5, methods=("ce", "ce-scl"), clean=True, task="rt-polarity",
    model=MODEL, n_train=100, scl=((0.9, 0.3),), start=0,
) -> pd.DataFrame:
    """One row per run; accuracies fall with T, CE+SCL a little better; deterministic."""
    rng = np.random.default_rng(7)
    cells = ([("none", NAN)] if clean else []) + [("temperature", float(t)) for t in temps]
    rows, i = [], start
    for family, temp in cells:
        for s in range(seeds):
            base = 0.82 - (0.0 if math.isnan(temp) else 0.25 * temp**2) + rng.normal(0, 0.01)
            rate = 0.0 if math.isnan(temp) else 0.05 + 0.4 * temp + rng.normal(0, 0.01)
            variants = []
            if "ce" in methods:
                variants.append(("ce", 0.0, NAN))
            if "ce-scl" in methods:
                variants += [("ce-scl", lam, tau) for lam, tau in scl]
            for method, lam, tau in variants:
                acc = base + (0.0 if method == "ce" else 0.02 + rng.normal(0, 0.004))
                rows.append({
                    "run_id": f"run{i:04d}", "task": task, "model": model, "n_train": n_train,
                    "data_seed": s, "noise_family": family, "temperature": temp, "noise_rate": NAN,
                    "noise_seed": NAN if family == "none" else s, "method": method, "lam": lam,
                    "tau": tau, "train_seed": s, "epochs": 4, "batch_size": 16, "lr": 2e-5,
                    "test_accuracy": round(acc, 3), "dev_accuracy": round(acc - 0.01 + rng.normal(0, 0.01), 3),
                    "best_epoch": 3, "realized_noise_rate": rate, "wall_time_s": 10.0,
                })
                i += 1
    return pd.DataFrame(rows)


def make_history(table: pd.DataFrame, epochs: int = 4) -> pd.DataFrame:
    rows = []
    for r in table.to_dict("records"):
        noisy = r["noise_family"] == "temperature"
        for e in range(1, epochs + 1):
            memo = min(1.0, 0.15 * e * (0.5 if r["method"] == "ce-scl" else 1.0))
            rows.append({
                "run_id": r["run_id"], "epoch": e, "train_loss": 1.0 / e, "dev_accuracy": r["dev_accuracy"],
                "train_acc_clean": min(1.0, 0.6 + 0.1 * e),
                "train_acc_corrupted_noisy": memo if noisy else None,
                "train_acc_corrupted_true": (1 - memo) * 0.9 if noisy else None,
            })
    return pd.DataFrame(rows)


def write_runs(root: Path, table: pd.DataFrame, history: pd.DataFrame, *, embeddings: dict[str, int] | None = None,
               label_names=("rotten", "fresh")) -> Path:
    """Run directories as the trainer writes them; ``embeddings`` maps run_id -> n test points."""
    rng = np.random.default_rng(3)
    for r in table.to_dict("records"):
        d = root / "runs" / r["run_id"]
        d.mkdir(parents=True)
        config = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()
                  if k not in ("run_id", "test_accuracy", "dev_accuracy", "best_epoch", "realized_noise_rate",
                               "wall_time_s")}
        k = int(round(r["realized_noise_rate"] * r["n_train"]))
        metrics = {
            "test_accuracy": r["test_accuracy"], "dev_accuracy": r["dev_accuracy"], "best_epoch": 3,
            "realized_noise_rate": r["realized_noise_rate"], "wall_time_s": 10.0,
            "transition_matrix": {"orientation": "rows=clean, cols=noisy", "labels": list(label_names),
                                  "counts": [[50 - k // 2, k // 2], [k - k // 2, 50 - (k - k // 2)]]},
            "history": [{k2: (None if isinstance(v, float) and math.isnan(v) else v) for k2, v in h.items()
                         if k2 != "run_id"} for h in history[history["run_id"] == r["run_id"]].to_dict("records")],
            "versions": {"noisebench": "0.1.0", "torch": "2.13.0", "transformers": "4.50.0", "python": "3.11.9"},
        }
        (d / "config.json").write_text(json.dumps(config))
        (d / "metrics.json").write_text(json.dumps(metrics))
        (d / "DONE").write_text("")
        if embeddings and r["run_id"] in embeddings:
            write_embeddings(d, embeddings[r["run_id"]], rng)
    return root


def write_embeddings(run_dir: Path, n: int, rng: np.random.Generator, d: int = 8) -> None:
    labels = rng.integers(0, 2, n)
    cls = rng.normal(0, 1, (n, d)) + 2.5 * labels[:, None] * np.eye(d)[0]
    np.savez(run_dir / "embeddings.npz", cls=cls, labels=labels)


def write_artifact(root: Path, temperature: float, counts, labels=("a", "b", "c"), task="toy") -> Path:
    root.mkdir(parents=True)
    counts = np.asarray(counts)
    rate = 1.0 - np.trace(counts) / counts.sum()
    (root / "noise.json").write_text(json.dumps({
        "schema_version": 1, "task": task, "family": "temperature", "params": {"temperature": temperature},
        "realized_noise_rate": rate, "transition_matrix": {
            "orientation": "rows=clean, cols=noisy", "labels": list(labels), "counts": counts.tolist()},
    }))
    return root


def expected_px(width_in: float, height_in: float) -> tuple[int, int]:
    return (int(round(height_in * DPI)), int(round(width_in * DPI)))


def check_written(paths, stem: Path, size: tuple[int, int] | None = None) -> None:
    png, pdf = Path(f"{stem}.png"), Path(f"{stem}.pdf")
    assert [Path(p) for p in paths] == [png, pdf]
    for p in (png, pdf):
        assert p.is_file() and p.stat().st_size > 1000
    assert pdf.read_bytes().startswith(b"%PDF")
    image = mpimg.imread(png)
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    if size is not None:
        assert image.shape[:2] == size
    assert float(np.std(image[..., :3])) > 0.01  # not a blank canvas
    assert plt.get_fignums() == []  # every figure closed


@pytest.fixture(autouse=True)
def _no_open_figures():
    plt.close("all")
    yield
    assert plt.get_fignums() == []


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def test_t_interval_matches_scipy():
    x = [0.80, 0.82, 0.79, 0.85, 0.81]
    mean, lo, hi = t_interval(x)
    half = stats.t.ppf(0.975, 4) * np.std(x, ddof=1) / math.sqrt(5)
    assert mean == pytest.approx(np.mean(x))
    assert (lo, hi) == pytest.approx((np.mean(x) - half, np.mean(x) + half))
    ref = stats.t.interval(0.95, 4, loc=np.mean(x), scale=stats.sem(x))
    assert (lo, hi) == pytest.approx(ref)
    m1, lo1, hi1 = t_interval([0.8])
    assert m1 == 0.8 and math.isnan(lo1) and math.isnan(hi1)


def test_method_label():
    assert method_label("ce", 0.0, NAN) == "CE"
    assert method_label("ce-scl", 0.9, 0.3) == "CE+SCL (λ=0.9, τ=0.3)"


# --------------------------------------------------------------------------
# single figures
# --------------------------------------------------------------------------


def test_accuracy_vs_noise_full(tmp_path):
    stem = tmp_path / "acc"
    paths = plot_accuracy_vs_noise(make_table(), stem)
    check_written(paths, stem, expected_px(*PANEL_SIZE))


def test_accuracy_vs_noise_two_tasks_two_panels(tmp_path):
    table = pd.concat([make_table(), make_table(task="sst2", start=500)], ignore_index=True)
    stem = tmp_path / "acc2"
    check_written(plot_accuracy_vs_noise(table, stem), stem, expected_px(2 * PANEL_SIZE[0], PANEL_SIZE[1]))


@pytest.mark.parametrize("case", ["single_seed", "single_method", "missing_cells", "clean_only", "two_scl",
                                  "no_noise_rate_column"])
def test_accuracy_vs_noise_degenerate(tmp_path, case):
    table = {
        "single_seed": lambda: make_table(seeds=1),
        "single_method": lambda: make_table(methods=("ce-scl",)),
        "missing_cells": lambda: make_table().drop(index=[0, 1, 13, 14, 15, 25]),
        "clean_only": lambda: make_table(temps=()),
        "two_scl": lambda: make_table(scl=((0.9, 0.3), (0.5, 0.1))),
        "no_noise_rate_column": lambda: make_table().drop(columns="realized_noise_rate"),
    }[case]()
    if case == "missing_cells":  # a whole (method, T) cell missing too
        table = table[~((table["method"] == "ce-scl") & (table["temperature"] == 0.6))]
    stem = tmp_path / case
    check_written(plot_accuracy_vs_noise(table, stem), stem, expected_px(*PANEL_SIZE))


def test_accuracy_vs_noise_rejects_uniform_only(tmp_path):
    table = make_table(clean=False)
    table["noise_family"] = "uniform"
    with pytest.raises(ValueError, match="no temperature-noise or clean runs"):
        plot_accuracy_vs_noise(table, tmp_path / "x")
    assert not list(tmp_path.iterdir())


def test_difference_vs_noise_with_significant_cells(tmp_path):
    stats_df = compare_methods(make_table(seeds=7), n_resamples=500)
    assert stats_df["significant"].any()  # CE+SCL is +2 pp in every pair
    stem = tmp_path / "diff"
    check_written(plot_difference_vs_noise(stats_df, stem, table=make_table(seeds=7)), stem,
                  expected_px(*PANEL_SIZE))


def test_difference_vs_noise_single_pair_and_no_pairs(tmp_path):
    stats_df = compare_methods(make_table(seeds=1), n_resamples=200)
    assert stats_df["ci_low"].isna().all()
    stem = tmp_path / "diff1"
    check_written(plot_difference_vs_noise(stats_df, stem), stem, expected_px(*PANEL_SIZE))
    only_ce = compare_methods(make_table(methods=("ce",)))
    with pytest.raises(ValueError, match="no temperature/clean cell with paired"):
        plot_difference_vs_noise(only_ce, tmp_path / "none")


def test_noise_rate_from_table(tmp_path):
    stem = tmp_path / "rate"
    check_written(plot_noise_rate_vs_temperature(make_table(), stem), stem, expected_px(4.8, 3.8))
    with pytest.raises(ValueError, match="no temperature-noise runs"):
        plot_noise_rate_vs_temperature(make_table(temps=()), tmp_path / "none")


def test_noise_rate_from_artifacts(tmp_path):
    dirs = [write_artifact(tmp_path / f"art{t}", t, [[40, 5, 5], [4, 40, 6], [10, 10, 30]])
            for t in (0.3, 0.6, 0.9)]
    stem = tmp_path / "rate_art"
    check_written(plot_noise_rate_vs_temperature(dirs, stem), stem, expected_px(4.8, 3.8))


def test_transition_matrix_from_artifact_and_run(tmp_path):
    art = write_artifact(tmp_path / "art", 0.7, [[40, 5, 5], [4, 40, 6], [0, 0, 0]],
                         labels=("entailment", "neutral", "contradiction"))
    stem = tmp_path / "tm"
    check_written(plot_transition_matrix(art, stem), stem)  # an empty row must not divide by zero
    table = make_table(temps=(0.9,), seeds=1, clean=False)
    results = write_runs(tmp_path / "res", table, make_history(table))
    stem2 = tmp_path / "tm_run"
    check_written(plot_transition_matrix(results / "runs" / "run0000", stem2), stem2)
    with pytest.raises(FileNotFoundError):
        plot_transition_matrix(tmp_path / "nothing", tmp_path / "x")


def test_memorisation_default_and_explicit_temperature(tmp_path):
    table = make_table()
    history = make_history(table)
    stem = tmp_path / "memo"
    check_written(plot_memorisation(table, history, stem), stem)
    stem3 = tmp_path / "memo03"
    check_written(plot_memorisation(table, history, stem3, temperature=0.3), stem3)
    with pytest.raises(ValueError, match="no runs at T=0.5"):
        plot_memorisation(table, history, tmp_path / "x", temperature=0.5)
    with pytest.raises(ValueError, match="no temperature-noise runs"):
        plot_memorisation(make_table(temps=()), history, tmp_path / "y")
    with pytest.raises(ValueError, match="no memorisation records"):
        plot_memorisation(table, history.iloc[0:0], tmp_path / "z")


def test_tsne_side_by_side(tmp_path):
    rng = np.random.default_rng(0)
    dirs = {}
    for name in ("CE", "CE+SCL"):
        d = tmp_path / name
        d.mkdir()
        write_embeddings(d, 40, rng)
        dirs[name] = d
    stem = tmp_path / "tsne"
    check_written(plot_tsne(dirs, stem, label_names=("rotten", "fresh")), stem, expected_px(2 * 5.0, 4.9))
    with pytest.raises(FileNotFoundError):
        plot_tsne({"CE": tmp_path}, tmp_path / "x")


# --------------------------------------------------------------------------
# plot_all
# --------------------------------------------------------------------------

FULL_SET = {
    "accuracy_vs_noise", "difference_vs_noise", "noise_rate_vs_temperature",
    "transition_rt-polarity_N100_T0.9", "memorisation_T0.9", "tsne_rt-polarity_N100_T0.9",
}


def names(paths) -> set[str]:
    paths = [Path(p) for p in paths]
    stems = {p.stem for p in paths}
    assert {p.suffix for p in paths} <= {".png", ".pdf"}
    assert len(paths) == 2 * len(stems)  # every figure as PNG and PDF
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths)
    return stems


def test_plot_all_full(tmp_path, caplog):
    table = make_table()
    history = make_history(table)
    ce, scl = (table[(table["method"] == m) & (table["temperature"] == 0.9) & (table["data_seed"] == 0)]
               ["run_id"].iloc[0] for m in ("ce", "ce-scl"))
    results = write_runs(tmp_path / "res", table, history, embeddings={ce: 30, scl: 30})
    with caplog.at_level(logging.INFO, logger="noisebench.analysis.plots"):
        paths = plot_all(table, history, results, tmp_path / "fig")
    assert names(paths) == FULL_SET
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]
    assert {p.name for p in (tmp_path / "fig").iterdir()} == {Path(p).name for p in paths}  # no temp files


@pytest.mark.parametrize("case, expected, reason", [
    ("single_seed", FULL_SET - {"tsne_rt-polarity_N100_T0.9"}, "t-SNE: no embeddings"),
    ("one_method", {"accuracy_vs_noise", "noise_rate_vs_temperature", "transition_rt-polarity_N100_T0.9",
                    "memorisation_T0.9"}, "difference_vs_noise: only method(s) ce"),
    ("missing_cells", FULL_SET - {"tsne_rt-polarity_N100_T0.9"}, "t-SNE: no embeddings"),
    ("clean_only", {"accuracy_vs_noise", "difference_vs_noise"}, "no temperature-noise runs"),
    ("no_history", FULL_SET - {"tsne_rt-polarity_N100_T0.9", "memorisation_T0.9"}, "memorisation: no per-epoch"),
    ("unpaired", {"accuracy_vs_noise", "noise_rate_vs_temperature", "transition_rt-polarity_N100_T0.9",
                  "memorisation_T0.9"}, "no CE run shares its seeds"),
])
def test_plot_all_degenerate(tmp_path, caplog, case, expected, reason):
    table = {
        "single_seed": lambda: make_table(seeds=1),
        "one_method": lambda: make_table(methods=("ce",)),
        "missing_cells": lambda: make_table().drop(index=[0, 1, 2, 13, 14, 30, 31]),
        "clean_only": lambda: make_table(temps=()),
        "no_history": lambda: make_table(),
        "unpaired": lambda: make_table(),
    }[case]()
    if case == "unpaired":  # CE+SCL runs all on other seeds
        table.loc[table["method"] == "ce-scl", "train_seed"] += 100
    history = make_history(table) if case != "no_history" else None
    results = write_runs(tmp_path / "res", table, make_history(table))
    with caplog.at_level(logging.INFO, logger="noisebench.analysis.plots"):
        paths = plot_all(table, history, results, tmp_path / "fig")
    assert names(paths) == expected
    assert any(reason in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_plot_all_without_run_dirs_still_plots_from_table(tmp_path, caplog):
    table = make_table()
    with caplog.at_level(logging.INFO, logger="noisebench.analysis.plots"):
        paths = plot_all(table, make_history(table), tmp_path / "nowhere", tmp_path / "fig")
    assert names(paths) == FULL_SET - {"tsne_rt-polarity_N100_T0.9", "transition_rt-polarity_N100_T0.9"}
    assert any("skipped transition matrices" in r.getMessage() for r in caplog.records)


def test_plot_all_empty_table_raises(tmp_path):
    with pytest.raises(ValueError, match="no finished runs in"):
        plot_all(make_table().iloc[0:0], None, tmp_path / "res", tmp_path / "fig")
    with pytest.raises(ValueError, match="no finished runs in"):
        plot_all(pd.DataFrame(), None, tmp_path / "res", tmp_path / "fig")


def test_analysis_does_not_import_training_or_cli():
    code = ("import sys, noisebench.analysis.plots, noisebench.analysis.report; "
            "bad = [m for m in sys.modules if m.startswith(('noisebench.train', 'noisebench.cli', 'torch'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)

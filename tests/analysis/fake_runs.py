"""Hand-made results tables, histories, run directories and noise artifacts for the analysis tests."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

MODEL = "all-minilm-l6-v2"
NAN = float("nan")
SCL = "ce-scl"
CE = "ce"
METRICS = ("test_accuracy", "dev_accuracy", "best_epoch", "realized_noise_rate", "wall_time_s")


def make_table(
    *, levels=(0.3, 0.6, 0.9), seeds=5, methods=(CE, SCL), clean=True, task="rt-polarity", model=MODEL,
    n_train=100, scl=((0.9, 0.3),), start=0, family="temperature", noise_param=None,
) -> pd.DataFrame:
    """One row per run; accuracy falls with the level, CE+SCL about 2 pp better; deterministic.

    ``noise_param`` None: the family's own parameter; e.g. ``"target_rate"`` for target-rate levels.
    """
    rng = np.random.default_rng(7)
    param = noise_param or {"temperature": "temperature", "uniform": "rate"}[family]
    cells = ([("none", NAN)] if clean else []) + [(family, float(t)) for t in levels]
    rows, i = [], start
    for fam, level in cells:
        for s in range(seeds):
            base = 0.82 - (0.0 if math.isnan(level) else 0.25 * level**2) + rng.normal(0, 0.01)
            rate = 0.0 if math.isnan(level) else 0.05 + 0.4 * level + rng.normal(0, 0.01)
            variants = ([(CE, NAN, NAN)] if CE in methods else []) + ([(SCL, lam, tau) for lam, tau in scl]
                                                                      if SCL in methods else [])
            for method, lam, tau in variants:
                acc = base + (0.0 if method == CE else 0.02 + rng.normal(0, 0.004))
                rows.append({
                    "run_id": f"run{i:04d}", "task": task, "model": model, "n_train": n_train, "data_seed": s,
                    "noise_family": fam, "noise_param": None if fam == "none" else param, "noise_level": level,
                    "noise_seed": NAN if fam == "none" else s, "method": method, "lam": lam, "tau": tau,
                    "train_seed": s, "epochs": 4, "batch_size": 16, "lr": 2e-5,
                    "test_accuracy": round(acc, 3), "dev_accuracy": round(acc - 0.01 + rng.normal(0, 0.01), 3),
                    "best_epoch": 3, "realized_noise_rate": rate, "wall_time_s": 10.0,
                })
                i += 1
    return pd.DataFrame(rows)


def make_history(table: pd.DataFrame, epochs: int = 4) -> pd.DataFrame:
    rows = []
    for r in table.to_dict("records"):
        noisy = r["noise_family"] != "none"
        for e in range(1, epochs + 1):
            memo = min(1.0, 0.15 * e * (0.5 if r["method"] == SCL else 1.0))
            rows.append({
                "run_id": r["run_id"], "epoch": e, "train_loss": 1.0 / e, "dev_accuracy": r["dev_accuracy"],
                "train_acc_clean": min(1.0, 0.6 + 0.1 * e), "train_acc_corrupted_noisy": memo if noisy else None,
                "train_acc_corrupted_true": (1 - memo) * 0.9 if noisy else None,
            })
    return pd.DataFrame(rows)


def _none(value):
    return None if isinstance(value, float) and math.isnan(value) else value


def config_of(row: dict, *, legacy: bool = False) -> dict:
    """The config.json a run of ``row`` has: today's (method_params) or the old one (temperature, lam, tau)."""
    config = {k: _none(v) for k, v in row.items() if k not in ("run_id", "lam", "tau", *METRICS)}
    params = {k: row[k] for k in ("lam", "tau") if not math.isnan(row[k])}
    if not legacy:
        return {**config, "method_params": params}
    level = config.pop("noise_level")
    param = config.pop("noise_param")
    config.update(temperature=level if param == "temperature" else None, noise_rate=level if param == "rate" else None)
    if row["method"] == CE:  # the old schema stored CE with lam 0 and no tau
        return {**config, "lam": 0.0, "tau": None}
    return {**config, **params}


def fake_counts(n_corrupted: int, num_labels: int, n_examples: int = 100) -> list[list[int]]:
    """Transition counts of ``n_examples`` labels, ``n_corrupted`` of them moved.

    Two classes: the historic ``[[50 - k//2, k//2], [k - k//2, 50 - (k - k//2)]]`` whatever ``n_examples``.
    More classes: the examples split as evenly as the count allows, the corrupted ones dealt out in turn to
    the (clean, noisy) off-diagonal cells, row by row.
    """
    if num_labels == 2:
        return [[50 - n_corrupted // 2, n_corrupted // 2], [n_corrupted - n_corrupted // 2, 50 - (n_corrupted - n_corrupted // 2)]]
    counts = np.diag([n_examples // num_labels + (c < n_examples % num_labels) for c in range(num_labels)])
    cells = [(i, j) for i in range(num_labels) for j in range(num_labels) if i != j]
    for m in range(n_corrupted):
        i, j = cells[m % len(cells)]
        counts[i, i] -= 1
        counts[i, j] += 1
    return counts.tolist()


def write_runs(root: Path, table: pd.DataFrame, history: pd.DataFrame | None = None, *, legacy: bool = False,
               embeddings: dict[str, int] | None = None, label_names=("rotten", "fresh")) -> Path:
    """Run directories as the trainer writes them; ``embeddings`` maps run_id -> number of test points.

    The transition matrix (and the embeddings' labels) have ``len(label_names)`` classes (:func:`fake_counts`)."""
    rng = np.random.default_rng(3)
    history = make_history(table) if history is None else history
    for r in table.to_dict("records"):
        d = root / "runs" / r["run_id"]
        d.mkdir(parents=True)
        k = int(round(r["realized_noise_rate"] * r["n_train"]))
        metrics = {
            **{m: r[m] for m in METRICS if m in r},
            "transition_matrix": {"orientation": "rows=clean, cols=noisy", "labels": list(label_names),
                                  "counts": fake_counts(k, len(label_names), int(r["n_train"]))},
            "history": [{k2: _none(v) for k2, v in h.items() if k2 != "run_id"}
                        for h in history[history["run_id"] == r["run_id"]].to_dict("records")],
            "versions": {"noisebench": "0.1.0", "torch": "2.13.0", "transformers": "4.50.0", "python": "3.11.9"},
        }
        (d / "config.json").write_text(json.dumps(config_of(r, legacy=legacy)))
        (d / "metrics.json").write_text(json.dumps(metrics))
        (d / "DONE").write_text("")
        if embeddings and r["run_id"] in embeddings:
            write_embeddings(d, embeddings[r["run_id"]], rng, num_labels=len(label_names))
    return root


def write_embeddings(run_dir: Path, n: int, rng: np.random.Generator, d: int = 8, *, num_labels: int = 2) -> None:
    """``n`` test points in ``d`` dimensions (at least ``num_labels - 1``); class c is shifted by 2.5 along axis
    c - 1 (class 0 stays at 0)."""
    d = max(d, num_labels - 1)
    labels = rng.integers(0, num_labels, n)
    shift = np.vstack([np.zeros(d), 2.5 * np.eye(d)])[: num_labels]
    cls = rng.normal(0, 1, (n, d)) + shift[labels]
    np.savez(run_dir / "embeddings.npz", cls=cls, labels=labels)


def write_artifact(root: Path, level: float, counts, labels=("a", "b", "c"), task="toy", family="temperature",
                   param="temperature") -> Path:
    root.mkdir(parents=True)
    counts = np.asarray(counts)
    (root / "noise.json").write_text(json.dumps({
        "schema_version": 1, "task": task, "family": family, "params": {param: level},
        "realized_noise_rate": 1.0 - np.trace(counts) / counts.sum(),
        "transition_matrix": {"orientation": "rows=clean, cols=noisy", "labels": list(labels),
                              "counts": counts.tolist()},
    }))
    return root


BENCHMARK_METHODS = (("ce", {}), ("ce-scl", {"lam": 0.9, "tau": 0.3}), ("ls", {"epsilon": 0.1}), ("gce", {"q": 0.7}),
                     ("sce", {"alpha": 0.1, "beta": 1.0}))
"""benchmark-small's methods with their hyper-parameters."""
BENCHMARK_SETTINGS = (("rt-polarity", "temperature", "target_rate", 0.2), ("rt-polarity", "uniform", "target_rate", 0.2),
                      ("vader-movie", "annotator", "raters", 1.0), ("vader-movie", "temperature", "target_rate", 0.057),
                      ("vader-movie", "uniform", "target_rate", 0.057))
"""benchmark-small's noise settings: (task, family, what the level is a value of, level); one level each, no clean."""


def make_benchmark_table(*, seeds=10, effects=None, spread=0.02) -> pd.DataFrame:
    """benchmark-small's grid: every method on every noise setting and seed triple (zipped), no clean runs.

    A seed triple shares a base accuracy across methods; ``effects`` maps a method to the points it adds
    (default: 0 for ce, then +1, -1, +2, +0.5 points) plus per-run noise of 0.4 points.
    """
    rng = np.random.default_rng(11)
    effects = effects or {"ce": 0.0, "ce-scl": 0.01, "ls": -0.01, "gce": 0.02, "sce": 0.005}
    rows = []
    for task, family, param, level in BENCHMARK_SETTINGS:
        rate = level if param == "target_rate" else 0.057
        for s in range(seeds):
            base = 0.75 - rate + rng.normal(0, spread)
            realised = rate + rng.normal(0, 0.01)
            for method, params in BENCHMARK_METHODS:
                acc = base + effects[method] + (rng.normal(0, 0.004) if method != CE else 0.0)
                rows.append({
                    "run_id": f"run{len(rows):04d}", "task": task, "model": MODEL, "n_train": 100, "data_seed": s,
                    "noise_family": family, "noise_param": param, "noise_level": level, "noise_seed": s,
                    "weak_fit": "in-sample" if family == "temperature" else None, "pooling": "mean",
                    "method": method, **params, "train_seed": s, "epochs": 5, "batch_size": 16, "lr": 3e-4,
                    "test_accuracy": round(acc, 3), "dev_accuracy": round(acc + rng.normal(0, 0.01), 3),
                    "best_epoch": 3, "realized_noise_rate": realised, "wall_time_s": 10.0,
                })
    return pd.DataFrame(rows)


def benchmark_cells(table: pd.DataFrame, method: str, *, baseline: str = CE) -> list[tuple[np.ndarray, np.ndarray]]:
    """(method, baseline) test accuracies of each benchmark-small cell, aligned by seed, paired seeds only."""
    out = []
    for task, family, _, level in BENCHMARK_SETTINGS:
        cell = table[(table["task"] == task) & (table["noise_family"] == family) & (table["noise_level"] == level)]
        treat, base = (cell[cell["method"] == m].set_index("data_seed")["test_accuracy"] for m in (method, baseline))
        seeds = sorted(set(treat.index) & set(base.index))
        out.append((treat.loc[seeds].to_numpy(dtype=float), base.loc[seeds].to_numpy(dtype=float)))
    return out


def brute_force_improvement(treatment, baseline) -> float:
    """P(X > Y) + ½ P(X = Y) by a double loop over every (treatment run, baseline run)."""
    wins = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in treatment for y in baseline)
    return wins / (len(treatment) * len(baseline))

"""Where a grid run's time goes: set-up (model load, tokenisation, artifact generation) vs training vs evaluation.

    python benchmarks/bench_grid_overhead.py [--results DIR] [--epochs 5]

Runs a 6-cell grid (rt-polarity, N=100, T in {0.1, 0.5, 0.9}, CE and CE+SCL, one seed set) on the
default encoder in one worker process, as `noisebench train --grid --jobs 1` does, and prints per run
the seconds in (a) set-up, (b) training, (c) evaluation and the share of (a). Artifact generation
happens once per artifact before dispatch; its time is split evenly over the runs that share it.
Target: (a) <= 10% of a run's wall time once caches are warm (every run after the first).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from noisebench.grid import runner
from noisebench.schema import RunConfig


def grid(epochs: int) -> list[RunConfig]:
    common = dict(task="rt-polarity", n_train=100, noise_family="temperature", noise_seed=0, epochs=epochs, lr=1e-4, max_length=64, dev_limit=300, test_limit=1000)
    methods = [dict(method="ce"), dict(method="ce-scl", method_params={"lam": 0.9, "tau": 0.3})]
    return [RunConfig(**common, noise_level=t, **m) for t in (0.1, 0.5, 0.9) for m in methods]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=None)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    results = args.results or Path(tempfile.mkdtemp(prefix="nb-bench-"))
    configs = grid(args.epochs)

    tick = time.perf_counter()
    n_artifacts = runner.prepare_artifacts(configs, results, progress=False)
    artifact_s = time.perf_counter() - tick
    runner.run_grid(configs, results, progress=False)
    table = pd.read_parquet(results / "results.parquet").set_index("run_id").loc[[c.run_id for c in configs]]
    per_artifact_share = artifact_s / len(configs)
    rows = []
    for i, (_, row) in enumerate(table.iterrows()):
        setup = row["setup_time_s"] + per_artifact_share
        wall = row["wall_time_s"] + per_artifact_share
        rows.append({"run": i + 1, "method": row["method"], "T": row["noise_level"], "setup_s": setup, "train_s": row["train_time_s"], "eval_s": row["eval_time_s"], "wall_s": wall, "setup_share": setup / wall})
    frame = pd.DataFrame(rows)
    print(f"{n_artifacts} artifacts generated in {artifact_s:.1f}s (shared by {len(configs)} runs)")
    print(frame.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    warm = frame.iloc[1:]
    print(f"warm runs (2-{len(frame)}): set-up share mean {warm['setup_share'].mean():.1%}, max {warm['setup_share'].max():.1%} (target <= 10%)")
    print(f"cold first run: set-up share {frame['setup_share'].iloc[0]:.1%}")


if __name__ == "__main__":
    main()

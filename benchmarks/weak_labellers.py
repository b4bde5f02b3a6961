"""Weak labellers side by side on GLUE: how good is each one, and how much noise does T = 0.5 make with it?

    python benchmarks/weak_labellers.py GLUE_DIR [--labellers tfidf-logreg encoder-probe] [--n-relabel N]

For SST-2, RTE and MRPC (pool from train) and QNLI (no train file here: pool carved from dev), each
labeller is fitted in-sample on the whole pool (the default fit) and the temperature family draws at
T = 0.5 with noise seed 0. Printed per (task, labeller): pool size, the labeller's accuracy on the
task's clean dev split and on the relabelled examples themselves (fit), the realised noise rate, and
the seconds it took (embedding included; the offline encoder is fetched on first use). encoder-probe
uses its default encoder here, the default model asset (all-minilm-l6-v2).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from noisebench.data.tasks import load_task
from noisebench.noise.generate import NoiseSpec, relabel

TASKS = (("sst2", False), ("rte", False), ("mrpc", False), ("qnli", True))
"""(task, pool_from_dev): QNLI's train file is not in the shared GLUE folder."""
TEMPERATURE = 0.5


def measure(task_name: str, pool_from_dev: bool, labeller: str, *, data_dir: Path, n_relabel: int | None) -> dict[str, object]:
    """One row of the table: fit the labeller in-sample, relabel at T = 0.5, report accuracy and rates."""
    task = load_task(task_name, data_dir=data_dir, pool_from_dev=pool_from_dev)
    spec = NoiseSpec("temperature", TEMPERATURE, noise_seed=0, data_seed=0, n_relabel=n_relabel, weak_fit="in-sample", weak_model=labeller)
    spec.validate(len(task.pool))
    started = time.perf_counter()
    made = relabel(task, spec)
    scores = made.scores  # the temperature family always uses a weak labeller
    return {
        "task": task_name + (" (pool from dev)" if pool_from_dev else ""),
        "labeller": labeller,
        "n_relabelled": len(made.labels),
        "dev_accuracy": scores.dev_accuracy,
        "fit_accuracy": scores.fit_accuracy,
        "realised_noise_rate": float(made.labels["is_corrupted"].mean()),
        "seconds": time.perf_counter() - started,
    }


def table(rows: list[dict[str, object]]) -> str:
    """A Markdown table of the rows."""
    header = "| task | labeller | relabelled | dev acc | fit acc | realised noise (T=0.5) | s |"
    lines = [header, "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['labeller']} | {r['n_relabelled']:,} | {r['dev_accuracy']:.3f} | {r['fit_accuracy']:.3f} "
            f"| {r['realised_noise_rate']:.3f} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("glue_dir", type=Path, help="GLUE root in the canonical TSV layout (SST-2/, RTE/, MRPC/, QNLI/)")
    parser.add_argument("--labellers", nargs="+", default=["tfidf-logreg", "encoder-probe"])
    parser.add_argument("--tasks", nargs="+", default=[name for name, _ in TASKS], help="a subset of sst2 rte mrpc qnli")
    parser.add_argument("--n-relabel", type=int, default=None, help="relabel only the first N pool examples (nested order); default: the whole pool")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = [
        measure(name, from_dev, labeller, data_dir=args.glue_dir, n_relabel=args.n_relabel)
        for name, from_dev in TASKS if name in args.tasks
        for labeller in args.labellers
    ]
    print(table(rows))
    print(f"\nwall time {time.perf_counter() - started:.0f} s (in-sample fit, T = {TEMPERATURE}, noise seed 0, data seed 0)")


if __name__ == "__main__":
    main()

"""The offline recipe sweep: which (pooling, lr, epochs, batch size) makes clean rt-polarity N=100 worth studying?

    python benchmarks/recipe_sweep.py select [--results results/recipe-sweep] [--jobs 2] [--seeds 3]
    python benchmarks/recipe_sweep.py confirm --pooling mean --lr 1e-4 --epochs 10 --batch-size 16 [--seeds 10]

``select`` trains CE on clean labels for every recipe of the grid below over a few seed sets and
prints the mean best dev accuracy per recipe (model selection on dev, as every run does); the recipe
is chosen on dev only. ``confirm`` trains CE and CE+SCL (paper λ, τ) with the chosen recipe over 10
seed sets and prints clean test accuracy, mean and sd per method. Runs go through the grid runner,
so a rerun skips what is done.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import pandas as pd

from noisebench.grid.runner import run_grid
from noisebench.methods import BASELINE
from noisebench.methods.ce_scl import CE_SCL
from noisebench.schema import RunConfig
from noisebench.store.table import collect_table

POOLINGS = ("cls", "mean")
LRS = (1e-4, 3e-4)
EPOCHS = (5, 10)
BATCH_SIZES = (16,)
COMMON = dict(task="rt-polarity", n_train=100, max_length=64, dev_limit=200, test_limit=1000)


def recipe(config: RunConfig) -> tuple:
    return (config.pooling, config.lr, config.epochs, config.batch_size)


def select_configs(seeds: int) -> list[RunConfig]:
    return [
        RunConfig(**COMMON, pooling=p, lr=lr, epochs=e, batch_size=b, method=BASELINE, data_seed=s, train_seed=s)
        for p, lr, e, b in itertools.product(POOLINGS, LRS, EPOCHS, BATCH_SIZES)
        for s in range(seeds)
    ]


def confirm_configs(args: argparse.Namespace) -> list[RunConfig]:
    chosen = dict(pooling=args.pooling, lr=args.lr, epochs=args.epochs, batch_size=args.batch_size)
    return [
        RunConfig(**COMMON, **chosen, method=m, data_seed=s, train_seed=s)
        for s in range(args.seeds)
        for m in (BASELINE, CE_SCL.name)
    ]


def summarise(table: pd.DataFrame, configs: list[RunConfig], by: list[str], metric: str) -> pd.DataFrame:
    ids = {c.run_id for c in configs}
    rows = table[table["run_id"].isin(ids)]
    summary = rows.groupby(by)[metric].agg(["mean", "std", "count"]) * [100, 100, 1]
    return summary.sort_values("mean", ascending=False).round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stage", choices=("select", "confirm"))
    parser.add_argument("--results", type=Path, default=Path("results/recipe-sweep"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--pooling", choices=POOLINGS, default="mean")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()
    if args.stage == "select":
        configs = select_configs(args.seeds or 3)
        by, metric = ["pooling", "lr", "epochs", "batch_size"], "dev_accuracy"
    else:
        args.seeds = args.seeds or 10
        configs = confirm_configs(args)
        by, metric = ["method"], "test_accuracy"
    summary = run_grid(configs, args.results, jobs=args.jobs)
    print(f"runs: {dict(summary.counts())}")
    print(f"{metric} (%), mean / sd / count over seed sets:")
    print(summarise(collect_table(args.results), configs, by, metric).to_string())


if __name__ == "__main__":
    main()

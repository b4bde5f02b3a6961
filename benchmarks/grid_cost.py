"""Run count and compute estimate of a grid: model FLOPs per run from the tasks' real token counts.

    python benchmarks/grid_cost.py experiments/benchmark.yaml [--data-dir GLUE] [--mfu 0.4 0.2]
        [--peak-tflops 989] [--overhead-s 30] [--measured RESULTS_DIR]

For every run the grid expands to, the FLOPs of training (forward + backward = 3 x forward, on
batches drawn as the run draws them and padded to their longest example), the per-epoch
memorisation-and-dev pass and the final test pass (length-sorted batches: 128 examples on a GPU,
at most 1,024 tokens for the CPU runs ``--measured`` reads, as ``run_training`` cuts them) are counted
with the standard encoder formula per sequence of L tokens, n layers, width d, feed-forward f:
forward = n * (2 L (4 d^2 + 2 d f) + 4 L^2 d) (projections and attention; embeddings, the head and
the optimiser step are left out). Token counts come from the tasks' own texts through the offline
encoder's WordPiece tokenizer (a stand-in for RoBERTa's BPE, whose counts are close on English).

GPU hours = FLOPs / (MFU x peak) + a fixed per-run overhead (model load, tokenisation), at each MFU
given. ``--measured DIR`` reads the run directories of a finished grid (e.g. the quick grid on a
CPU) and prints, for those runs, the FLOP/s their measured train and eval times imply: the check
that the FLOP model matches a run that happened.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import torch

from noisebench.data.sampling import sample_subset
from noisebench.data.tasks import load_task
from noisebench.grid.spec import expand, load_grid
from noisebench.schema import RunConfig
from noisebench.train.batches import CPU_EVAL_TOKENS, encode, length_sorted_batches

TOKENIZER = "all-minilm-l6-v2"
SHAPES = {  # layers, width, feed-forward width
    "roberta-large": (24, 1024, 4096),
    "roberta-base": (12, 768, 3072),
    "bert-base-uncased": (12, 768, 3072),
    "all-minilm-l6-v2": (6, 384, 1536),
}


def forward_flops(lengths: np.ndarray, shape: tuple[int, int, int]) -> float:
    """Forward FLOPs of sequences padded to ``lengths`` tokens each."""
    n, d, f = shape
    lengths = lengths.astype(np.float64)
    return float(n * np.sum(2 * lengths * (4 * d * d + 2 * d * f) + 4 * lengths**2 * d))


def padded_sorted(lengths: np.ndarray, max_tokens: int | None) -> np.ndarray:
    """Per-example padded lengths in inference batches (``length_sorted_batches``, as ``run_training`` cuts them)."""
    padded = np.empty_like(lengths)
    for index in length_sorted_batches(lengths, max_tokens=max_tokens):
        padded[index] = lengths[index].max()
    return padded


def padded_shuffled(lengths: np.ndarray, batch: int, seed: int) -> np.ndarray:
    """Per-example padded lengths in one epoch of shuffled batches (how training batches)."""
    order = torch.randperm(len(lengths), generator=torch.Generator().manual_seed(seed)).numpy()
    shuffled = lengths[order]
    return np.concatenate([np.full(len(chunk), chunk.max()) for chunk in np.array_split(shuffled, range(batch, len(shuffled), batch))])


@cache
def _task(name: str, data_dir: Path | None, pool_from_dev: bool):
    return load_task(name, data_dir=data_dir, pool_from_dev=pool_from_dev)


@cache
def split_lengths(task: str, split: str, limit: int | None, max_length: int, data_dir: Path | None, pool_from_dev: bool) -> np.ndarray:
    data = _task(task, data_dir, pool_from_dev)
    frame = getattr(data, split).iloc[:limit]
    return encode(frame, TOKENIZER, max_length, data.is_pair).lengths


def run_flops(config: RunConfig, shape: tuple[int, int, int], data_dir: Path | None, *, eval_tokens: int | None = None) -> tuple[float, float]:
    """(training FLOPs, evaluation FLOPs) of one run whose inference batches hold at most ``eval_tokens``
    tokens (a CPU run's) or 128 examples (``None``: a GPU run's)."""
    data = _task(config.task, data_dir, config.pool_from_dev)
    subset = sample_subset(data.pool, config.n_train, config.data_seed)
    train = encode(subset, TOKENIZER, config.max_length, data.is_pair).lengths
    train_flops = sum(3 * forward_flops(padded_shuffled(train, config.batch_size, config.train_seed + epoch), shape) for epoch in range(config.epochs))
    dev = split_lengths(config.task, "dev", config.dev_limit, config.max_length, data_dir, config.pool_from_dev)
    test = split_lengths(config.task, "test", config.test_limit, config.max_length, data_dir, config.pool_from_dev)
    per_epoch = forward_flops(padded_sorted(np.concatenate([train, dev]), eval_tokens), shape)  # one pass: memorisation + dev
    return train_flops, config.epochs * per_epoch + forward_flops(padded_sorted(test, eval_tokens), shape)


def recipe(config: RunConfig) -> tuple:
    """What a run's FLOPs depend on: not its noise, method or seeds (beyond batch padding, which one
    seed set represents)."""
    return (config.task, config.n_train, config.epochs, config.batch_size, config.max_length, config.dev_limit, config.test_limit)


def measured(results: Path, data_dir: Path | None) -> None:
    rows = []
    for path in sorted((results / "runs").glob("*/metrics.json"))[:20]:
        metrics = json.loads(path.read_text())
        config = RunConfig(**json.loads((path.parent / "config.json").read_text()))
        train, evaluation = run_flops(config, SHAPES[config.model], data_dir, eval_tokens=CPU_EVAL_TOKENS)  # runs measured on CPU
        rows.append((train / metrics["train_time_s"], evaluation / metrics["eval_time_s"]))
    if rows:
        rates = np.array(rows) / 1e9
        print(f"measured runs ({len(rows)} of {results}): training {np.median(rates[:, 0]):.1f} GFLOP/s, evaluation {np.median(rates[:, 1]):.1f} GFLOP/s (median)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("grid", type=Path)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--mfu", type=float, nargs="+", default=[0.4, 0.1, 0.05])
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="bf16 dense peak of the card (H100 SXM: 989)")
    parser.add_argument("--overhead-s", type=float, default=15.0, help="per-run set-up: model load, tokenisation")
    parser.add_argument("--measured", type=Path, default=None, help="a results dir of finished runs to check the FLOP model against")
    args = parser.parse_args()

    grid = load_grid(args.grid)
    configs = expand(grid, pool_size=lambda task: len(_task(task, args.data_dir, grid.evaluation.pool_from_dev).pool))
    shape = SHAPES[grid.model]
    reps = {recipe(config): config for config in reversed(configs)}
    counts = Counter(recipe(config) for config in configs)
    flops = {key: run_flops(config, shape, args.data_dir) for key, config in reps.items()}
    total = sum(counts[key] * sum(flops[key]) for key in counts)
    print(f"{args.grid}: {len(configs)} runs, model {grid.model} {shape}")
    for key, (train, evaluation) in flops.items():
        print(f"  {key[0]:<14} N={key[1]:<6} {counts[key]:>5} runs x {(train + evaluation) / 1e12:,.1f} TFLOP (train {train / 1e12:,.1f}, eval {evaluation / 1e12:,.1f})")
    print(f"total {total / 1e15:,.1f} PFLOP")
    for mfu in args.mfu:
        hours = total / (mfu * args.peak_tflops * 1e12) / 3600 + len(configs) * args.overhead_s / 3600
        print(f"  at MFU {mfu:.0%} of {args.peak_tflops:g} TFLOP/s + {args.overhead_s:g} s/run overhead: {hours:,.1f} GPU hours")
    if args.measured is not None:
        measured(args.measured, args.data_dir)


if __name__ == "__main__":
    main()

"""Grid throughput of the ray executor against the local process pool, on the same 8-run grid (issue 18).

    python benchmarks/bench_executors.py [--jobs 2] [--repeats 2] [--model PATH] [--epochs 1]

Runs ``noisebench train --grid G --executor E --jobs J`` as a user would (a fresh results folder each
time, so nothing is skipped), alternating local, ray, local, ray, ..., and prints each wall time (the
whole command: start-up, artifacts, runs, table), the medians and the ray / local ratio. The default
grid trains the test suite's tiny random BERT on synthetic SST-2 (8 runs: 2 levels x 2 methods x 2 seed
sets), so the figures are mostly each executor's own overhead; ``--model`` names a real encoder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

GRID = """\
name: bench-executors
tasks: [sst2]
model: {model}
n_train: [32]
noise: {{family: temperature, levels: [0.5, 2.0]}}
methods: [ce, {{name: ce-scl, lam: [0.9], tau: [0.3]}}]
seeds: {{data: [0, 1], noise: [0, 1], train: [0, 1]}}
training: {{epochs: {epochs}, batch_size: 8, lr: 1.0e-3, max_length: 16}}
evaluation: {{dev_limit: 40, test_limit: 40}}
executor: {{name: ray, num_cpus_per_run: 1}}
"""


def tiny_model(folder: Path) -> Path:
    """The test suite's tiny BERT (tests/conftest.py), saved under ``folder``."""
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from tests.conftest import NEGATIVE, NEUTRAL, POSITIVE

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *POSITIVE, *NEGATIVE, *NEUTRAL]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(str(folder / "vocab.txt"), do_lower_case=True)
    config = BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64, max_position_embeddings=64)
    BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2, help="Rounds of (local, ray).")
    parser.add_argument("--model", default=None, help="Encoder (default: a tiny random BERT).")
    parser.add_argument("--epochs", type=int, default=1)
    args = parser.parse_args()
    from tests.conftest import write_sst2

    root = Path(tempfile.mkdtemp(prefix="nb-bench-executors-"))
    glue = write_sst2(root / "glue", n_train=120, n_dev=80)
    model = args.model or str(tiny_model(root / "tiny-bert"))
    grid = root / "grid.yaml"
    grid.write_text(GRID.format(model=model, epochs=args.epochs))
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(TQDM_DISABLE="1", RAY_DISABLE_USAGE_STATS="1", NOISEBENCH_HOME=str(root / "home"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    times: dict[str, list[float]] = {"local": [], "ray": []}
    print(f"8-run grid, --jobs {args.jobs}, {os.cpu_count()} CPUs, model {model}")
    for round_ in range(args.repeats):
        for executor in ("local", "ray"):
            results = root / f"{executor}-{round_}"
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "noisebench", "train", "--grid", str(grid), "--results", str(results), "--data-dir", str(glue),
                 "--executor", executor, "--jobs", str(args.jobs)],
                check=False, env=env, capture_output=True, text=True,
            )
            wall = time.perf_counter() - started
            if done.returncode != 0:
                sys.exit(f"{executor} failed:\n{done.stderr}")
            times[executor].append(wall)
            print(f"round {round_ + 1} {executor:<5} {wall:6.1f} s   {done.stdout.splitlines()[0]}", flush=True)
    local, ray = statistics.median(times["local"]), statistics.median(times["ray"])
    print(f"median wall: local {local:.1f} s, ray {ray:.1f} s; throughput ray / local = {local / ray:.2f}x (runs/s ratio)")


if __name__ == "__main__":
    main()

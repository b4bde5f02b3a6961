"""Our training loop vs Hugging Face Trainer's, evaluation's share of a run, and both against the matmul peak (issue 12).

    python benchmarks/bench_vs_trainer.py [--reps 3] [--threads 2] [--methods ce ce-scl] [--quick]

Set-up (the quick recipe, on CPU): all-MiniLM-L6-v2 with mean pooling, rt-polarity N = 100 clean
labels, batch 16, max length 64, 5 epochs, lr 3e-4, dev 200 / test 1000. In one process, for each
method and repetition, ours and Trainer's runs alternate (which goes first alternates too); medians
over repetitions, with the min-max range in brackets.

Ours is ``run_training`` itself: its ``train_time_s`` (the epochs' step loops: batching, forward,
backward, AdamW, schedule), ``eval_time_s`` and ``wall_time_s``. Trainer's is the time between its
``on_epoch_begin`` and ``on_epoch_end`` callbacks (data loading with ``DataCollatorWithPadding``,
``training_step``, optimizer and scheduler), summed over epochs. Trainer gets the same model copy,
examples in the same batch order (a sampler replaying our run's permutations; the padded tokens
it trained on are checked against ours), forward (the pooled forward) and loss (the method registry's ``compute_loss``, in a
``compute_loss`` override), the same optimizer (``make_optimizer``: fused AdamW where available)
and linear warm-up schedule, and no gradient clipping (ours has none); no evaluation, saving,
logging, progress bar or dataloader workers; the same torch thread count (checked after each run).

Efficiency: model FLOPs are counted with ``torch.utils.flop_counter`` over the run's own batches
(its batch order and dynamic padding for training, forward + backward; ``predict`` on its pre-collated
train + dev and test batches for evaluation), divided by the measured times, and compared with a 2048^3 float32 matmul
timed in the same process with the same threads (``bench_efficiency.matmul_peak``).
Targets: our step >= 1.0x Trainer's; evaluation <= 40% of the run's wall time.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import transformers
from bench_efficiency import counted_flops, matmul_peak  # run as a script: benchmarks/ is on sys.path
from transformers import (
    DataCollatorWithPadding,
    PrinterCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    get_linear_schedule_with_warmup,
)

from noisebench.data.sampling import sample_subset
from noisebench.data.tasks import load_task
from noisebench.methods import get_method
from noisebench.schema import RunConfig
from noisebench.train.batches import concat, encode, encoded_eval_split, eval_batches, eval_split_batches
from noisebench.train.encoder import fresh_model, load_tokenizer, pooled_forward
from noisebench.train.run import make_optimizer, predict, run_training, with_precision

CPU = torch.device("cpu")
METHOD_PARAMS = {"ce": {}, "ce-scl": {"lam": 0.9, "tau": 0.3}}
QUICK_RECIPE = {"n_train": 100, "epochs": 5, "dev_limit": 200, "test_limit": 1000}
SMOKE = {"n_train": 32, "epochs": 1, "dev_limit": 32, "test_limit": 64}


def run_config(method: str, sizes: dict[str, int]) -> RunConfig:
    """The quick recipe's run on clean labels (noise changes labels, not the work)."""
    return RunConfig(
        task="rt-polarity", model="all-minilm-l6-v2", method=method, method_params=METHOD_PARAMS.get(method, {}),
        pooling="mean", batch_size=16, max_length=64, lr=3e-4, save_embeddings=True, **sizes,
    )


@dataclass(frozen=True)
class Ours:
    train_s: float
    eval_s: float
    wall_s: float


def time_ours(config: RunConfig) -> Ours:
    metrics = run_training(config, progress=False).metrics
    return Ours(metrics["train_time_s"], metrics["eval_time_s"], metrics["wall_time_s"])


class _RunOrder(torch.utils.data.Sampler[int]):
    """The run's own batch order for Trainer: each epoch one permutation drawn as ``run_training`` draws it,
    so both sides train on the same batches (the same padded tokens)."""

    def __init__(self, n: int, seed: int) -> None:
        self.n = n
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        return iter(torch.randperm(self.n, generator=self.generator).tolist())


class _EpochTimer(TrainerCallback):
    def __init__(self) -> None:
        self.seconds = 0.0

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.start = time.perf_counter()

    def on_epoch_end(self, args, state, control, **kwargs):
        self.seconds += time.perf_counter() - self.start


@dataclass(frozen=True)
class Theirs:
    train_s: float
    tokens: int  # padded tokens trained on


def time_trainer(config: RunConfig) -> Theirs:
    """Seconds Trainer spends in its epochs training ``config``'s model on ``config``'s examples, in our batch order."""
    task = load_task(config.task)
    subset = sample_subset(task.pool, config.n_train, config.data_seed)
    train = encode(subset, config.model, config.max_length, task.is_pair)
    rows = [{**train.example(i), "labels": int(label)} for i, label in enumerate(train.labels)]
    net = fresh_model(config.model, task.num_labels, config.train_seed)
    method = get_method(config.method)
    want_features = method.uses_features(config.method_params)
    forward = with_precision(pooled_forward(config.pooling), CPU, config.precision)
    total_steps = -(-len(train) // config.batch_size) * config.epochs
    optimizer = make_optimizer(net, config.lr, config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)

    tokens = [0]

    class MethodTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            return _RunOrder(len(rows), config.train_seed)

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs.pop("labels")
            tokens[0] += inputs["input_ids"].numel()
            logits, features = forward(model, inputs, want_features)
            loss = method.compute_loss(logits, features, labels, config.method_params)
            return (loss, logits) if return_outputs else loss

    timer = _EpochTimer()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=config.batch_size, num_train_epochs=config.epochs, seed=config.train_seed,
            eval_strategy="no", save_strategy="no", logging_strategy="no", report_to=[], disable_tqdm=True,
            dataloader_num_workers=0, max_grad_norm=0.0, use_cpu=True,
        )
        trainer = MethodTrainer(
            model=net, args=args, train_dataset=rows, data_collator=DataCollatorWithPadding(load_tokenizer(config.model)),
            optimizers=(optimizer, scheduler), callbacks=[timer],
        )
        trainer.remove_callback(PrinterCallback)  # what disable_tqdm puts in the progress bar's place
        trainer.train()
    if trainer.state.global_step != total_steps:
        raise RuntimeError(f"Trainer took {trainer.state.global_step} steps, ours {total_steps}")
    return Theirs(timer.seconds, tokens[0])


@dataclass(frozen=True)
class Work:
    """Model FLOPs and padded tokens of one run's training and evaluation."""

    train_flops: int
    train_tokens: int
    eval_flops: int
    eval_tokens: int


def count_work(config: RunConfig) -> Work:
    """FLOPs of ``config``'s run: its batches in its order (forward + backward), and ``predict``'s passes."""
    task = load_task(config.task)
    subset = sample_subset(task.pool, config.n_train, config.data_seed)
    train = encode(subset, config.model, config.max_length, task.is_pair)
    net = fresh_model(config.model, task.num_labels, config.train_seed)
    method = get_method(config.method)
    want_features = method.uses_features(config.method_params)
    forward = with_precision(pooled_forward(config.pooling), CPU, config.precision)

    def fwd_bwd(batch: dict[str, torch.Tensor], y: torch.Tensor) -> None:
        logits, features = forward(net, batch, want_features)
        method.compute_loss(logits, features, y, config.method_params).backward()

    net.train()
    by_shape: dict[tuple[int, ...], int] = {}  # the counted ops' shapes depend on the batch shape only
    train_flops = train_tokens = 0
    shuffler = torch.Generator().manual_seed(config.train_seed)
    for _ in range(config.epochs):
        for index in torch.randperm(len(train), generator=shuffler).split(config.batch_size):
            batch = train.rows(index.numpy())  # what the run's batches are
            shape = tuple(batch["input_ids"].shape)
            if shape not in by_shape:
                by_shape[shape] = counted_flops(lambda: fwd_bwd(batch, torch.as_tensor(train.labels[index.numpy()])))
                net.zero_grad(set_to_none=True)
            train_flops += by_shape[shape]
            train_tokens += batch["input_ids"].numel()

    train_and_dev = eval_batches(concat(train, encoded_eval_split(task, "dev", config.model, config.max_length, config.dev_limit), config.model), CPU)
    test = eval_split_batches(task, "test", config.model, config.max_length, config.test_limit, CPU)
    fed: list[int] = []

    def counting_forward(net: torch.nn.Module, batch: dict[str, torch.Tensor], want: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        fed.append(batch["input_ids"].numel())
        return forward(net, batch, want)

    eval_flops = eval_tokens = 0
    for split, times, want in ((train_and_dev, config.epochs, False), (test, 1, config.save_embeddings)):
        fed.clear()
        eval_flops += times * counted_flops(lambda: predict(net, split, forward=counting_forward, want_features=want))
        eval_tokens += times * sum(fed)
    return Work(train_flops, train_tokens, eval_flops, eval_tokens)


def summary(values: Sequence[float], fmt: Callable[[float], str]) -> str:
    """``median [min-max]``."""
    return f"{fmt(statistics.median(values))} [{fmt(min(values))}-{fmt(max(values))}]"


def check_threads(threads: int) -> None:
    if torch.get_num_threads() != threads:
        raise RuntimeError(f"torch uses {torch.get_num_threads()} threads after a run, not {threads}")


def bench_method(method: str, sizes: dict[str, int], reps: int, threads: int, peak: float) -> None:
    config = run_config(method, sizes)
    steps = -(-config.n_train // config.batch_size) * config.epochs
    time_ours(config.model_copy(update={"epochs": 1}))  # warm-up: model load, eval-split cache, kernels
    time_trainer(config.model_copy(update={"epochs": 1}))
    ours: list[Ours] = []
    theirs: list[Theirs] = []
    for rep in range(reps):
        for side in ("ours", "trainer") if rep % 2 == 0 else ("trainer", "ours"):
            if side == "ours":
                ours.append(time_ours(config))
            else:
                theirs.append(time_trainer(config))
            check_threads(threads)
    work = count_work(config)
    if any(t.tokens != work.train_tokens for t in theirs):
        raise RuntimeError(f"Trainer trained on {theirs[0].tokens} padded tokens, our run on {work.train_tokens}: not the same batches")

    def ms_per_step(s: float) -> str:
        return f"{s / steps * 1e3:.0f}"

    def pct(x: float) -> str:
        return f"{x:.1%}"

    def x(v: float) -> str:
        return f"{v:.2f}x"

    train_s = [o.train_s for o in ours]
    eval_s = [o.eval_s for o in ours]
    print(f"{method}: {steps} steps, {work.train_tokens} padded training tokens, {work.eval_tokens} evaluated")
    print(f"  step ms: ours {summary(train_s, ms_per_step)}, Trainer {summary([t.train_s for t in theirs], ms_per_step)}")
    print(f"  our step vs Trainer's: {summary([t.train_s / o.train_s for t, o in zip(theirs, ours)], x)} as fast (target >= 1.0x)")
    print(
        f"  evaluation share of our run: {summary([o.eval_s / o.wall_s for o in ours], pct)} "
        f"(eval {summary(eval_s, lambda s: f'{s:.1f}')} s of wall {summary([o.wall_s for o in ours], lambda s: f'{s:.1f}')} s; target <= 40%)"
    )
    for name, flops, seconds in (("training", work.train_flops, train_s), ("evaluation", work.eval_flops, eval_s)):
        rates = [flops / s for s in seconds]
        print(f"  {name}: {summary(rates, lambda r: f'{r / 1e9:.1f}')} GFLOP/s = {summary([r / peak for r in rates], pct)} of the matmul peak")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="repetitions of each side (median reported)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch threads for both sides and the peak")
    parser.add_argument("--methods", nargs="+", default=["ce", "ce-scl"], choices=sorted(METHOD_PARAMS))
    parser.add_argument("--peak-size", type=int, default=2048, help="n of the n x n float32 matmul peak")
    parser.add_argument("--quick", action="store_true", help="smoke settings: N=32, 1 epoch, dev 32, test 64, 1 repetition, 256^3 peak")
    args = parser.parse_args()
    if args.reps < 1 or args.threads < 1:
        parser.error("--reps and --threads must be >= 1")
    if torch.cuda.is_available():
        raise SystemExit("a CPU benchmark: run it with CUDA_VISIBLE_DEVICES= so that both sides train on the CPU")
    sizes, reps, peak_n = (SMOKE, 1, 256) if args.quick else (QUICK_RECIPE, args.reps, args.peak_size)
    torch.set_num_threads(args.threads)

    peak = matmul_peak(CPU, torch.float32, peak_n, repeats=5)
    versions = f"torch {torch.__version__}, transformers {transformers.__version__}, accelerate {importlib.metadata.version('accelerate')}"
    print(f"cpu, {args.threads} threads; {versions}")
    print(f"all-minilm-l6-v2 (mean pooling), rt-polarity N={sizes['n_train']}, batch 16, max length 64, epochs {sizes['epochs']}, lr 3e-4, "
          f"dev {sizes['dev_limit']}, test {sizes['test_limit']}; repetitions {reps}, median [min-max]")
    print(f"float32 matmul peak ({peak_n}^3, best of 5): {peak / 1e9:.1f} GFLOP/s")
    for method in args.methods:
        bench_method(method, sizes, reps, args.threads, peak)
    check_threads(args.threads)
    print(f"float32 matmul peak again: {matmul_peak(CPU, torch.float32, peak_n, repeats=5) / 1e9:.1f} GFLOP/s (drift check)")


if __name__ == "__main__":
    main()

"""Training and evaluation efficiency against the hardware's matmul peak (issue 11), on CPU or a CUDA GPU.

    python benchmarks/bench_efficiency.py                 # CPU: the default encoder on rt-polarity
    python benchmarks/bench_efficiency.py --device cuda   # GPU: RoBERTa-large shape, fp32 vs bf16, vs HF Trainer

Model FLOPs come from ``torch.utils.flop_counter.FlopCounterMode`` run over the very batches that are
timed (forward + backward for training, forward for evaluation), so they follow the measured token
counts; nothing is derived by hand. The peak is a large matmul timed in the same process (float32 on
CPU; bf16 on GPU, next to the card's datasheet dense bf16 peak where the card is known).

CPU: training uses the run's own pieces (dynamic padding, the ``cls`` pooled forward, CE+SCL, fused
AdamW) with batch 16 over real rt-polarity sentences; evaluation is ``predict``'s length-sorted
batches of 128 under inference mode.

GPU: a randomly initialised RoBERTa-large (from its config; no download), batch 16 x 128 tokens, our
step in fp32 (TF32 matmuls) and bf16 autocast, against ``transformers.Trainer``'s step (bf16, same
model shape and data; needs ``accelerate``). Targets: our bf16 step >= 1.0x Trainer's, MFU >= 40%.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from noisebench.losses import ce_scl_loss
from noisebench.train.batches import CPU_EVAL_TOKENS, encode, eval_batches
from noisebench.train.run import make_optimizer, with_precision

# Datasheet dense (no sparsity) bf16 tensor-core peaks, FLOP/s.
KNOWN_BF16_PEAKS = {"H200": 989e12, "H100 SXM": 989e12, "H100 NVL": 835e12, "H100 PCIe": 756e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 70e12}


def matmul_peak(device: torch.device, dtype: torch.dtype, n: int, repeats: int) -> float:
    """Best FLOP/s of an n x n @ n x n matmul."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    best = min(_timed(lambda: a @ b, device) for _ in range(repeats + 1))  # the first one warms up
    return 2 * n**3 / best


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def counted_flops(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def cpu_report(model: str, task_name: str, n_train_batches: int, repeats: int, peak_n: int) -> None:
    from noisebench.data.tasks import load_task
    from noisebench.train.encoder import fresh_model, pooled_forward

    device = torch.device("cpu")
    task = load_task(task_name)
    rng = np.random.default_rng(0)
    train_frame = task.pool.iloc[rng.permutation(len(task.pool))[: 16 * n_train_batches]]
    train = encode(train_frame, model, 128, task.is_pair)
    evaluation = encode(task.dev.iloc[:256], model, 128, task.is_pair)
    net = fresh_model(model, task.num_labels, seed=0)
    forward = with_precision(pooled_forward("cls"), device, "fp32")
    optimizer = make_optimizer(net, 2e-5, 0.01)

    train_batches = [np.arange(start, start + 16) for start in range(0, len(train), 16)]
    inputs = [(train.rows(index), torch.as_tensor(train.labels[index])) for index in train_batches]

    def train_step(batch, y) -> None:
        logits, features = forward(net, batch, True)
        ce_scl_loss(logits, features, y, lam=0.9, temperature=0.3).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    def train_flops(batch, y) -> int:  # forward + backward, no optimizer step
        def fwd_bwd() -> None:
            logits, features = forward(net, batch, True)
            ce_scl_loss(logits, features, y, lam=0.9, temperature=0.3).backward()

        flops = counted_flops(fwd_bwd)
        optimizer.zero_grad(set_to_none=True)
        return flops

    net.train()
    flops_train = sum(train_flops(*item) for item in inputs)
    train_step(*inputs[0])  # warm-up
    train_times = [sum(_timed(lambda item=item: train_step(*item), device) for item in inputs) for _ in range(repeats)]
    train_s = statistics.median(train_times)

    collated = [batch for _, batch in eval_batches(evaluation, device).batches]  # as run_training's inference
    net.eval()

    def evaluate() -> None:
        with torch.inference_mode():
            for batch in collated:
                forward(net, batch, False)

    flops_eval = counted_flops(evaluate)
    evaluate()  # warm-up
    eval_s = statistics.median(_timed(evaluate, device) for _ in range(repeats))

    peak = matmul_peak(device, torch.float32, peak_n, repeats=5)
    train_tokens = sum(int(b["attention_mask"].numel()) for b, _ in inputs)
    eval_tokens = sum(int(b["attention_mask"].numel()) for b in collated)
    print(f"device: cpu, {torch.get_num_threads()} threads; torch {torch.__version__}; model {model}; task {task_name}")
    print(f"float32 matmul peak ({peak_n}^3, best of 5): {peak / 1e9:.1f} GFLOP/s")
    for name, n_examples, tokens, flops, seconds in (
        ("train (CE+SCL, batch 16, fwd+bwd+AdamW)", len(train), train_tokens, flops_train, train_s),
        (f"eval (inference, length-sorted, <= {CPU_EVAL_TOKENS} tokens a batch)", len(evaluation), eval_tokens, flops_eval, eval_s),
    ):
        rate = flops / seconds
        print(
            f"{name}: {n_examples / seconds:.1f} examples/s, {tokens} padded tokens, {flops / n_examples / 1e9:.2f} GFLOP/example, "
            f"{rate / 1e9:.1f} GFLOP/s = {rate / peak:.1%} of the matmul peak (median of {repeats})"
        )


def gpu_report(repeats: int, with_trainer: bool) -> None:
    from transformers import RobertaConfig, RobertaForSequenceClassification

    device = torch.device("cuda")
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    name = torch.cuda.get_device_name(device)
    config = RobertaConfig(
        vocab_size=50265, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
        max_position_embeddings=514, type_vocab_size=1, num_labels=2,
    )
    gen = torch.Generator().manual_seed(0)
    batch = {
        "input_ids": torch.randint(3, config.vocab_size, (16, 128), generator=gen).to(device),
        "attention_mask": torch.ones(16, 128, dtype=torch.long, device=device),
    }
    labels = torch.randint(0, 2, (16,), generator=gen).to(device)

    measured = matmul_peak(device, torch.bfloat16, 8192, repeats=10)
    datasheet = next((peak for key, peak in KNOWN_BF16_PEAKS.items() if key in name), None)
    peak = datasheet or measured
    print(f"device: {name}; torch {torch.__version__}; RoBERTa-large shape, random init; batch 16 x 128")
    print(f"bf16 peak: datasheet {datasheet / 1e12 if datasheet else float('nan'):.0f} TFLOP/s, measured matmul {measured / 1e12:.0f} TFLOP/s; MFU uses {peak / 1e12:.0f}")

    from noisebench.train.encoder import pooled_forward

    results: dict[str, float] = {}
    for precision in ("fp32", "bf16"):
        for lam in (0.0, 0.9):
            torch.manual_seed(0)
            net = RobertaForSequenceClassification(config).to(device).train()
            forward = with_precision(pooled_forward("cls"), device, precision)
            optimizer = make_optimizer(net, 1e-5, 0.01)

            def fwd_bwd() -> None:
                logits, features = forward(net, batch, lam > 0)
                ce_scl_loss(logits, features, labels, lam=lam, temperature=0.3).backward()

            def step() -> None:
                fwd_bwd()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)

            flops = counted_flops(fwd_bwd)
            optimizer.zero_grad(set_to_none=True)
            for _ in range(3):
                step()
            seconds = statistics.median(_timed(step, device) for _ in range(repeats))
            label = f"ours {precision} {'CE+SCL' if lam else 'CE'}"
            results[label] = seconds
            print(f"{label}: {seconds * 1e3:.1f} ms/step, {16 / seconds:.0f} examples/s, MFU {flops / seconds / peak:.1%}")
            del net, optimizer
            torch.cuda.empty_cache()

    if with_trainer:
        seconds = trainer_step_time(config, batch, labels, repeats)
        results["Trainer bf16 CE"] = seconds
        print(f"HF Trainer bf16 CE: {seconds * 1e3:.1f} ms/step, {16 / seconds:.0f} examples/s")
        print(f"our bf16 CE step vs Trainer's: {seconds / results['ours bf16 CE']:.2f}x as fast (target >= 1.0)")


def trainer_step_time(config, batch: dict[str, torch.Tensor], labels: torch.Tensor, repeats: int) -> float:
    """Median time of ``Trainer``'s optimizer steps (forward, backward, clip, AdamW, scheduler), same data each step."""
    import tempfile

    from transformers import RobertaForSequenceClassification, Trainer, TrainerCallback, TrainingArguments

    rows = [{"input_ids": batch["input_ids"][i].cpu(), "attention_mask": batch["attention_mask"][i].cpu(), "labels": labels[i].cpu()} for i in range(16)]

    class Repeated(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return 16 * (repeats + 3)

        def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
            return rows[i % 16]

    class StepTimer(TrainerCallback):
        def __init__(self) -> None:
            self.times: list[float] = []

        def on_step_begin(self, args, state, control, **kwargs):
            torch.cuda.synchronize()
            self.start = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self.start)

    torch.manual_seed(0)
    model = RobertaForSequenceClassification(config)
    timer = StepTimer()
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out, per_device_train_batch_size=16, max_steps=repeats + 3, bf16=True, learning_rate=1e-5,
            weight_decay=0.01, report_to=[], save_strategy="no", logging_strategy="no", dataloader_num_workers=0,
        )
        Trainer(model=model, args=args, train_dataset=Repeated(), callbacks=[timer]).train()
    return statistics.median(timer.times[3:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--model", default="all-minilm-l6-v2", help="CPU: the encoder (default: the default encoder asset)")
    parser.add_argument("--task", default="rt-polarity", help="CPU: whose sentences are timed")
    parser.add_argument("--train-batches", type=int, default=8, help="CPU: batches of 16 per timed pass")
    parser.add_argument("--peak-size", type=int, default=2048, help="CPU: n of the n x n float32 matmul peak")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--no-trainer", action="store_true", help="GPU: skip the HF Trainer comparison")
    args = parser.parse_args()
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise SystemExit("no CUDA device: run without --device cuda for the CPU figures")
        gpu_report(args.repeats, with_trainer=not args.no_trainer)
    else:
        cpu_report(args.model, args.task, args.train_batches, args.repeats, args.peak_size)


if __name__ == "__main__":
    main()

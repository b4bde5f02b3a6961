"""Time one training step with CE vs CE+SCL on the default encoder (B=16, L=64), in one process.

    python benchmarks/bench_step.py [--model all-minilm-l6-v2] [--repeats 30] [--device cpu|cuda]

Steps alternate between the two losses so that drift (thermal, other load) hits both equally; the
median per-step time of each and their ratio are printed. Target: ce-scl <= 1.05 x ce.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from noisebench.losses import ce_scl_loss
from noisebench.train.encoder import fresh_model, load_tokenizer
from noisebench.train.run import make_optimizer


def step(net, batch, labels, lam: float, optimizer) -> None:
    out = net(**batch, output_hidden_states=lam > 0)
    features = out.hidden_states[-1][:, 0] if lam > 0 else None
    loss = ce_scl_loss(out.logits, features, labels, lam=lam, temperature=0.3)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-minilm-l6-v2")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    device = torch.device(args.device)
    tokenizer = load_tokenizer(args.model)
    text = ["a deeply moving film with a sharp script and a great cast " * 8] * args.batch_size
    batch = {k: v.to(device) for k, v in tokenizer(text, padding="max_length", truncation=True, max_length=args.length, return_tensors="pt").items()}
    labels = torch.arange(args.batch_size, device=device) % 2
    net = fresh_model(args.model, 2, seed=0).to(device).train()
    optimizer = make_optimizer(net, 1e-5, 0.01)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(3):  # warm-up
        step(net, batch, labels, 0.0, optimizer)
        step(net, batch, labels, 0.9, optimizer)
    times: dict[str, list[float]] = {"ce": [], "ce-scl": []}
    for _ in range(args.repeats):
        for name, lam in (("ce", 0.0), ("ce-scl", 0.9)):
            sync()
            start = time.perf_counter()
            step(net, batch, labels, lam, optimizer)
            sync()
            times[name].append(time.perf_counter() - start)
    ce, scl = statistics.median(times["ce"]), statistics.median(times["ce-scl"])
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"
    print(f"device: {name}; model {args.model}; B={args.batch_size} L={args.length}; {args.repeats} steps each")
    print(f"ce     median step {ce * 1000:8.1f} ms")
    print(f"ce-scl median step {scl * 1000:8.1f} ms")
    print(f"ratio ce-scl / ce: {scl / ce:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()

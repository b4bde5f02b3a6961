"""One training run: N (noisy) examples, CE or CE+SCL fine-tuning, model selection on dev, test accuracy."""

from __future__ import annotations

import inspect
import logging
import platform
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import transformers
from transformers import get_linear_schedule_with_warmup

from noisebench import __version__
from noisebench.data.sampling import sample_subset
from noisebench.data.tasks import TaskData, load_task
from noisebench.errors import ArtifactError, DataError
from noisebench.faults import crash_point
from noisebench.methods import get_method
from noisebench.noise.artifact import NoiseArtifact, noise_summary, read_artifact
from noisebench.noise.families import is_clean
from noisebench.progress import progress_bar
from noisebench.schema import RunConfig
from noisebench.train import distributed
from noisebench.train.batches import EvalBatches, concat, encode, encoded_eval_split, eval_batches, eval_split_batches
from noisebench.train.distributed import Ranks
from noisebench.train.encoder import FineTuned, Forward, check_pooling, fresh_model, load_tokenizer, pooled_forward
from noisebench.train.rundir import resolve_init_from

log = logging.getLogger(__name__)


@dataclass
class RunOutput:
    metrics: dict[str, Any]
    test_embeddings: np.ndarray | None
    test_labels: np.ndarray
    writes: bool = True
    """Whether this process publishes the run directory (False on ranks other than 0 of a data-parallel run)."""
    model: FineTuned | None = None
    """The best-dev model, when the config asks to save it (``save_model``)."""


@torch.inference_mode()
def predict(net: torch.nn.Module, batches: EvalBatches, *, forward: Forward, want_features: bool = False) -> tuple[np.ndarray, np.ndarray | None]:
    """Predicted labels (and the pooled sentence features) in the split's order."""
    net.eval()
    preds = np.empty(len(batches), dtype=np.int64)
    embeddings = None
    for index, batch in batches.batches:
        logits, features = forward(net, batch, want_features)
        preds[index] = logits.argmax(-1).cpu().numpy()
        if features is not None:
            features = features.float().cpu().numpy()
            embeddings = np.empty((len(batches), features.shape[1]), dtype=np.float32) if embeddings is None else embeddings
            embeddings[index] = features
    return preds, embeddings


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def with_precision(forward: Forward, device: torch.device, precision: str) -> Forward:
    """``forward`` under autocast for bf16/fp16 (weights stay float32; logits come back as float32);
    unchanged for fp32."""
    if precision == "fp32":
        return forward
    dtype = AUTOCAST_DTYPES[precision]

    def autocast_forward(net: torch.nn.Module, batch: dict[str, torch.Tensor], want_features: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        with torch.autocast(device.type, dtype=dtype):
            logits, features = forward(net, batch, want_features)
        return logits.float(), features  # SCL casts features to float32 itself

    return autocast_forward


class _PooledModule(torch.nn.Module):
    """The encoder with its pooled forward as ``forward``, so DistributedDataParallel sees the whole step."""

    def __init__(self, net: torch.nn.Module, forward: Forward) -> None:
        super().__init__()
        self.net = net
        self.pooled = forward

    def forward(self, batch: dict[str, torch.Tensor], want_features: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.pooled(self.net, batch, want_features)


def data_parallel_step(net: torch.nn.Module, forward: Forward, ranks: Ranks) -> Forward:
    """The training forward: the encoder itself in one process, through DDP (gradients averaged over ranks) in several."""
    if not ranks.is_distributed:
        return forward
    from torch.nn.parallel import DistributedDataParallel

    device_ids = [ranks.device.index] if ranks.device.type == "cuda" else None
    wrapped = DistributedDataParallel(_PooledModule(net, forward), device_ids=device_ids, find_unused_parameters=True)
    return lambda _net, batch, want_features: wrapped(batch, want_features)


def shard_loss(method: Any, params: dict[str, float], ranks: Ranks) -> Any:
    """``loss(logits, features, y, n_global)`` for this rank's shard, such that DDP's average over ranks
    of its gradient is the single-process gradient on the global batch.

    A single process uses the method's loss as is. In a data-parallel run, a loss taking ``gather``
    (CE+SCL) scores the shard against the gathered global batch and scales itself; any other loss is
    a mean over examples, so its shard mean is weighted by K·b_r/B.
    """
    if not ranks.is_distributed:
        return lambda logits, features, y, n_global: method.compute_loss(logits, features, y, params)
    if "gather" in inspect.signature(method.loss).parameters:
        return lambda logits, features, y, n_global: method.loss(logits, features, y, **params, gather=True)
    return lambda logits, features, y, n_global: method.compute_loss(logits, features, y, params) * (ranks.world_size * len(y) / n_global)


def make_optimizer(net: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW, fused where this torch build supports it (5x faster updates on CPU, same algorithm)."""
    try:
        return torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)


def training_labels(config: RunConfig, task: TaskData, subset: pd.DataFrame, noise_dir: Path | None) -> pd.DataFrame:
    """``id, label_clean, label_noisy, is_corrupted`` for the training subset."""
    if is_clean(config.noise_family):
        if noise_dir is not None:
            raise DataError("a clean run (noise family none) was given a noise artifact")
        clean = subset["label"].to_numpy()
        return pd.DataFrame({"id": subset["id"], "label_clean": clean, "label_noisy": clean, "is_corrupted": False})
    if noise_dir is None:
        raise DataError(f"a {config.noise_family} run needs a noise artifact (--noise DIR)")
    artifact = read_artifact(noise_dir)
    check_artifact(artifact, config, task)
    return artifact.noisy_labels_for(subset["id"])


def check_artifact(artifact: NoiseArtifact, config: RunConfig, task: TaskData) -> None:
    """The artifact must come from this task's data and match the config's noise family, level and seeds:
    its labels are classes of the task, its ids are pool examples, and its clean labels are theirs."""
    meta = artifact.meta
    artifact.require_task(task.name)
    if meta.get("source_hash") != task.source_hash:
        raise ArtifactError(f"noise artifact {artifact.path} was made from different {task.name} data (source hash differs)")
    found = artifact.run_fields()
    expected = {key: getattr(config, key) for key in found}
    if expected != found:
        raise ArtifactError(f"noise artifact {artifact.path} has {found}, but the run asks for {expected}")
    labels = artifact.labels
    for column in ("label_clean", "label_noisy"):
        outside = ~labels[column].between(0, task.num_labels - 1)
        if outside.any():
            raise ArtifactError(
                f"noise artifact {artifact.path}: {column} {int(labels[column][outside].iloc[0])} is not a class of "
                f"{task.name} (0..{task.num_labels - 1}: {', '.join(task.label_names)})"
            )
    pool = task.pool.set_index("id")["label"]
    unknown = ~labels["id"].isin(pool.index)
    if unknown.any():
        raise ArtifactError(f"noise artifact {artifact.path}: id {labels['id'][unknown].iloc[0]!r} is not in {task.name}'s train pool")
    differs = pool.loc[labels["id"].to_numpy()].to_numpy() != labels["label_clean"].to_numpy()
    if differs.any():
        raise ArtifactError(
            f"noise artifact {artifact.path}: label_clean disagrees with {task.name}'s data for {int(differs.sum())} "
            f"examples (e.g. {labels['id'][differs].iloc[0]!r})"
        )


def run_training(
    config: RunConfig, *, noise_dir: Path | None = None, data_dir: Path | None = None, results_dir: Path | None = None, progress: bool = True
) -> RunOutput:
    """Fine-tune once and return metrics (and test [CLS] embeddings, the best-dev model, when asked).

    ``results_dir`` resolves ``config.init_from`` when it is a run id or a relative path.
    """
    started = time.perf_counter()
    init_from = None if config.init_from is None else str(resolve_init_from(config.init_from, results_dir))
    task = load_task(config.task, data_dir=data_dir, pool_from_dev=config.pool_from_dev)
    subset = sample_subset(task.pool, config.n_train, config.data_seed)
    labels = training_labels(config, task, subset, noise_dir)
    ranks = distributed.setup(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        return _train(config, task, subset, labels, ranks, started, progress, init_from)
    finally:
        distributed.teardown(ranks)


def _train(
    config: RunConfig, task: TaskData, subset: pd.DataFrame, labels: pd.DataFrame, ranks: Ranks, started: float, progress: bool, init_from: str | None
) -> RunOutput:
    device = ranks.device
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # the policy: TF32 matmuls allowed on CUDA
        torch.backends.cudnn.allow_tf32 = True
    noisy = labels["label_noisy"].to_numpy()
    train = encode(subset, config.model, config.max_length, task.is_pair, noisy)
    dev = encoded_eval_split(task, "dev", config.model, config.max_length, config.dev_limit)
    test = eval_split_batches(task, "test", config.model, config.max_length, config.test_limit, device)
    # one inference pass per epoch serves memorisation (the training examples) and model selection (dev)
    train_and_dev = eval_batches(concat(train, dev, config.model), device)
    net = fresh_model(config.model, task.num_labels, config.train_seed, init_from=init_from).to(device)
    check_pooling(net, config.pooling)
    forward = with_precision(pooled_forward(config.pooling), device, config.precision)
    step_forward = data_parallel_step(net, forward, ranks)
    if ranks.is_distributed:
        distributed.check_batches(len(train), config.batch_size, ranks.world_size)
    torch.manual_seed(config.train_seed)  # after loading: a cold from_pretrained draws from the global RNG
    setup_s = time.perf_counter() - started

    steps_per_epoch = -(-len(train) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    optimizer = make_optimizer(net, config.lr, config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    shuffler = torch.Generator().manual_seed(config.train_seed)
    corrupted = labels["is_corrupted"].to_numpy()
    clean = labels["label_clean"].to_numpy()
    method = get_method(config.method)
    want_features = method.uses_features(config.method_params)
    loss_fn = shard_loss(method, config.method_params, ranks)
    scaler = torch.amp.GradScaler(device.type, enabled=config.precision == "fp16")

    history: list[dict[str, Any]] = []
    best: tuple[float, int, dict[str, torch.Tensor] | None] | None = None
    train_s = eval_s = 0.0
    bar = progress_bar(total=total_steps, desc=f"{config.method} {config.task} N={config.n_train}", unit="step", disable=not progress or not ranks.writes, leave=False)
    for epoch in range(1, config.epochs + 1):
        tick = time.perf_counter()
        net.train()
        losses = []
        for global_index in torch.randperm(len(train), generator=shuffler).split(config.batch_size):
            index = distributed.shard(global_index.numpy(), ranks)
            batch = {k: v.to(device) for k, v in train.rows(index).items()}
            y = torch.as_tensor(train.labels[index], device=device)
            logits, features = step_forward(net, batch, want_features)
            loss = loss_fn(logits, features, y, len(global_index))
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            losses.append(distributed.mean_over_ranks(loss, ranks))
            bar.update(1)
            crash_point("train-step")
        tock = time.perf_counter()
        train_s += tock - tick
        pred, _ = predict(net, train_and_dev, forward=forward)
        train_pred, dev_pred = pred[: len(train)], pred[len(train) :]
        dev_acc = float(np.mean(dev_pred == dev.labels))
        history.append(epoch_record(epoch, float(np.mean(losses)), dev_acc, train_pred, clean, noisy, corrupted))
        if best is None or dev_acc > best[0]:  # the last epoch's weights stay in the model: no copy needed
            best = (dev_acc, epoch, None if epoch == config.epochs else {k: v.detach().clone() for k, v in net.state_dict().items()})
        eval_s += time.perf_counter() - tock
        bar.set_postfix(dev_acc=f"{dev_acc:.3f}")
    bar.close()

    tick = time.perf_counter()
    assert best is not None
    if best[2] is not None:
        net.load_state_dict(best[2])
    test_pred, test_cls = predict(net, test, forward=forward, want_features=config.save_embeddings)
    eval_s += time.perf_counter() - tick
    subset_noise = noise_summary(clean, noisy, task.label_names)
    metrics = {
        "test_accuracy": float(np.mean(test_pred == test.labels)),
        "dev_accuracy": best[0],
        "best_epoch": best[1],
        "n_dev": len(dev),
        "n_test": len(test),
        "realized_noise_rate": subset_noise["realized_noise_rate"],
        "transition_matrix": subset_noise["transition_matrix"],
        "n_corrupted": int(corrupted.sum()),
        "history": history,
        "setup_time_s": setup_s,
        "train_time_s": train_s,
        "eval_time_s": eval_s,
        "wall_time_s": time.perf_counter() - started,
        "device": str(device),
        **({"world_size": ranks.world_size} if ranks.is_distributed else {}),
        "versions": {"noisebench": __version__, "torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version()},
    }
    saved = FineTuned(net, load_tokenizer(config.model)) if config.save_model and ranks.writes else None
    return RunOutput(metrics, test_cls if config.save_embeddings else None, test.labels, writes=ranks.writes, model=saved)


def epoch_record(epoch: int, loss: float, dev_acc: float, pred: np.ndarray, clean: np.ndarray, noisy: np.ndarray, corrupted: np.ndarray) -> dict[str, Any]:
    """Per-epoch memorisation: fit to clean examples, and on corrupted ones whether the noisy or true label is predicted."""

    def share(mask: np.ndarray, target: np.ndarray) -> float | None:
        return float(np.mean(pred[mask] == target[mask])) if mask.any() else None

    return {
        "epoch": epoch,
        "train_loss": loss,
        "dev_accuracy": dev_acc,
        "train_acc_clean": share(~corrupted, noisy),
        "train_acc_corrupted_noisy": share(corrupted, noisy),
        "train_acc_corrupted_true": share(corrupted, clean),
    }

"""One training run: N (noisy) examples, CE or CE+SCL fine-tuning, model selection on dev, test accuracy."""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Sequence
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
from noisebench.methods.base import Method
from noisebench.noise.artifact import NoiseArtifact, read_artifact
from noisebench.noise.families import is_clean
from noisebench.schema import RunConfig
from noisebench.selection import Evaluation, Selection, get_selection_rule
from noisebench.store.runs import resolve_init_from
from noisebench.trackers import check_installed
from noisebench.train import distributed
from noisebench.train.batches import (
    Encoded,
    EvalBatches,
    concat,
    encode,
    encoded_eval_split,
    eval_batches,
    eval_split_batches,
)
from noisebench.train.callbacks import (
    Callback,
    Callbacks,
    Checkpoint,
    EpochState,
    Memorisation,
    ModelSelection,
    Progress,
    Soundness,
    Timing,
)
from noisebench.train.distributed import Ranks
from noisebench.train.encoder import (
    FineTuned,
    Forward,
    check_pooling,
    fresh_model,
    load_tokenizer,
    pooled_forward,
)
from noisebench.train.reporting import open_reporter

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
    logs: dict[str, Path] | None = None
    """Trackers' folders to publish inside the run directory by name (``report_to``: tensorboard's tb/)."""


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


def shard_loss(method: Method, params: dict[str, float], ranks: Ranks) -> Callable[[torch.Tensor, torch.Tensor | None, torch.Tensor, int], torch.Tensor]:
    """``loss(logits, features, y, n_global)`` for this rank's shard, such that DDP's average over ranks
    of its gradient is the single-process gradient on the global batch.

    A single process uses the method's loss as is. In a data-parallel run, a method whose loss gathers
    features (``Method.gathers_features``, CE+SCL) scores the shard against the gathered global batch and
    scales itself; any other loss is a mean over examples, so its shard mean is weighted by K·b_r/B.
    """
    if not ranks.is_distributed:
        return lambda logits, features, y, n_global: method.compute_loss(logits, features, y, params)
    if method.gathers_features:
        return lambda logits, features, y, n_global: method.compute_loss(logits, features, y, params, gather=True)
    return lambda logits, features, y, n_global: method.compute_loss(logits, features, y, params) * (ranks.world_size * len(y) / n_global)


def make_optimizer(net: torch.nn.Module, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW, fused where this torch build supports it (5x faster updates on CPU, same algorithm)."""
    try:
        return torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError):
        return torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)


def noise_artifact(config: RunConfig, task: TaskData, noise_dir: Path | None) -> NoiseArtifact | None:
    """The run's noise artifact, checked against its config and task; None for a clean run."""
    if is_clean(config.noise_family):
        if noise_dir is not None:
            raise DataError("a clean run (noise family none) was given a noise artifact")
        return None
    if noise_dir is None:
        raise DataError(f"a {config.noise_family} run needs a noise artifact (--noise DIR)")
    artifact = read_artifact(noise_dir)
    check_artifact(artifact, config, task)
    return artifact


def training_labels(subset: pd.DataFrame, artifact: NoiseArtifact | None) -> pd.DataFrame:
    """``id, label_clean, label_noisy, is_corrupted`` for the training subset."""
    if artifact is None:
        clean = subset["label"].to_numpy()
        return pd.DataFrame({"id": subset["id"], "label_clean": clean, "label_noisy": clean, "is_corrupted": False})
    return artifact.noisy_labels_for(subset["id"])


def noisy_dev_labels(config: RunConfig, task: TaskData, artifact: NoiseArtifact | None) -> np.ndarray | None:
    """The evaluated dev examples' labels as the practitioner has them: relabelled by the run's noise (the
    clean ones on a clean run); None when the artifact has none and the selection rule does not need them."""
    ids = task.dev["id"].iloc[: config.dev_limit]
    if artifact is None:
        return task.dev["label"].iloc[: config.dev_limit].to_numpy()
    if artifact.dev_labels is None and "noisy_dev_accuracy" not in get_selection_rule(config.selection).needs:
        return None
    return artifact.noisy_dev_for(ids)


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
    config: RunConfig, *, noise_dir: Path | None = None, data_dir: Path | None = None, results_dir: Path | None = None, progress: bool = True,
    report_to: Sequence[str] = (), grid: str | None = None,
) -> RunOutput:
    """Fine-tune once and return metrics (and test sentence embeddings, the selected model, when asked).

    ``results_dir`` resolves ``config.init_from`` when it is a run id or a relative path.
    ``config.selection`` names the registered rule that picks the epoch whose weights are tested;
    ``config.patience`` stops training after that many epochs without a better score.
    ``report_to`` names registered trackers (noisebench.trackers) that also receive the run's numbers,
    tagged with ``grid`` when the run belongs to one; they never change the run's results.
    """
    check_installed(report_to)
    started = time.perf_counter()
    init_from = None if config.init_from is None else str(resolve_init_from(config.init_from, results_dir))
    chosen = Selection.named(config.selection, patience=config.patience)
    task = load_task(config.task, data_dir=data_dir, pool_from_dev=config.pool_from_dev)
    subset = sample_subset(task.pool, config.n_train, config.data_seed)
    artifact = noise_artifact(config, task, noise_dir)
    labels = training_labels(subset, artifact)
    noisy_dev = noisy_dev_labels(config, task, artifact)
    ranks = distributed.setup(torch.device("cuda" if torch.cuda.is_available() else "cpu"))
    try:
        with open_reporter(report_to, config, grid=grid, enabled=ranks.writes) as reporter:
            output = _train(config, task, subset, labels, noisy_dev, ranks, init_from, chosen, started, progress, reporter)
            output.logs = reporter.finish(output.metrics)
            return output
    finally:
        distributed.teardown(ranks)


@dataclass
class _Training:
    """The state one run's epochs share: model, forwards, optimiser, data order; it trains an epoch and evaluates."""

    config: RunConfig
    ranks: Ranks
    net: torch.nn.Module
    forward: Forward
    step_forward: Forward
    train: Encoded
    train_and_dev: EvalBatches
    dev_labels: np.ndarray
    noisy_dev_labels: np.ndarray | None
    test: EvalBatches | None
    """The test split, evaluated after every epoch (``test_every_epoch``); None: only at the end."""
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler
    loss_fn: Callable[[torch.Tensor, torch.Tensor | None, torch.Tensor, int], torch.Tensor]
    want_features: bool
    shuffler: torch.Generator

    def train_epoch(self, callbacks: Callback) -> float:
        """One pass over the training set in a fresh random order; the mean training loss."""
        self.net.train()
        device, losses = self.ranks.device, []
        for global_index in torch.randperm(len(self.train), generator=self.shuffler).split(self.config.batch_size):
            index = distributed.shard(global_index.numpy(), self.ranks)
            batch = {k: v.to(device) for k, v in self.train.rows(index).items()}
            y = torch.as_tensor(self.train.labels[index], device=device)
            logits, features = self.step_forward(self.net, batch, self.want_features)
            loss = self.loss_fn(logits, features, y, len(global_index))
            self.step(loss, callbacks)
            losses.append(distributed.mean_over_ranks(loss, self.ranks))
            callbacks.on_step_end(losses[-1])
            crash_point("train-step")
        return float(np.mean(losses))

    def step(self, loss: torch.Tensor, callbacks: Callback) -> None:
        self.scaler.scale(loss).backward()
        callbacks.on_after_backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)

    def evaluate(self) -> dict[str, Evaluation]:
        """The training examples (against their noisy labels) and dev (against its clean and its noisy labels),
        in one inference pass; the test split too with ``test_every_epoch``."""
        pred, _ = predict(self.net, self.train_and_dev, forward=self.forward)
        n_train = len(self.train)
        evaluations = {"train": Evaluation(pred[:n_train], self.train.labels), "dev": Evaluation(pred[n_train:], self.dev_labels)}
        if self.noisy_dev_labels is not None:
            evaluations["noisy_dev"] = Evaluation(pred[n_train:], self.noisy_dev_labels)
        if self.test is not None:
            evaluations["test"] = Evaluation(predict(self.net, self.test, forward=self.forward)[0], self.test.labels)
        return evaluations

    def fit(self, callbacks: Callback) -> list[dict[str, Any]]:
        """Every epoch (or until a callback stops it), calling ``callbacks``; the per-epoch history."""
        history = []
        callbacks.on_train_start()
        for epoch in range(1, self.config.epochs + 1):
            callbacks.on_epoch_start(epoch)
            train_loss = self.train_epoch(callbacks)
            callbacks.on_evaluation_start(epoch)
            state = EpochState(epoch, train_loss, self.evaluate(), is_last=epoch == self.config.epochs)
            callbacks.on_epoch_end(state)
            history.append(state.record)
            if state.stop:
                break
        callbacks.on_train_end()
        return history


def _prepare(
    config: RunConfig, task: TaskData, train: Encoded, dev: Encoded, noisy_dev: np.ndarray | None, test: EvalBatches, ranks: Ranks, init_from: str | None,
) -> _Training:
    """Model, forwards, optimiser and data order, in the order that fixes every random draw."""
    device = ranks.device
    # one inference pass per epoch serves memorisation (the training examples) and model selection (dev)
    train_and_dev = eval_batches(concat(train, dev, config.model), device)
    net = fresh_model(config.model, task.num_labels, config.train_seed, init_from=init_from).to(device)
    check_pooling(net, config.pooling)
    forward = with_precision(pooled_forward(config.pooling), device, config.precision)
    step_forward = data_parallel_step(net, forward, ranks)
    if ranks.is_distributed:
        distributed.check_batches(len(train), config.batch_size, ranks.world_size)
    torch.manual_seed(config.train_seed)  # after loading: a cold from_pretrained draws from the global RNG
    total_steps = -(-len(train) // config.batch_size) * config.epochs
    optimizer = make_optimizer(net, config.lr, config.weight_decay)
    scheduler = get_linear_schedule_with_warmup(optimizer, int(config.warmup_ratio * total_steps), total_steps)
    method = get_method(config.method)
    return _Training(
        config, ranks, net, forward, step_forward, train, train_and_dev, dev.labels, noisy_dev, test if config.test_every_epoch else None, optimizer, scheduler,
        scaler=torch.amp.GradScaler(device.type, enabled=config.precision == "fp16"), loss_fn=shard_loss(method, config.method_params, ranks),
        want_features=method.uses_features(config.method_params), shuffler=torch.Generator().manual_seed(config.train_seed),
    )


def _callbacks(
    config: RunConfig, task: TaskData, labels: pd.DataFrame, training: _Training, selection: Selection, started: float, progress: bool, reporter: Callback,
) -> Callbacks:
    """The callbacks of every run, in calling order: soundness first (an unsound run fails at once), selection
    marks the best epoch before the checkpoint copies it, the reporter sends the completed epoch rows to the
    trackers, and timing comes last (see :class:`Timing`)."""
    steps = -(-len(training.train) // config.batch_size) * config.epochs
    return Callbacks([
        Soundness(training.net),
        ModelSelection(selection),
        Memorisation(labels, task.label_names),
        Checkpoint(training.net),
        reporter,
        Progress(total_steps=steps, desc=f"{config.method} {config.task} N={config.n_train}", disable=not progress or not training.ranks.writes),
        Timing(started),
    ])


def _train(
    config: RunConfig, task: TaskData, subset: pd.DataFrame, labels: pd.DataFrame, noisy_dev: np.ndarray | None, ranks: Ranks,
    init_from: str | None, selection: Selection, started: float, progress: bool, reporter: Callback,
) -> RunOutput:
    device = ranks.device
    if device.type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True  # the policy: TF32 matmuls allowed on CUDA
        torch.backends.cudnn.allow_tf32 = True
    train = encode(subset, config.model, config.max_length, task.is_pair, labels["label_noisy"].to_numpy())
    dev = encoded_eval_split(task, "dev", config.model, config.max_length, config.dev_limit)
    test = eval_split_batches(task, "test", config.model, config.max_length, config.test_limit, device)
    training = _prepare(config, task, train, dev, noisy_dev, test, ranks, init_from)
    watchers = _callbacks(config, task, labels, training, selection, started, progress, reporter)
    history = training.fit(watchers)
    test_pred, test_cls = predict(training.net, test, forward=training.forward, want_features=config.save_embeddings)
    metrics = {
        "test_accuracy": float(np.mean(test_pred == test.labels)), "n_dev": len(dev), "n_test": len(test), "history": history, **watchers.metrics(),
        "device": str(device), **({"world_size": ranks.world_size} if ranks.is_distributed else {}),
        "versions": {"noisebench": __version__, "torch": torch.__version__, "transformers": transformers.__version__, "python": platform.python_version()},
    }
    saved = FineTuned(training.net, load_tokenizer(config.model)) if config.save_model and ranks.writes else None
    return RunOutput(metrics, test_cls if config.save_embeddings else None, test.labels, writes=ranks.writes, model=saved)

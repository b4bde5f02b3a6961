"""What watches the training loop: a small callback protocol and the callbacks every run uses.

The loop (``noisebench.train.run``) trains, evaluates once per epoch and calls, in list order:
``on_train_start``; per epoch ``on_epoch_start(epoch)``, ``on_after_backward()`` once each step's gradients
are computed (before the optimiser uses them), ``on_step_end(loss)`` after each optimiser step with its loss,
``on_evaluation_start(epoch)`` once the epoch's steps are done, ``on_epoch_end(state)`` with the
epoch's evaluations; then ``on_train_end()``. After the test evaluation each callback's ``metrics()``
adds its entries to the run's metrics. A callback keeps its own state; it writes its per-epoch
numbers into ``state.record`` (the epoch's row of ``history``) and may ask the loop to stop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from noisebench.errors import ConfigError, DivergedError
from noisebench.noise.artifact import noise_summary
from noisebench.progress import progress_bar
from noisebench.selection import DEFAULT_SELECTION, SELECTION_RULES, Evaluation, Selection, missing_needs, reselect


@dataclass
class EpochState:
    """One finished epoch as callbacks see it; callbacks earlier in the list may set ``is_best`` and ``stop``."""

    epoch: int
    train_loss: float
    evaluations: dict[str, Evaluation]
    is_last: bool
    """The configured last epoch (``config.epochs``)."""
    record: dict[str, Any] = field(default_factory=dict)
    is_best: bool = False
    stop: bool = False

    def __post_init__(self) -> None:
        self.record = {"epoch": self.epoch, "train_loss": self.train_loss, **self.record}


class Callback:
    """Base class: every hook does nothing; a callback overrides the ones it needs."""

    def on_train_start(self) -> None: ...

    def on_epoch_start(self, epoch: int) -> None: ...

    def on_after_backward(self) -> None: ...

    def on_step_end(self, loss: float) -> None: ...

    def on_evaluation_start(self, epoch: int) -> None: ...

    def on_epoch_end(self, state: EpochState) -> None: ...

    def on_train_end(self) -> None: ...

    def metrics(self) -> dict[str, Any]:
        return {}


class Callbacks(Callback):
    """A list of callbacks called in order."""

    def __init__(self, callbacks: list[Callback]) -> None:
        self.callbacks = callbacks

    def on_train_start(self) -> None:
        for callback in self.callbacks:
            callback.on_train_start()

    def on_epoch_start(self, epoch: int) -> None:
        for callback in self.callbacks:
            callback.on_epoch_start(epoch)

    def on_after_backward(self) -> None:
        for callback in self.callbacks:
            callback.on_after_backward()

    def on_step_end(self, loss: float) -> None:
        for callback in self.callbacks:
            callback.on_step_end(loss)

    def on_evaluation_start(self, epoch: int) -> None:
        for callback in self.callbacks:
            callback.on_evaluation_start(epoch)

    def on_epoch_end(self, state: EpochState) -> None:
        for callback in self.callbacks:
            callback.on_epoch_end(state)

    def on_train_end(self) -> None:
        for callback in self.callbacks:
            callback.on_train_end()

    def metrics(self) -> dict[str, Any]:
        return {key: value for callback in self.callbacks for key, value in callback.metrics().items()}


class ModelSelection(Callback):
    """Records each epoch's accuracies (clean dev, noisy dev, test when evaluated), marks the epoch ``selection``
    keeps, stops early when it says so; at the end, what every registered rule would keep of the same epochs."""

    def __init__(self, selection: Selection) -> None:
        self.selection = selection
        self.records: dict[int, dict[str, Any]] = {}
        self.stopped_epoch: int | None = None
        self.dev_noise_rate: float | None = None

    def on_epoch_end(self, state: EpochState) -> None:
        for split, evaluation in state.evaluations.items():
            if split != "train":
                state.record[f"{split}_accuracy"] = evaluation.accuracy
        missing = missing_needs(self.selection.rule, state.record)
        if missing:
            raise ConfigError(f"selection rule {self.selection.rule.name} needs {', '.join(missing)}, which this run does not record")
        if "noisy_dev" in state.evaluations:
            self.dev_noise_rate = float(np.mean(state.evaluations["noisy_dev"].labels != state.evaluations["dev"].labels))
        self.records[state.epoch] = state.record
        state.is_best = self.selection.update(state.epoch, state.record)
        if self.selection.should_stop and not state.is_last:
            state.stop, self.stopped_epoch = True, state.epoch

    def metrics(self) -> dict[str, Any]:
        best = self.selection.best_epoch
        assert best is not None, "metrics before any epoch"
        chosen = {"dev_accuracy": self.records[best]["dev_accuracy"], "best_epoch": best}
        if self.dev_noise_rate is not None:
            chosen.update(noisy_dev_accuracy=self.records[best]["noisy_dev_accuracy"], dev_noise_rate=self.dev_noise_rate)
        if self.selection.rule.name != DEFAULT_SELECTION or self.selection.patience is not None:
            chosen.update(selection=self.selection.rule.name, patience=self.selection.patience, stopped_epoch=self.stopped_epoch)
        if self.selection.patience is None and all("test_accuracy" in record for record in self.records.values()):
            chosen["selections"] = self.reselections()  # (early stopping would make training depend on the rule)
        return chosen

    def reselections(self) -> dict[str, dict[str, Any]]:
        """Every registered rule's pick among the trained epochs: its epoch, dev and test accuracy."""
        history = [self.records[epoch] for epoch in sorted(self.records)]
        picks = {rule.name: reselect(history, rule) for rule in SELECTION_RULES}
        return {
            name: {key: record.get(key) for key in ("epoch", "dev_accuracy", "noisy_dev_accuracy", "test_accuracy")}
            for name, record in picks.items() if record is not None
        }


def memorisation_shares(pred: np.ndarray, clean: np.ndarray, noisy: np.ndarray, corrupted: np.ndarray) -> dict[str, float | None]:
    """Fit to the clean examples, and on corrupted ones the share predicted as their noisy and as their true label."""

    def share(mask: np.ndarray, target: np.ndarray) -> float | None:
        return float(np.mean(pred[mask] == target[mask])) if mask.any() else None

    return {
        "train_acc_clean": share(~corrupted, noisy),
        "train_acc_corrupted_noisy": share(corrupted, noisy),
        "train_acc_corrupted_true": share(corrupted, clean),
    }


class Memorisation(Callback):
    """Per epoch, how the model fits clean and corrupted training examples; for the run, the subset's noise."""

    def __init__(self, labels: pd.DataFrame, label_names: tuple[str, ...] | list[str]) -> None:
        self.clean = labels["label_clean"].to_numpy()
        self.noisy = labels["label_noisy"].to_numpy()
        self.corrupted = labels["is_corrupted"].to_numpy()
        self.label_names = label_names

    def on_epoch_end(self, state: EpochState) -> None:
        state.record.update(memorisation_shares(state.evaluations["train"].predictions, self.clean, self.noisy, self.corrupted))

    def metrics(self) -> dict[str, Any]:
        summary = noise_summary(self.clean, self.noisy, self.label_names)
        return {
            "realized_noise_rate": summary["realized_noise_rate"],
            "transition_matrix": summary["transition_matrix"],
            "n_corrupted": int(self.corrupted.sum()),
        }


class Soundness(Callback):
    """Fails a run that is not sound, so it is never published: a step's loss that is NaN or infinite (an
    overflow, or a hyper-parameter that underflows in float32), or a first batch whose gradient is zero
    (a loss that does not depend on the parameters, e.g. SCE with α = β = 0).

    Raises:
        DivergedError: naming the epoch and step (1-based) and the reason.
    """

    def __init__(self, net: torch.nn.Module) -> None:
        self.net = net
        self.epoch = 0
        self.step = 0
        self.checked_gradient = False

    def on_epoch_start(self, epoch: int) -> None:
        self.epoch, self.step = epoch, 0

    def on_after_backward(self) -> None:
        if self.checked_gradient:
            return
        self.checked_gradient = True
        if gradient_norm(self.net) == 0.0:
            raise DivergedError(f"epoch {self.epoch} step {self.step + 1}: the loss's gradient is zero (the loss does not depend on the parameters); check the method's hyper-parameters")

    def on_step_end(self, loss: float) -> None:
        self.step += 1
        if not np.isfinite(loss):
            raise DivergedError(f"epoch {self.epoch} step {self.step}: the training loss is {loss} (diverged); check the method's hyper-parameters and the learning rate")


def gradient_norm(net: torch.nn.Module) -> float:
    """The L2 norm of every parameter's gradient together (0.0 when none has one)."""
    norms = [p.grad.detach().float().norm() for p in net.parameters() if p.grad is not None]
    return float(torch.stack(norms).norm()) if norms else 0.0


class Checkpoint(Callback):
    """Keeps the selected epoch's weights in memory and puts them back into ``net`` when training ends.

    The configured last epoch's weights are not copied: they are still in the model at the end.
    """

    def __init__(self, net: torch.nn.Module) -> None:
        self.net = net
        self.best_weights: dict[str, torch.Tensor] | None = None

    def on_epoch_end(self, state: EpochState) -> None:
        if state.is_best:
            self.best_weights = None if state.is_last else {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def on_train_end(self) -> None:
        if self.best_weights is not None:
            self.net.load_state_dict(self.best_weights)
            self.best_weights = None


class Progress(Callback):
    """A progress bar over optimiser steps, showing the last dev accuracy."""

    def __init__(self, *, total_steps: int, desc: str, disable: bool) -> None:
        self.bar = progress_bar(total=total_steps, desc=desc, unit="step", disable=disable, leave=False)

    def on_step_end(self, loss: float) -> None:
        self.bar.update(1)

    def on_epoch_end(self, state: EpochState) -> None:
        self.bar.set_postfix(dev_acc=f"{state.record['dev_accuracy']:.3f}")

    def on_train_end(self) -> None:
        self.bar.close()


class Timing(Callback):
    """Setup, training and evaluation seconds; last in the list, so an epoch's evaluation time includes
    the other callbacks' work (e.g. copying the best weights), and the test evaluation counts as evaluation."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.setup_s = self.train_s = self.eval_s = 0.0
        self.mark = started

    def _lap(self) -> float:
        now = time.perf_counter()
        elapsed, self.mark = now - self.mark, now
        return elapsed

    def on_train_start(self) -> None:
        self.setup_s = self._lap()

    def on_epoch_start(self, epoch: int) -> None:
        self._lap()

    def on_evaluation_start(self, epoch: int) -> None:
        self.train_s += self._lap()

    def on_epoch_end(self, state: EpochState) -> None:
        self.eval_s += self._lap()

    def metrics(self) -> dict[str, Any]:
        """Called once, after the test evaluation (which, with restoring the best weights, counts as evaluation)."""
        self.eval_s += self._lap()
        return {"setup_time_s": self.setup_s, "train_time_s": self.train_s, "eval_time_s": self.eval_s, "wall_time_s": self.mark - self.started}

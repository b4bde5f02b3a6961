"""The training loop's callbacks and selection rules: ties, early stopping, registered rules, gathered-feature losses."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch

from noisebench.errors import ConfigError
from noisebench.grid.spec import EvaluationSpec
from noisebench.methods import METHODS, Method
from noisebench.schema import RunConfig
from noisebench.selection import (
    SELECTION_RULES,
    Evaluation,
    Selection,
    SelectionRule,
    get_selection_rule,
    register_selection_rule,
)
from noisebench.train.callbacks import (
    Callback,
    Callbacks,
    Checkpoint,
    EpochState,
    ModelSelection,
)
from noisebench.train.distributed import Ranks
from noisebench.train.run import run_training, shard_loss


def _dev(accuracy_in_tenths: int) -> dict[str, Evaluation]:
    """Evaluations whose dev accuracy is ``accuracy_in_tenths / 10``."""
    predictions = np.array([1] * accuracy_in_tenths + [0] * (10 - accuracy_in_tenths))
    return {"dev": Evaluation(predictions, np.ones(10, dtype=np.int64))}


def _best_epochs(dev_tenths: list[int], patience: int | None = None) -> tuple[int | None, int]:
    """(best epoch, epochs run) of best_dev over these dev accuracies, stopping when selection says so."""
    selection = Selection.named("best_dev", patience=patience)
    for epoch, tenths in enumerate(dev_tenths, start=1):
        selection.update(epoch, {"epoch": epoch, "dev_accuracy": tenths / 10})
        if selection.should_stop:
            return selection.best_epoch, epoch
    return selection.best_epoch, len(dev_tenths)


def test_best_dev_keeps_the_earliest_of_tied_epochs():
    assert _best_epochs([5, 7, 7, 6]) == (2, 4)
    assert _best_epochs([7, 7]) == (1, 2)


def test_patience_stops_after_that_many_epochs_without_a_better_dev_score():
    assert _best_epochs([5, 7, 6, 6, 9], patience=2) == (2, 4)
    assert _best_epochs([5, 7, 7, 8, 6], patience=2) == (4, 5)  # a tie is no improvement; epoch 4 resets the count
    assert _best_epochs([5, 7, 6, 6, 9], patience=None) == (5, 5)


def test_patience_below_one_is_a_config_error():
    with pytest.raises(ConfigError, match="patience must be >= 1"):
        Selection.named("best_dev", patience=0)


def test_an_unknown_selection_rule_lists_the_registered_ones():
    with pytest.raises(ConfigError, match="unknown selection rule 'best_test'; known: .*best_dev"):
        get_selection_rule("best_test")
    with pytest.raises(ValueError, match="unknown selection rule"):
        EvaluationSpec(selection="best_test")


def _fake_state(epoch: int, tenths: int, *, is_last: bool) -> EpochState:
    return EpochState(epoch, 0.5, _dev(tenths), is_last=is_last)


def test_checkpoint_puts_the_selected_epochs_weights_back():
    net = torch.nn.Linear(2, 1)
    callbacks = Callbacks([ModelSelection(Selection.named("best_dev")), Checkpoint(net)])
    callbacks.on_train_start()
    for epoch, tenths in ((1, 5), (2, 8), (3, 6)):
        with torch.no_grad():
            net.weight.fill_(epoch)
        callbacks.on_epoch_end(_fake_state(epoch, tenths, is_last=epoch == 3))
    callbacks.on_train_end()
    assert torch.equal(net.weight, torch.full((1, 2), 2.0))
    assert callbacks.metrics() == {"dev_accuracy": 0.8, "best_epoch": 2}


def test_callbacks_are_called_in_list_order_and_see_earlier_callbacks_marks():
    seen: list[tuple[str, bool]] = []

    class Watcher(Callback):
        def __init__(self, name: str) -> None:
            self.name = name

        def on_epoch_end(self, state: EpochState) -> None:
            seen.append((self.name, state.is_best))

    callbacks = Callbacks([Watcher("before"), ModelSelection(Selection.named("best_dev")), Watcher("after")])
    callbacks.on_epoch_end(_fake_state(1, 5, is_last=True))
    assert seen == [("before", False), ("after", True)]


# -- real runs on the tiny BERT -------------------------------------------------------------------------


def _config(model: Path, **overrides) -> RunConfig:
    base = {"task": "sst2", "model": str(model), "n_train": 32, "epochs": 3, "batch_size": 8, "lr": 1e-3, "max_length": 16}
    return RunConfig(**{**base, **overrides})


@pytest.fixture
def first_epoch_rule():
    """A rule registered the way a plugin registers one: it always prefers the earliest epoch."""
    rule = register_selection_rule(SelectionRule("test_first_epoch", lambda record: -record["epoch"], needs=("epoch",)))
    yield rule
    del SELECTION_RULES._entries[rule.name]


def test_early_stopping_trains_the_same_epochs_then_stops(tiny_model_dir, glue_dir, first_epoch_rule):
    config = _config(tiny_model_dir)
    full = run_training(config, data_dir=glue_dir, progress=False).metrics
    stopped = run_training(_config(tiny_model_dir, selection=first_epoch_rule.name, patience=1), data_dir=glue_dir, progress=False).metrics
    assert stopped["history"] == full["history"][:2]  # the schedule is the configured one: same epochs 1 and 2
    assert config.run_id != _config(tiny_model_dir, selection=first_epoch_rule.name).run_id  # a rule changes the tested weights
    assert (stopped["best_epoch"], stopped["stopped_epoch"], stopped["selection"], stopped["patience"]) == (1, 2, "test_first_epoch", 1)
    assert stopped["dev_accuracy"] == full["history"][0]["dev_accuracy"]
    assert "selection" not in full and "stopped_epoch" not in full  # best_dev without patience: metrics as before


def test_a_registered_rule_validates_in_a_grid_evaluation_block(first_epoch_rule):
    assert EvaluationSpec(selection=first_epoch_rule.name).selection == ["test_first_epoch"]


# -- methods declare whether their loss gathers features across ranks ----------------------------------


def test_the_scl_based_methods_declare_gathered_features_and_their_losses_take_gather():
    declared = {m.name for m in METHODS if m.gathers_features}
    assert declared == {"ce-scl", "gce-scl", "sce-scl"}
    for method in METHODS:  # a declaration agrees with the loss's signature (what the loop used to inspect)
        assert method.gathers_features == ("gather" in inspect.signature(method.loss).parameters), method.name


@pytest.mark.parametrize("gathers", [True, False])
def test_shard_loss_follows_the_declaration_not_the_signature(gathers):
    calls: list[dict] = []

    def loss(logits, features, labels, *, w: float, gather: bool = False) -> torch.Tensor:
        calls.append({"gather": gather})
        return logits.sum() * w

    method = Method("toy", loss, gathers_features=gathers)
    two_ranks = Ranks(rank=0, world_size=2)
    value = shard_loss(method, {"w": 1.0}, two_ranks)(torch.ones(3, 2), None, torch.zeros(3), 8)
    assert calls == [{"gather": gathers}]
    assert float(value) == (6.0 if gathers else 6.0 * 2 * 3 / 8)  # a non-gathering loss is weighted by K·b_r/B

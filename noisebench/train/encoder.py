"""Pre-trained encoders: resolve a name to a path, load once per process, hand out fresh copies."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from functools import lru_cache

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from noisebench.assets import ASSETS, asset_path
from noisebench.errors import ConfigError

log = logging.getLogger(__name__)


def resolve_model_path(model: str) -> str:
    """An offline asset name becomes its cached folder; a local path or a hub id is passed through."""
    if model in ASSETS:
        return str(asset_path(model))
    return model


@lru_cache(maxsize=4)
def load_tokenizer(model: str) -> PreTrainedTokenizerBase:
    return AutoTokenizer.from_pretrained(resolve_model_path(model))


@lru_cache(maxsize=2)
def _load_base(model: str, num_labels: int) -> tuple[PreTrainedModel, tuple[str, ...]]:
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized head" report is expected here
    hf_logging.disable_progress_bar()
    try:
        base, info = AutoModelForSequenceClassification.from_pretrained(
            resolve_model_path(model), num_labels=num_labels, output_loading_info=True
        )
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    return base, tuple(info["missing_keys"])


def fresh_model(model: str, num_labels: int, seed: int) -> PreTrainedModel:
    """A copy of the pre-trained encoder with its newly added head initialised from ``seed``.

    The base weights are read from disk once per process and copied per run; the head is always
    re-initialised here, so a cached and an uncached load give identical models.
    """
    base, missing = _load_base(model, num_labels)
    fresh = copy.deepcopy(base)
    reset_head(fresh, missing, seed)
    return fresh


def reset_head(model: PreTrainedModel, missing_keys: tuple[str, ...], seed: int) -> None:
    """Re-initialise the modules owning ``missing_keys`` the way BERT-style models do."""
    std = getattr(model.config, "initializer_range", 0.02)
    owners = sorted({key.rsplit(".", 1)[0] for key in missing_keys})
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name in owners:
            module = model.get_submodule(name)
            if isinstance(module, nn.Linear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.weight.fill_(1.0)
                module.bias.zero_()
            else:
                raise RuntimeError(f"do not know how to initialise new module {name} ({type(module).__name__})")


Forward = Callable[[PreTrainedModel, dict[str, torch.Tensor], bool], tuple[torch.Tensor, "torch.Tensor | None"]]


def _cls_forward(net: PreTrainedModel, batch: dict[str, torch.Tensor], want_features: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The model's own classification head; sentence features = the last layer's first token (the paper's [CLS])."""
    out = net(**batch, output_hidden_states=want_features)
    return out.logits, (out.hidden_states[-1][:, 0] if want_features else None)


def _mean_forward(net: PreTrainedModel, batch: dict[str, torch.Tensor], want_features: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Masked mean of the last layer's token states, fed to the model's linear classifier (and to SCL).

    all-MiniLM-L6-v2 was trained with mean pooling, so its [CLS] state is not a sentence embedding.
    """
    hidden = net.base_model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
    return net.classifier(net.dropout(pooled)), pooled


POOLINGS: dict[str, Forward] = {"cls": _cls_forward, "mean": _mean_forward}
"""How a sentence becomes the feature vector the classifier (and SCL) sees."""


def pooled_forward(pooling: str) -> Forward:
    """The forward function for ``pooling``; checks nothing about the model (see :func:`check_pooling`)."""
    return POOLINGS[pooling]


def check_pooling(net: PreTrainedModel, pooling: str) -> None:
    """Mean pooling needs a BERT-style head: a dropout and a linear classifier over the pooled vector."""
    if pooling != "cls" and not (isinstance(getattr(net, "classifier", None), nn.Linear) and hasattr(net, "dropout")):
        raise ConfigError(
            f"pooling {pooling} needs a model whose classifier is one linear layer (BERT-style); "
            f"{type(net).__name__} has {type(getattr(net, 'classifier', None)).__name__}: use pooling cls"
        )

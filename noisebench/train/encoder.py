"""Pre-trained encoders: resolve a name to a path, load once per process, hand out fresh copies."""

from __future__ import annotations

import copy
import logging
from functools import lru_cache

import torch
from torch import nn
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase
from transformers.utils import logging as hf_logging

from noisebench.assets import ASSETS, asset_path

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

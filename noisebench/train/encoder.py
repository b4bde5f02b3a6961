"""Pre-trained encoders: resolve a name to a path, load once per process, hand out fresh copies."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors import SafetensorError
from torch import nn

if TYPE_CHECKING:  # transformers is imported where a model is loaded: a bad --model path fails in a second
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

from noisebench.assets import ASSETS, asset_path
from noisebench.errors import ConfigError, ModelError

log = logging.getLogger(__name__)


def resolve_model_path(model: str) -> str:
    """An offline asset name becomes its cached folder; a local path must be a saved model's folder; a hub id passes.

    Raises:
        AssetError: the asset cannot be fetched or its cached copy is damaged.
        ModelError: ``model`` names a local path that does not exist or holds no saved model.
    """
    if model in ASSETS:
        return str(asset_path(model))
    if not _is_local_path(model):
        return model
    path = Path(model).expanduser()
    tried = f"not an offline asset ({', '.join(sorted(ASSETS))}), so tried local path {model}"
    if not path.exists():
        raise ModelError(f"cannot load model {model!r}: {tried}: no such file or folder")
    if not path.is_dir():
        raise ModelError(f"cannot load model {model!r}: {tried}: a file, not a saved model's folder")
    if not (path / "config.json").is_file():
        found = "is empty" if not any(path.iterdir()) else "has no config.json"
        raise ModelError(f"cannot load model {model!r}: {tried}: the folder {found} (not a saved transformers model)")
    return str(path)


def _is_local_path(model: str) -> bool:
    """A hub id is ``name`` or ``org/name``; anything existing, absolute, relative (``./``, ``~``) or deeper is a path."""
    return os.path.exists(model) or model.startswith((".", "~", "/")) or "\\" in model or model.count("/") > 1


def _what_was_tried(model: str) -> str:
    if model in ASSETS:
        return f"offline asset {model}"
    if _is_local_path(model):
        return f"local folder {model}"
    return f"hub id {model} (not an offline asset, not a local folder)"


def _load_error(model: str, part: str, exc: BaseException) -> ModelError:
    reason = " ".join(str(exc).split())  # one line: e.g. a config field's validation error spans two
    reason = reason if len(reason) <= 300 else reason[:297] + "..."
    return ModelError(f"cannot load model {model!r} ({_what_was_tried(model)}): its {part} failed to load: {type(exc).__name__}: {reason}")


def _config_type_errors() -> tuple[type[Exception], ...]:
    """What a config.json field of the wrong type raises: huggingface_hub's strict-dataclass validation error
    (transformers 5 configs), or a TypeError from the layer it sizes (older transformers)."""
    try:
        from huggingface_hub.errors import StrictDataclassError
    except ImportError:
        return (TypeError,)
    return (TypeError, StrictDataclassError)


_LOAD_ERRORS = (OSError, ValueError, SafetensorError, *_config_type_errors())
"""What transformers raises for a missing, unreachable, malformed or truncated model, or a config.json value
of the wrong type (caught only around the loading calls)."""


@lru_cache(maxsize=4)
def load_tokenizer(model: str) -> PreTrainedTokenizerBase:
    path = resolve_model_path(model)
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(path)
    except _LOAD_ERRORS as exc:
        raise _load_error(model, "tokenizer", exc) from exc


@lru_cache(maxsize=2)
def _load_base(model: str, num_labels: int, init_from: str | None = None) -> tuple[PreTrainedModel, tuple[str, ...]]:
    """``model`` (or, with ``init_from``, the saved model folder) for ``num_labels`` classes, and the keys of its
    head to initialise: the newly added ones, or with ``init_from`` every key outside the encoder."""
    path = resolve_model_path(model) if init_from is None else init_from
    source = model if init_from is None else init_from
    from transformers import AutoModelForSequenceClassification
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()  # the "newly initialized head" report is expected here
    hf_logging.disable_progress_bar()
    try:
        base, info = AutoModelForSequenceClassification.from_pretrained(
            path, num_labels=num_labels, output_loading_info=True, ignore_mismatched_sizes=init_from is not None
        )
    except _LOAD_ERRORS as exc:
        raise _load_error(source, "weights", exc) from exc
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.enable_progress_bar()
    if init_from is None:
        return base, tuple(info["missing_keys"])
    _check_same_encoder(model, init_from, base)
    return base, head_keys(base)


def head_keys(model: PreTrainedModel) -> tuple[str, ...]:
    """State-dict keys outside the encoder (``model.base_model_prefix``): the task's classification head."""
    prefix = model.base_model_prefix + "."
    return tuple(key for key in model.state_dict() if not key.startswith(prefix))


ARCHITECTURE_KEYS = ("model_type", "vocab_size", "hidden_size", "num_hidden_layers")
"""What a saved model must share with the run's ``model`` (whose tokenizer the run uses)."""


def _check_same_encoder(model: str, init_from: str, loaded: PreTrainedModel) -> None:
    from transformers import AutoConfig

    try:
        expected = AutoConfig.from_pretrained(resolve_model_path(model))
    except _LOAD_ERRORS as exc:
        raise _load_error(model, "config", exc) from exc
    differ = [f"{k} {getattr(loaded.config, k, None)} vs {getattr(expected, k, None)}" for k in ARCHITECTURE_KEYS
              if getattr(loaded.config, k, None) != getattr(expected, k, None)]
    if differ:
        raise ModelError(f"init_from {init_from} is not a fine-tuned {model}: {', '.join(differ)}")


def check_model(model: str, num_labels: int, init_from: str | None = None) -> None:
    """Load ``model``'s tokenizer and weights (or those of the saved model folder ``init_from``) now, cached
    for the run, so a bad model fails before any data work.

    Raises:
        AssetError, ModelError: one line saying what was tried and why it failed.
    """
    load_tokenizer(model)
    _load_base(model, num_labels, init_from)


def fresh_model(model: str, num_labels: int, seed: int, *, init_from: str | None = None) -> PreTrainedModel:
    """A copy of the pre-trained encoder with its newly added head initialised from ``seed``.

    With ``init_from`` (a saved model folder, see :func:`noisebench.store.runs.resolve_init_from`)
    the encoder weights come from that folder and its head is discarded and initialised afresh, as
    for the pre-trained model (the target task may have other classes). The base weights are read
    from disk once per process and copied per run; the head is always re-initialised here, so a
    cached and an uncached load give identical models.
    """
    base, new_keys = _load_base(model, num_labels, init_from)
    fresh = copy.deepcopy(base)
    reset_head(fresh, new_keys, seed)
    return fresh


@dataclass
class FineTuned:
    """A fine-tuned classifier with the tokenizer it was trained with; a run directory saves it as ``model/``."""

    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase

    def save(self, folder: Path) -> None:
        """``save_pretrained`` of both into ``folder`` (weights as safetensors)."""
        self.model.save_pretrained(folder, safe_serialization=True)
        self.tokenizer.save_pretrained(folder)


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


Forward = Callable[["PreTrainedModel", dict[str, torch.Tensor], bool], tuple[torch.Tensor, "torch.Tensor | None"]]


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

"""``encoder-probe``: logistic regression on a frozen encoder's masked-mean sentence embeddings.

Unlike a bag of words, the encoder reads a sentence pair together (``text``, ``text_pair`` through the
tokenizer, as in fine-tuning), so the probe is above chance on pair tasks. Embeddings are the masked
mean of the last layer's token states (all-MiniLM-L6-v2, the offline default, was trained with mean
pooling), computed on CPU in length-sorted batches without gradients, once per distinct example per
(encoder, max_length) per process: the fit modes and every level of a grid reuse them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from noisebench.errors import ModelError
from noisebench.noise.weak.base import WeakLabeller, WeakOption, WeakScorer, class_log_probs

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline

PROBE_C = 1.0
"""Inverse L2 strength of the probe on standardised embeddings: scikit-learn's default, not tuned on any dev split."""


@dataclass
class Embedder:
    """One frozen encoder's sentence embeddings, each distinct (text, text_pair) computed once."""

    encoder: str
    max_length: int
    _model: Any = field(default=None, repr=False)
    _rows: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)
    _vectors: list[np.ndarray] = field(default_factory=list, repr=False)

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        """``[len(frame), hidden]`` float32 embeddings, in the frame's order."""
        keys = list(zip(frame["text"].astype(str), frame["text_pair"].fillna("").astype(str)))
        if not keys:
            return np.zeros((0, self._load().config.hidden_size), dtype=np.float32)
        new = list(dict.fromkeys(k for k in keys if k not in self._rows))
        for is_pair in (False, True):
            group = [k for k in new if bool(k[1]) == is_pair]
            if group:
                self._add(group, is_pair)
        table = np.concatenate(self._vectors) if len(self._vectors) > 1 else self._vectors[0]
        self._vectors = [table]
        return table[[self._rows[k] for k in keys]]

    def _add(self, keys: list[tuple[str, str]], is_pair: bool) -> None:
        import torch

        from noisebench.train.batches import CPU_EVAL_TOKENS, encode, length_sorted_batches

        model = self._load()
        texts = pd.DataFrame(keys, columns=["text", "text_pair"])
        encoded = encode(texts, self.encoder, self.max_length, is_pair, labels=np.zeros(len(keys), dtype=np.int64))
        vectors = np.empty((len(keys), model.config.hidden_size), dtype=np.float32)
        with torch.inference_mode():
            for index in length_sorted_batches(encoded.lengths, max_tokens=CPU_EVAL_TOKENS):
                batch = encoded.rows(index)
                hidden = model(**batch).last_hidden_state
                vectors[index] = masked_mean(hidden, batch["attention_mask"]).float().numpy()
        start = sum(len(v) for v in self._vectors)
        self._rows.update((key, start + i) for i, key in enumerate(keys))
        self._vectors.append(vectors)

    def _load(self) -> Any:
        """The encoder without any head, in eval mode, resolved like the training model (asset, folder or hub id)."""
        if self._model is None:
            from safetensors import SafetensorError
            from transformers import AutoModel
            from transformers.utils import logging as hf_logging

            from noisebench.train.encoder import load_tokenizer, resolve_model_path

            hf_logging.disable_progress_bar()  # stderr stays for errors
            try:
                load_tokenizer(self.encoder)  # what was tried (asset, folder, hub id), before the weights
                self._model = AutoModel.from_pretrained(resolve_model_path(self.encoder)).eval()
            except ModelError as exc:
                raise ModelError(f"weak labeller encoder-probe: {exc}") from exc
            except (OSError, ValueError, SafetensorError) as exc:
                reason = (str(exc).strip().splitlines() or [""])[0][:300]
                raise ModelError(f"weak labeller encoder-probe: cannot load model {self.encoder!r}: {type(exc).__name__}: {reason}") from exc
            finally:
                hf_logging.enable_progress_bar()
        return self._model


def masked_mean(hidden: Any, attention_mask: Any) -> Any:
    """Mean of the token states that the attention mask keeps (padding excluded): ``[B, T, d] -> [B, d]``."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


@lru_cache(maxsize=2)
def embedder(encoder: str, max_length: int) -> Embedder:
    """The process's embedder for (encoder, max_length): a grid worker embeds each example once."""
    return Embedder(encoder, max_length)


@dataclass(frozen=True)
class ProbeScorer(WeakScorer):
    """A logistic-regression probe over a frozen encoder's embeddings."""

    probe: Pipeline
    embed: Embedder
    num_labels: int

    def log_probs(self, frame: pd.DataFrame) -> np.ndarray:
        return class_log_probs(self.probe, self.embed(frame), self.num_labels)


class EncoderProbe(WeakLabeller):
    """A linear probe on the run's (or a named) encoder: what the frozen features already know about the task."""

    name: ClassVar[str] = "encoder-probe"
    description: ClassVar[str] = (
        "class-balanced logistic regression on a frozen encoder's masked-mean sentence embeddings (standardised); "
        "pairs go through the tokenizer as (text, text_pair)"
    )
    options: ClassVar[tuple[WeakOption, ...]] = (
        WeakOption("encoder", "an offline asset name, local path or hub id", kind="model", defaults_to_run_model=True),
        WeakOption("max_length", "tokens per example (a pair: both sentences together); longer inputs are truncated", kind="int", default="128"),
    )

    def fit(self, train: pd.DataFrame, *, label_names: tuple[str, ...], seed: int, options: Mapping[str, str]) -> ProbeScorer:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        embed = embedder(options["encoder"], int(options["max_length"]))
        probe = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=PROBE_C, class_weight="balanced", max_iter=2000, random_state=seed),
        )
        probe.fit(embed(train), train["label"].to_numpy())
        return ProbeScorer(probe, embed, len(label_names))

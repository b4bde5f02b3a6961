"""Tokenised splits as tensors: padded once, sliced into training batches, pre-collated for inference."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from noisebench.data.tasks import TaskData
from noisebench.train.encoder import load_tokenizer

INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")

EVAL_ROWS = 128
"""Most examples in one inference batch."""

CPU_EVAL_TOKENS = 1024
"""On CPU an inference batch holds at most this many (padded) tokens: length-sorted batches this size
waste few tokens on padding (7% on the quick recipe, against 56% with 128-row batches). On the 2-core
machine (all-MiniLM-L6-v2, rt-polarity, 2 threads) budgets of 512-4,096 tokens and 16-32-row batches
were within run-to-run noise of each other (11.5-13.4 s of inference a run), 256 tokens slower (13.7 s),
per-split 128-row batches slowest (18.2 s)."""


@dataclass(frozen=True)
class Encoded:
    """A tokenised split: every example padded once to the split's longest, its lengths and labels.

    ``rows(index)`` gives exactly the tensors the tokenizer's ``pad`` gives for those examples (padded
    to the longest of them, on the tokenizer's padding side), without re-collating token lists per batch.
    """

    inputs: dict[str, torch.Tensor]
    lengths: np.ndarray
    labels: np.ndarray
    left_padded: bool = False

    def __len__(self) -> int:
        return len(self.labels)

    def rows(self, index: np.ndarray) -> dict[str, torch.Tensor]:
        """The examples ``index`` (in that order), padded to the longest of them."""
        columns = self._tokens(int(self.lengths[index].max()))
        rows = torch.as_tensor(np.asarray(index, dtype=np.int64))
        return {key: value[rows, columns] for key, value in self.inputs.items()}

    def example(self, i: int) -> dict[str, list[int]]:
        """Example ``i``'s unpadded token lists, as the tokenizer returned them."""
        columns = self._tokens(int(self.lengths[i]))
        return {key: value[i, columns].tolist() for key, value in self.inputs.items()}

    def _tokens(self, width: int) -> slice:
        """The columns holding the first ``width`` token positions (the last ones when padded on the left)."""
        return slice(-width, None) if self.left_padded else slice(0, width)


def encode(frame: pd.DataFrame, model: str, max_length: int, is_pair: bool, labels: np.ndarray | None = None) -> Encoded:
    """Tokenise ``frame`` (``text`` and, for pair tasks, ``text_pair``) truncated to ``max_length``."""
    tokenizer = load_tokenizer(model)
    pairs = frame["text_pair"].tolist() if is_pair else None
    enc = tokenizer(frame["text"].tolist(), pairs, truncation=True, max_length=max_length)
    keys = [k for k in INPUT_KEYS if k in enc]
    lengths = np.array([len(ids) for ids in enc["input_ids"]], dtype=np.int64)
    padded = tokenizer.pad({k: enc[k] for k in keys}, return_tensors="pt")
    return Encoded(
        {k: padded[k] for k in keys},
        lengths,
        frame["label"].to_numpy() if labels is None else labels,
        left_padded=tokenizer.padding_side == "left",
    )


def concat(first: Encoded, second: Encoded, model: str) -> Encoded:
    """``first``'s examples then ``second``'s, padded to the longest of both."""
    pad = load_tokenizer(model).pad
    both = [first.example(i) for i in range(len(first))] + [second.example(i) for i in range(len(second))]
    padded = pad(both, return_tensors="pt")
    return Encoded(
        {k: padded[k] for k in first.inputs}, np.concatenate([first.lengths, second.lengths]),
        np.concatenate([first.labels, second.labels]), first.left_padded,
    )


@dataclass(frozen=True)
class EvalBatches:
    """A split pre-collated for inference: length-sorted batches, each with the positions of its examples."""

    batches: tuple[tuple[np.ndarray, dict[str, torch.Tensor]], ...]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def eval_token_budget(device: torch.device) -> int | None:
    """Most padded tokens in an inference batch: :data:`CPU_EVAL_TOKENS` on CPU, no limit (``EVAL_ROWS`` rows) elsewhere."""
    return CPU_EVAL_TOKENS if device.type == "cpu" else None


def length_sorted_batches(lengths: np.ndarray, *, max_rows: int = EVAL_ROWS, max_tokens: int | None = None) -> list[np.ndarray]:
    """Positions sorted by length (stable), cut greedily into batches of at most ``max_rows`` examples and
    ``max_tokens`` padded tokens (rows times the batch's longest; a longer example gets a batch of its own)."""
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    while start < len(order):
        end = start + 1
        while end < len(order) and end - start < max_rows and (max_tokens is None or (end + 1 - start) * lengths[order[end]] <= max_tokens):
            end += 1
        batches.append(order[start:end])
        start = end
    return batches


def eval_batches(encoded: Encoded, device: torch.device) -> EvalBatches:
    """``encoded`` cut into length-sorted inference batches sized for ``device``, on ``device``."""
    index = length_sorted_batches(encoded.lengths, max_tokens=eval_token_budget(device))
    batches = tuple((i, {k: v.to(device) for k, v in encoded.rows(i).items()}) for i in index)
    return EvalBatches(batches, encoded.labels)


_ENCODED: dict[tuple, Encoded] = {}
_COLLATED: dict[tuple, EvalBatches] = {}


def encoded_eval_split(task: TaskData, split: str, model: str, max_length: int, limit: int | None) -> Encoded:
    """A tokenised dev/test split (its first ``limit`` examples), cached per process: a grid worker tokenises each split once."""
    key = (task.name, task.source_hash, split, model, max_length, limit)
    if key not in _ENCODED:
        _ENCODED[key] = encode(getattr(task, split).iloc[:limit], model, max_length, task.is_pair)
    return _ENCODED[key]


def eval_split_batches(task: TaskData, split: str, model: str, max_length: int, limit: int | None, device: torch.device) -> EvalBatches:
    """:func:`encoded_eval_split` pre-collated for ``device`` (:func:`eval_batches`), cached per process and device."""
    key = (task.name, task.source_hash, split, model, max_length, limit, str(device))
    if key not in _COLLATED:
        _COLLATED[key] = eval_batches(encoded_eval_split(task, split, model, max_length, limit), device)
    return _COLLATED[key]

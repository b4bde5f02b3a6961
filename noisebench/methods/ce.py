"""Plain cross-entropy fine-tuning: the baseline every method is compared with."""

from __future__ import annotations

from typing import TYPE_CHECKING

from noisebench.methods.base import Method

if TYPE_CHECKING:
    from torch import Tensor


def _ce(logits: Tensor, features: Tensor | None, labels: Tensor) -> Tensor:
    import torch.nn.functional as F

    return F.cross_entropy(logits, labels)


CE = Method("ce", _ce, description="cross-entropy")

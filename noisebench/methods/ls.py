"""Label smoothing (Szegedy et al., CVPR 2016): cross-entropy against (1 - ε)·onehot + ε/C."""

from __future__ import annotations

from typing import TYPE_CHECKING

from noisebench.methods.base import Method
from noisebench.parameters import Parameter

if TYPE_CHECKING:
    from torch import Tensor


def _ls(logits: Tensor, features: Tensor | None, labels: Tensor, *, epsilon: float) -> Tensor:
    from noisebench.losses import label_smoothing_loss

    return label_smoothing_loss(logits, labels, epsilon)


LS = Method(
    "ls",
    _ls,
    hyper_parameters=(
        Parameter("epsilon", "ε", "label smoothing ε", low=0.0, high=1.0, high_open=True, default=0.1, help="mass spread uniformly over the classes"),
    ),
    description="cross-entropy with label smoothing ε (Szegedy et al. 2016)",
)

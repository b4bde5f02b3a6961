"""CE + supervised contrastive loss (Gunel et al., ICLR 2021): (1 - λ)·CE + λ·SCL over sentence features."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from noisebench.methods.base import Method
from noisebench.parameters import Parameter

if TYPE_CHECKING:
    from torch import Tensor


def _ce_scl(logits: Tensor, features: Tensor | None, labels: Tensor, *, lam: float, tau: float, gather: bool = False) -> Tensor:
    """``gather``: in a data-parallel run, score this rank's shard against the whole global batch."""
    from noisebench.losses import ce_scl_loss

    return ce_scl_loss(logits, features, labels, lam=lam, temperature=tau, gather=gather)


def _uses_features(params: Mapping[str, float]) -> bool:
    return params["lam"] > 0  # λ = 0 is exactly CE: no features computed


CE_SCL = Method(
    "ce-scl",
    _ce_scl,
    hyper_parameters=(
        Parameter("lam", "λ", "SCL weight λ", low=0.0, high=1.0, default=0.9, help="weight of SCL in (1-λ)·CE + λ·SCL"),
        Parameter("tau", "τ", "SCL temperature τ", low=0.0, low_open=True, default=0.3, help="SCL temperature"),
    ),
    uses_features=_uses_features,
    description="(1-λ)·CE + λ·SCL (Gunel et al. 2021)",
    gathers_features=True,
)

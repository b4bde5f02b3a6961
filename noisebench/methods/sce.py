"""Symmetric cross-entropy (Wang et al., ICCV 2019): α·CE + β·reverse CE, alone and combined with SCL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from noisebench.methods.base import Method
from noisebench.methods.ce_scl import CE_SCL
from noisebench.parameters import Parameter

if TYPE_CHECKING:
    from torch import Tensor

ALPHA = Parameter("alpha", "α", "SCE CE weight α", low=0.0, default=0.1, help="weight of CE in α·CE + β·RCE")
BETA = Parameter("beta", "β", "SCE RCE weight β", low=0.0, default=1.0, help="weight of reverse CE in α·CE + β·RCE")


def _sce(logits: Tensor, features: Tensor | None, labels: Tensor, *, alpha: float, beta: float) -> Tensor:
    from noisebench.losses import sce_loss

    return sce_loss(logits, labels, alpha, beta)


def _sce_scl(logits: Tensor, features: Tensor | None, labels: Tensor, *, alpha: float, beta: float, lam: float, tau: float, gather: bool = False) -> Tensor:
    from noisebench.losses import sce_scl_loss

    return sce_scl_loss(logits, features, labels, alpha=alpha, beta=beta, lam=lam, temperature=tau, gather=gather)


def _uses_features(params: Mapping[str, float]) -> bool:
    return params["lam"] > 0  # λ = 0 is exactly SCE: no features computed


SCE = Method("sce", _sce, hyper_parameters=(ALPHA, BETA), description="symmetric cross-entropy α·CE + β·RCE (Wang et al. 2019)")
SCE_SCL = Method(
    "sce-scl",
    _sce_scl,
    hyper_parameters=(ALPHA, BETA, *CE_SCL.hyper_parameters),  # the same λ and τ as ce-scl
    uses_features=_uses_features,
    description="(1-λ)·SCE + λ·SCL",
    gathers_features=True,
)

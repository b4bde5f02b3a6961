"""Generalised cross-entropy (Zhang & Sabuncu, NeurIPS 2018), alone and combined with SCL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from noisebench.methods.base import Method
from noisebench.methods.ce_scl import CE_SCL
from noisebench.parameters import Parameter

if TYPE_CHECKING:
    from torch import Tensor

Q = Parameter("q", "q", "GCE exponent q", low=0.0, low_open=True, high=1.0, default=0.7, help="q -> 0 is CE, q = 1 is MAE")


def _gce(logits: Tensor, features: Tensor | None, labels: Tensor, *, q: float) -> Tensor:
    from noisebench.losses import gce_loss

    return gce_loss(logits, labels, q)


def _gce_scl(logits: Tensor, features: Tensor | None, labels: Tensor, *, q: float, lam: float, tau: float, gather: bool = False) -> Tensor:
    from noisebench.losses import gce_scl_loss

    return gce_scl_loss(logits, features, labels, q=q, lam=lam, temperature=tau, gather=gather)


def _uses_features(params: Mapping[str, float]) -> bool:
    return params["lam"] > 0  # λ = 0 is exactly GCE: no features computed


GCE = Method("gce", _gce, hyper_parameters=(Q,), description="generalised cross-entropy (1 - p_y^q)/q (Zhang & Sabuncu 2018)")
GCE_SCL = Method(
    "gce-scl",
    _gce_scl,
    hyper_parameters=(Q, *CE_SCL.hyper_parameters),  # the same λ and τ as ce-scl
    uses_features=_uses_features,
    description="(1-λ)·GCE + λ·SCL",
    gathers_features=True,
)

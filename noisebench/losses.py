"""Supervised contrastive (SCL) and combined CE+SCL losses (Gunel et al., ICLR 2021).

The SCL term follows Eq. 3 of the paper; ``ce_scl_loss`` is the paper's Eq. 1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

_REDUCTIONS = ("mean", "sum")


def scl_loss(features: Tensor, labels: Tensor, temperature: float = 0.3, reduction: str = "mean") -> Tensor:
    """Supervised contrastive loss over a batch of embeddings.

    Args:
        features: ``[B, d]`` embeddings of any float dtype; L2-normalised here.
        labels: ``[B]`` integer class labels.
        temperature: softmax temperature ``tau > 0``.
        reduction: ``"mean"`` over anchors with at least one positive, or ``"sum"`` (Eq. 3).

    Returns:
        Scalar loss in float32 (float64 if ``features`` is float64). Anchors without a
        positive contribute nothing; with no positives at all the result is a
        graph-connected ``0.0``.
    """
    if features.dim() != 2:
        raise ValueError(f"features must be [B, d], got shape {tuple(features.shape)}")
    if labels.dim() != 1 or labels.shape[0] != features.shape[0]:
        raise ValueError(f"labels must be [B] with B={features.shape[0]}, got shape {tuple(labels.shape)}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")

    dtype = torch.float64 if features.dtype == torch.float64 else torch.float32
    z = F.normalize(features.to(dtype), dim=1)
    self_mask = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
    sim = (z @ z.T / temperature).masked_fill(self_mask, torch.finfo(dtype).min)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)

    pos = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = pos.sum(dim=1)
    has_pos = n_pos > 0
    pos_sum = torch.where(pos, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    per_anchor = -pos_sum[has_pos] / n_pos[has_pos].to(dtype)
    if reduction == "sum" or per_anchor.numel() == 0:
        return per_anchor.sum()  # empty sum -> 0.0, still attached to the graph
    return per_anchor.mean()


def ce_scl_loss(logits: Tensor, features: Tensor, labels: Tensor, lam: float = 0.9, temperature: float = 0.3) -> Tensor:
    """``(1 - lam) * CE(logits, labels) + lam * SCL(features, labels)`` (mean reduction).

    Args:
        logits: ``[B, C]`` classifier logits.
        features: ``[B, d]`` embeddings for the SCL term.
        labels: ``[B]`` integer class labels.
        lam: SCL weight in ``[0, 1]``; ``lam == 0`` returns plain cross-entropy exactly.
        temperature: SCL temperature ``tau > 0``.

    Returns:
        Scalar combined loss.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    ce = F.cross_entropy(logits, labels)
    if lam == 0:
        return ce  # bitwise identical to the plain CE baseline
    return (1.0 - lam) * ce + lam * scl_loss(features, labels, temperature)

"""Supervised contrastive (SCL) and combined CE+SCL losses (Gunel et al., ICLR 2021).

The SCL term follows Eq. 3 of the paper; ``ce_scl_loss`` is the paper's Eq. 1.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor

_REDUCTIONS = ("mean", "sum")


def scl_loss(features: Tensor, labels: Tensor, temperature: float = 0.3, reduction: str = "mean", *, gather: bool = False) -> Tensor:
    """Supervised contrastive loss over a batch of embeddings.

    Args:
        features: ``[B, d]`` embeddings of any float dtype; L2-normalised here.
        labels: ``[B]`` integer class labels.
        temperature: softmax temperature ``tau > 0``.
        reduction: ``"mean"`` over anchors with at least one positive, or ``"sum"`` (Eq. 3).
        gather: inside an initialised process group, this rank's ``features``/``labels`` are its shard
            of a global batch: all shards are gathered with gradients and this rank's anchors are scored
            against the whole global batch. Without a group it is the ordinary loss.

    Returns:
        Scalar loss in float32 (float64 if ``features`` is float64). Anchors without a
        positive contribute nothing; with no positives at all the result is a
        graph-connected ``0.0``. With ``gather`` in a group of K ranks the value is the global
        batch's loss on every rank, and its gradient is that of K x this rank's share, so that
        after DDP averages gradients over ranks they equal the single-process gradient on the
        global batch (see :func:`_rank_share`).
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
    if gather and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return _rank_share(features.to(dtype), labels, temperature, reduction)
    per_anchor = _per_anchor(features.to(dtype), labels, features.to(dtype), labels, 0, temperature)
    if reduction == "sum" or per_anchor.numel() == 0:
        return per_anchor.sum()  # empty sum -> 0.0, still attached to the graph
    return per_anchor.mean()


def _per_anchor(anchors: Tensor, anchor_labels: Tensor, batch: Tensor, labels: Tensor, offset: int, temperature: float) -> Tensor:
    """ℓ_i for the anchors that have a positive, scored against ``batch`` (the anchors are its rows
    ``offset:offset + len(anchors)``). Similarities and log-sum-exp in ``batch``'s dtype (float32 or float64)."""
    z_all = F.normalize(batch, dim=1)
    z = z_all[offset : offset + anchors.shape[0]]
    rows = torch.arange(z.shape[0], device=z.device)
    self_mask = torch.zeros(z.shape[0], z_all.shape[0], dtype=torch.bool, device=z.device)
    self_mask[rows, rows + offset] = True
    sim = (z @ z_all.T / temperature).masked_fill(self_mask, torch.finfo(z.dtype).min)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)

    pos = (anchor_labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = pos.sum(dim=1)
    has_pos = n_pos > 0
    pos_sum = torch.where(pos, log_prob, torch.zeros_like(log_prob)).sum(dim=1)
    return -pos_sum[has_pos] / n_pos[has_pos].to(z.dtype)


def _rank_share(features: Tensor, labels: Tensor, temperature: float, reduction: str) -> Tensor:
    """This rank's anchors against the gathered global batch, scaled for DDP's gradient averaging.

    With K ranks, global anchors A (those with a positive in the global batch, M = |A|) and this
    rank's anchors A_r, the single-process loss is L = (1/M) Σ_{i∈A} ℓ_i (mean) or Σ_{i∈A} ℓ_i (sum).
    The gather's backward sums every rank's gradient w.r.t. a shard back onto the rank that owns it,
    so rank r's parameter gradient is ∂(Σ_s L_s)/∂θ through its own shard, and DDP's average over
    ranks gives ∂((1/K) Σ_s L_s)/∂θ. Hence L_r = K/M · Σ_{i∈A_r} ℓ_i (mean) or K · Σ_{i∈A_r} ℓ_i
    (sum): then (1/K) Σ_r L_r = L. The returned value is replaced by L itself (one scalar
    all-reduce), keeping L_r's gradient.
    """
    from torch.distributed.nn.functional import all_gather

    world = dist.get_world_size()
    sizes = [int(n) for n in _all_gather_sizes(features.shape[0], features.device)]
    longest = max(sizes)
    pad = longest - features.shape[0]
    padded = F.pad(features, (0, 0, 0, pad))
    padded_labels = F.pad(labels, (0, pad))
    shards = all_gather(padded)  # with gradients
    label_shards = [torch.empty_like(padded_labels) for _ in range(world)]
    dist.all_gather(label_shards, padded_labels)
    batch = torch.cat([shard[:n] for shard, n in zip(shards, sizes)])
    all_labels = torch.cat([shard[:n] for shard, n in zip(label_shards, sizes)])
    offset = sum(sizes[: dist.get_rank()])
    per_anchor = _per_anchor(features, labels, batch, all_labels, offset, temperature)
    share = per_anchor.sum() * world
    if reduction == "mean":
        n_anchors = int((torch.bincount(all_labels)[all_labels] > 1).sum())  # M: anchors with a positive globally
        share = share / max(n_anchors, 1)
    value = share.detach().clone()
    dist.all_reduce(value)
    return share + (value / world - share.detach())


def _all_gather_sizes(size: int, device: torch.device) -> list[int]:
    mine = torch.tensor([size], device=device)
    sizes = [torch.empty_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(sizes, mine)
    return [int(s) for s in sizes]


def ce_scl_loss(logits: Tensor, features: Tensor, labels: Tensor, lam: float = 0.9, temperature: float = 0.3, *, gather: bool = False) -> Tensor:
    """``(1 - lam) * CE(logits, labels) + lam * SCL(features, labels)`` (mean reduction).

    Args:
        logits: ``[B, C]`` classifier logits.
        features: ``[B, d]`` embeddings for the SCL term.
        labels: ``[B]`` integer class labels.
        lam: SCL weight in ``[0, 1]``; ``lam == 0`` returns plain cross-entropy exactly.
        temperature: SCL temperature ``tau > 0``.
        gather: inside a process group, the inputs are this rank's shard of a global batch and both
            terms are the global batch's (value on every rank; gradient right after DDP's averaging,
            also for shards of unequal size). Without a group it is the ordinary loss.

    Returns:
        Scalar combined loss.
    """
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if gather and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        ce = _global_mean_cross_entropy(logits, labels)
    else:
        ce = F.cross_entropy(logits, labels)
    if lam == 0:
        return ce  # bitwise identical to the plain CE baseline
    return (1.0 - lam) * ce + lam * scl_loss(features, labels, temperature, gather=gather)


def _global_mean_cross_entropy(logits: Tensor, labels: Tensor) -> Tensor:
    """This rank's CE sum scaled by K / B_global (so DDP's average is the global mean); value = the global mean."""
    world = dist.get_world_size()
    total = torch.tensor([labels.shape[0]], device=labels.device)
    dist.all_reduce(total)
    share = F.cross_entropy(logits, labels, reduction="sum") * world / int(total)
    value = share.detach().clone()
    dist.all_reduce(value)
    return share + (value / world - share.detach())


# Robust-loss baselines (noise-robust objectives compared with CE and CE+SCL).


def label_smoothing_loss(logits: Tensor, labels: Tensor, epsilon: float = 0.1) -> Tensor:
    """Cross-entropy against ``(1 - ε)·onehot + ε/C`` (Szegedy et al., 2016): torch's ``label_smoothing``.

    Args:
        logits: ``[B, C]`` classifier logits.
        labels: ``[B]`` integer class labels.
        epsilon: smoothing in ``[0, 1)``; 0 is plain cross-entropy.
    """
    if not 0.0 <= epsilon < 1.0:
        raise ValueError(f"epsilon must be in [0, 1), got {epsilon}")
    return F.cross_entropy(logits, labels, label_smoothing=epsilon)


def gce_per_example(logits: Tensor, labels: Tensor, q: float = 0.7) -> Tensor:
    """``[B]``: ``(1 - p_y^q) / q`` with ``p_y^q = exp(q·log p_y)`` (stable for tiny ``p_y``)."""
    if not 0.0 < q <= 1.0:
        raise ValueError(f"q must be in (0, 1], got {q}")
    log_p_y = F.log_softmax(logits, dim=1).gather(1, labels[:, None]).squeeze(1)
    return (1.0 - torch.exp(q * log_p_y)) / q


def gce_loss(logits: Tensor, labels: Tensor, q: float = 0.7) -> Tensor:
    """Generalised cross-entropy (Zhang & Sabuncu, NeurIPS 2018): batch mean of ``(1 - p_y^q) / q``.

    ``q -> 0`` approaches cross-entropy; ``q = 1`` is the (noise-robust) MAE ``1 - p_y``.
    """
    return gce_per_example(logits, labels, q).mean()


def sce_per_example(logits: Tensor, labels: Tensor, alpha: float = 0.1, beta: float = 1.0) -> Tensor:
    """``[B]``: ``α·CE + β·RCE`` with ``RCE = -Σ_k p_k·log(clamp(onehot_k, 1e-4, 1))`` and ``p`` clamped to
    ``[1e-7, 1]``, as in the authors' code (so ``log 0`` is taken as ``log 1e-4 = -9.21``)."""
    if alpha < 0 or beta < 0:
        raise ValueError(f"alpha and beta must be >= 0, got {alpha}, {beta}")
    ce = F.cross_entropy(logits, labels, reduction="none")
    probs = F.softmax(logits, dim=1).clamp(min=1e-7, max=1.0)
    one_hot = F.one_hot(labels, logits.shape[1]).to(probs.dtype).clamp(min=1e-4, max=1.0)
    rce = -(probs * torch.log(one_hot)).sum(dim=1)
    return alpha * ce + beta * rce


def sce_loss(logits: Tensor, labels: Tensor, alpha: float = 0.1, beta: float = 1.0) -> Tensor:
    """Symmetric cross-entropy (Wang et al., ICCV 2019): batch mean of ``α·CE + β·RCE`` (see :func:`sce_per_example`)."""
    return sce_per_example(logits, labels, alpha, beta).mean()


def gce_scl_loss(logits: Tensor, features: Tensor, labels: Tensor, q: float = 0.7, lam: float = 0.9, temperature: float = 0.3, *, gather: bool = False) -> Tensor:
    """``(1 - lam)·GCE + lam·SCL``; ``lam == 0`` returns :func:`gce_loss` exactly. ``gather`` as in :func:`ce_scl_loss`."""
    return _with_scl(gce_per_example(logits, labels, q), features, labels, lam, temperature, gather)


def sce_scl_loss(
    logits: Tensor, features: Tensor, labels: Tensor, alpha: float = 0.1, beta: float = 1.0, lam: float = 0.9, temperature: float = 0.3, *, gather: bool = False
) -> Tensor:
    """``(1 - lam)·SCE + lam·SCL``; ``lam == 0`` returns :func:`sce_loss` exactly. ``gather`` as in :func:`ce_scl_loss`."""
    return _with_scl(sce_per_example(logits, labels, alpha, beta), features, labels, lam, temperature, gather)


def _with_scl(per_example: Tensor, features: Tensor, labels: Tensor, lam: float, temperature: float, gather: bool) -> Tensor:
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam must be in [0, 1], got {lam}")
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    distributed = gather and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
    term = _global_batch_mean(per_example) if distributed else per_example.mean()
    if lam == 0:
        return term
    return (1.0 - lam) * term + lam * scl_loss(features, labels, temperature, gather=gather)


def _global_batch_mean(per_example: Tensor) -> Tensor:
    """This rank's sum scaled by K / B_global (DDP's average is then the global mean); value = the global mean."""
    world = dist.get_world_size()
    total = torch.tensor([per_example.shape[0]], device=per_example.device)
    dist.all_reduce(total)
    share = per_example.sum() * world / int(total)
    value = share.detach().clone()
    dist.all_reduce(value)
    return share + (value / world - share.detach())

"""Tests for noisebench.losses: SCL against a brute-force loop reference, stability, CE+SCL mixing."""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from noisebench.losses import ce_scl_loss, scl_loss
from tests.conftest import spawn_ranks

DEVICE = torch.device(os.environ.get("NOISEBENCH_TEST_DEVICE", "cpu"))

LABEL_PATTERNS = {
    "random": [0, 1, 2, 1, 0, 2, 2, 1, 0, 1],
    "with_singletons": [0, 0, 1, 2, 2, 2, 3, 4, 4, 5],
    "all_one_class": [3] * 10,
    "all_distinct": list(range(10)),
}


def brute_scl(features: torch.Tensor, labels: list[int], temperature: float, reduction: str) -> float:
    """Eq. 3 of Gunel et al. by explicit Python loops in float64 (independent of the vectorised code)."""
    rows = [[float(v) for v in row] for row in features.detach().cpu().double()]
    z = []
    for row in rows:
        norm = max(math.sqrt(sum(v * v for v in row)), 1e-12)
        z.append([v / norm for v in row])
    b = len(z)

    def dot(i: int, j: int) -> float:
        return sum(a * c for a, c in zip(z[i], z[j]))

    per_anchor = []
    for i in range(b):
        positives = [j for j in range(b) if j != i and labels[j] == labels[i]]
        if not positives:
            continue
        denom = sum(math.exp(dot(i, k) / temperature) for k in range(b) if k != i)
        total = sum(math.log(math.exp(dot(i, j) / temperature) / denom) for j in positives)
        per_anchor.append(-total / len(positives))
    if not per_anchor:
        return 0.0
    return sum(per_anchor) if reduction == "sum" else sum(per_anchor) / len(per_anchor)


def _data(labels: list[int], dtype: torch.dtype, d: int = 8, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(len(labels), d, generator=gen, dtype=torch.float64).to(dtype=dtype, device=DEVICE)
    return x, torch.tensor(labels, device=DEVICE)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("pattern", sorted(LABEL_PATTERNS))
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 1e-5)])
def test_scl_matches_bruteforce_reference(pattern, reduction, dtype, tol):
    labels = LABEL_PATTERNS[pattern]
    x, y = _data(labels, dtype)
    got = scl_loss(x, y, temperature=0.3, reduction=reduction)
    assert got.dtype == dtype
    assert got.item() == pytest.approx(brute_scl(x, labels, 0.3, reduction), rel=tol, abs=tol)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_scl_half_precision_inputs_match_reference_and_compute_in_float32(dtype, reduction):
    labels = LABEL_PATTERNS["random"]
    x, y = _data(labels, dtype)
    got = scl_loss(x, y, temperature=0.3, reduction=reduction)
    assert got.dtype == torch.float32
    # Reference on the same rounded inputs, so only float32 compute error remains.
    assert got.item() == pytest.approx(brute_scl(x, labels, 0.3, reduction), rel=1e-4, abs=1e-5)


def test_scl_no_positives_returns_zero_with_zero_grad():
    x, y = _data(LABEL_PATTERNS["all_distinct"], torch.float32)
    x.requires_grad_(True)
    for reduction in ("mean", "sum"):
        loss = scl_loss(x, y, reduction=reduction)
        assert loss.item() == 0.0
        assert loss.requires_grad
        (grad,) = torch.autograd.grad(loss, x)
        assert torch.equal(grad, torch.zeros_like(x))


def test_scl_single_sample_batch_is_zero_and_backward_works():
    x = torch.randn(1, 5, device=DEVICE, requires_grad=True)
    loss = scl_loss(x, torch.tensor([2], device=DEVICE))
    assert loss.item() == 0.0
    loss.backward()
    assert x.grad is not None and torch.equal(x.grad, torch.zeros_like(x))


@pytest.mark.parametrize("kind", ["identical", "zero"])
def test_scl_degenerate_embeddings_are_finite_with_finite_grads(kind):
    b = 6
    if kind == "identical":
        x = torch.randn(1, 4, device=DEVICE).repeat(b, 1)
    else:
        x = torch.zeros(b, 4, device=DEVICE)
    x.requires_grad_(True)
    y = torch.tensor([0, 0, 1, 1, 2, 3], device=DEVICE)
    loss = scl_loss(x, y)
    # All similarities are equal, so every anchor's log-prob is log(1 / (B - 1)).
    assert loss.item() == pytest.approx(math.log(b - 1), rel=1e-6)
    loss.backward()
    assert torch.isfinite(x.grad).all()


def test_scl_tiny_temperature_fp16_is_finite_and_accurate():
    labels = LABEL_PATTERNS["random"]
    x, y = _data(labels, torch.float16)
    x.requires_grad_(True)
    loss = scl_loss(x, y, temperature=0.01)
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx(brute_scl(x, labels, 0.01, "mean"), rel=1e-3)
    loss.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


def test_scl_gradcheck_float64():
    x = torch.randn(6, 4, dtype=torch.float64, device=DEVICE, requires_grad=True)
    y = torch.tensor([0, 1, 0, 1, 2, 0], device=DEVICE)
    for reduction in ("mean", "sum"):
        assert torch.autograd.gradcheck(lambda t, reduction=reduction: scl_loss(t, y, 0.5, reduction), (x,))


def test_scl_is_invariant_to_feature_scaling():
    x, y = _data(LABEL_PATTERNS["random"], torch.float64)
    scales = torch.linspace(0.01, 50.0, x.shape[0], dtype=torch.float64, device=DEVICE)[:, None]
    base = scl_loss(x, y)
    assert torch.allclose(scl_loss(7.3 * x, y), base, rtol=1e-12)
    assert torch.allclose(scl_loss(scales * x, y), base, rtol=1e-12)


def test_scl_rejects_invalid_arguments():
    x, y = _data([0, 1, 0, 1], torch.float32)
    with pytest.raises(ValueError, match="temperature"):
        scl_loss(x, y, temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        scl_loss(x, y, temperature=-1.0)
    with pytest.raises(ValueError, match="reduction"):
        scl_loss(x, y, reduction="none")
    with pytest.raises(ValueError, match="labels"):
        scl_loss(x, y[:3])
    with pytest.raises(ValueError, match="features"):
        scl_loss(x[0], y)


def _ce_inputs(seed: int = 1):
    labels = LABEL_PATTERNS["with_singletons"]
    x, y = _data(labels, torch.float32, seed=seed)
    logits = torch.randn(len(labels), 6, generator=torch.Generator().manual_seed(seed)).to(DEVICE)
    return logits, x, y, labels


@pytest.mark.parametrize("lam", [0.1, 0.5, 0.9])
def test_ce_scl_is_convex_mix_of_ce_and_bruteforce_scl(lam):
    logits, x, y, labels = _ce_inputs()
    expected = (1 - lam) * F.cross_entropy(logits, y).item() + lam * brute_scl(x, labels, 0.3, "mean")
    assert ce_scl_loss(logits, x, y, lam=lam).item() == pytest.approx(expected, rel=1e-5)


def test_ce_scl_lam_zero_is_exactly_cross_entropy():
    logits, x, y, _ = _ce_inputs()
    assert torch.equal(ce_scl_loss(logits, x, y, lam=0.0), F.cross_entropy(logits, y))


def test_ce_scl_lam_one_is_scl():
    logits, x, y, _ = _ce_inputs()
    assert torch.allclose(ce_scl_loss(logits, x, y, lam=1.0, temperature=0.2), scl_loss(x, y, 0.2))


@pytest.mark.parametrize("kwargs", [{"lam": -0.1}, {"lam": 1.1}, {"temperature": 0.0}])
def test_ce_scl_rejects_invalid_arguments(kwargs):
    logits, x, y, _ = _ce_inputs()
    with pytest.raises(ValueError):
        ce_scl_loss(logits, x, y, **kwargs)


# --- gather across ranks -------------------------------------------------------------------------

# Rank 0's shard holds one example of each of classes 0-4, so none of its anchors has a positive on its own
# rank, while classes 0-2 have positives on rank 1; classes 3 and 4 have none anywhere.
GLOBAL_LABELS = [0, 1, 2, 3, 4, 0, 1, 2, 5, 5]
SHARD_BOUNDS = {"even": (0, 5, 10), "uneven": (0, 6, 10)}
GATHER_CASES = [(shards, kind) for shards in SHARD_BOUNDS for kind in ("scl-mean", "scl-sum", "ce-scl")]


class _SmallModel(torch.nn.Module):
    """Features = a linear map of the input; logits = a linear head over the features."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.encoder = torch.nn.Linear(6, 4, dtype=torch.float64)
        self.head = torch.nn.Linear(4, 6, dtype=torch.float64)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.encoder(x)
        return features, self.head(features)


def _global_batch() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(len(GLOBAL_LABELS), 6, generator=torch.Generator().manual_seed(7), dtype=torch.float64)
    return x, torch.tensor(GLOBAL_LABELS)


def _loss(kind: str, features: torch.Tensor, logits: torch.Tensor, y: torch.Tensor, *, gather: bool) -> torch.Tensor:
    if kind == "ce-scl":
        return ce_scl_loss(logits, features, y, lam=0.7, temperature=0.2, gather=gather)
    return scl_loss(features, y, 0.2, kind.removeprefix("scl-"), gather=gather)


def _gather_worker(rank: int, world_size: int, store: str, out: str) -> None:
    """One rank of a DDP step: its shard of the global batch; saves the loss and the DDP-averaged gradients."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world_size)
    x, y = _global_batch()
    results = {}
    for shards, kind in GATHER_CASES:
        start, stop = SHARD_BOUNDS[shards][rank : rank + 2]
        model = _SmallModel()
        ddp = DistributedDataParallel(model, find_unused_parameters=True)  # the head is unused by plain SCL
        features, logits = ddp(x[start:stop])
        loss = _loss(kind, features, logits, y[start:stop], gather=True)
        loss.backward()
        results[shards, kind] = (loss.detach(), [p.grad.clone() if p.grad is not None else None for p in model.parameters()])
    torch.save(results, f"{out}.{rank}")
    dist.barrier()  # no rank closes its connections while the other may still be reading from them
    dist.destroy_process_group()


@pytest.fixture(scope="module")
def two_rank_results(tmp_path_factory) -> list[dict]:
    folders: list[Path] = []

    def fresh_store() -> tuple:
        folders.append(tmp_path_factory.mktemp("gather"))
        return 2, str(folders[-1] / "store"), str(folders[-1] / "out")

    spawn_ranks(_gather_worker, fresh_store)
    return [torch.load(folders[-1] / f"out.{rank}") for rank in range(2)]


@pytest.mark.parametrize("shards, kind", GATHER_CASES)
def test_gathered_loss_and_ddp_gradients_equal_one_process_on_the_global_batch(two_rank_results, shards, kind):
    model = _SmallModel()
    x, y = _global_batch()
    features, logits = model(x)
    expected = _loss(kind, features, logits, y, gather=False)
    expected.backward()
    for rank in range(2):
        loss, grads = two_rank_results[rank][shards, kind]
        torch.testing.assert_close(loss, expected.detach(), rtol=1e-12, atol=1e-12)
        for grad, param in zip(grads, model.parameters()):
            if param.grad is None:  # the head under plain SCL
                assert grad is None or torch.count_nonzero(grad) == 0
            else:
                torch.testing.assert_close(grad, param.grad, rtol=1e-10, atol=1e-12)


def test_the_global_batch_exercises_anchors_whose_positives_are_on_another_rank():
    labels = GLOBAL_LABELS[:5]
    assert all(labels.count(c) == 1 for c in labels)  # no positive on rank 0 itself ...
    assert sum(GLOBAL_LABELS.count(c) > 1 for c in labels) == 3  # ... three have one on rank 1


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_gather_without_a_process_group_is_the_ordinary_loss(reduction):
    x, y = _data(LABEL_PATTERNS["with_singletons"], torch.float32)
    assert torch.equal(scl_loss(x, y, 0.3, reduction, gather=True), scl_loss(x, y, 0.3, reduction))
    logits, x, y, _ = _ce_inputs()
    assert torch.equal(ce_scl_loss(logits, x, y, lam=0.5, gather=True), ce_scl_loss(logits, x, y, lam=0.5))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_features_give_a_float32_loss_close_to_the_float32_one(dtype):
    x, y = _data(LABEL_PATTERNS["random"], torch.float32)
    low = scl_loss(x.to(dtype), y)
    assert low.dtype == torch.float32
    assert low.item() == pytest.approx(scl_loss(x.to(dtype).float(), y).item(), rel=1e-6)

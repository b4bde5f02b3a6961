"""Tests for noisebench.losses: SCL against a brute-force loop reference, stability, CE+SCL mixing."""

from __future__ import annotations

import math
import os

import pytest
import torch
import torch.nn.functional as F

from noisebench.losses import ce_scl_loss, scl_loss

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
        assert torch.autograd.gradcheck(lambda t: scl_loss(t, y, 0.5, reduction), (x,))


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

"""Tests for the robust-loss baselines (label smoothing, GCE, SCE, their SCL mixes) against float64 Python
loops, and for their methods in the registry."""

from __future__ import annotations

import math
import os

import pytest
import torch

from noisebench.errors import ConfigError
from noisebench.losses import gce_loss, gce_scl_loss, label_smoothing_loss, sce_loss, sce_scl_loss, scl_loss
from noisebench.methods import get_method

DEVICE = torch.device(os.environ.get("NOISEBENCH_TEST_DEVICE", "cpu"))


def _probs(row: list[float]) -> list[float]:
    top = max(row)
    exps = [math.exp(v - top) for v in row]
    return [e / sum(exps) for e in exps]


def _rows(logits: torch.Tensor) -> list[list[float]]:
    return [[float(v) for v in row] for row in logits.detach().cpu().double()]


def brute_label_smoothing(logits: torch.Tensor, labels: list[int], epsilon: float) -> float:
    """Mean over examples of -Σ_k t_k log p_k with t = (1 - ε)·onehot + ε/C."""
    total = 0.0
    for row, y in zip(_rows(logits), labels):
        p, c = _probs(row), len(row)
        total += -sum(((1 - epsilon) * (k == y) + epsilon / c) * math.log(p[k]) for k in range(c))
    return total / len(labels)


def brute_gce(logits: torch.Tensor, labels: list[int], q: float) -> float:
    """Mean over examples of (1 - p_y^q) / q (Zhang & Sabuncu 2018, Eq. 6)."""
    return sum((1 - _probs(row)[y] ** q) / q for row, y in zip(_rows(logits), labels)) / len(labels)


def brute_sce(logits: torch.Tensor, labels: list[int], alpha: float, beta: float) -> float:
    """Mean over examples of α·(-log p_y) + β·(-Σ_k clamp(p_k, 1e-7, 1)·log clamp(onehot_k, 1e-4, 1))."""
    total = 0.0
    for row, y in zip(_rows(logits), labels):
        p = _probs(row)
        rce = -sum(min(max(p[k], 1e-7), 1.0) * math.log(1.0 if k == y else 1e-4) for k in range(len(row)))
        total += alpha * -math.log(p[y]) + beta * rce
    return total / len(labels)


def _batch(seed: int = 0, b: int = 12, c: int = 4, dtype: torch.dtype = torch.float64, scale: float = 3.0):
    gen = torch.Generator().manual_seed(seed)
    logits = (torch.randn(b, c, generator=gen, dtype=torch.float64) * scale).to(DEVICE, dtype).requires_grad_(True)
    labels = torch.randint(0, c, (b,), generator=gen).to(DEVICE)
    features = torch.randn(b, 8, generator=gen, dtype=torch.float64).to(DEVICE, dtype).requires_grad_(True)
    return logits, features, labels


@pytest.mark.parametrize("epsilon", [0.0, 0.1, 0.5, 0.9])
@pytest.mark.parametrize("seed", [0, 1])
def test_label_smoothing_matches_the_bruteforce_loop(epsilon: float, seed: int) -> None:
    logits, _, labels = _batch(seed)
    value = label_smoothing_loss(logits, labels, epsilon)
    assert value.item() == pytest.approx(brute_label_smoothing(logits, labels.tolist(), epsilon), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("q", [1e-3, 0.3, 0.7, 1.0])
@pytest.mark.parametrize("seed", [0, 1])
def test_gce_matches_the_bruteforce_loop(q: float, seed: int) -> None:
    logits, _, labels = _batch(seed)
    assert gce_loss(logits, labels, q).item() == pytest.approx(brute_gce(logits, labels.tolist(), q), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("alpha, beta", [(0.1, 1.0), (1.0, 0.0), (0.0, 1.0), (6.0, 0.1)])
@pytest.mark.parametrize("scale", [1.0, 40.0])  # 40: some p_k underflow below the 1e-7 clamp
def test_sce_matches_the_bruteforce_loop_including_the_clamps(alpha: float, beta: float, scale: float) -> None:
    logits, _, labels = _batch(3, scale=scale)
    expected = brute_sce(logits, labels.tolist(), alpha, beta)
    assert sce_loss(logits, labels, alpha, beta).item() == pytest.approx(expected, rel=1e-10, abs=1e-12)


def test_gce_approaches_cross_entropy_as_q_goes_to_zero_and_is_mae_at_one() -> None:
    logits, _, labels = _batch(4)
    ce = torch.nn.functional.cross_entropy(logits, labels)
    assert gce_loss(logits, labels, 1e-7).item() == pytest.approx(ce.item(), rel=1e-5)
    p_y = torch.softmax(logits, 1).gather(1, labels[:, None]).squeeze(1)
    assert gce_loss(logits, labels, 1.0).item() == pytest.approx((1 - p_y).mean().item(), rel=1e-12)


def test_gce_is_finite_with_finite_gradients_when_the_label_is_hopeless() -> None:
    logits = torch.tensor([[200.0, -200.0], [0.0, 0.0]], requires_grad=True)
    labels = torch.tensor([1, 0])
    value = gce_loss(logits, labels, 0.7)
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(logits.grad).all()


@pytest.mark.parametrize("lam", [0.0, 0.3, 1.0])
@pytest.mark.parametrize("combined, single, params", [(gce_scl_loss, gce_loss, {"q": 0.5}), (sce_scl_loss, sce_loss, {"alpha": 0.2, "beta": 2.0})])
def test_scl_combinations_are_convex_mixes(lam: float, combined, single, params) -> None:
    logits, features, labels = _batch(5)
    value = combined(logits, features, labels, lam=lam, temperature=0.3, **params)
    expected = (1 - lam) * single(logits, labels, **params) + lam * scl_loss(features, labels, 0.3)
    if lam == 0:
        assert torch.equal(value, single(logits, labels, **params))  # exactly, as ce-scl at λ = 0 is CE
    assert value.item() == pytest.approx(expected.item(), rel=1e-12)


@pytest.mark.parametrize("name", ["ls", "gce", "sce", "gce-scl", "sce-scl"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gradients_flow_to_logits_and_to_features_when_scl_is_on(name: str, dtype: torch.dtype) -> None:
    method = get_method(name)
    params = method.resolve()
    logits, features, labels = _batch(6, dtype=dtype)
    value = method.compute_loss(logits, features, labels, params)
    value.backward()
    assert value.dtype == dtype and value.dim() == 0
    assert logits.grad is not None and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    if method.uses_features(params):
        assert features.grad is not None and features.grad.abs().sum() > 0
    else:
        assert features.grad is None


@pytest.mark.parametrize("loss, kwargs", [(gce_loss, {"q": 1.0}), (sce_loss, {"alpha": 0.1, "beta": 1.0}), (label_smoothing_loss, {"epsilon": 0.1})])
def test_gradients_agree_with_finite_differences_in_float64(loss, kwargs) -> None:
    logits, _, labels = _batch(7, b=5, c=3, scale=1.0)
    assert torch.autograd.gradcheck(lambda x: loss(x, labels, **kwargs), (logits,))


@pytest.mark.parametrize(
    "call",
    [
        lambda x, y: label_smoothing_loss(x, y, 1.0),
        lambda x, y: label_smoothing_loss(x, y, -0.1),
        lambda x, y: gce_loss(x, y, 0.0),
        lambda x, y: gce_loss(x, y, 1.5),
        lambda x, y: sce_loss(x, y, -1.0, 1.0),
        lambda x, y: gce_scl_loss(x, x, y, lam=1.5),
        lambda x, y: sce_scl_loss(x, x, y, temperature=0.0),
    ],
)
def test_losses_reject_out_of_range_arguments(call) -> None:
    logits, _, labels = _batch(8)
    with pytest.raises(ValueError):
        call(logits, labels)


DEFAULTS = {
    "ls": {"epsilon": 0.1},
    "gce": {"q": 0.7},
    "sce": {"alpha": 0.1, "beta": 1.0},
    "gce-scl": {"q": 0.7, "lam": 0.9, "tau": 0.3},
    "sce-scl": {"alpha": 0.1, "beta": 1.0, "lam": 0.9, "tau": 0.3},
}


@pytest.mark.parametrize("name, defaults", DEFAULTS.items())
def test_each_method_resolves_its_defaults(name: str, defaults: dict) -> None:
    assert get_method(name).resolve() == defaults


@pytest.mark.parametrize(
    "name, params",
    [
        ("ls", {"epsilon": 1.0}), ("ls", {"epsilon": -0.01}),
        ("gce", {"q": 0.0}), ("gce", {"q": 1.01}),
        ("sce", {"alpha": -0.1}), ("sce", {"beta": -1.0}),
        ("gce-scl", {"lam": 1.1}), ("gce-scl", {"tau": 0.0}), ("sce-scl", {"lam": -0.5}),
        ("gce", {"epsilon": 0.1}),  # another method's hyper-parameter
    ],
)
def test_each_method_rejects_out_of_range_or_foreign_values(name: str, params: dict) -> None:
    with pytest.raises(ConfigError):
        get_method(name).resolve(params)


@pytest.mark.parametrize("name, single", [("gce-scl", "gce"), ("sce-scl", "sce")])
def test_an_scl_combination_at_lambda_zero_needs_no_features_and_equals_its_base_method(name: str, single: str) -> None:
    combined, base = get_method(name), get_method(single)
    params = combined.resolve({"lam": 0.0})
    assert not combined.uses_features(params)
    logits, _, labels = _batch(9)
    base_params = {k: v for k, v in params.items() if k not in ("lam", "tau")}
    assert torch.equal(combined.compute_loss(logits, None, labels, params), base.compute_loss(logits, None, labels, base_params))


def _train(model, glue_dir, method: str, params: dict | None = None) -> dict:
    from noisebench.schema import RunConfig
    from noisebench.train.run import run_training

    config = RunConfig(task="sst2", model=str(model), n_train=32, epochs=1, batch_size=8, lr=1e-3, max_length=16, method=method, method_params=params or {})
    metrics = run_training(config, data_dir=glue_dir, progress=False).metrics
    return {k: v for k, v in metrics.items() if not k.endswith("_time_s")}


@pytest.mark.parametrize("name", ["ls", "gce", "sce", "gce-scl", "sce-scl"])
def test_each_robust_method_trains_a_tiny_model(name: str, tiny_model_dir, glue_dir) -> None:
    metrics = _train(tiny_model_dir, glue_dir, name)
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert all(math.isfinite(h["train_loss"]) for h in metrics["history"])


def test_gce_scl_at_lambda_zero_trains_exactly_like_gce(tiny_model_dir, glue_dir) -> None:
    gce = _train(tiny_model_dir, glue_dir, "gce", {"q": 0.5})
    combined = _train(tiny_model_dir, glue_dir, "gce-scl", {"q": 0.5, "lam": 0.0})
    assert combined == gce

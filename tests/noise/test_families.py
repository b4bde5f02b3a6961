"""Tests for the noise families: tempered softmax, seeded categorical draws, temperature and uniform noise,
their exact expected rates, and the family registry."""

from __future__ import annotations

import numpy as np
import pytest

from noisebench.errors import ConfigError
from noisebench.noise.families import FAMILIES, NoiseInputs, draw_labels, get_family, is_clean
from noisebench.noise.families.temperature import TemperatureFamily, tempered_probs
from noisebench.noise.families.uniform import UniformFamily


def temperature_noise(logits: np.ndarray, temperature: float, noise_seed: int) -> np.ndarray:
    inputs = NoiseInputs(np.zeros(len(logits), dtype=np.int64), logits.shape[1], np.asarray(logits, dtype=float))
    return TemperatureFamily().draw(inputs, temperature, noise_seed)


def uniform_noise(clean: np.ndarray, rate: float, num_labels: int, noise_seed: int) -> np.ndarray:
    return UniformFamily().draw(NoiseInputs(clean, num_labels), rate, noise_seed)


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def test_families_registry_lists_the_built_in_families() -> None:
    assert {"temperature", "uniform"} <= set(FAMILIES.names())
    assert isinstance(get_family("temperature"), TemperatureFamily)
    assert get_family("uniform").parameter.name == "rate"


def test_an_unknown_family_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown noise family 'gaussian'; known: .*temperature"):
        get_family("gaussian")


def test_clean_is_none_or_missing_and_not_a_family() -> None:
    assert is_clean("none") and is_clean(None) and is_clean(float("nan"))
    assert not is_clean("temperature") and "none" not in FAMILIES


def test_temperature_expected_rate_is_the_mean_probability_of_leaving_the_clean_label() -> None:
    rng = np.random.default_rng(12)
    logits, clean = rng.normal(size=(400, 3)) * 2, rng.integers(0, 3, size=400)
    inputs = NoiseInputs(clean, 3, logits)
    for temperature in (0.2, 1.0, 4.0):
        probs = _softmax(logits / temperature)
        by_hand = sum(1 - probs[i, clean[i]] for i in range(len(clean))) / len(clean)
        assert TemperatureFamily().expected_rate(inputs, temperature) == pytest.approx(by_hand, rel=1e-12)


@pytest.mark.parametrize("family, level", [(TemperatureFamily(), 0.7), (UniformFamily(), 0.3)])
def test_realised_rate_of_a_large_draw_matches_the_expected_rate(family, level) -> None:
    rng = np.random.default_rng(13)
    n = 200_000
    clean = rng.integers(0, 3, size=n)
    inputs = NoiseInputs(clean, 3, rng.normal(size=(n, 3)))
    noisy = family.draw(inputs, level, noise_seed=2)
    expected = family.expected_rate(inputs, level)
    assert abs((noisy != clean).mean() - expected) < 4 * np.sqrt(expected * (1 - expected) / n)


def test_uniform_expected_rate_is_the_rate() -> None:
    clean = np.random.default_rng(0).integers(0, 4, size=100)
    assert UniformFamily().expected_rate(NoiseInputs(clean, 4), 0.35) == pytest.approx(0.35)


@pytest.mark.parametrize("temperature", [0.1, 1.0, 3.7])
def test_tempered_probs_equals_softmax_of_logits_over_temperature(temperature: float) -> None:
    logits = np.random.default_rng(0).normal(size=(50, 4)) * 3
    expected = _softmax(logits / temperature)
    np.testing.assert_allclose(tempered_probs(logits, temperature), expected, rtol=1e-12, atol=1e-15)


def test_tempered_probs_accepts_minus_infinity_for_unseen_classes() -> None:
    logits = np.array([[np.log(0.25), np.log(0.75), -np.inf]])
    np.testing.assert_allclose(tempered_probs(logits, 1.0), [[0.25, 0.75, 0.0]])


@pytest.mark.parametrize("temperature", [0.0, -1.0, float("nan")])
def test_non_positive_temperature_is_a_config_error(temperature: float) -> None:
    with pytest.raises(ConfigError, match="temperature"):
        tempered_probs(np.zeros((2, 2)), temperature)


def test_draw_label_frequencies_match_the_probabilities() -> None:
    n = 200_000
    probs_a, probs_b = np.array([0.2, 0.5, 0.3]), np.array([0.05, 0.05, 0.9])
    probs = np.vstack([np.tile(probs_a, (n // 2, 1)), np.tile(probs_b, (n // 2, 1))])
    labels = draw_labels(probs, np.random.default_rng(11))
    assert labels.dtype == np.int64 and set(np.unique(labels)) <= {0, 1, 2}
    np.testing.assert_allclose(np.bincount(labels[: n // 2], minlength=3) / (n // 2), probs_a, atol=0.01)
    np.testing.assert_allclose(np.bincount(labels[n // 2 :], minlength=3) / (n // 2), probs_b, atol=0.01)


def test_draw_labels_never_picks_a_zero_probability_class() -> None:
    probs = np.tile([0.0, 0.4, 0.0, 0.6, 0.0], (20_000, 1))
    labels = draw_labels(probs, np.random.default_rng(2))
    assert set(np.unique(labels)) == {1, 3}


def test_draws_for_a_prefix_do_not_depend_on_the_total_count() -> None:
    probs = _softmax(np.random.default_rng(1).normal(size=(1000, 3)))
    full = draw_labels(probs, np.random.default_rng(5))
    for k in (1, 20, 100, 999):
        np.testing.assert_array_equal(draw_labels(probs[:k], np.random.default_rng(5)), full[:k])


def test_same_seed_gives_identical_labels_and_another_seed_differs() -> None:
    logits = np.random.default_rng(3).normal(size=(500, 2))
    a = temperature_noise(logits, 1.0, noise_seed=8)
    b = temperature_noise(logits, 1.0, noise_seed=8)
    c = temperature_noise(logits, 1.0, noise_seed=9)
    np.testing.assert_array_equal(a, b)
    assert (a != c).sum() > 50


def test_temperature_noise_matches_the_inverse_cdf_rule() -> None:
    logits = np.random.default_rng(4).normal(size=(300, 3))
    temperature, seed = 0.7, 21
    uniforms = np.random.default_rng(seed).random(len(logits))
    cdf = np.cumsum(_softmax(logits / temperature), axis=1)
    expected = np.array([int(np.searchsorted(row, u, side="right")) for row, u in zip(cdf, uniforms)])
    expected = np.minimum(expected, 2)
    np.testing.assert_array_equal(temperature_noise(logits, temperature, seed), expected)


def test_low_temperature_noise_equals_the_argmax_of_the_logits() -> None:
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(2000, 3))
    # keep rows whose top two logits differ by at least 0.05, so T=1e-3 makes the draw certain
    top2 = np.sort(logits, axis=1)[:, -2:]
    logits = logits[(top2[:, 1] - top2[:, 0]) > 0.05]
    np.testing.assert_array_equal(temperature_noise(logits, 1e-3, noise_seed=0), logits.argmax(axis=1))


def test_high_temperature_noise_is_nearly_uniform() -> None:
    logits = np.tile([5.0, 0.0, -5.0], (60_000, 1))
    labels = temperature_noise(logits, 1e4, noise_seed=1)
    np.testing.assert_allclose(np.bincount(labels, minlength=3) / len(labels), [1 / 3] * 3, atol=0.01)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.35, 0.8])
def test_uniform_noise_realised_rate_is_close_to_the_rate(rate: float) -> None:
    clean = np.random.default_rng(0).integers(0, 4, size=100_000)
    noisy = uniform_noise(clean, rate, num_labels=4, noise_seed=3)
    assert abs((noisy != clean).mean() - rate) < 0.01
    if rate == 0.0:
        np.testing.assert_array_equal(noisy, clean)


def test_uniform_noise_at_rate_one_always_moves_to_another_class_uniformly() -> None:
    clean = np.random.default_rng(0).integers(0, 3, size=90_000)
    noisy = uniform_noise(clean, 1.0, num_labels=3, noise_seed=4)
    assert (noisy != clean).all()
    for c in range(3):
        targets = noisy[clean == c]
        shares = np.bincount(targets, minlength=3) / len(targets)
        others = [k for k in range(3) if k != c]
        np.testing.assert_allclose(shares[others], [0.5, 0.5], atol=0.015)


@pytest.mark.parametrize("rate", [-0.1, 1.01])
def test_uniform_noise_rate_outside_unit_interval_is_a_config_error(rate: float) -> None:
    with pytest.raises(ConfigError, match="rate"):
        uniform_noise(np.array([0, 1]), rate, num_labels=2, noise_seed=0)

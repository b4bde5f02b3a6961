"""Noise with K = 3..20 classes: each family's distribution, exact expected rate and target-rate calibration
against references computed another way (loops, many seeded draws, brute-force counts), and noise.json's
K×K transition matrix with the class names."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from noisebench.errors import ConfigError
from noisebench.noise.artifact import read_artifact
from noisebench.noise.calibrate import RATE_TOLERANCE, reachable_rates, solve_level
from noisebench.noise.families import FAMILIES, NoiseInputs, get_family
from noisebench.noise.families.matrix import MatrixFamily, register_matrix_file
from noisebench.noise.generate import NoiseSpec, generate
from tests.multiclass import THREE_CLASSES, registered, toy_task

KS = (3, 20)
DRAWS = 200
"""Seeded draws averaged where a realised quantity is compared with its exact expectation."""


def _clean(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, size=n)


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def _realised_rates(family, inputs: NoiseInputs, level: float) -> np.ndarray:
    """The realised rate of each of DRAWS seeded draws."""
    return np.array([np.mean(family.draw(inputs, level, seed) != inputs.clean) for seed in range(DRAWS)])


def _assert_mean_of_draws_is(rates: np.ndarray, expected: float, n: int) -> None:
    """The mean realised rate is within 4 standard errors of ``expected`` (per-example Bernoulli variance bound)."""
    standard_error = math.sqrt(max(expected * (1 - expected), 1e-12) / (n * len(rates)))
    assert abs(rates.mean() - expected) < 4 * standard_error + 1e-12


def _crosstab(clean: np.ndarray, noisy: np.ndarray, k: int) -> np.ndarray:
    """Transition counts by a plain loop (rows clean, columns noisy)."""
    counts = np.zeros((k, k), dtype=np.int64)
    for c, y in zip(clean.tolist(), noisy.tolist()):
        counts[c, y] += 1
    return counts


# uniform: a corrupted label goes to each of the other K - 1 classes with probability r / (K - 1)


@pytest.mark.parametrize("k", KS)
def test_uniform_moves_a_corrupted_label_to_each_other_class_with_equal_probability(k: int) -> None:
    clean, rate = _clean(300, k), 0.4
    expected = [[1 - rate if j == c else rate / (k - 1) for j in range(k)] for c in clean]
    np.testing.assert_allclose(get_family("uniform").probabilities(NoiseInputs(clean, k), rate), expected, atol=1e-15)


@pytest.mark.parametrize("k", KS)
def test_uniform_draws_spread_corrupted_labels_evenly_over_the_other_classes(k: int) -> None:
    family, clean = get_family("uniform"), _clean(4000, k, seed=1)
    noisy = family.draw(NoiseInputs(clean, k), 0.5, noise_seed=7)
    counts = _crosstab(clean, noisy, k)
    off_diagonal = counts[~np.eye(k, dtype=bool)]  # every (clean, other class) pair, expected equally often
    assert stats.chisquare(off_diagonal).pvalue > 1e-3


@pytest.mark.parametrize(("k", "target"), [(3, 0.2), (3, 0.9), (20, 0.3), (20, 0.97)])
def test_uniform_calibration_is_exact_up_to_every_label_moving(k: int, target: float) -> None:
    """Any rate in [0, 1] is reachable: the family's rate is the share of labels that move, not (K-1)/K of it."""
    family, inputs = get_family("uniform"), NoiseInputs(_clean(500, k, seed=2), k)
    level = solve_level(family, inputs, target)
    assert family.expected_rate(inputs, level) == pytest.approx(target, abs=1e-12)
    assert reachable_rates(family, inputs) == pytest.approx((0.0, 1.0))
    _assert_mean_of_draws_is(_realised_rates(family, inputs, level), target, len(inputs.clean))


def test_a_target_rate_outside_zero_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"target_rate must be in \[0, 1\]"):
        solve_level(get_family("uniform"), NoiseInputs(_clean(10, 3), 3), 1.2)


# pair: class c flips to (c + 1) mod K (Han et al. 2018, pair flipping)


@pytest.mark.parametrize("k", KS)
def test_pair_flips_each_class_only_to_the_next_one_mod_k(k: int) -> None:
    family, clean, rate = get_family("pair"), _clean(3000, k, seed=3), 0.35
    inputs = NoiseInputs(clean, k)
    noisy = family.draw(inputs, rate, noise_seed=5)
    counts = _crosstab(clean, noisy, k)
    allowed = np.zeros((k, k), dtype=bool)
    for c in range(k):
        allowed[c, c] = allowed[c, (c + 1) % k] = True
    assert counts[~allowed].sum() == 0
    assert family.expected_rate(inputs, rate) == pytest.approx(rate, abs=1e-12)
    assert solve_level(family, inputs, 0.2) == pytest.approx(0.2, abs=1e-12)
    _assert_mean_of_draws_is(_realised_rates(family, inputs, rate), rate, len(clean))


# temperature: softmax(weak log-probabilities / T) over the K classes


def _temperature_inputs(k: int, n: int = 400, seed: int = 4) -> NoiseInputs:
    """Weak log-probabilities that favour the clean class: the T -> 0 rate (argmax error) is 7-13%."""
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, k, size=n)
    logits = rng.normal(size=(n, k)) * 1.5
    logits[np.arange(n), clean] += 2.0 + math.log(k)
    return NoiseInputs(clean, k, _log_softmax(logits))


def _loop_expected_rate(inputs: NoiseInputs, temperature: float) -> float:
    """Mean over examples of 1 - softmax(log_probs / T)[clean], one example and one class at a time."""
    total = 0.0
    for row, c in zip(inputs.weak_log_probs.tolist(), inputs.clean.tolist()):
        top = max(row)
        weights = [math.exp((v - top) / temperature) for v in row]
        total += 1.0 - weights[c] / sum(weights)
    return total / len(inputs.clean)


@pytest.mark.parametrize("k", KS)
def test_temperature_expected_rate_matches_a_loop_and_the_draws(k: int) -> None:
    family, inputs = get_family("temperature"), _temperature_inputs(k)
    for temperature in (0.3, 1.0, 4.0):
        expected = _loop_expected_rate(inputs, temperature)
        assert family.expected_rate(inputs, temperature) == pytest.approx(expected, abs=1e-12)
    _assert_mean_of_draws_is(_realised_rates(family, inputs, 1.0), _loop_expected_rate(inputs, 1.0), len(inputs.clean))


@pytest.mark.parametrize(("k", "target"), [(3, 0.25), (3, 0.6), (20, 0.3), (20, 0.9)])
def test_temperature_calibration_hits_the_target_rate(k: int, target: float) -> None:
    family, inputs = get_family("temperature"), _temperature_inputs(k)
    level = solve_level(family, inputs, target)
    assert abs(_loop_expected_rate(inputs, level) - target) <= RATE_TOLERANCE
    _assert_mean_of_draws_is(_realised_rates(family, inputs, level), target, len(inputs.clean))


@pytest.mark.parametrize("k", KS)
def test_temperature_reach_ends_near_k_minus_one_over_k_and_the_error_names_it(k: int) -> None:
    """T -> inf makes the noisy label uniform over the K classes: an expected rate of (K-1)/K, no more."""
    family, inputs = get_family("temperature"), _temperature_inputs(k)
    low_t, high_t = family.search_range
    low, high = _loop_expected_rate(inputs, low_t), _loop_expected_rate(inputs, high_t)
    assert reachable_rates(family, inputs) == pytest.approx((low, high), abs=1e-12)
    assert (k - 1) / k - 1e-3 < high < (k - 1) / k
    beyond = (k - 1) / k + 0.01
    with pytest.raises(ConfigError) as error:
        solve_level(family, inputs, beyond)
    message = str(error.value)
    assert "\n" not in message
    assert f"spans [{low:.4f}, {high:.4f}] for temperature in [{low_t:g}, {high_t:g}]" in message


# matrix: a K×K file must match the task's K


def _matrix_family(k: int, name: str = "matrix-shift") -> MatrixFamily:
    """0.7 stays, 0.3 moves to the class two ahead: a K×K matrix that no other family draws."""
    matrix = 0.7 * np.eye(k) + 0.3 * np.roll(np.eye(k), 2, axis=1)
    return MatrixFamily(matrix, name=name)


def test_a_k_by_k_matrix_draws_its_rows_and_hits_a_target_rate() -> None:
    k = 20
    family, inputs = _matrix_family(k), NoiseInputs(_clean(3000, k, seed=6), k)
    level = solve_level(family, inputs, 0.15)
    assert family.expected_rate(inputs, level) == pytest.approx(0.15, abs=1e-12)
    counts = _crosstab(inputs.clean, family.draw(inputs, level, noise_seed=1), k)
    assert all(counts[c, j] == 0 for c in range(k) for j in range(k) if j not in (c, (c + 2) % k))


@pytest.fixture()
def scratch_registry(monkeypatch):
    """Families registered in a test disappear after it."""
    monkeypatch.setattr(FAMILIES, "_entries", dict(FAMILIES._entries))


def test_a_matrix_of_the_wrong_size_fails_before_any_relabelling_or_writing(tmp_path: Path, monkeypatch) -> None:
    task, out, relabelled = toy_task(), tmp_path / "noise", []
    monkeypatch.setattr(FAMILIES, "_entries", {**FAMILIES._entries, "m4": _matrix_family(4, "m4")})
    monkeypatch.setattr("noisebench.noise.generate.relabel", lambda task, spec: relabelled.append(spec))
    for spec in (NoiseSpec("m4", 0.5), NoiseSpec("m4", 0.1, noise_param="target_rate")):
        with pytest.raises(ConfigError, match="^noise family m4: its matrix has 4 classes but the task has 3$"):
            generate(task, [NoiseSpec("temperature", 0.5), spec], [out / "T0.5", out / "bad"], progress=False)
    assert relabelled == [] and not out.exists()
    with pytest.raises(ConfigError, match="its matrix has 4 classes but the task has 3"):  # and when drawn directly
        _matrix_family(4).draw(NoiseInputs(_clean(10, 3), 3), 0.5, noise_seed=0)


def test_the_cli_reports_a_wrong_size_matrix_in_one_line_and_writes_nothing(tmp_path: Path, scratch_registry) -> None:
    from noisebench.cli import main

    task = toy_task()
    (tmp_path / "m4.json").write_text(json.dumps((0.5 * np.eye(4) + 0.5 * np.roll(np.eye(4), 1, axis=1)).tolist()))
    register_matrix_file(tmp_path / "m4.json")
    with registered(task):
        result = CliRunner().invoke(main, ["generate", "--task", task.name, "--family", "matrix-m4", "--target-rate", "0.1",
                                           "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["error: noise family matrix-m4: its matrix has 4 classes but the task has 3"]
    assert not (tmp_path / "out").exists()


# noise.json with K labels


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> dict[str, Path]:
    """One artifact per family on the 3-class toy task: temperature at a target rate, uniform, pair, a 3×3 matrix."""
    task, root = toy_task(), tmp_path_factory.mktemp("noise")
    specs = {
        "temperature": NoiseSpec("temperature", 0.3, noise_param="target_rate", noise_seed=1),
        "uniform": NoiseSpec("uniform", 0.3, noise_seed=2),
        "pair": NoiseSpec("pair", 0.3, noise_seed=3),
    }
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FAMILIES, "_entries", {**FAMILIES._entries, "matrix-shift": _matrix_family(3)})
        specs["matrix-shift"] = NoiseSpec("matrix-shift", 1.0, noise_seed=4)
        out = {name: root / name for name in specs}
        generate(task, list(specs.values()), list(out.values()), progress=False)
    return out


@pytest.mark.parametrize("family", ["temperature", "uniform", "pair", "matrix-shift"])
def test_noise_json_holds_the_k_by_k_counts_and_per_class_rates_under_the_class_names(artifacts, family: str) -> None:
    artifact = read_artifact(artifacts[family])
    labels, meta = artifact.labels, artifact.meta
    clean, noisy = labels["label_clean"].to_numpy(), labels["label_noisy"].to_numpy()
    matrix = meta["transition_matrix"]
    assert matrix["labels"] == list(THREE_CLASSES) and matrix["orientation"] == "rows=clean, cols=noisy"
    assert matrix["counts"] == _crosstab(clean, noisy, 3).tolist()
    for k, name in enumerate(THREE_CLASSES):
        of_class = [y != k for c, y in zip(clean, noisy) if c == k]
        assert meta["per_class_noise_rate"][name] == pytest.approx(sum(of_class) / len(of_class))
    assert meta["realized_noise_rate"] == pytest.approx(np.mean(clean != noisy))
    assert set(np.unique(clean)) == {0, 1, 2}


def test_each_family_leaves_its_own_pattern_in_the_three_by_three_counts(artifacts) -> None:
    counts = {name: np.array(read_artifact(path).meta["transition_matrix"]["counts"]) for name, path in artifacts.items()}
    next_class, two_ahead = np.roll(np.eye(3, dtype=bool), 1, axis=1), np.roll(np.eye(3, dtype=bool), 2, axis=1)
    assert counts["pair"][two_ahead].sum() == 0 and counts["pair"][next_class].sum() > 0
    assert counts["matrix-shift"][next_class].sum() == 0 and counts["matrix-shift"][two_ahead].sum() > 0
    assert counts["uniform"][next_class].sum() > 0 and counts["uniform"][two_ahead].sum() > 0


def test_a_target_rate_on_three_classes_is_met_in_expectation(artifacts) -> None:
    meta = read_artifact(artifacts["temperature"]).meta
    assert meta["target_rate"] == 0.3
    assert abs(meta["expected_noise_rate"] - 0.3) <= RATE_TOLERANCE
    assert meta["weak_model"]["kind"] == "tfidf-logreg"


def test_a_three_class_artifact_refuses_a_fourth_class(artifacts, tmp_path: Path) -> None:
    from noisebench.errors import ArtifactError
    from noisebench.noise.artifact import write_artifact

    artifact = read_artifact(artifacts["uniform"])
    labels = artifact.labels.copy()
    labels.loc[0, ["label_noisy", "is_corrupted"]] = [3, labels.loc[0, "label_clean"] != 3]
    meta = {k: v for k, v in artifact.meta.items() if k not in ("labels_sha256", "realized_noise_rate")}
    write_artifact(tmp_path / "a", pd.DataFrame(labels), meta)
    with pytest.raises(ArtifactError, match=r"label_noisy value 3 is not a class of this artifact \(expected 0..2 \(negative, mixed, positive\)\)"):
        read_artifact(tmp_path / "a")

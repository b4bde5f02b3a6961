"""Tests for the pair and matrix noise families: their distributions against hand-built ones, exact
expected rates, closed-form target rates, prefix-stable draws and their input validation (the annotator
family's tests are in test_annotator.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from noisebench.errors import ConfigError
from noisebench.noise.calibrate import solve_level
from noisebench.noise.families import FAMILIES, NoiseInputs, get_family
from noisebench.noise.families.matrix import MatrixFamily, check_transition_matrix, load_transition_matrix, register_matrix_file
from noisebench.noise.families.pair import PairFamily
from noisebench.noise.families.uniform import UniformFamily

FLIP = [[0.6, 0.4, 0.0], [0.1, 0.9, 0.0], [0.0, 0.0, 1.0]]


def _clean(n: int, k: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, k, size=n)


@pytest.fixture()
def scratch_registry(monkeypatch):
    """Families registered in a test disappear after it."""
    monkeypatch.setattr(FAMILIES, "_entries", dict(FAMILIES._entries))


# pair


def test_pair_is_registered_with_a_rate_in_zero_one() -> None:
    family = get_family("pair")
    assert isinstance(family, PairFamily) and family.parameter.name == "rate"
    assert not family.needs_weak_model and family.parameter.bounds_text() == "[0, 1]"


def test_pair_moves_each_class_to_the_next_one_with_probability_r() -> None:
    clean = np.array([0, 1, 2, 2])
    expected = np.array([[0.7, 0.3, 0.0], [0.0, 0.7, 0.3], [0.3, 0.0, 0.7], [0.3, 0.0, 0.7]])
    np.testing.assert_allclose(PairFamily().probabilities(NoiseInputs(clean, 3), 0.3), expected, atol=1e-15)


def test_pair_on_two_classes_is_uniform_noise() -> None:
    inputs = NoiseInputs(_clean(50, 2), 2)
    np.testing.assert_allclose(PairFamily().probabilities(inputs, 0.25), UniformFamily().probabilities(inputs, 0.25))


def test_pair_expected_rate_is_r_and_a_target_rate_is_solved_in_closed_form() -> None:
    inputs = NoiseInputs(_clean(1000, 4), 4)
    assert PairFamily().expected_rate(inputs, 0.35) == pytest.approx(0.35, abs=1e-15)
    assert solve_level(PairFamily(), inputs, 0.2) == 0.2


def test_pair_draw_realises_r_flips_only_to_the_next_class_and_is_prefix_stable() -> None:
    clean = _clean(100_000, 5, seed=1)
    noisy = PairFamily().draw(NoiseInputs(clean, 5), 0.2, noise_seed=3)
    flipped = noisy != clean
    assert flipped.mean() == pytest.approx(0.2, abs=0.005)
    assert (noisy[flipped] == (clean[flipped] + 1) % 5).all()
    prefix = PairFamily().draw(NoiseInputs(clean[:500], 5), 0.2, noise_seed=3)
    assert np.array_equal(prefix, noisy[:500])


# matrix


def _write(tmp_path: Path, name: str, content: str) -> Path:
    path = tmp_path / name
    path.write_text(content)
    return path


@pytest.mark.parametrize(
    "name, content",
    [
        ("m.json", json.dumps(FLIP)),
        ("m.json", json.dumps({"matrix": FLIP, "note": "class 0 is taken for 1"})),
        ("m.yaml", "matrix:\n" + "".join(f"  - {row}\n" for row in FLIP)),
        ("m.yml", "".join(f"- {row}\n" for row in FLIP)),
    ],
)
def test_a_matrix_loads_from_json_or_yaml_as_rows_or_under_a_matrix_key(tmp_path: Path, name: str, content: str) -> None:
    np.testing.assert_array_equal(load_transition_matrix(_write(tmp_path, name, content)), np.array(FLIP))


@pytest.mark.parametrize(
    "rows, message",
    [
        ([[0.5, 0.5], [0.2, 0.8], [1.0, 0.0]], "square"),
        ([[0.5, 0.5, 0.0], [0.2, 0.8]], "square"),
        ([[0.5, 0.4], [0.2, 0.8]], r"row 0 \(clean class 0\) sums to 0.9, not 1"),
        ([[1.0 + 2e-6, -2e-6], [0.0, 1.0]], ">= 0"),
        ([[1.0, 0.0], [0.0, 1.0 + 5e-6]], "row 1 .* sums to"),
        ([[1.0, 0.0], [0.0, "x"]], "number"),
        ([[1.0, 0.0], [0.0, True]], "number"),
        ([[float("nan"), 1.0], [0.0, 1.0]], "finite"),
        ([[1.0]], "at least 2 classes"),
        ({"rows": [[1, 0], [0, 1]]}, "list of rows"),
        ([], "list of rows"),
        ([1.0, 0.0], "list of rows"),
    ],
)
def test_a_malformed_matrix_is_a_one_line_config_error(rows: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        check_transition_matrix(rows, source="flip.json")
    assert "\n" not in str(raised.value) and str(raised.value).startswith("flip.json: ")


def test_a_row_summing_to_one_within_the_tolerance_is_accepted() -> None:
    check_transition_matrix([[1.0 - 5e-7, 5e-7 + 5e-7], [0.0, 1.0]])


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("m.json", "[[1, 0], [0, 1]", "not valid JSON"),
        ("m.yaml", "matrix: [[1, 0], [0, 1]\n", "not valid YAML"),
        ("m.txt", "[[1, 0], [0, 1]]", r"\.json, \.yaml or \.yml"),
        ("m.yaml", "matrix:\n  - [0.5, 0.6]\n  - [0, 1]\n", "sums to 1.1"),
    ],
)
def test_a_bad_matrix_file_is_a_one_line_config_error_naming_the_file(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = _write(tmp_path, name, content)
    with pytest.raises(ConfigError, match=message) as raised:
        load_transition_matrix(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_a_missing_matrix_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_transition_matrix(tmp_path / "nope.json")


def test_matrix_mixes_the_identity_and_the_file_with_weight_w() -> None:
    family = MatrixFamily(np.array(FLIP), name="matrix-flip")
    clean = np.array([0, 1, 2, 0])
    inputs = NoiseInputs(clean, 3)
    np.testing.assert_allclose(family.probabilities(inputs, 1.0), np.array(FLIP)[clean])
    np.testing.assert_allclose(family.probabilities(inputs, 0.0), np.eye(3)[clean])
    by_hand = [[0.8, 0.2, 0.0], [0.05, 0.95, 0.0], [0.0, 0.0, 1.0], [0.8, 0.2, 0.0]]
    np.testing.assert_allclose(family.probabilities(inputs, 0.5), by_hand, atol=1e-15)


def test_matrix_expected_rate_is_exact_and_a_target_rate_is_hit_in_closed_form() -> None:
    family = MatrixFamily(np.array(FLIP), name="matrix-flip")
    clean = _clean(3000, 3, seed=5)
    inputs = NoiseInputs(clean, 3)
    by_hand = sum(0.7 * (1 - FLIP[y][y]) for y in clean) / len(clean)
    assert family.expected_rate(inputs, 0.7) == pytest.approx(by_hand, rel=1e-12)
    level = solve_level(family, inputs, 0.1)
    assert family.expected_rate(inputs, level) == pytest.approx(0.1, abs=1e-12)
    assert solve_level(family, inputs, 0.0) == 0.0


def test_matrix_target_rate_beyond_the_files_matrix_is_a_config_error_naming_the_reach() -> None:
    family = MatrixFamily(np.array(FLIP), name="matrix-flip")
    inputs = NoiseInputs(np.array([0, 1, 2]), 3)  # full-weight rate (0.4 + 0.1 + 0) / 3 = 0.1667
    with pytest.raises(ConfigError, match=r"out of reach .* \[0, 0.1667\]"):
        solve_level(family, inputs, 0.2)
    identity = MatrixFamily(np.eye(2), name="matrix-identity")
    with pytest.raises(ConfigError, match="out of reach"):
        solve_level(identity, NoiseInputs(np.array([0, 1]), 2), 0.1)


def test_matrix_class_count_must_match_the_task() -> None:
    family = MatrixFamily(np.array(FLIP), name="matrix-flip")
    with pytest.raises(ConfigError, match="3 classes but the task has 2"):
        family.expected_rate(NoiseInputs(np.array([0, 1]), 2), 0.5)


def test_matrix_draw_realises_the_mixed_matrix_and_is_prefix_stable() -> None:
    family = MatrixFamily(np.array(FLIP), name="matrix-flip")
    clean = np.zeros(100_000, dtype=np.int64)
    noisy = family.draw(NoiseInputs(clean, 3), 0.5, noise_seed=2)
    assert np.bincount(noisy, minlength=3) / len(noisy) == pytest.approx([0.8, 0.2, 0.0], abs=0.005)
    assert np.array_equal(family.draw(NoiseInputs(clean[:100], 3), 0.5, noise_seed=2), noisy[:100])


def test_a_matrix_file_is_registered_under_its_own_name(tmp_path: Path, scratch_registry) -> None:
    path = _write(tmp_path, "flip.yaml", "".join(f"- {row}\n" for row in FLIP))
    family = register_matrix_file(path)
    assert family.name == "matrix-flip" and get_family("matrix-flip") is family
    assert str(path) in family.description
    other = register_matrix_file(_write(tmp_path, "swap.json", "[[0, 1], [1, 0]]"), name="swap")
    assert get_family("swap") is other and get_family("matrix-flip") is family
    register_matrix_file(path)  # the same matrix again: fine
    (tmp_path / "elsewhere").mkdir()
    different = _write(tmp_path / "elsewhere", "flip.json", "[[0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]]")
    with pytest.raises(ValueError, match="already registered"):  # another matrix under a taken name
        register_matrix_file(different)


def test_a_plugin_module_brings_a_matrix_file_to_generate(tmp_path: Path) -> None:
    """The documented route: a one-line plugin registers the file; the CLI (a fresh process) then knows it."""
    import os
    import subprocess
    import sys

    import pandas as pd

    from tests.conftest import write_sst2

    _write(tmp_path, "swap.yaml", "matrix:\n  - [0.5, 0.5]\n  - [0.0, 1.0]\n")
    _write(tmp_path, "my_noise.py", "from pathlib import Path\nfrom noisebench.noise.families.matrix import register_matrix_file\n"
           "register_matrix_file(Path(__file__).parent / 'swap.yaml')\n")
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "NOISEBENCH_PLUGINS": "my_noise", "TQDM_DISABLE": "1", "PYTHONPATH": os.pathsep.join([str(tmp_path), str(repo)])}
    glue = write_sst2(tmp_path / "glue")
    args = ["generate", "--task", "sst2", "--data-dir", str(glue), "--family", "matrix-swap", "--weight", "1", "--target-rate", "0.1", "--out", str(tmp_path / "out")]
    result = subprocess.run([sys.executable, "-m", "noisebench", *args], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)
    assert result.returncode == 0, result.stderr
    labels = pd.read_parquet(tmp_path / "out" / "w1" / "labels.parquet")
    assert (labels.loc[labels["label_clean"] == 1, "label_noisy"] == 1).all()  # class 1 never moves
    zero = labels["label_clean"] == 0
    assert 0.3 < (labels.loc[zero, "label_noisy"] == 1).mean() < 0.7
    assert (tmp_path / "out" / "target0.1" / "labels.parquet").is_file()


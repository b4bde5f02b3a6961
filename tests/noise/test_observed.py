"""The observed family (a dataset's own noisy labels for a share s of the examples) and its same-T control."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.data.tables import OBSERVED_COLUMN
from noisebench.errors import ConfigError
from noisebench.noise.calibrate import solve_level
from noisebench.noise.families import get_family
from noisebench.noise.families.observed import ObservedInputs, observed_transition
from tests.conftest import run_cli
from tests.declared_files import OBSERVED_FLIPS, write_observed_csv
from tests.multiclass import THREE_CLASSES

OBSERVED, SAME_T = get_family("observed"), get_family("observed-same-t")


def inputs(n: int = 3000, k: int = 3, seed: int = 0) -> ObservedInputs:
    """Clean labels and observed ones that disagree class-dependently (class 0 often, class k-1 never)."""
    rng = np.random.default_rng(seed)
    clean = rng.integers(0, k, n)
    flip = rng.random(n) < np.linspace(0.4, 0.0, k)[clean]
    observed = np.where(flip, (clean + 1 + rng.integers(0, k - 1, n)) % k, clean)
    return ObservedInputs(clean, k, observed=observed)


def test_share_1_is_the_published_noisy_labels_and_share_0_the_clean_ones():
    x = inputs()
    assert np.array_equal(OBSERVED.draw(x, 1.0, noise_seed=3), x.observed)
    assert np.array_equal(OBSERVED.draw(x, 0.0, noise_seed=3), x.clean)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.37, 0.9, 1.0])
def test_the_expected_rate_is_the_share_times_the_disagreement(share):
    x = inputs()
    disagreement = np.mean(x.observed != x.clean)
    assert OBSERVED.expected_rate(x, share) == pytest.approx(share * disagreement, abs=1e-12)
    assert SAME_T.expected_rate(x, share) == pytest.approx(share * disagreement, abs=1e-12)  # the control at w = s


def test_the_draw_is_nested_in_the_share_and_prefix_stable():
    x = inputs()
    flipped = [OBSERVED.draw(x, s, noise_seed=5) != x.clean for s in (0.2, 0.5, 0.8)]
    assert all((small <= large).all() for small, large in zip(flipped, flipped[1:]))  # a smaller share flips a subset
    head = ObservedInputs(x.clean[:500], 3, observed=x.observed[:500])
    assert np.array_equal(OBSERVED.draw(head, 0.5, noise_seed=5), OBSERVED.draw(x, 0.5, noise_seed=5)[:500])
    drawn = OBSERVED.draw(x, 0.6, noise_seed=1)
    assert np.isin(drawn, [x.clean, x.observed]).all() and ((drawn == x.clean) | (drawn == x.observed)).all()


def test_a_target_rate_is_solved_in_closed_form_up_to_the_datasets_own_rate():
    x = inputs()
    disagreement = float(np.mean(x.observed != x.clean))
    for family in (OBSERVED, SAME_T):
        level = solve_level(family, x, 0.05)
        assert level == pytest.approx(0.05 / disagreement) and family.expected_rate(x, level) == pytest.approx(0.05)
        with pytest.raises(ConfigError, match=rf"out of reach .* spans \[0, {disagreement:.4f}\]"):
            solve_level(family, x, disagreement + 0.01)


def test_the_same_t_control_has_the_estimated_transition_matrix_and_the_same_expected_counts():
    x = inputs(n=6000)
    t = observed_transition(x.clean, x.observed, 3)
    counts = np.zeros((3, 3))
    np.add.at(counts, (x.clean, x.observed), 1)
    assert np.allclose(t, counts / counts.sum(axis=1, keepdims=True)) and np.allclose(t.sum(axis=1), 1)
    assert np.allclose(SAME_T.transition(x), t)
    for w in (0.3, 1.0):  # expected transition counts: the same for both families at w = s
        observed_expected = OBSERVED.probabilities(x, w)
        control_expected = SAME_T.probabilities(x, w)
        for c in range(3):
            assert np.allclose(observed_expected[x.clean == c].sum(axis=0), control_expected[x.clean == c].sum(axis=0))
    # but the control spreads a class's flips over all its examples, the observed noise keeps them where they were
    assert set(np.unique(OBSERVED.probabilities(x, 1.0).max(axis=1))) == {1.0}
    assert SAME_T.probabilities(x, 1.0)[x.clean == 0, 0].std() == 0 and SAME_T.probabilities(x, 1.0)[x.clean == 0, 0][0] < 1


def test_a_class_with_no_example_keeps_its_label_in_the_estimated_matrix():
    t = observed_transition(np.array([0, 0, 1]), np.array([1, 0, 1]), 3)
    assert np.allclose(t, [[0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]])


def test_a_task_without_noisy_labels_is_a_config_error_naming_the_tasks_file_key():
    frame = pd.DataFrame({"id": ["a", "b"], "label": [0, 1]})
    for family in (OBSERVED, SAME_T):
        with pytest.raises(ConfigError, match="noisy_label: COLUMN"):
            family.make_inputs(frame, 2)
    made = OBSERVED.make_inputs(frame.assign(**{OBSERVED_COLUMN: [1, 1]}), 2)
    assert made.observed.tolist() == [1, 1] and OBSERVED.source_labels(made).tolist() == [1, 1]


@pytest.fixture()
def crowd(tmp_path) -> tuple[Path, pd.DataFrame]:
    rows = write_observed_csv(tmp_path / "data" / "crowd.csv", per_class=400)
    return tmp_path / "data" / "tasks.yaml", rows


def _generate(tasks_file: Path, out: Path, home: Path, *args: object):
    return run_cli("generate", "--tasks-file", tasks_file, "--task", "crowd", "--out", out, *args, home=home)


def test_generate_reaches_a_target_rate_below_the_datasets_own_and_records_both(crowd, tmp_path):
    tasks_file, rows = crowd
    own = float(np.mean(rows["crowd"] != rows["category"]))  # about (0.3 + 0.1) / 3
    assert own > 0.1
    result = _generate(tasks_file, tmp_path / "a", tmp_path / "home", "--family", "observed", "--target-rate", 0.05)
    assert result.returncode == 0, result.stderr
    meta = json.loads((tmp_path / "a" / "target0.05" / "noise.json").read_text())
    assert abs(meta["realized_noise_rate"] - 0.05) <= 0.01 and meta["expected_noise_rate"] == pytest.approx(0.05)
    source = meta["source"]
    assert source["realized_noise_rate"] > 0.1 and source["transition_matrix"]["orientation"] == "rows=clean, cols=noisy"
    counts = np.array(source["transition_matrix"]["counts"])
    names = source["transition_matrix"]["labels"]
    for clean, (wrong, share) in OBSERVED_FLIPS.items():  # the crowd's own, class-conditional mistakes
        row = counts[names.index(clean)]
        assert row[names.index(wrong)] / row.sum() == pytest.approx(share, abs=0.08)
    assert counts[names.index("positive")].tolist() == [0, 0, counts[names.index("positive")].sum()]
    assert meta["dev"]["realized_noise_rate"] == pytest.approx(0.05, abs=0.03)  # the dev split's own noisy labels, at the same share

    too_much = _generate(tasks_file, tmp_path / "b", tmp_path / "home", "--family", "observed", "--target-rate", 0.5)
    assert too_much.returncode == 2 and too_much.stderr.count("\n") == 1 and "out of reach" in too_much.stderr
    assert not (tmp_path / "b").exists()


def test_share_1_reproduces_the_published_noisy_labels_exactly(crowd, tmp_path):
    tasks_file, rows = crowd
    result = _generate(tasks_file, tmp_path / "a", tmp_path / "home", "--family", "observed", "--share", 1)
    assert result.returncode == 0, result.stderr
    labels = pd.read_parquet(tmp_path / "a" / "s1" / "labels.parquet")
    published = dict(zip([f"train-{i}" for i in range(len(rows))], rows["crowd"]))
    assert [THREE_CLASSES[k] for k in labels["label_noisy"]] == [published[i] for i in labels["id"]]
    assert (labels["label_noisy"] == labels[OBSERVED_COLUMN]).all()


def test_the_same_t_control_realises_the_target_with_the_observed_transition_matrix(crowd, tmp_path):
    tasks_file, _ = crowd
    result = _generate(tasks_file, tmp_path / "a", tmp_path / "home", "--family", "observed-same-t", "--weight", 1)
    assert result.returncode == 0, result.stderr
    meta = json.loads((tmp_path / "a" / "w1" / "noise.json").read_text())
    drawn, source = np.array(meta["transition_matrix"]["counts"]), np.array(meta["source"]["transition_matrix"]["counts"])
    assert np.abs(drawn / drawn.sum(axis=1, keepdims=True) - source / source.sum(axis=1, keepdims=True)).max() < 0.08
    assert meta["expected_noise_rate"] == pytest.approx(meta["source"]["realized_noise_rate"])

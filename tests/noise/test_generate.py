"""Tests for noise generation end to end: weak model -> tempered draws -> labels.parquet + noise.json."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.data.sampling import nested_order
from noisebench.data.tasks import TaskData
from noisebench.errors import ConfigError, DataError
from noisebench.noise.artifact import read_artifact
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.noise.weak import fit_weak_model

POSITIVE = ["great", "superb", "lovely", "moving", "brilliant", "charming"]
NEGATIVE = ["awful", "boring", "dull", "clumsy", "tedious", "bland"]
FILLER = ["film", "story", "actor", "scene", "plot", "music", "camera", "script", "cast", "ending"]
LABEL_NAMES = ("neg", "pos")


def _split(prefix: str, n: int, rng: np.random.Generator, signal: float = 0.75) -> pd.DataFrame:
    """Texts whose sentiment word matches the label with probability ``signal`` (so the weak model errs)."""
    labels = (rng.random(n) < 0.45).astype(np.int64)  # a little imbalanced
    texts = []
    for i, label in enumerate(labels):
        agrees = rng.random() < signal
        vocab = POSITIVE if (label == 1) == agrees else NEGATIVE
        words = list(rng.choice(FILLER, size=4)) + [str(rng.choice(vocab)), f"w{i % 37}"]
        rng.shuffle(words)
        texts.append(" ".join(words))
    return pd.DataFrame({"id": [f"{prefix}-{i}" for i in range(n)], "text": texts, "text_pair": "", "label": labels})


def _task(name: str = "toy-generate") -> TaskData:
    rng = np.random.default_rng(2024)
    return TaskData(
        name=name,
        label_names=LABEL_NAMES,
        is_pair=False,
        pool=_split("pool", 1200, rng),
        weak_train=_split("weak", 300, rng),
        dev=_split("dev", 200, rng),
        test=_split("test", 100, rng),
    )


@pytest.fixture(scope="module")
def task() -> TaskData:
    return _task()


@pytest.fixture(scope="module")
def three_temperatures(task: TaskData, tmp_path_factory) -> dict[float, Path]:
    root = tmp_path_factory.mktemp("gen")
    temps = [0.05, 0.5, 5.0]
    outs = [root / f"T{t}" for t in temps]
    specs = [NoiseSpec("temperature", t, noise_seed=3, data_seed=1, weak_fit="held-out") for t in temps]
    written = generate(task, specs, outs, progress=False)
    assert written == outs
    return dict(zip(temps, outs))


def _labels(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path / "labels.parquet")


def _meta(path: Path) -> dict:
    return json.loads((path / "noise.json").read_text(encoding="utf-8"))


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_realised_noise_rate_rises_with_temperature(three_temperatures: dict[float, Path]) -> None:
    rates = [_labels(path)["is_corrupted"].mean() for path in three_temperatures.values()]
    assert rates[0] < rates[1] < rates[2]
    assert 0.05 < rates[0] < 0.45 and abs(rates[2] - 0.5) < 0.06  # weak-model errors ... near-uniform


def test_labels_parquet_has_the_documented_columns(three_temperatures: dict[float, Path], task: TaskData) -> None:
    labels = _labels(three_temperatures[0.5])
    assert set(labels.columns) == {"id", "label_clean", "label_noisy", "is_corrupted", "weak_prob_0", "weak_prob_1"}
    assert labels["is_corrupted"].dtype == bool and labels["label_noisy"].dtype.kind == "i"
    assert len(labels) == len(task.pool) and labels["id"].is_unique
    assert (labels["is_corrupted"] == (labels["label_clean"] != labels["label_noisy"])).all()
    np.testing.assert_allclose(labels["weak_prob_0"] + labels["weak_prob_1"], 1.0, atol=1e-9)


def test_labels_follow_the_pools_nested_order_and_clean_labels(three_temperatures: dict[float, Path], task: TaskData) -> None:
    labels = _labels(three_temperatures[0.5])
    expected_ids = task.pool["id"].to_numpy()[nested_order(task.pool["label"].to_numpy(), 1)]
    np.testing.assert_array_equal(labels["id"].to_numpy(), expected_ids)
    clean = task.pool.set_index("id").loc[labels["id"], "label"].to_numpy()
    np.testing.assert_array_equal(labels["label_clean"].to_numpy(), clean)


def test_weak_probabilities_come_from_a_model_fitted_on_weak_train(three_temperatures: dict[float, Path], task: TaskData) -> None:
    labels = _labels(three_temperatures[0.05])
    weak = fit_weak_model(task.weak_train, num_labels=2)
    texts = task.pool.set_index("id").loc[labels["id"], "text"].tolist()
    np.testing.assert_allclose(labels[["weak_prob_0", "weak_prob_1"]].to_numpy(), weak.pipeline.predict_proba(texts), rtol=1e-9)
    # at T=0.05 the draw is the weak model's argmax wherever softmax(log p / T) is all but certain
    probs = labels[["weak_prob_0", "weak_prob_1"]].to_numpy()
    tempered = probs ** 20 / (probs ** 20).sum(axis=1, keepdims=True)  # (p_k^(1/T)) normalised, T = 0.05
    clear = tempered.max(axis=1) > 1 - 1e-7
    assert clear.sum() > 0.3 * len(labels)
    assert (labels["label_noisy"].to_numpy()[clear] == probs[clear].argmax(axis=1)).all()


def test_noise_json_matches_a_recomputation_from_the_labels(three_temperatures: dict[float, Path], task: TaskData) -> None:
    for temperature, path in three_temperatures.items():
        meta, labels = _meta(path), _labels(path)
        assert meta["schema_version"] == 1
        assert meta["task"] == task.name and meta["family"] == "temperature"
        assert meta["params"] == {"temperature": temperature}
        labels = _labels(path)
        probs = labels[[c for c in labels.columns if c.startswith("weak_prob_")]].to_numpy()
        tempered = probs ** (1 / temperature) / (probs ** (1 / temperature)).sum(axis=1, keepdims=True)
        expected = np.mean(1 - tempered[np.arange(len(labels)), labels["label_clean"].to_numpy()])
        assert meta["expected_noise_rate"] == pytest.approx(expected, rel=1e-6)
        assert meta["seeds"] == {"noise_seed": 3, "data_seed": 1, "split_seed": 0}
        assert meta["n_relabel"] == "all"
        assert meta["source_hash"] == task.source_hash
        assert meta["n_examples"] == len(labels)
        matrix = meta["transition_matrix"]
        assert matrix["orientation"] == "rows=clean, cols=noisy"
        assert matrix["labels"] == list(LABEL_NAMES)
        crosstab = pd.crosstab(labels["label_clean"], labels["label_noisy"]).reindex(index=[0, 1], columns=[0, 1], fill_value=0)
        assert matrix["counts"] == crosstab.to_numpy().tolist()
        assert meta["realized_noise_rate"] == pytest.approx(labels["is_corrupted"].mean(), abs=1e-12)
        for k, name in enumerate(LABEL_NAMES):
            rows = labels[labels["label_clean"] == k]
            by_hand = sum(int(a != b) for a, b in zip(rows["label_clean"], rows["label_noisy"])) / len(rows)
            assert meta["per_class_noise_rate"][name] == pytest.approx(by_hand, abs=1e-12)


def test_noise_json_records_the_weak_models_dev_accuracy(three_temperatures: dict[float, Path], task: TaskData) -> None:
    meta = _meta(three_temperatures[5.0])
    weak = fit_weak_model(task.weak_train, num_labels=2)
    predicted = weak.pipeline.predict(task.dev["text"].tolist())
    expected = float(np.mean(predicted == task.dev["label"].to_numpy()))
    assert meta["weak_model"]["dev_accuracy"] == pytest.approx(expected, abs=1e-12)
    assert meta["weak_model"]["kind"] == "tfidf-logreg"
    assert meta["weak_model"]["train_size"] == len(task.weak_train)
    assert 0.6 < expected < 0.95


def test_same_seeds_give_identical_artifacts(three_temperatures: dict[float, Path], task: TaskData, tmp_path: Path) -> None:
    (again,) = generate(task, [NoiseSpec("temperature", 0.5, noise_seed=3, data_seed=1, weak_fit="held-out")], [tmp_path / "again"], progress=False)
    pd.testing.assert_frame_equal(_labels(again), _labels(three_temperatures[0.5]))
    assert (again / "labels.parquet").read_bytes() == (three_temperatures[0.5] / "labels.parquet").read_bytes()
    assert _meta(again) == _meta(three_temperatures[0.5])


def test_another_noise_seed_gives_other_noisy_labels(three_temperatures: dict[float, Path], task: TaskData, tmp_path: Path) -> None:
    (other,) = generate(task, [NoiseSpec("temperature", 0.5, noise_seed=4, data_seed=1, weak_fit="held-out")], [tmp_path / "other"], progress=False)
    a, b = _labels(other), _labels(three_temperatures[0.5])
    np.testing.assert_array_equal(a["id"], b["id"])
    assert (a["label_noisy"] != b["label_noisy"]).sum() > 20


@pytest.mark.parametrize("k", [1, 20, 100, 500])
def test_partial_relabel_equals_the_prefix_of_the_full_artifact(three_temperatures: dict[float, Path], task: TaskData, tmp_path: Path, k: int) -> None:
    (part,) = generate(task, [NoiseSpec("temperature", 0.5, noise_seed=3, data_seed=1, n_relabel=k, weak_fit="held-out")], [tmp_path / "part"], progress=False)
    full = _labels(three_temperatures[0.5])
    pd.testing.assert_frame_equal(_labels(part), full.iloc[:k].reset_index(drop=True))
    assert _meta(part)["n_relabel"] == k and _meta(part)["n_examples"] == k


def test_uniform_family_writes_rate_params_and_no_weak_model(task: TaskData, tmp_path: Path) -> None:
    (out,) = generate(task, [NoiseSpec("uniform", 1.0, noise_seed=0, data_seed=0)], [tmp_path / "u"], progress=False)
    labels, meta = _labels(out), _meta(out)
    assert (labels["label_noisy"] != labels["label_clean"]).all()  # binary, rate 1: every label flips
    assert meta["params"] == {"rate": 1.0} and "weak_model" not in meta
    assert not any(c.startswith("weak_prob") for c in labels.columns)
    assert meta["realized_noise_rate"] == 1.0


def test_existing_output_dir_is_a_data_error_and_is_left_untouched(task: TaskData, tmp_path: Path) -> None:
    taken = tmp_path / "taken"
    (done,) = generate(task, [NoiseSpec("uniform", 0.2)], [taken], progress=False)
    before = _snapshot(tmp_path)
    fresh = tmp_path / "fresh"
    with pytest.raises(DataError, match="already exists"):
        generate(task, [NoiseSpec("uniform", 0.2), NoiseSpec("temperature", 1.0)], [fresh, taken], progress=False)
    assert _snapshot(tmp_path) == before
    assert not fresh.exists()


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (NoiseSpec("temperature", 0.0), ConfigError),
        (NoiseSpec("temperature", -1.0), ConfigError),
        (NoiseSpec("uniform", 1.5), ConfigError),
        (NoiseSpec("gaussian", 0.1), ConfigError),
        (NoiseSpec("temperature", 1.0, n_relabel=0), DataError),
        (NoiseSpec("temperature", 1.0, n_relabel=1201), DataError),
        (NoiseSpec("temperature", 1.0, weak_fit="leave-one-out"), ConfigError),
        (NoiseSpec("uniform", 0.1, weak_fit="in-sample"), ConfigError),
        (NoiseSpec("temperature", 1.5, noise_param="target_rate"), ConfigError),
        (NoiseSpec("temperature", 0.5, noise_param="rate"), ConfigError),
        (NoiseSpec("temperature", 0.5, noise_seed=-1), ConfigError),
    ],
)
def test_a_bad_spec_is_rejected_before_anything_is_written(task: TaskData, tmp_path: Path, bad: NoiseSpec, error: type) -> None:
    with pytest.raises(error):
        generate(task, [NoiseSpec("temperature", 1.0), bad], [tmp_path / "first", tmp_path / "second"], progress=False)
    assert list(tmp_path.iterdir()) == []


def test_generated_artifact_reads_back(three_temperatures: dict[float, Path], task: TaskData) -> None:
    artifact = read_artifact(three_temperatures[0.5])
    assert artifact.meta["source_hash"] == task.source_hash
    subset_ids = task.pool["id"].iloc[[5, 0, 999]]
    rows = artifact.noisy_labels_for(subset_ids.reset_index(drop=True))
    assert rows["id"].tolist() == subset_ids.tolist()


def test_weak_model_is_refitted_when_weak_train_changes(tmp_path: Path) -> None:
    base = _task("toy-weak-cache")
    smaller = dataclasses.replace(base, weak_train=base.weak_train.iloc[:150].reset_index(drop=True))
    generate(base, [NoiseSpec("temperature", 1.0, weak_fit="held-out")], [tmp_path / "a"], progress=False)
    generate(smaller, [NoiseSpec("temperature", 1.0, weak_fit="held-out")], [tmp_path / "b"], progress=False)
    assert _meta(tmp_path / "b")["weak_model"]["train_size"] == 150


# --------------------------------------------------------------------------------------------------
# weak-model fit modes


def _probs(path: Path) -> np.ndarray:
    return _labels(path)[["weak_prob_0", "weak_prob_1"]].to_numpy()


@pytest.fixture(scope="module")
def by_fit(task: TaskData, tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fits")
    fits = ["in-sample", "held-out", "cross-fit"]
    specs = [NoiseSpec("temperature", 0.1, noise_seed=0, data_seed=2, weak_fit=fit) for fit in fits]
    return dict(zip(fits, generate(task, specs, [root / fit for fit in fits], progress=False)))


def test_in_sample_is_the_default_fit(task: TaskData, by_fit: dict[str, Path], tmp_path: Path) -> None:
    (default,) = generate(task, [NoiseSpec("temperature", 0.1, noise_seed=0, data_seed=2)], [tmp_path / "d"], progress=False)
    assert _meta(default)["weak_model"]["fit"] == "in-sample"
    pd.testing.assert_frame_equal(_labels(default), _labels(by_fit["in-sample"]))


def test_in_sample_weak_model_is_fitted_on_the_relabelled_examples(task: TaskData, by_fit: dict[str, Path]) -> None:
    labels = _labels(by_fit["in-sample"])
    pool = task.pool.set_index("id").loc[labels["id"]].reset_index()
    weak = fit_weak_model(pool.sort_values("id").reset_index(drop=True), num_labels=2)
    np.testing.assert_allclose(_probs(by_fit["in-sample"]), weak.pipeline.predict_proba(pool["text"].tolist()), rtol=1e-9)
    meta = _meta(by_fit["in-sample"])["weak_model"]
    assert meta["train_size"] == len(task.pool)
    assert meta["fit_accuracy"] == pytest.approx(np.mean(_probs(by_fit["in-sample"]).argmax(1) == labels["label_clean"]))


def test_cross_fit_scores_each_example_with_a_model_that_never_saw_it(task: TaskData, by_fit: dict[str, Path]) -> None:
    from sklearn.model_selection import StratifiedKFold

    labels = _labels(by_fit["cross-fit"])
    canonical = task.pool.sort_values("id").reset_index(drop=True)
    expected = np.empty((len(canonical), 2))
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(canonical)), canonical["label"])
    for train_index, score_index in folds:
        weak = fit_weak_model(canonical.iloc[train_index], num_labels=2)
        expected[score_index] = weak.pipeline.predict_proba(canonical["text"].iloc[score_index].tolist())
    expected = pd.DataFrame(expected, index=canonical["id"]).loc[labels["id"]].to_numpy()
    np.testing.assert_allclose(_probs(by_fit["cross-fit"]), expected, rtol=1e-9)
    assert _meta(by_fit["cross-fit"])["weak_model"]["folds"] == 5


def test_in_sample_noise_is_lowest_at_low_temperature(by_fit: dict[str, Path]) -> None:
    rates = {fit: _meta(path)["realized_noise_rate"] for fit, path in by_fit.items()}
    assert rates["in-sample"] < rates["cross-fit"] and rates["in-sample"] < rates["held-out"]


def test_weak_model_is_shared_by_data_seeds_that_relabel_the_same_examples(task: TaskData, tmp_path: Path) -> None:
    a, b = generate(task, [NoiseSpec("temperature", 1.0, data_seed=s) for s in (0, 1)], [tmp_path / "a", tmp_path / "b"], progress=False)
    pa, pb = (_labels(p).set_index("id").sort_index()[["weak_prob_0", "weak_prob_1"]] for p in (a, b))
    pd.testing.assert_frame_equal(pa, pb)


# --------------------------------------------------------------------------------------------------
# target rates


@pytest.mark.parametrize("target", [0.15, 0.2, 0.3])
def test_a_target_rate_solves_the_temperature_whose_expected_rate_is_the_target(task: TaskData, tmp_path: Path, target: float) -> None:
    (path,) = generate(task, [NoiseSpec("temperature", target, noise_param="target_rate", weak_fit="in-sample")], [tmp_path / "t"], progress=False)
    meta, labels = _meta(path), _labels(path)
    temperature = meta["params"]["temperature"]
    probs = _probs(path) ** (1 / temperature)
    probs /= probs.sum(axis=1, keepdims=True)
    by_hand = np.mean(1 - probs[np.arange(len(labels)), labels["label_clean"]])
    assert meta["target_rate"] == target
    assert by_hand == pytest.approx(target, abs=1e-4) and meta["expected_noise_rate"] == pytest.approx(target, abs=1e-4)
    assert abs(meta["realized_noise_rate"] - target) < 4 * np.sqrt(target * (1 - target) / len(labels))


def test_a_target_below_the_weak_models_floor_names_the_reachable_range(task: TaskData, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"target_rate 0.01 is out of reach .* spans \[0\.\d+, 0\.\d+\]"):
        generate(task, [NoiseSpec("temperature", 0.01, noise_param="target_rate", weak_fit="held-out")], [tmp_path / "t"], progress=False)
    assert not (tmp_path / "t").exists()


def test_uniform_target_rate_is_the_rate_itself(task: TaskData, tmp_path: Path) -> None:
    (path,) = generate(task, [NoiseSpec("uniform", 0.25, noise_param="target_rate")], [tmp_path / "u"], progress=False)
    assert _meta(path)["params"] == {"rate": 0.25} and _meta(path)["expected_noise_rate"] == pytest.approx(0.25)


def test_an_unreachable_target_after_reachable_levels_writes_nothing(task: TaskData, tmp_path: Path) -> None:
    specs = [NoiseSpec("temperature", 0.5, weak_fit="held-out"), NoiseSpec("temperature", 0.01, noise_param="target_rate", weak_fit="held-out")]
    with pytest.raises(ConfigError, match="out of reach"):
        generate(task, specs, [tmp_path / "T0.5", tmp_path / "target0.01"], progress=False)
    assert list(tmp_path.iterdir()) == []

"""Training on a 3-class task: a K-way head, CE and CE+SCL, memorisation shares and the run's transition
matrix checked against counts made another way; the run directory read back by the analysis."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from noisebench.analysis import prepare
from noisebench.data.sampling import sample_subset
from noisebench.noise.artifact import read_artifact
from noisebench.noise.generate import NoiseSpec, generate
from noisebench.schema import RunConfig
from noisebench.store.runs import write_done
from noisebench.train.callbacks import memorisation_shares
from noisebench.train.run import run_training
from tests.multiclass import THREE_CLASSES, registered, toy_task

TASK = toy_task()
TIMES = ("setup_time_s", "train_time_s", "eval_time_s", "wall_time_s")


@pytest.fixture(autouse=True, scope="module")
def _toy_task_by_name():
    """Training takes a task name: the toy task is registered under it for this module."""
    with registered(TASK):
        yield


@pytest.fixture(scope="module")
def model_dir(tiny_model_dir, tmp_path_factory) -> Path:
    """The tiny BERT with a tokenizer that knows its vocabulary (the words reach the encoder, not [UNK]),
    so test embeddings differ between examples and t-SNE has something to show."""
    import shutil

    from transformers import BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-bert-vocab")
    shutil.copytree(tiny_model_dir, folder, dirs_exist_ok=True)
    tokenizer = BertTokenizerFast(str(tiny_model_dir / "vocab.txt"), do_lower_case=True)
    assert tokenizer.unk_token_id not in tokenizer(" ".join(TASK.pool["text"]))["input_ids"]
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("noise") / "target0.3"
    generate(TASK, [NoiseSpec("uniform", 0.3, noise_param="target_rate", noise_seed=5, data_seed=2)], [out], progress=False)
    return out


def _config(model: Path, **overrides) -> RunConfig:
    base = dict(task=TASK.name, model=str(model), n_train=30, epochs=2, batch_size=10, lr=1e-3, max_length=12,
                noise_family="uniform", noise_param="target_rate", noise_level=0.3, noise_seed=5, data_seed=2)
    return RunConfig(**{**base, **overrides})


@pytest.fixture(scope="module")
def scl_run(model_dir, artifact):
    config = _config(model_dir, method="ce-scl", method_params={"lam": 0.5, "tau": 0.3}, save_embeddings=True,
                     save_model=True)
    return config, run_training(config, noise_dir=artifact, progress=False)


def _subset_labels(artifact: Path, config: RunConfig) -> pd.DataFrame:
    """The run's N training examples with their clean and noisy labels, looked up by id in the artifact."""
    ids = sample_subset(TASK.pool, config.n_train, config.data_seed)["id"]
    table = read_artifact(artifact).labels.set_index("id")
    return table.loc[ids.to_numpy()]


def test_the_model_gets_one_output_per_class(scl_run) -> None:
    _, out = scl_run
    assert out.model.model.config.num_labels == 3
    assert out.model.model.classifier.out_features == 3


def test_the_runs_transition_matrix_counts_its_own_training_labels(scl_run, artifact) -> None:
    config, out = scl_run
    labels = _subset_labels(artifact, config)
    brute = [[int(((labels["label_clean"] == i) & (labels["label_noisy"] == j)).sum()) for j in range(3)] for i in range(3)]
    matrix = out.metrics["transition_matrix"]
    assert matrix["labels"] == list(THREE_CLASSES) and matrix["counts"] == brute
    assert out.metrics["n_corrupted"] == int(labels["is_corrupted"].sum()) > 0
    assert out.metrics["realized_noise_rate"] == pytest.approx(labels["is_corrupted"].mean())
    assert sorted(set(out.test_labels.tolist())) == [0, 1, 2] and out.test_embeddings.shape[0] == len(TASK.test)


def test_memorisation_shares_are_fractions_of_the_corrupted_examples(scl_run) -> None:
    """With K = 3 a corrupted example may be predicted as neither its noisy nor its clean label: the shares
    need not sum to 1, but each is a count over the corrupted examples."""
    _, out = scl_run
    n_corrupted = out.metrics["n_corrupted"]
    for record in out.metrics["history"]:
        noisy, true = record["train_acc_corrupted_noisy"], record["train_acc_corrupted_true"]
        assert noisy + true <= 1.0 + 1e-12
        for share in (noisy, true):
            assert share * n_corrupted == pytest.approx(round(share * n_corrupted))


def test_memorisation_shares_match_a_loop_over_examples_with_three_classes() -> None:
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 3, 60)
    noisy = np.where(rng.random(60) < 0.4, (clean + rng.integers(1, 3, 60)) % 3, clean)
    pred = rng.integers(0, 3, 60)
    record = memorisation_shares(pred, clean, noisy, noisy != clean)
    corrupted = [i for i in range(60) if noisy[i] != clean[i]]
    kept = [i for i in range(60) if noisy[i] == clean[i]]
    assert record["train_acc_clean"] == pytest.approx(sum(pred[i] == clean[i] for i in kept) / len(kept))
    assert record["train_acc_corrupted_noisy"] == pytest.approx(sum(pred[i] == noisy[i] for i in corrupted) / len(corrupted))
    assert record["train_acc_corrupted_true"] == pytest.approx(sum(pred[i] == clean[i] for i in corrupted) / len(corrupted))
    neither = sum(pred[i] not in (clean[i], noisy[i]) for i in corrupted)
    assert neither > 0  # the case a binary task cannot have
    assert record["train_acc_corrupted_noisy"] + record["train_acc_corrupted_true"] == pytest.approx(1 - neither / len(corrupted))


def test_ce_scl_with_lambda_zero_equals_ce_on_three_classes(model_dir, artifact) -> None:
    ce = run_training(_config(model_dir, method="ce"), noise_dir=artifact, progress=False).metrics
    scl0 = run_training(_config(model_dir, method="ce-scl", method_params={"lam": 0.0, "tau": 0.3}),
                        noise_dir=artifact, progress=False).metrics
    assert {k: v for k, v in ce.items() if k not in TIMES} == {k: v for k, v in scl0.items() if k not in TIMES}


def test_the_analysis_reads_the_runs_three_by_three_matrix_and_class_names(scl_run, tmp_path: Path) -> None:
    config, out = scl_run
    run_dir = write_done(tmp_path, config, out.metrics, out.test_embeddings, out.test_labels)
    matrix = prepare.transition_matrix(run_dir)
    assert list(matrix.index) == list(matrix.columns) == list(THREE_CLASSES)
    assert matrix.to_numpy().tolist() == out.metrics["transition_matrix"]["counts"]
    assert prepare.class_names(run_dir) == list(THREE_CLASSES)
    points = prepare.tsne_points(run_dir)
    assert sorted(points["label"].unique().tolist()) == [0, 1, 2]


"""Figures and the report with K > 2 classes: the K×K transition heatmap, t-SNE colours and the report's
figure section, checked against counts made here from the fake run folders."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from fake_runs import make_history, make_table, write_artifact, write_embeddings, write_runs

from noisebench.analysis import figures as plots
from noisebench.analysis.report import write_report

THREE = ("negative", "mixed", "positive")
COUNTS_3 = np.array([[40, 7, 3], [5, 30, 15], [0, 9, 41]])
"""Row-specific noise (20%, 40%, 18%) and an empty cell, so a transposed or reordered matrix shows."""


@pytest.fixture(autouse=True)
def _no_open_figures():
    plt.close("all")
    yield
    plt.close("all")


def _drawn_counts(ax, k: int) -> np.ndarray:
    """The count printed in each cell (first line of its annotation), placed by the annotation's position."""
    counts = np.full((k, k), -1)
    for text in ax.texts:
        x, y = text.get_position()
        counts[int(round(y)), int(round(x))] = int(text.get_text().split("\n")[0])
    return counts


def _row_percent(counts: np.ndarray) -> np.ndarray:
    """Each cell as a share of its clean class, in percent, one row at a time."""
    return np.array([[100.0 * c / sum(row) if sum(row) else 0.0 for c in row] for row in counts.tolist()])


def _assert_heatmap_shows(ax, counts: np.ndarray, names: tuple[str, ...], realised: float) -> None:
    k = len(names)
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), _row_percent(counts))
    assert (_drawn_counts(ax, k) == counts).all()
    assert [t.get_text() for t in ax.get_xticklabels()] == list(names)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(names)
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("noisy label", "clean label")
    assert f"realised noise {realised:.1%}" in ax.get_title()


def _realised(counts: np.ndarray) -> float:
    """The share of examples off the diagonal."""
    return 1 - sum(counts[i, i] for i in range(len(counts))) / counts.sum()


def test_three_class_artifact_heatmap_draws_its_counts_under_the_class_names(tmp_path: Path) -> None:
    artifact = write_artifact(tmp_path / "a", 0.7, COUNTS_3, labels=THREE)
    fig = plots.transition_figure(artifact)
    _assert_heatmap_shows(fig.axes[0], COUNTS_3, THREE, _realised(COUNTS_3))


def test_twenty_class_heatmap_keeps_every_class_in_order_on_a_page_sized_figure(tmp_path: Path) -> None:
    """At 1.1 in per class a 20-class figure was 25 in wide, its 6 pt counts unreadable once scaled to a page."""
    rng = np.random.default_rng(0)
    names = tuple(f"topic {c:02d}" for c in range(20))
    counts = rng.integers(0, 6, (20, 20)) + np.diag(rng.integers(20, 40, 20))
    fig = plots.transition_figure(write_artifact(tmp_path / "a", 0.5, counts, labels=names))
    _assert_heatmap_shows(fig.axes[0], counts, names, _realised(counts))
    assert max(fig.get_size_inches()) <= plots.TRANSITION_MAX_SIDE_IN + 1
    assert not any("%" in text.get_text() for text in fig.axes[0].texts)  # counts only; the colour gives the share


@pytest.fixture(scope="module")
def three_class_results(tmp_path_factory) -> tuple:
    """Fake 3-class runs (two noise levels, two seeds, CE and CE+SCL), some with test embeddings."""
    root = tmp_path_factory.mktemp("three")
    table = make_table(levels=(0.3, 0.9), seeds=2)
    with_embeddings = {r: 60 for r in table.loc[table["noise_level"] == 0.9, "run_id"]}
    results = write_runs(root / "results", table, embeddings=with_embeddings, label_names=THREE)
    return root, table, results


def test_a_run_folders_three_by_three_matrix_is_drawn_with_its_names(three_class_results) -> None:
    _, table, results = three_class_results
    run_dir = results / "runs" / table["run_id"].iloc[-1]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    counts, rate = np.array(metrics["transition_matrix"]["counts"]), metrics["realized_noise_rate"]
    assert metrics["transition_matrix"]["labels"] == list(THREE) and counts.sum() == table["n_train"].iloc[-1]
    assert abs(_realised(counts) - rate) <= 0.5 / counts.sum()  # the fake run is consistent with its counts
    _assert_heatmap_shows(plots.transition_figure(run_dir).axes[0], counts, THREE, rate)


def test_tsne_gives_each_of_three_classes_its_own_colour_and_name(tmp_path: Path) -> None:
    rng, dirs = np.random.default_rng(1), {}
    for name in ("ce", "ce-scl"):
        (tmp_path / name).mkdir()
        write_embeddings(tmp_path / name, 60, rng, num_labels=3)
        dirs[name] = tmp_path / name
    fig = plots.tsne_figure(dirs, label_names=THREE)
    for ax, run_dir in zip(fig.axes, dirs.values()):
        labels = np.load(run_dir / "embeddings.npz")["labels"]
        assert [t.get_text() for t in ax.get_legend().get_texts()] == list(THREE)
        assert [len(c.get_offsets()) for c in ax.collections] == [int((labels == k).sum()) for k in range(3)]
        colours = {tuple(np.round(c.get_facecolor()[0], 6)) for c in ax.collections}
        assert len(colours) == 3


def test_plot_all_and_the_report_show_the_three_class_figures(three_class_results) -> None:
    root, table, results = three_class_results
    figures, out = root / "figures", root / "report.md"
    write_report(table, make_history(table), results, out, figures_dir=figures)
    pngs = sorted(p.name for p in figures.glob("*.png"))
    transition = [p for p in pngs if p.startswith("transition_")]
    assert transition and any(p.startswith("tsne_") for p in pngs)
    text = out.read_text(encoding="utf-8")
    assert "### Clean → noisy label transitions of one run" in text
    assert all(f"figures/{p}" in text for p in transition)
    shown = plt.imread(figures / transition[0])
    assert shown.ndim == 3 and float(np.std(shown[..., :3])) > 0.01

"""Tests for noisebench.analysis.figures: what each axes shows, checked against numbers computed here."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from fake_runs import (
    BENCHMARK_METHODS,
    BENCHMARK_SETTINGS,
    CE,
    SCL,
    benchmark_cells,
    brute_force_improvement,
    make_benchmark_table,
    make_history,
    make_table,
    write_artifact,
    write_embeddings,
    write_runs,
)

from noisebench.analysis import figures as plots
from noisebench.analysis import prepare

SCL_LABEL = "ce-scl(λ=0.9, τ=0.3)"


@pytest.fixture(autouse=True)
def _no_open_figures():
    plt.close("all")
    yield
    plt.close("all")


def line(ax, label: str):
    found = [ln for ln in ax.get_lines() if ln.get_label() == label]
    assert len(found) == 1, [ln.get_label() for ln in ax.get_lines()]
    return found[0]


def assert_dodged(ax, xdata, expected) -> float:
    """``xdata`` is ``expected`` shifted by one constant, under 15% of the axis width (the method's dodge); returns it."""
    shift = np.asarray(xdata, dtype=float) - np.asarray(expected, dtype=float)
    np.testing.assert_allclose(shift, shift[0], atol=1e-9)
    low, high = ax.get_xlim()
    assert abs(shift[0]) < 0.15 * (high - low)
    return float(shift[0])


def means_pct(table: pd.DataFrame, method: str) -> list[float]:
    rows = table[(table["method"] == method) & table["noise_level"].notna()]
    return (rows.groupby("noise_level")["test_accuracy"].mean() * 100).tolist()


def test_accuracy_lines_are_each_methods_means():
    table = make_table()
    ax = plots.draw_accuracy(prepare.cell_summary(table))
    shifts = []
    for method, label in ((CE, "ce"), (SCL, SCL_LABEL)):
        drawn = line(ax, label)
        shifts.append(assert_dodged(ax, drawn.get_xdata(), [0.3, 0.6, 0.9]))
        np.testing.assert_allclose(drawn.get_ydata(), means_pct(table, method))
    assert shifts[0] < shifts[1]  # the methods sit side by side, not on top of each other
    clean = table[table["noise_family"] == "none"]
    anchor = line(ax, "_clean ce").get_ydata()
    assert anchor == pytest.approx([clean.loc[clean["method"] == CE, "test_accuracy"].mean() * 100])
    assert ax.get_xlabel() == "temperature T"
    assert not [c for c in ax.collections if c.get_label().startswith("_runs")]  # 5 runs a point: bands, no dots


def test_points_with_fewer_than_three_runs_show_their_runs():
    table = make_table(seeds=2, levels=(0.5,), clean=False)
    ax = plots.draw_accuracy(prepare.cell_summary(table))
    dots = sorted(y for c in ax.collections if c.get_label().startswith("_runs") for _, y in c.get_offsets())
    assert dots == pytest.approx(sorted(table["test_accuracy"] * 100))
    assert not [c for c in ax.collections if not c.get_label().startswith("_runs") and len(c.get_paths())]  # no band


def test_uniform_axis_label_comes_from_the_family():
    table = make_table(family="uniform", levels=(0.1, 0.2), clean=False)
    ax = plots.draw_accuracy(prepare.cell_summary(table))
    assert ax.get_xlabel() == "noise rate r"
    np.testing.assert_allclose(line(ax, "ce").get_ydata(), means_pct(table, CE))


def test_difference_line_is_the_paired_mean_and_stars_mark_holm():
    table = make_table(seeds=7)
    diffs = prepare.paired_differences(table, n_resamples=500)
    ax = plots.draw_difference(diffs[diffs["n_pairs"] > 0])
    noisy = table[table["noise_level"].notna()].sort_values(["noise_level", "data_seed"])
    expected = [(g.loc[g["method"] == SCL, "test_accuracy"].to_numpy() - g.loc[g["method"] == CE, "test_accuracy"]
                 .to_numpy()).mean() * 100 for _, g in noisy.groupby("noise_level")]
    np.testing.assert_allclose(line(ax, f"{SCL_LABEL} − ce").get_ydata(), expected)
    assert len(line(ax, f"_holm {SCL_LABEL} − ce").get_ydata()) == int(diffs["significant"].sum()) > 0


def test_noise_rate_and_transition_and_memorisation_axes(tmp_path):
    table = make_table(levels=(0.3, 0.9))
    ax = plots.draw_noise_rates(prepare.noise_rates(prepare.noise_draws(table)))
    ce = table[(table["method"] == CE) & table["noise_level"].notna()]
    np.testing.assert_allclose(line(ax, "N=100: mean over draws").get_ydata(),
                               ce.groupby("noise_level")["realized_noise_rate"].mean() * 100)
    counts = np.array([[40, 5, 5], [4, 40, 6], [0, 0, 0]])
    ax = plots.draw_transition(prepare.transition_matrix(write_artifact(tmp_path / "a", 0.7, counts)))
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown[:2], counts[:2] / counts[:2].sum(axis=1, keepdims=True) * 100)
    assert (np.asarray(shown[2]) == 0).all()  # an empty row does not divide by zero
    history = make_history(table)
    ax = plots.draw_memorisation(prepare.memorisation(table, history, noise_family="temperature", noise_level=0.9))
    runs = table.loc[(table["noise_level"] == 0.9) & (table["method"] == SCL), "run_id"]
    expected = history[history["run_id"].isin(runs)].groupby("epoch")["train_acc_corrupted_noisy"].mean() * 100
    np.testing.assert_allclose(line(ax, f"_{SCL_LABEL}: train_acc_corrupted_noisy").get_ydata(), expected)


def test_save_figure_writes_png_and_pdf_atomically(tmp_path):
    fig, ax = plt.subplots()
    plots.draw_accuracy(prepare.cell_summary(make_table()), ax=ax)
    paths = plots.save_figure(fig, tmp_path / "out" / "acc")
    assert paths == [tmp_path / "out" / "acc.png", tmp_path / "out" / "acc.pdf"]
    image = mpimg.imread(paths[0])
    assert image.ndim == 3 and float(np.std(image[..., :3])) > 0.01  # not a blank canvas
    assert paths[1].read_bytes().startswith(b"%PDF")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["acc.pdf", "acc.png"]
    assert plt.get_fignums() == []


def test_accuracy_figure_has_a_panel_per_task_and_family():
    table = pd.concat([make_table(), make_table(task="sst2", start=500),
                       make_table(family="uniform", levels=(0.2,), clean=False, start=900)], ignore_index=True)
    fig = plots.accuracy_figure(table)
    assert len(fig.axes) == 3
    assert sorted(ax.get_xlabel().split("  ")[0] for ax in fig.axes) == ["noise rate r", "temperature T", "temperature T"]


def test_tsne_figure(tmp_path):
    rng = np.random.default_rng(0)
    dirs = {}
    for name in ("ce", SCL_LABEL):
        (tmp_path / name).mkdir()
        write_embeddings(tmp_path / name, 40, rng)
        dirs[name] = tmp_path / name
    fig = plots.tsne_figure(dirs, label_names=("rotten", "fresh"))
    assert [len(ax.collections) for ax in fig.axes] == [2, 2]
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == 40


FULL_SET = {"accuracy_vs_noise", "accuracy_vs_realised_noise", "difference_vs_noise", "method_summary",
            "robustness_vs_noise", "noise_rate_vs_temperature", "transition_rt-polarity_N100_T0.9", "memorisation_T0.9",
            "tsne_rt-polarity_N100_T0.9"}


def stems(paths) -> set[str]:
    paths = [Path(p) for p in paths]
    assert len(paths) == 2 * len({p.stem for p in paths}) and all(p.is_file() for p in paths)
    return {p.stem for p in paths}


def test_plot_all_full(tmp_path, caplog):
    table = make_table()
    at = table[(table["noise_level"] == 0.9) & (table["data_seed"] == 0)]
    results = write_runs(tmp_path / "res", table, embeddings={r: 30 for r in at["run_id"]})
    with caplog.at_level(logging.INFO, logger="noisebench.analysis.figures"):
        paths = plots.plot_all(table, make_history(table), results, tmp_path / "fig")
    assert stems(paths) == FULL_SET
    assert not [r for r in caplog.records if "skipped" in r.getMessage()]
    assert {p.name for p in (tmp_path / "fig").iterdir()} == {Path(p).name for p in paths}  # no temp files


@pytest.mark.parametrize("case, expected, reason", [
    ("one_method", FULL_SET - {"difference_vs_noise", "method_summary", "robustness_vs_noise", "tsne_rt-polarity_N100_T0.9"},
     "difference_vs_noise and method_summary: only method(s) ce"),
    ("clean_only", {"accuracy_vs_noise", "difference_vs_noise", "method_summary"}, "no noisy runs"),
    ("no_history", FULL_SET - {"tsne_rt-polarity_N100_T0.9", "memorisation_T0.9"}, "memorisation: no per-epoch"),
    ("unpaired", FULL_SET - {"difference_vs_noise", "method_summary", "robustness_vs_noise", "tsne_rt-polarity_N100_T0.9"},
     "shares its seeds"),
])
def test_plot_all_skips_what_the_table_cannot_support(tmp_path, caplog, case, expected, reason):
    table = {"one_method": lambda: make_table(methods=(CE,)), "clean_only": lambda: make_table(levels=())}.get(
        case, make_table)()
    if case == "unpaired":
        table.loc[table["method"] == SCL, "train_seed"] += 100
    results = write_runs(tmp_path / "res", table)
    with caplog.at_level(logging.INFO, logger="noisebench.analysis.figures"):
        paths = plots.plot_all(table, None if case == "no_history" else make_history(table), results, tmp_path / "f")
    assert stems(paths) == expected
    assert any(reason in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]


def test_plot_accuracy_vs_noise_and_empty_table(tmp_path):
    assert stems(plots.plot_accuracy_vs_noise(make_table(seeds=1), tmp_path / "acc")) == {"acc"}
    with pytest.raises(ValueError, match="no finished runs in"):
        plots.plot_all(pd.DataFrame(), None, tmp_path / "res", tmp_path / "fig")


def test_analysis_does_not_import_training_or_cli():
    code = ("import sys, noisebench.analysis.figures, noisebench.analysis.report; "
            "bad = [m for m in sys.modules if m.startswith(('noisebench.train', 'noisebench.cli', 'torch'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_plot_all_names_figures_by_the_family(tmp_path):
    table = make_table(family="uniform", levels=(0.1, 0.3), seeds=3)
    paths = plots.plot_all(table, make_history(table), write_runs(tmp_path / "res", table), tmp_path / "fig")
    assert stems(paths) == {"accuracy_vs_noise", "accuracy_vs_realised_noise", "difference_vs_noise", "method_summary",
                            "robustness_vs_noise", "noise_rate_vs_rate", "transition_rt-polarity_N100_r0.3", "memorisation_r0.3"}


# --------------------------------------------------------------------------
# the realised-noise axis, target rates beside the family's parameter, legacy tables
# --------------------------------------------------------------------------


def mean_rates(table: pd.DataFrame) -> dict[float, float]:
    """Mean realised noise rate per level over the noise draws (CE and CE+SCL of a seed share one draw)."""
    ce = table[(table["method"] == CE) & table["noise_level"].notna()]
    return ce.groupby("noise_level")["realized_noise_rate"].mean().to_dict()


def mixed_table() -> pd.DataFrame:
    """Temperature levels and target rates of the same family, sharing one clean anchor."""
    return pd.concat([make_table(levels=(0.2, 0.6)),
                      make_table(levels=(0.2, 0.3), clean=False, noise_param="target_rate", start=500)],
                     ignore_index=True)


def test_realised_axis_puts_each_level_at_its_mean_realised_rate():
    table = make_table()
    (ax,) = plots.accuracy_figure(table, x="realised").axes
    rates = mean_rates(table)
    for method, label in ((CE, "ce"), (SCL, SCL_LABEL)):
        drawn = line(ax, label)
        assert_dodged(ax, drawn.get_xdata(), [rates[lv] * 100 for lv in (0.3, 0.6, 0.9)])
        np.testing.assert_allclose(drawn.get_ydata(), means_pct(table, method))
    assert abs(line(ax, "_clean ce").get_xdata()[0]) < 0.05 * rates[0.9] * 100  # clean at 0 (dodged a little)
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["clean\n0%"] + [f"T={lv:g}\n{rates[lv]:.0%}" for lv in (0.3, 0.6, 0.9)]
    np.testing.assert_allclose(ax.get_xticks(), [0.0] + [rates[lv] * 100 for lv in (0.3, 0.6, 0.9)])
    assert ax.get_xlabel().startswith("mean realised noise rate (%)")


@pytest.mark.parametrize("x", plots.X_MODES)
def test_few_runs_show_dots_and_no_band_on_either_axis(x):
    table = make_table(seeds=2, levels=(0.3, 0.9))
    (ax,) = plots.accuracy_figure(table, x=x).axes
    dots = [c for c in ax.collections if c.get_label().startswith("_runs")]
    assert sorted(y for c in dots for _, y in c.get_offsets()) == pytest.approx(sorted(table["test_accuracy"] * 100))
    assert not [c for c in ax.collections if not c.get_label().startswith("_runs") and len(c.get_paths())]
    if x == "realised":
        rates = mean_rates(table)
        for c in dots:
            xs = sorted({round(float(px), 9) for px, _ in c.get_offsets()})
            assert_dodged(ax, xs[1:], [rates[lv] * 100 for lv in (0.3, 0.9)])  # xs[0]: the clean anchor


def test_target_rates_and_temperatures_are_separate_panels():
    table = mixed_table()
    for x in plots.X_MODES:
        fig = plots.accuracy_figure(table, x=x)
        by_label = {ax.get_xlabel().split("  ")[0].split("ticks: ")[-1]: ax for ax in fig.axes}
        assert sorted(by_label) == ["target noise rate", "temperature T"]
        for param, label, levels in (("temperature", "temperature T", (0.2, 0.6)),
                                     ("target_rate", "target noise rate", (0.2, 0.3))):
            ax, rows = by_label[label], table[table["noise_param"] == param]
            np.testing.assert_allclose(line(ax, "ce").get_ydata(), means_pct(rows, CE))
            clean = table.loc[(table["noise_family"] == "none") & (table["method"] == CE), "test_accuracy"]
            assert line(ax, "_clean ce").get_ydata() == pytest.approx([clean.mean() * 100])  # one anchor, both panels
            if x == "realised":
                rates = mean_rates(rows)
                assert_dodged(ax, line(ax, "ce").get_xdata(), [rates[lv] * 100 for lv in levels])
                symbol = "ρ" if param == "target_rate" else "T"
                assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()][1:] == [f"{symbol}={lv:g}" for lv in levels]


def test_plot_all_with_target_rates_and_the_x_option(tmp_path):
    table = mixed_table()
    paths = plots.plot_all(table, make_history(table), write_runs(tmp_path / "res", table), tmp_path / "fig")
    assert stems(paths) == {
        "accuracy_vs_noise", "accuracy_vs_realised_noise", "difference_vs_noise", "method_summary",
        "robustness_vs_noise", "noise_rate_vs_temperature",
        "noise_rate_vs_target_rate_temperature", "transition_rt-polarity_N100_T0.6",
        "transition_rt-polarity_N100_target_rate0.3", "memorisation_T0.6", "memorisation_target_rate0.3"}
    assert stems(plots.plot_accuracy_vs_noise(table, tmp_path / "real", x="realised")) == {"real"}
    with pytest.raises(ValueError, match="realised"):
        plots.plot_accuracy_vs_noise(table, tmp_path / "bad", x="rate")


def test_realised_axis_needs_realised_rates():
    table = make_table(levels=(0.3,)).drop(columns=["realized_noise_rate"])
    with pytest.raises(ValueError, match="no realised noise rate"):
        plots.accuracy_figure(table, x="realised")
    assert plots.accuracy_figure(table).axes[0].get_xlabel() == "temperature T"


def test_a_legacy_table_without_the_new_columns_still_plots(tmp_path):
    table = make_table(levels=(0.3, 0.9)).drop(columns=["noise_param"])
    for x in plots.X_MODES:
        (ax,) = plots.accuracy_figure(table, x=x).axes
        np.testing.assert_allclose(line(ax, "ce").get_ydata(), means_pct(table, CE))
    assert "temperature T" in ax.get_xlabel()
    paths = plots.plot_all(table, make_history(table), write_runs(tmp_path / "res", make_table(levels=(0.3, 0.9))),
                           tmp_path / "fig")
    assert {"accuracy_vs_noise", "accuracy_vs_realised_noise", "noise_rate_vs_temperature"} <= stems(paths)


# --------------------------------------------------------------------------
# every method against the baseline on a grid with one level per noise family (benchmark-small)
# --------------------------------------------------------------------------


def test_one_level_per_family_gets_a_panel_per_task_and_family_with_the_methods_side_by_side():
    table = make_benchmark_table()
    fig = plots.accuracy_figure(table, x="realised")
    assert len(fig.axes) == len(BENCHMARK_SETTINGS)
    for task, family, _, level in BENCHMARK_SETTINGS:
        (ax,) = [ax for ax in fig.axes if ax.get_title().startswith(task) and f"· {family} noise" in ax.get_title()]
        cell = table[(table["task"] == task) & (table["noise_family"] == family) & (table["noise_level"] == level)]
        rate = cell.loc[cell["method"] == CE, "realized_noise_rate"].mean() * 100
        shifts = []
        for method, params in BENCHMARK_METHODS:
            drawn = line(ax, prepare.method_label(method, params))
            assert drawn.get_ydata() == pytest.approx([cell.loc[cell["method"] == method, "test_accuracy"].mean() * 100])
            shifts.append(assert_dodged(ax, drawn.get_xdata(), [rate]))
        assert len(set(np.round(shifts, 9))) == len(BENCHMARK_METHODS)  # no method hides another


def test_method_summary_shows_each_methods_mean_difference_and_probability_of_improvement():
    table = make_benchmark_table()
    summary = prepare.method_summaries(table, reps=500)
    left = plots.draw_method_summary(summary, statistic="mean_diff")
    right = plots.draw_method_summary(summary, statistic="p_improvement")
    labels = sorted(prepare.method_label(m, p) for m, p in BENCHMARK_METHODS[1:])
    assert [t.get_text() for t in left.get_yticklabels()] == labels
    for method, params in BENCHMARK_METHODS[1:]:
        label = prepare.method_label(method, params)
        cells = benchmark_cells(table, method)
        assert line(left, label).get_xdata() == pytest.approx([np.mean([np.mean(t - b) for t, b in cells]) * 100])
        assert line(right, label).get_xdata() == pytest.approx([np.mean([brute_force_improvement(t, b)
                                                                           for t, b in cells])])
        assert line(left, label).get_ydata() == [labels.index(label)]
        row = summary[summary["treatment_label"] == label].iloc[0]
        (bar,) = [c for c in left.containers if c.get_label() == f"_ci {label}"]
        low, width = bar.patches[0].get_x(), bar.patches[0].get_width()
        assert (low, low + width) == (pytest.approx(row["mean_diff_ci_low"] * 100),
                                      pytest.approx(row["mean_diff_ci_high"] * 100))
    assert left.get_xlabel() == "mean Δ test accuracy vs ce over cells (pp)"
    assert right.get_xlim() == (0.0, 1.0)
    with pytest.raises(ValueError, match="statistic"):
        plots.draw_method_summary(summary, statistic="median")


def test_method_summary_figure_one_row_per_model_and_n():
    table = make_benchmark_table()
    both = pd.concat([table, table.assign(n_train=1000, run_id=table["run_id"] + "b")], ignore_index=True)
    fig = plots.method_summary_figure(both)
    assert len(fig.axes) == 4
    assert ["N=100" in fig.axes[0].get_title(), "N=1000" in fig.axes[2].get_title()] == [True, True]
    assert "5 cells: rt-polarity, vader-movie" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="shares its seeds"):
        plots.method_summary_figure(make_table(methods=(CE,)))


def test_plot_all_on_a_grid_with_one_level_per_family_names_each_family(tmp_path):
    table = make_benchmark_table(seeds=3)
    paths = plots.plot_all(table, make_history(table), write_runs(tmp_path / "res", table), tmp_path / "fig")
    assert {"accuracy_vs_realised_noise", "difference_vs_noise", "method_summary",  # one file per figure:
            "transition_rt-polarity_N100_target_rate0.2_temperature", "transition_rt-polarity_N100_target_rate0.2_uniform",
            "memorisation_target_rate0.2_temperature", "memorisation_target_rate0.2_uniform", "memorisation_k1"} <= stems(paths)

"""Tests for "Same rate, different noise": the same_rate_families figure and the report section in every format."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
from fake_runs import write_runs
from family_runs import CE, CONTROL, FAMILIES, REAL, SCL, family_table
from test_report import parse_tables, section

from noisebench.analysis import figures as plots
from noisebench.analysis import prepare
from noisebench.analysis.report import REPORT_WRITERS, report_blocks
from noisebench.analysis.report.blocks import Figure
from noisebench.analysis.report.same_rate import FIGURE_STEM, GAP_READINGS, gap_reading

SCL_LABEL = prepare.method_label(SCL, {"lam": 0.9, "tau": 0.3})
TITLE = "Same rate, different noise"


def means_pct(table: pd.DataFrame, method: str) -> list[float]:
    """Mean test accuracy (%) of ``method``: clean first, then each family in FAMILIES' order."""
    return [table.loc[(table["noise_family"] == f) & (table["method"] == method), "test_accuracy"].mean() * 100
            for f in ("none", *FAMILIES)]


# --------------------------------------------------------------------------
# the figure
# --------------------------------------------------------------------------


def test_figure_shows_each_method_per_family_after_the_clean_anchor(tmp_path):
    table = family_table()
    fig = plots.same_rate_figure(table)
    (ax,) = fig.axes
    assert [t.get_text().split("\n")[0] for t in ax.get_xticklabels()] == ["clean", *FAMILIES]
    assert "ρ = 0.06" in ax.get_title() and ax.get_title().startswith("vader-one-rater")
    for method, label in ((CE, "ce"), (SCL, SCL_LABEL)):
        (line,) = [ln for ln in ax.get_lines() if ln.get_label() == label]
        np.testing.assert_allclose(line.get_ydata(), means_pct(table, method))
        assert np.all(np.diff(line.get_xdata()) > 0.9)  # one marker per family, in order
    markers = {ln.get_marker() for ln in ax.get_lines() if ln.get_label() in ("ce", SCL_LABEL)}
    assert len(markers) == 2
    written = plots.save_figure(fig, tmp_path / FIGURE_STEM)
    png = tmp_path / f"{FIGURE_STEM}.png"
    assert png in written and png.stat().st_size > 20_000
    pixels = matplotlib.image.imread(png)
    assert pixels.shape[0] > 400 and pixels.shape[1] > 800 and float(pixels[..., :3].std()) > 0.05


def test_figure_has_one_panel_per_level_and_needs_two_families_at_one_rate():
    table = pd.concat([family_table(), family_table(rate=0.1, clean=False, start=1000)], ignore_index=True)
    fig = plots.same_rate_figure(table)
    assert sorted(ax.get_title().split("\n")[0].split(" · ")[-1] for ax in fig.axes) == ["ρ = 0.06", "ρ = 0.1"]
    with pytest.raises(ValueError, match="at least two noise families"):
        plots.same_rate_figure(family_table(families=(REAL,)))


def test_plot_all_writes_the_figure_when_two_families_share_a_target_rate(tmp_path):
    table = family_table(seeds=3, families=(REAL, CONTROL))
    paths = plots.plot_all(table, None, write_runs(tmp_path / "res", table), tmp_path / "fig")
    assert {p.name for p in paths} >= {f"{FIGURE_STEM}.png", f"{FIGURE_STEM}.pdf"}


# --------------------------------------------------------------------------
# the report section
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def families_report(tmp_path_factory):
    """The report of the hand-made observed grid (with figures) in every format."""
    root = tmp_path_factory.mktemp("families")
    table = family_table()
    results = write_runs(root / "results", table)
    out_dir = root / "report"
    blocks = report_blocks(table, None, results, out_dir / "report.md", figures_dir=out_dir / "figures")
    return table, blocks, {suffix: write(blocks, out_dir) for suffix, write in REPORT_WRITERS.items()}


def test_section_follows_the_robustness_section_with_its_figure(families_report):
    _, blocks, texts = families_report
    heads = [line for line in texts[".md"].splitlines() if line.startswith("## ")]
    assert heads[heads.index("## More robust, or just better?") + 1] == f"## {TITLE}"
    body = section(texts[".md"], TITLE)
    assert f"figures/{FIGURE_STEM}.png" in body and f"figures/{FIGURE_STEM}.pdf" in body
    assert FIGURE_STEM not in section(texts[".md"], "Figures")  # shown once, in its section
    assert sum(isinstance(b, Figure) and b.png.stem == FIGURE_STEM for b in blocks) == 1
    assert "#### vader-one-rater · all-minilm-l6-v2 · N=100 · ρ = 0.06" in body


def test_section_tables_match_the_runs(families_report):
    table, _, texts = families_report
    level, gap = parse_tables(section(texts[".md"], TITLE))
    assert [(r["noise"], r["method"]) for r in level] == [(f, m) for f in ("clean", *FAMILIES) for m in ("ce", SCL_LABEL)]
    for r, (family, method) in zip(level, [(f, m) for f in ("none", *FAMILIES) for m in (CE, SCL)]):
        runs = table[(table["noise_family"] == family) & (table["method"] == method)]
        assert r["mean %"] == f"{runs['test_accuracy'].mean() * 100:.2f}" and r["runs"] == "8"
        if method == CE:
            assert r["Δ vs ce pp [95% CI]"] == r["gain pp [95% CI]"] == "—"
        elif family == "none":
            assert r["gain pp [95% CI]"] == "—" and r["Δ vs ce pp [95% CI]"] != "—"
        else:
            assert r["gain pp [95% CI]"].startswith(("+", "-"))
    assert [r["method"] for r in gap] == ["ce", SCL_LABEL]
    for r, method in zip(gap, (CE, SCL)):
        real, ctl = (table[(table["noise_family"] == f) & (table["method"] == method)].sort_values("data_seed")
                     for f in (REAL, CONTROL))
        d = real["test_accuracy"].to_numpy() - ctl["test_accuracy"].to_numpy()
        assert r["gap pp [95% CI]"].startswith(f"{d.mean() * 100:+.2f} [") and r["seed pairs"] == "8"
    assert f"**{REAL} − {CONTROL}, paired by seed**" in texts[".md"]
    assert f"ce: {REAL} hurts less than {CONTROL} (+" in section(texts[".md"], TITLE)


def test_section_is_in_html_and_latex(families_report):
    _, _, texts = families_report
    html, tex = texts[".html"], texts[".tex"]
    assert f">{TITLE}</h2>" in html and f"{REAL} − {CONTROL}, paired by seed" in html
    in_section = html.split(f">{TITLE}</h2>")[1].split("<h2")[0]
    assert in_section.count('src="data:image/png;base64,') == 1
    assert f"\\subsection*{{{TITLE}}}" in tex
    in_tex = tex.split(f"\\subsection*{{{TITLE}}}")[1].split("\\subsection*")[0]
    assert f"figures/{FIGURE_STEM}.pdf" in in_tex and in_tex.count("\\begin{tabular}") == 2


@pytest.mark.parametrize(("kwargs", "shown"), [
    ({"families": (REAL,)}, False),  # one family: nothing to set side by side
    ({"families": ("temperature", "uniform"), "clean": False}, False),  # nothing "Every method against ce" lacks
    ({"families": (REAL, CONTROL), "clean": False}, True),  # no clean anchor, but a family and its control
    ({"families": ("temperature", "uniform")}, True),  # a clean anchor: robustness gains side by side
])
def test_section_only_when_the_results_have_families_at_one_rate(tmp_path, kwargs, shown):
    text = REPORT_WRITERS[".md"](report_blocks(family_table(seeds=4, **kwargs), None, tmp_path, tmp_path / "r.md"),
                                 tmp_path)
    assert (f"## {TITLE}" in text) == shown
    if shown:
        body = section(text, TITLE)
        assert ("paired by seed**" in body) == (CONTROL in kwargs["families"])
        assert ("| clean |" in body) == kwargs.get("clean", True)


@pytest.mark.parametrize(("gap", "p_holm", "reading"), [(0.01, 0.01, 0), (-0.01, 0.01, 1), (0.01, 0.2, 2),
                                                        (0.01, float("nan"), 2)])
def test_gap_reading(gap, p_holm, reading):
    row = {"gap": gap, "p_holm": p_holm, "noise_family": REAL, "control_family": CONTROL}
    assert gap_reading(row) == GAP_READINGS[reading].format(family=REAL, control=CONTROL)


def test_no_literal_family_names_in_the_analysis_code():
    root = Path(__file__).parents[2] / "noisebench" / "analysis"
    for name in ("stats/controls.py", "figures/same_rate.py", "report/same_rate.py"):
        text = (root / name).read_text(encoding="utf-8")
        assert f'"{REAL}"' not in text and f'"{CONTROL}"' not in text, name

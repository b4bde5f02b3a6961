"""Tests for the report's formats: one content model (blocks) written as Markdown, HTML or LaTeX by the output's suffix."""

from __future__ import annotations

import base64
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fake_runs import make_benchmark_table, write_runs
from test_report import make_table, parse_tables

from noisebench.analysis.report import REPORT_WRITERS, report_blocks, write_report
from noisebench.analysis.report.blocks import Figure
from tests.conftest import run_cli

DATA = Path(__file__).parent / "data"


def normalised(text: str, results: Path) -> str:
    """Report text without what differs between machines: the results folder and the analysis software's versions."""
    lines = text.replace(str(results), "<results>").splitlines()
    return "\n".join(line for line in lines if not line.startswith("- analysis software:")) + "\n"


@pytest.fixture(scope="module")
def sst2(tmp_path_factory):
    """The sst2 results of test_report, their blocks (with figures) and the report in every format."""
    root = tmp_path_factory.mktemp("formats")
    table = make_table()
    results = write_runs(root / "results", table)
    out_dir = root / "report"
    blocks = report_blocks(table, None, results, out_dir / "report.md", figures_dir=out_dir / "figures")
    texts = {suffix: write(blocks, out_dir) for suffix, write in REPORT_WRITERS.items()}
    return results, out_dir, blocks, texts


class _Images(HTMLParser):
    """The ``src`` of every ``<img>`` and the names of every tag of an HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.sources += [value or "" for name, value in attrs if tag == "img" and name == "src"]


# --------------------------------------------------------------------------
# Markdown: the same text as before the content model
# --------------------------------------------------------------------------


def test_markdown_is_the_report_written_before_the_content_model(sst2):
    results, _, _, texts = sst2
    assert normalised(texts[".md"], results) == (DATA / "report_sst2.md").read_text(encoding="utf-8")


def test_markdown_of_many_methods_is_unchanged(tmp_path):
    out = write_report(make_benchmark_table(), None, tmp_path / "r", tmp_path / "report.md")
    assert normalised(out.read_text(encoding="utf-8"), tmp_path / "r") == \
        (DATA / "report_benchmark.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# LaTeX
# --------------------------------------------------------------------------


def test_latex_has_booktabs_tables_and_balanced_environments(sst2):
    tex = sst2[3][".tex"]
    assert tex.count("\\begin{tabular}") == tex.count("\\toprule") == tex.count("\\midrule") == tex.count("\\bottomrule") > 0
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{(\w+)\}", tex):
        if kind == "begin":
            stack.append(name)
        else:
            assert stack and stack.pop() == name, name
    assert not stack and "\\usepackage{booktabs}" in tex and "\\usepackage{graphicx}" in tex


def test_latex_rows_have_one_cell_per_column_and_text_is_escaped(sst2):
    tex = sst2[3][".tex"]
    for spec, body in re.findall(r"\\begin\{tabular\}\{(l+)\}(.*?)\\end\{tabular\}", tex, flags=re.S):
        rows = [line for line in body.splitlines() if line.endswith("\\\\")]
        assert rows and all(len(re.findall(r"(?<!\\)&", row)) == len(spec) - 1 for row in rows), rows
    body = tex.split("\\begin{document}", 1)[1]
    assert not re.search(r"(?<!\\)[_#$%]", re.sub(r"\$[^$]*\$|\{%\n|\\includegraphics.*", "", body))
    assert "best\\_dev" in tex and "\\ensuremath{\\lambda}=0.9" in tex


def test_latex_marks_holm_significant_differences_and_explains_the_mark(sst2):
    md, tex = sst2[3][".md"], sst2[3][".tex"]
    stats = parse_tables(md.split("### Paired statistics per cell", 1)[1])[0]
    stats_tex = tex.split("Paired statistics per cell", 1)[1].split("\\end{tabular}", 1)[0]
    tex_rows = [line for line in stats_tex.splitlines() if line.endswith("\\\\")][1:]
    assert len(tex_rows) == len(stats)
    for row, line in zip(stats, tex_rows):
        assert ("\\textsuperscript{\\dag}" in line) == (row["significant"] == "yes"), line
        delta = row["Δ pp [CI]"].split(" ")[0]
        assert f"${delta}\\," in line
    note = tex.split("Paired statistics per cell", 1)[1].split("\\end{center}", 1)[0]
    assert "\\textsuperscript{\\dag} Holm-adjusted p $< 0.05$" in note


def test_latex_shows_mean_and_sd_and_includes_the_figure_pdfs(sst2):
    _, out_dir, blocks, texts = sst2
    tex = texts[".tex"]
    assert re.search(r"\$\d+\.\d\d \\pm \d+\.\d\d\$", tex)
    included = re.findall(r"\\includegraphics\[[^]]*\]\{([^}]+)\}", tex)
    figures = [b for b in blocks if isinstance(b, Figure)]
    assert figures and len(included) == len(figures)
    assert all(path.endswith(".pdf") and (out_dir / path).is_file() for path in included)


# --------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------


def test_html_is_self_contained_with_every_png_embedded(sst2):
    _, _, blocks, texts = sst2
    page = _Images()
    page.feed(texts[".html"])
    pngs = [b.png for b in blocks if isinstance(b, Figure)]
    assert [base64.b64decode(s.split(",", 1)[1]) for s in page.sources] == [p.read_bytes() for p in pngs]
    assert all(s.startswith("data:image/png;base64,") for s in page.sources)
    html = texts[".html"]
    assert 'src="http' not in html and 'href="http' not in html and "url(" not in html
    assert not {"script", "link", "iframe"} & page.tags and {"style", "table", "th"} <= page.tags


# --------------------------------------------------------------------------
# write_report and the CLI
# --------------------------------------------------------------------------


def test_write_report_refuses_another_suffix_before_any_work(tmp_path):
    with pytest.raises(ValueError, match=r"'\.pdf'.*\.md, \.html, \.tex"):
        write_report(None, None, tmp_path, tmp_path / "report.pdf")
    assert not (tmp_path / "report.pdf").exists()


def test_cli_writes_html_by_the_suffix(tmp_path):
    results = write_runs(tmp_path / "results", make_table())
    out = tmp_path / "out" / "report.html"
    done = run_cli("report", "--results", results, "--out", out, home=tmp_path / "home")
    assert done.returncode == 0, done.stderr
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and html.count("data:image/png;base64,") >= 1
    assert 'src="http' not in html


def test_cli_another_suffix_is_one_line_and_writes_nothing(tmp_path):
    results = write_runs(tmp_path / "results", make_table())
    out = tmp_path / "out" / "report.pdf"
    done = run_cli("report", "--results", results, "--out", out, home=tmp_path / "home")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert ".md, .html, .tex" in done.stderr and not (tmp_path / "out").exists()
    helped = run_cli("report", "--help", home=tmp_path / "home")
    assert all(suffix in helped.stdout for suffix in REPORT_WRITERS)

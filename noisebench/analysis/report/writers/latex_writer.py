"""The LaTeX writer of the report: a pdflatex document with booktabs tables and the figures' PDFs.

Inline Markdown is parsed by Python-Markdown and its elements mapped to LaTeX (bold, emphasis,
code, lists); text is escaped by :func:`pylatexenc.latexencode.unicode_to_latex` (LaTeX's special
characters and the Greek letters and symbols the report uses). Tables are written by pandas'
``Styler.to_latex`` with booktabs rules. Differences are shown with their interval and a dagger
where the Holm-adjusted p is below :data:`~noisebench.analysis.report.formatting.ALPHA`.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import markdown
import pandas as pd
from pylatexenc.latexencode import unicode_to_latex

from noisebench.analysis.report.blocks import Block, BulletList, Estimate, Figure, Heading, MeanSd, Paragraph, Table
from noisebench.analysis.report.formatting import ALPHA, _pct, _pp
from noisebench.analysis.values import is_missing

PREAMBLE = r"""% noisebench report; compile with pdflatex. Packages: booktabs (tables), graphicx (figures), geometry.
\documentclass[10pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage[margin=2cm]{geometry}
\usepackage{booktabs}
\usepackage{graphicx}
\begin{document}
"""
_SECTIONS = {1: "section*", 2: "subsection*", 3: "subsubsection*", 4: "paragraph*"}
_WRAP = {"strong": r"\textbf{%s}", "em": r"\emph{%s}", "code": r"\texttt{%s}"}
_LISTS = {"ul": "itemize", "ol": "enumerate"}
_WIDE_TABLE_COLUMNS = 6
HOLM_MARK = r"\textsuperscript{\dag}"


def escape(text: str) -> str:
    """``text`` with LaTeX's special characters and non-ASCII symbols escaped."""
    return unicode_to_latex(text)


def _element(node: ET.Element) -> str:
    """LaTeX of one element parsed from Markdown (and of its children and tail text)."""
    inner = escape(node.text or "") + "".join(_element(child) for child in node)
    if node.tag in _WRAP:
        inner = _WRAP[node.tag] % inner
    elif node.tag in _LISTS:
        inner = f"\\begin{{{_LISTS[node.tag]}}}\n" + inner.strip() + f"\n\\end{{{_LISTS[node.tag]}}}\n"
    elif node.tag == "li":
        inner = "\\item " + inner.strip()
    elif node.tag == "p":
        inner = inner.strip() + "\n\n"
    return inner + escape(node.tail or "")


def inline(text: str) -> str:
    """LaTeX of Markdown text (paragraphs, bullet lists, bold, emphasis, code)."""
    root = ET.fromstring(f"<div>{markdown.markdown(text, output_format='xhtml')}</div>")
    return _element(root).strip()


def cell(value: Any) -> str:
    """One table cell: a difference with its interval (and a Holm mark), mean ± sd, or text."""
    if isinstance(value, Estimate):
        if is_missing(value.value):
            return "n/a"
        interval = "[n/a]" if is_missing(value.low) or is_missing(value.high) else f"[{_pp(value.low)}, {_pp(value.high)}]"
        return f"${_pp(value.value)}\\,{interval}$" + (HOLM_MARK if value.holm_significant(ALPHA) else "")
    if isinstance(value, MeanSd):
        sd = "" if is_missing(value.sd) else f" \\pm {_pct(value.sd)}"
        return f"${_pct(value.mean)}{sd}$" + ("" if value.n is None else f" ({value.n})")
    return inline(str(value)) if isinstance(value, str) else escape(str(value))


def tabular(block: Table) -> str:
    """The booktabs ``tabular`` of a table (pandas ``Styler.to_latex``), with a note on the Holm mark when used."""
    frame = pd.DataFrame(list(block.rows), columns=range(len(block.header)), dtype=object)
    styler = frame.style.hide(axis="index").format(cell)
    styler = styler.format_index(lambda i: inline(block.header[i]), axis=1)
    body = styler.to_latex(hrules=True, column_format="l" * len(block.header))
    if len(block.header) > _WIDE_TABLE_COLUMNS:
        body = "\\resizebox{\\linewidth}{!}{%\n" + body.strip() + "\n}\n"
    marked = any(isinstance(c, Estimate) and c.holm_significant(ALPHA) for row in block.rows for c in row)
    note = f"\n{{\\footnotesize {HOLM_MARK} Holm-adjusted p $< {ALPHA:g}$.}}\n" if marked else ""
    return "\\begin{center}\n" + body + note + "\\end{center}"


def figure(block: Figure, out_dir: Path) -> str:
    """A figure float including the PDF (the PNG when there is no PDF), relative to the .tex file's folder."""
    path = Path(os.path.relpath(block.pdf or block.png, out_dir)).as_posix()
    return (f"\\begin{{figure}}[htbp]\n\\centering\n\\includegraphics[width=\\linewidth]{{{path}}}\n"
            f"\\caption{{{escape(block.caption)}}}\n\\end{{figure}}")


def latex_block(block: Block, out_dir: Path) -> str:
    """The LaTeX of one block."""
    if isinstance(block, Heading):
        return f"\\{_SECTIONS.get(block.level, 'paragraph*')}{{{inline(block.text)}}}"
    if isinstance(block, Paragraph):
        return inline(block.text)
    if isinstance(block, BulletList):
        return inline("\n".join(f"- {item}" for item in block.items))
    if isinstance(block, Table):
        return tabular(block)
    if isinstance(block, Figure):
        return figure(block, out_dir)
    raise TypeError(f"not a report block: {block!r}")


def to_latex(blocks: Sequence[Block], out_dir: Path = Path(".")) -> str:
    """The report as a LaTeX document; ``out_dir``: the folder of the .tex file (figure paths are relative to it)."""
    body = "\n\n".join(latex_block(block, out_dir) for block in blocks)
    return PREAMBLE + "\n" + body + "\n\n\\end{document}\n"

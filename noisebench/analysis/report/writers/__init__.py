"""The report's writers, one per file format, chosen by the output file's suffix (:data:`REPORT_WRITERS`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from noisebench.analysis.report.blocks import Block
from noisebench.analysis.report.writers.html_writer import to_html
from noisebench.analysis.report.writers.latex_writer import to_latex
from noisebench.analysis.report.writers.markdown_writer import to_markdown

__all__ = ["REPORT_WRITERS", "report_writer", "to_html", "to_latex", "to_markdown"]

#: Output suffix → writer(blocks, folder of the output file) → the file's text.
REPORT_WRITERS: dict[str, Callable[[Sequence[Block], Path], str]] = {
    ".md": to_markdown,
    ".html": to_html,
    ".tex": to_latex,
}


def report_writer(out_path: Path | str) -> Callable[[Sequence[Block], Path], str]:
    """The writer for ``out_path``'s suffix (case-insensitive).

    Raises
    ------
    ValueError
        For any other suffix.
    """
    suffix = Path(out_path).suffix.lower()
    if suffix not in REPORT_WRITERS:
        raise ValueError(f"cannot write a report as {suffix or 'a file without a suffix'!r}: "
                         f"use one of {', '.join(REPORT_WRITERS)}")
    return REPORT_WRITERS[suffix]

"""The Markdown writer of the report: each block as Markdown, blocks separated by a blank line."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from noisebench.analysis.report.blocks import Block, BulletList, Figure, Heading, Paragraph, Table
from noisebench.analysis.report.formatting import _md_table


def _relative(path: Path, out_dir: Path) -> str:
    return Path(os.path.relpath(path, out_dir)).as_posix()


def markdown_lines(block: Block, out_dir: Path) -> list[str]:
    """The Markdown lines of one block (no trailing blank line); figure links are relative to ``out_dir``."""
    if isinstance(block, Heading):
        return [f"{'#' * block.level} {block.text}"]
    if isinstance(block, Paragraph):
        return block.text.split("\n")
    if isinstance(block, BulletList):
        return [f"- {item}" for item in block.items]
    if isinstance(block, Table):
        return _md_table(block.header, block.rows)
    if isinstance(block, Figure):
        link = f" ([PDF]({_relative(block.pdf, out_dir)}))" if block.pdf is not None else ""
        return [f"![{block.caption}]({_relative(block.png, out_dir)}){link}"]
    raise TypeError(f"not a report block: {block!r}")


def to_markdown(blocks: Sequence[Block], out_dir: Path = Path(".")) -> str:
    """The report as Markdown text; ``out_dir``: the folder of the Markdown file (figure links are relative to it)."""
    lines: list[str] = []
    for block in blocks:
        body = markdown_lines(block, out_dir)
        lines += body + [""] if body else []
    return "\n".join(lines).rstrip() + "\n"

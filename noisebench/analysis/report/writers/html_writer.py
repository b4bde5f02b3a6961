"""The HTML writer of the report: one self-contained page (figures as data URIs, inline CSS, no external resource).

The text is converted by Python-Markdown (``tables`` and ``toc`` extensions) from the Markdown of
each block; a figure is an ``<img>`` whose PNG is embedded as a base64 data URI.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from pathlib import Path

import markdown

from noisebench.analysis.report.blocks import Block, Figure, Heading
from noisebench.analysis.report.writers.markdown_writer import markdown_lines

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 75rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45;
       color: #1d1d1f; }
h1, h2 { border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .85rem; display: block; overflow-x: auto; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #f0f2f5; }
tbody tr:nth-child(even) { background: #fafafa; }
code { background: #f3f3f3; padding: 0 .2rem; border-radius: 3px; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .85rem; color: #555; }
.toc { background: #f7f7f9; padding: .3rem 1rem; border-radius: 4px; }
"""


def figure_html(figure: Figure) -> str:
    """``<figure>`` with the PNG embedded as a base64 data URI and its caption."""
    data = base64.b64encode(figure.png.read_bytes()).decode("ascii")
    caption = html.escape(figure.caption)
    return (f'<figure><img alt="{caption}" src="data:image/png;base64,{data}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _markdown_source(blocks: Sequence[Block], out_dir: Path) -> str:
    """The Markdown of the blocks with figures as raw HTML, and a table of contents after the title."""
    chunks: list[str] = []
    for block in blocks:
        chunks.append(figure_html(block) if isinstance(block, Figure) else "\n".join(markdown_lines(block, out_dir)))
        if isinstance(block, Heading) and block.level == 1:
            chunks.append("[TOC]")
    return "\n\n".join(chunks) + "\n"


def to_html(blocks: Sequence[Block], out_dir: Path = Path(".")) -> str:
    """The report as one self-contained HTML page (``out_dir`` is unused: nothing is linked)."""
    body = markdown.markdown(_markdown_source(blocks, out_dir), extensions=["tables", "toc"],
                             extension_configs={"toc": {"toc_depth": "2-2"}}, output_format="html")
    title = next((html.escape(b.text) for b in blocks if isinstance(b, Heading) and b.level == 1), "noisebench report")
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>{_CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")

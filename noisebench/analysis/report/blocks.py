"""The report's content model: a list of blocks (headings, paragraphs, lists, tables, figures) that every writer reads.

Text in a block is Markdown inline text (``**bold**``, ``*emphasis*``, ```code```); a table keeps
structured cells where a writer formats them its own way: :class:`Estimate` (a difference with its
interval and, where one was tested, its Holm-adjusted p) and :class:`MeanSd`. ``str(cell)`` is the
cell as the Markdown report shows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noisebench.analysis.report.formatting import _delta_ci, _pct
from noisebench.analysis.values import is_missing


@dataclass(frozen=True)
class Heading:
    """A section heading; ``level`` 1 is the report's title."""

    level: int
    text: str


@dataclass(frozen=True)
class Paragraph:
    """One paragraph; a newline in ``text`` is a line break inside it."""

    text: str


@dataclass(frozen=True)
class BulletList:
    """A bullet list; an item may hold a newline followed by an indented continuation line."""

    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A table: one header cell per column, rows of cells (text, numbers, :class:`Estimate`, :class:`MeanSd`)."""

    header: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Figure:
    """A figure written as a PNG (and, when ``pdf`` is set, the same figure as a PDF)."""

    png: Path
    caption: str
    pdf: Path | None = None


Block = Heading | Paragraph | BulletList | Table | Figure


@dataclass(frozen=True)
class Estimate:
    """A difference (fraction) with its interval; ``p_holm``: its Holm-adjusted p where it was tested."""

    value: float
    low: float
    high: float
    p_holm: float = math.nan

    def __str__(self) -> str:
        return _delta_ci(self.value, self.low, self.high)

    def holm_significant(self, alpha: float) -> bool:
        """Whether the Holm-adjusted p is below ``alpha`` (False when not tested)."""
        return not is_missing(self.p_holm) and float(self.p_holm) < alpha


@dataclass(frozen=True)
class MeanSd:
    """A mean accuracy ± its sample standard deviation (fractions), optionally over ``n`` runs."""

    mean: float
    sd: float
    n: int | None = None

    def __str__(self) -> str:
        sd = "" if is_missing(self.sd) else f" ± {_pct(self.sd)}"
        return f"{_pct(self.mean)}{sd}" + ("" if self.n is None else f" ({self.n})")


def table_block(header: list[str], rows: list[list[Any]]) -> Table:
    """A :class:`Table` from lists (the section builders' shape)."""
    return Table(tuple(header), tuple(tuple(row) for row in rows))


def bullets(lines: list[str]) -> BulletList:
    """A :class:`BulletList` from Markdown list lines (``"- item"``; a line starting with two spaces continues the item)."""
    items: list[str] = []
    for line in lines:
        if line.startswith("- ") or not items:
            items.append(line.removeprefix("- "))
        else:
            items[-1] += "\n" + line
    return BulletList(tuple(items))

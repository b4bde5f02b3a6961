"""A bounded numeric parameter: a noise family's level or a method's hyper-parameter."""

from __future__ import annotations

import math
from dataclasses import dataclass

from noisebench.errors import ConfigError


@dataclass(frozen=True)
class Parameter:
    """A named number with bounds (open or closed) and, for hyper-parameters, a default.

    ``label`` is how plots and reports show it (e.g. ``"temperature T"``); ``symbol`` is the short
    form used in folder names and tables (``"T"``).
    """

    name: str
    symbol: str
    label: str
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    integer: bool = False
    default: float | None = None
    help: str = ""

    def bounds_text(self) -> str:
        """The allowed range, e.g. ``(0, inf)`` or ``[0, 1]``."""
        low = f"{'(' if self.low_open or math.isinf(self.low) else '['}{_fmt(self.low)}"
        high = f"{_fmt(self.high)}{')' if self.high_open or math.isinf(self.high) else ']'}"
        return f"{low}, {high}"

    def contains(self, value: float) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return False
        if self.integer and value != int(value):
            return False
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below and math.isfinite(value)

    def check(self, value: float) -> float:
        """``value`` as a float (an int for integer parameters), or a ConfigError naming the range."""
        if not self.contains(value):
            kind = "an integer in" if self.integer else "in"
            raise ConfigError(f"{self.name} must be {kind} {self.bounds_text()}, got {value!r}")
        return int(value) if self.integer else float(value)


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"

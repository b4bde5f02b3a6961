"""Missing-value test shared by the analysis modules (None, pandas NA and NaN are all 'missing')."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def is_missing(value: Any) -> bool:
    """True for None, ``pd.NA`` and anything that converts to a float NaN."""
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return False

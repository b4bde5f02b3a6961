"""Published numbers of Gunel et al. (2021), for side-by-side comparison.

Beliz Gunel, Jingfei Du, Alexis Conneau, Ves Stoyanov: "Supervised
Contrastive Learning for Pre-trained Language Model Fine-tuning", ICLR 2021,
arXiv:2011.01403.  All numbers are test accuracies in percent of RoBERTa-Large
fine-tuned with cross-entropy (CE) or CE + supervised contrastive loss
(CE+SCL), as printed in the paper (mean over the top-3 runs by dev accuracy,
± standard deviation where the paper gives one).

The table numbering (Table 2 few-shot, Table 3 noisy, Table 4 full GLUE,
Table 5 transfer) follows arXiv v1 as transcribed for this project; later
versions renumber/reshape some tables, so check the numbering and values
against the PDF before quoting them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis.values import is_missing
from noisebench.methods.ce import CE
from noisebench.methods.ce_scl import CE_SCL
from noisebench.noise.families import CLEAN, is_clean
from noisebench.noise.families.temperature import TemperatureFamily

__all__ = ["SOURCE", "TABLES", "COLUMNS", "PAPER_BASELINE", "PAPER_TREATMENT", "PAPER_FAMILY", "paper_table",
           "match_paper"]

#: The paper's two methods and its one noise family (``noise_level`` holds the family's temperature T).
PAPER_BASELINE: str = CE.name
PAPER_TREATMENT: str = CE_SCL.name
PAPER_FAMILY: str = TemperatureFamily.name

#: Bibliographic source of every number in :func:`paper_table`.
SOURCE: str = (
    "Gunel, Du, Conneau, Stoyanov. Supervised Contrastive Learning for Pre-trained "
    "Language Model Fine-tuning. ICLR 2021, arXiv:2011.01403 v1. "
    "Table 2 = few-shot, Table 3 = noisy training data, Table 4 = full GLUE, "
    "Table 5 = few-shot transfer (numbering per arXiv v1; check against the PDF)."
)

#: ``setting -> value of the table column``.
TABLES: dict[str, str] = {
    "few-shot": "Table 2 (few-shot)",
    "noisy": "Table 3 (noisy)",
    "full": "Table 4 (full GLUE)",
    "transfer": "Table 5 (transfer)",
}

COLUMNS: tuple[str, ...] = (
    "table", "setting", "task", "n_train", "noise_family", "noise_level", "method", "mean", "std", "note",
)

_NOISY_NOTE = "paper's training-set size for the noisy runs not encoded; see paper Sec. 5.2"

# few-shot: task -> N -> (ce mean, ce std, scl mean, scl std)
_FEW_SHOT: dict[str, dict[int, tuple[float, float, float, float]]] = {
    "sst2": {20: (85.9, 2.1, 88.1, 3.3), 100: (91.1, 1.3, 92.8, 1.3), 1000: (94.0, 0.6, 94.1, 0.5)},
    "qnli": {20: (65.0, 2.0, 75.7, 4.8), 100: (81.9, 0.4, 82.5, 0.4), 1000: (89.2, 0.6, 89.8, 0.4)},
    "mnli": {20: (39.3, 2.5, 42.7, 4.6), 100: (59.2, 2.1, 61.1, 3.0), 1000: (81.4, 0.2, 81.5, 0.2)},
}

_NOISY_TEMPERATURES: tuple[float, ...] = (0.3, 0.5, 0.7, 0.9)
# noisy: task -> method -> means at the temperatures above
_NOISY: dict[str, dict[str, tuple[float, ...]]] = {
    "sst2": {CE.name: (92.0, 91.4, 91.7, 90.0), CE_SCL.name: (92.6, 91.5, 91.2, 91.5)},
    "qnli": {CE.name: (81.1, 80.0, 78.9, 75.9), CE_SCL.name: (82.7, 81.9, 81.3, 80.1)},
    "mnli": {CE.name: (54.0, 55.3, 54.6, 47.0), CE_SCL.name: (61.2, 62.1, 62.3, 53.0)},
}

# full GLUE: task -> (ce mean, scl mean)
_FULL: dict[str, tuple[float, float]] = {
    "sst2": (94.7, 95.9),
    "cola": (86.4, 87.3),
    "mrpc": (87.3, 87.8),
    "rte": (85.0, 85.6),
    "qnli": (94.5, 95.4),
    "mnli": (90.0, 89.9),
}

# transfer: task -> (ce mean, ce std, scl mean, scl std)
_TRANSFER: dict[str, tuple[float, float, float, float]] = {
    "amazon2": (87.4, 6.4, 90.3, 0.6),
    "yelp2": (90.8, 2.2, 91.2, 0.4),
}

_NAN = float("nan")


def paper_table() -> pd.DataFrame:
    """The published CE and CE+SCL results as a tidy table.

    One row per (table, task, n_train, noise_level, method).  ``mean`` and
    ``std`` are test accuracies in **percent** (the noisebench results table
    uses fractions); ``std`` is NaN where the paper gives none (noisy and full
    GLUE tables).  ``n_train`` is the few-shot training-set size, NaN
    elsewhere (float column because of the NaNs); ``noise_level`` is the
    temperature T of the noisy table (``noise_family`` :data:`PAPER_FAMILY`), NaN
    elsewhere (``noise_family`` ``"none"``, i.e. clean).  Task
    names are noisebench's lower-case ones.  See :data:`SOURCE`; the table
    numbering follows arXiv v1 and should be checked against the PDF.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COLUMNS`: 18 few-shot, 24 noisy, 12 full and 4 transfer
        rows.
    """
    rows: list[dict[str, Any]] = []

    def add(setting: str, task: str, n_train: float, temperature: float, method: str,
            mean: float, std: float, note: str = "") -> None:
        rows.append({
            "table": TABLES[setting], "setting": setting, "task": task,
            "n_train": float(n_train), "noise_family": CLEAN if math.isnan(temperature) else PAPER_FAMILY,
            "noise_level": float(temperature), "method": method,
            "mean": float(mean), "std": float(std), "note": note,
        })

    for task, by_n in _FEW_SHOT.items():
        for n_train, (ce_m, ce_s, scl_m, scl_s) in by_n.items():
            add("few-shot", task, n_train, _NAN, PAPER_BASELINE, ce_m, ce_s)
            add("few-shot", task, n_train, _NAN, PAPER_TREATMENT, scl_m, scl_s)
    for task, by_method in _NOISY.items():
        for method, means in by_method.items():
            for temperature, mean in zip(_NOISY_TEMPERATURES, means, strict=True):
                add("noisy", task, _NAN, temperature, method, mean, _NAN, _NOISY_NOTE)
    for task, (ce_m, scl_m) in _FULL.items():
        add("full", task, _NAN, _NAN, PAPER_BASELINE, ce_m, _NAN)
        add("full", task, _NAN, _NAN, PAPER_TREATMENT, scl_m, _NAN)
    for task, (ce_m, ce_s, scl_m, scl_s) in _TRANSFER.items():
        add("transfer", task, _NAN, _NAN, PAPER_BASELINE, ce_m, ce_s)
        add("transfer", task, _NAN, _NAN, PAPER_TREATMENT, scl_m, scl_s)

    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame.attrs["source"] = SOURCE
    return frame


def _level(cell: Mapping[str, Any]) -> Any:
    """The cell's noise level (``noise_level``; ``temperature`` is accepted for the paper's family)."""
    return cell.get("noise_level", cell.get("temperature"))


def _infer_setting(cell: Mapping[str, Any]) -> str:
    if not is_missing(_level(cell)) or not is_clean(cell.get("noise_family")):
        return "noisy"
    if cell.get("task") in _TRANSFER:
        return "transfer"
    if not is_missing(cell.get("n_train")):
        return "few-shot"
    return "full"


def match_paper(cell: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of :func:`paper_table` comparable to one noisebench cell.

    Parameters
    ----------
    cell
        Mapping with at least ``task``; optionally ``setting`` (one of
        ``"few-shot"``, ``"noisy"``, ``"full"``, ``"transfer"``), ``n_train``,
        ``noise_family`` and ``noise_level`` (or ``temperature``) (e.g. a row of
        :func:`noisebench.analysis.stats.compare_methods` as a dict).

    Returns
    -------
    pandas.DataFrame
        The matching paper rows (both methods), possibly empty.

    Notes
    -----
    Without an explicit ``setting`` it is inferred: a finite noise level or a
    noisy ``noise_family`` means "noisy"; else Amazon-2/Yelp-2
    mean "transfer"; else a finite ``n_train`` means "few-shot"; else "full".
    Matching rules per setting:

    * few-shot: same task and ``n_train`` (only 20, 100 and 1000 exist);
    * noisy: same task and level (``numpy.isclose``); ``n_train`` is
      ignored because the paper's noisy rows carry none, and only the
      paper's noise family (:data:`PAPER_FAMILY`) matches;
    * full / transfer: same task; ``n_train`` is ignored.
    """
    if "task" not in cell:
        raise ValueError("match_paper: cell needs a 'task' entry")
    setting = cell.get("setting") or _infer_setting(cell)
    if setting not in TABLES:
        raise ValueError(f"match_paper: unknown setting {setting!r}; expected one of {list(TABLES)}")
    table = paper_table()
    mask = (table["setting"] == setting) & (table["task"] == cell["task"])
    if setting == "few-shot":
        n_train = cell.get("n_train")
        if is_missing(n_train):
            raise ValueError("match_paper: a few-shot cell needs n_train")
        mask &= table["n_train"] == float(n_train)
    elif setting == "noisy":
        noise_family = cell.get("noise_family")
        if noise_family is not None and noise_family != PAPER_FAMILY:
            return table.iloc[0:0].reset_index(drop=True)  # the paper has one noise family
        level = _level(cell)
        if is_missing(level):
            raise ValueError("match_paper: a noisy cell needs a noise level")
        mask &= np.isclose(table["noise_level"].to_numpy(dtype=float), float(level))
    return table[mask].reset_index(drop=True)

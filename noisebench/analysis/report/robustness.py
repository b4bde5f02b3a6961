"""Report section "More robust, or just better?": per setting and treatment, the robustness gain at each noise level."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.keys import NOISE_SETUP_KEYS, PANEL_KEYS, TRAINING_KEYS
from noisebench.analysis.report.blocks import Block, Estimate, Heading, Paragraph, bullets, table_block
from noisebench.analysis.report.formatting import ALPHA, _delta_ci, _n, _noise, _pp
from noisebench.analysis.stats import format_p
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE

#: Per-row verdicts of the robustness gain.
GAIN_VERDICTS: tuple[str, str, str] = ("more robust", "less robust", "no evidence at this power")
_SETTING = PANEL_KEYS + ("noise_family", "noise_param") + NOISE_SETUP_KEYS + TRAINING_KEYS


def gain_verdict(row: Mapping[str, Any], *, alpha: float = ALPHA) -> tuple[str, str]:
    """(verdict, one sentence) for one :func:`~noisebench.analysis.stats.robustness_gains` row.

    *more robust* / *less robust*: the Holm-adjusted sign-flip p of the gain is below ``alpha``
    and the gain is positive / negative; otherwise *no evidence at this power* (the sentence says
    whether the clean Δ alone, i.e. "just better", is what the noisy Δ shows).
    """
    gain = f"gain {_delta_ci(row['gain'], row['ci_low'], row['ci_high'])} pp"
    if int(row["n_pairs"]) < 2 or is_missing(row["p_holm"]):
        return GAIN_VERDICTS[2], f"No evidence at this power: {int(row['n_pairs'])} seed pair(s), too few for a test."
    p = f"Holm p = {format_p(row['p_holm'])}"
    if float(row["p_holm"]) < alpha:
        more = float(row["gain"]) > 0
        return (GAIN_VERDICTS[0 if more else 1],
                f"{'More' if more else 'Less'} robust: the advantage over the baseline "
                f"{'grows' if more else 'shrinks'} under noise from {_pp(row['clean_delta'])} to "
                f"{_pp(row['noisy_delta'])} pp ({gain}, {p}).")
    floor = 2.0 / 2 ** int(row["n_pairs"])
    why = (f"with {int(row['n_pairs'])} pairs the exact sign-flip p cannot fall below {floor:.3g}"
           if floor >= alpha else f"{p} ≥ {alpha:g}")
    low, high = float(row["ci_low"]), float(row["ci_high"])
    if low > 0 or high < 0:
        why = f"the bootstrap interval excludes 0 but the Holm-adjusted exact test does not ({why})"
    return GAIN_VERDICTS[2], f"No evidence at this power: {gain}, {why}."


def _heading(row: Mapping[str, Any], treatment: str) -> Heading:
    parts = [f"{row['task']}", f"{row['model']}", f"N={_n(row['n_train'])}", f"{row['noise_family']} noise"]
    parts += [f"{k.replace('_', ' ')} {row[k]}" for k in NOISE_SETUP_KEYS + TRAINING_KEYS if not is_missing(row.get(k))]
    return Heading(4, f"{' · '.join(parts)}: {treatment} vs {row['baseline_label']}")


def _block(rows: pd.DataFrame) -> list[Block]:
    """The level table and the verdict sentences of one (setting, treatment variant)."""
    first = rows.iloc[0]
    body, sentences = [], []
    for r in rows.sort_values("noise_level").to_dict("records"):
        verdict, sentence = gain_verdict(r)
        body.append([_noise(r), int(r["n_pairs"]), _pp(r["clean_delta"]), _pp(r["noisy_delta"]),
                     Estimate(r["gain"], r["ci_low"], r["ci_high"], r["p_holm"]), format_p(r["p_holm"]), verdict])
        sentences.append(f"- {_noise(r)}: {sentence}")
        if r["n_missing_clean"]:
            sentences.append(f"  Left out ({int(r['n_missing_clean'])} noisy pair(s) without a clean partner): "
                             f"{r['missing_clean']}.")
    headers = ["level", "seed pairs", "clean Δ pp", "noisy Δ pp", "gain pp (mean, 95% CI)", "p (Holm)", "verdict"]
    return [_heading(first, str(first["treatment_label"])), table_block(headers, body), bullets(sentences)]


def _robustness_section(gains: pd.DataFrame) -> list[Block]:
    """The headline section; ``gains`` is :func:`~noisebench.analysis.stats.robustness_gains` output (any rows)."""
    blocks: list[Block] = [Heading(2, "More robust, or just better?"), Paragraph(
             f"A method that beats {BASELINE} under noise may simply beat it everywhere.  Per seed, the robustness "
             f"gain is (treatment − {BASELINE} at the noise level) − (treatment − {BASELINE} on clean labels), the "
             "four runs sharing their data seed and train seed (each noisy run anchored to the clean run of its own "
             "method; several noise seeds per clean partner are averaged first).  clean Δ / noisy Δ = mean "
             "treatment − baseline test accuracy over those seed pairs in percentage points; gain = noisy Δ − clean "
             "Δ with its 95% bootstrap interval; p (Holm) = exact sign-flip p of the gain adjusted by Holm over the "
             f"noise levels of one setting and treatment.  *more robust* / *less robust*: Holm p < {ALPHA:g}; "
             "otherwise *no evidence at this power*.")]
    rows = gains[gains["n_pairs"] > 0] if not gains.empty else gains
    if rows.empty:
        missing = int(gains["n_missing_clean"].sum()) if not gains.empty else 0
        why = (f"{missing} noisy pair(s) have no clean partner of both methods" if missing
               else "the results have no treatment and baseline runs with clean and noisy labels on shared seeds")
        return blocks + [Paragraph(f"Not measured: {why}.")]
    labels = [prepare.method_label(r["treatment_method"], r) for r in rows.to_dict("records")]
    rows = rows.assign(treatment_label=labels, baseline_label=[prepare.method_label(m, {}) for m in rows["baseline_method"]])
    for _, block in prepare.groups(rows, _SETTING + ("treatment_label",)):
        blocks += _block(block)
    return blocks

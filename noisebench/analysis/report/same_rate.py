"""Report section "Same rate, different noise": the noise families that ran at one target rate, side by side.

Present when some target-rate level of a task has runs of two or more noise families (the condition of
the ``same_rate_families`` figure) and the section can say more than "Every method against the
baseline" does: the level has a clean anchor (so robustness gains), or a family and its synthetic
control (so their paired gap).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.keys import TRAINING_KEYS
from noisebench.analysis.report.blocks import Block, Estimate, Figure, Heading, Paragraph, bullets, table_block
from noisebench.analysis.report.formatting import ALPHA, _delta_ci, _n, _pct, _select
from noisebench.analysis.stats import MATCH_KEYS, format_p
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE

FIGURE_STEM = "same_rate_families"
"""The figure this section shows (written by :func:`~noisebench.analysis.figures.plot_all`)."""
FIGURE_CAPTION = ("Same rate, different noise: mean test accuracy per noise family at one target rate, one marker per "
                  "method (95% t-interval); dashed: each method's clean mean")
GAP_READINGS: tuple[str, str, str] = ("{family} hurts less than {control}", "{family} hurts more than {control}",
                                      "no evidence either way at this power")
"""How the gap of one method reads: Holm p < :data:`ALPHA` with a positive or a negative gap, or neither."""
_NA = "—"


def has_section(comparison: pd.DataFrame, gaps: pd.DataFrame) -> bool:
    """Whether the report shows the section: matched levels with a clean anchor or a family and its control."""
    return not comparison.empty and (bool(comparison["clean"].any()) or not _level_gaps(gaps, comparison).empty)


def _level_gaps(gaps: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``gaps`` at one of the matched levels of ``levels`` (rows with :data:`MATCH_KEYS`)."""
    if gaps.empty or levels.empty:
        return gaps.iloc[0:0]
    keys = levels[list(MATCH_KEYS)].drop_duplicates().to_dict("records")
    return pd.concat([_select(gaps, key) for key in keys])


def _level_heading(level: Mapping[str, Any]) -> Heading:
    symbol = prepare.level_symbol(level["noise_family"], level["noise_param"])
    parts = [str(level["task"]), str(level["model"]), f"N={_n(level['n_train'])}",
             f"{symbol} = {float(level['noise_level']):g}"]
    parts += [f"{k.replace('_', ' ')} {level[k]}" for k in TRAINING_KEYS if not is_missing(level.get(k))]
    return Heading(4, " · ".join(parts))


def _noise_text(row: Mapping[str, Any], several_setups: set[Any]) -> str:
    """``clean``, the family, or the family with its noise set-up where the family has several at the level."""
    if row["clean"]:
        return "clean"
    setup = prepare.noise_setup_text(row)
    return f"{row['noise_family']} ({setup})" if setup and row["noise_family"] in several_setups else str(row["noise_family"])


def _comparison_table(rows: pd.DataFrame) -> Block:
    """Per family (clean first) and method: runs, mean accuracy, Δ vs the baseline, robustness gain."""
    setups: dict[Any, set[str]] = {}
    for r in rows.to_dict("records"):
        setups.setdefault(r["noise_family"], set()).add(prepare.noise_setup_text(r))
    several = {f for f, texts in setups.items() if len(texts) > 1}
    body = []
    for r in rows.to_dict("records"):
        baseline = r["method"] == BASELINE
        delta = _NA if baseline else Estimate(r["delta"], r["delta_ci_low"], r["delta_ci_high"], r["delta_p_holm"])
        gain = _NA if baseline or r["clean"] else Estimate(r["gain"], r["gain_ci_low"], r["gain_ci_high"], r["gain_p_holm"])
        rate = "0%" if r["clean"] else ("n/a" if is_missing(r["realised_rate"]) else f"{float(r['realised_rate']):.1%}")
        body.append([_noise_text(r, several), rate, prepare.method_label(r["method"], r), int(r["n_runs"]), _pct(r["mean"]),
                     delta, _NA if baseline else format_p(r["delta_p_signflip"]), gain,
                     _NA if baseline or r["clean"] else format_p(r["gain_p_holm"])])
    header = ["noise", "mean realised noise", "method", "runs", "mean %", f"Δ vs {BASELINE} pp [95% CI]",
              "p (sign-flip)", "gain pp [95% CI]", "p (Holm)"]
    return table_block(header, body)


def gap_reading(row: Mapping[str, Any], *, alpha: float = ALPHA) -> str:
    """One of :data:`GAP_READINGS`, filled in, for a :func:`~noisebench.analysis.stats.control_gaps` row (by its Holm p)."""
    if is_missing(row["p_holm"]) or float(row["p_holm"]) >= alpha:
        reading = GAP_READINGS[2]
    else:
        reading = GAP_READINGS[0 if float(row["gap"]) > 0 else 1]
    return reading.format(family=row["noise_family"], control=row["control_family"])


def _gap_blocks(gaps: pd.DataFrame) -> list[Block]:
    """Per family and control: the gap table per method and the sentence reading it."""
    blocks: list[Block] = []
    for (family, control), rows in gaps.groupby(["noise_family", "control_family"], sort=True):
        records = rows.to_dict("records")
        body = [[prepare.method_label(r["method"], r), int(r["n_pairs"]), _pct(r["mean_family"]), _pct(r["mean_control"]),
                 Estimate(r["gap"], r["ci_low"], r["ci_high"], r["p_holm"]), format_p(r["p_ttest"]),
                 format_p(r["p_signflip"]), format_p(r["p_holm"])] for r in records]
        header = ["method", "seed pairs", f"{family} %", f"{control} %", "gap pp [95% CI]", "p (t)", "p (sign-flip)",
                  "p (Holm)"]
        readings = "; ".join(f"{prepare.method_label(r['method'], r)}: {gap_reading(r)} "
                             f"({_delta_ci(r['gap'], r['ci_low'], r['ci_high'])} pp, Holm p = {format_p(r['p_holm'])})"
                             for r in records)
        blocks += [Paragraph(f"**{family} − {control}, paired by seed** ({control} is the synthetic control of {family})"),
                   table_block(header, body),
                   Paragraph(f"The gap is the part of the {family} noise that its control, flipping as many labels at the "
                             f"same rate, does not reproduce (for a control with the same transition matrix T: the "
                             f"instance-dependent part of real noise); a positive gap means {family} hurts less than "
                             f"{control}, a negative one that it hurts more.  Here: {readings}.")]
        unpaired = [f"- {prepare.method_label(r['method'], r)}: {int(r['n_unpaired_family'])} {family} and "
                    f"{int(r['n_unpaired_control'])} {control} run(s) without a partner of the same seeds"
                    for r in records if r["n_unpaired_family"] or r["n_unpaired_control"]]
        blocks += [Paragraph("Left out of the gap:"), bullets(unpaired)] if unpaired else []
    return blocks


def _same_rate_section(comparison: pd.DataFrame, gaps: pd.DataFrame, figures: Sequence[Path] = ()) -> list[Block]:
    """The section, or nothing (see :func:`has_section`).

    ``comparison``: :func:`~noisebench.analysis.stats.same_rate_comparison`; ``gaps``:
    :func:`~noisebench.analysis.stats.control_gaps`; ``figures``: the written figure files (the
    ``same_rate_families`` PNG, with its PDF, is shown when among them).
    """
    if not has_section(comparison, gaps):
        return []
    blocks: list[Block] = [Heading(2, "Same rate, different noise"), Paragraph(
        "At one target noise rate every noise family flips about the same share of the training labels; what differs "
        "is *which* labels.  The families that ran at one target rate in one setting, side by side with the clean "
        f"anchor: per family, each method's mean test accuracy over its runs; Δ = treatment − {BASELINE} on runs that "
        "share their seeds, in percentage points with its 95% bootstrap interval and exact sign-flip p (as in "
        f"\"Every method against {BASELINE}\"); gain = the robustness gain, noisy Δ − clean Δ on the same data and "
        "train seeds, with its Holm p (as in \"More robust, or just better?\").")]
    png = next((p for p in figures if p.stem == FIGURE_STEM and p.suffix == ".png"), None)
    if png is not None:
        pdf = png.with_suffix(".pdf")
        blocks.append(Figure(png, FIGURE_CAPTION, pdf if pdf in figures else None))
    level_keys = list(MATCH_KEYS)
    for _, rows in prepare.groups(comparison.assign(_order=range(len(comparison))), level_keys):
        rows = rows.sort_values("_order")
        level = {**rows.iloc[0].to_dict(), "noise_family": rows.loc[~rows["clean"].astype(bool), "noise_family"].iloc[0]}
        blocks += [_level_heading(level), _comparison_table(rows)]
        blocks += _gap_blocks(_select(gaps, {k: level[k] for k in level_keys})) if not gaps.empty else []
    return blocks

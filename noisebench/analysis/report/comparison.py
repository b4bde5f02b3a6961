"""Comparison with the paper: the replication verdict of each matched cell, and the paper's closest claims."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.paper import (
    PAPER_BASELINE,
    PAPER_FAMILY,
    PAPER_TREATMENT,
    SOURCE,
    TABLES,
    match_paper,
    paper_table,
)
from noisebench.analysis.report.blocks import Block, Estimate, Heading, Paragraph, bullets, table_block
from noisebench.analysis.report.formatting import (
    ALPHA,
    PAPER_ENCODER,
    TOP_K,
    _delta_ci,
    _n,
    _noise,
    _pct,
    _select,
)
from noisebench.analysis.stats import BASE_KEYS, format_p
from noisebench.analysis.values import is_missing
from noisebench.data.tasks import paper_counterpart, paper_task_name, shown_task_name
from noisebench.methods import hyper_parameter_names
from noisebench.noise.families import get_family, is_clean

log = logging.getLogger(__name__)

_VERDICTS = ("replicated", "not replicated", "not confirmed at this sample size", "not comparable")
_PAPER_PAIR = f"{PAPER_TREATMENT} − {PAPER_BASELINE}"
_PAPER_PARAMETER = get_family(PAPER_FAMILY).parameter.name


def paper_verdict(
    paper_delta_pp: float, mean_diff: float, ci_low: float, ci_high: float, p_holm: float, n_pairs: int,
    *, alpha: float = ALPHA,
) -> tuple[str, str]:
    """Replication verdict for one matched claim and one honest sentence.

    ``paper_delta_pp`` is the paper's treatment − baseline in percentage points; our
    difference and interval are fractions.  Rules:

    * **replicated**: our difference has the paper's sign and our Holm p < alpha
      or our interval excludes 0 in that direction;
    * **not replicated**: our interval excludes 0 in the opposite direction (or
      Holm p < alpha with the opposite sign);
    * **not confirmed at this sample size**: otherwise (interval includes 0, or
      fewer than 2 pairs).
    """
    d, lo, hi = (float(v) * 100 if not is_missing(v) else math.nan for v in (mean_diff, ci_low, ci_high))
    paper = f"the paper reports {_PAPER_PAIR} = {paper_delta_pp:+.1f} pp"
    if n_pairs < 2 or not np.isfinite(d):
        return (_VERDICTS[2], f"Not confirmed at this sample size: {paper}; we have {n_pairs} pair(s), "
                              f"too few for an interval or a test"
                + (f" (our single difference: {d:+.2f} pp)." if np.isfinite(d) else "."))
    ours = f"we find {d:+.2f} pp [{lo:+.2f}, {hi:+.2f}] over {n_pairs} pairs (Holm p = {format_p(p_holm)})"
    if paper_delta_pp == 0:
        return (_VERDICTS[3], f"Not comparable: {paper}, i.e. no difference, so there is no direction to "
                              f"replicate; {ours}.")
    s = 1.0 if paper_delta_pp > 0 else -1.0
    if abs(d) < 1e-9:  # round-off, e.g. 0.917 - 0.918 + 0.001
        d = 0.0
    same = np.sign(d) == s
    sig = not is_missing(p_holm) and float(p_holm) < alpha
    has_ci = np.isfinite(lo) and np.isfinite(hi)
    ci_same = has_ci and ((lo > 0) if s > 0 else (hi < 0))
    ci_opp = has_ci and ((hi < 0) if s > 0 else (lo > 0))
    if same and (sig or ci_same):
        if sig:
            return (_VERDICTS[0], f"Replicated: {paper}; {ours}: same sign and Holm p < {alpha:g}.")
        floor = 2.0 / 2**n_pairs
        caveat = (f"  This rests on the bootstrap interval alone, which is unreliable with so few pairs; "
                  f"with {n_pairs} pairs the exact sign-flip p cannot fall below 2/2^{n_pairs} = {floor:.3g}."
                  if floor >= alpha else "  The Holm-adjusted test does not confirm it.")
        return (_VERDICTS[0], f"Replicated: {paper}; {ours}: same sign and the interval excludes 0 in the "
                              f"paper's direction.{caveat}")
    if ci_opp or (sig and not same):
        return (_VERDICTS[1], f"Not replicated: {paper}; {ours}: our difference goes the opposite way and "
                              f"excludes 0.")
    if d == 0:
        return (_VERDICTS[2], f"Not confirmed at this sample size: {paper}; {ours}: our estimate is zero.")
    if same:
        return (_VERDICTS[2], f"Not confirmed at this sample size: {paper}; {ours}: same sign, but the "
                              f"interval includes 0.")
    return (_VERDICTS[2], f"Not confirmed at this sample size: {paper}; {ours}: our estimate has the "
                          f"opposite sign, but the interval includes 0.")



def _not_in_paper_reason(row: Mapping[str, Any], paper: pd.DataFrame) -> str:
    task, family = row.get("task"), row.get("noise_family")
    if task not in set(paper["task"]):
        return f"{task} is not in the paper"
    if row.get("baseline_method") != PAPER_BASELINE or row.get("treatment_method") != PAPER_TREATMENT:
        return f"the paper compares {PAPER_TREATMENT} with {PAPER_BASELINE} only"
    if not is_clean(family) and family != PAPER_FAMILY:
        return f"{family} noise; the paper only uses {PAPER_FAMILY} noise (weak-model labels)"
    if not is_clean(family) and row.get("noise_param") != _PAPER_PARAMETER:
        return (f"the level is a {prepare.level_axis_label(family, row.get('noise_param'))}; the paper sets "
                f"{get_family(PAPER_FAMILY).parameter.label} directly")
    if not is_clean(family):
        levels = sorted(paper.loc[paper["setting"] == "noisy", "noise_level"].unique())
        return (f"the paper has no {_noise(row)} for {task} (its noisy table has "
                f"{get_family(PAPER_FAMILY).parameter.symbol} ∈ {{{', '.join(f'{t:g}' for t in levels)}}})")
    ns = sorted(paper.loc[(paper["setting"] == "few-shot") & (paper["task"] == task), "n_train"].unique())
    if ns:
        return (f"the paper has no clean {task} result at N={_n(row.get('n_train'))} "
                f"(few-shot N ∈ {{{', '.join(_n(n) for n in ns)}}})")
    return f"the paper has no clean few-shot result for {task}"


def _match(row: Mapping[str, Any]) -> pd.DataFrame:
    """The paper's rows for a cell comparing the paper's two methods (empty for any other pair)."""
    if row.get("baseline_method") != PAPER_BASELINE or row.get("treatment_method") != PAPER_TREATMENT:
        return paper_table().iloc[0:0]
    if not is_clean(row.get("noise_family")) and row.get("noise_param") != _PAPER_PARAMETER:
        return paper_table().iloc[0:0]  # a target rate is not the paper's T, whatever the number
    cell = {k: row.get(k) for k in ("task", "n_train", "noise_family", "noise_level")}
    key, note = paper_counterpart(str(row.get("task")))
    if key is not None and note is None:
        cell["task"] = key  # the same task under the paper's name (amazon-polarity is the paper's amazon2)
    try:
        return match_paper(cell)
    except ValueError as exc:
        log.info("report: no paper match for %s: %s", cell, exc)
        return paper_table().iloc[0:0]


def _top_k(summary: pd.DataFrame, row: Mapping[str, Any]) -> str:
    """Our top-k-by-dev means of the baseline and the treatment of a cell, ``"a / b"``."""
    setting = {k: row.get(k) for k in BASE_KEYS}
    hps = {k: row.get(k) for k in hyper_parameter_names()}
    base = _select(summary, {**setting, "method": row["baseline_method"]})
    treat = _select(summary, {**setting, "method": row["treatment_method"], **hps})
    if base.empty or treat.empty:
        return "n/a"
    return f"{_pct(base[f'mean_top{TOP_K}'].iloc[0])} / {_pct(treat[f'mean_top{TOP_K}'].iloc[0])}"


def _paper_claim(row: Mapping[str, Any], matched: pd.DataFrame, reasons: list[str]) -> tuple[str, str, float]:
    """(verdict, sentence, paper Δ pp) for a cell with a counterpart in the paper."""
    p_delta = round(float(matched.loc[matched["method"] == PAPER_TREATMENT, "mean"].iloc[0])
                    - float(matched.loc[matched["method"] == PAPER_BASELINE, "mean"].iloc[0]), 6)
    if reasons:
        verdict = _VERDICTS[3]
        sentence = (f"Not comparable: {'; '.join(reasons)}.  (The paper reports {p_delta:+.1f} pp here; "
                    f"we find {_delta_ci(row['mean_diff'], row['ci_low'], row['ci_high'])} pp.)")
    else:
        verdict, sentence = paper_verdict(p_delta, row["mean_diff"], row["ci_low"], row["ci_high"], row["p_holm"],
                                          int(row["n_pairs"]))
    if matched["setting"].iloc[0] == "noisy":
        sentence += "  (The paper's N for its noisy runs is not encoded here, so N is not checked.)"
    return verdict, sentence, p_delta


_PAPER_INTRO = (
    "The paper's numbers are RoBERTa-large test accuracies, each the mean of the top-3 runs by dev accuracy.  Our "
    "columns are plain means over the paired seeds (the verdict uses these, the paired interval and the "
    "Holm-adjusted p); our top-3-by-dev means are given for like-for-like reading only.  A claim is *replicated* "
    f"when our {_PAPER_PAIR} difference has the paper's sign and either Holm p < 0.05 or our interval excludes 0 in "
    "that direction; *not replicated* when our interval excludes 0 in the opposite direction; *not confirmed at "
    "this sample size* when our interval includes 0; *not comparable* when the encoder, task, noise, N or methods "
    "differ.")


def _paper_section(diffs: pd.DataFrame, summary: pd.DataFrame, has_top: bool) -> list[Block]:
    paper = paper_table()
    blocks: list[Block] = [Heading(2, "Comparison with the paper"), Paragraph(f"Source: {SOURCE}"), Paragraph(_PAPER_INTRO)]
    treated = diffs[diffs["treatment_method"].notna()]
    if treated.empty:
        return blocks + [Paragraph("No cell has a treatment run, so there is nothing to compare with the paper.")] + \
            _paper_reference(diffs, paper)
    table_rows, sentences, unmatched, comparable = [], [], [], 0
    for row in treated.to_dict("records"):
        where = f"{row['task']}, {row['model']}, N={_n(row['n_train'])}, {_noise(row)}, {row['treatment_label']}"
        matched = _match(row)
        reasons = [] if PAPER_ENCODER in str(row["model"]).lower() else [
            f"different encoder ({row['model']}; the paper fine-tunes RoBERTa-large)"]
        if matched.empty:
            unmatched.append(f"- {where}: **not comparable** — {'; '.join([_not_in_paper_reason(row, paper)] + reasons)}.")
            continue
        verdict, sentence, p_delta = _paper_claim(row, matched, reasons)
        comparable += verdict != _VERDICTS[3]
        p_table = matched["table"].iloc[0]
        table_rows.append([
            row["task"], row["model"], _n(row["n_train"]), _noise(row), p_table, _pct(row["mean_baseline"]),
            _pct(row["mean_treatment"]), Estimate(row["mean_diff"], row["ci_low"], row["ci_high"], row["p_holm"]),
            format_p(row["p_holm"]), _top_k(summary, row) if has_top else "n/a",
            *(f"{matched.loc[matched['method'] == m, 'mean'].iloc[0]:.1f}" for m in (PAPER_BASELINE, PAPER_TREATMENT)),
            f"{p_delta:+.1f}", verdict])
        sentences.append(f"- {where} vs {p_table}, {shown_task_name(str(row['task']))}: {sentence}")
    if table_rows:
        b, t = PAPER_BASELINE, PAPER_TREATMENT
        header = ["task", "model", "N", "noise", "paper table", f"ours {b} %", f"ours {t} %", "ours Δ pp [CI]",
                  "ours p Holm", f"ours top-{TOP_K} {b} / {t} %", f"paper {b} %", f"paper {t} %", "paper Δ pp", "verdict"]
        blocks += [table_block(header, table_rows), bullets(sentences)]
    if unmatched:
        blocks += [Paragraph("Cells without a counterpart in the paper:"), bullets(unmatched)]
    if comparable == 0:
        blocks += [Paragraph("**No cell of ours is comparable with the paper** (see the reasons above), so nothing "
                             "here replicates or contradicts it.")] + _paper_reference(diffs, paper)
    return blocks


def _reference_target(task: str, paper: pd.DataFrame) -> tuple[str | None, str]:
    """(paper task to quote, how to introduce it) for one of our tasks."""
    key, note = paper_counterpart(task)
    if task in set(paper["task"]) and key in (None, task):
        return task, paper_task_name(task)
    if key is not None and note is None:
        return key, paper_task_name(key)
    if key is not None:
        return key, f"{task} is not in the paper; the closest claim is {paper_task_name(key)} ({note})"
    return None, f"{task} is not in the paper and has no close counterpart; all tasks"


def _claims(rows: pd.DataFrame, with_task: bool) -> list[str]:
    symbol = get_family(PAPER_FAMILY).parameter.symbol
    claims = []
    for (task, n_train, level), g in rows.groupby(["task", "n_train", "noise_level"], dropna=False, sort=True):
        base, treat = (g.loc[g["method"] == m, "mean"] for m in (PAPER_BASELINE, PAPER_TREATMENT))
        if base.empty or treat.empty:
            continue
        at = ([paper_task_name(str(task))] if with_task else []) + (
            [f"N={_n(n_train)}"] if not is_missing(n_train) else []) + (
            [f"{symbol}={float(level):g}"] if not is_missing(level) else [])
        claims.append(f"{' '.join(at) + ': ' if at else ''}{PAPER_BASELINE} {base.iloc[0]:.1f}% vs {PAPER_TREATMENT} "
                      f"{treat.iloc[0]:.1f}% ({treat.iloc[0] - base.iloc[0]:+.1f} pp)")
    return claims


def _paper_reference(diffs: pd.DataFrame, paper: pd.DataFrame) -> list[Block]:
    """The paper's claims closest to our cells, for reference."""
    lines = []
    seen: set[tuple] = set()
    for row in diffs.to_dict("records"):
        n_train = row.get("n_train")
        setting = "noisy" if not is_clean(row.get("noise_family")) else "few-shot" if not is_missing(n_train) else "full"
        if (row["task"], setting) in seen:
            continue
        seen.add((row["task"], setting))
        target, intro = _reference_target(row["task"], paper)
        rows = paper[(paper["setting"] == setting) & ((paper["task"] == target) if target else True)]
        if setting == "few-shot" and target is not None and not rows.empty:
            ns = rows["n_train"].unique()
            rows = rows[rows["n_train"] == ns[np.argmin(np.abs(np.log(ns) - math.log(max(float(n_train), 1.0))))]]
        claims = _claims(rows, with_task=target is None)
        lines.append(f"- {intro}, {TABLES[setting]}: " + "; ".join(claims) + "." if claims
                     else f"- {intro}: no {TABLES[setting]} entry.")
    return [Paragraph("For reference, the paper's claims closest to our cells:"), bullets(lines)]

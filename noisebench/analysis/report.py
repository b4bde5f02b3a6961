"""The Markdown results report: set-up, paired statistics, seed summaries, figures, paper comparison.

:func:`write_report` is the only entry point.  Number formats (so that the
report can be checked against the statistics):

* accuracies: percent with two decimals (``81.20``);
* differences CE+SCL − CE: percentage points with sign and two decimals, the
  interval in brackets (``+1.20 [+0.40, +2.00]``);
* p-values: :func:`noisebench.analysis.stats.format_p` (three decimals,
  ``<0.001`` floor, ``n/a`` when not computed);
* realised noise rates: percent with one decimal (``31.2%``).

This module must not import the training code or the CLI.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis.paper import SOURCE, TABLES, match_paper, paper_table
from noisebench.analysis.stats import (
    BASE_KEYS,
    MIN_PAIRS_WILCOXON,
    compare_methods,
    format_p,
    seed_summary,
    top_k_by_dev,
)
from noisebench.io import write_bytes_atomic
from noisebench.analysis.values import is_missing

__all__ = ["write_report", "paper_verdict", "ALPHA", "PAPER_ENCODER", "CLOSEST_PAPER_TASK"]

log = logging.getLogger(__name__)

#: Level of the ``significant`` column and of the replication rule.
ALPHA: float = 0.05
#: The encoder of every number in the paper.
PAPER_ENCODER: str = "roberta-large"
#: Tasks that are not in the paper -> (closest paper task, why it is the closest).
CLOSEST_PAPER_TASK: dict[str, tuple[str, str]] = {
    "rt-polarity": ("sst2", "binary sentiment of movie-review sentences, like rt-polarity"),
}
TOP_K: int = 3

#: Display names of the paper's tasks.
PAPER_TASK_NAMES: dict[str, str] = {
    "sst2": "SST-2", "qnli": "QNLI", "mnli": "MNLI", "cola": "CoLA", "mrpc": "MRPC", "rte": "RTE",
    "amazon2": "Amazon-2", "yelp2": "Yelp-2",
}

_VERDICTS = ("replicated", "not replicated", "not confirmed at this sample size", "not comparable")


# --------------------------------------------------------------------------
# formatting helpers
# --------------------------------------------------------------------------


def _pct(x: Any, digits: int = 2) -> str:
    return "n/a" if is_missing(x) else f"{float(x) * 100:.{digits}f}"


def _pp(x: Any) -> str:
    return "n/a" if is_missing(x) else f"{float(x) * 100:+.2f}"


def _delta_ci(d: Any, lo: Any, hi: Any) -> str:
    if is_missing(d):
        return "n/a"
    ci = "[n/a]" if is_missing(lo) or is_missing(hi) else f"[{_pp(lo)}, {_pp(hi)}]"
    return f"{_pp(d)} {ci}"


def _rate(x: Any) -> str:
    return "n/a" if is_missing(x) else f"{float(x):.1%}"


def _n(x: Any) -> str:
    if is_missing(x):
        return "all"
    f = float(x)
    return str(int(f)) if f.is_integer() else f"{f:g}"


def _g(x: Any) -> str:
    return "—" if is_missing(x) else f"{float(x):g}"


def _noise(row: Mapping[str, Any]) -> str:
    family = row.get("noise_family")
    if family == "none":
        return "clean"
    if family == "uniform":
        return f"uniform r={_g(row.get('noise_rate'))}"
    return _g(row.get("temperature"))


def _noise_text(row: Mapping[str, Any]) -> str:
    """``T=0.3``, ``clean`` or ``uniform r=0.2`` for sentences."""
    label = _noise(row)
    return f"T={label}" if row.get("noise_family") == "temperature" else label


def _method(method: str, lam: Any = None, tau: Any = None) -> str:
    if method == "ce":
        return "CE"
    if method == "ce-scl":
        return "CE+SCL" if is_missing(lam) else f"CE+SCL (λ={float(lam):g}, τ={_g(tau)})"
    return str(method)


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(_cell(h) for h in headers) + " |",
             "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return lines


def _values(table: pd.DataFrame, column: str) -> str:
    if column not in table.columns:
        return "n/a"
    vals = table[column].dropna().unique().tolist()
    if not vals:
        return "n/a"
    try:
        vals = sorted(vals)
    except TypeError:
        vals = sorted(map(str, vals))
    return ", ".join(_g(v) if isinstance(v, (int, float, np.integer, np.floating)) else str(v) for v in vals)


# --------------------------------------------------------------------------
# statistics
# --------------------------------------------------------------------------


def _compare(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_methods` with uniform-noise rates treated like temperatures.

    ``noise_rate`` is not a cell key of ``compare_methods``; uniform runs are
    passed with ``temperature := noise_rate`` so that each rate is its own cell
    and all rates of one setting form one Holm family, then mapped back
    (``temperature`` NaN, ``noise_rate`` set).
    """
    frame = table.copy()
    uniform = frame["noise_family"] == "uniform"
    if uniform.any():
        if "noise_rate" not in frame.columns:
            raise ValueError("uniform-noise runs need a noise_rate column")
        frame.loc[uniform, "temperature"] = pd.to_numeric(frame.loc[uniform, "noise_rate"], errors="coerce")
    stats_df = compare_methods(frame)
    stats_df["noise_rate"] = np.nan
    uni = stats_df["noise_family"] == "uniform"
    stats_df.loc[uni, "noise_rate"] = stats_df.loc[uni, "temperature"]
    stats_df.loc[uni, "temperature"] = np.nan
    return stats_df


def _select(frame: pd.DataFrame, key: Mapping[str, Any]) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for column, value in key.items():
        if column not in frame.columns:
            continue
        if is_missing(value):
            mask &= frame[column].isna()
        else:
            mask &= frame[column] == value
    return frame[mask]


def _setting_key(row: Mapping[str, Any]) -> dict[str, Any]:
    key = {k: row.get(k) for k in BASE_KEYS}
    if row.get("noise_family") == "uniform":
        key["noise_rate"] = row.get("noise_rate")
    return key


def _realised(table: pd.DataFrame, row: Mapping[str, Any]) -> float:
    if "realized_noise_rate" not in table.columns:
        return math.nan
    runs = _select(table, _setting_key(row))
    values = pd.to_numeric(runs["realized_noise_rate"], errors="coerce").dropna()
    return float(values.mean()) if len(values) else math.nan


def _summary(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """(top-k-by-dev summary, True) or (plain summary, False) when dev accuracy is missing."""
    dev = pd.to_numeric(table["dev_accuracy"], errors="coerce") if "dev_accuracy" in table.columns else None
    if dev is not None and dev.notna().all():
        return top_k_by_dev(table, k=TOP_K), True
    return seed_summary(table), False


def _summary_row(summary: pd.DataFrame, row: Mapping[str, Any], method: str) -> pd.Series | None:
    key = {k: row.get(k) for k in BASE_KEYS}
    if method == "ce-scl":
        key.update(lam=row.get("lam"), tau=row.get("tau"))
    if row.get("noise_family") == "uniform":
        key["temperature"] = row.get("noise_rate")  # summaries are computed on the mapped table
    sub = _select(summary, {**key, "method": method})
    return None if sub.empty else sub.iloc[0]


# --------------------------------------------------------------------------
# comparison with the paper
# --------------------------------------------------------------------------


def paper_verdict(
    paper_delta_pp: float, mean_diff: float, ci_low: float, ci_high: float, p_holm: float, n_pairs: int,
    *, alpha: float = ALPHA,
) -> tuple[str, str]:
    """Replication verdict for one matched claim and one honest sentence.

    ``paper_delta_pp`` is the paper's CE+SCL − CE in percentage points; our
    difference and interval are fractions.  Rules:

    * **replicated**: our difference has the paper's sign and our Holm p < alpha
      or our interval excludes 0 in that direction;
    * **not replicated**: our interval excludes 0 in the opposite direction (or
      Holm p < alpha with the opposite sign);
    * **not confirmed at this sample size**: otherwise (interval includes 0, or
      fewer than 2 pairs).
    """
    d, lo, hi = (float(v) * 100 if not is_missing(v) else math.nan for v in (mean_diff, ci_low, ci_high))
    paper = f"the paper reports CE+SCL − CE = {paper_delta_pp:+.1f} pp"
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
    task = row.get("task")
    if task not in set(paper["task"]):
        return f"{task} is not in the paper"
    if row.get("noise_family") == "uniform":
        return "uniform noise; the paper only uses temperature-scaled weak-model noise"
    if row.get("noise_family") == "temperature":
        temps = sorted(paper.loc[paper["setting"] == "noisy", "temperature"].unique())
        return (f"the paper has no T={_g(row.get('temperature'))} for {task} "
                f"(its noisy table has T ∈ {{{', '.join(f'{t:g}' for t in temps)}}})")
    ns = sorted(paper.loc[(paper["setting"] == "few-shot") & (paper["task"] == task), "n_train"].unique())
    if ns:
        return (f"the paper has no clean {task} result at N={_n(row.get('n_train'))} "
                f"(few-shot N ∈ {{{', '.join(_n(n) for n in ns)}}})")
    return f"the paper has no clean few-shot result for {task}"


def _match(row: Mapping[str, Any]) -> pd.DataFrame:
    cell = {k: row.get(k) for k in ("task", "n_train", "temperature", "noise_family")}
    try:
        return match_paper(cell)
    except ValueError as exc:
        log.info("report: no paper match for %s: %s", cell, exc)
        return paper_table().iloc[0:0]


def _paper_section(stats_df: pd.DataFrame, summary: pd.DataFrame, has_top: bool) -> list[str]:
    paper = paper_table()
    lines = ["## Comparison with the paper", "",
             f"Source: {SOURCE}",
             "",
             "The paper's numbers are RoBERTa-large test accuracies, each the mean of the top-3 runs by dev "
             "accuracy.  Our CE / CE+SCL columns are plain means over the paired seeds (the verdict uses "
             "these, the paired interval and the Holm-adjusted p); our top-3-by-dev means are given for "
             "like-for-like reading only.  A claim is *replicated* when our CE+SCL − CE difference has the "
             "paper's sign and either Holm p < 0.05 or our interval excludes 0 in that direction; *not "
             "replicated* when our interval excludes 0 in the opposite direction; *not confirmed at this "
             "sample size* when our interval includes 0; *not comparable* when the encoder, task, noise or "
             "N differ.", ""]
    treated = stats_df[stats_df["lam"].notna()]
    if treated.empty:
        lines += ["No cell has CE+SCL runs, so there is nothing to compare with the paper.", ""]
        return lines + _paper_reference(stats_df, paper)
    table_rows, sentences, unmatched = [], [], []
    comparable = 0
    for row in treated.to_dict("records"):
        where = (f"{row['task']}, {row['model']}, N={_n(row['n_train'])}, {_noise_text(row)}, "
                 f"{_method('ce-scl', row['lam'], row['tau'])}")
        matched = _match(row) if row.get("noise_family") != "uniform" else paper.iloc[0:0]
        reasons = []
        if PAPER_ENCODER not in str(row["model"]).lower():
            reasons.append(f"different encoder ({row['model']}; the paper fine-tunes RoBERTa-large)")
        if matched.empty:
            reasons.insert(0, _not_in_paper_reason(row, paper))
            unmatched.append(f"- {where}: **not comparable** — {'; '.join(reasons)}.")
            continue
        p_ce = matched.loc[matched["method"] == "ce", "mean"].iloc[0]
        p_scl = matched.loc[matched["method"] == "ce-scl", "mean"].iloc[0]
        p_table = matched["table"].iloc[0]
        p_delta = round(float(p_scl) - float(p_ce), 6)
        if reasons:
            verdict = _VERDICTS[3]
            sentence = (f"Not comparable: {'; '.join(reasons)}.  (The paper reports {p_delta:+.1f} pp here; "
                        f"we find {_delta_ci(row['mean_diff'], row['ci_low'], row['ci_high'])} pp.)")
        else:
            verdict, sentence = paper_verdict(p_delta, row["mean_diff"], row["ci_low"], row["ci_high"],
                                              row["p_holm"], int(row["n_pairs"]))
            comparable += verdict != _VERDICTS[3]
        if matched["setting"].iloc[0] == "noisy":
            sentence += "  (The paper's N for its noisy runs is not encoded here, so N is not checked.)"
        top_ce = _summary_row(summary, row, "ce") if has_top else None
        top_scl = _summary_row(summary, row, "ce-scl") if has_top else None
        top = (f"{_pct(top_ce[f'mean_top{TOP_K}'])} / {_pct(top_scl[f'mean_top{TOP_K}'])}"
               if top_ce is not None and top_scl is not None else "n/a")
        table_rows.append([
            row["task"], row["model"], _n(row["n_train"]), _noise(row), p_table,
            _pct(row["mean_ce"]), _pct(row["mean_scl"]), _delta_ci(row["mean_diff"], row["ci_low"], row["ci_high"]),
            format_p(row["p_holm"]), top, f"{p_ce:.1f}", f"{p_scl:.1f}", f"{p_delta:+.1f}", verdict,
        ])
        sentences.append(f"- {where} vs {p_table}, {PAPER_TASK_NAMES.get(row['task'], row['task'])}: {sentence}")
    if table_rows:
        lines += _md_table(
            ["task", "model", "N", "T", "paper table", "ours CE %", "ours CE+SCL %", "ours Δ pp [CI]",
             "ours p Holm", f"ours top-{TOP_K} CE / CE+SCL %", "paper CE %", "paper CE+SCL %", "paper Δ pp",
             "verdict"], table_rows)
        lines += [""] + sentences + [""]
    if unmatched:
        lines += ["Cells without a counterpart in the paper:", ""] + unmatched + [""]
    if comparable == 0:
        lines += ["**No cell of ours is comparable with the paper** (see the reasons above), so nothing here "
                  "replicates or contradicts it.", ""]
        lines += _paper_reference(stats_df, paper)
    return lines


def _paper_reference(stats_df: pd.DataFrame, paper: pd.DataFrame) -> list[str]:
    """The paper's claims closest to our cells, for reference."""
    lines = ["For reference, the paper's claims closest to our cells:", ""]
    seen: set[tuple] = set()
    for row in stats_df.to_dict("records"):
        task = row["task"]
        setting = "noisy" if row.get("noise_family") in ("temperature", "uniform") else (
            "few-shot" if not is_missing(row.get("n_train")) else "full")
        if (task, setting) in seen:
            continue
        seen.add((task, setting))
        if task in set(paper["task"]):
            target, intro = task, f"{PAPER_TASK_NAMES.get(task, task)}"
        elif task in CLOSEST_PAPER_TASK:
            target, why = CLOSEST_PAPER_TASK[task]
            intro = f"{task} is not in the paper; the closest claim is {PAPER_TASK_NAMES.get(target, target)} ({why})"
        else:
            target, intro = None, f"{task} is not in the paper and has no close counterpart; all tasks"
        rows = paper[(paper["setting"] == setting) & ((paper["task"] == target) if target else True)]
        if setting == "few-shot" and target is not None and not rows.empty and not is_missing(row.get("n_train")):
            ns = rows["n_train"].unique()
            closest = ns[np.argmin(np.abs(np.log(ns) - math.log(max(float(row["n_train"]), 1.0))))]
            rows = rows[rows["n_train"] == closest]
        if rows.empty:
            lines.append(f"- {intro}: no {TABLES[setting]} entry.")
            continue
        claims = []
        group_cols = ["task", "n_train", "temperature"]
        for key, g in rows.groupby(group_cols, dropna=False, sort=True):
            ce = g.loc[g["method"] == "ce", "mean"]
            scl = g.loc[g["method"] == "ce-scl", "mean"]
            if ce.empty or scl.empty:
                continue
            at = []
            if target is None:
                at.append(PAPER_TASK_NAMES.get(str(key[0]), str(key[0])))
            if not is_missing(key[1]):
                at.append(f"N={_n(key[1])}")
            if not is_missing(key[2]):
                at.append(f"T={float(key[2]):g}")
            claims.append(f"{' '.join(at) + ': ' if at else ''}CE {ce.iloc[0]:.1f}% vs CE+SCL {scl.iloc[0]:.1f}% "
                          f"({scl.iloc[0] - ce.iloc[0]:+.1f} pp)")
        lines.append(f"- {intro}, {TABLES[setting]}: " + "; ".join(claims) + ".")
    return lines + [""]


# --------------------------------------------------------------------------
# set-up
# --------------------------------------------------------------------------


def _run_versions(results_dir: Path, run_ids: Iterable[Any]) -> tuple[dict[str, Any] | None, int, int]:
    """(versions of the first run that has them, number of runs read, number of distinct version sets)."""
    first, distinct, read = None, set(), 0
    for run_id in sorted(map(str, run_ids)):
        path = results_dir / "runs" / run_id / "metrics.json"
        try:
            versions = json.loads(path.read_text(encoding="utf-8")).get("versions")
        except (OSError, ValueError):
            continue
        if not versions:
            continue
        read += 1
        first = first or versions
        distinct.add(json.dumps(versions, sort_keys=True))
    return first, read, len(distinct)


def _analysis_versions() -> str:
    out = []
    for package in ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "scikit-learn"):
        try:
            out.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return ", ".join(out)


def _setup_section(table: pd.DataFrame, results_dir: Path, dropped: list[str]) -> list[str]:
    seeds = table[[c for c in ("data_seed", "noise_seed", "train_seed") if c in table.columns]]
    n_triples = len(seeds.drop_duplicates())
    scl = table[table["method"] == "ce-scl"]
    scl_pairs = sorted({(float(a), float(b)) for a, b in zip(scl["lam"], scl["tau"]) if not is_missing(a)})
    temps = _values(table[table["noise_family"] == "temperature"], "temperature")
    methods = ["CE"] * bool((table["method"] == "ce").any()) + [
        f"CE+SCL (λ={lam:g}, τ={tau:g})" for lam, tau in scl_pairs]
    lines = ["## Set-up", "",
             f"- results directory: `{results_dir}`",
             f"- finished runs: {len(table)}",
             f"- tasks: {_values(table, 'task')}",
             f"- models (encoders): {_values(table, 'model')}",
             f"- training-set size N: {_values(table, 'n_train')}",
             f"- noise families: {_values(table, 'noise_family')}; temperatures T: {temps}",
             f"- methods: {', '.join(methods) if methods else 'n/a'}",
             f"- seeds: data seeds {_values(table, 'data_seed')}; noise seeds {_values(table, 'noise_seed')}; "
             f"train seeds {_values(table, 'train_seed')} ({n_triples} distinct seed triples)",
             f"- epochs: {_values(table, 'epochs')}; learning rate: {_values(table, 'lr')}; "
             f"batch size: {_values(table, 'batch_size')}"]
    versions, read, distinct = _run_versions(results_dir, table["run_id"])
    if versions:
        text = ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        note = "" if distinct <= 1 else f" — **{distinct} different version sets across the {read} runs read**"
        lines.append(f"- training software (metrics.json of the runs): {text}{note}")
    else:
        lines.append("- training software: n/a (no `versions` in any run's metrics.json)")
    lines.append(f"- analysis software: {_analysis_versions()}")
    if dropped:
        lines.append(f"- left out (no test accuracy): {len(dropped)} run(s): {', '.join(dropped)}")
    return lines + [""]


# --------------------------------------------------------------------------
# sections
# --------------------------------------------------------------------------


def _stats_section(stats_df: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    lines = ["## Paired statistics per cell", "",
             "A CE run and a CE+SCL run are paired when they share (data seed, noise seed, train seed). "
             "Δ = CE+SCL − CE test accuracy in percentage points, with its 95% bootstrap interval (BCa, "
             "percentile when BCa is undefined).  p-values are two-sided: paired t-test; sign-flip "
             "permutation test of the mean difference (exact = all 2^n sign vectors, sampled = random "
             f"ones); Wilcoxon signed-rank (n/a below {MIN_PAIRS_WILCOXON} pairs, where it cannot reach "
             "p < 0.05); Holm = sign-flip p adjusted by Holm over all noise levels of one (task, model, N, "
             f"noise family, λ, τ).  significant = Holm p < {ALPHA:g}.", ""]
    multi_model = table["model"].nunique(dropna=False) > 1
    scl = table[table["method"] == "ce-scl"]
    multi_hp = len({(a, b) for a, b in zip(scl["lam"], scl["tau"])}) > 1
    headers = ["task"] + ["model"] * multi_model + ["N", "T"] + ["λ, τ"] * multi_hp + [
        "mean realised noise", "n pairs", "CE mean %", "CE+SCL mean %", "Δ pp [CI]", "p t-test",
        "p sign-flip", "p Wilcoxon", "p Holm", "significant"]
    rows, notes = [], []
    for r in stats_df.to_dict("records"):
        if r["n_pairs"] > 0:
            kind = "exact" if r["signflip_exact"] is True else "sampled" if r["signflip_exact"] is False else ""
            p_sf = format_p(r["p_signflip"]) + (f" ({kind})" if kind and not is_missing(r["p_signflip"]) else "")
            significant = "n/a" if is_missing(r["p_holm"]) else ("yes" if r["significant"] else "no")
        else:
            p_sf, significant = "n/a", "n/a"
        row = [r["task"]] + [r["model"]] * multi_model + [_n(r["n_train"]), _noise(r)] + (
            [f"{_g(r['lam'])}, {_g(r['tau'])}"] if multi_hp else []) + [
            _rate(_realised(table, r)), int(r["n_pairs"]), _pct(r["mean_ce"]), _pct(r["mean_scl"]),
            _delta_ci(r["mean_diff"], r["ci_low"], r["ci_high"]), format_p(r["p_ttest"]), p_sf,
            format_p(r["p_wilcoxon"]), format_p(r["p_holm"]), significant]
        rows.append(row)
        unpaired = int(r["n_unpaired_baseline"]) + int(r["n_unpaired_treatment"])
        if r["n_pairs"] == 0 or unpaired:
            what = (f"{int(r['n_unpaired_baseline'])} CE and {int(r['n_unpaired_treatment'])} CE+SCL run(s) "
                    f"without a partner")
            notes.append(f"- {r['task']}, N={_n(r['n_train'])}, {_noise(r)}, "
                         f"{_method('ce-scl', r['lam'], r['tau']) if not is_missing(r['lam']) else 'CE only'}: "
                         f"{what} (not in the paired statistics; see the seed summary).")
    lines += _md_table(headers, rows) + [""]
    if notes:
        lines += ["Unpaired runs:", ""] + notes + [""]
    return lines


def _seed_section(summary: pd.DataFrame, has_top: bool, table: pd.DataFrame) -> list[str]:
    lines = ["## Seed summary", "",
             "**All seeds** is the plain mean ± sample standard deviation over every run of a (cell, method): "
             "the number to read."]
    if has_top:
        lines.append(f"**Top-{TOP_K} by dev** is the paper's reporting rule (mean ± sd of the test accuracy of "
                     f"the {TOP_K} runs with the highest dev accuracy): it selects on a noisy score, is "
                     f"optimistic, and is shown only for comparison with the published numbers.")
    else:
        lines.append(f"Top-{TOP_K}-by-dev is not shown: some runs have no dev accuracy.")
    lines.append("")
    multi_model = table["model"].nunique(dropna=False) > 1
    headers = ["task"] + ["model"] * multi_model + ["N", "T", "method", "runs", "all seeds: mean ± sd %"]
    if has_top:
        headers += [f"top-{TOP_K} by dev (paper's rule): mean ± sd % (n)"]
    rows = []
    for r in summary.to_dict("records"):
        r = dict(r)
        if r.get("noise_family") == "uniform":
            r["noise_rate"], r["temperature"] = r["temperature"], math.nan
        sd = "" if is_missing(r["std_all"]) else f" ± {_pct(r['std_all'])}"
        row = [r["task"]] + [r["model"]] * multi_model + [
            _n(r["n_train"]), _noise(r), _method(r["method"], r["lam"], r["tau"]), int(r["n_all"]),
            f"{_pct(r['mean_all'])}{sd}"]
        if has_top:
            sd_top = "" if is_missing(r[f"std_top{TOP_K}"]) else f" ± {_pct(r[f'std_top{TOP_K}'])}"
            row.append(f"{_pct(r[f'mean_top{TOP_K}'])}{sd_top} ({int(r[f'n_top{TOP_K}'])})")
        rows.append(row)
    return lines + _md_table(headers, rows) + [""]


_CAPTIONS = (
    ("accuracy_vs_noise", "Test accuracy vs noise temperature (mean over seeds, 95% t-interval)"),
    ("difference_vs_noise", "Paired difference CE+SCL − CE vs noise temperature (bootstrap CI; stars: Holm p<0.05)"),
    ("noise_rate_vs_temperature", "Realised noise rate vs temperature (mean, min–max over noise draws)"),
    ("transition", "Clean → noisy label transitions of one run"),
    ("memorisation", "Memorisation of wrong labels during training"),
    ("tsne", "t-SNE of test [CLS] embeddings"),
)


def _figures_section(paths: Sequence[Path], out_dir: Path, figures_dir: Path | None) -> list[str]:
    lines = ["## Figures", ""]
    if figures_dir is None:
        return lines + ["No figures were made for this report (pass `figures_dir`).", ""]
    pngs = [p for p in paths if p.suffix == ".png"]
    if not pngs:
        return lines + [f"No figure could be made from these results (see the log); directory: "
                        f"`{os.path.relpath(figures_dir, out_dir)}`.", ""]
    for png in pngs:
        caption = next((c for prefix, c in _CAPTIONS if png.stem.startswith(prefix)), png.stem)
        rel = Path(os.path.relpath(png, out_dir)).as_posix()
        pdf = png.with_suffix(".pdf")
        link = f" ([PDF]({Path(os.path.relpath(pdf, out_dir)).as_posix()}))" if pdf in paths else ""
        lines += [f"### {caption}", "", f"![{caption}]({rel}){link}", ""]
    return lines


# --------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------


def write_report(
    table: pd.DataFrame,
    history: pd.DataFrame | None,
    results_dir: Path | str,
    out_path: Path | str,
    *,
    figures_dir: Path | str | None = None,
) -> Path:
    """Write the Markdown report to ``out_path`` (atomically) and return its path.

    Sections: set-up (models, tasks, N, seeds, epochs, lr, batch size, software
    versions from the runs' ``metrics.json``, number of runs), the per-cell
    paired statistics of :func:`~noisebench.analysis.stats.compare_methods`, the
    seed summary (plain mean next to the paper's top-3-by-dev rule), the figures
    (made by :func:`~noisebench.analysis.plots.plot_all` into ``figures_dir``
    when given, linked relative to the report) and the comparison with the
    paper (:func:`~noisebench.analysis.paper.match_paper`).

    Runs without a test accuracy are left out (and listed).

    Raises
    ------
    ValueError
        When the table has no run with a test accuracy, or when pairing is
        ambiguous (see :func:`~noisebench.analysis.stats.paired_cells`).
    """
    results_dir, out_path = Path(results_dir), Path(out_path)
    if table is None or len(table) == 0:
        raise ValueError(f"no finished runs in {results_dir}")
    accuracy = pd.to_numeric(table["test_accuracy"], errors="coerce")
    dropped = sorted(map(str, table.loc[accuracy.isna(), "run_id"]))
    table = table[accuracy.notna()].reset_index(drop=True)
    if table.empty:
        raise ValueError(f"no finished runs with a test accuracy in {results_dir}")

    stats_df = _compare(table)
    mapped = table.copy()
    uniform = mapped["noise_family"] == "uniform"
    if uniform.any():
        mapped.loc[uniform, "temperature"] = pd.to_numeric(mapped.loc[uniform, "noise_rate"], errors="coerce")
    summary, has_top = _summary(mapped)

    figure_paths: list[Path] = []
    if figures_dir is not None:
        from noisebench.analysis.plots import plot_all

        figure_paths = plot_all(table, history, results_dir, Path(figures_dir))

    lines = ["# noisebench report: CE vs CE+SCL under label noise", "",
             "Does adding the supervised contrastive loss (CE+SCL, Gunel et al., ICLR 2021) to cross-entropy "
             "fine-tuning make a model more robust to label noise than CE alone?", ""]
    lines += _setup_section(table, results_dir, dropped)
    lines += _stats_section(stats_df, table)
    lines += _seed_section(summary, has_top, table)
    lines += _figures_section(figure_paths, out_path.parent, Path(figures_dir) if figures_dir else None)
    lines += _paper_section(stats_df, summary, has_top)
    text = "\n".join(lines).rstrip() + "\n"
    write_bytes_atomic(out_path, text.encode("utf-8"))
    return out_path

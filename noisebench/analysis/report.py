"""The Markdown results report: set-up, what noise costs, every method against the baseline, seed summaries, figures, paper comparison.

:func:`write_report` is the only entry point. Number formats (so the report can be checked
against the statistics): accuracies in percent with two decimals (``81.20``); differences
treatment − baseline in percentage points with sign, the interval in brackets
(``+1.20 [+0.40, +2.00]``); probabilities of improvement with two decimals (``0.68 [0.57, 0.78]``);
p-values by :func:`~noisebench.analysis.stats.format_p`; realised noise rates in percent with one
decimal (``31.2%``). Methods are shown by their registered label,
noise by the level parameter's symbol (the family's own, ``T=0.9``, or the target rate, ``ρ=0.2``). This module must not import the training code or the CLI.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.paper import PAPER_BASELINE, PAPER_FAMILY, PAPER_TREATMENT, SOURCE, TABLES, match_paper, paper_table
from noisebench.analysis.keys import NOISE_SETUP_KEYS, TRAINING_KEYS, with_setting_keys
from noisebench.analysis.stats import BASE_KEYS, MIN_PAIRS_WILCOXON, format_p, seed_summary, top_k_by_dev
from noisebench.analysis.values import is_missing
from noisebench.data.tasks import paper_counterpart, paper_task_name, shown_task_name
from noisebench.io import write_bytes_atomic
from noisebench.methods import BASELINE, hyper_parameter_names
from noisebench.noise.families import get_family, is_clean
from noisebench.store.table import run_versions

__all__ = ["write_report", "paper_verdict", "ALPHA", "PAPER_ENCODER"]

log = logging.getLogger(__name__)

ALPHA: float = 0.05
"""Level of the ``significant`` column and of the replication rule."""
PAPER_ENCODER: str = "roberta-large"
TOP_K: int = 3
_VERDICTS = ("replicated", "not replicated", "not confirmed at this sample size", "not comparable")
_PAPER_PAIR = f"{PAPER_TREATMENT} − {PAPER_BASELINE}"
_PAPER_PARAMETER = get_family(PAPER_FAMILY).parameter.name


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------


def _pct(x: Any, digits: int = 2) -> str:
    return "n/a" if is_missing(x) else f"{float(x) * 100:.{digits}f}"


def _pp(x: Any) -> str:
    return "n/a" if is_missing(x) else f"{float(x) * 100:+.2f}"


def _delta_ci(d: Any, lo: Any, hi: Any) -> str:
    if is_missing(d):
        return "n/a"
    return f"{_pp(d)} " + ("[n/a]" if is_missing(lo) or is_missing(hi) else f"[{_pp(lo)}, {_pp(hi)}]")


def _n(x: Any) -> str:
    return "all" if is_missing(x) else f"{float(x):g}"


def _g(x: Any) -> str:
    return "—" if is_missing(x) else f"{float(x):g}"


def _noise(row: Mapping[str, Any]) -> str:
    return prepare.noise_label(row.get("noise_family"), row.get("noise_param"), row.get("noise_level"))


_VARIANT_KEYS: tuple[str, ...] = NOISE_SETUP_KEYS + TRAINING_KEYS


def _variant_keys(table: pd.DataFrame) -> list[str]:
    """Setting keys beyond task, model, N and level that take several values in ``table`` (shown as a column)."""
    return [k for k in _VARIANT_KEYS if k in table.columns and table[k].dropna().astype(str).nunique() > 1]


def _variant(row: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """The ``setting`` cell of a row when some keys vary (empty list otherwise)."""
    if not keys:
        return []
    parts = [f"{k.replace('_', ' ')} {_g(row.get(k)) if k == 'n_relabel' else row.get(k)}"
             for k in keys if not is_missing(row.get(k))]
    return [", ".join(parts) or "—"]


def _md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    def cell(text: Any) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def _values(table: pd.DataFrame, column: str) -> str:
    vals = table[column].dropna().unique().tolist() if column in table.columns else []
    try:
        vals = sorted(vals)
    except TypeError:
        vals = sorted(map(str, vals))
    shown = [_g(v) if isinstance(v, (int, float, np.integer, np.floating)) else str(v) for v in vals]
    return ", ".join(shown) if shown else "n/a"


def _select(frame: pd.DataFrame, key: Mapping[str, Any]) -> pd.DataFrame:
    """Rows of ``frame`` equal to ``key`` on every column it has (NaN matches NaN)."""
    mask = pd.Series(True, index=frame.index)
    for column, value in key.items():
        if column in frame.columns:
            mask &= frame[column].isna() if is_missing(value) else frame[column] == value
    return frame[mask]


def _realised(table: pd.DataFrame, row: Mapping[str, Any]) -> float:
    if "realized_noise_rate" not in table.columns:
        return math.nan
    values = pd.to_numeric(_select(table, {k: row.get(k) for k in BASE_KEYS})["realized_noise_rate"], errors="coerce")
    return float(values.mean()) if values.notna().any() else math.nan


# --------------------------------------------------------------------------
# set-up
# --------------------------------------------------------------------------


def _analysis_versions() -> str:
    out = []
    for package in ("numpy", "pandas", "scipy", "statsmodels", "matplotlib", "scikit-learn"):
        try:
            out.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    return ", ".join(out)


def _noise_levels(table: pd.DataFrame) -> str:
    noisy = table[~table["noise_family"].map(is_clean)]
    parts = [f"{family} {prepare.level_symbol(family, param)}: {_values(rows, 'noise_level')}"
             for (family, param), rows in noisy.groupby(["noise_family", "noise_param"], sort=True)]
    return "; ".join(parts) or "none"


def _noise_setup(table: pd.DataFrame) -> list[str]:
    """Set-up lines for the weak-model fit, relabelled pool size and pooling, where the table records them."""
    noisy = table[~table["noise_family"].map(is_clean)]
    lines = []
    if "weak_fit" in table.columns and noisy["weak_fit"].notna().any():
        lines.append(f"- weak-model fit: {_values(noisy, 'weak_fit')}")
    if "n_relabel" in table.columns and not noisy.empty:
        sizes = _values(noisy, "n_relabel")
        lines.append(f"- relabelled pool: {'whole pool' if sizes == 'n/a' else sizes + ' examples'}"
                     + ("; some runs the whole pool" if sizes != "n/a" and noisy["n_relabel"].isna().any() else ""))
    if "pooling" in table.columns and table["pooling"].notna().any():
        lines.append(f"- pooling: {_values(table, 'pooling')}")
    return lines


def _setup_section(table: pd.DataFrame, results_dir: Path, dropped: list[str]) -> list[str]:
    n_triples = len(table[[c for c in ("data_seed", "noise_seed", "train_seed") if c in table.columns]].drop_duplicates())
    lines = ["## Set-up", "",
             f"- results directory: `{results_dir}`",
             f"- finished runs: {len(table)}",
             f"- tasks: {_values(table, 'task')}",
             f"- models (encoders): {_values(table, 'model')}",
             f"- training-set size N: {_values(table, 'n_train')}",
             f"- noise families: {_values(table, 'noise_family')}; levels: {_noise_levels(table)}",
             *_noise_setup(table),
             f"- methods: {', '.join(sorted(set(prepare.with_labels(table)['method_label'])))}; baseline: {BASELINE}",
             f"- seeds: data seeds {_values(table, 'data_seed')}; noise seeds {_values(table, 'noise_seed')}; "
             f"train seeds {_values(table, 'train_seed')} ({n_triples} distinct seed triples)",
             f"- epochs: {_values(table, 'epochs')}; learning rate: {_values(table, 'lr')}; "
             f"batch size: {_values(table, 'batch_size')}"]
    versions, read, distinct = run_versions(results_dir, list(table["run_id"]))
    if versions:
        note = "" if distinct <= 1 else f" — **{distinct} different version sets across the {read} runs read**"
        lines.append(f"- training software (metrics.json of the runs): "
                     f"{', '.join(f'{k} {v}' for k, v in sorted(versions.items()))}{note}")
    else:
        lines.append("- training software: n/a (no `versions` in any run's metrics.json)")
    lines.append(f"- analysis software: {_analysis_versions()}")
    if dropped:
        lines.append(f"- left out (no test accuracy): {len(dropped)} run(s): {', '.join(dropped)}")
    return lines + [""]


# --------------------------------------------------------------------------
# statistics and seed summary
# --------------------------------------------------------------------------


def _stats_row(r: Mapping[str, Any], table: pd.DataFrame, multi_model: bool, variant: Sequence[str]) -> list[Any]:
    if r["n_pairs"] > 0:
        kind = {True: " (exact)", False: " (sampled)"}.get(r["signflip_exact"], "")
        p_sf = format_p(r["p_signflip"]) + ("" if is_missing(r["p_signflip"]) else kind)
        significant = "n/a" if is_missing(r["p_holm"]) else ("yes" if r["significant"] else "no")
    else:
        p_sf, significant = "n/a", "n/a"
    rate = _realised(table, r)
    return [r["task"]] + [r["model"]] * multi_model + [_n(r["n_train"]), _noise(r)] + _variant(r, variant) + [
        r["treatment_label"], "n/a" if is_missing(rate) else f"{rate:.1%}",
        int(r["n_pairs"]), _pct(r["mean_baseline"]), _pct(r["mean_treatment"]),
        _delta_ci(r["mean_diff"], r["ci_low"], r["ci_high"]), format_p(r["p_ttest"]), p_sf,
        format_p(r["p_wilcoxon"]), format_p(r["p_holm"]), significant]


def _unpaired_note(r: Mapping[str, Any]) -> str | None:
    if r["n_pairs"] > 0 and not (r["n_unpaired_baseline"] or r["n_unpaired_treatment"]):
        return None
    treatment = r["treatment_label"] if not is_missing(r["treatment_method"]) else f"{r['baseline_method']} only"
    return (f"- {r['task']}, N={_n(r['n_train'])}, {_noise(r)}, {treatment}: {int(r['n_unpaired_baseline'])} "
            f"{r['baseline_method']} and {int(r['n_unpaired_treatment'])} treatment run(s) without a partner "
            f"(not in the paired statistics; see the seed summary).")


def _span(low: Any, high: Any) -> str:
    return f"{int(low)}" if int(low) == int(high) else f"{int(low)}–{int(high)}"


def _p_ci(p: Any, lo: Any, hi: Any) -> str:
    if is_missing(p):
        return "n/a"
    return f"{float(p):.2f} " + ("[n/a]" if is_missing(lo) or is_missing(hi) else f"[{float(lo):.2f}, {float(hi):.2f}]")


def _pooled(summary: pd.DataFrame, column: str) -> str:
    """The distinct names in a summary column of comma-separated names."""
    return ", ".join(sorted({name for text in summary[column] for name in str(text).split(", ")}))


def _method_summary_section(summary: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    lines = ["### Method-level summary", ""]
    if summary.empty:
        return lines + [f"No cell has a run of another method that shares its seeds with a {BASELINE} run.", ""]
    cells = "clean" if summary.attrs.get("include_clean") else "noisy"
    lines += [f"Each method against {BASELINE} over all {cells} cells of one model, N and pooling (every task and noise "
              f"setting; tasks: {_pooled(summary, 'tasks')}; noise: {_pooled(summary, 'noise_families')}).  "
              f"mean Δ = the mean over cells of each cell's mean paired difference treatment − {BASELINE} in "
              "percentage points (cells weighted equally).  P(improvement) = the probability that a treatment run "
              f"beats a {BASELINE} run of the same cell, ties counting ½, averaged over cells (rliable's probability "
              "of improvement; it ignores the pairing; 0.5 = no difference).  Both intervals are 95% percentile "
              "stratified bootstrap intervals: seeds are resampled within each cell (pairs together for Δ, the two "
              "methods' runs independently for P), cells stay fixed, so they speak to new seeds on these tasks and "
              "noise settings, not to other tasks.  A cell with fewer pairs resamples its own number.", ""]
    multi_model = table["model"].nunique(dropna=False) > 1
    pooled = [k for k in TRAINING_KEYS if k in summary.columns and summary[k].dropna().astype(str).nunique() > 1]
    headers = ["model"] * multi_model + ["N"] + pooled + [
        "treatment", "cells", "pairs", "pairs per cell", "baseline mean %", "treatment mean %", "mean Δ pp [95% CI]",
        f"P(improvement over {BASELINE}) [95% CI]"]
    rows = [[r["model"]] * multi_model + [_n(r["n_train"])] + [str(r[k]) for k in pooled] + [
        r["treatment_label"], int(r["n_cells"]), int(r["n_pairs"]), _span(r["min_pairs_per_cell"], r["max_pairs_per_cell"]),
        _pct(r["mean_baseline"]), _pct(r["mean_treatment"]),
        _delta_ci(r["mean_diff"], r["mean_diff_ci_low"], r["mean_diff_ci_high"]),
        _p_ci(r["p_improvement"], r["p_improvement_ci_low"], r["p_improvement_ci_high"])]
        for r in summary.to_dict("records")]
    return lines + _md_table(headers, rows) + [""]


def _comparison_section(summary: pd.DataFrame, diffs: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    return [f"## Every method against {BASELINE}", ""] + _method_summary_section(summary, table) + \
        _stats_section(diffs, table)


def _stats_section(diffs: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    lines = ["### Paired statistics per cell", "",
             f"Each method is compared with the baseline ({BASELINE}); a baseline run and a treatment run are "
             "paired when they share (data seed, noise seed, train seed).  Δ = treatment − baseline test accuracy "
             "in percentage points, with its 95% bootstrap interval (BCa, percentile when BCa is undefined).  "
             "p-values are two-sided: paired t-test; sign-flip permutation test of the mean difference (exact = "
             f"all 2^n sign vectors, sampled = random ones); Wilcoxon signed-rank (n/a below {MIN_PAIRS_WILCOXON} "
             "pairs, where it cannot reach p < 0.05); Holm = sign-flip p adjusted by Holm over all (treatment × "
             "noise level) cells of one noise family in one task, model, N, weak-model fit, relabelled pool and "
             f"pooling (clean cells: one family of their own).  significant = Holm p < {ALPHA:g}.", ""]
    multi_model = table["model"].nunique(dropna=False) > 1
    variant = _variant_keys(table)
    headers = ["task"] + ["model"] * multi_model + ["N", "noise"] + ["setting"] * bool(variant) + [
        "treatment", "mean realised noise", "n pairs", "baseline mean %", "treatment mean %",
        "Δ pp [CI]", "p t-test", "p sign-flip", "p Wilcoxon", "p Holm", "significant"]
    records = diffs.to_dict("records")
    lines += _md_table(headers, [_stats_row(r, table, multi_model, variant) for r in records]) + [""]
    notes = [note for r in records if (note := _unpaired_note(r))]
    return lines + (["Unpaired runs:", ""] + notes + [""] if notes else [])


def _cost_row(r: Mapping[str, Any], table: pd.DataFrame, multi_model: bool, variant: Sequence[str]) -> list[Any]:
    rate = _realised(table, r)
    return [r["task"]] + [r["model"]] * multi_model + [_n(r["n_train"]), _noise(r)] + _variant(r, variant) + [
        r["method_label"], "n/a" if is_missing(rate) else f"{rate:.1%}", int(r["n_pairs"]), int(r["n_noisy_runs"]),
        _pct(r["mean_clean"]), _pct(r["mean_noisy"]), _delta_ci(r["mean_drop"], r["ci_low"], r["ci_high"]),
        format_p(r["p_ttest"]), format_p(r["p_signflip"]), format_p(r["p_holm"]),
        "n/a" if is_missing(r["p_holm"]) else ("yes" if r["significant"] else "no")]


def _cost_section(costs: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    lines = ["## What noise costs", ""]
    clean = table["noise_family"].map(is_clean)
    if costs.empty or not clean.any():
        why = "no clean runs" if not clean.any() else "no noisy runs"
        return lines + [f"Not measured: the results have {why}.  A grid adds clean runs that share the noisy runs' "
                        f"seeds with `noise.include_clean: true`.", ""]
    lines += ["Each method's accuracy on clean labels minus its accuracy at each noise level, paired: a noisy run's "
              "clean partner is the clean run of the same task, model, N, pooling, method (and hyper-parameters), "
              "data seed and train seed.  Where several noisy runs share one clean partner (crossed seeds: several "
              "noise seeds per data and train seed) they are averaged first, so each clean run is one pair.  "
              "drop = clean − noisy test accuracy in percentage points (positive: noise costs accuracy) with its 95% "
              "bootstrap interval; p-values two-sided (paired t-test, sign-flip); Holm = sign-flip p adjusted over "
              "the noise levels of one (task, model, N, noise family and level parameter, method).", ""]
    multi_model = table["model"].nunique(dropna=False) > 1
    variant = _variant_keys(table)
    headers = ["task"] + ["model"] * multi_model + ["N", "noise"] + ["setting"] * bool(variant) + [
        "method", "mean realised noise", "n pairs", "noisy runs", "clean mean %", "noisy mean %", "drop pp [CI]",
        "p t-test", "p sign-flip", "p Holm", "significant"]
    records = costs.to_dict("records")
    lines += _md_table(headers, [_cost_row(r, table, multi_model, variant) for r in records]) + [""]
    unpaired = [f"- {r['task']}, N={_n(r['n_train'])}, {_noise(r)}, {r['method_label']}: "
                f"{int(r['n_unpaired_noisy'])} noisy run(s) without a clean partner"
                for r in records if r["n_unpaired_noisy"]]
    return lines + (["Not in the drop (no clean run with their data and train seed):", ""] + unpaired + [""]
                    if unpaired else [])


def _summary(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """(top-k-by-dev summary, True), or (plain summary, False) when some dev accuracy is missing."""
    dev = pd.to_numeric(table.get("dev_accuracy", pd.Series(np.nan, index=table.index)), errors="coerce")
    if dev.notna().all():
        return prepare.with_labels(top_k_by_dev(table, k=TOP_K)), True
    return prepare.with_labels(seed_summary(table)), False


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
    multi_model = table["model"].nunique(dropna=False) > 1
    variant = _variant_keys(table)
    headers = ["task"] + ["model"] * multi_model + ["N", "noise"] + ["setting"] * bool(variant) + [
        "method", "runs", "all seeds: mean ± sd %"]
    headers += [f"top-{TOP_K} by dev (paper's rule): mean ± sd % (n)"] * has_top
    rows = []
    for r in summary.to_dict("records"):
        sd = "" if is_missing(r["std_all"]) else f" ± {_pct(r['std_all'])}"
        row = [r["task"]] + [r["model"]] * multi_model + [_n(r["n_train"]), _noise(r)] + _variant(r, variant) + [
            r["method_label"], int(r["n_all"]), f"{_pct(r['mean_all'])}{sd}"]
        if has_top:
            sd_top = "" if is_missing(r[f"std_top{TOP_K}"]) else f" ± {_pct(r[f'std_top{TOP_K}'])}"
            row.append(f"{_pct(r[f'mean_top{TOP_K}'])}{sd_top} ({int(r[f'n_top{TOP_K}'])})")
        rows.append(row)
    return lines + [""] + _md_table(headers, rows) + [""]


# --------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------

_CAPTIONS = (
    ("accuracy_vs_noise", "Test accuracy vs noise level (mean over seeds, 95% t-interval from 3 runs; dots: runs)"),
    ("accuracy_vs_realised_noise", "Test accuracy vs mean realised noise rate, levels as tick labels (95% t-interval "
                                   "from 3 runs; dots: runs)"),
    ("difference_vs_noise", "Paired difference treatment − baseline vs noise level (bootstrap CI; stars: Holm p<0.05)"),
    ("method_summary", "Every method against the baseline over all cells: mean paired difference and probability of "
                       "improvement (95% stratified bootstrap CI)"),
    ("noise_rate_vs", "Realised noise rate vs noise level (mean, min–max over noise draws)"),
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
# comparison with the paper
# --------------------------------------------------------------------------


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


_PAPER_INTRO = [
    "The paper's numbers are RoBERTa-large test accuracies, each the mean of the top-3 runs by dev accuracy.  Our "
    "columns are plain means over the paired seeds (the verdict uses these, the paired interval and the "
    "Holm-adjusted p); our top-3-by-dev means are given for like-for-like reading only.  A claim is *replicated* "
    f"when our {_PAPER_PAIR} difference has the paper's sign and either Holm p < 0.05 or our interval excludes 0 in "
    "that direction; *not replicated* when our interval excludes 0 in the opposite direction; *not confirmed at "
    "this sample size* when our interval includes 0; *not comparable* when the encoder, task, noise, N or methods "
    "differ.", ""]


def _paper_section(diffs: pd.DataFrame, summary: pd.DataFrame, has_top: bool) -> list[str]:
    paper = paper_table()
    lines = ["## Comparison with the paper", "", f"Source: {SOURCE}", "", *_PAPER_INTRO]
    treated = diffs[diffs["treatment_method"].notna()]
    if treated.empty:
        return lines + [f"No cell has a treatment run, so there is nothing to compare with the paper.", ""] + \
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
            _pct(row["mean_treatment"]), _delta_ci(row["mean_diff"], row["ci_low"], row["ci_high"]),
            format_p(row["p_holm"]), _top_k(summary, row) if has_top else "n/a",
            *(f"{matched.loc[matched['method'] == m, 'mean'].iloc[0]:.1f}" for m in (PAPER_BASELINE, PAPER_TREATMENT)),
            f"{p_delta:+.1f}", verdict])
        sentences.append(f"- {where} vs {p_table}, {shown_task_name(str(row['task']))}: {sentence}")
    if table_rows:
        b, t = PAPER_BASELINE, PAPER_TREATMENT
        lines += _md_table(["task", "model", "N", "noise", "paper table", f"ours {b} %", f"ours {t} %", "ours Δ pp [CI]",
                            "ours p Holm", f"ours top-{TOP_K} {b} / {t} %", f"paper {b} %", f"paper {t} %",
                            "paper Δ pp", "verdict"], table_rows) + [""] + sentences + [""]
    if unmatched:
        lines += ["Cells without a counterpart in the paper:", ""] + unmatched + [""]
    if comparable == 0:
        lines += ["**No cell of ours is comparable with the paper** (see the reasons above), so nothing here "
                  "replicates or contradicts it.", ""] + _paper_reference(diffs, paper)
    return lines


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


def _paper_reference(diffs: pd.DataFrame, paper: pd.DataFrame) -> list[str]:
    """The paper's claims closest to our cells, for reference."""
    lines = ["For reference, the paper's claims closest to our cells:", ""]
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
    return lines + [""]


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

    Sections: set-up (models, tasks, N, seeds, epochs, lr, batch size, software versions from the
    runs' ``metrics.json``), what noise costs each method (clean − noisy, paired with the clean
    anchor: :func:`~noisebench.analysis.prepare.noise_costs`), every method against the baseline: the
    method-level summary over cells (:func:`~noisebench.analysis.prepare.method_summaries`) and the
    per-cell paired statistics (:func:`~noisebench.analysis.prepare.paired_differences`), the seed summary (plain mean next
    to the paper's top-3-by-dev rule), the figures (made by
    :func:`~noisebench.analysis.plots.plot_all` into ``figures_dir`` when given, linked relative
    to the report) and the comparison with the paper. Runs without a test accuracy are left out
    (and listed).

    Raises
    ------
    ValueError
        When the table has no run with a test accuracy, or when pairing is ambiguous.
    """
    results_dir, out_path = Path(results_dir), Path(out_path)
    if table is None or len(table) == 0:
        raise ValueError(f"no finished runs in {results_dir}")
    accuracy = pd.to_numeric(table["test_accuracy"], errors="coerce")
    dropped = sorted(map(str, table.loc[accuracy.isna(), "run_id"]))
    table = with_setting_keys(table[accuracy.notna()].reset_index(drop=True))
    if table.empty:
        raise ValueError(f"no finished runs with a test accuracy in {results_dir}")
    costs = prepare.noise_costs(table)
    diffs = prepare.paired_differences(table)
    methods = prepare.method_summaries(table)
    summary, has_top = _summary(table)
    figure_paths: list[Path] = []
    if figures_dir is not None:
        from noisebench.analysis.plots import plot_all

        figure_paths = plot_all(table, history, results_dir, Path(figures_dir))
    lines = [f"# noisebench report: training methods vs {BASELINE} under label noise", "",
             f"Does a training method make a fine-tuned model more robust to label noise than the baseline "
             f"({BASELINE})?  Every method is compared with {BASELINE} on runs that share their seeds.", ""]
    lines += _setup_section(table, results_dir, dropped)
    lines += _cost_section(costs, table)
    lines += _comparison_section(methods, diffs, table)
    lines += _seed_section(summary, has_top, table)
    lines += _figures_section(figure_paths, out_path.parent, Path(figures_dir) if figures_dir else None)
    lines += _paper_section(diffs, summary, has_top)
    write_bytes_atomic(out_path, ("\n".join(lines).rstrip() + "\n").encode("utf-8"))
    return out_path

"""Sections of the report: set-up, what noise costs, every method against the baseline, seed summary, figures."""

from __future__ import annotations

import importlib.metadata
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.keys import TRAINING_KEYS
from noisebench.analysis.report.blocks import Block, Estimate, Figure, Heading, MeanSd, Paragraph, bullets, table_block
from noisebench.analysis.report.formatting import (
    ALPHA,
    TOP_K,
    _n,
    _noise,
    _pct,
    _realised,
    _values,
    _variant,
    _variant_keys,
)
from noisebench.analysis.report.same_rate import FIGURE_CAPTION as SAME_RATE_CAPTION
from noisebench.analysis.report.same_rate import FIGURE_STEM as SAME_RATE_FIGURE
from noisebench.analysis.stats import MIN_PAIRS_WILCOXON, format_p, seed_summary, top_k_by_dev
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE
from noisebench.noise.families import is_clean
from noisebench.store.table import run_versions


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


def _setup_section(table: pd.DataFrame, results_dir: Path, dropped: list[str]) -> list[Block]:
    n_triples = len(table[[c for c in ("data_seed", "noise_seed", "train_seed") if c in table.columns]].drop_duplicates())
    lines = [f"- results directory: `{results_dir}`",
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
    return [Heading(2, "Set-up"), bullets(lines)]


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
        Estimate(r["mean_diff"], r["ci_low"], r["ci_high"], r["p_holm"]), format_p(r["p_ttest"]), p_sf,
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


def _method_summary_section(summary: pd.DataFrame, table: pd.DataFrame) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Method-level summary")]
    if summary.empty:
        return blocks + [Paragraph(f"No cell has a run of another method that shares its seeds with a {BASELINE} run.")]
    cells = "clean" if summary.attrs.get("include_clean") else "noisy"
    blocks.append(Paragraph(f"Each method against {BASELINE} over all {cells} cells of one model, N and pooling (every task and noise "
              f"setting; tasks: {_pooled(summary, 'tasks')}; noise: {_pooled(summary, 'noise_families')}).  "
              f"mean Δ = the mean over cells of each cell's mean paired difference treatment − {BASELINE} in "
              "percentage points (cells weighted equally).  P(improvement) = the probability that a treatment run "
              f"beats a {BASELINE} run of the same cell, ties counting ½, averaged over cells (rliable's probability "
              "of improvement; it ignores the pairing; 0.5 = no difference).  Both intervals are 95% percentile "
              "stratified bootstrap intervals: seeds are resampled within each cell (pairs together for Δ, the two "
              "methods' runs independently for P), cells stay fixed, so they speak to new seeds on these tasks and "
              "noise settings, not to other tasks.  A cell with fewer pairs resamples its own number."))
    multi_model = table["model"].nunique(dropna=False) > 1
    pooled = [k for k in TRAINING_KEYS if k in summary.columns and summary[k].dropna().astype(str).nunique() > 1]
    headers = ["model"] * multi_model + ["N"] + pooled + [
        "treatment", "cells", "pairs", "pairs per cell", "baseline mean %", "treatment mean %", "mean Δ pp [95% CI]",
        f"P(improvement over {BASELINE}) [95% CI]"]
    rows = [[r["model"]] * multi_model + [_n(r["n_train"])] + [str(r[k]) for k in pooled] + [
        r["treatment_label"], int(r["n_cells"]), int(r["n_pairs"]), _span(r["min_pairs_per_cell"], r["max_pairs_per_cell"]),
        _pct(r["mean_baseline"]), _pct(r["mean_treatment"]),
        Estimate(r["mean_diff"], r["mean_diff_ci_low"], r["mean_diff_ci_high"]),
        _p_ci(r["p_improvement"], r["p_improvement_ci_low"], r["p_improvement_ci_high"])]
        for r in summary.to_dict("records")]
    return blocks + [table_block(headers, rows)]


def _comparison_section(summary: pd.DataFrame, diffs: pd.DataFrame, table: pd.DataFrame) -> list[Block]:
    return [Heading(2, f"Every method against {BASELINE}")] + _method_summary_section(summary, table) + \
        _stats_section(diffs, table)


def _stats_section(diffs: pd.DataFrame, table: pd.DataFrame) -> list[Block]:
    blocks: list[Block] = [Heading(3, "Paired statistics per cell"), Paragraph(
             f"Each method is compared with the baseline ({BASELINE}); a baseline run and a treatment run are "
             "paired when they share (data seed, noise seed, train seed).  Δ = treatment − baseline test accuracy "
             "in percentage points, with its 95% bootstrap interval (BCa, percentile when BCa is undefined).  "
             "p-values are two-sided: paired t-test; sign-flip permutation test of the mean difference (exact = "
             f"all 2^n sign vectors, sampled = random ones); Wilcoxon signed-rank (n/a below {MIN_PAIRS_WILCOXON} "
             "pairs, where it cannot reach p < 0.05); Holm = sign-flip p adjusted by Holm over all (treatment × "
             "noise level) cells of one noise family in one task, model, N, weak-model fit, relabelled pool and "
             f"pooling (clean cells: one family of their own).  significant = Holm p < {ALPHA:g}.")]
    multi_model = table["model"].nunique(dropna=False) > 1
    variant = _variant_keys(table)
    headers = ["task"] + ["model"] * multi_model + ["N", "noise"] + ["setting"] * bool(variant) + [
        "treatment", "mean realised noise", "n pairs", "baseline mean %", "treatment mean %",
        "Δ pp [CI]", "p t-test", "p sign-flip", "p Wilcoxon", "p Holm", "significant"]
    records = diffs.to_dict("records")
    blocks.append(table_block(headers, [_stats_row(r, table, multi_model, variant) for r in records]))
    notes = [note for r in records if (note := _unpaired_note(r))]
    return blocks + ([Paragraph("Unpaired runs:"), bullets(notes)] if notes else [])


def _cost_row(r: Mapping[str, Any], table: pd.DataFrame, multi_model: bool, variant: Sequence[str]) -> list[Any]:
    rate = _realised(table, r)
    return [r["task"]] + [r["model"]] * multi_model + [_n(r["n_train"]), _noise(r)] + _variant(r, variant) + [
        r["method_label"], "n/a" if is_missing(rate) else f"{rate:.1%}", int(r["n_pairs"]), int(r["n_noisy_runs"]),
        _pct(r["mean_clean"]), _pct(r["mean_noisy"]), Estimate(r["mean_drop"], r["ci_low"], r["ci_high"], r["p_holm"]),
        format_p(r["p_ttest"]), format_p(r["p_signflip"]), format_p(r["p_holm"]),
        "n/a" if is_missing(r["p_holm"]) else ("yes" if r["significant"] else "no")]


def _cost_section(costs: pd.DataFrame, table: pd.DataFrame) -> list[Block]:
    blocks: list[Block] = [Heading(2, "What noise costs")]
    clean = table["noise_family"].map(is_clean)
    if costs.empty or not clean.any():
        why = "no clean runs" if not clean.any() else "no noisy runs"
        return blocks + [Paragraph(f"Not measured: the results have {why}.  A grid adds clean runs that share the "
                                   f"noisy runs' seeds with `noise.include_clean: true`.")]
    blocks += [Paragraph("Each method's accuracy on clean labels minus its accuracy at each noise level, paired: a noisy run's "
              "clean partner is the clean run of the same task, model, N, pooling, method (and hyper-parameters), "
              "data seed and train seed.  Where several noisy runs share one clean partner (crossed seeds: several "
              "noise seeds per data and train seed) they are averaged first, so each clean run is one pair.  "
              "drop = clean − noisy test accuracy in percentage points (positive: noise costs accuracy) with its 95% "
              "bootstrap interval; p-values two-sided (paired t-test, sign-flip); Holm = sign-flip p adjusted over "
              "the noise levels of one (task, model, N, noise family and level parameter, method).")]
    multi_model = table["model"].nunique(dropna=False) > 1
    variant = _variant_keys(table)
    headers = ["task"] + ["model"] * multi_model + ["N", "noise"] + ["setting"] * bool(variant) + [
        "method", "mean realised noise", "n pairs", "noisy runs", "clean mean %", "noisy mean %", "drop pp [CI]",
        "p t-test", "p sign-flip", "p Holm", "significant"]
    records = costs.to_dict("records")
    blocks.append(table_block(headers, [_cost_row(r, table, multi_model, variant) for r in records]))
    unpaired = [f"- {r['task']}, N={_n(r['n_train'])}, {_noise(r)}, {r['method_label']}: "
                f"{int(r['n_unpaired_noisy'])} noisy run(s) without a clean partner"
                for r in records if r["n_unpaired_noisy"]]
    return blocks + ([Paragraph("Not in the drop (no clean run with their data and train seed):"), bullets(unpaired)]
                     if unpaired else [])


def _summary(table: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
    """(top-k-by-dev summary, True), or (plain summary, False) when some dev accuracy is missing."""
    dev = pd.to_numeric(table.get("dev_accuracy", pd.Series(np.nan, index=table.index)), errors="coerce")
    if dev.notna().all():
        return prepare.with_labels(top_k_by_dev(table, k=TOP_K)), True
    return prepare.with_labels(seed_summary(table)), False


def _seed_section(summary: pd.DataFrame, has_top: bool, table: pd.DataFrame) -> list[Block]:
    lines = ["**All seeds** is the plain mean ± sample standard deviation over every run of a (cell, method): "
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
        row = [r["task"]] + [r["model"]] * multi_model + [_n(r["n_train"]), _noise(r)] + _variant(r, variant) + [
            r["method_label"], int(r["n_all"]), MeanSd(r["mean_all"], r["std_all"])]
        if has_top:
            row.append(MeanSd(r[f"mean_top{TOP_K}"], r[f"std_top{TOP_K}"], int(r[f"n_top{TOP_K}"])))
        rows.append(row)
    return [Heading(2, "Seed summary"), Paragraph("\n".join(lines)), table_block(headers, rows)]


# --------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------

_CAPTIONS = (
    ("accuracy_vs_noise", "Test accuracy vs noise level (mean over seeds, 95% t-interval from 3 runs; dots: runs)"),
    ("accuracy_vs_realised_noise", "Test accuracy vs mean realised noise rate, levels as tick labels (95% t-interval "
                                   "from 3 runs; dots: runs)"),
    ("difference_vs_noise", "Paired difference treatment − baseline vs noise level (bootstrap CI; stars: Holm p<0.05)"),
    ("robustness_vs_noise", "More robust, or just better? Δ treatment − baseline vs noise level (95% bootstrap CI); "
                            "dashed: the clean Δ on the same seeds; filled: gain over the clean Δ Holm p<0.05"),
    ("method_summary", "Every method against the baseline over all cells: mean paired difference and probability of "
                       "improvement (95% stratified bootstrap CI)"),
    (SAME_RATE_FIGURE, SAME_RATE_CAPTION),
    ("noise_rate_vs", "Realised noise rate vs noise level (mean, min–max over noise draws)"),
    ("transition", "Clean → noisy label transitions of one run"),
    ("memorisation", "Memorisation of wrong labels during training"),
    ("tsne", "t-SNE of test sentence embeddings"),
)
_POOLING_WORDS = {"cls": "[CLS] pooling: the first token's last-layer state", "mean": "mean pooling: the masked mean of the last layer's token states"}


def _tsne_caption(pooling: Sequence[str]) -> str:
    """The t-SNE caption naming the pooling that made the embeddings (the features the head and SCL see)."""
    said = [_POOLING_WORDS.get(p, f"{p} pooling") for p in pooling]
    return f"t-SNE of test sentence embeddings ({'; '.join(said) or 'pooling not recorded'})"


def _figures_section(paths: Sequence[Path], out_dir: Path, figures_dir: Path | None, pooling: Sequence[str] = ()) -> list[Block]:
    """Every figure with its caption; ``pooling``: the runs' sentence pooling values (named in the t-SNE caption)."""
    blocks: list[Block] = [Heading(2, "Figures")]
    if figures_dir is None:
        return blocks + [Paragraph("No figures were made for this report (pass `figures_dir`).")]
    pngs = [p for p in paths if p.suffix == ".png"]
    if not pngs:
        return blocks + [Paragraph(f"No figure could be made from these results (see the log); directory: "
                                   f"`{os.path.relpath(figures_dir, out_dir)}`.")]
    for png in pngs:
        caption = next((c for prefix, c in _CAPTIONS if png.stem.startswith(prefix)), png.stem)
        caption = _tsne_caption(pooling) if png.stem.startswith("tsne") else caption
        pdf = png.with_suffix(".pdf")
        blocks += [Heading(3, caption), Figure(png, caption, pdf if pdf in paths else None)]
    return blocks

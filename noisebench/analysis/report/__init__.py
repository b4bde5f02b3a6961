"""The results report (Markdown, HTML or LaTeX by the output's suffix): set-up, what noise costs, every method against the baseline, seed summaries, figures, paper comparison.

:func:`write_report` is the only entry point. Number formats (so the report can be checked
against the statistics): accuracies in percent with two decimals (``81.20``); differences
treatment − baseline in percentage points with sign, the interval in brackets
(``+1.20 [+0.40, +2.00]``); probabilities of improvement with two decimals (``0.68 [0.57, 0.78]``);
p-values by :func:`~noisebench.analysis.stats.format_p`; realised noise rates in percent with one
decimal (``31.2%``). Methods are shown by their registered label,
noise by the level parameter's symbol (the family's own, ``T=0.9``, or the target rate, ``ρ=0.2``). This module must not import the training code or the CLI.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.keys import with_setting_keys
from noisebench.analysis.report.blocks import Block, Heading, Paragraph
from noisebench.analysis.report.claims import _claims_section, claim_evidence
from noisebench.analysis.report.comparison import _paper_section, paper_verdict
from noisebench.analysis.report.formatting import ALPHA, PAPER_ENCODER
from noisebench.analysis.report.robustness import _robustness_section
from noisebench.analysis.report.same_rate import FIGURE_STEM, _same_rate_section
from noisebench.analysis.report.sections import (
    _comparison_section,
    _cost_section,
    _figures_section,
    _seed_section,
    _setup_section,
    _summary,
)
from noisebench.analysis.report.selection import _selection_section
from noisebench.analysis.report.writers import REPORT_WRITERS, report_writer
from noisebench.analysis.stats import control_gaps, robustness_gains, same_rate_comparison, selection_effects
from noisebench.io import write_bytes_atomic
from noisebench.methods import BASELINE
from noisebench.selection import DEFAULT_SELECTION

__all__ = ["write_report", "report_blocks", "paper_verdict", "REPORT_WRITERS", "ALPHA", "PAPER_ENCODER"]


def write_report(
    table: pd.DataFrame,
    history: pd.DataFrame | None,
    results_dir: Path | str,
    out_path: Path | str,
    *,
    figures_dir: Path | str | None = None,
) -> Path:
    """Write the report to ``out_path`` (atomically) in the format of its suffix and return its path.

    ``.md``: Markdown, figures linked relative to the report; ``.html``: one self-contained page,
    figures embedded; ``.tex``: a LaTeX document with booktabs tables, figures included as PDFs
    relative to the report (:data:`REPORT_WRITERS`). The content is :func:`report_blocks`.

    Raises
    ------
    ValueError
        For another suffix (before any work), when the table has no run with a test accuracy, or
        when pairing is ambiguous.
    """
    out_path = Path(out_path)
    writer = report_writer(out_path)
    blocks = report_blocks(table, history, results_dir, out_path, figures_dir=figures_dir)
    write_bytes_atomic(out_path, writer(blocks, out_path.parent).encode("utf-8"))
    return out_path


def report_blocks(
    table: pd.DataFrame,
    history: pd.DataFrame | None,
    results_dir: Path | str,
    out_path: Path | str,
    *,
    figures_dir: Path | str | None = None,
) -> list[Block]:
    """The report's content as blocks (:mod:`~noisebench.analysis.report.blocks`) for a report written to ``out_path``.

    Sections: set-up (models, tasks, N, seeds, epochs, lr, batch size, software versions from the
    runs' ``metrics.json``), "More robust, or just better?" (each treatment's robustness gain over the
    baseline per noise level: :func:`~noisebench.analysis.stats.robustness_gains`), "Same rate, different
    noise" (the noise families that ran at one target rate side by side, and each family against its
    synthetic control paired by seed: :mod:`~noisebench.analysis.report.same_rate`; only when the results
    have such families), the paper's claims
    against our cells (:func:`~noisebench.analysis.report.claims.claim_evidence`), what noise costs
    each method (clean − noisy, paired with the clean anchor: :func:`~noisebench.analysis.prepare.noise_costs`), every method against the baseline: the
    method-level summary over cells (:func:`~noisebench.analysis.prepare.method_summaries`) and the
    per-cell paired statistics (:func:`~noisebench.analysis.prepare.paired_differences`), the seed summary (plain mean next
    to the paper's top-3-by-dev rule), the figures (made by
    :func:`~noisebench.analysis.figures.plot_all` into ``figures_dir`` when given, linked relative
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
    gains = robustness_gains(table)
    methods = prepare.method_summaries(table)
    summary, has_top = _summary(table)
    figure_paths: list[Path] = []
    if figures_dir is not None:
        from noisebench.analysis.figures import plot_all

        figure_paths = plot_all(table, history, results_dir, Path(figures_dir))
    blocks: list[Block] = [
        Heading(1, f"noisebench report: training methods vs {BASELINE} under label noise"),
        Paragraph(f"Does a training method make a fine-tuned model more robust to label noise than the baseline "
                  f"({BASELINE})?  Every method is compared with {BASELINE} on runs that share their seeds.")]
    blocks += _setup_section(table, results_dir, dropped)
    blocks += _robustness_section(gains)
    same_rate = _same_rate_section(same_rate_comparison(table, comparisons=diffs, gains=gains), control_gaps(table),
                                   figure_paths)
    if same_rate:  # the section shows its figure; the figures section does not repeat it
        figure_paths = [p for p in figure_paths if p.stem != FIGURE_STEM]
    blocks += same_rate
    blocks += _claims_section(claim_evidence(table, diffs, gains))
    blocks += _selection_section(selection_effects(table), DEFAULT_SELECTION)
    blocks += _cost_section(costs, table)
    blocks += _comparison_section(methods, diffs, table)
    blocks += _seed_section(summary, has_top, table)
    pooling = sorted(table["pooling"].dropna().astype(str).unique()) if "pooling" in table else []
    blocks += _figures_section(figure_paths, out_path.parent, Path(figures_dir) if figures_dir else None, pooling)
    return blocks + _paper_section(diffs, summary, has_top)

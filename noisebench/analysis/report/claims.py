"""The paper's claims against our runs: for each claim, the cells that bear on it, our estimate with its interval and a verdict.

Claims (Gunel et al. 2021, CE+SCL against CE): RQ1 the few-shot gain, and that it shrinks as N
grows; RQ2 the robustness gain under label noise; RQ3 the gain on sentence-pair against
single-sentence tasks; RQ4 the gain when fine-tuning starts from another run (transfer,
``init_from``); and that a larger batch amplifies the gain. A verdict is read off the interval
alone (:func:`claim_verdict`): *supported* when it excludes 0 in the paper's direction,
*contradicted* when it excludes 0 in the other, else *inconclusive at this power*. Each evidence
row names its regime (encoder, pooling, N, task, selection rule, ...), because a claim can hold in
one regime and fail in another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from noisebench.analysis import prepare
from noisebench.analysis.paper import PAPER_BASELINE, PAPER_TREATMENT, paper_table
from noisebench.analysis.report.blocks import Block, Estimate, Heading, Paragraph, table_block
from noisebench.analysis.report.formatting import _n, _noise
from noisebench.analysis.stats import PairedCell, cell_keys, paired_cells, paired_test
from noisebench.analysis.values import is_missing
from noisebench.data.tasks import TASKS, get_task_spec
from noisebench.noise.families import is_clean

__all__ = ["CLAIM_VERDICTS", "EVIDENCE_COLUMNS", "Claim", "claim_evidence", "claim_verdict", "paper_pair_gap",
           "task_is_pair"]

#: Verdicts of a claim's evidence row.
CLAIM_VERDICTS: tuple[str, str, str] = ("supported", "contradicted", "inconclusive at this power")
EVIDENCE_COLUMNS: tuple[str, ...] = ("claim", "regime", "cells", "estimate", "ci_low", "ci_high", "test", "verdict")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper: an id, what it says (our estimate > 0 means it holds)."""

    claim_id: str
    statement: str


def claim_verdict(ci_low: float, ci_high: float, *, direction: float = 1.0) -> str:
    """*supported* when ``[ci_low, ci_high]`` excludes 0 on the side of ``direction``'s sign, *contradicted* on
    the other side, *inconclusive at this power* otherwise (also when the interval is missing)."""
    if is_missing(ci_low) or is_missing(ci_high):
        return CLAIM_VERDICTS[2]
    low, high = sorted((float(ci_low) * direction, float(ci_high) * direction))
    return CLAIM_VERDICTS[0] if low > 0 else CLAIM_VERDICTS[1] if high < 0 else CLAIM_VERDICTS[2]


def task_is_pair(task: Any) -> bool | None:
    """Whether ``task`` is a sentence-pair task; None for a task this process does not know."""
    return get_task_spec(str(task)).is_pair if str(task) in TASKS else None


def paper_pair_gap() -> tuple[float, float]:
    """(mean CE+SCL − CE on the paper's few-shot sentence-pair tasks, same on its single-sentence tasks), in pp."""
    paper = paper_table()
    few = paper[paper["setting"] == "few-shot"].pivot_table(index=["task", "n_train"], columns="method", values="mean")
    gap = (few[PAPER_TREATMENT] - few[PAPER_BASELINE]).dropna().reset_index(name="gain")
    kind = [task_is_pair(t) for t in gap["task"]]
    pair = [g for g, k in zip(gap["gain"], kind) if k is True]
    single = [g for g, k in zip(gap["gain"], kind) if k is False]
    return float(np.mean(pair)), float(np.mean(single))


def _claims() -> tuple[Claim, ...]:
    pair, single = paper_pair_gap()
    wider = "sentence-pair" if pair >= single else "single-sentence"
    return (
        Claim("RQ1", f"few-shot: {PAPER_TREATMENT} beats {PAPER_BASELINE} on clean labels"),
        Claim("RQ1", "the few-shot gain shrinks as N grows"),
        Claim("RQ2", f"{PAPER_TREATMENT} is more robust to label noise: its advantage grows under noise"),
        Claim("RQ3", f"sentence-pair tasks benefit too: {PAPER_TREATMENT} beats {PAPER_BASELINE} on clean few-shot pair tasks"),
        Claim("RQ3", f"the gain is larger on {wider} tasks (paper's Table 2: {pair:+.1f} pp on sentence-pair, "
                     f"{single:+.1f} pp on single-sentence tasks, mean over N)"),
        Claim("RQ4", "the gain holds when fine-tuning starts from another run (transfer, init_from)"),
        Claim("batch", "a larger batch amplifies the gain"),
    )


# --------------------------------------------------------------------------
# regimes and comparisons of per-seed Δs
# --------------------------------------------------------------------------


def _regime(row: Mapping[str, Any], **shown: str) -> str:
    """Encoder, pooling, N, task, selection rule, noise, batch size, initialisation and treatment of a cell."""
    parts = {"encoder": str(row.get("model")), "pooling": row.get("pooling"), "N": _n(row.get("n_train")),
             "task": row.get("task"), "selection": row.get("selection"),
             "noise": None if is_clean(row.get("noise_family")) else _noise(row), "batch size": row.get("batch_size"),
             "init from": row.get("init_from"), "treatment": row.get("treatment_label"), **shown}
    return ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}" for k, v in parts.items()
                     if not is_missing(v))


def _delta_difference(first: PairedCell, second: PairedCell, *, paired: bool = True,
                      **test_kwargs: Any) -> tuple[float, float, float, str]:
    """mean Δ(second) − mean Δ(first), its interval and how it was tested.

    With ``paired``, paired on the seed triples the two cells share when they share at least 2
    (bootstrap interval of :func:`paired_test`); otherwise Welch's unpaired t interval
    (``scipy.stats.ttest_ind``, unequal variances) over every pair of each cell.
    """
    shared = sorted(set(first.seeds) & set(second.seeds), key=str) if paired else []
    if len(shared) >= 2:
        pick = [[cell.seeds.index(s) for s in shared] for cell in (first, second)]
        res = paired_test(first.differences[pick[0]], second.differences[pick[1]], **test_kwargs)
        return res.mean_difference, res.ci_low, res.ci_high, f"paired on {len(shared)} shared seeds"
    a, b = first.differences, second.differences
    estimate = float(b.mean() - a.mean()) if len(a) and len(b) else float("nan")
    if len(a) < 2 or len(b) < 2:
        return estimate, float("nan"), float("nan"), f"too few pairs ({len(a)}, {len(b)}) for a test"
    ci = stats.ttest_ind(b, a, equal_var=False).confidence_interval(test_kwargs.get("confidence", 0.95))
    return estimate, float(ci.low), float(ci.high), f"Welch t, unpaired ({len(a)} and {len(b)} pairs)"


def _row(claim: Claim, regime: str, cells: str, estimate: float, low: float, high: float, test: str) -> dict[str, Any]:
    return {"claim": claim.claim_id + ": " + claim.statement, "regime": regime, "cells": cells, "estimate": estimate,
            "ci_low": low, "ci_high": high, "test": test, "verdict": claim_verdict(low, high)}


def _sorted_pairs(cells: Sequence[PairedCell], key: str) -> Iterable[tuple[PairedCell, PairedCell]]:
    """Adjacent pairs of ``cells`` (which differ only in ``key``) in increasing ``key``."""
    ordered = sorted(cells, key=lambda c: float(c.key[key]))
    return zip(ordered, ordered[1:])


def _varying_in(cells: Sequence[PairedCell], key: str) -> list[list[PairedCell]]:
    """Groups of cells equal on every cell key but ``key`` (and with ``key`` set), at least two per group."""
    groups: dict[tuple, list[PairedCell]] = {}
    for cell in cells:
        if not is_missing(cell.key.get(key)):
            groups.setdefault(tuple(str(cell.key[k]) for k in cell_keys() if k != key), []).append(cell)
    return [g for g in groups.values() if len({float(c.key[key]) for c in g}) > 1]


# --------------------------------------------------------------------------
# the claims
# --------------------------------------------------------------------------


def _from_frame(claim: Claim, frame: pd.DataFrame, estimate: str, n: str, test: str) -> list[dict[str, Any]]:
    return [_row(claim, _regime(r), f"{int(r[n])} seed pairs", r[estimate], r["ci_low"], r["ci_high"], test)
            for r in frame.to_dict("records")]


def _where(frame: pd.DataFrame, column: str, test: Callable[[Any], bool]) -> np.ndarray:
    """Boolean mask of ``test`` on ``column`` (a plain array, also for an empty frame)."""
    return np.array([bool(test(v)) for v in frame[column]], dtype=bool)


def _few_shot(diffs: pd.DataFrame) -> pd.DataFrame:
    """Clean cells with a set N that start from the pre-trained encoder."""
    keep = _where(diffs, "noise_family", is_clean) & ~_where(diffs, "n_train", is_missing)
    return diffs[keep & _where(diffs, "init_from", is_missing)]


def _shrinks(claim: Claim, cells: Sequence[PairedCell], **kw: Any) -> list[dict[str, Any]]:
    few = [c for c in cells if is_clean(c.key["noise_family"]) and is_missing(c.key.get("init_from"))]
    rows = []
    for group in _varying_in(few, "n_train"):
        for small, large in _sorted_pairs(group, "n_train"):
            est, low, high, test = _delta_difference(large, small, **kw)
            rows.append(_row(claim, _regime(_labelled(small), N=f"{_n(small.key['n_train'])} vs "
                                            f"{_n(large.key['n_train'])}"),
                             f"Δ(N={_n(small.key['n_train'])}) − Δ(N={_n(large.key['n_train'])})", est, low, high, test))
    return rows


def _batch(claim: Claim, cells: Sequence[PairedCell], **kw: Any) -> list[dict[str, Any]]:
    rows = []
    for group in _varying_in(cells, "batch_size"):
        for small, large in _sorted_pairs(group, "batch_size"):
            est, low, high, test = _delta_difference(small, large, **kw)
            sizes = f"{small.key['batch_size']:g} vs {large.key['batch_size']:g}"
            rows.append(_row(claim, _regime(_labelled(small), **{"batch size": sizes}),
                             f"Δ(batch {large.key['batch_size']:g}) − Δ(batch {small.key['batch_size']:g})",
                             est, low, high, test))
    return rows


def _pair_vs_single(claim: Claim, cells: Sequence[PairedCell], direction: float, **kw: Any) -> list[dict[str, Any]]:
    groups: dict[tuple, list[PairedCell]] = {}
    for cell in cells:
        if task_is_pair(cell.key["task"]) is not None:
            groups.setdefault(tuple(str(cell.key[k]) for k in cell_keys() if k != "task"), []).append(cell)
    rows = []
    for group in groups.values():
        singles = [c for c in group if not task_is_pair(c.key["task"])]
        for single in singles:
            for pair in (c for c in group if task_is_pair(c.key["task"])):
                est, low, high, test = _delta_difference(single, pair, paired=False, **kw)
                task = f"{pair.key['task']} (pair) vs {single.key['task']} (single)"
                row = _row(claim, _regime(_labelled(pair), task=task), f"Δ({pair.key['task']}) − "
                           f"Δ({single.key['task']})", est, low, high, test)
                rows.append({**row, "verdict": claim_verdict(low, high, direction=direction)})
    return rows


def _labelled(cell: PairedCell) -> dict[str, Any]:
    return {**cell.key, "treatment_label": prepare.method_label(cell.key["treatment_method"], cell.key)}


def claim_evidence(
    table: pd.DataFrame, diffs: pd.DataFrame, gains: pd.DataFrame, *, confidence: float = 0.95,
    n_resamples: int = 10_000, random_state: int = 0,
) -> pd.DataFrame:
    """Every evidence row of every claim (:data:`EVIDENCE_COLUMNS`), in claim order.

    ``diffs``: :func:`~noisebench.analysis.stats.compare_methods` of ``table``; ``gains``:
    :func:`~noisebench.analysis.stats.robustness_gains`. Only the paper's two methods are read
    (:data:`~noisebench.analysis.paper.PAPER_TREATMENT` against ``PAPER_BASELINE``). ``estimate``
    and the interval are fractions (differences of accuracies). A claim without a bearing cell has
    no row. ``attrs["claims"]`` lists every claim's full statement, in order.
    """
    claims = _claims()
    ours = (diffs["treatment_method"] == PAPER_TREATMENT) & (diffs["baseline_method"] == PAPER_BASELINE)
    diffs = diffs[ours & (diffs["n_pairs"] > 0)]
    diffs = diffs.assign(treatment_label=[prepare.method_label(PAPER_TREATMENT, r) for r in diffs.to_dict("records")])
    gains = gains[(gains["treatment_method"] == PAPER_TREATMENT) & (gains["n_pairs"] > 0)] if not gains.empty else gains
    gains = gains.assign(treatment_label=[prepare.method_label(PAPER_TREATMENT, r) for r in gains.to_dict("records")])
    cells = [c for c in paired_cells(table, baseline=PAPER_BASELINE, treatments=[PAPER_TREATMENT]) if c.n_pairs > 0]
    kw = dict(confidence=confidence, n_resamples=n_resamples, random_state=random_state)
    pair, single = paper_pair_gap()
    pick: list[Callable[[], list[dict[str, Any]]]] = [
        lambda: _from_frame(claims[0], _few_shot(diffs), "mean_diff", "n_pairs", "paired bootstrap"),
        lambda: _shrinks(claims[1], cells, **kw),
        lambda: _from_frame(claims[2], gains, "gain", "n_pairs", "paired bootstrap of the gain"),
        lambda: _from_frame(claims[3], _few_shot(diffs)[_where(_few_shot(diffs), "task", lambda t: task_is_pair(t) is True)],
                            "mean_diff", "n_pairs", "paired bootstrap"),
        lambda: _pair_vs_single(claims[4], cells, 1.0 if pair >= single else -1.0, **kw),
        lambda: _from_frame(claims[5], diffs[~_where(diffs, "init_from", is_missing)], "mean_diff", "n_pairs",
                            "paired bootstrap"),
        lambda: _batch(claims[6], cells, **kw),
    ]
    rows = [row for make in pick for row in make()]
    out = pd.DataFrame(rows, columns=list(EVIDENCE_COLUMNS))
    out.attrs["claims"] = [c.claim_id + ": " + c.statement for c in claims]
    return out


# --------------------------------------------------------------------------
# the report section
# --------------------------------------------------------------------------


def _claims_section(evidence: pd.DataFrame) -> list[Block]:
    """The claims table of the report: one table per claim with evidence, "no runs bear on it" otherwise."""
    blocks: list[Block] = [Heading(2, "The paper's claims: what our runs say"), Paragraph(
             f"Each claim of the paper ({PAPER_TREATMENT} against {PAPER_BASELINE}) with every cell of ours that "
             "bears on it, our estimate in percentage points with its 95% interval, how it was tested and a verdict "
             "read off the interval: *supported* when it excludes 0 in the paper's direction, *contradicted* when it "
             "excludes 0 in the other, *inconclusive at this power* otherwise.  Comparisons between N values or batch "
             "sizes are paired on shared seeds where the cells share at least two seed triples, otherwise Welch's "
             "unpaired t; tasks are compared unpaired (Welch).  The regime says where the verdict holds.  Reading the "
             "interval alone, a verdict here can be bolder than the Holm-adjusted tests above (RQ2: see \"More robust, or "
             "just better?\").")]
    for claim in evidence.attrs.get("claims", []):
        rows = evidence[evidence["claim"] == claim]
        blocks.append(Heading(3, claim))
        if rows.empty:
            blocks.append(Paragraph("No runs bear on it."))
            continue
        body = [[r["regime"], r["cells"], Estimate(r["estimate"], r["ci_low"], r["ci_high"]), r["test"], r["verdict"]]
                for r in rows.to_dict("records")]
        counts = rows["verdict"].value_counts()
        tally = ", ".join(f"{int(counts[v])} {v}" for v in CLAIM_VERDICTS if v in counts)
        blocks += [table_block(["regime", "cells", "estimate pp [95% CI]", "test", "verdict"], body),
                   Paragraph(f"Over {len(rows)} regime(s): {tally}.")]
    return blocks


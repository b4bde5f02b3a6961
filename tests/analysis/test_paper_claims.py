"""Tests for the claims table (report.claims): bearing cells, estimates against SciPy, verdicts from the interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from noisebench.analysis.report.claims import (
    CLAIM_VERDICTS,
    _claims_section,
    claim_evidence,
    claim_verdict,
    task_is_pair,
)
from noisebench.analysis.report.writers import to_markdown
from noisebench.analysis.stats import compare_methods, robustness_gains

NAN = float("nan")
CE, SCL = "ce", "ce-scl"
RESAMPLES = 2000
SUPPORTED, CONTRADICTED, INCONCLUSIVE = CLAIM_VERDICTS


def runs(task: str, n_train: int, deltas, *, seeds=None, batch_size=16, init_from=None, level=NAN, start=0) -> list[dict]:
    """A CE and a CE+SCL run per seed; CE+SCL − CE = ``deltas[i]`` on seed ``seeds[i]``."""
    seeds = list(range(len(deltas))) if seeds is None else seeds
    noisy = not np.isnan(level)
    rows = []
    for seed, delta in zip(seeds, deltas):
        base = round(0.80 + 0.003 * (seed % 5), 3)
        for method, acc in ((CE, base), (SCL, round(base + delta, 4))):
            rows.append({
                "run_id": f"{task}-{n_train}-{batch_size}-{init_from}-{level}-{method}-{seed}-{start}", "task": task,
                "model": "all-minilm-l6-v2", "n_train": n_train, "noise_family": "temperature" if noisy else "none",
                "noise_param": "temperature" if noisy else None, "noise_level": level, "pooling": "cls",
                "batch_size": batch_size, "init_from": init_from, "method": method,
                "lam": 0.9 if method == SCL else NAN, "tau": 0.3 if method == SCL else NAN, "data_seed": seed,
                "noise_seed": 100 + seed if noisy else NAN, "train_seed": 10 + seed, "test_accuracy": acc,
            })
    return rows


UP = [0.021, 0.018, 0.024, 0.019, 0.022, 0.020]
DOWN = [-0.021, -0.018, -0.024, -0.019, -0.022, -0.020]
FLAT = [0.010, -0.012, 0.004, -0.006, 0.011, -0.009]


def evidence(table: pd.DataFrame) -> pd.DataFrame:
    diffs = compare_methods(table, n_resamples=RESAMPLES)
    gains = robustness_gains(table, n_resamples=RESAMPLES)
    return claim_evidence(table, diffs, gains, n_resamples=RESAMPLES)


def rows_of(ev: pd.DataFrame, claim_id: str) -> pd.DataFrame:
    return ev[ev["claim"].str.startswith(claim_id + ":")]


@pytest.mark.parametrize(("low", "high", "direction", "verdict"), [
    (0.01, 0.02, 1.0, SUPPORTED), (-0.02, -0.01, 1.0, CONTRADICTED), (-0.01, 0.02, 1.0, INCONCLUSIVE),
    (-0.02, -0.01, -1.0, SUPPORTED), (NAN, NAN, 1.0, INCONCLUSIVE)])
def test_claim_verdict_reads_the_interval(low, high, direction, verdict):
    assert claim_verdict(low, high, direction=direction) == verdict


def test_task_is_pair_guards_unknown_tasks():
    assert task_is_pair("qnli") is True and task_is_pair("sst2") is False
    assert task_is_pair("no-such-task") is None


def test_few_shot_gain_gives_each_verdict_kind_with_its_regime():
    table = pd.DataFrame(runs("sst2", 20, UP) + runs("rt-polarity", 20, DOWN) + runs("qnli", 20, FLAT))
    rq1 = rows_of(evidence(table), "RQ1")
    gain = rq1[rq1["cells"].str.endswith("seed pairs")]
    by_task = {r["regime"].split("task ")[1].split(",")[0]: r for r in gain.to_dict("records")}
    assert by_task["sst2"]["verdict"] == SUPPORTED
    assert by_task["rt-polarity"]["verdict"] == CONTRADICTED
    assert by_task["qnli"]["verdict"] == INCONCLUSIVE
    assert by_task["sst2"]["estimate"] == pytest.approx(np.mean(UP), abs=1e-9)
    assert "encoder all-minilm-l6-v2" in by_task["sst2"]["regime"] and "N 20" in by_task["sst2"]["regime"]


def test_gain_shrinking_with_n_is_paired_on_shared_seeds():
    small, large = [u + 0.02 + f / 2 for u, f in zip(UP, FLAT)], UP
    table = pd.DataFrame(runs("sst2", 20, small) + runs("sst2", 100, large))
    rq1 = rows_of(evidence(table), "RQ1")
    row = rq1[rq1["cells"].str.startswith("Δ(N=")].iloc[0]
    d = np.array(small) - np.array(large)
    ci = stats.bootstrap((d,), np.mean, method="BCa", n_resamples=RESAMPLES, random_state=0).confidence_interval
    assert row["estimate"] == pytest.approx(d.mean(), abs=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert row["test"] == "paired on 6 shared seeds" and row["verdict"] == SUPPORTED


def test_batch_size_without_shared_seeds_uses_welch():
    small, large = UP, [d + 0.01 for d in FLAT]
    table = pd.DataFrame(runs("sst2", 20, small, batch_size=16)
                         + runs("sst2", 20, large, batch_size=64, seeds=list(range(20, 26))))
    row = rows_of(evidence(table), "batch").iloc[0]
    ci = stats.ttest_ind(large, small, equal_var=False).confidence_interval(0.95)
    assert row["estimate"] == pytest.approx(np.mean(large) - np.mean(small), abs=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert row["test"].startswith("Welch t") and row["verdict"] == CONTRADICTED
    assert "batch size 16 vs 64" in row["regime"]


def test_pair_vs_single_tasks_skips_unknown_tasks():
    table = pd.DataFrame(runs("sst2", 20, UP) + runs("qnli", 20, [d + 0.03 for d in UP])
                         + runs("unregistered-task", 20, UP))
    rq3 = rows_of(evidence(table), "RQ3")
    benefit, larger = rq3[rq3["claim"].str.contains("benefit too")], rq3[rq3["claim"].str.contains("larger")]
    assert len(benefit) == 1 and "task qnli" in benefit["regime"].iloc[0]  # pair tasks only: not sst2, not the unknown task
    assert benefit["estimate"].iloc[0] == pytest.approx(np.mean(UP) + 0.03, abs=1e-9) and benefit["verdict"].iloc[0] == SUPPORTED
    assert len(larger) == 1 and "qnli (pair) vs sst2 (single)" in larger["regime"].iloc[0]
    assert larger["estimate"].iloc[0] == pytest.approx(0.03, abs=1e-9)
    assert larger["verdict"].iloc[0] == SUPPORTED  # the paper's few-shot gains are larger on its pair tasks


def test_robustness_claim_uses_the_gain():
    table = pd.DataFrame(runs("sst2", 20, FLAT) + runs("sst2", 20, [d + 0.03 for d in FLAT], level=0.9))
    row = rows_of(evidence(table), "RQ2").iloc[0]
    assert row["estimate"] == pytest.approx(0.03, abs=1e-9) and row["verdict"] == SUPPORTED
    assert "noise temperature T=0.9" in row["regime"]


def test_transfer_claim_only_with_transfer_runs():
    plain = pd.DataFrame(runs("sst2", 20, UP))
    ev = evidence(plain)
    assert rows_of(ev, "RQ4").empty
    section = to_markdown(_claims_section(ev))
    rq4 = section.split("### RQ4")[1].split("###")[0]
    assert "No runs bear on it." in rq4 and SUPPORTED not in rq4
    moved = pd.DataFrame(runs("sst2", 20, UP) + runs("sst2", 20, DOWN, init_from="source-run"))
    rq4_rows = rows_of(evidence(moved), "RQ4")
    assert list(rq4_rows["verdict"]) == [CONTRADICTED]
    assert "init from source-run" in rq4_rows["regime"].iloc[0]

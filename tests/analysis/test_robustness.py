"""Tests for the robustness gain (stats.robustness): (noisy Δ) − (clean Δ) per seed, paired with the clean anchor.

References are computed here: SciPy called directly, the sign-flip test by enumerating all 2**n
sign vectors, Holm by statsmodels, and the pairing by loops over seeds on tables built by hand.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from noisebench.analysis.figures import robustness_figure, save_figure
from noisebench.analysis.report import write_report
from noisebench.analysis.report.robustness import GAIN_VERDICTS, gain_verdict
from noisebench.analysis.stats import paired_test, robustness_gain, robustness_gains

NAN = float("nan")
RESAMPLES = 2000
SEEDS = range(7)
CE, SCL = "ce", "ce-scl"
# Hand-made accuracies (multiples of 1/1000) per method: clean, and per temperature.
CLEAN = {CE: [0.842, 0.851, 0.838, 0.860, 0.845, 0.849, 0.855],
         SCL: [0.861, 0.858, 0.849, 0.870, 0.852, 0.866, 0.859]}
NOISY = {0.5: {CE: [0.830, 0.845, 0.829, 0.851, 0.846, 0.840, 0.842],
               SCL: [0.855, 0.850, 0.851, 0.862, 0.844, 0.860, 0.850]},
         0.9: {CE: [0.760, 0.771, 0.749, 0.780, 0.768, 0.755, 0.772],
               SCL: [0.790, 0.781, 0.770, 0.795, 0.778, 0.788, 0.783]}}


def run(run_id: str, method: str, acc: float, *, seed: int, level: float = NAN, noise_seed: int | None = None,
        **extra) -> dict:
    """One results-table row; ``level`` NaN for a clean run."""
    noisy = not np.isnan(level)
    return {
        "run_id": run_id, "task": "rt-polarity", "model": "all-minilm-l6-v2", "n_train": 100,
        "noise_family": "temperature" if noisy else "none", "noise_param": "temperature" if noisy else None,
        "noise_level": level, "pooling": "cls", "method": method,
        "lam": 0.9 if method == SCL else NAN, "tau": 0.3 if method == SCL else NAN, "data_seed": seed,
        "noise_seed": (100 + seed if noise_seed is None else noise_seed) if noisy else NAN, "train_seed": 10 + seed,
        "test_accuracy": acc, **extra,
    }


def gain_table(**extra) -> pd.DataFrame:
    rows = [run(f"{m}-clean-{s}", m, CLEAN[m][s], seed=s, **extra) for m in CLEAN for s in SEEDS]
    rows += [run(f"{m}-T{t}-{s}", m, acc[s], seed=s, level=t, **extra)
             for t, by_method in NOISY.items() for m, acc in by_method.items() for s in SEEDS]
    return pd.DataFrame(rows)


def signflip(d) -> float:
    """Two-sided sign-flip p of the mean by enumerating every sign vector."""
    d = np.asarray(d, dtype=float)
    hits = sum(abs(np.dot(signs, d) / len(d)) >= abs(d.mean()) - 1e-12
               for signs in itertools.product((-1.0, 1.0), repeat=len(d)))
    return hits / 2 ** len(d)


def bca(d) -> tuple[float, float]:
    ci = stats.bootstrap((np.asarray(d),), np.mean, confidence_level=0.95, n_resamples=RESAMPLES, method="BCa",
                         random_state=0).confidence_interval
    return float(ci.low), float(ci.high)


def brute_gain(level: float, seeds=SEEDS) -> np.ndarray:
    """Per-seed (noisy Δ) − (clean Δ) by loops over the hand-made numbers."""
    return np.array([(NOISY[level][SCL][s] - NOISY[level][CE][s]) - (CLEAN[SCL][s] - CLEAN[CE][s]) for s in seeds])


# --------------------------------------------------------------------------
# robustness_gain
# --------------------------------------------------------------------------


def test_gain_agrees_with_scipy_and_exact_signflip():
    cb, ct = np.array(CLEAN[CE]), np.array(CLEAN[SCL])
    nb, nt = np.array(NOISY[0.9][CE]), np.array(NOISY[0.9][SCL])
    gain = (nt - nb) - (ct - cb)
    res = robustness_gain(cb, ct, nb, nt, n_resamples=RESAMPLES)
    assert res.n_pairs == 7
    assert (res.mean_baseline, res.mean_treatment, res.mean_difference) == pytest.approx(
        ((ct - cb).mean(), (nt - nb).mean(), gain.mean()), abs=1e-12)
    assert res.p_ttest == pytest.approx(stats.ttest_1samp(gain, 0.0).pvalue, rel=1e-9)
    assert res.p_signflip == pytest.approx(signflip(gain), abs=1e-12)
    assert res.signflip_exact is True
    assert res.p_wilcoxon == pytest.approx(stats.wilcoxon(gain).pvalue, rel=1e-9)
    assert (res.ci_low, res.ci_high) == pytest.approx(bca(gain), abs=1e-12)


@pytest.mark.parametrize("n", [2, 5, 10])
def test_gain_signflip_is_exact_for_small_n(n):
    rng = np.random.default_rng(n)
    cb, ct, nb, nt = (np.round(rng.uniform(0.7, 0.9, n), 3) for _ in range(4))
    res = robustness_gain(cb, ct, nb, nt, n_resamples=RESAMPLES)
    assert res.p_signflip == pytest.approx(signflip((nt - nb) - (ct - cb)), abs=1e-12)
    assert res.p_wilcoxon is None if n < 6 else res.p_wilcoxon is not None


def test_gain_is_paired_test_on_the_deltas():
    cb, ct, nb, nt = (np.array(v) for v in (CLEAN[CE], CLEAN[SCL], NOISY[0.5][CE], NOISY[0.5][SCL]))
    assert robustness_gain(cb, ct, nb, nt, n_resamples=RESAMPLES) == paired_test(ct - cb, nt - nb,
                                                                                 n_resamples=RESAMPLES)


def test_gain_rejects_misaligned_arrays():
    with pytest.raises(ValueError, match="equal length"):
        robustness_gain(np.zeros(3), np.zeros(3), np.zeros(2), np.zeros(3))


# --------------------------------------------------------------------------
# robustness_gains on a table
# --------------------------------------------------------------------------


def test_table_gains_pair_with_the_clean_anchor_and_apply_holm_across_levels():
    out = robustness_gains(gain_table(), n_resamples=RESAMPLES)
    assert list(out["noise_level"]) == [0.5, 0.9]
    assert set(out["treatment_method"]) == {SCL}
    p = [signflip(brute_gain(t)) for t in (0.5, 0.9)]
    for (_, row), t, p_expected in zip(out.iterrows(), (0.5, 0.9), p):
        gain = brute_gain(t)
        assert row["n_pairs"] == 7 and row["n_noisy_pairs"] == 7 and row["n_missing_clean"] == 0
        assert row["gain"] == pytest.approx(gain.mean(), abs=1e-12)
        assert row["clean_delta"] == pytest.approx(np.mean(np.array(CLEAN[SCL]) - CLEAN[CE]), abs=1e-12)
        assert row["noisy_delta"] == pytest.approx(np.mean(np.array(NOISY[t][SCL]) - NOISY[t][CE]), abs=1e-12)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx(bca(gain), abs=1e-12)
        assert row["p_ttest"] == pytest.approx(stats.ttest_1samp(gain, 0.0).pvalue, rel=1e-9)
        assert row["p_signflip"] == pytest.approx(p_expected, abs=1e-12)
        assert row["holm_family_size"] == 2
    assert out["p_holm"].to_numpy() == pytest.approx(multipletests(p, method="holm")[1], abs=1e-12)


def test_seed_without_clean_partner_is_reported_not_dropped_silently():
    table = gain_table()
    table = table[table["run_id"] != f"{SCL}-clean-3"]
    out = robustness_gains(table, n_resamples=RESAMPLES)
    kept = [s for s in SEEDS if s != 3]
    for _, row in out.iterrows():
        assert row["n_pairs"] == 6 and row["n_missing_clean"] == 1
        assert row["missing_clean"] == f"data_seed 3, train_seed 13: no clean {SCL} run"
        assert row["gain"] == pytest.approx(brute_gain(row["noise_level"], kept).mean(), abs=1e-12)


def test_crossed_noise_seeds_are_averaged_per_clean_partner():
    table = gain_table()
    noisy = table[table["noise_family"] != "none"]
    second = noisy.assign(run_id=noisy["run_id"] + "-b", noise_seed=noisy["noise_seed"] + 50,
                          test_accuracy=noisy["test_accuracy"] + np.where(noisy["method"] == SCL, 0.004, 0.0))
    out = robustness_gains(pd.concat([table, second], ignore_index=True), n_resamples=RESAMPLES)
    for _, row in out.iterrows():
        assert row["n_pairs"] == 7 and row["n_noisy_pairs"] == 14
        assert row["gain"] == pytest.approx(brute_gain(row["noise_level"]).mean() + 0.002, abs=1e-12)


def test_selection_rule_is_a_setting_key_with_its_own_clean_anchor():
    best = gain_table(selection="best_dev")
    last = gain_table(selection="last_epoch")
    last = last.assign(run_id=last["run_id"] + "-last",
                       test_accuracy=last["test_accuracy"] + np.where(
                           (last["method"] == SCL) & (last["noise_family"] != "none"), 0.01, 0.0))
    out = robustness_gains(pd.concat([best, last], ignore_index=True), n_resamples=RESAMPLES)
    assert len(out) == 4 and set(out["holm_family_size"]) == {2}
    for _, row in out.iterrows():
        shift = 0.01 if row["selection"] == "last_epoch" else 0.0
        assert row["gain"] == pytest.approx(brute_gain(row["noise_level"]).mean() + shift, abs=1e-12)


def test_no_clean_runs_gives_rows_without_pairs():
    table = gain_table()
    out = robustness_gains(table[table["noise_family"] != "none"], n_resamples=RESAMPLES)
    assert list(out["n_pairs"]) == [0, 0] and list(out["n_missing_clean"]) == [7, 7]
    assert out["p_holm"].isna().all()


# --------------------------------------------------------------------------
# the figure and the report section
# --------------------------------------------------------------------------


def test_figure_fills_holm_significant_gains_and_draws_the_clean_delta():
    gains = robustness_gains(gain_table())
    assert list(gains["significant"]) == [False, True]  # all 7 gains at T=0.9 are positive: p = 2/2**7, Holm 2/64
    fig = robustness_figure(gain_table())
    ax = fig.axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    filled = next(v for k, v in lines.items() if k.startswith("_gain significant"))
    hollow = next(v for k, v in lines.items() if k.startswith("_no evidence"))
    assert list(filled.get_xdata()) == pytest.approx([0.9], abs=0.05)
    assert list(hollow.get_xdata()) == pytest.approx([0.5], abs=0.05)
    assert hollow.get_markerfacecolor() == "white"
    assert list(filled.get_ydata()) == pytest.approx([np.mean(np.array(NOISY[0.9][SCL]) - NOISY[0.9][CE]) * 100])
    clean = next(v for k, v in lines.items() if k.startswith("_clean"))
    assert clean.get_linestyle() == "--"
    assert list(clean.get_ydata()) == pytest.approx([np.mean(np.array(CLEAN[SCL]) - CLEAN[CE]) * 100] * 2)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "clean Δ (same seeds)" in legend and "gain vs clean Holm p<0.05" in legend
    written = save_figure(fig, Path("/tmp/robustness_check"))
    assert Path("/tmp/robustness_check.png") in written


@pytest.mark.parametrize(("gain", "p_holm", "n_pairs", "verdict"), [
    (0.01, 0.01, 7, GAIN_VERDICTS[0]), (-0.01, 0.01, 7, GAIN_VERDICTS[1]), (0.01, 0.2, 7, GAIN_VERDICTS[2]),
    (0.01, 0.0625, 4, GAIN_VERDICTS[2]), (0.01, NAN, 1, GAIN_VERDICTS[2])])
def test_gain_verdict(gain, p_holm, n_pairs, verdict):
    row = {"gain": gain, "ci_low": gain - 0.005, "ci_high": gain + 0.005, "p_holm": p_holm, "n_pairs": n_pairs,
           "clean_delta": 0.02, "noisy_delta": 0.02 + gain}
    got, sentence = gain_verdict(row)
    assert got == verdict and sentence.lower().startswith(verdict.split(" at ")[0])


def test_report_leads_with_the_robustness_section_and_the_claims(tmp_path):
    text = write_report(gain_table(), None, tmp_path / "r", tmp_path / "report.md").read_text(encoding="utf-8")
    heads = [line for line in text.splitlines() if line.startswith("## ")]
    assert heads[:3] == ["## Set-up", "## More robust, or just better?", "## The paper's claims: what our runs say"]
    section = text.split("## More robust, or just better?")[1].split("\n## ")[0]
    assert "| temperature T=0.9 | 7 |" in section and "| more robust |" in section
    assert "| no evidence at this power |" in section
    assert "### RQ4" in text and "No runs bear on it." in text.split("### RQ4")[1].split("###")[0]

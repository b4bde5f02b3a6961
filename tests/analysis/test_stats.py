"""Tests for noisebench.analysis.stats.

Every figure is checked against SciPy / statsmodels called directly, or
against an independent computation written here (brute-force sign flips, a
hand-computed Holm correction), on a small results table built by hand.
"""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from noisebench.analysis.stats import (
    MAX_EXACT_SIGNFLIP_PAIRS,
    cell_keys,
    compare_methods,
    format_p,
    holm,
    holm_family_keys,
    paired_cells,
    paired_test,
    seed_summary,
    top_k_by_dev,
)
from noisebench.analysis.values import is_missing
from noisebench.methods import hyper_parameter_names

MODEL = "roberta-base"
NAN = float("nan")

# Hand-made accuracies, multiples of 1/1000, 7 paired seeds per cell.
CE_T05 = [0.801, 0.812, 0.795, 0.820, 0.808, 0.790, 0.815]
SCL_T05 = [0.815, 0.818, 0.801, 0.829, 0.806, 0.803, 0.826]
CE_T09 = [0.701, 0.690, 0.720, 0.705, 0.698, 0.711, 0.684]
SCL_T09 = [0.731, 0.702, 0.745, 0.716, 0.730, 0.715, 0.709]
CE_CLEAN = [0.930, 0.925, 0.941, 0.933, 0.928, 0.936, 0.931]
SCL_CLEAN = [0.932, 0.921, 0.944, 0.933, 0.931, 0.935, 0.934]
SCL_T05_B = [0.790, 0.820, 0.799]  # second (lam, tau) variant, seeds 0..2 only


def _run(run_id, task, method, seed, acc, *, dev=None, n_train=100, noise_family="temperature",
         temperature=0.5, lam=0.1, tau=0.3, train_seed=None):
    is_ce = method == "ce"
    return {
        "run_id": run_id,
        "task": task,
        "model": MODEL,
        "n_train": n_train,
        "noise_family": noise_family,
        "noise_param": None if noise_family == "none" else "temperature",
        "noise_level": NAN if noise_family == "none" else temperature,
        "realized_noise_rate": 0.0 if noise_family == "none" else 0.2,
        "method": method,
        "lam": NAN if is_ce else lam,
        "tau": NAN if is_ce else tau,
        "data_seed": seed,
        "noise_seed": 100 + seed,
        "train_seed": 1000 + seed if train_seed is None else train_seed,
        "batch_size": 16,
        "lr": 1e-5,
        "epochs": 10,
        "test_accuracy": acc,
        "dev_accuracy": acc - 0.01 if dev is None else dev,
        "test_macro_f1": acc - 0.02,
    }


def make_table() -> pd.DataFrame:
    rows = []
    for s in range(7):
        rows.append(_run(f"ce-t05-s{s}", "sst2", "ce", s, CE_T05[s]))
        rows.append(_run(f"scl-t05-s{s}", "sst2", "ce-scl", s, SCL_T05[s]))
        rows.append(_run(f"ce-t09-s{s}", "sst2", "ce", s, CE_T09[s], temperature=0.9))
        rows.append(_run(f"scl-t09-s{s}", "sst2", "ce-scl", s, SCL_T09[s], temperature=0.9))
        rows.append(_run(f"ce-clean-s{s}", "sst2", "ce", s, CE_CLEAN[s], noise_family="none"))
        rows.append(_run(f"scl-clean-s{s}", "sst2", "ce-scl", s, SCL_CLEAN[s], noise_family="none"))
    for s in range(3):
        rows.append(_run(f"sclB-t05-s{s}", "sst2", "ce-scl", s, SCL_T05_B[s], lam=0.3, tau=0.1))
    # deliberately unpaired: a CE+SCL seed with no CE partner ...
    rows.append(_run("scl-t05-s7", "sst2", "ce-scl", 7, 0.900))
    # ... and a CE run sharing data/noise seed 0 but not the train seed.
    rows.append(_run("ce-t09-odd", "sst2", "ce", 0, 0.500, temperature=0.9, train_seed=4242))
    # a setting with a single method (clean QNLI, CE only)
    for s in range(3):
        rows.append(_run(f"qnli-ce-s{s}", "qnli", "ce", s, 0.80 + s / 100, noise_family="none"))
    # a single-seed cell
    rows.append(_run("mnli-ce-s0", "mnli", "ce", 0, 0.55))
    rows.append(_run("mnli-scl-s0", "mnli", "ce-scl", 0, 0.60))
    return pd.DataFrame(rows)


def brute_force_signflip(d: np.ndarray) -> float:
    """Two-sided sign-flip p-value by enumerating all 2**n sign vectors."""
    d = np.asarray(d, dtype=float)
    n = len(d)
    observed = abs(d.mean())
    hits = 0
    for signs in itertools.product((-1.0, 1.0), repeat=n):
        if abs(np.dot(signs, d) / n) >= observed - 1e-12:
            hits += 1
    return hits / 2**n


def scipy_bca(d, **kw):
    ci = stats.bootstrap((np.asarray(d),), np.mean, confidence_level=0.95, n_resamples=10_000,
                         method=kw.pop("method", "BCa"), random_state=0).confidence_interval
    return ci.low, ci.high


def cell_by(cells, **key):
    found = [c for c in cells if all(
        (isinstance(v, float) and math.isnan(v) and is_missing(c.key[k]))
        or c.key[k] == v for k, v in key.items())]
    assert len(found) == 1, (key, found)
    return found[0]


# --------------------------------------------------------------------------
# pairing
# --------------------------------------------------------------------------


def test_paired_cells_structure_and_counts():
    cells = paired_cells(make_table())
    assert len(cells) == 6

    t05 = cell_by(cells, task="sst2", noise_level=0.5, lam=0.1, tau=0.3)
    assert t05.n_pairs == 7
    assert t05.unpaired_baseline == ()
    assert t05.unpaired_treatment == ("scl-t05-s7",)
    np.testing.assert_array_equal(t05.baseline, CE_T05)
    np.testing.assert_array_equal(t05.treatment, SCL_T05)
    assert t05.seeds == tuple((s, 100 + s, 1000 + s) for s in range(7))
    assert t05.baseline_run_ids == tuple(f"ce-t05-s{s}" for s in range(7))

    # the second (lam, tau) variant shares the CE baseline; 4 CE runs stay unpaired
    t05b = cell_by(cells, task="sst2", noise_level=0.5, lam=0.3, tau=0.1)
    assert t05b.n_pairs == 3
    np.testing.assert_array_equal(t05b.baseline, CE_T05[:3])
    np.testing.assert_array_equal(t05b.treatment, SCL_T05_B)
    assert t05b.unpaired_baseline == tuple(f"ce-t05-s{s}" for s in range(3, 7))

    # pairing needs the full seed triple: the odd CE run (train seed differs) is unpaired
    t09 = cell_by(cells, task="sst2", noise_level=0.9)
    assert t09.n_pairs == 7
    assert t09.unpaired_baseline == ("ce-t09-odd",)
    np.testing.assert_array_equal(t09.differences, np.subtract(SCL_T09, CE_T09))

    # clean cell: NaN temperature grouped, not dropped
    clean = cell_by(cells, task="sst2", noise_family="none")
    assert math.isnan(clean.key["noise_level"])
    assert clean.n_pairs == 7

    # single-method setting appears with n_pairs = 0 and NaN lam/tau
    qnli = cell_by(cells, task="qnli")
    assert qnli.n_pairs == 0
    assert is_missing(qnli.key["treatment_method"])
    assert math.isnan(qnli.key["lam"]) and math.isnan(qnli.key["tau"])
    assert qnli.unpaired_baseline == ("qnli-ce-s0", "qnli-ce-s1", "qnli-ce-s2")

    mnli = cell_by(cells, task="mnli")
    assert mnli.n_pairs == 1


def test_treatment_without_baseline_is_kept():
    table = make_table()
    table = table[~((table["task"] == "mnli") & (table["method"] == "ce"))]
    mnli = cell_by(paired_cells(table), task="mnli")
    assert mnli.n_pairs == 0
    assert mnli.unpaired_treatment == ("mnli-scl-s0",)


def test_other_metric_and_treatments():
    table = make_table()
    extra = _run("ls-t05-s0", "sst2", "label-smoothing", 0, 0.7, lam=NAN, tau=NAN)
    table = pd.concat([table, pd.DataFrame([extra])], ignore_index=True)
    cells = paired_cells(table, metric="test_macro_f1", treatments=["ce-scl"])
    t05 = cell_by(cells, task="sst2", noise_level=0.5, lam=0.1, tau=0.3)
    np.testing.assert_allclose(t05.baseline, np.subtract(CE_T05, 0.02))
    assert len(cells) == 6
    # by default every method other than the baseline is a treatment, paired with the same CE runs
    every = paired_cells(table)
    ls = cell_by(every, treatment_method="label-smoothing")
    assert len(every) == 7 and ls.n_pairs == 1 and ls.baseline_run_ids == ("ce-t05-s0",)
    np.testing.assert_allclose(ls.differences, [0.7 - CE_T05[0]])
    # any method can be the baseline (one variant of it per setting, else the pairing is ambiguous)
    one_variant = table[~table["run_id"].str.startswith("sclB")]
    flipped = cell_by(paired_cells(one_variant, baseline="ce-scl", treatments=["ce"]), task="sst2", noise_level=0.9)
    np.testing.assert_allclose(flipped.differences, np.subtract(CE_T09, SCL_T09))


# --------------------------------------------------------------------------
# paired_test against scipy / brute force
# --------------------------------------------------------------------------


@pytest.mark.parametrize("ce,scl", [(CE_T05, SCL_T05), (CE_T09, SCL_T09), (CE_CLEAN, SCL_CLEAN)])
def test_paired_test_matches_scipy(ce, scl):
    b, t = np.array(ce), np.array(scl)
    d = t - b
    res = paired_test(b, t)

    assert res.n_pairs == 7
    assert res.mean_baseline == pytest.approx(np.mean(b), abs=1e-15)
    assert res.mean_treatment == pytest.approx(np.mean(t), abs=1e-15)
    assert res.mean_difference == pytest.approx(np.mean(d), abs=1e-15)

    assert res.ci_method == "BCa"
    low, high = scipy_bca(d)
    assert (res.ci_low, res.ci_high) == (pytest.approx(low, abs=1e-15), pytest.approx(high, abs=1e-15))
    assert res.ci_low <= res.mean_difference <= res.ci_high

    assert res.p_ttest == pytest.approx(stats.ttest_rel(t, b).pvalue, rel=1e-12)

    assert res.signflip_exact is True
    assert res.p_signflip == pytest.approx(brute_force_signflip(d), abs=1e-12)

    assert res.p_wilcoxon == pytest.approx(stats.wilcoxon(t, b).pvalue, rel=1e-12)


def test_signflip_with_ties_and_zeros_matches_bruteforce():
    d = np.array([0.01, 0.01, -0.01, 0.02, 0.0, 0.03, -0.02, 0.01, 0.005, 0.0])
    b = np.full_like(d, 0.5)
    res = paired_test(b, b + d)
    assert res.signflip_exact is True
    assert res.p_signflip == pytest.approx(brute_force_signflip(d), abs=1e-12)


def test_signflip_sampled_beyond_exact_limit():
    rng = np.random.default_rng(1)
    n = MAX_EXACT_SIGNFLIP_PAIRS + 4
    b = rng.integers(700, 800, n) / 1000
    t = b + rng.integers(-10, 20, n) / 1000
    res = paired_test(b, t, n_resamples=2_000, random_state=3)
    assert res.signflip_exact is False
    direct = stats.permutation_test(
        (t - b,), lambda x, axis: np.mean(x, axis=axis), permutation_type="samples",
        n_resamples=2_000, alternative="two-sided", random_state=3,
    )
    assert res.p_signflip == pytest.approx(direct.pvalue, abs=1e-15)
    assert any("not exact" in note for note in res.notes)


def test_wilcoxon_only_from_six_pairs():
    b, t = np.array(CE_T09), np.array(SCL_T09)
    five = paired_test(b[:5], t[:5])
    assert five.p_wilcoxon is None
    assert any("wilcoxon n/a" in note for note in five.notes)
    six = paired_test(b[:6], t[:6])
    assert six.p_wilcoxon == pytest.approx(stats.wilcoxon(t[:6], b[:6]).pvalue, rel=1e-12)
    # the documented reason: the smallest exact two-sided p with n pairs is 2 / 2**n
    assert 2 / 2**5 > 0.05 > 2 / 2**6


def test_constant_differences_give_nan_ttest_and_percentile_ci():
    # 0.1 in binary: the differences differ by round-off only
    b = np.array([0.4, 0.5, 0.6, 0.7, 0.2])
    t = b + 0.1
    res = paired_test(b, t)
    assert math.isnan(res.p_ttest)
    assert any("t-test undefined" in note for note in res.notes)
    assert res.ci_method == "percentile"
    low, high = scipy_bca(t - b, method="percentile")
    assert (res.ci_low, res.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert res.ci_low == pytest.approx(0.1) and res.ci_high == pytest.approx(0.1)
    # all five signs agree: exact sign-flip p = 2 / 2**5
    assert res.p_signflip == pytest.approx(2 / 32)


def test_two_pairs_use_percentile():
    b, t = np.array([0.80, 0.82]), np.array([0.81, 0.85])
    res = paired_test(b, t)
    assert res.n_pairs == 2
    assert res.ci_method == "percentile"
    low, high = scipy_bca(t - b, method="percentile")
    assert (res.ci_low, res.ci_high) == (pytest.approx(low), pytest.approx(high))
    assert res.p_ttest == pytest.approx(stats.ttest_rel(t, b).pvalue)
    assert res.p_signflip == pytest.approx(brute_force_signflip(t - b))
    assert res.p_wilcoxon is None


@pytest.mark.parametrize("n", [0, 1])
def test_fewer_than_two_pairs_no_tests(n):
    b, t = np.array([0.55])[:n], np.array([0.60])[:n]
    res = paired_test(b, t)
    assert res.n_pairs == n
    for value in (res.ci_low, res.ci_high, res.p_ttest, res.p_signflip):
        assert math.isnan(value)
    assert res.ci_method is None and res.signflip_exact is None and res.p_wilcoxon is None
    assert res.notes
    if n == 1:
        assert res.mean_difference == pytest.approx(0.05)


def test_paired_test_rejects_bad_input():
    with pytest.raises(ValueError, match="equal length"):
        paired_test(np.array([0.1, 0.2]), np.array([0.1]))
    with pytest.raises(ValueError, match="finite"):
        paired_test(np.array([0.1, np.nan]), np.array([0.1, 0.2]))


# --------------------------------------------------------------------------
# Holm
# --------------------------------------------------------------------------


def test_holm_matches_statsmodels_and_hand_computation():
    p = np.array([0.01, 0.04, 0.03])
    # by hand: sorted 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.06, 0.04*1) = 0.06
    expected = np.array([0.03, 0.06, 0.06])
    np.testing.assert_allclose(holm(p), expected, rtol=1e-12)
    np.testing.assert_allclose(holm(p), multipletests(p, method="holm")[1], rtol=1e-12)


def test_holm_ignores_nan():
    p = [0.01, np.nan, 0.04, None, 0.03]
    out = holm(p)
    assert np.isnan(out[1]) and np.isnan(out[3])
    np.testing.assert_allclose(out[[0, 2, 4]], [0.03, 0.06, 0.06], rtol=1e-12)
    assert holm([]).shape == (0,)
    assert np.isnan(holm([np.nan])).all()
    with pytest.raises(ValueError):
        holm([0.5, 1.5])


# --------------------------------------------------------------------------
# compare_methods
# --------------------------------------------------------------------------


def test_compare_methods_table():
    out = compare_methods(make_table())
    assert list(out.columns[: len(cell_keys())]) == list(cell_keys())
    assert cell_keys()[:16] == ("task", "model", "n_train", "noise_family", "noise_param", "noise_level", "weak_fit",
                                "weak_model", "weak_options", "n_relabel", "pooling", "init_from", "batch_size", "selection",
                                "baseline_method", "treatment_method")
    for col in ("n_pairs", "n_unpaired_baseline", "n_unpaired_treatment", "mean_baseline", "mean_treatment",
                "mean_diff", "ci_low", "ci_high", "ci_method", "p_ttest", "p_signflip",
                "signflip_exact", "p_wilcoxon", "p_holm", "significant"):
        assert col in out.columns
    assert len(out) == 6
    assert out.attrs["metric"] == "test_accuracy"

    def row(**key):
        mask = np.ones(len(out), dtype=bool)
        for k, v in key.items():
            mask &= out[k].isna().to_numpy() if (isinstance(v, float) and math.isnan(v)) \
                else (out[k] == v).to_numpy()
        assert mask.sum() == 1, key
        return out[mask].iloc[0]

    r05 = row(task="sst2", noise_level=0.5, lam=0.1)
    r09 = row(task="sst2", noise_level=0.9)
    d05 = np.subtract(SCL_T05, CE_T05)
    assert r05.n_pairs == 7 and r05.n_unpaired_treatment == 1 and r05.n_unpaired_baseline == 0
    assert r09.n_unpaired_baseline == 1 and r09.n_unpaired_treatment == 0
    assert r05.mean_diff == pytest.approx(d05.mean(), abs=1e-15)
    assert r05.mean_baseline == pytest.approx(np.mean(CE_T05)) and r05.mean_treatment == pytest.approx(np.mean(SCL_T05))
    assert (r05.ci_low, r05.ci_high) == tuple(pytest.approx(x, abs=1e-15) for x in scipy_bca(d05))
    assert r05.p_ttest == pytest.approx(stats.ttest_rel(SCL_T05, CE_T05).pvalue, rel=1e-12)
    assert r05.p_signflip == pytest.approx(brute_force_signflip(d05), abs=1e-12)
    assert r05.p_wilcoxon == pytest.approx(stats.wilcoxon(SCL_T05, CE_T05).pvalue, rel=1e-12)

    # Holm family = every (treatment variant x level) cell of sst2's temperature noise: both ce-scl
    # variants at T=0.5 and the first at T=0.9
    b = row(task="sst2", lam=0.3)
    expected = multipletests([r05.p_signflip, r09.p_signflip, b.p_signflip], method="holm")[1]
    assert (r05.p_holm, r09.p_holm, b.p_holm) == tuple(pytest.approx(e) for e in expected)
    assert r05.holm_family_size == r09.holm_family_size == b.holm_family_size == 3
    assert r05.significant == (expected[0] < 0.05)

    # clean cell: family of its own, NaN temperature kept
    clean = row(task="sst2", noise_family="none")
    assert math.isnan(clean.noise_level)
    assert clean.p_holm == pytest.approx(clean.p_signflip) and clean.holm_family_size == 1

    # variant B (3 pairs): no Wilcoxon
    assert b.n_pairs == 3 and b.n_unpaired_baseline == 4 and math.isnan(b.p_wilcoxon)
    assert format_p(b.p_wilcoxon) == "n/a"

    # single-method cell
    q = row(task="qnli")
    assert q.n_pairs == 0 and q.n_unpaired_baseline == 3 and q.n_unpaired_treatment == 0
    assert math.isnan(q.mean_diff) and math.isnan(q.p_holm) and not q.significant

    # single-seed cell: n_pairs = 1, NaN tests, no crash
    m = row(task="mnli")
    assert m.n_pairs == 1 and m.mean_diff == pytest.approx(0.05)
    for col in ("ci_low", "ci_high", "p_ttest", "p_signflip", "p_wilcoxon", "p_holm"):
        assert math.isnan(m[col]), col
    assert m.holm_family_size == 0 and not m.significant


def test_holm_family_spans_every_method_and_level_of_a_noise_family():
    """Holm runs over all (method x level) cells of one noise family and task, never across families or tasks."""
    seeds = range(6)
    rows = []
    for task in ("sst2", "qnli"):
        for family, param, levels in (("temperature", "temperature", (0.5, 0.9)), ("uniform", "rate", (0.2,))):
            for level in levels:
                for s in seeds:
                    for method, lam, bump in (("ce", 0.1, 0.0), ("ce-scl", 0.1, 0.01 + s / 1000),
                                              ("ce-scl", 0.5, -0.005 * (s % 3))):
                        if method == "ce" and lam == 0.5:
                            continue
                        run = _run(f"{task}-{family}-{level}-{method}-{lam}-{s}", task, method, s,
                                   0.7 + s / 100 + bump, temperature=level, lam=lam, noise_family=family)
                        rows.append({**run, "noise_param": param})
    table = pd.DataFrame(rows)
    table.loc[table["noise_family"] == "temperature", "noise_param"] = np.where(
        table.loc[table["noise_family"] == "temperature", "noise_level"] == 0.9, "target_rate", "temperature")
    out = compare_methods(table, n_resamples=200)
    for (_task, family), group in out.groupby(["task", "noise_family"]):
        assert len(group) == (4 if family == "temperature" else 2)  # 2 variants x levels (T and target rate)
        np.testing.assert_allclose(group["p_holm"], multipletests(group["p_signflip"], method="holm")[1])
        assert set(group["holm_family_size"]) == {len(group)}
    assert set(holm_family_keys()) == set(cell_keys()) - {"noise_param", "noise_level", "treatment_method", "lam",
                                                          "tau", *hyper_parameter_names()}


def test_compare_methods_custom_family():
    table = make_table()
    out = compare_methods(table, family_by=("model",))
    p = out["p_signflip"].to_numpy(dtype=float)
    np.testing.assert_allclose(out["p_holm"].to_numpy(dtype=float), holm(p), equal_nan=True)
    assert set(out["holm_family_size"]) == {int(np.sum(~np.isnan(p)))}
    with pytest.raises(ValueError, match="family_by"):
        compare_methods(table, family_by=("lr",))


def test_missing_hyper_parameter_columns_count_as_nan():
    out = compare_methods(make_table().drop(columns=["tau"]), n_resamples=200)
    assert out["tau"].isna().all() and len(out) == 6  # the two ce-scl variants still differ by lam



# --------------------------------------------------------------------------
# input validation
# --------------------------------------------------------------------------


@pytest.mark.parametrize("func", [paired_cells, compare_methods, seed_summary, top_k_by_dev])
def test_missing_columns_named(func):
    table = make_table().drop(columns=["train_seed", "noise_level"])
    with pytest.raises(ValueError) as err:
        func(table)
    assert "noise_level" in str(err.value)
    if func in (paired_cells, compare_methods):
        assert "train_seed" in str(err.value)


def test_missing_dev_column_named():
    with pytest.raises(ValueError, match="dev_accuracy"):
        top_k_by_dev(make_table().drop(columns=["dev_accuracy"]))


def test_nan_metric_rejected():
    table = make_table()
    table.loc[table["run_id"] == "ce-t05-s3", "test_accuracy"] = np.nan
    with pytest.raises(ValueError, match="ce-t05-s3"):
        paired_cells(table)


def test_duplicate_seed_rejected():
    table = make_table()
    dup = table[table["run_id"] == "ce-t05-s2"].assign(run_id="ce-t05-s2-lr2", lr=2e-5)
    with pytest.raises(ValueError, match="ce-t05-s2-lr2"):
        paired_cells(pd.concat([table, dup], ignore_index=True))


# --------------------------------------------------------------------------
# descriptive summaries
# --------------------------------------------------------------------------


def _topk_table() -> pd.DataFrame:
    # dev ties: r2/r4/r5 tie at 0.85 for ranks 2-4; run_id order keeps r2, r4
    dev = {"r1": 0.90, "r2": 0.85, "r3": 0.70, "r4": 0.85, "r5": 0.85}
    test = {"r1": 0.81, "r2": 0.79, "r3": 0.95, "r4": 0.83, "r5": 0.60}
    rows = [_run(rid, "sst2", "ce", i, test[rid], dev=dev[rid]) for i, rid in enumerate(dev)]
    rows += [_run("s1", "sst2", "ce-scl", 0, 0.84, dev=0.80),
             _run("s2", "sst2", "ce-scl", 1, 0.86, dev=0.82)]
    return pd.DataFrame(rows)


def test_top_k_by_dev_picks_runs_by_dev():
    out = top_k_by_dev(_topk_table(), k=3)
    for col in ("mean_all", "std_all", "n_all", "mean_top3", "std_top3", "n_top3", "top3_run_ids"):
        assert col in out.columns
    ce = out[out["method"] == "ce"].iloc[0]
    assert ce.top3_run_ids == "r1,r2,r4"
    chosen = [0.81, 0.79, 0.83]
    assert ce.n_top3 == 3
    assert ce.mean_top3 == pytest.approx(np.mean(chosen))
    assert ce.std_top3 == pytest.approx(np.std(chosen, ddof=1))
    everything = [0.81, 0.79, 0.95, 0.83, 0.60]
    assert ce.n_all == 5
    assert ce.mean_all == pytest.approx(np.mean(everything))
    assert ce.std_all == pytest.approx(np.std(everything, ddof=1))

    scl = out[out["method"] == "ce-scl"].iloc[0]
    assert scl.n_top3 == 2 and scl.top3_run_ids == "s2,s1"
    assert scl.mean_top3 == pytest.approx(0.85)


def test_top_k_other_k_and_validation():
    out = top_k_by_dev(_topk_table(), k=1)
    assert out.loc[out["method"] == "ce", "top1_run_ids"].item() == "r1"
    assert math.isnan(out.loc[out["method"] == "ce", "std_top1"].item())
    with pytest.raises(ValueError, match="k must be"):
        top_k_by_dev(_topk_table(), k=0)
    table = _topk_table()
    table.loc[0, "dev_accuracy"] = np.nan
    with pytest.raises(ValueError, match="dev_accuracy"):
        top_k_by_dev(table)


def test_seed_summary_groups_nan_keys():
    out = seed_summary(make_table())
    clean_ce = out[(out["task"] == "sst2") & (out["noise_family"] == "none") & (out["method"] == "ce")]
    assert len(clean_ce) == 1
    r = clean_ce.iloc[0]
    assert math.isnan(r.noise_level) and math.isnan(r.tau)
    assert r.n_all == 7
    assert r.mean_all == pytest.approx(np.mean(CE_CLEAN))
    assert r.std_all == pytest.approx(np.std(CE_CLEAN, ddof=1))
    scl05 = out[(out["noise_level"] == 0.5) & (out["lam"] == 0.1) & (out["task"] == "sst2")
                & (out["method"] == "ce-scl")].iloc[0]
    assert scl05.n_all == 8  # the unpaired run counts here
    # every run is accounted for exactly once
    assert out["n_all"].sum() == len(make_table())


def test_format_p():
    assert format_p(None) == "n/a"
    assert format_p(float("nan")) == "n/a"
    assert format_p(0.0001) == "<0.001"
    assert format_p(0.04567) == "0.046"


def test_analysis_does_not_import_training_code():
    code = (
        "import sys, noisebench.analysis.stats, noisebench.analysis.paper\n"
        "bad = [m for m in sys.modules if m.startswith(('noisebench.train', 'noisebench.cli', 'torch'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_runs_with_different_weak_labellers_never_pair():
    """The same T under tf-idf and under an encoder probe is different noise: two cells, not one pooled cell."""
    table = make_table()
    noisy = table["noise_family"] != "none"
    probe = table[noisy].assign(weak_model="encoder-probe", weak_options='{"encoder": "m"}', test_accuracy=lambda t: t["test_accuracy"] - 0.1)
    both = pd.concat([table.assign(weak_model=np.where(noisy, "tfidf-logreg", None)), probe], ignore_index=True)
    out = compare_methods(both)
    alone = compare_methods(table)
    cells = out[out["noise_family"] == "temperature"]
    assert set(cells["weak_model"]) == {"tfidf-logreg", "encoder-probe"}
    assert len(cells) == 2 * len(alone[alone["noise_family"] == "temperature"])
    tfidf = cells[cells["weak_model"] == "tfidf-logreg"].sort_values(["noise_level", "treatment_method"])["mean_diff"].to_numpy()
    reference = alone[alone["noise_family"] == "temperature"].sort_values(["noise_level", "treatment_method"])["mean_diff"].to_numpy()
    np.testing.assert_allclose(tfidf, reference)


def test_legacy_rows_with_a_weak_fit_get_the_default_labeller():
    from noisebench.analysis.keys import with_setting_keys

    legacy = pd.DataFrame({"noise_family": ["temperature", "none"], "noise_param": ["temperature", None], "weak_fit": ["in-sample", None]})
    out = with_setting_keys(legacy)
    assert out["weak_model"].tolist()[0] == "tfidf-logreg" and out["weak_model"].isna().tolist()[1]

"""Tests for stats.controls: a noise family against its synthetic control paired by seed, and families at one rate.

References are computed here: SciPy's paired t-test called directly, the sign-flip test by enumerating
all 2**n sign vectors, Holm by statsmodels, and the pairing by loops over the seeds of the hand-made table.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from family_runs import CE, CONTROL, FAMILIES, REAL, SCL, family_table
from scipy import stats
from statsmodels.stats.multitest import multipletests

from noisebench.analysis.keys import SEED_KEYS
from noisebench.analysis.stats import (
    CONTROL_GAP_COLUMNS,
    compare_methods,
    control_gaps,
    control_of,
    family_order,
    robustness_gains,
    same_rate_comparison,
    same_rate_levels,
)
from noisebench.noise.families.uniform import UniformFamily

RESAMPLES = 2000
SEEDS = range(8)


def signflip(d) -> float:
    """Two-sided sign-flip p of the mean by enumerating every sign vector."""
    d = np.asarray(d, dtype=float)
    hits = sum(abs(np.dot(signs, d) / len(d)) >= abs(d.mean()) - 1e-12
               for signs in itertools.product((-1.0, 1.0), repeat=len(d)))
    return hits / 2 ** len(d)


def accuracy(table: pd.DataFrame, family: str, method: str, seed: int) -> float | None:
    """The one run of (family, method) with data = noise = train seed ``seed`` (no noise seed if clean), or None."""
    noise_seed = table["noise_seed"].isna() if family == "none" else table["noise_seed"] == seed
    hit = table[(table["noise_family"] == family) & (table["method"] == method) & (table["data_seed"] == seed)
                & noise_seed & (table["train_seed"] == seed)]
    assert len(hit) <= 1
    return None if hit.empty else float(hit["test_accuracy"].iloc[0])


def brute_gaps(table: pd.DataFrame, method: str, family: str = REAL, control: str = CONTROL) -> np.ndarray:
    """Per seed metric(family) − metric(control), seeds where both ran, by a loop over the seeds."""
    pairs = [(accuracy(table, family, method, s), accuracy(table, control, method, s)) for s in SEEDS]
    return np.array([f - c for f, c in pairs if f is not None and c is not None])


def row(out: pd.DataFrame, method: str) -> pd.Series:
    (hit,) = [r for _, r in out.iterrows() if r["method"] == method]
    return hit


# --------------------------------------------------------------------------
# the registry: which family is whose control
# --------------------------------------------------------------------------


def test_control_of_reads_the_registry_and_family_order_puts_a_control_after_its_family():
    assert control_of(CONTROL) == REAL
    assert control_of(REAL) is None and control_of("none") is None and control_of("no-such-family") is None
    assert family_order(["uniform", CONTROL, "temperature", REAL]) == [REAL, CONTROL, "temperature", "uniform"]
    assert family_order(["uniform", CONTROL, "temperature"]) == [CONTROL, "temperature", "uniform"]


# --------------------------------------------------------------------------
# control_gaps
# --------------------------------------------------------------------------


def test_gap_is_family_minus_control_with_scipy_and_exact_signflip_p():
    table = family_table()
    out = control_gaps(table, n_resamples=RESAMPLES)
    assert len(out) == 2 and set(out["noise_family"]) == {REAL} and set(out["control_family"]) == {CONTROL}
    for method in (CE, SCL):
        r, d = row(out, method), brute_gaps(table, method)
        assert r["n_pairs"] == len(d) == 8
        assert r["gap"] == pytest.approx(d.mean(), abs=1e-12)
        assert r["mean_family"] - r["mean_control"] == pytest.approx(d.mean(), abs=1e-12)
        real = [accuracy(table, REAL, method, s) for s in SEEDS]
        ctl = [accuracy(table, CONTROL, method, s) for s in SEEDS]
        assert r["p_ttest"] == pytest.approx(stats.ttest_rel(real, ctl).pvalue, rel=1e-9)
        assert r["p_signflip"] == pytest.approx(signflip(d), abs=1e-12) and r["signflip_exact"]
        assert r["p_wilcoxon"] == pytest.approx(stats.wilcoxon(real, ctl).pvalue, rel=1e-9)
        assert r["ci_low"] < d.mean() < r["ci_high"]
    assert (out["gap"] > 0).all()  # the hand-made real noise hurts less than its control


def test_holm_runs_over_the_methods_of_one_setting():
    out = control_gaps(family_table(), n_resamples=RESAMPLES)
    expected = multipletests(out["p_signflip"].to_numpy(dtype=float), method="holm")[1]
    np.testing.assert_allclose(out["p_holm"].to_numpy(dtype=float), expected)
    assert list(out["holm_family_size"]) == [2, 2]
    assert list(out["significant"]) == list(expected < 0.05)


def test_pairing_is_by_seed_not_by_row_order():
    table = family_table()
    shuffled = table.sample(frac=1.0, random_state=3).reset_index(drop=True)
    a, b = (control_gaps(t, n_resamples=RESAMPLES) for t in (table, shuffled))
    pd.testing.assert_frame_equal(a, b)
    # one seed's control run of ce goes: that seed leaves ce's pairs, ce-scl keeps all eight
    dropped = shuffled[~((shuffled["noise_family"] == CONTROL) & (shuffled["method"] == CE)
                         & (shuffled["data_seed"] == 3))]
    out = control_gaps(dropped, n_resamples=RESAMPLES)
    ce, scl = row(out, CE), row(out, SCL)
    assert (ce["n_pairs"], ce["n_unpaired_family"], ce["n_unpaired_control"]) == (7, 1, 0)
    d = brute_gaps(dropped, CE)
    assert len(d) == 7 and ce["gap"] == pytest.approx(d.mean(), abs=1e-12)
    assert ce["p_signflip"] == pytest.approx(signflip(d), abs=1e-12)
    assert scl["n_pairs"] == 8 and scl["gap"] == pytest.approx(row(a, SCL)["gap"], abs=1e-12)


def test_other_setting_keys_keep_settings_apart():
    table = family_table()
    other = family_table(rate=0.1, start=1000)
    out = control_gaps(pd.concat([table, other], ignore_index=True), n_resamples=RESAMPLES)
    assert sorted(out["noise_level"]) == [0.06, 0.06, 0.1, 0.1]
    assert set(out["holm_family_size"]) == {2}  # Holm over the methods of one level, not across levels


@pytest.mark.parametrize("families", [("temperature", "uniform"), (CONTROL, "temperature"), (REAL, "uniform")])
def test_no_family_with_its_control_gives_an_empty_frame_with_its_columns(families):
    out = control_gaps(family_table(families=families), n_resamples=RESAMPLES)
    assert out.empty and list(out.columns[-len(CONTROL_GAP_COLUMNS):]) == list(CONTROL_GAP_COLUMNS)
    assert {"noise_family", "control_family", "method", *SEED_KEYS} - set(out.columns) == set(SEED_KEYS)


def test_any_family_that_names_a_control_is_paired(monkeypatch):
    monkeypatch.setattr(UniformFamily, "control_of", "temperature")
    table = family_table(families=("temperature", "uniform"))
    assert control_gaps(table, n_resamples=RESAMPLES).empty  # temperature's weak-model fit is part of its setting
    table = table.assign(weak_fit=None)
    out = control_gaps(table, n_resamples=RESAMPLES)
    assert set(out["noise_family"]) == {"temperature"} and set(out["control_family"]) == {"uniform"}
    for method in (CE, SCL):
        d = brute_gaps(table, method, family="temperature", control="uniform")
        assert row(out, method)["gap"] == pytest.approx(d.mean(), abs=1e-12)


# --------------------------------------------------------------------------
# families side by side at one rate
# --------------------------------------------------------------------------


def test_same_rate_levels_need_two_families_at_one_target_rate():
    levels = same_rate_levels(family_table())
    assert len(levels) == 1 and levels["noise_level"].iloc[0] == 0.06 and bool(levels["has_clean"].iloc[0])
    assert levels["noise_families"].iloc[0] == FAMILIES
    assert same_rate_levels(family_table(families=(REAL,))).empty
    apart = pd.concat([family_table(families=(REAL,)), family_table(families=("uniform",), rate=0.1, clean=False,
                                                                     start=500)], ignore_index=True)
    assert same_rate_levels(apart).empty
    own = family_table(families=("uniform", "temperature")).assign(noise_param=lambda t: t["noise_param"].where(
        t["noise_family"] == "none", "rate"))
    assert same_rate_levels(own).empty  # a family's own parameter is no rate shared with another family
    assert not bool(same_rate_levels(family_table(clean=False))["has_clean"].iloc[0])


def test_same_rate_comparison_puts_the_existing_statistics_side_by_side():
    table = family_table()
    out = same_rate_comparison(table, n_resamples=RESAMPLES)
    order = [("none", CE), ("none", SCL)] + [(f, m) for f in FAMILIES for m in (CE, SCL)]
    assert list(zip(out["noise_family"], out["method"])) == order
    assert list(out["clean"]) == [True, True] + [False] * 8
    assert set(out["noise_level"]) == {0.06}  # the clean anchor's rows carry the level they are shown at
    compared = compare_methods(table, n_resamples=RESAMPLES)
    gains = robustness_gains(table, n_resamples=RESAMPLES)
    for r in out.to_dict("records"):
        runs = table[(table["noise_family"] == r["noise_family"]) & (table["method"] == r["method"])]
        assert r["n_runs"] == len(runs) and r["mean"] == pytest.approx(runs["test_accuracy"].mean(), abs=1e-12)
        if r["method"] == CE:
            assert np.isnan(r["delta"]) and np.isnan(r["gain"])
            continue
        cell = compared[(compared["noise_family"] == r["noise_family"]) & (compared["treatment_method"] == SCL)]
        d = [accuracy(table, r["noise_family"], SCL, s) - accuracy(table, r["noise_family"], CE, s) for s in SEEDS]
        assert r["delta"] == pytest.approx(np.mean(d), abs=1e-12) == cell["mean_diff"].iloc[0]
        assert r["delta_p_signflip"] == pytest.approx(signflip(d), abs=1e-12)
        assert r["delta_p_holm"] == cell["p_holm"].iloc[0]
        if r["clean"]:
            assert np.isnan(r["gain"])
        else:
            gain = gains[gains["noise_family"] == r["noise_family"]]
            assert (r["gain"], r["gain_ci_low"], r["gain_p_holm"]) == tuple(gain[["gain", "ci_low", "p_holm"]].iloc[0])
    given = same_rate_comparison(table, comparisons=compared, gains=gains)
    pd.testing.assert_frame_equal(given, out)


def test_same_rate_comparison_without_a_matched_level_is_empty():
    out = same_rate_comparison(family_table(families=("uniform",)), n_resamples=RESAMPLES)
    assert out.empty and {"noise_family", "method", "mean", "delta", "gain"} <= set(out.columns)

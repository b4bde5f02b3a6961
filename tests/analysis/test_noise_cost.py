"""Tests for the clean anchor (stats.noise_cost) and for the setting keys: noise_param, weak_fit, n_relabel, pooling.

Every number is recomputed here by brute force (loops over seeds, all 2**n sign vectors) or by
SciPy / statsmodels called directly, on tables built by hand.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from noisebench.analysis import prepare
from noisebench.analysis.stats import compare_methods, noise_cost, seed_summary

NAN = float("nan")
RESAMPLES = 2000
SEEDS = range(7)
# Hand-made accuracies (multiples of 1/1000) per method: clean, and per (noise_param, level).
CLEAN = {"ce": [0.842, 0.851, 0.838, 0.860, 0.845, 0.849, 0.855],
         "ce-scl": [0.861, 0.858, 0.849, 0.870, 0.852, 0.866, 0.859]}
NOISY = {
    ("temperature", 0.2): {"ce": [0.830, 0.845, 0.829, 0.851, 0.846, 0.840, 0.842],
                           "ce-scl": [0.855, 0.850, 0.851, 0.862, 0.844, 0.860, 0.850]},
    ("temperature", 0.9): {"ce": [0.760, 0.771, 0.749, 0.780, 0.768, 0.755, 0.772],
                           "ce-scl": [0.790, 0.781, 0.770, 0.795, 0.778, 0.788, 0.783]},
    ("target_rate", 0.2): {"ce": [0.801, 0.815, 0.790, 0.822, 0.806, 0.811, 0.808],
                           "ce-scl": [0.825, 0.820, 0.811, 0.836, 0.818, 0.829, 0.821]},
}


def run(run_id, method, acc, *, seed, noise=None, noise_seed=None, train_seed=None, **extra) -> dict:
    """One table row; ``noise`` = (noise_param, level) or None for a clean run."""
    param, level = noise if noise else (None, NAN)
    return {
        "run_id": run_id, "task": "rt-polarity", "model": "all-minilm-l6-v2", "n_train": 100,
        "noise_family": "temperature" if noise else "none", "noise_param": param, "noise_level": level,
        "weak_fit": "in-sample" if noise else None, "n_relabel": None, "pooling": "cls",
        "method": method, "lam": 0.9 if method == "ce-scl" else NAN, "tau": 0.3 if method == "ce-scl" else NAN,
        "data_seed": seed, "noise_seed": (100 + seed if noise_seed is None else noise_seed) if noise else NAN,
        "train_seed": 10 + seed if train_seed is None else train_seed, "test_accuracy": acc,
        "dev_accuracy": acc - 0.01, "realized_noise_rate": 0.1 + level / 4 if noise else 0.0, **extra,
    }


def zipped_table() -> pd.DataFrame:
    """Clean and noisy runs of both methods sharing (data_seed, train_seed); one noisy run per seed pair."""
    rows = [run(f"{m}-clean-{s}", m, CLEAN[m][s], seed=s) for m in CLEAN for s in SEEDS]
    rows += [run(f"{m}-{p}{lv}-{s}", m, acc[s], seed=s, noise=(p, lv))
             for (p, lv), by_method in NOISY.items() for m, acc in by_method.items() for s in SEEDS]
    return pd.DataFrame(rows)


def signflip(d) -> float:
    d = np.asarray(d, dtype=float)
    hits = sum(abs(np.dot(signs, d) / len(d)) >= abs(d.mean()) - 1e-12
               for signs in itertools.product((-1.0, 1.0), repeat=len(d)))
    return hits / 2 ** len(d)


def one(frame: pd.DataFrame, **key) -> pd.Series:
    mask = np.ones(len(frame), dtype=bool)
    for k, v in key.items():
        mask &= (frame[k] == v).to_numpy()
    assert mask.sum() == 1, (key, frame[list(key)])
    return frame[mask].iloc[0]


def check_row(row: pd.Series, clean: np.ndarray, noisy: np.ndarray) -> None:
    """``row`` of noise_cost against the drop clean − noisy computed here."""
    drop = clean - noisy
    assert row["n_pairs"] == len(drop)
    assert (row["mean_clean"], row["mean_noisy"], row["mean_drop"]) == pytest.approx(
        (clean.mean(), noisy.mean(), drop.mean()), abs=1e-12)
    ci = stats.bootstrap((drop,), np.mean, confidence_level=0.95, n_resamples=RESAMPLES, method="BCa",
                         random_state=0).confidence_interval
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert row["ci_method"] == "BCa"
    assert row["p_ttest"] == pytest.approx(stats.ttest_rel(clean, noisy).pvalue, rel=1e-9)
    assert row["p_signflip"] == pytest.approx(signflip(drop), abs=1e-12)
    if len(drop) >= 6:
        assert row["p_wilcoxon"] == pytest.approx(stats.wilcoxon(clean, noisy).pvalue, rel=1e-9)
    else:
        assert np.isnan(row["p_wilcoxon"])


# --------------------------------------------------------------------------
# noise_cost
# --------------------------------------------------------------------------


def test_noise_cost_zipped_seeds_match_brute_force():
    out = noise_cost(zipped_table(), n_resamples=RESAMPLES)
    assert len(out) == len(NOISY) * len(CLEAN)
    assert out.attrs["metric"] == "test_accuracy"
    for method in CLEAN:
        p_temperature = []
        for (param, level), by_method in NOISY.items():
            row = one(out, method=method, noise_param=param, noise_level=level)
            check_row(row, np.array(CLEAN[method]), np.array(by_method[method]))
            assert row["n_noisy_runs"] == 7 and row["n_unpaired_noisy"] == 0 and row["n_unpaired_clean"] == 0
            if param == "temperature":
                p_temperature.append((level, row["p_signflip"]))
        # Holm over the temperature levels of one method; the lone target rate is a family of its own
        expected = dict(zip([lv for lv, _ in p_temperature],
                            multipletests([p for _, p in p_temperature], method="holm")[1]))
        for level, p_holm in expected.items():
            assert one(out, method=method, noise_param="temperature", noise_level=level)["p_holm"] == pytest.approx(p_holm)
        target = one(out, method=method, noise_param="target_rate", noise_level=0.2)
        assert target["p_holm"] == pytest.approx(target["p_signflip"]) and target["holm_family_size"] == 1


def test_noise_cost_crossed_seeds_average_per_clean_partner():
    """Two noise seeds per (data_seed, train_seed): their mean is one pair with the shared clean run."""
    rng = np.random.default_rng(5)
    clean = {s: 0.85 + 0.004 * s for s in range(4)}
    noisy = {(s, k): round(0.80 + 0.003 * s + float(rng.normal(0, 0.01)), 3) for s in range(4) for k in range(2)}
    rows = [run(f"clean-{s}", "ce", acc, seed=s) for s, acc in clean.items()]
    rows += [run(f"noisy-{s}-{k}", "ce", acc, seed=s, noise=("temperature", 0.5), noise_seed=k)
             for (s, k), acc in noisy.items()]
    row = noise_cost(pd.DataFrame(rows), n_resamples=RESAMPLES).iloc[0]
    per_partner = np.array([np.mean([noisy[(s, k)] for k in range(2)]) for s in range(4)])
    check_row(row, np.array(list(clean.values())), per_partner)
    assert row["n_pairs"] == 4 and row["n_noisy_runs"] == 8


def test_noise_cost_counts_runs_without_a_partner():
    table = zipped_table()
    extra = pd.DataFrame([run("orphan", "ce", 0.7, seed=42, noise=("temperature", 0.9))])
    table = pd.concat([table, extra], ignore_index=True)
    table = table[~(table["run_id"] == "ce-temperature0.2-3")]  # clean seed 3 has no T=0.2 partner now
    out = noise_cost(table, n_resamples=RESAMPLES)
    t09 = one(out, method="ce", noise_param="temperature", noise_level=0.9)
    assert (t09["n_pairs"], t09["n_unpaired_noisy"], t09["n_unpaired_clean"]) == (7, 1, 0)
    t02 = one(out, method="ce", noise_param="temperature", noise_level=0.2)
    assert (t02["n_pairs"], t02["n_unpaired_noisy"], t02["n_unpaired_clean"]) == (6, 0, 1)
    keep = [s for s in SEEDS if s != 3]
    check_row(t02, np.array(CLEAN["ce"])[keep], np.array(NOISY[("temperature", 0.2)]["ce"])[keep])


def test_noise_cost_without_clean_runs_and_with_an_ambiguous_anchor():
    table = zipped_table()
    no_clean = noise_cost(table[table["noise_family"] != "none"], n_resamples=RESAMPLES)
    assert (no_clean["n_pairs"] == 0).all() and no_clean["mean_drop"].isna().all()
    assert noise_cost(table[table["noise_family"] == "none"]).empty
    dup = table[table["run_id"] == "ce-clean-2"].assign(run_id="ce-clean-2-again")
    with pytest.raises(ValueError, match="ce-clean-2-again"):
        noise_cost(pd.concat([table, dup], ignore_index=True))


def test_clean_partner_must_share_pooling_and_method_parameters():
    table = zipped_table()
    table.loc[table["run_id"].str.startswith("ce-scl-clean"), "pooling"] = "mean"
    out = noise_cost(table, n_resamples=RESAMPLES)
    assert (out.loc[out["method"] == "ce-scl", "n_pairs"] == 0).all()
    assert (out.loc[out["method"] == "ce", "n_pairs"] == 7).all()
    table = zipped_table()
    table.loc[table["run_id"].str.startswith("ce-scl-clean"), "lam"] = 0.5
    assert (noise_cost(table, n_resamples=RESAMPLES).query("method == 'ce-scl'")["n_pairs"] == 0).all()


def test_noise_costs_are_labelled():
    out = prepare.noise_costs(zipped_table(), n_resamples=RESAMPLES)
    assert set(out["noise_label"]) == {"temperature T=0.2", "temperature T=0.9", "temperature ρ=0.2"}
    assert set(out["method_label"]) == {"ce", "ce-scl(λ=0.9, τ=0.3)"}


# --------------------------------------------------------------------------
# setting keys: target rates vs the family's parameter, weak fit, legacy tables
# --------------------------------------------------------------------------


def test_temperature_and_target_rate_of_equal_value_never_pair_or_pool():
    table = zipped_table()
    diffs = compare_methods(table, n_resamples=RESAMPLES)
    at_02 = diffs[diffs["noise_level"] == 0.2]
    assert sorted(at_02["noise_param"]) == ["target_rate", "temperature"]
    for param in ("temperature", "target_rate"):
        row = one(diffs, noise_param=param, noise_level=0.2)
        by_method = NOISY[(param, 0.2)]
        assert row["n_pairs"] == 7
        assert row["mean_diff"] == pytest.approx(np.mean(np.subtract(by_method["ce-scl"], by_method["ce"])))
    target = one(diffs, noise_param="target_rate", noise_level=0.2)
    # kept apart as cells, but one Holm family: every level of the temperature family, T or target rate
    assert target["holm_family_size"] == 3
    summary = seed_summary(table)
    for param in ("temperature", "target_rate"):
        row = one(summary, noise_param=param, noise_level=0.2, method="ce")
        assert row["n_all"] == 7 and row["mean_all"] == pytest.approx(np.mean(NOISY[(param, 0.2)]["ce"]))
    cells = prepare.cell_summary(table)
    assert len(cells[(cells["noise_level"] == 0.2) & (cells["method"] == "ce")]) == 2


def test_weak_fits_are_separate_settings_sharing_one_clean_anchor():
    table = zipped_table()
    held_out = table[table["noise_param"] == "temperature"].assign(
        weak_fit="held-out", run_id=lambda f: f["run_id"] + "-ho", test_accuracy=lambda f: f["test_accuracy"] - 0.05)
    table = pd.concat([table, held_out], ignore_index=True)
    diffs = compare_methods(table, n_resamples=RESAMPLES)
    assert set(diffs.loc[diffs["noise_param"] == "temperature", "weak_fit"]) == {"in-sample", "held-out"}
    assert (diffs.loc[diffs["noise_family"] != "none", "n_pairs"] == 7).all()
    out = noise_cost(table, n_resamples=RESAMPLES)
    ho = one(out, method="ce", weak_fit="held-out", noise_level=0.9)
    check_row(ho, np.array(CLEAN["ce"]), np.array(NOISY[("temperature", 0.9)]["ce"]) - 0.05)
    assert one(out, method="ce", weak_fit="in-sample", noise_param="temperature", noise_level=0.9)["holm_family_size"] == 2


def test_a_legacy_table_without_the_new_columns_still_works():
    table = zipped_table()
    table = table[table["noise_param"] != "target_rate"].drop(columns=["noise_param", "weak_fit", "n_relabel", "pooling"])
    new = noise_cost(zipped_table().query("noise_param != 'target_rate'"), n_resamples=RESAMPLES)
    old = noise_cost(table, n_resamples=RESAMPLES)
    assert set(old["noise_param"]) == {"temperature"}  # a noisy row without it means the family's own
    assert old["pooling"].isna().all() and old["weak_fit"].isna().all()
    np.testing.assert_allclose(old["mean_drop"], new["mean_drop"])
    np.testing.assert_allclose(old["p_holm"], new["p_holm"])
    diffs = compare_methods(table, n_resamples=RESAMPLES)
    assert (diffs["n_pairs"] == 7).all() and len(diffs) == 3  # clean, T=0.2, T=0.9
    assert len(prepare.cell_summary(table)) == 6

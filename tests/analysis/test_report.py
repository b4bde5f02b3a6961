"""Tests for noisebench.analysis.report: numbers checked against SciPy/statsmodels called here."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_runs import BENCHMARK_METHODS, benchmark_cells, brute_force_improvement, make_benchmark_table, write_runs
from scipy import stats
from statsmodels.stats.multitest import multipletests

from noisebench.analysis import prepare
from noisebench.analysis.report import paper_verdict, write_report
from noisebench.analysis.stats import compare_methods, format_p

NAN = float("nan")
ROBERTA = "roberta-large"

# Hand-made test accuracies (multiples of 1/1000), paired by seed index.
CE = {
    0.3: [0.912, 0.905, 0.918, 0.909, 0.915],
    0.5: [0.901, 0.897, 0.905, 0.899, 0.903, 0.896, 0.902],
    0.9: [0.861, 0.855, 0.866, 0.858, 0.862, 0.851, 0.859],
}
DIFF = {
    0.3: [0.002, -0.002, -0.001, 0.003, -0.002],  # ~0: 5 pairs -> Wilcoxon n/a, not confirmed
    0.5: [-0.021, -0.018, -0.025, -0.019, -0.022, -0.017, -0.024],  # paper +0.1 pp -> not replicated
    0.9: [0.019, 0.024, 0.016, 0.022, 0.020, 0.025, 0.018],  # paper +1.5 pp -> replicated
}
RATE = {0.3: [0.171, 0.169, 0.18, 0.175, 0.16], 0.5: [0.25, 0.26, 0.24, 0.255, 0.245, 0.262, 0.238],
        0.9: [0.40, 0.41, 0.39, 0.405, 0.395, 0.42, 0.38]}


def make_table(task="sst2", model=ROBERTA, n_train=100, clean_seeds=3) -> pd.DataFrame:
    rows = []

    def add(family, temp, s, method, acc, rate):
        rows.append({
            "run_id": f"{task[:3]}{len(rows):04d}", "task": task, "model": model, "n_train": n_train,
            "data_seed": s, "noise_family": family, "noise_param": None if family == "none" else "temperature",
            "noise_level": temp, "noise_seed": NAN if family == "none" else s, "method": method,
            "lam": NAN if method == "ce" else 0.9, "tau": NAN if method == "ce" else 0.3, "train_seed": s,
            "epochs": 10, "batch_size": 16, "lr": 1e-5, "test_accuracy": round(acc, 3),
            "dev_accuracy": round(acc - 0.004 + 0.001 * ((s * 5) % 7), 3), "best_epoch": 4,
            "realized_noise_rate": rate, "wall_time_s": 5.0,
        })

    for s in range(clean_seeds):
        add("none", NAN, s, "ce", 0.93 + 0.002 * s, 0.0)
        add("none", NAN, s, "ce-scl", 0.935 + 0.003 * s, 0.0)
    for t in CE:
        for s, (ce, d, r) in enumerate(zip(CE[t], DIFF[t], RATE[t])):
            add("temperature", t, s, "ce", ce, r)
            add("temperature", t, s, "ce-scl", ce + d, r)
    return pd.DataFrame(rows)


def parse_tables(text: str) -> list[list[dict[str, str]]]:
    """Every Markdown table of the report as a list of {header: cell} rows."""
    tables, lines = [], text.splitlines()
    i = 0
    while i < len(lines):
        if lines[i].startswith("| ") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            headers = [h.strip() for h in lines[i].strip("|").split(" | ")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("| "):
                cells = [c.strip() for c in re.split(r"(?<!\\)\|", lines[i].strip().strip("|"))]
                rows.append(dict(zip(headers, cells, strict=True)))
                i += 1
            tables.append(rows)
        else:
            i += 1
    return tables


def section(text: str, title: str) -> str:
    """The body of the report's ``## <title>`` section."""
    return text.split(f"## {title}", 1)[1].split("\n## ", 1)[0]


def find_row(rows: list[dict[str, str]], **key) -> dict[str, str]:
    hits = [r for r in rows if all(r.get(k) == v for k, v in key.items())]
    assert len(hits) == 1, (key, rows)
    return hits[0]


def signflip_exact(diff) -> float:
    """Brute-force two-sided sign-flip p of the mean over all 2**n sign vectors."""
    diff = np.asarray(diff, dtype=float)
    observed = abs(diff.mean())
    count = sum(abs((diff * np.array(signs)).mean()) >= observed - 1e-12
                for signs in itertools.product([1, -1], repeat=len(diff)))
    return count / 2 ** len(diff)


@pytest.fixture(scope="module")
def sst2_report(tmp_path_factory):
    root = tmp_path_factory.mktemp("sst2")
    table = make_table()
    results = write_runs(root / "results", table)
    out = write_report(table, None, results, root / "report" / "report.md", figures_dir=root / "report" / "figures")
    return table, out, out.read_text(encoding="utf-8")


# --------------------------------------------------------------------------
# statistics table
# --------------------------------------------------------------------------


def test_stats_table_numbers_match_scipy(sst2_report):
    table, _, text = sst2_report
    stats_rows = parse_tables(section(text, "Paired statistics per cell"))[0]
    assert list(stats_rows[0]) == ["task", "N", "noise", "treatment", "mean realised noise", "n pairs",
                                   "baseline mean %", "treatment mean %", "Δ pp [CI]", "p t-test", "p sign-flip",
                                   "p Wilcoxon", "p Holm", "significant"]
    p_sf = {t: signflip_exact(DIFF[t]) for t in CE}
    holm = dict(zip(CE, multipletests([p_sf[t] for t in CE], method="holm")[1]))
    reference = compare_methods(table)
    for t in CE:
        ce = np.array(CE[t])
        scl = np.round(ce + np.array(DIFF[t]), 3)
        row = find_row(stats_rows, task="sst2", noise=f"temperature T={t:g}")
        assert row["treatment"] == "ce-scl(λ=0.9, τ=0.3)"
        assert row["n pairs"] == str(len(ce))
        assert row["baseline mean %"] == f"{ce.mean() * 100:.2f}"
        assert row["treatment mean %"] == f"{scl.mean() * 100:.2f}"
        ref = reference[np.isclose(reference["noise_level"], t)].iloc[0]
        assert row["Δ pp [CI]"] == (f"{(scl - ce).mean() * 100:+.2f} "
                                    f"[{ref['ci_low'] * 100:+.2f}, {ref['ci_high'] * 100:+.2f}]")
        assert row["p t-test"] == format_p(stats.ttest_rel(scl, ce).pvalue)
        assert row["p sign-flip"] == f"{format_p(p_sf[t])} (exact)"
        assert row["p Holm"] == format_p(holm[t])
        assert row["mean realised noise"] == f"{np.mean(RATE[t]):.1%}"
        if len(ce) < 6:
            assert row["p Wilcoxon"] == "n/a"
        else:
            assert row["p Wilcoxon"] == format_p(stats.wilcoxon(scl, ce).pvalue)
        assert row["significant"] == ("yes" if holm[t] < 0.05 else "no")
    clean = find_row(stats_rows, task="sst2", noise="clean")
    assert clean["p Wilcoxon"] == "n/a" and clean["mean realised noise"] == "0.0%"
    assert "n/a below 6 pairs" in text


def test_seed_summary_plain_and_top3(sst2_report):
    table, _, text = sst2_report
    summary = parse_tables(section(text, "Seed summary"))[0]
    top_header = "top-3 by dev (paper's rule): mean ± sd % (n)"
    assert list(summary[0])[-2:] == ["all seeds: mean ± sd %", top_header]
    assert "optimistic" in text and "the number to read" in text
    runs = table[(table["method"] == "ce") & (table["noise_level"] == 0.9)]
    acc = runs["test_accuracy"].to_numpy()
    top = runs.sort_values(["dev_accuracy", "run_id"], ascending=[False, True]).head(3)["test_accuracy"].to_numpy()
    row = find_row(summary, noise="temperature T=0.9", method="ce")
    assert row["runs"] == "7"
    assert row["all seeds: mean ± sd %"] == f"{acc.mean() * 100:.2f} ± {acc.std(ddof=1) * 100:.2f}"
    assert row[top_header] == f"{top.mean() * 100:.2f} ± {top.std(ddof=1) * 100:.2f} (3)"
    assert find_row(summary, noise="temperature T=0.9", method="ce-scl(λ=0.9, τ=0.3)")["runs"] == "7"


def test_setup_section(sst2_report):
    table, _, text = sst2_report
    setup = text.split("## Set-up", 1)[1].split("##", 1)[0]
    assert f"finished runs: {len(table)}" in setup
    assert "models (encoders): roberta-large" in setup
    assert "training-set size N: 100" in setup
    assert "epochs: 10; learning rate: 1e-05; batch size: 16" in setup
    assert "torch 2.13.0" in setup and "transformers 4.50.0" in setup
    assert "levels: temperature T: 0.3, 0.5, 0.9" in setup
    assert "methods: ce, ce-scl(λ=0.9, τ=0.3); baseline: ce" in setup


def test_figures_are_linked_relative_and_exist(sst2_report):
    _, out, text = sst2_report
    links = re.findall(r"\]\(([^)]+)\)", text)
    pngs = [link for link in links if link.endswith(".png")]
    assert "figures/accuracy_vs_noise.png" in pngs and "figures/difference_vs_noise.png" in pngs
    for link in links:
        assert not Path(link).is_absolute()
        assert (out.parent / link).is_file(), link


# --------------------------------------------------------------------------
# comparison with the paper
# --------------------------------------------------------------------------


def test_paper_comparison_rows_and_verdicts(sst2_report):
    _, _, text = sst2_report
    section = text.split("## Comparison with the paper", 1)[1]
    rows = parse_tables(section)[0]
    t09 = find_row(rows, task="sst2", noise="temperature T=0.9")
    assert (t09["paper ce %"], t09["paper ce-scl %"], t09["paper Δ pp"]) == ("90.0", "91.5", "+1.5")
    assert t09["paper table"] == "Table 3 (noisy)"
    assert t09["verdict"] == "replicated"
    t05 = find_row(rows, task="sst2", noise="temperature T=0.5")
    assert (t05["paper ce %"], t05["paper ce-scl %"], t05["paper Δ pp"]) == ("91.4", "91.5", "+0.1")
    assert t05["verdict"] == "not replicated"
    t03 = find_row(rows, task="sst2", noise="temperature T=0.3")
    assert t03["verdict"] == "not confirmed at this sample size"
    assert "our estimate is zero" in section  # +0.000 pp, not a round-off "opposite sign"
    clean = find_row(rows, task="sst2", noise="clean")  # our clean N=100 cell vs the few-shot table
    assert (clean["paper table"], clean["paper ce %"], clean["paper ce-scl %"]) == (
        "Table 2 (few-shot)", "91.1", "92.8")
    assert clean["verdict"] == "replicated"  # 3 pairs: the BCa interval excludes 0 ...
    assert "rests on the bootstrap interval alone" in section  # ... and the report says how weak that is
    assert "Replicated: the paper reports ce-scl − ce = +1.5 pp" in section
    assert "Not replicated: the paper reports ce-scl − ce = +0.1 pp" in section
    assert "No cell of ours is comparable" not in section


def test_rt_polarity_is_not_comparable(tmp_path):
    table = make_table(task="rt-polarity", model="all-minilm-l6-v2")
    out = write_report(table, None, tmp_path / "results", tmp_path / "report.md")
    text = out.read_text(encoding="utf-8")
    section = text.split("## Comparison with the paper", 1)[1]
    assert "**not comparable** — rt-polarity is not in the paper" in section
    assert "different encoder (all-minilm-l6-v2" in section
    assert "No cell of ours is comparable with the paper" in section
    assert "rt-polarity is not in the paper; the closest claim is SST-2" in section
    assert "Table 3 (noisy): T=0.3: ce 92.0% vs ce-scl 92.6% (+0.6 pp)" in section
    assert "training software: n/a" in text  # no run directories
    assert "No figures were made" in text


def test_different_encoder_is_not_comparable_but_shown(tmp_path):
    table = make_table(model="all-minilm-l6-v2")
    text = write_report(table, None, tmp_path / "r", tmp_path / "report.md").read_text(encoding="utf-8")
    section = text.split("## Comparison with the paper", 1)[1]
    row = find_row(parse_tables(section)[0], task="sst2", noise="temperature T=0.9")
    assert row["verdict"] == "not comparable" and row["paper ce %"] == "90.0"
    assert "Not comparable: different encoder (all-minilm-l6-v2; the paper fine-tunes RoBERTa-large)" in section
    assert "No cell of ours is comparable with the paper" in section


def test_temperature_not_in_paper(tmp_path):
    table = make_table()
    table.loc[table["noise_level"] == 0.9, "noise_level"] = 1.2
    text = write_report(table, None, tmp_path / "r", tmp_path / "report.md").read_text(encoding="utf-8")
    assert "the paper has no temperature T=1.2 for sst2 (its noisy table has T ∈ {0.3, 0.5, 0.7, 0.9})" in text


@pytest.mark.parametrize("args, verdict, words", [
    ((1.5, 0.02, 0.01, 0.03, 0.01, 7), "replicated", "Holm p < 0.05"),
    ((1.5, 0.02, 0.01, 0.03, 0.2, 7), "replicated", "Holm-adjusted test does not confirm it"),
    ((1.5, 0.02, 0.01, 0.03, 0.2, 4), "replicated", "cannot fall below 2/2^4 = 0.125"),
    ((1.5, 1e-17, -0.002, 0.002, 1.0, 5), "not confirmed at this sample size", "our estimate is zero"),
    ((-0.5, -0.02, -0.03, -0.01, 0.2, 7), "replicated", "same sign"),
    ((1.5, -0.02, -0.03, -0.01, 0.01, 7), "not replicated", "opposite way"),
    ((1.5, 0.005, -0.002, 0.012, 0.3, 5), "not confirmed at this sample size",
     "same sign, but the interval includes 0"),
    ((1.5, -0.005, -0.012, 0.002, 0.3, 5), "not confirmed at this sample size", "opposite sign"),
    ((1.5, 0.01, NAN, NAN, NAN, 1), "not confirmed at this sample size", "1 pair(s)"),
])
def test_paper_verdict_rules(args, verdict, words):
    got, sentence = paper_verdict(*args)
    assert got == verdict
    assert words in sentence


# --------------------------------------------------------------------------
# edge cases
# --------------------------------------------------------------------------


def test_uniform_noise_rates_are_separate_cells(tmp_path):
    table = make_table(clean_seeds=0)
    table = table[table["noise_level"].isin([0.5, 0.9])].copy()
    table["noise_level"] = np.where(table["noise_level"] == 0.5, 0.2, 0.4)
    table["noise_family"], table["noise_param"] = "uniform", "rate"
    text = write_report(table, None, tmp_path / "r", tmp_path / "report.md").read_text(encoding="utf-8")
    stats_rows = parse_tables(section(text, "Paired statistics per cell"))[0]
    r02 = find_row(stats_rows, noise="uniform r=0.2")
    assert r02["n pairs"] == "7" and r02["baseline mean %"] == f"{np.mean(CE[0.5]) * 100:.2f}"
    r04 = find_row(stats_rows, noise="uniform r=0.4")
    assert r04["n pairs"] == "7"
    # the two rates form one Holm family
    p = [signflip_exact(DIFF[t]) for t in (0.5, 0.9)]
    assert (r02["p Holm"], r04["p Holm"]) == tuple(format_p(x) for x in multipletests(p, method="holm")[1])
    assert "uniform noise; the paper only uses temperature noise" in text


def test_single_method_and_single_seed(tmp_path):
    table = make_table()
    only_ce = table[table["method"] == "ce"]
    text = write_report(only_ce, None, tmp_path / "r", tmp_path / "a.md").read_text(encoding="utf-8")
    assert "ce only" in text and "No cell has a treatment run" in text
    one_seed = table[table["data_seed"] == 0]
    text = write_report(one_seed, None, tmp_path / "r", tmp_path / "b.md", figures_dir=tmp_path / "fig")
    text = text.read_text(encoding="utf-8")
    row = find_row(parse_tables(section(text, "Paired statistics per cell"))[0], noise="temperature T=0.9")
    assert row["n pairs"] == "1" and row["p t-test"] == "n/a" and row["significant"] == "n/a"
    assert "too few for an interval or a test" in text


def test_write_is_atomic_and_overwrites(tmp_path):
    table = make_table()
    out = tmp_path / "out" / "report.md"
    write_report(table, None, tmp_path / "r", out)
    first = out.read_text(encoding="utf-8")
    write_report(table, None, tmp_path / "r", out)
    assert out.read_text(encoding="utf-8") == first  # deterministic
    assert [p.name for p in out.parent.iterdir()] == ["report.md"]  # no temp files left


def test_runs_without_accuracy_are_listed_and_empty_table_raises(tmp_path):
    table = make_table()
    table.loc[0, "test_accuracy"] = NAN
    text = write_report(table, None, tmp_path / "r", tmp_path / "x.md").read_text(encoding="utf-8")
    assert f"left out (no test accuracy): 1 run(s): {table.loc[0, 'run_id']}" in text
    with pytest.raises(ValueError, match="no finished runs in"):
        write_report(table.iloc[0:0], None, tmp_path / "r", tmp_path / "y.md")
    assert not (tmp_path / "y.md").exists()


# --------------------------------------------------------------------------
# what noise costs (the clean anchor), target rates, legacy tables
# --------------------------------------------------------------------------


def test_noise_cost_section_numbers_match_scipy(sst2_report):
    table, _, text = sst2_report
    assert text.index("## What noise costs") < text.index("## Paired statistics per cell")
    body = section(text, "What noise costs")
    rows = parse_tables(body)[0]
    assert list(rows[0]) == ["task", "N", "noise", "method", "mean realised noise", "n pairs", "noisy runs",
                             "clean mean %", "noisy mean %", "drop pp [CI]", "p t-test", "p sign-flip", "p Holm",
                             "significant"]
    assert len(rows) == 2 * len(CE)
    for method, label in (("ce", "ce"), ("ce-scl", "ce-scl(λ=0.9, τ=0.3)")):
        runs = table[table["method"] == method]
        clean = runs[runs["noise_family"] == "none"].set_index("data_seed")["test_accuracy"]
        p_sf, drops = {}, {}
        for t in CE:
            noisy = runs[runs["noise_level"] == t].set_index("data_seed")["test_accuracy"]
            seeds = sorted(set(clean.index) & set(noisy.index))  # clean partner: same data and train seed
            drops[t] = (clean[seeds].to_numpy(), noisy[seeds].to_numpy())
            p_sf[t] = signflip_exact(drops[t][0] - drops[t][1])
        holm = dict(zip(CE, multipletests([p_sf[t] for t in CE], method="holm")[1]))
        for t, (c, n) in drops.items():
            row = find_row(rows, noise=f"temperature T={t:g}", method=label)
            ci = stats.bootstrap((c - n,), np.mean, n_resamples=10_000, method="BCa", random_state=0).confidence_interval
            assert row["n pairs"] == row["noisy runs"] == str(len(c)) == "3"
            assert (row["clean mean %"], row["noisy mean %"]) == (f"{c.mean() * 100:.2f}", f"{n.mean() * 100:.2f}")
            assert row["drop pp [CI]"] == f"{(c - n).mean() * 100:+.2f} [{ci.low * 100:+.2f}, {ci.high * 100:+.2f}]"
            assert row["p t-test"] == format_p(stats.ttest_rel(c, n).pvalue)
            assert row["p sign-flip"] == format_p(p_sf[t]) and row["p Holm"] == format_p(holm[t])
            assert row["mean realised noise"] == f"{np.mean(RATE[t]):.1%}"
    assert "averaged first, so each clean run is one pair" in body
    assert "- sst2, N=100, temperature T=0.9, ce: 4 noisy run(s) without a clean partner" in body


def test_target_rates_are_labelled_kept_apart_and_not_matched_to_the_paper(tmp_path):
    table = make_table()
    target = table[table["noise_level"] == 0.9].assign(noise_param="target_rate", noise_level=0.3,
                                                       run_id=lambda f: f["run_id"] + "r")
    table = pd.concat([table, target], ignore_index=True)
    text = write_report(table, None, tmp_path / "r", tmp_path / "report.md").read_text(encoding="utf-8")
    assert "levels: temperature ρ: 0.3; temperature T: 0.3, 0.5, 0.9" in section(text, "Set-up")
    stats_rows = parse_tables(section(text, "Paired statistics per cell"))[0]
    t03, rho03 = find_row(stats_rows, noise="temperature T=0.3"), find_row(stats_rows, noise="temperature ρ=0.3")
    assert (t03["n pairs"], rho03["n pairs"]) == ("5", "7")
    assert rho03["baseline mean %"] == f"{np.mean(CE[0.9]) * 100:.2f}"
    # one Holm family: the three temperature levels and the target rate, all cells of temperature noise
    p_signflip = [signflip_exact(DIFF[t]) for t in (0.3, 0.5, 0.9)] + [signflip_exact(DIFF[0.9])]
    assert rho03["p Holm"] == format_p(multipletests(p_signflip, method="holm")[1][3])
    cost_rows = parse_tables(section(text, "What noise costs"))[0]
    assert find_row(cost_rows, noise="temperature ρ=0.3", method="ce")["noisy mean %"] == f"{np.mean(CE[0.9][:3]) * 100:.2f}"
    paper = section(text, "Comparison with the paper")
    assert "temperature ρ=0.3, ce-scl(λ=0.9, τ=0.3): **not comparable** — the level is a target noise rate" in paper
    assert find_row(parse_tables(paper)[0], noise="temperature T=0.3")["paper table"] == "Table 3 (noisy)"


def test_report_without_clean_runs_or_new_columns(tmp_path):
    table = make_table(clean_seeds=0).drop(columns=["noise_param"])
    text = write_report(table, None, tmp_path / "r", tmp_path / "report.md").read_text(encoding="utf-8")
    assert "Not measured: the results have no clean runs" in section(text, "What noise costs")
    find_row(parse_tables(section(text, "Paired statistics per cell"))[0], noise="temperature T=0.9")
    legacy = make_table().drop(columns=["noise_param"])
    text = write_report(legacy, None, tmp_path / "r", tmp_path / "legacy.md").read_text(encoding="utf-8")
    assert find_row(parse_tables(section(text, "What noise costs"))[0], noise="temperature T=0.5", method="ce")["n pairs"] == "3"


def test_settings_that_differ_in_weak_fit_get_a_setting_column(tmp_path):
    table = make_table()
    held = table[table["noise_level"] == 0.9].assign(weak_fit="held-out", run_id=lambda f: f["run_id"] + "h")
    table = pd.concat([table.assign(weak_fit=np.where(table["noise_family"] == "none", None, "in-sample")), held],
                      ignore_index=True)
    text = write_report(table, None, tmp_path / "r", tmp_path / "report.md").read_text(encoding="utf-8")
    assert "- weak-model fit: held-out, in-sample" in section(text, "Set-up")
    for title in ("What noise costs", "Paired statistics per cell", "Seed summary"):
        rows = parse_tables(section(text, title))[0]
        assert {r["setting"] for r in rows if r["noise"] == "temperature T=0.9"} == {"weak fit in-sample",
                                                                                   "weak fit held-out"}, title


def test_every_method_against_ce_summary_and_per_cell_tables(tmp_path):
    table = make_benchmark_table()
    text = write_report(table, None, tmp_path / "r", tmp_path / "report.md").read_text(encoding="utf-8")
    body = section(text, "Every method against ce")
    assert body.index("### Method-level summary") < body.index("### Paired statistics per cell")
    summary_rows, cell_rows = parse_tables(body)
    assert list(summary_rows[0]) == ["N", "treatment", "cells", "pairs", "pairs per cell", "baseline mean %",
                                     "treatment mean %", "mean Δ pp [95% CI]", "P(improvement over ce) [95% CI]"]
    for method, params in BENCHMARK_METHODS[1:]:
        row = find_row(summary_rows, treatment=prepare.method_label(method, params))
        cells = benchmark_cells(table, method)
        assert (row["cells"], row["pairs"], row["pairs per cell"]) == ("5", "50", "10")
        assert row["mean Δ pp [95% CI]"].startswith(f"{np.mean([np.mean(t - b) for t, b in cells]) * 100:+.2f} [")
        p = np.mean([brute_force_improvement(t, b) for t, b in cells])
        assert re.fullmatch(rf"{p:.2f} \[\d\.\d\d, \d\.\d\d\]", row["P(improvement over ce) [95% CI]"])
    assert len(cell_rows) == 5 * (len(BENCHMARK_METHODS) - 1)
    assert "tasks: rt-polarity, vader-movie; noise: annotator, temperature, uniform" in body


def test_the_tsne_caption_names_the_pooling_that_made_the_embeddings(tmp_path):
    from noisebench.analysis.report.sections import _figures_section
    from noisebench.analysis.report.writers import to_markdown

    figures = tmp_path / "figs"
    lines = to_markdown(_figures_section([figures / "tsne_rt-polarity.png"], tmp_path, figures, ["mean"]), tmp_path)
    assert "t-SNE of test sentence embeddings (mean pooling: the masked mean of the last layer's token states)" in lines
    assert "[CLS]" not in lines
    assert "[CLS] pooling" in to_markdown(_figures_section([figures / "tsne_a.png"], tmp_path, figures, ["cls"]), tmp_path)

"""A grid over real noise that ships with a dataset: CE and CE+SCL under observed noise, its same-T control,
temperature and uniform noise at one matched rate (with a clean anchor), end to end through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from noisebench.store.table import expand_selections
from tests.conftest import run_cli
from tests.declared_files import write_observed_csv

GRID = """\
name: observed-tiny
task_files: [tasks.yaml]
tasks: [crowd]
model: {model}
n_train: [48]
noise:
  - {{family: observed, target_rates: [0.1], include_clean: true}}
  - {{family: observed-same-t, target_rates: [0.1]}}
  - {{family: temperature, target_rates: [0.1]}}
  - {{family: uniform, target_rates: [0.1]}}
methods: [ce, {{name: ce-scl, lam: [0.9], tau: [0.3]}}]
seeds: {{data: [0], noise: [0], train: [0]}}
training: {{epochs: 2, batch_size: 16, lr: 1.0e-3, max_length: 16}}
evaluation: {{dev_limit: 30, test_limit: 30, test_every_epoch: true}}
"""


def test_observed_noise_its_control_and_synthetic_families_run_side_by_side(tiny_model_dir, tmp_path: Path) -> None:
    write_observed_csv(tmp_path / "data" / "crowd.csv", per_class=120)
    grid = tmp_path / "data" / "grid.yaml"
    grid.write_text(GRID.format(model=tiny_model_dir))
    results = tmp_path / "results"
    home = tmp_path / "home"
    trained = run_cli("train", "--grid", grid, "--results", results, "--jobs", 2, home=home, offline=True)
    assert trained.returncode == 0, trained.stderr[-3000:]

    table = expand_selections(pd.read_parquet(results / "results.parquet"))  # each run scored by every rule, as report and plot read it
    noisy = table[table["noise_family"] != "none"]
    assert sorted(set(noisy["noise_family"])) == ["observed", "observed-same-t", "temperature", "uniform"]
    assert len(table) == (1 + 4) * 2 * 3  # (clean + 4 families) x 2 methods, each scored by the 3 selection rules
    # every family at the matched rate: expected exactly, realised within 4 binomial sd on the pool
    for path in (results / "noise" / "crowd").glob("*/*/noise.json"):
        meta = json.loads(path.read_text())
        assert abs(meta["expected_noise_rate"] - 0.1) < 1e-9, path
        assert abs(meta["realized_noise_rate"] - 0.1) < 4 * (0.1 * 0.9 / meta["n_examples"]) ** 0.5, path
        assert ("source" in meta) == meta["family"].startswith("observed")  # observed and its control record the crowd's own noise
    # best_noisy_dev selects on the dev split's own crowd labels under observed noise: its noise rate is recorded
    observed_noisy_dev = table[(table["noise_family"] == "observed") & (table["selection"] == "best_noisy_dev")]
    assert len(observed_noisy_dev) == 2 and observed_noisy_dev["dev_noise_rate"].between(0.0, 0.3).all()

    # the figure puts the families side by side at the matched rate (the report's section: tests/analysis/test_same_rate.py)
    figures = tmp_path / "figures"
    plotted = run_cli("plot", "--results", results, "--out", figures, home=home, offline=True)
    assert plotted.returncode == 0, plotted.stderr[-3000:]
    assert (figures / "same_rate_families.png").stat().st_size > 10_000

"""A hand-made results table of the observed grid: clean + four noise families at one target rate, CE vs CE+SCL.

Like ``experiments/observed.yaml``: one task, the clean anchor and the families ``observed``,
``observed-same-t`` (its control), ``temperature`` and ``uniform`` at target rate 0.06, seeds zipped
(data = noise = train seed). Each run's accuracy is a per-seed base plus a family effect, a method
effect and a seeded jitter, rounded to 1/1000, so tests compute their references from the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import noisebench.noise.families  # noqa: F401  (registers observed and observed-same-t)

MODEL = "all-minilm-l6-v2"
NAN = float("nan")
CE, SCL = "ce", "ce-scl"
REAL, CONTROL = "observed", "observed-same-t"
FAMILIES = (REAL, CONTROL, "temperature", "uniform")
RATE = 0.06
#: Points each family costs on average (the real noise hurts less than its control here).
EFFECT = {"none": 0.0, REAL: -0.010, CONTROL: -0.028, "temperature": -0.040, "uniform": -0.020}
METHOD_EFFECT = {CE: 0.0, SCL: 0.012}


def family_table(*, seeds: int = 8, families: tuple[str, ...] = FAMILIES, clean: bool = True, task: str = "vader-one-rater",
                 rate: float = RATE, start: int = 0, jitter: float = 0.006) -> pd.DataFrame:
    """One row per run: clean (when ``clean``) and every family of ``families`` at target rate ``rate``."""
    rng = np.random.default_rng(5)
    base = 0.80 + rng.normal(0, 0.02, seeds)
    rows = []
    for family in (("none",) if clean else ()) + tuple(families):
        noisy = family != "none"
        for s in range(seeds):
            for method in (CE, SCL):
                acc = base[s] + EFFECT[family] + METHOD_EFFECT[method] + rng.normal(0, jitter)
                rows.append({
                    "run_id": f"fam{start + len(rows):04d}", "task": task, "model": MODEL, "n_train": 100,
                    "noise_family": family, "noise_param": "target_rate" if noisy else None,
                    "noise_level": rate if noisy else NAN, "weak_fit": "in-sample" if family == "temperature" else None,
                    "pooling": "mean", "method": method, "lam": 0.9 if method == SCL else NAN,
                    "tau": 0.3 if method == SCL else NAN, "data_seed": s, "noise_seed": s if noisy else NAN,
                    "train_seed": s, "epochs": 5, "batch_size": 16, "lr": 3e-4, "test_accuracy": round(float(acc), 3),
                    "dev_accuracy": round(float(acc) - 0.005, 3), "best_epoch": 3,
                    "realized_noise_rate": rate + rng.normal(0, 0.004) if noisy else 0.0, "wall_time_s": 10.0,
                })
    return pd.DataFrame(rows)

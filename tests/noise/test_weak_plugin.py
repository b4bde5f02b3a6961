"""A weak labeller defined here only, as a user's plugin, used by generate through the registry.

This module is both the test and the plugin: the CLI subprocess imports it through
``NOISEBENCH_PLUGINS=tests.noise.test_weak_plugin``, and importing it registers the toy labeller.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from noisebench.noise.weak import WeakLabeller, WeakOption, WeakScorer, register_labeller, resolve_weak
from noisebench.schema import RunConfig
from tests.conftest import write_sst2

REPO = Path(__file__).resolve().parents[2]


class LengthScorer(WeakScorer):
    def __init__(self, cut: int) -> None:
        self.cut = cut

    def log_probs(self, frame: pd.DataFrame) -> np.ndarray:
        long = (frame["text"].str.len() > self.cut).to_numpy()
        return np.log(np.where(long[:, None], [0.3, 0.7], [0.7, 0.3]))


class LongIsPositive(WeakLabeller):
    """Toy: a text longer than ``cut`` characters is probably class 1."""

    name: ClassVar[str] = "long-is-positive"
    description: ClassVar[str] = "toy plugin labeller"
    options: ClassVar[tuple[WeakOption, ...]] = (WeakOption("cut", "characters", kind="int", default="30"),)

    def fit(self, train: pd.DataFrame, *, label_names: tuple[str, ...], seed: int, options: Mapping[str, str]) -> LengthScorer:
        return LengthScorer(int(options["cut"]))


register_labeller(LongIsPositive())


def test_a_plugin_labeller_resolves_and_configures_runs() -> None:
    assert resolve_weak("long-is-positive", {}, model="m") == ("long-is-positive", {"cut": "30"})
    assert RunConfig(noise_family="temperature", noise_level=0.5, noise_seed=0, weak_model="long-is-positive").weak_options == {"cut": "30"}


def test_generate_uses_a_plugin_labeller_through_the_registry(tmp_path) -> None:
    glue = write_sst2(tmp_path / "glue", n_train=120, n_dev=60)
    env = {**os.environ, "NOISEBENCH_HOME": str(tmp_path / "home"), "TQDM_DISABLE": "1", "NOISEBENCH_PLUGINS": "tests.noise.test_weak_plugin"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    command = ["generate", "--task", "sst2", "--data-dir", glue, "--temperature", "1.0", "--weak-model", "long-is-positive",
               "--weak-option", "cut=25", "--out", tmp_path / "noise"]
    result = subprocess.run([sys.executable, "-m", "noisebench", *map(str, command)], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    (artifact,) = (tmp_path / "noise").iterdir()
    weak = json.loads((artifact / "noise.json").read_text())["weak_model"]
    assert (weak["kind"], weak["options"], weak["fitted"]) == ("long-is-positive", {"cut": "25"}, True)

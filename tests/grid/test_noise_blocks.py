"""Grids with several noise blocks: per-task settings, their union, and errors for overlaps."""

from __future__ import annotations

import textwrap
from collections import Counter
from pathlib import Path

import pytest

from noisebench.errors import ConfigError
from noisebench.grid.spec import expand, load_grid

GRID = textwrap.dedent(
    """\
    name: blocks
    tasks: [rt-polarity, vader-movie]
    model: all-minilm-l6-v2
    n_train: [20]
    noise:
      - {family: temperature, weak_fit: in-sample, target_rates: [0.2], tasks: [rt-polarity], include_clean: true}
      - {family: uniform, target_rates: [0.2]}
      - {family: annotator, levels: [1, 3], tasks: [vader-movie]}
    methods: [ce]
    seeds: {data: [0, 1], noise: [0, 1], train: [0, 1]}
    """
)


def load(tmp_path: Path, text: str):
    path = tmp_path / "grid.yaml"
    path.write_text(text, encoding="utf-8")
    return load_grid(path)


def error(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, text)
    return str(info.value)


def test_each_task_gets_the_blocks_that_name_it(tmp_path):
    runs = expand(load(tmp_path, GRID))
    settings = Counter((r.task, r.noise_family, r.noise_param, r.noise_level) for r in runs)
    assert settings == {
        ("rt-polarity", "none", None, None): 2,
        ("rt-polarity", "temperature", "target_rate", 0.2): 2,
        ("rt-polarity", "uniform", "target_rate", 0.2): 2,
        ("vader-movie", "uniform", "target_rate", 0.2): 2,
        ("vader-movie", "annotator", "raters", 1.0): 2,
        ("vader-movie", "annotator", "raters", 3.0): 2,
    }
    clean = [r for r in runs if r.noise_family == "none"]
    assert all(r.noise_seed is None for r in clean)
    assert {r.weak_fit for r in runs if r.noise_family == "temperature"} == {"in-sample"}


def test_one_mapping_is_one_block(tmp_path):
    text = GRID.split("noise:\n")[0] + "noise:\n  family: uniform\n  levels: [0.1]\nmethods: [ce]\nseeds: {data: [0], noise: [0], train: [0]}\n"
    grid = load(tmp_path, text)
    assert len(grid.noise) == 1 and grid.noise[0].levels == [0.1]
    assert {r.task for r in expand(grid)} == {"rt-polarity", "vader-movie"}


def test_a_setting_from_two_blocks_is_an_error_with_its_line(tmp_path):
    text = GRID.replace("  - {family: annotator, levels: [1, 3], tasks: [vader-movie]}\n",
                        "  - {family: annotator, levels: [1, 3], tasks: [vader-movie]}\n  - {family: uniform, target_rates: [0.2], tasks: [vader-movie]}\n")
    message = error(tmp_path, text)
    assert "line 9: noise[3]" in message and "uniform target_rate 0.2 for task vader-movie already come from noise[1]" in message


def test_a_block_task_outside_the_grid_is_an_error(tmp_path):
    message = error(tmp_path, GRID.replace("tasks: [vader-movie]}", "tasks: [sst2]}"))
    assert "line 8: noise[2].tasks[0]: task sst2 is not one of the grid's tasks (rt-polarity, vader-movie)" in message


def test_errors_inside_a_list_block_name_its_index(tmp_path):
    message = error(tmp_path, GRID.replace("levels: [1, 3]", "levels: [1, 0]"))
    assert "line 8: noise[2].levels[1]" in message
    message = error(tmp_path, GRID.replace("{family: uniform, target_rates: [0.2]}", "{family: uniform, target_rate: [0.2]}"))
    assert "line 7: noise[1]" in message and "did you mean 'target_rates'" in message


def test_clean_twice_for_one_task_is_an_error(tmp_path):
    message = error(tmp_path, GRID.replace("{family: uniform, target_rates: [0.2]}", "{family: uniform, target_rates: [0.2], include_clean: true}"))
    assert "clean runs for task rt-polarity already come from noise[0]" in message

"""Every figure the results support (:func:`plot_all`): which figures, their file names, what is skipped and why."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from noisebench.analysis import prepare
from noisebench.analysis.figures.accuracy import accuracy_figure, difference_figure, method_summary_figure
from noisebench.analysis.figures.noise import noise_rate_figure, transition_figure
from noisebench.analysis.figures.robustness import robustness_figure
from noisebench.analysis.figures.same_rate import same_rate_figure
from noisebench.analysis.figures.style import (
    _fmt_n,
    _panel_title,
    _slug,
    save_figure,
)
from noisebench.analysis.figures.training import memorisation_figure, tsne_figure
from noisebench.analysis.figures.transfer import transfer_figure, transfer_tasks
from noisebench.analysis.keys import (
    SEED_KEYS,
    SETTING_KEYS,
    with_setting_keys,
)
from noisebench.analysis.stats import same_rate_levels
from noisebench.analysis.values import is_missing
from noisebench.methods import BASELINE
from noisebench.noise.families import is_clean
from noisebench.store.layout import run_dir
from noisebench.store.read import has_embeddings, has_metrics

log = logging.getLogger(__name__)


def _highest_levels(table: pd.DataFrame) -> list[tuple[str, str, float]]:
    """(family, noise_param, highest level) for every noisy family and level parameter in the table."""
    table = with_setting_keys(table)
    noisy = table[~table["noise_family"].map(is_clean) & pd.to_numeric(table["noise_level"], errors="coerce").notna()]
    return [(f, p, float(g["noise_level"].max())) for (f, p), g in noisy.groupby(["noise_family", "noise_param"], sort=True)]


def _level_slugs(levels: Sequence[tuple[str, str, float]]) -> dict[tuple[str, str, float], str]:
    """File-name part per (family, noise_param, level): :func:`~noisebench.analysis.prepare.level_slug`, plus
    ``_<family>`` where families share it (target rates, or uniform and pair at one rate), so no figure overwrites another."""
    plain = {key: prepare.level_slug(*key) for key in levels}
    counts = pd.Series(list(plain.values()), dtype=object).value_counts()
    return {key: slug if counts[slug] == 1 else f"{slug}_{key[0]}" for key, slug in plain.items()}


def _transition_runs(table: pd.DataFrame, results_dir: Path) -> list[tuple[str, Path]]:
    """(figure stem, run dir) per task, family and level parameter: the first run with metrics.json at the highest level."""
    out = []
    table = with_setting_keys(table)
    slugs = _level_slugs(_highest_levels(table))
    for (family, param, level), slug in slugs.items():
        at = table[(table["noise_family"] == family) & (table["noise_param"] == param)
                   & np.isclose(table["noise_level"].astype(float), level)]
        for task, group in at.groupby("task", sort=True):
            group = group.sort_values(["n_train", "run_id"])
            for run_id, n_train in zip(group["run_id"], group["n_train"]):
                if has_metrics(run_dir(results_dir, run_id)):
                    stem = _slug("transition", task, f"N{_fmt_n(n_train)}", slug)
                    out.append((stem, run_dir(results_dir, run_id)))
                    break
    return out


def _tsne_pick(table: pd.DataFrame, results_dir: Path) -> tuple[dict[str, Path], str, str] | None:
    """A baseline run and one treatment run (same setting and seeds) with embeddings; noisiest first."""
    rows = table[[has_embeddings(run_dir(results_dir, r)) for r in table["run_id"]]]
    if rows.empty:
        return None
    rows = prepare.with_labels(with_setting_keys(rows)).sort_values(["method", "run_id"], key=lambda s: s.astype(str))
    keys = [*SETTING_KEYS, *SEED_KEYS]
    best = None
    for key, group in prepare.groups(rows, keys):
        picks = {lab: run_dir(results_dir, g["run_id"].iloc[0]) for lab, g in group.groupby("method_label", sort=False)}
        picks = dict(sorted(picks.items(), key=lambda kv: kv[0] != prepare.method_label(BASELINE, {}))[:2])
        level, family, param = key["noise_level"], key["noise_family"], key["noise_param"]
        rank = (len(picks), not is_clean(family), -1.0 if is_missing(level) else float(level))
        noise = "clean" if is_clean(family) else prepare.level_slug(family, param, level)
        seeds = ", ".join(f"{k.split('_')[0]} {_fmt_n(key[k]) if not is_missing(key[k]) else '—'}" for k in SEED_KEYS)
        title = f"{_panel_title(key)} · {prepare.noise_label(family, param, level)}  (seeds: {seeds})"
        if best is None or rank > best[0]:
            best = (rank, picks, _slug("tsne", key["task"], f"N{_fmt_n(key['n_train'])}", noise), title.replace("\n", " "))
    return best[1:] if best else None


def _figure_jobs(table: pd.DataFrame, history: pd.DataFrame, results_dir: Path) -> list[tuple[str, Callable[[], Figure]]]:
    """(figure stem, figure factory) of every figure the table can support; skips are logged (INFO)."""
    jobs: list[tuple[str, Callable[[], Figure]]] = [("accuracy_vs_noise", lambda: accuracy_figure(table))]
    draws = prepare.noise_draws(table)
    if not draws.empty:
        jobs.append(("accuracy_vs_realised_noise", lambda: accuracy_figure(table, x="realised")))
    if table["method"].nunique() > 1:
        jobs.append(("difference_vs_noise", lambda: difference_figure(table)))
        jobs.append(("method_summary", lambda: method_summary_figure(table)))
        jobs += _robustness_jobs(table)
    else:
        log.info("plot_all: skipped difference_vs_noise and method_summary: only method(s) %s",
                 ", ".join(map(str, table["method"].unique())))
    if not same_rate_levels(table).empty:  # no log otherwise: a grid with one family per rate never asks for it
        jobs.append(("same_rate_families", lambda: same_rate_figure(table)))
    if draws.empty:
        log.info("plot_all: skipped realised-noise accuracy, noise rates, transition matrices and memorisation: "
                 "no noisy runs with a realised noise rate")
        levels: list[tuple[str, str, float]] = []
    else:
        jobs += [(_noise_rate_stem(f, p), lambda d=d: noise_rate_figure(d))
                 for (f, p), d in draws.groupby(["noise_family", "noise_param"], sort=True)]
        levels = _highest_levels(table)
        transitions = _transition_runs(table, results_dir)
        jobs += [(stem, lambda d=folder: transition_figure(d)) for stem, folder in transitions]
        if not transitions:
            log.info("plot_all: skipped transition matrices: no metrics.json under %s/runs", results_dir)
    if history.empty or history.get("train_acc_corrupted_noisy", pd.Series(dtype=float)).isna().all():
        log.info("plot_all: skipped memorisation: no per-epoch history")
    else:
        jobs += [(_slug("memorisation", slug),
                  lambda f=f, p=p, lv=lv: memorisation_figure(table, history, noise_family=f, noise_level=lv, noise_param=p))
                 for (f, p, lv), slug in _level_slugs(levels).items()]
    jobs += [(_slug("transfer", task), lambda task=task: transfer_figure(table, results_dir, task))
             for task in transfer_tasks(table)]
    picked = _tsne_pick(table, results_dir)
    if picked is None:
        log.info("plot_all: skipped t-SNE: no embeddings.npz under %s/runs", results_dir)
    else:
        names = prepare.class_names(next(iter(picked[0].values())))
        jobs.append((picked[1], lambda: tsne_figure(picked[0], title=picked[2], label_names=names)))
    return jobs


def _robustness_jobs(table: pd.DataFrame) -> list[tuple[str, Callable[[], Figure]]]:
    """The robustness figure when the table has clean and noisy runs (it needs both); else logged and none."""
    clean = table["noise_family"].map(is_clean)
    if clean.all() or not clean.any():
        log.info("plot_all: skipped robustness_vs_noise: it needs clean and noisy runs")
        return []
    return [("robustness_vs_noise", lambda: robustness_figure(table))]


def _noise_rate_stem(family: str, noise_param: str) -> str:
    """``noise_rate_vs_<parameter>``; target rates name their family (two families may share the target axis)."""
    if prepare.level_parameter_is_target(noise_param):
        return _slug("noise_rate_vs", noise_param, family)
    return f"noise_rate_vs_{noise_param}"


def plot_all(table: pd.DataFrame, history: pd.DataFrame | None, results_dir: Path | str, out_dir: Path | str) -> list[Path]:
    """Every figure the results support, into ``out_dir``; returns the written paths.

    Files (``.png`` and ``.pdf`` each): ``accuracy_vs_noise`` (levels at their values),
    ``accuracy_vs_realised_noise`` (levels at their mean realised noise rate; when the table has
    noisy runs with a realised rate), ``difference_vs_noise``, ``method_summary`` (every method
    against the baseline over all cells, :func:`method_summary_figure`), ``robustness_vs_noise`` (Δ vs level
    against the clean Δ, :func:`robustness_figure`; when the table has clean and noisy runs), ``same_rate_families``
    (each method's accuracy under every noise family at one target rate, :func:`same_rate_figure`; when at least
    two families ran at one target-rate level of a task), ``noise_rate_vs_<parameter>`` per
    family (``noise_rate_vs_target_rate_<family>`` for target rates),
    ``transition_<task>_N<N>_<level>`` (one run's N labels at each family's and level parameter's
    highest level), ``memorisation_<level>`` (``<level>_<family>`` in both where families share the
    level's name, e.g. target rates), ``tsne_<task>_N<N>_<level|clean>`` and ``transfer_<task>`` for
    every task with runs that start from another run (``init_from``,
    :func:`~noisebench.analysis.figures.transfer.transfer_figure`).
    A figure the table cannot support is skipped with a logged reason.

    Raises
    ------
    ValueError
        When the table is empty (``"no finished runs in <results_dir>"``).
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    if table is None or len(table) == 0:
        raise ValueError(f"no finished runs in {results_dir}")
    history = history if history is not None else pd.DataFrame(columns=["run_id", "epoch"])
    written: list[Path] = []
    for stem, make in _figure_jobs(table, history, results_dir):
        before = set(plt.get_fignums())
        try:
            written += save_figure(make(), out_dir / stem)
        except (ValueError, FileNotFoundError, KeyError) as exc:
            for number in set(plt.get_fignums()) - before:  # a figure half made before the error
                plt.close(number)
            log.warning("plot_all: skipped %s: %s", stem, exc)
    return written

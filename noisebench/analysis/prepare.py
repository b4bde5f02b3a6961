"""Data preparation for figures and the report: tidy per-cell frames computed from the results table.

Every function here returns a DataFrame (numbers only, no drawing), so what a figure shows can be
tested without pixels. Accuracies and noise rates stay fractions; the drawing code scales them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as sps

from noisebench.analysis.keys import LEVEL_KEYS, NOISE_SETUP_KEYS, PANEL_KEYS, SETTING_KEYS, TRAINING_KEYS, with_setting_keys
from noisebench.analysis.stats import compare_methods, noise_cost
from noisebench.analysis.summary import method_summary
from noisebench.analysis.values import is_missing
from noisebench.errors import ConfigError
from noisebench.methods import BASELINE, get_method, hyper_parameter_names
from noisebench.noise import families
from noisebench.noise.families import TARGET_RATE, get_family, is_clean
from noisebench.parameters import Parameter
from noisebench.store.read import (
    has_config,
    has_metrics,
    is_noise_artifact,
    read_config,
    read_embeddings,
    read_metrics,
    read_noise_json,
)
from noisebench.store.rows import options_key

NOISE_KEYS: tuple[str, ...] = LEVEL_KEYS + NOISE_SETUP_KEYS
"""What decides a noise draw's labels apart from the seeds (and the task and N)."""
MEMORISATION_COLUMNS: tuple[str, ...] = ("train_acc_clean", "train_acc_corrupted_noisy")


def method_label(method: str, params: Mapping[str, Any]) -> str:
    """``get_method(method).label`` of the hyper-parameters that are set; an unknown method's bare name."""
    try:
        spec = get_method(method)
    except ConfigError:
        return str(method)
    values = {p.name: float(params[p.name]) for p in spec.hyper_parameters if not is_missing(params.get(p.name))}
    return spec.label(values)


def noise_setup_text(row: Mapping[str, Any]) -> str:
    """A run's noise set-up (weak fit, weak model, its options, ...: the set keys of NOISE_SETUP_KEYS), comma-joined."""
    return ", ".join(str(row[k]) for k in NOISE_SETUP_KEYS if not is_missing(row.get(k)))


def noise_label(family: Any, noise_param: Any, level: Any) -> str:
    """The registry's :func:`~noisebench.noise.families.noise_label`: ``clean``, ``temperature T=0.9``,
    ``temperature ρ=0.2``; a family this process does not know as ``<family> <noise_param>=<level>``.
    """
    try:
        return families.noise_label(family, noise_param, level)
    except ConfigError:
        return f"{family} {noise_param}={float(level):g}"


def _level_parameter(family: Any, noise_param: Any) -> Parameter | None:
    """The registry's parameter of a level, or None for a family this process does not know."""
    param = None if is_missing(noise_param) else str(noise_param)
    try:
        return families.level_parameter(str(family), param)
    except ConfigError:
        return None


def level_axis_label(family: Any, noise_param: Any) -> str:
    """What a noise axis measures: the level's parameter label (``temperature T``, ``target noise rate``)."""
    parameter = _level_parameter(family, noise_param)
    return parameter.label if parameter else str(noise_param if not is_missing(noise_param) else family)


def level_symbol(family: Any, noise_param: Any) -> str:
    """The level parameter's symbol (``T``, ``ρ``) for tick labels."""
    parameter = _level_parameter(family, noise_param)
    return parameter.symbol if parameter else str(noise_param if not is_missing(noise_param) else "level")


def level_slug(family: Any, noise_param: Any, level: float) -> str:
    """A file-name part for one level: the family's folder name (``T0.9``) or ``target_rate0.2``."""
    if level_parameter_is_target(noise_param):
        return f"{TARGET_RATE.name}{float(level):g}"
    return get_family(str(family)).folder_name(float(level))


def level_parameter_is_target(noise_param: Any) -> bool:
    """Whether a level is a target noise rate rather than the family's own parameter."""
    return not is_missing(noise_param) and str(noise_param) == TARGET_RATE.name


def with_labels(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` plus a ``method_label`` column (one label per method and hyper-parameter values)."""
    hps = [c for c in hyper_parameter_names() if c in table.columns]
    labels = [method_label(r["method"], r) for r in table[["method", *hps]].to_dict("records")]
    return table.assign(method_label=labels)


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t interval; the interval is NaN for fewer than 2 values."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(np.mean(x))
    if x.size < 2:
        return (mean, math.nan, math.nan)
    half = float(sps.t.ppf(0.5 + confidence / 2, x.size - 1) * np.std(x, ddof=1) / math.sqrt(x.size))
    return (mean, mean - half, mean + half)


def groups(frame: pd.DataFrame, keys: Sequence[str]) -> Iterable[tuple[dict[str, Any], pd.DataFrame]]:
    """``(key dict, rows)`` per group, NaN keys kept, in sorted order."""
    if frame.empty:
        return []
    grouped = frame.groupby(list(keys), dropna=False, sort=True)
    return ((dict(zip(keys, k if isinstance(k, tuple) else (k,))), g) for k, g in grouped)


def cell_summary(table: pd.DataFrame, *, metric: str = "test_accuracy", confidence: float = 0.95) -> pd.DataFrame:
    """One row per (setting, method label): ``n``, ``mean``, ``sd``, t-interval ``ci_low``/``ci_high``, ``values``.

    The setting is :data:`SETTING_KEYS` (task, model, n_train, noise family, noise_param, level,
    weak_fit, n_relabel, pooling; missing columns of a legacy table count as NaN); ``noise_level``
    is NaN for clean runs. ``values`` holds the runs' metric (for drawing single runs); ``sd`` (ddof=1) and
    the interval are NaN for a single run. Runs without the metric are left out.
    """
    rows = with_labels(with_setting_keys(table[pd.to_numeric(table[metric], errors="coerce").notna()]))
    out = []
    for key, group in groups(rows, SETTING_KEYS + ("method", "method_label")):
        values = group[metric].to_numpy(dtype=float)
        mean, low, high = t_interval(values, confidence)
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan
        out.append({**key, "n": len(values), "mean": mean, "sd": sd, "ci_low": low, "ci_high": high,
                    "values": tuple(values)})
    columns = [*SETTING_KEYS, "method", "method_label", "n", "mean", "sd", "ci_low", "ci_high", "values"]
    return pd.DataFrame(out, columns=columns)


_RATE_KEYS = ["task", "n_train", *NOISE_KEYS]
_DRAW_COLUMNS = [*_RATE_KEYS, "rate"]


def noise_draws(table: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct noise draw of the noisy runs: task, n_train, :data:`NOISE_KEYS`, rate.

    Runs that share (task, n_train, noise keys, data_seed, noise_seed) share their noisy labels,
    so they are one draw; ``rate`` is the realised noise rate of its N training labels.
    """
    if "realized_noise_rate" not in table.columns:
        return pd.DataFrame(columns=_DRAW_COLUMNS)
    table = with_setting_keys(table)
    noisy = table[~table["noise_family"].map(is_clean)].assign(
        noise_level=lambda f: pd.to_numeric(f["noise_level"], errors="coerce"),
        rate=lambda f: pd.to_numeric(f["realized_noise_rate"], errors="coerce"))
    noisy = noisy[noisy["noise_level"].notna() & noisy["rate"].notna()]
    draw = [c for c in (*_RATE_KEYS, "data_seed", "noise_seed") if c in noisy]
    return noisy.drop_duplicates(subset=draw).reindex(columns=_DRAW_COLUMNS).reset_index(drop=True)


def artifact_noise_draws(paths: Iterable[Path | str]) -> pd.DataFrame:
    """One row per noise artifact (rate over its whole relabelled pool; ``n_train`` NaN)."""
    rows = []
    for path in paths:
        meta = read_noise_json(Path(path))
        rows.append({"task": meta.get("task", "?"), "n_train": math.nan, **_artifact_level(meta),
                     "rate": float(meta["realized_noise_rate"])})
    return pd.DataFrame(rows, columns=_DRAW_COLUMNS)


def _artifact_level(meta: Mapping[str, Any]) -> dict[str, Any]:
    """noise.json -> the noise keys of the runs it stands for (a target rate when it records one)."""
    family = meta.get("family")
    if is_clean(family):
        return dict.fromkeys(NOISE_KEYS, None) | {"noise_family": family, "noise_level": math.nan}
    relabel = meta.get("n_relabel")
    weak = meta.get("weak_model") or {}
    setup = {"weak_fit": weak.get("fit"), "weak_model": weak.get("kind"), "weak_options": options_key(weak.get("options")),
             "n_relabel": None if relabel in (None, "all") else relabel}
    if meta.get("target_rate") is not None:
        return {"noise_family": family, "noise_param": TARGET_RATE.name, "noise_level": float(meta["target_rate"]),
                **setup}
    name = get_family(family).parameter.name
    return {"noise_family": family, "noise_param": name, "noise_level": float(meta["params"][name]), **setup}


def noise_rates(draws: pd.DataFrame) -> pd.DataFrame:
    """Realised noise rate per (task, n_train, :data:`NOISE_KEYS`): ``mean``, ``min``, ``max``, ``n_draws``."""
    keys = [*_RATE_KEYS]
    if draws.empty:
        return pd.DataFrame(columns=[*keys, "mean", "min", "max", "n_draws"])
    agg = draws.groupby(keys, dropna=False, sort=True)["rate"].agg(["mean", "min", "max", "size"])
    return agg.rename(columns={"size": "n_draws"}).reset_index()


def paired_differences(table: pd.DataFrame, *, baseline: str = BASELINE, **kwargs: Any) -> pd.DataFrame:
    """:func:`~noisebench.analysis.stats.compare_methods` plus ``baseline_label`` and ``treatment_label``.

    One row per cell: the paired difference treatment − baseline per noise level with its bootstrap
    interval and the Holm-adjusted p over every (treatment × level) cell of one noise family (see
    ``compare_methods``).
    """
    scored = table[pd.to_numeric(table[kwargs.get("metric", "test_accuracy")], errors="coerce").notna()]
    out = compare_methods(scored, baseline=baseline, **kwargs)
    labels = [method_label(r["treatment_method"], r) if not is_missing(r["treatment_method"]) else "n/a"
              for r in out.to_dict("records")]
    return out.assign(baseline_label=method_label(baseline, {}), treatment_label=labels)


def method_summaries(table: pd.DataFrame, *, baseline: str = BASELINE, **kwargs: Any) -> pd.DataFrame:
    """:func:`~noisebench.analysis.summary.method_summary` plus ``baseline_label`` and ``treatment_label``.

    One row per (model, n_train, pooling) and treatment variant: the mean paired difference over the
    cells and the probability of improvement over the baseline, each with its stratified bootstrap
    interval. Pools the noisy cells, or the clean ones when the table has no noisy run (unless
    ``include_clean`` is given).
    """
    scored = table[pd.to_numeric(table[kwargs.get("metric", "test_accuracy")], errors="coerce").notna()]
    kwargs.setdefault("include_clean", bool(scored["noise_family"].map(is_clean).all()))
    out = method_summary(scored, baseline=baseline, **kwargs)
    labels = [method_label(r["treatment_method"], r) for r in out.to_dict("records")]
    return out.assign(baseline_label=method_label(baseline, {}), treatment_label=labels)


MEMORISATION_KEYS: tuple[str, ...] = PANEL_KEYS + NOISE_SETUP_KEYS + TRAINING_KEYS
"""A memorisation panel: one per (task, model, n_train, weak_fit, n_relabel, pooling) at one level."""


def memorisation(table: pd.DataFrame, history: pd.DataFrame, *, noise_family: str, noise_level: float,
                 noise_param: str | None = None) -> pd.DataFrame:
    """Per (:data:`MEMORISATION_KEYS`, method label, epoch): mean share of clean examples fitted and of corrupted
    examples predicted as their *noisy* label (memorised), over the runs at one noise level; ``n_runs``.

    ``noise_param`` says what ``noise_level`` is a value of (None: the family's own parameter).
    """
    table = with_setting_keys(table)
    param = level_parameter_name(noise_family, noise_param)
    runs = with_labels(table[(table["noise_family"] == noise_family) & (table["noise_param"] == param)
                             & np.isclose(pd.to_numeric(table["noise_level"], errors="coerce"), noise_level)])
    hist = history.assign(**{c: pd.to_numeric(history[c], errors="coerce") for c in ("epoch", *MEMORISATION_COLUMNS)})
    merged = hist.merge(runs[["run_id", *MEMORISATION_KEYS, "method", "method_label"]], on="run_id")
    merged = merged[merged["epoch"].notna()]
    keys = [*MEMORISATION_KEYS, "method", "method_label", "epoch"]
    if merged.empty:
        return pd.DataFrame(columns=[*keys, *MEMORISATION_COLUMNS, "n_runs"])
    grouped = merged.groupby(keys, dropna=False, sort=True)
    out = grouped[list(MEMORISATION_COLUMNS)].mean().join(grouped["run_id"].nunique().rename("n_runs"))
    return out.reset_index()


def level_parameter_name(family: Any, noise_param: Any) -> str | None:
    """``noise_param``, or the family's own parameter's name when it is missing."""
    if not is_missing(noise_param):
        return str(noise_param)
    try:
        return get_family(str(family)).parameter.name
    except ConfigError:
        return None


def noise_costs(table: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    """:func:`~noisebench.analysis.stats.noise_cost` plus ``method_label`` and ``noise_label`` columns.

    One row per noisy setting and method variant: the paired drop clean − noisy with its interval,
    tests and Holm p over the levels (see ``noise_cost``).
    """
    scored = table[pd.to_numeric(table[kwargs.get("metric", "test_accuracy")], errors="coerce").notna()]
    out = with_labels(noise_cost(scored, **kwargs))
    labels = [noise_label(r["noise_family"], r["noise_param"], r["noise_level"]) for r in out.to_dict("records")]
    return out.assign(noise_label=labels)


def transition_matrix(path: Path | str) -> pd.DataFrame:
    """Clean → noisy label counts (rows clean, columns noisy) of a noise artifact or a run directory.

    ``attrs`` carries ``task``, ``noise_family``, ``noise_param``, ``noise_level``, ``rate``
    (realised noise rate) and ``source`` (what the counts are over).
    """
    path = Path(path)
    if is_noise_artifact(path):
        meta = read_noise_json(path)
        family = meta.get("family")
        level_keys = _artifact_level(meta)
        param, level = level_keys["noise_param"], None if is_clean(family) else level_keys["noise_level"]
        source = "noise artifact (whole relabelled pool)"
    elif has_metrics(path):
        config = read_config(path) if has_config(path) else {}
        meta = {**read_metrics(path), "task": config.get("task", "?")}
        family, level = config.get("noise_family"), config.get("noise_level")
        param = level_parameter_name(family, config.get("noise_param")) if not is_clean(family) else None
        source = f"run {path.name} (N={config.get('n_train')} training labels)"
    else:
        raise FileNotFoundError(f"{path}: neither a noise artifact (noise.json) nor a run directory (metrics.json)")
    tm = meta.get("transition_matrix")
    if not tm or "counts" not in tm:
        raise ValueError(f"{path}: no transition_matrix with counts")
    if tm.get("orientation", "rows=clean, cols=noisy") != "rows=clean, cols=noisy":
        raise ValueError(f"{path}: unexpected transition-matrix orientation {tm.get('orientation')!r}")
    counts = np.asarray(tm["counts"], dtype=float)
    labels = [str(x) for x in (tm.get("labels") or range(counts.shape[0]))]
    frame = pd.DataFrame(counts, index=pd.Index(labels, name="clean label"), columns=pd.Index(labels, name="noisy label"))
    rate = meta.get("realized_noise_rate")
    if rate is None and counts.sum() > 0:
        rate = 1.0 - np.trace(counts) / counts.sum()
    frame.attrs.update(task=meta.get("task", "?"), noise_family=family, noise_param=param, noise_level=level, rate=rate,
                       source=source)
    return frame


def class_names(run_dir: Path | str) -> list[str] | None:
    """Class names of a run, from its metrics.json transition matrix (None when unavailable)."""
    try:
        labels = (read_metrics(Path(run_dir)).get("transition_matrix") or {}).get("labels")
    except (OSError, ValueError):
        return None
    return [str(x) for x in labels] if labels else None


EXACT_TSNE_MAX_POINTS: int = 500
"""Up to this many points t-SNE uses the exact gradient, above it Barnes-Hut."""


def tsne_points(run_dir: Path | str, *, max_points: int | None = 2000, perplexity: float = 30.0) -> pd.DataFrame:
    """2-D t-SNE of a run's test [CLS] embeddings: columns ``x``, ``y``, ``label``; ``attrs["n_total"]``.

    ``sklearn.manifold.TSNE(random_state=0, init="pca")``, perplexity capped below ``(n - 1) / 3``;
    above ``max_points`` a fixed (seed 0) subsample, the same indices for every run of equal length.
    """
    from sklearn.manifold import TSNE

    cls, labels = read_embeddings(Path(run_dir))
    n = cls.shape[0]
    if n < 5:
        raise ValueError(f"{run_dir}: t-SNE needs at least 5 points, got {n}")
    if max_points is not None and n > max_points:
        idx = np.sort(np.random.default_rng(0).choice(n, size=max_points, replace=False))
        cls, labels = cls[idx], labels[idx]
    perp = float(min(perplexity, max(1.0, (cls.shape[0] - 1) / 3.0 - 1e-6)))
    method = "exact" if cls.shape[0] <= EXACT_TSNE_MAX_POINTS else "barnes_hut"
    xy = TSNE(n_components=2, random_state=0, init="pca", perplexity=perp, method=method).fit_transform(cls)
    frame = pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "label": labels})
    frame.attrs["n_total"] = n
    return frame

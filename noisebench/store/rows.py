"""A run's config.json as one row of the results table: ``method_params`` spread, legacy keys mapped."""

from __future__ import annotations

import json
from typing import Any

from noisebench.errors import ConfigError
from noisebench.methods import get_method, hyper_parameter_names
from noisebench.noise.families import get_family, is_clean

_LEGACY_LEVELS = {"temperature": "temperature", "noise_rate": "rate"}
"""Legacy config.json key -> the parameter name it held (before families were registered objects)."""


def options_key(options: object) -> str | None:
    """A weak labeller's options as one table value: sorted JSON text, None when there are none."""
    return json.dumps(options, sort_keys=True) if isinstance(options, dict) and options else None


def _declared(method: str) -> set[str] | None:
    """Hyper-parameter names ``method`` declares; None for a method this process does not know."""
    try:
        return {p.name for p in get_method(method).hyper_parameters}
    except ConfigError:
        return None


def flatten_config(config: dict[str, Any]) -> dict[str, Any]:
    """A config.json as a table row: ``method_params`` spread into columns, legacy keys mapped.

    Old run directories stored the noise level as ``temperature`` or ``noise_rate`` and the method's
    hyper-parameters as top-level ``lam``/``tau`` (CE carried ``lam=0``, ``tau=None``). They become
    ``noise_param``/``noise_level`` and one column per hyper-parameter the method declares, so old
    and new runs land in the same columns.
    """
    row = {k: v for k, v in config.items() if k not in ("method_params", *_LEGACY_LEVELS, *hyper_parameter_names())}
    params = dict(config.get("method_params") or {})
    declared = _declared(str(config.get("method")))
    for name in hyper_parameter_names():
        if name in config and name not in params and (declared is None or name in declared):
            params[name] = config[name]
    row.update({k: v for k, v in params.items() if v is not None})
    if isinstance(row.get("weak_options"), dict):  # one text value: a mapping cannot key a setting, and all-empty ones cannot go to Parquet
        row["weak_options"] = options_key(row["weak_options"])
    for key, param in _LEGACY_LEVELS.items():
        if config.get(key) is not None and row.get("noise_level") is None:
            row["noise_level"], row["noise_param"] = config[key], param
    if is_clean(row.get("noise_family")):
        row["noise_level"], row["noise_param"] = None, None
    elif row.get("noise_param") is None:
        row["noise_param"] = get_family(row["noise_family"]).parameter.name
    return row

"""What a training method is: a loss over (logits, features, labels) and its bounded hyper-parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from noisebench.errors import ConfigError
from noisebench.parameters import Parameter

if TYPE_CHECKING:  # the registry stays importable without torch; losses import it when called
    from torch import Tensor

LossFn = Callable[..., "Tensor"]
"""``loss(logits, features, labels, **hyper_parameters) -> scalar``; features may be None."""


def check_in_float32(parameter: Parameter, value: float, *, method: str) -> float:
    """``value`` unless, rounded to float32 (the precision every loss is computed in: logits come back as
    float32 under any ``precision``), it leaves ``parameter``'s bounds, e.g. GCE q = 1e-50 becomes 0 and
    α = 1e39 becomes inf; then a ConfigError."""
    with np.errstate(over="ignore", under="ignore"):
        rounded = float(np.float32(value))
    if not parameter.contains(rounded):
        raise ConfigError(
            f"method {method}: {parameter.name} = {value!r} is {rounded!r} in float32, the precision the loss is computed in; "
            f"{parameter.name} must be in {parameter.bounds_text()} there too"
        )
    return value


@dataclass(frozen=True)
class Method:
    """A training objective registered under ``name``.

    ``uses_features(params)`` says whether the loss needs the encoder's sentence features for these
    hyper-parameters (the training loop skips computing them otherwise, so e.g. CE+SCL with λ = 0
    runs exactly the CE computation).

    ``gathers_features``: the loss takes ``gather=True`` and then, in a data-parallel run, scores this
    rank's shard against the features gathered from every rank and scales itself for DDP's gradient
    averaging (the SCL-based methods); any other loss is a per-example mean that the loop reweights.
    """

    name: str
    loss: LossFn
    hyper_parameters: tuple[Parameter, ...] = ()
    uses_features: Callable[[Mapping[str, float]], bool] = field(default=lambda params: False)
    description: str = ""
    gathers_features: bool = False

    def resolve(self, params: Mapping[str, float] | None = None) -> dict[str, float]:
        """Every hyper-parameter, from ``params`` or its default, checked; unknown names are errors."""
        params = dict(params or {})
        known = {p.name for p in self.hyper_parameters}
        unknown = sorted(set(params) - known)
        if unknown:
            takes = f"takes {', '.join(sorted(known))}" if known else "takes no hyper-parameters"
            raise ConfigError(f"method {self.name} {takes}; got {', '.join(unknown)}")
        resolved = {}
        for p in self.hyper_parameters:
            value = params.get(p.name, p.default)
            if value is None:
                raise ConfigError(f"method {self.name} needs {p.name} ({p.bounds_text()})")
            resolved[p.name] = check_in_float32(p, p.check(value), method=self.name)
        return resolved

    def compute_loss(self, logits: Tensor, features: Tensor | None, labels: Tensor, params: Mapping[str, float], *, gather: bool = False) -> Tensor:
        """The loss; ``gather`` (only for a method that ``gathers_features``) scores a rank's shard against the global batch."""
        if gather:
            return self.loss(logits, features, labels, **params, gather=True)
        return self.loss(logits, features, labels, **params)

    def label(self, params: Mapping[str, float]) -> str:
        """How plots and reports name this method with these hyper-parameters, e.g. ``ce-scl(λ=0.9, τ=0.3)``."""
        if not params:
            return self.name
        symbols = {p.name: p.symbol for p in self.hyper_parameters}
        inner = ", ".join(f"{symbols.get(k, k)}={v:g}" for k, v in params.items())
        return f"{self.name}({inner})"

"""The training-method registry. A method is one module here (or in a plugin) and one line below."""

from __future__ import annotations

from noisebench.methods.base import Method
from noisebench.methods.ce import CE
from noisebench.methods.ce_scl import CE_SCL
from noisebench.methods.gce import GCE, GCE_SCL
from noisebench.methods.ls import LS
from noisebench.methods.sce import SCE, SCE_SCL
from noisebench.registry import Registry

METHODS: Registry[Method] = Registry("method")
BASELINE = CE.name
"""The method every other one is compared with by default."""


def register_method(method: Method) -> Method:
    """Make ``method`` available under ``method.name`` to the CLI, grids, training and analysis."""
    return METHODS.register(method.name, method)


def get_method(name: str) -> Method:
    return METHODS.get(name)


def hyper_parameter_names() -> tuple[str, ...]:
    """Every hyper-parameter name of every registered method (columns of the results table)."""
    return tuple(dict.fromkeys(p.name for m in METHODS for p in m.hyper_parameters))


register_method(CE)
register_method(CE_SCL)
register_method(LS)
register_method(GCE)
register_method(SCE)
register_method(GCE_SCL)
register_method(SCE_SCL)

__all__ = ["BASELINE", "METHODS", "Method", "get_method", "hyper_parameter_names", "register_method"]

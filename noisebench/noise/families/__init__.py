"""The noise-family registry. A family is one module here (or in a plugin) and one line below.

``CLEAN`` is the ``noise_family`` of a run on clean labels: it is not a family, and
:func:`is_clean` is the one place that tells it apart.
"""

from __future__ import annotations

from noisebench.noise.families.base import NoiseFamily, NoiseInputs, draw_labels
from noisebench.noise.families.temperature import TemperatureFamily
from noisebench.noise.families.uniform import UniformFamily
from noisebench.registry import Registry

CLEAN = "none"
DEFAULT_FAMILY = TemperatureFamily.name
"""The paper's family: what ``noisebench generate`` uses when no --family is given."""

FAMILIES: Registry[NoiseFamily] = Registry("noise family")


def register_family(family: NoiseFamily) -> NoiseFamily:
    """Make ``family`` available under ``family.name`` to the CLI, grids, artifacts and analysis."""
    return FAMILIES.register(family.name, family)


def get_family(name: str) -> NoiseFamily:
    return FAMILIES.get(name)


def is_clean(name: object) -> bool:
    """Whether a run's ``noise_family`` means clean labels (``"none"``, or missing in a table)."""
    return name is None or name == CLEAN or (isinstance(name, float) and name != name)


register_family(TemperatureFamily())
register_family(UniformFamily())

__all__ = ["CLEAN", "DEFAULT_FAMILY", "FAMILIES", "NoiseFamily", "NoiseInputs", "draw_labels", "get_family", "is_clean", "register_family"]

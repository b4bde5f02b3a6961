"""The noise-family registry. A family is one module here (or in a plugin) and one line below.

``CLEAN`` is the ``noise_family`` of a run on clean labels: it is not a family, and
:func:`is_clean` is the one place that tells it apart.
"""

from __future__ import annotations

from noisebench.errors import ConfigError
from noisebench.noise.families.annotator import AnnotatorFamily
from noisebench.noise.families.base import NoiseFamily, NoiseInputs, draw_labels
from noisebench.noise.families.observed import ObservedFamily, SameTransitionFamily
from noisebench.noise.families.pair import PairFamily
from noisebench.noise.families.temperature import TemperatureFamily
from noisebench.noise.families.uniform import UniformFamily
from noisebench.parameters import Parameter
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


TARGET_RATE = Parameter("target_rate", "ρ", "target noise rate", low=0.0, high=1.0)
"""A family's level can be given as the expected noise rate it should reach instead of its own parameter."""


def level_parameter(family: str, noise_param: str | None) -> Parameter:
    """The parameter a run's ``noise_level`` is a value of: the family's own, or the target rate.

    ``noise_param`` None means the family's own parameter; anything else must name one of the two.
    """
    own = get_family(family).parameter
    if noise_param in (None, own.name):
        return own
    if noise_param == TARGET_RATE.name:
        return TARGET_RATE
    raise ConfigError(f"noise family {family} is set by {own.name} or {TARGET_RATE.name}, not {noise_param!r}")


def noise_label(family: object, noise_param: object, level: object) -> str:
    """``clean``, or the family with its level, e.g. ``temperature T=0.9`` or ``temperature ρ=0.2``."""
    if is_clean(family):
        return "clean"
    param = None if noise_param is None or noise_param != noise_param else str(noise_param)
    return f"{family} {level_parameter(str(family), param).symbol}={float(level):g}"  # type: ignore[arg-type]


def is_clean(name: object) -> bool:
    """Whether a run's ``noise_family`` means clean labels (``"none"``, or missing in a table)."""
    return name is None or name == CLEAN or (isinstance(name, float) and name != name)


register_family(TemperatureFamily())
register_family(UniformFamily())
register_family(PairFamily())
register_family(AnnotatorFamily())
register_family(ObservedFamily())
register_family(SameTransitionFamily())
# matrix families: one per transition-matrix file, registered by name (noisebench.noise.families.matrix)

__all__ = ["CLEAN", "DEFAULT_FAMILY", "TARGET_RATE", "level_parameter", "noise_label", "FAMILIES", "NoiseFamily", "NoiseInputs", "draw_labels", "get_family", "is_clean", "register_family"]

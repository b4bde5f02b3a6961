"""The weak-labeller registry. A labeller is one module here (or in a plugin) and one line below.

A weak labeller scores every example per class; model-based noise families (temperature) draw wrong
labels from those scores. Fit modes (in-sample, held-out, cross-fit: :mod:`.fits`) are the same for
every labeller. A plugin registers its own with :func:`register_labeller` (see :mod:`noisebench.registry`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

from noisebench.noise.weak.base import WeakLabeller, WeakOption, WeakScorer
from noisebench.noise.weak.encoder_probe import EncoderProbe
from noisebench.noise.weak.fits import DEFAULT_WEAK_FIT, WEAK_FITS, WeakScores, check_weak_fit, weak_scores
from noisebench.noise.weak.predictions import Predictions
from noisebench.noise.weak.tfidf import TfidfLogreg, WeakModel, fit_weak_model
from noisebench.registry import Registry

WEAK_LABELLERS: Registry[WeakLabeller] = Registry("weak labeller")

DEFAULT_WEAK_MODEL = TfidfLogreg.name
"""Today's and every earlier version's weak model: a run or artifact that names none uses it."""


def register_labeller(labeller: WeakLabeller) -> WeakLabeller:
    """Make ``labeller`` available under ``labeller.name`` to the CLI, grids and noise generation."""
    return WEAK_LABELLERS.register(labeller.name, labeller)


def get_labeller(name: str) -> WeakLabeller:
    return WEAK_LABELLERS.get(name)


def resolve_weak(name: str | None, options: Mapping[str, object], *, model: str) -> tuple[str, dict[str, str]]:
    """``(labeller, options)`` with the default labeller for None and every option's default filled in.

    ``model`` is the run's encoder (the default of an option like encoder-probe's ``encoder``).
    Raises ConfigError for an unknown labeller or option, or a bad option value.
    """
    labeller = get_labeller(name or DEFAULT_WEAK_MODEL)
    return labeller.name, labeller.resolve_options(options, model=model)


def weak_folder_suffix(name: str, options: Mapping[str, str]) -> str:
    """``""`` for the default labeller (artifact folders of earlier versions keep their names), else
    ``-<labeller>`` plus, when it has options, ``-<8 hex digits>`` of them: two encoders never share a folder."""
    if name == DEFAULT_WEAK_MODEL and not options:
        return ""
    if not options:
        return f"-{name}"
    digest = hashlib.sha256(json.dumps(dict(options), sort_keys=True).encode("utf-8")).hexdigest()[:8]
    return f"-{name}-{digest}"


register_labeller(TfidfLogreg())
register_labeller(EncoderProbe())
register_labeller(Predictions())

__all__ = [
    "DEFAULT_WEAK_FIT", "DEFAULT_WEAK_MODEL", "WEAK_FITS", "WEAK_LABELLERS", "WeakLabeller", "WeakModel", "WeakOption",
    "WeakScorer", "WeakScores", "check_weak_fit", "fit_weak_model", "get_labeller", "register_labeller", "resolve_weak",
    "weak_folder_suffix", "weak_scores",
]

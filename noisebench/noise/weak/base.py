"""What a weak labeller is: a registered way to score every example per class, with named, typed options.

A weak labeller drives model-based noise (the temperature family): its per-class log-probabilities
decide which wrong label an example is likely to get. It is fitted on clean examples chosen by a fit
mode (:mod:`noisebench.noise.weak.fits`: in-sample, held-out, cross-fit), the same modes for every
labeller; a labeller that reads its scores from somewhere (``fits_to_data = False``) ignores them.
Options are strings in run configs, grid files and noise.json (plain JSON, so ``run_id`` stays a hash
of the config); each option's ``kind`` says how its value is checked and read.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from noisebench.errors import ConfigError

OptionKind = Literal["text", "int", "model", "file"]
"""text: any non-empty string; int: an integer >= 1; model: an asset name, local path or hub id; file: a path."""


@dataclass(frozen=True)
class WeakOption:
    """One option of a weak labeller.

    ``default`` None and ``defaults_to_run_model`` False make it required. With
    ``defaults_to_run_model`` the default is the run's encoder (``RunConfig.model``), so a probe on
    "the model being fine-tuned" needs no option at all.
    """

    name: str
    help: str
    kind: OptionKind = "text"
    default: str | None = None
    defaults_to_run_model: bool = False

    def check(self, value: object, *, labeller: str) -> str:
        """``value`` as this option's string, or a ConfigError naming the labeller and the option."""
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"weak labeller {labeller}: option {self.name} must be a non-empty string, got {value!r}")
        if self.kind == "int" and not (value.isascii() and value.isdigit() and int(value) >= 1):
            raise ConfigError(f"weak labeller {labeller}: option {self.name} must be an integer >= 1, got {value!r}")
        return value

    def default_for(self, model: str) -> str | None:
        return model if self.defaults_to_run_model else self.default


class WeakScorer(ABC):
    """A fitted weak labeller: per-class log-probabilities for any frame of examples."""

    @abstractmethod
    def log_probs(self, frame: pd.DataFrame) -> np.ndarray:
        """``[len(frame), K]`` log-probabilities (``-inf`` for a class the labeller never predicts).

        Log-probabilities equal the logits up to a per-example constant, so
        ``softmax(log_probs / T) == softmax(logits / T)`` for every temperature T.
        """

    def accuracy(self, frame: pd.DataFrame) -> float | None:
        """Accuracy against the frame's clean labels (None for no examples)."""
        if frame.empty:
            return None
        return float(np.mean(self.log_probs(frame).argmax(axis=1) == frame["label"].to_numpy()))

    def provenance(self) -> dict[str, Any]:
        """Extra facts noise.json records about where the scores came from (e.g. a file's sha256)."""
        return {}


class WeakLabeller(ABC):
    """A registered weak labeller: its name, what it is, its options and how it is fitted."""

    name: ClassVar[str]
    description: ClassVar[str]
    options: ClassVar[tuple[WeakOption, ...]] = ()
    fits_to_data: ClassVar[bool] = True
    """False for a labeller whose scores do not depend on training examples: every fit mode gives the same scores."""

    def resolve_options(self, given: Mapping[str, object], *, model: str) -> dict[str, str]:
        """Every option's value (``given`` or its default; ``model`` is the run's encoder), in declaration order.

        Raises:
            ConfigError: an option this labeller does not take, a bad value, or a required option left out.
        """
        known = {option.name: option for option in self.options}
        unknown = sorted(set(given) - set(known))
        if unknown:
            takes = f"its options: {', '.join(known)}" if known else "it takes no options"
            raise ConfigError(f"weak labeller {self.name} has no option {unknown[0]!r} ({takes})")
        resolved = {}
        for name, option in known.items():
            value = given[name] if name in given else option.default_for(model)
            if value is None:
                raise ConfigError(f"weak labeller {self.name} needs option {name}: {option.help}")
            resolved[name] = option.check(value, labeller=self.name)
        return resolved

    @abstractmethod
    def fit(self, train: pd.DataFrame, *, label_names: tuple[str, ...], seed: int, options: Mapping[str, str]) -> WeakScorer:
        """A scorer fitted on the clean examples ``train`` (columns id, text, text_pair, label).

        ``label_names`` are the task's classes (K = their number; a file of scores names its columns
        after them); ``options`` are resolved (:meth:`resolve_options`).
        """


def class_log_probs(classifier: Any, features: Any, num_labels: int) -> np.ndarray:
    """A fitted scikit-learn classifier's log-probabilities as ``[n, num_labels]``; classes it never saw get ``-inf``."""
    scores = np.full((len(features), num_labels), -np.inf)
    with np.errstate(divide="ignore"):  # a probability that underflows to 0 is a log-probability of -inf, as for unseen classes
        scores[:, classifier.classes_] = classifier.predict_log_proba(features)
    return scores

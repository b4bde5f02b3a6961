"""What a noise family is: a parameter, a per-example distribution of noisy labels, a seeded draw."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from noisebench.parameters import Parameter


@dataclass(frozen=True)
class NoiseInputs:
    """What a family may look at when relabelling ``n`` examples.

    ``clean``: ``[n]`` clean labels; ``weak_log_probs``: ``[n, num_labels]`` log-probabilities of the
    weak model for families that need one (None otherwise).
    """

    clean: np.ndarray
    num_labels: int
    weak_log_probs: np.ndarray | None = None


class NoiseFamily(ABC):
    """A rule that redraws clean labels into noisy ones.

    Subclasses set ``name``, ``parameter`` and ``needs_weak_model`` and give each example's
    distribution over noisy labels (:meth:`probabilities`). The draw and the exact expected
    realised rate follow from it; a family whose distribution has no closed form overrides both.
    """

    name: ClassVar[str]
    parameter: ClassVar[Parameter]
    needs_weak_model: ClassVar[bool] = False
    description: ClassVar[str] = ""
    search_range: ClassVar[tuple[float, float] | None] = None
    """Where a target rate is solved for (default: the parameter's bounds); the expected rate must
    rise with the level over it."""
    control_of: ClassVar[str | None] = None
    """The family this one is a synthetic control of (the report pairs their runs by seed), if any."""

    @abstractmethod
    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        """``[n, num_labels]``: row i is the distribution of example i's noisy label."""

    def draw(self, inputs: NoiseInputs, level: float, noise_seed: int) -> np.ndarray:
        """Noisy labels, prefix-stable: example i uses the i-th uniform of the seeded generator."""
        return draw_labels(self.probabilities(inputs, self.parameter.check(level)), np.random.default_rng(noise_seed))

    def expected_rate(self, inputs: NoiseInputs, level: float) -> float:
        """The exact expected share of examples whose noisy label differs from the clean one."""
        probs = self.probabilities(inputs, self.parameter.check(level))
        return float(np.mean(1.0 - probs[np.arange(len(inputs.clean)), inputs.clean])) if len(inputs.clean) else 0.0

    def make_inputs(self, frame: pd.DataFrame, num_labels: int, weak_log_probs: np.ndarray | None = None) -> NoiseInputs:
        """What the family sees of the examples of ``frame`` (in its order): by default their clean labels and
        the weak model's log-probabilities; a family that reads other columns (e.g. rater scores) overrides it."""
        return NoiseInputs(frame["label"].to_numpy(), num_labels, weak_log_probs)

    def check_classes(self, num_labels: int) -> None:  # noqa: B027  (a hook with a default: most families take any K)
        """Raise ConfigError if this family cannot relabel a task with ``num_labels`` classes (default: any K).

        Called for every artifact before any labeller is fitted or label drawn, so a family bound to a class
        count (a K×K matrix file) fails in one line, not after minutes of work on the other levels.
        """

    def level_for_rate(self, inputs: NoiseInputs, rate: float) -> float | None:
        """The level whose expected rate is ``rate``, where a closed form exists (None: solve numerically)."""
        return None

    def source_labels(self, inputs: NoiseInputs) -> np.ndarray | None:
        """``[n]``: the labels of the noise source the family draws from, where it has one (a dataset's own
        noisy labels): noise.json records their full rate and transition matrix beside the drawn ones."""
        return None

    def extra_columns(self, inputs: NoiseInputs) -> dict[str, np.ndarray]:
        """Per-example columns stored beside the labels in ``labels.parquet`` (e.g. weak probabilities)."""
        if inputs.weak_log_probs is None:
            return {}
        return {f"weak_prob_{k}": np.exp(inputs.weak_log_probs[:, k]) for k in range(inputs.num_labels)}

    def __eq__(self, other: object) -> bool:  # one instance per class is all a family needs
        return type(self) is type(other)

    def __hash__(self) -> int:
        return hash(type(self))

    def folder_name(self, level: float) -> str:
        """How an artifact of this family and level is named on disk, e.g. ``T0.5``."""
        return f"{self.parameter.symbol}{level:g}"


def draw_labels(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One categorical draw per row by inverse CDF; row i uses the i-th uniform of ``rng``.

    Drawing row by row in a fixed order makes a prefix of the examples get the same labels
    whatever the total count, so nested subsets share their noisy labels.
    """
    uniforms = rng.random(len(probs))
    cdf = np.cumsum(probs, axis=1)
    cdf[:, -1] = 1.0
    return (uniforms[:, None] >= cdf).sum(axis=1).astype(np.int64)


def labels_frame(ids: pd.Series, clean: np.ndarray, noisy: np.ndarray, extra: dict[str, np.ndarray]) -> pd.DataFrame:
    """The ``labels.parquet`` table: id, clean and noisy label, whether corrupted, extra columns."""
    frame = pd.DataFrame({"id": ids.to_numpy(), "label_clean": clean, **extra})
    frame["label_noisy"] = noisy
    frame["is_corrupted"] = noisy != clean
    return frame

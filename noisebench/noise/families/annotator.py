"""Real annotator noise: each noisy label is the majority vote of k of the example's own human raters.

For the vader-* tasks every pool example carries its raters' scores (-4..+4, 15 to 99 raters). With k
raters drawn without replacement, a positive score votes positive, a negative score votes negative and
a 0 abstains; the noisy label is the majority of the votes, and a tie (including k neutral raters) is
decided by a fair coin. So k = 1 is "ask one rater; if they shrug, flip a coin".

The draw samples exactly that label's distribution: the vote counts are multivariate-hypergeometric
over the example's (positive, negative, neutral) raters, which gives ``P(noisy = positive)`` in closed
form (scipy.stats.multivariate_hypergeom), and the inherited inverse-CDF draw spends one uniform of the
noise seed's generator per example (prefix-stable, like every family). It does not record which raters
were drawn: the law of the noisy label is the same. The expected rate is exact.

The noise is instance-dependent and human: snippets that raters find mixed are the ones that flip. It
is not the noise of a crowd-sourced dataset's single label (these raters were screened and trained) and
it is only defined for examples that carry ratings. More raters, less noise: the rate falls with k,
so a target rate is not solved for (choose k).

The family needs each example's ratings: :meth:`AnnotatorFamily.make_inputs` builds its inputs from the
relabelled frame's ``ratings`` column.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from noisebench.errors import ConfigError
from noisebench.noise.families.base import NoiseFamily, NoiseInputs
from noisebench.parameters import Parameter

RATINGS_COLUMN = "ratings"
MAX_RATERS = 15
"""The fewest raters any vader snippet has (movie reviews: 15 to 29), so every k up to it is defined."""


@dataclass(frozen=True)
class RatedInputs(NoiseInputs):
    """Noise inputs with each example's rater scores (``ratings[i]``: the integer scores of example i)."""

    ratings: tuple[tuple[int, ...], ...] = ()


def vote_counts(ratings: tuple[tuple[int, ...], ...]) -> np.ndarray:
    """``[n, 3]``: each example's numbers of positive, negative and neutral (0) raters."""
    counts = np.zeros((len(ratings), 3), dtype=np.int64)
    for i, scores in enumerate(ratings):
        scores = np.asarray(scores)
        counts[i] = (scores > 0).sum(), (scores < 0).sum(), (scores == 0).sum()
    return counts


def positive_majority_probability(counts: np.ndarray, k: int) -> np.ndarray:
    """``[n]``: P(the majority of k raters drawn without replacement is positive), a tie counting one half.

    ``counts`` is ``[n, 3]`` (positive, negative, neutral raters). Sums the multivariate hypergeometric
    pmf over every split (p, m, z) of the k drawn raters: p > m counts 1, p == m counts 1/2.
    """
    from scipy.stats import multivariate_hypergeom

    splits = np.array([(p, m, k - p - m) for p in range(k + 1) for m in range(k + 1 - p)])
    weights = np.where(splits[:, 0] > splits[:, 1], 1.0, np.where(splits[:, 0] == splits[:, 1], 0.5, 0.0))
    pmf = multivariate_hypergeom.pmf(splits[None, :, :], counts[:, None, :], k)  # [n, splits]
    return np.nan_to_num(pmf, nan=0.0) @ weights


class AnnotatorFamily(NoiseFamily):
    name = "annotator"
    parameter = Parameter("raters", "k", "raters per label k", low=1, high=MAX_RATERS, integer=True)
    description = "majority of k of the example's human raters (neutral raters abstain, ties by a fair coin)"

    def make_inputs(self, frame: pd.DataFrame, num_labels: int, weak_log_probs: np.ndarray | None = None) -> RatedInputs:
        """This family's inputs for the relabelled examples of ``frame`` (which must carry their ratings)."""
        if RATINGS_COLUMN not in frame.columns:
            raise ConfigError(f"noise family {self.name} needs each example's rater scores; only the vader-* tasks have them")
        ratings = tuple(tuple(int(s) for s in scores) for scores in frame[RATINGS_COLUMN])
        return RatedInputs(frame["label"].to_numpy(), num_labels, weak_log_probs, ratings=ratings)

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        ratings = getattr(inputs, "ratings", None)
        if ratings is None or len(ratings) != len(inputs.clean):
            raise ConfigError(f"noise family {self.name} needs each example's rater scores (its inputs come from make_inputs on a vader-* task)")
        if inputs.num_labels != 2:
            raise ConfigError(f"noise family {self.name} is for negative/positive tasks, not {inputs.num_labels} classes")
        k = int(level)
        counts = vote_counts(ratings)
        short = np.flatnonzero(counts.sum(axis=1) < k)
        if short.size:
            raise ConfigError(f"noise family {self.name}: k={k} raters, but example {short[0]} has only {counts[short[0]].sum()}")
        positive = positive_majority_probability(counts, k) if len(counts) else np.zeros(0)
        return np.stack([1.0 - positive, positive], axis=1)

    def extra_columns(self, inputs: NoiseInputs) -> dict[str, np.ndarray]:
        """Each example's numbers of positive, negative and neutral raters, beside its labels."""
        counts = vote_counts(getattr(inputs, "ratings", ()))
        if len(counts) != len(inputs.clean):
            return super().extra_columns(inputs)
        return {f"raters_{kind}": counts[:, j] for j, kind in enumerate(("positive", "negative", "neutral"))}

    def level_for_rate(self, inputs: NoiseInputs, rate: float) -> float | None:
        raise ConfigError(f"noise family {self.name} is set by its number of raters k (--raters), not by a target rate")

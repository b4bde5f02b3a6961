"""Real annotator noise: each noisy label is the plurality vote of k of the example's own human raters.

Every relabelled example carries its raters' labels (the ``ratings`` column of :mod:`noisebench.data.raters`:
a class id per rater, -1 where the rater abstained), from a task's rater table or, for the vader-* tasks,
from the raters' sentiment scores (a 0 abstains). With k raters drawn without replacement, the noisy
label is the class with the most votes among the drawn raters who did not abstain; a tie among the top
classes is broken uniformly at random, and k abstentions are a tie among all K classes. So k = 1 is
"ask one rater; if they shrug, pick a class at random".

The draw samples exactly that label's distribution. The drawn vote counts are multivariate-hypergeometric
over the example's raters grouped by class, so ``P(noisy = c)`` is a finite sum over vote splits of
(c among the top classes) / (number of top classes). It is computed by a polynomial product over the
classes the example's raters used (:func:`plurality_probabilities`), once per distinct vector of rater
counts, so it stays fast with many examples, many raters and up to 20 classes. The inherited inverse-CDF
draw then spends one uniform of the noise seed's generator per example (prefix-stable, like every
family). It does not record which raters were drawn: the law of the noisy label is the same. The
expected rate is exact.

The noise is instance-dependent and human: examples that raters find ambiguous are the ones that flip.
It is only defined for examples with at least k raters. More raters, less noise: the rate falls with
k, so a target rate is not solved for (choose k).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from noisebench.data.raters import ABSTAIN, RATINGS_COLUMN
from noisebench.errors import ConfigError
from noisebench.noise.families.base import NoiseFamily, NoiseInputs
from noisebench.parameters import Parameter

__all__ = ["RATINGS_COLUMN", "MAX_RATERS", "AnnotatorFamily", "RatedInputs", "rater_counts", "plurality_probabilities"]

MAX_RATERS = 15
"""The fewest raters any vader snippet has (movie reviews: 15 to 29), so every k up to it is defined there."""


@dataclass(frozen=True)
class RatedInputs(NoiseInputs):
    """Noise inputs with each example's rater labels (``ratings[i]``: class ids, -1 = abstained) and its
    id (``ids[i]``, for error messages; positions when empty)."""

    ratings: tuple[tuple[int, ...], ...] = ()
    ids: tuple[object, ...] = ()


def rater_counts(ratings: tuple[tuple[int, ...], ...], num_labels: int) -> np.ndarray:
    """``[n, K + 1]``: each example's number of raters per class, the abstentions in the last column."""
    lengths = np.fromiter(map(len, ratings), dtype=np.int64, count=len(ratings))
    flat = np.fromiter(itertools.chain.from_iterable(ratings), dtype=np.int64, count=int(lengths.sum()))
    bad = (flat < ABSTAIN) | (flat >= num_labels)
    if bad.any():
        raise ConfigError(f"noise family annotator: rater label {flat[bad][0]} is not a class id of a {num_labels}-class task (or -1)")
    column = np.where(flat == ABSTAIN, num_labels, flat)
    rows = np.repeat(np.arange(len(ratings)), lengths)
    counts = np.bincount(rows * (num_labels + 1) + column, minlength=len(ratings) * (num_labels + 1))
    return counts.reshape(len(ratings), num_labels + 1)


def plurality_probabilities(counts: np.ndarray, k: int) -> np.ndarray:
    """``[n, K]``: P(noisy = c) for the plurality of k raters drawn without replacement, ties split evenly.

    ``counts`` is ``[n, K + 1]`` (raters per class, then abstentions; every row with at least k raters).
    Examples are reduced to their distinct vectors of (class counts sorted in decreasing order, abstentions),
    so a class no rater used costs nothing and equal vectors are computed once; all-abstain draws go to
    every class alike.
    """
    num_labels = counts.shape[1] - 1
    classes, abstain = counts[:, :num_labels], counts[:, num_labels]
    slots = int((classes > 0).sum(axis=1).max(initial=1))
    order = np.argsort(-classes, axis=1, kind="stable")[:, :slots]
    sorted_counts = np.take_along_axis(classes, order, axis=1)
    keys, inverse = np.unique(np.column_stack([sorted_counts, abstain]), axis=0, return_inverse=True)
    table = _binomials(int(counts.sum(axis=1).max(initial=0)), k)
    slot_probs = _slot_probabilities(keys[:, :slots], keys[:, slots], k, table)[inverse.reshape(-1)]
    probs = np.zeros(classes.shape)
    np.put_along_axis(probs, order, slot_probs, axis=1)
    all_abstain = table[abstain, k] / table[counts.sum(axis=1), k]
    return probs + all_abstain[:, None] / num_labels


def _binomials(max_n: int, k: int) -> np.ndarray:
    """``[max_n + 1, k + 1]``: C(n, x) as float64 (each exactly rounded), looked up by the sums below."""
    return np.array([[math.comb(n, x) for x in range(k + 1)] for n in range(max_n + 1)], dtype=np.float64)


def _slot_probabilities(counts: np.ndarray, abstain: np.ndarray, k: int, table: np.ndarray) -> np.ndarray:
    """``[g, m]``: P(slot c wins with v >= 1 votes), summed over v, for ``g`` count vectors of ``m`` classes.

    P(slot c has v votes and wins) = C(n_c, v) / C(N, k) times the sum, over the ways to draw the other
    k - v raters so that every other class gets at most v votes, of 1 / (1 + number of classes at v).
    """
    total = counts.sum(axis=1) + abstain
    probs = np.zeros(counts.shape)
    for c in range(counts.shape[1]):
        others = np.delete(counts, c, axis=1)
        for v in range(1, k + 1):
            probs[:, c] += table[counts[:, c], v] * _others_below(others, abstain, v, k - v, table)
    return probs / table[total, k][:, None]


def _others_below(others: np.ndarray, abstain: np.ndarray, v: int, rest: int, table: np.ndarray) -> np.ndarray:
    """``[g]``: the number of ways to draw ``rest`` raters from the other classes and the abstainers so
    that no class gets more than v votes, each way weighted 1 / (1 + the classes that get exactly v).

    A product of one polynomial per class: ``ways[:, t, s]`` counts the ways to draw s raters from the
    classes so far with t of them tied at v.
    """
    size = rest + 1
    ways = np.zeros((len(others), others.shape[1] + 1, size))
    ways[:, 0, :] = table[abstain[:, None], np.arange(size)[None, :]]
    for j in range(others.shape[1]):
        step = np.zeros_like(ways)
        for x in range(min(v, size)):  # fewer than v votes for class j
            step[:, :, x:] += ways[:, :, : size - x] * table[others[:, j], x][:, None, None]
        if v < size:  # exactly v votes: one more class tied at the top
            step[:, 1:, v:] += ways[:, :-1, : size - v] * table[others[:, j], v][:, None, None]
        ways = step
    return ways[:, :, rest] @ (1.0 / np.arange(1, others.shape[1] + 2))


class AnnotatorFamily(NoiseFamily):
    name = "annotator"
    parameter = Parameter("raters", "k", "raters per label k", low=1, high=MAX_RATERS, integer=True)
    description = "plurality of k of the example's human raters (abstaining raters do not vote, ties at random)"

    def make_inputs(self, frame: pd.DataFrame, num_labels: int, weak_log_probs: np.ndarray | None = None) -> RatedInputs:
        """This family's inputs for the relabelled examples of ``frame`` (which must carry their ratings)."""
        if RATINGS_COLUMN not in frame.columns:
            raise ConfigError(f"noise family {self.name} needs each example's rater labels; only tasks with a rater table (vader-*, or raters: in a tasks file) have them")
        ratings = tuple(tuple(int(s) for s in labels) for labels in frame[RATINGS_COLUMN])
        ids = tuple(frame["id"]) if "id" in frame.columns else ()
        return RatedInputs(frame["label"].to_numpy(), num_labels, weak_log_probs, ratings=ratings, ids=ids)

    def probabilities(self, inputs: NoiseInputs, level: float) -> np.ndarray:
        ratings = getattr(inputs, "ratings", None)
        if ratings is None or len(ratings) != len(inputs.clean):
            raise ConfigError(f"noise family {self.name} needs each example's rater labels (its inputs come from make_inputs on a task with a rater table)")
        k = int(level)
        counts = rater_counts(ratings, inputs.num_labels)
        short = np.flatnonzero(counts.sum(axis=1) < k)
        if short.size:
            ids = getattr(inputs, "ids", ())
            name = ids[short[0]] if len(ids) == len(ratings) else short[0]
            raise ConfigError(f"noise family {self.name}: k={k} raters, but example {name} has only {counts[short[0]].sum()}")
        return plurality_probabilities(counts, k) if len(counts) else np.zeros((0, inputs.num_labels))

    def extra_columns(self, inputs: NoiseInputs) -> dict[str, np.ndarray]:
        """Each example's number of raters per class (``raters_<class id>``) and of abstentions, beside its labels."""
        ratings = getattr(inputs, "ratings", ())
        if len(ratings) != len(inputs.clean):
            return super().extra_columns(inputs)
        counts = rater_counts(ratings, inputs.num_labels)
        names = [*map(str, range(inputs.num_labels)), "abstain"]
        return {f"raters_{name}": counts[:, j] for j, name in enumerate(names)}

    def level_for_rate(self, inputs: NoiseInputs, rate: float) -> float | None:
        raise ConfigError(f"noise family {self.name} is set by its number of raters k (--raters), not by a target rate")

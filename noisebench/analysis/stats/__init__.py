"""Paired statistics of any training method against a baseline on the tidy results table.

The unit of analysis is a *cell*: one setting (:data:`~noisebench.analysis.keys.SETTING_KEYS`:
task, model, n_train, noise_family, noise_param, noise_level, weak_fit, n_relabel, pooling)
together with one treatment method and its hyper-parameter values (one column per
name of :func:`noisebench.methods.hyper_parameter_names`). The baseline runs of the same setting
(method :data:`noisebench.methods.BASELINE` unless told otherwise) are shared by every treatment
variant of that setting. A baseline run and a treatment run form a *pair* when they share
``(data_seed, noise_seed, train_seed)``: same training subset, same noisy labels, same
initialisation and data order. Pairing removes the seed-to-seed variance both methods share, so
every test here is a test on the per-seed differences ``treatment - baseline``.

:func:`control_gaps` pairs the runs of a noise family with those of its synthetic control (the family
whose registry entry names it in ``control_of``) by seed triple in the same way;
:func:`same_rate_comparison` lays the families that ran at one target rate side by side.

Runs without a partner are never dropped silently: they are listed in :class:`PairedCell` and
counted in :func:`compare_methods`.

:func:`noise_cost` pairs the other way round: each method's noisy runs with its clean runs of
the same (task, model, n_train, pooling, hyper-parameters, data_seed, train_seed), the clean
anchor, so the accuracy a method loses to noise is measured on shared subsets and initialisations.

Conventions
-----------
* ``noise_level`` is NaN for clean cells and a hyper-parameter column NaN for a method without
  it. NaN keys are treated as equal to each other when grouping (never dropped).
* A table without one of :data:`~noisebench.analysis.keys.OPTIONAL_KEYS` (written before the key
  existed) is read as if the column were all NaN; a noisy row without ``noise_param`` means its
  family's own parameter.
* Metrics are fractions in ``[0, 1]``; differences are on the same scale.
* All randomness (bootstrap, randomised permutation test) is seeded through ``random_state``.
* Rows are assumed to be unique per (cell, method, seed triple). A duplicate makes the pairing
  ambiguous (typically: several learning rates in one cell) and raises ``ValueError``; filter
  the table to one training configuration first.
"""


from noisebench.analysis.keys import SEED_KEYS
from noisebench.analysis.stats.cells import (
    BASE_KEYS,
    METHOD_KEYS,
    REQUIRED_KEYS,
    PairedCell,
    cell_keys,
    holm_family_keys,
    paired_cells,
)
from noisebench.analysis.stats.compare import ANCHOR_KEYS, compare_methods, noise_cost
from noisebench.analysis.stats.controls import (
    CONTROL_GAP_COLUMNS,
    MATCH_KEYS,
    SAME_RATE_COLUMNS,
    control_gaps,
    control_of,
    family_order,
    same_rate_comparison,
    same_rate_levels,
)
from noisebench.analysis.stats.paired import (
    CONSTANT_DIFF_ATOL,
    MAX_EXACT_SIGNFLIP_PAIRS,
    MIN_PAIRS_WILCOXON,
    PairedResult,
    holm,
    paired_test,
)
from noisebench.analysis.stats.robustness import gain_family_keys, robustness_gain, robustness_gains
from noisebench.analysis.stats.selection import SELECTION_EFFECT_COLUMNS, selection_effects
from noisebench.analysis.stats.summaries import format_p, seed_summary, top_k_by_dev

__all__ = [
    "CONTROL_GAP_COLUMNS",
    "MATCH_KEYS",
    "SAME_RATE_COLUMNS",
    "control_gaps",
    "control_of",
    "family_order",
    "same_rate_comparison",
    "same_rate_levels",
    "SELECTION_EFFECT_COLUMNS",
    "selection_effects",
    "BASE_KEYS",
    "REQUIRED_KEYS",
    "ANCHOR_KEYS",
    "SEED_KEYS",
    "METHOD_KEYS",
    "MAX_EXACT_SIGNFLIP_PAIRS",
    "MIN_PAIRS_WILCOXON",
    "CONSTANT_DIFF_ATOL",
    "PairedCell",
    "PairedResult",
    "cell_keys",
    "holm_family_keys",
    "paired_cells",
    "paired_test",
    "holm",
    "compare_methods",
    "noise_cost",
    "robustness_gain",
    "robustness_gains",
    "gain_family_keys",
    "seed_summary",
    "top_k_by_dev",
    "format_p",
]


"""The columns that identify a panel, a setting and a seed pair, and the one normalisation that makes a table carry them.

A *setting* is everything but the training method and the seeds that decides a run's numbers
here: the task, encoder and N, the noise (family, what its level is a value of, the level, how
the weak model was fitted, how many examples were relabelled) and the sentence pooling. Runs that
differ in any of these never pair or pool. Tables written before a key existed lack its column;
:func:`with_setting_keys` adds it as missing (NaN) so old and new tables are keyed alike.
"""

from __future__ import annotations

import pandas as pd

from noisebench.analysis.values import is_missing
from noisebench.errors import ConfigError
from noisebench.noise.families import get_family, is_clean
from noisebench.noise.weak import DEFAULT_WEAK_MODEL
from noisebench.selection import DEFAULT_SELECTION

__all__ = [
    "PANEL_KEYS", "LEVEL_KEYS", "NOISE_SETUP_KEYS", "TRAINING_KEYS", "SETTING_KEYS", "SEED_KEYS",
    "OPTIONAL_KEYS", "with_setting_keys",
]

#: (task, encoder, N): what a figure panel and a clean anchor share.
PANEL_KEYS: tuple[str, ...] = ("task", "model", "n_train")
#: Which noise and how much: ``noise_level`` is a value of ``noise_param`` (the family's own
#: parameter or the target rate), so T=0.2 and ρ=0.2 are different levels.
LEVEL_KEYS: tuple[str, ...] = ("noise_family", "noise_param", "noise_level")
#: How the noise was made (None on clean runs and for families without a weak model): the weak
#: labeller, its options (one JSON text, :func:`~noisebench.store.rows.options_key`) and fit mode, how many examples were relabelled.
NOISE_SETUP_KEYS: tuple[str, ...] = ("weak_fit", "weak_model", "weak_options", "n_relabel")
#: Training choices that are part of a setting (shared by a noisy run and its clean anchor): the
#: sentence pooling, the encoder a run starts from when not the pre-trained one (transfer), the
#: batch size, and the rule that picked the tested epoch (``selection``; ``best_dev`` before rules existed).
TRAINING_KEYS: tuple[str, ...] = ("pooling", "init_from", "batch_size", "selection")
#: Every column of a setting, in display order.
SETTING_KEYS: tuple[str, ...] = PANEL_KEYS + LEVEL_KEYS + NOISE_SETUP_KEYS + TRAINING_KEYS
#: A run's three seeds: training subset, relabelling draw, initialisation and data order.
SEED_KEYS: tuple[str, ...] = ("data_seed", "noise_seed", "train_seed")
#: Setting columns a legacy table may lack.
OPTIONAL_KEYS: tuple[str, ...] = ("noise_param",) + NOISE_SETUP_KEYS + TRAINING_KEYS


def _own_parameter(family: object) -> object:
    try:
        return get_family(str(family)).parameter.name
    except ConfigError:  # a family this process does not know: leave the level's parameter unknown
        return None


def with_setting_keys(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with every :data:`OPTIONAL_KEYS` column (NaN where it lacked one) and ``noise_param`` filled.

    A noisy row without ``noise_param`` gets its family's own parameter (what the level meant before
    target rates existed); a clean row keeps it missing. A row without ``selection`` kept the best
    clean-dev epoch (``best_dev``). Returns a copy only when something changes.
    """
    missing = [c for c in OPTIONAL_KEYS if c not in table.columns]
    out = table.assign(**{c: None for c in missing}) if missing else table
    if out.empty or "noise_family" not in out.columns:
        return out
    unset = out["noise_param"].map(is_missing) & ~out["noise_family"].map(is_clean)
    if unset.any():
        out = out.copy()
        out["noise_param"] = out["noise_param"].astype(object)
        out.loc[unset, "noise_param"] = out.loc[unset, "noise_family"].map(_own_parameter)
    no_rule = out["selection"].map(is_missing)
    if no_rule.any():  # runs from before selection rules were a choice kept the best clean-dev epoch
        out = out.copy()
        out["selection"] = out["selection"].astype(object)
        out.loc[no_rule, "selection"] = DEFAULT_SELECTION
    legacy = out["weak_model"].map(is_missing) & ~out["weak_fit"].map(is_missing)
    if legacy.any():  # runs from before weak labellers were a choice used the default one
        out = out.copy()
        out["weak_model"] = out["weak_model"].astype(object)
        out.loc[legacy, "weak_model"] = DEFAULT_WEAK_MODEL
    return out

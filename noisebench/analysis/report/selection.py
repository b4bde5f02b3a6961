"""Report section "What clean-dev selection adds": each method's test accuracy under every selection rule."""

from __future__ import annotations

import pandas as pd

from noisebench.analysis import prepare
from noisebench.analysis.report.blocks import Block, Estimate, Heading, Paragraph, table_block
from noisebench.analysis.report.formatting import _n, _noise, _pct
from noisebench.analysis.stats import format_p


def _setting(row: dict) -> str:
    return f"{row['task']} · {row['model']} · N={_n(row['n_train'])} · {_noise(row)}"


def _selection_section(effects: pd.DataFrame, reference: str) -> list[Block]:
    """One table per setting: per method and rule, mean test accuracy under the reference and under the rule,
    and what the reference adds (paired by seed). Nothing when the results hold one selection rule."""
    if effects.empty:
        return []
    blocks: list[Block] = [Heading(2, f"What {reference} selection adds"), Paragraph(
             f"The same runs scored under each model-selection rule (runs that evaluated the test set every epoch, "
             f"or runs trained with each rule), paired by seed.  *added* = test accuracy when the epoch is picked by "
             f"`{reference}` minus test accuracy under the rule, in percentage points with its 95% bootstrap interval; "
             f"p from the paired t-test and the sign-flip test.  With noisy labels, `best_noisy_dev` is what a "
             f"practitioner can do: a positive *added* is how much clean validation data flatters a method.")]
    records = effects.to_dict("records")
    for setting in dict.fromkeys(_setting(r) for r in records):
        rows = [r for r in records if _setting(r) == setting]
        body = [[prepare.method_label(r["method"], r), r["rule"], int(r["n_pairs"]), _pct(r["mean_reference"]), _pct(r["mean_rule"]),
                 Estimate(r["added"], r["ci_low"], r["ci_high"]), format_p(r["p_ttest"]), format_p(r["p_signflip"])] for r in rows]
        blocks += [Heading(4, setting), table_block(
            ["method", "rule", "pairs", f"{reference} %", "rule %", "added pp [95% CI]", "p (t)", "p (sign-flip)"], body)]
    return blocks

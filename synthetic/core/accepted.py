"""The code values the generator may write: those seeds/code_values.csv accepts (read by contracts/code_values.py,
the list gate 1 and the dbt tests also read). How often each code is drawn is a parameter keyed by code
(synthetic/parameters.yaml); a share for a code the seed does not accept, a fixed code the seed does not accept, or
a written value outside the seed stops the generator, so a code not in the seed can never reach a drop."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import polars as pl

from contracts.code_values import accepted_codes, load_code_values


def require_accepted(feed: str, column: str, codes: Iterable[object]) -> None:
    """Every code (compared as text) is accepted for feed.column, else ValueError naming the ones that are not."""
    accepted = set(accepted_codes(feed, column))
    bad = sorted({str(c) for c in codes} - accepted)
    if bad:
        raise ValueError(
            f"{feed}.{column}: the generator would write {bad}, which seeds/code_values.csv does not accept"
        )


def shares_by_code(feed: str, column: str, shares: Mapping[str, float]) -> tuple[list[str], np.ndarray]:
    """The codes named by a parameter's shares, in the parameter's order (so editing the seed never reshuffles
    draws), and their probabilities (summing to 1). Every code must be accepted by the seed; accepted codes
    without a share are never drawn."""
    require_accepted(feed, column, shares)
    codes = [str(c) for c in shares]
    weights = np.array([float(v) for v in shares.values()])
    if (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"{feed}.{column}: shares must be non-negative with a positive total, got {dict(shares)}")
    return codes, weights / weights.sum()


def draw_codes(feed: str, column: str, shares: Mapping[str, float], u01: np.ndarray) -> np.ndarray:
    """One code per uniform draw in u01, with the probabilities of shares_by_code (inverse CDF: the same draw
    always picks the same code)."""
    codes, p = shares_by_code(feed, column, shares)
    pick = np.searchsorted(np.cumsum(p), np.asarray(u01), side="right").clip(0, len(codes) - 1)
    return np.array(codes, dtype=object)[pick]


def check_frame(feed: str, df: pl.DataFrame) -> None:
    """Every coded column of a feed about to be written holds only accepted codes (nulls aside)."""
    for (name, column), _ in load_code_values().items():
        if name == feed and column in df.columns:
            require_accepted(feed, column, df[column].drop_nulls().unique().to_list())

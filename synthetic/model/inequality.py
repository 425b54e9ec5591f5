"""Care that depends on who you are: the deprivation (and, where the evidence says so, ethnicity and age)
terms of every care process and treatment, read from parameters.yaml.

A process `care.<name>` gives its published national rate by IMD quintile (1 = most deprived). The
person's log-odds shift is logit(rate of their quintile) minus the mean over the five quintiles (nationally
each is a fifth of the population), so `base` is the chance for a person at England-average deprivation,
and a less deprived area such as C&P comes out above it as it should. Ethnicity and age terms are odds
ratios against everyone else. Rates of contact (not probabilities) use rate ratios the same way.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..core.parameters import array, exists, param
from .population import BLACK, MIXED_OR_OTHER, SOUTH_ASIAN, Universe

ETHNIC_GROUPS = {"south_asian": SOUTH_ASIAN, "black": BLACK, "mixed_or_other": MIXED_OR_OTHER}


def logit(p: npt.ArrayLike) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.log(p) - np.log1p(-p)


def expit(x: npt.ArrayLike) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def imd_quintile(u: Universe, idx: np.ndarray | None = None) -> np.ndarray:
    """National IMD 2019 quintile, 1 = most deprived (from the LSOA's decile)."""
    decile = u.imd if idx is None else u.imd[idx]
    return ((decile.astype(np.int64) + 1) // 2).clip(1, 5)


def log_shift(u: Universe, idx: npt.ArrayLike, process: str, day: npt.ArrayLike | None = None) -> np.ndarray:
    """Person-level shift on the log-odds (or log-rate) scale for one care process."""
    spec = f"care.{process}"
    idx = np.asarray(idx, dtype=np.int64)
    if exists(spec + ".by_imd_quintile"):
        rates = array(spec + ".by_imd_quintile")
        by_q = logit(rates)
    else:
        by_q = np.log(array(spec + ".rate_ratio_by_imd_quintile"))
    shift = (by_q - by_q.mean())[imd_quintile(u, idx) - 1]
    if exists(spec + ".ethnicity_odds_ratio"):
        eth = u.ethnicity[idx]
        for group, ratio in param(spec + ".ethnicity_odds_ratio").items():
            shift = shift + np.log(ratio) * np.isin(eth, ETHNIC_GROUPS[group])
    if exists(spec + ".age_odds_ratio") and day is not None:
        age = (np.asarray(day, dtype=np.float64) - u.dob[idx]) / 365.25
        for band in param(spec + ".age_odds_ratio"):
            shift = shift + np.log(band["odds_ratio"]) * ((age >= band["from"]) & (age < band.get("to", 200)))
    return shift


def probability(
    u: Universe, idx: npt.ArrayLike, process: str, base: float | None = None, day: npt.ArrayLike | None = None
) -> np.ndarray:
    """Chance of the process for each person: the C&P-calibrated base moved by the person's shift."""
    b = param(f"care.{process}.base") if base is None else base
    return expit(logit(b) + log_shift(u, idx, process, day))


def rate_ratio(u: Universe, idx: npt.ArrayLike, process: str) -> np.ndarray:
    """Multiplier on a contact rate (mean 1 across the five quintiles on the log scale)."""
    return np.exp(log_shift(u, idx, process))

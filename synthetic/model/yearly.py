"""Per-calendar-year state of everyone registered in that year: the covariates every activity model
(admissions, A&E, outpatients, community, mental health) draws its rates from. Computed once per year
for the whole universe, so a year's activity never depends on the extract date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core import calendar as cal
from .clinical import COUNTED_CONDITIONS
from .population import PRESENT, Universe

YEAR = cal.DAYS_PER_YEAR
FLAG_CONDITIONS = (
    "hypertension",
    "diabetes",
    "diabetes_type1",
    "diabetes_type2",
    "copd",
    "asthma",
    "af",
    "chd",
    "stroke_tia",
    "heart_failure",
    "ckd",
    "pad",
    "smi",
    "learning_disability",
    "autism",
    "dementia",
    "epilepsy",
    "depression",
    "cancer",
)


@dataclass
class YearState:
    year: int
    idx: np.ndarray  # persons registered at some point in the year
    lo: np.ndarray  # first active day in the year
    hi: np.ndarray  # last active day in the year
    frac: np.ndarray  # share of the year registered
    age: np.ndarray  # at mid-year (or mid-active period)
    flags: dict[str, np.ndarray] = field(default_factory=dict)
    frailty: np.ndarray = field(init=False)
    care_home: np.ndarray = field(init=False)
    palliative: np.ndarray = field(init=False)
    n_conditions: np.ndarray = field(init=False)
    extra: dict[str, np.ndarray] = field(init=False)  # the community feeds' own covariates, set on first use

    def band5(self) -> np.ndarray:
        """Age band 0-4, 5-17, 18-64, 65-79, 80+ as 0..4."""
        return np.searchsorted([5, 18, 65, 80], self.age, side="right")


def year_state(u: Universe, year: int, present_only: bool = False) -> YearState:
    y0, y1 = cal.year_start(year), cal.year_start(year + 1) - 1
    active = (u.entry_day <= y1) & (u.exit_day >= y0)
    if present_only:
        active &= u.group == PRESENT
    idx = np.flatnonzero(active)
    lo = np.maximum(u.entry_day[idx], y0)
    hi = np.minimum(u.exit_day[idx], y1)
    frac = (hi - lo + 1) / (y1 - y0 + 1)
    mid = (lo + hi) // 2
    c = u.clinical
    st = YearState(year, idx, lo, hi, frac, cal.age_years(u.dob[idx], mid))
    for name in FLAG_CONDITIONS:
        st.flags[name] = c.has(name, idx, mid)
    st.flags["cancer_recent"] = (c.cancer_day[idx] <= mid) & (c.cancer_day[idx] > mid - YEAR)
    st.flags["smi_recent"] = (c.onset["smi"][idx] <= mid) & (c.onset["smi"][idx] > mid - 3 * YEAR)
    st.frailty = c.frailty_level(idx, mid)
    st.care_home = c.in_care_home(idx, mid)
    st.palliative = c.palliative_day[idx] <= mid
    n = np.zeros(idx.size, dtype=np.int16)
    for name in COUNTED_CONDITIONS:
        n += st.flags[name]
    st.n_conditions = n
    return st


def rate_by_age(age: np.ndarray, ages: np.ndarray | Sequence[float], rates: np.ndarray | Sequence[float]) -> np.ndarray:
    return np.interp(age, ages, rates)

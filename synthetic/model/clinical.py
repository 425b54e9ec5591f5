"""What the synthetic world knows about each person's health (filled by conditions.py): its own module so the
population can name the type without importing the conditions model."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import calendar as cal

YEAR = cal.DAYS_PER_YEAR


# The long-term conditions counted for multimorbidity (condition_count, YearState.n_conditions).
COUNTED_CONDITIONS = (
    "hypertension",
    "diabetes",
    "copd",
    "asthma",
    "af",
    "chd",
    "stroke_tia",
    "heart_failure",
    "ckd",
    "pad",
    "smi",
    "dementia",
    "epilepsy",
    "cancer",
    "depression",
    "learning_disability",
)


@dataclass
class Clinical:
    onset: dict[str, np.ndarray] = field(default_factory=dict)  # condition -> diagnosis day (NEVER if none)
    resolve: dict[str, np.ndarray] = field(default_factory=dict)  # condition -> resolved-code day (NEVER if none)
    rediagnose: dict[str, np.ndarray] = field(default_factory=dict)  # condition -> re-diagnosis day (NEVER if none)
    # condition -> index into codes.DIAGNOSIS[condition]
    code_choice: dict[str, np.ndarray] = field(default_factory=dict)
    smoking: np.ndarray = field(init=False)  # 0 never, 1 ex, 2 current (adult status)
    bmi_adult: np.ndarray = field(init=False)
    frailty_day: np.ndarray = field(init=False)  # (3, n) day the person became mild / moderate / severe (NEVER)
    frailty_code_day: np.ndarray = field(init=False)  # (3, n) day each severity is first coded in primary care
    care_home_day: np.ndarray = field(init=False)
    cancer_day: np.ndarray = field(init=False)
    cancer_site: np.ndarray = field(init=False)
    cancer_stage: np.ndarray = field(init=False)
    cancer_death_day: np.ndarray = field(init=False)
    palliative_day: np.ndarray = field(init=False)
    palliative_off_day: np.ndarray = field(init=False)
    died_in_hospital: np.ndarray = field(init=False)
    social: dict[str, np.ndarray] = field(default_factory=dict)  # carer/homeless/veteran/... -> code day
    carer_end_day: np.ndarray = field(init=False)
    propensity: dict[str, np.ndarray] = field(default_factory=dict)  # persistent personal utilisation factors
    params: dict[str, np.ndarray] = field(default_factory=dict)  # person-level measurement and treatment parameters

    def has(self, name: str, idx: np.ndarray, day: int | np.ndarray) -> np.ndarray:
        """On the register for `name` at `day` (diagnosed, and not resolved unless re-diagnosed)."""
        if name == "diabetes":
            return self.has("diabetes_type1", idx, day) | self.has("diabetes_type2", idx, day)
        if name == "cancer":
            d = self.cancer_day[idx]
            return (d <= day) & (d > day - 5 * YEAR)
        if name == "cvd":
            return self.has("chd", idx, day) | self.has("stroke_tia", idx, day) | self.has("pad", idx, day)
        on = self.onset[name][idx] <= day
        res = self.resolve.get(name)
        if res is None:
            return on
        return on & ~((res[idx] <= day) & (self.rediagnose[name][idx] > day))

    def ever(self, name: str, idx: np.ndarray, day: int | np.ndarray) -> np.ndarray:
        if name == "diabetes":
            return (self.onset["diabetes_type1"][idx] <= day) | (self.onset["diabetes_type2"][idx] <= day)
        return self.onset[name][idx] <= day

    def frailty_level(self, idx: np.ndarray, day: int | np.ndarray) -> np.ndarray:
        """0 fit, 1 mild, 2 moderate, 3 severe (true state, whether coded or not)."""
        return (
            (self.frailty_day[0, idx] <= day).astype(np.int8)
            + (self.frailty_day[1, idx] <= day)
            + (self.frailty_day[2, idx] <= day)
        )

    def in_care_home(self, idx: np.ndarray, day: int | np.ndarray) -> np.ndarray:
        return self.care_home_day[idx] <= day

    def condition_count(self, idx: np.ndarray, day: int | np.ndarray) -> np.ndarray:
        n = np.zeros(np.size(idx), dtype=np.int16)
        for name in COUNTED_CONDITIONS:
            n += self.has(name, idx, day)
        return n

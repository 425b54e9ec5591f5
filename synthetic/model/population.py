"""The synthetic population ("universe"): everyone who lives in the area at some point between
HISTORY_START and HORIZON_END, with registration episodes, deaths and moves on an absolute calendar.

Exactly `patients` people are alive and registered on ANCHOR (England-like age/sex pyramid, C&P
geography and ethnicity). Around them: people who died or moved away before ANCHOR, and births and
arrivals after it, at rates that keep the registered population roughly stable, so any extract date
in the supported range sees about `patients` registered people plus the recently deceased/departed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import calendar as cal
from ..core.nhs_number import make_nhs_numbers
from ..core.randomness import stream_rng
from ..core.reference import DISTRICTS, geography

# ONS-like England mid-year population, % by 5-year band 0-4 ... 95-99, 100-104
AGE_BAND_PCT = np.array([5.4, 5.9, 6.1, 5.8, 6.1, 6.6, 6.9, 6.8, 6.4, 6.2, 6.8, 6.7, 5.9, 5.0, 4.8, 3.9, 2.5, 1.5, 0.7, 0.2, 0.03])
FEMALE_SHARE = np.array([.488, .488, .487, .485, .49, .50, .505, .505, .505, .505, .505, .507, .51, .515, .52, .53, .555, .60, .67, .75, .8])
# relative chance of moving house into/out of the area by age band (students, young workers, families)
MOBILITY = np.array([1.0, 0.6, 0.4, 1.6, 3.2, 2.8, 1.9, 1.2, 0.9, 0.7, 0.5, 0.45, 0.4, 0.35, 0.3, 0.3, 0.3, 0.35, 0.35, 0.3, 0.3])

DEATH_RATE = 0.0090        # crude deaths per person-year
MOVE_OUT_RATE = 0.020      # moves out of the ICB per person-year
BIRTH_RATE = 0.0110        # births per person-year
MOVE_IN_RATE = 0.0195      # arrivals per person-year
PRACTICE_SWITCH_SHARE = 0.10   # people who change practice within the area (two registration episodes)
OUT_OF_DISTRICT_SHARE = 0.03   # registered with a practice outside their district of residence
OPT_OUT_SHARE = 0.03
LSOA_MISSING_SHARE = 0.003

ETHNIC_CATEGORIES = ("A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z")
# share by district (order of DISTRICTS): Cambridge, East Cambs, Fenland, Huntingdonshire, Peterborough, South Cambs
_ETHNIC_BY_DISTRICT = np.array([
    [.640, .012, .125, .008, .006, .015, .012, .035, .005, .010, .030, .005, .015, .004, .040, .030, .020],
    [.880, .006, .055, .005, .002, .006, .004, .007, .002, .002, .006, .002, .004, .001, .005, .005, .010],
    [.850, .004, .100, .004, .002, .004, .003, .004, .003, .001, .004, .002, .003, .001, .002, .004, .010],
    [.860, .006, .055, .006, .003, .006, .005, .012, .005, .002, .008, .004, .008, .002, .004, .006, .010],
    [.700, .005, .100, .010, .005, .008, .007, .025, .055, .004, .020, .006, .015, .004, .006, .010, .015],
    [.830, .008, .070, .005, .003, .010, .007, .015, .002, .002, .012, .002, .005, .001, .012, .008, .010],
])
ETHNICITY_NOT_RECORDED = 0.05
SOUTH_ASIAN = (7, 8, 9, 10)   # H J K L
BLACK = (11, 12, 13)          # M N P
MIXED_OR_OTHER = (3, 4, 5, 6, 14, 15)

PRESENT, PAST_DECEASED, PAST_MOVED, FUTURE_ENTRANT = 0, 1, 2, 3
SEX_CODES = ("1", "2", "9", "X")


@dataclass
class Universe:
    seed: int
    patients: int
    group: np.ndarray
    dob: np.ndarray
    sex: np.ndarray            # index into SEX_CODES
    lsoa: np.ndarray
    lsoa_missing: np.ndarray
    district: np.ndarray
    imd: np.ndarray
    ethnicity: np.ndarray      # index into ETHNIC_CATEGORIES, -1 = not recorded
    practice1: np.ndarray
    practice2: np.ndarray
    switch_day: np.ndarray
    entry_day: np.ndarray      # first registration start
    exit_day: np.ndarray       # death or moving away (NEVER if neither before HORIZON_END)
    died: np.ndarray
    opt_out: np.ndarray
    latent: np.ndarray         # shared multimorbidity factor
    nhs: np.ndarray            # int64 NHS numbers
    clinical: object = None
    extras: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return self.dob.size

    @property
    def male(self) -> np.ndarray:
        return self.sex == 0

    @property
    def female(self) -> np.ndarray:
        return self.sex == 1

    def age_at(self, day, idx=None) -> np.ndarray:
        dob = self.dob if idx is None else self.dob[idx]
        return cal.age_years(dob, day)

    def practice_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(day >= self.switch_day[idx], self.practice2[idx], self.practice1[idx])

    def active_between(self, lo: int, hi: int) -> np.ndarray:
        """Persons registered at some point in [lo, hi]."""
        return np.flatnonzero((self.entry_day <= hi) & (self.exit_day > lo))


def _sample_ages(rng, n, weights) -> np.ndarray:
    band = rng.choice(weights.size, size=n, p=weights / weights.sum())
    return band * 5 + rng.random(n) * 5


def _band(age) -> np.ndarray:
    return np.clip((np.asarray(age) // 5).astype(np.int64), 0, AGE_BAND_PCT.size - 1)


def _sex_for_age(rng, age) -> np.ndarray:
    female = rng.random(age.size) < FEMALE_SHARE[_band(age)]
    sex = np.where(female, 1, 0).astype(np.int8)
    u = rng.random(age.size)  # a handful of indeterminate (9) / not known (X)
    sex[u < 0.0003] = 2
    sex[(u >= 0.0003) & (u < 0.0005)] = 3
    return sex


def _ethnicity(rng, district, age) -> np.ndarray:
    n = district.size
    probs = _ETHNIC_BY_DISTRICT / _ETHNIC_BY_DISTRICT.sum(axis=1, keepdims=True)
    p_white_british = probs[district, 0]
    # younger people are more diverse than older people
    tilt = np.where(age < 40, 1.25, np.where(age >= 65, 0.45, 1.0))
    p_minority = np.clip((1 - p_white_british) * tilt, 0, 0.9)
    minority = rng.random(n) < p_minority
    cum = np.cumsum(probs[:, 1:], axis=1)
    cum /= cum[:, -1:]
    u = rng.random(n)
    cat = 1 + (u[:, None] > cum[district]).sum(axis=1)
    eth = np.where(minority, cat, 0).astype(np.int8)
    eth[rng.random(n) < ETHNICITY_NOT_RECORDED] = -1
    return eth


def _practices(rng, seed, district) -> tuple[np.ndarray, np.ndarray]:
    geo = geography()
    n_prac = geo.practice_codes.size
    # practice list sizes vary (lognormal weights, fixed per seed)
    weight = np.exp(stream_rng(seed, "practice-size").normal(0, 0.55, n_prac))
    by_district = [np.flatnonzero(geo.practice_district == d) for d in range(len(DISTRICTS))]
    first = np.empty(district.size, dtype=np.int16)
    second = np.empty(district.size, dtype=np.int16)
    u1, u2 = rng.random(district.size), rng.random(district.size)
    for d, members in enumerate(by_district):
        who = np.flatnonzero(district == d)
        cum = np.cumsum(weight[members]) / weight[members].sum()
        pick = np.searchsorted(cum, u1[who], side="right").clip(0, members.size - 1)
        first[who] = members[pick]
        pick2 = np.searchsorted(cum, u2[who], side="right").clip(0, members.size - 1)
        same = members[pick2] == first[who]
        pick2 = np.where(same, (pick2 + 1) % members.size, pick2)
        second[who] = members[pick2]
    # a few people are registered outside their district
    away = rng.random(district.size) < OUT_OF_DISTRICT_SHARE
    cum_all = np.cumsum(weight) / weight.sum()
    first[away] = np.searchsorted(cum_all, rng.random(int(away.sum())), side="right").clip(0, n_prac - 1)
    return first, second


def draw_people(patients: int, seed: int) -> tuple[Universe, np.random.Generator]:
    """Everyone in the synthetic world for (patients, seed), before conditions and future exits (world.py
    adds those); returns the population stream, which future exits continue."""
    if patients < 1:
        raise ValueError("patients must be >= 1")
    rng = stream_rng(seed, "population")
    years_before = (cal.ANCHOR - cal.HISTORY_START) / cal.DAYS_PER_YEAR
    years_after = (cal.HORIZON_END - cal.ANCHOR) / cal.DAYS_PER_YEAR
    n_present = patients
    n_dead = int(round(DEATH_RATE * patients * years_before))
    n_moved = int(round(MOVE_OUT_RATE * patients * years_before))
    n_births = int(round(BIRTH_RATE * patients * years_after))
    n_arrivals = int(round(MOVE_IN_RATE * patients * years_after))
    group = np.repeat(np.array([PRESENT, PAST_DECEASED, PAST_MOVED, FUTURE_ENTRANT, FUTURE_ENTRANT], dtype=np.int8),
                      [n_present, n_dead, n_moved, n_births, n_arrivals])
    n = group.size

    # --- ages and key dates per group ------------------------------------------------------------
    dob = np.empty(n, dtype=np.int64)
    entry = np.empty(n, dtype=np.int64)
    exit_ = np.full(n, cal.NEVER, dtype=np.int64)
    died = np.zeros(n, dtype=bool)
    age_ref = np.empty(n)  # age at the group's reference moment (anchor / exit / entry)

    s = slice(0, n_present)
    age = _sample_ages(rng, n_present, AGE_BAND_PCT)
    age_ref[s] = age
    dob[s] = cal.ANCHOR - np.round(age * cal.DAYS_PER_YEAR).astype(np.int64)
    # registration start: born here since HISTORY_START, arrived since then (the mobile more often), or
    # registered from some point before HISTORY_START (long-standing residents)
    arrived_recently = rng.random(n_present) < np.clip(MOVE_IN_RATE * 10 * MOBILITY[_band(age)] / 1.3, 0, 0.6)
    before_history = np.maximum(cal.HISTORY_START - dob[s] - 7, 1)
    long_standing = dob[s] + 7 + (rng.random(n_present) * before_history).astype(np.int64)
    recent_lo = np.maximum(dob[s] + 7, cal.HISTORY_START)
    recent = recent_lo + (rng.random(n_present) * np.maximum(cal.ANCHOR - recent_lo, 1)).astype(np.int64)
    born_since = dob[s] >= cal.HISTORY_START
    born_here = born_since & (rng.random(n_present) < 0.85)
    entry[s] = np.where(born_here, dob[s] + rng.integers(7, 56, n_present),
                        np.where(arrived_recently | born_since, recent, long_standing))
    entry[s] = np.minimum(entry[s], cal.ANCHOR - 1)

    s = slice(n_present, n_present + n_dead)
    death_w = AGE_BAND_PCT * np.exp(0.09 * (np.arange(AGE_BAND_PCT.size) * 5 + 2.5))
    death_w[0] += AGE_BAND_PCT[0] * 0.9  # infant deaths
    age = np.minimum(_sample_ages(rng, n_dead, death_w), 106)
    exit_[s] = cal.HISTORY_START + (rng.random(n_dead) * (cal.ANCHOR - cal.HISTORY_START)).astype(np.int64)
    died[s] = True
    age_ref[s] = age
    dob[s] = exit_[s] - np.round(age * cal.DAYS_PER_YEAR).astype(np.int64)
    entry[s] = np.maximum(dob[s] + 7, exit_[s] - (rng.exponential(25.0, n_dead) * cal.DAYS_PER_YEAR).astype(np.int64))

    s = slice(n_present + n_dead, n_present + n_dead + n_moved)
    age = _sample_ages(rng, n_moved, AGE_BAND_PCT * MOBILITY)
    exit_[s] = cal.HISTORY_START + (rng.random(n_moved) * (cal.ANCHOR - cal.HISTORY_START)).astype(np.int64)
    age_ref[s] = age
    dob[s] = exit_[s] - np.round(age * cal.DAYS_PER_YEAR).astype(np.int64)
    entry[s] = np.maximum(dob[s] + 7, exit_[s] - 30 - (rng.exponential(6.0, n_moved) * cal.DAYS_PER_YEAR).astype(np.int64))

    s = slice(n_present + n_dead + n_moved, n_present + n_dead + n_moved + n_births)
    dob[s] = cal.ANCHOR + (rng.random(n_births) * (cal.HORIZON_END - cal.ANCHOR)).astype(np.int64)
    entry[s] = dob[s] + rng.integers(7, 56, n_births)
    age_ref[s] = 0.0

    s = slice(n_present + n_dead + n_moved + n_births, n)
    age = _sample_ages(rng, n_arrivals, AGE_BAND_PCT * MOBILITY)
    entry[s] = cal.ANCHOR + (rng.random(n_arrivals) * (cal.HORIZON_END - cal.ANCHOR)).astype(np.int64)
    dob[s] = entry[s] - np.round(age * cal.DAYS_PER_YEAR).astype(np.int64)
    age_ref[s] = age

    dob = np.maximum(dob, cal.DATE_FLOOR + 1)
    # a registration starts on or after birth and, for the people who left, on or before leaving
    entry = np.maximum(entry, dob)
    entry = np.where(exit_ < cal.NEVER, np.minimum(entry, np.maximum(exit_, dob)), entry)

    # --- who they are and where they live --------------------------------------------------------
    geo = geography()
    sex = _sex_for_age(rng, age_ref)
    lsoa = rng.choice(geo.lsoa_codes.size, size=n, p=geo.lsoa_population / geo.lsoa_population.sum()).astype(np.int16)
    district = geo.lsoa_district[lsoa]
    imd = geo.lsoa_imd_decile[lsoa]
    ethnicity = _ethnicity(rng, district, age_ref)
    practice1, practice2 = _practices(rng, seed, district)
    switch = entry + ((0.25 + rng.random(n) * 15) * cal.DAYS_PER_YEAR).astype(np.int64)
    switch = np.where(rng.random(n) < PRACTICE_SWITCH_SHARE, switch, cal.NEVER)
    opt_out = rng.random(n) < OPT_OUT_SHARE
    lsoa_missing = rng.random(n) < LSOA_MISSING_SHARE
    # the shared multimorbidity factor; people who died are, on average, the sicker ones
    latent = rng.normal(0, 1, n) + np.where(group == PAST_DECEASED, 0.5, 0.0)

    u = Universe(seed=seed, patients=patients, group=group, dob=dob, sex=sex, lsoa=lsoa, lsoa_missing=lsoa_missing,
                 district=district, imd=imd, ethnicity=ethnicity, practice1=practice1, practice2=practice2,
                 switch_day=switch, entry_day=entry, exit_day=exit_, died=died, opt_out=opt_out,
                 latent=latent.astype(np.float32), nhs=make_nhs_numbers(np.arange(n), seed))
    u.extras["age_ref"] = age_ref
    u.extras["ref_day"] = np.where(group == PRESENT, cal.ANCHOR, np.where(group == FUTURE_ENTRANT, entry, exit_))

    return u, rng


GOMPERTZ_SLOPE = 0.09


def future_exits(u: Universe, rng, multiplier: np.ndarray) -> None:
    """Deaths (Gompertz hazard x personal multiplier, calibrated to DEATH_RATE) and moves for people
    registered on or after ANCHOR; past leavers already have their exit."""
    future = np.flatnonzero((u.group == PRESENT) | (u.group == FUTURE_ENTRANT))
    start = np.maximum(u.entry_day[future], cal.ANCHOR)
    a0 = np.maximum(cal.age_years(u.dob[future], start), 0.0)
    present = u.group[future] == PRESENT
    # calibrate the baseline so the crude death rate among the present population is DEATH_RATE
    # calibrate the baseline so the crude death rate among the present population is DEATH_RATE, cancer
    # deaths (which come from the tumour's own survival) included; solve on P(death in year 1), not the
    # summed hazard, because the frailest have hazards near or above 1
    cancer_deaths = (u.clinical.cancer_death_day[future][present] < cal.ANCHOR + 5 * cal.DAYS_PER_YEAR).sum() / 5.0
    wanted = max(DEATH_RATE * present.sum() - cancer_deaths, 0.3 * DEATH_RATE * present.sum())
    first_year = np.exp(GOMPERTZ_SLOPE * a0[present]) * multiplier[future][present] * (np.exp(GOMPERTZ_SLOPE) - 1) / GOMPERTZ_SLOPE
    lo, hi = -25.0, 5.0
    for _ in range(40):
        alpha = (lo + hi) / 2
        if (-np.expm1(-np.exp(alpha) * first_year)).sum() < wanted:
            lo = alpha
        else:
            hi = alpha
    alpha = (lo + hi) / 2
    scale = np.exp(alpha) * multiplier[future]
    e = rng.exponential(1.0, future.size)
    death_age = np.log(np.exp(GOMPERTZ_SLOPE * a0) + GOMPERTZ_SLOPE * e / scale) / GOMPERTZ_SLOPE
    death_day = u.dob[future] + np.round(death_age * cal.DAYS_PER_YEAR).astype(np.int64)
    death_day = np.maximum(death_day, start + 1)
    # cancer deaths come from the tumour's own survival
    cancer_death = u.clinical.cancer_death_day[future]
    death_day = np.minimum(death_day, np.maximum(cancer_death, start + 1))
    move_rate = MOVE_OUT_RATE * MOBILITY[_band(a0)] / 1.0
    move_day = start + 1 + (rng.exponential(1.0, future.size) / move_rate * cal.DAYS_PER_YEAR).astype(np.int64)
    exit_day = np.minimum(death_day, move_day)
    died = death_day <= move_day
    beyond = exit_day >= cal.HORIZON_END
    u.exit_day[future] = np.where(beyond, cal.NEVER, exit_day)
    u.died[future] = died & ~beyond

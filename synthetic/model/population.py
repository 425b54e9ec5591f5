"""The synthetic population ("universe"): everyone who lives in the area at some point between
HISTORY_START and HORIZON_END, with registration episodes, deaths and moves on an absolute calendar.

Exactly `patients` people are alive and registered on ANCHOR (England-like age/sex pyramid, C&P
geography and ethnicity). Around them: people who died or moved away before ANCHOR, and births and
arrivals after it, at rates that keep the registered population roughly stable, so any extract date
in the supported range sees about `patients` registered people plus the recently deceased/departed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core import calendar as cal
from ..core.nhs_number import make_nhs_numbers
from ..core.parameters import array, param
from ..core.randomness import shard_seed, stream_rng
from ..core.reference import DISTRICTS, geography
from .clinical import Clinical

# rates and shares: synthetic/parameters.yaml (population.*), each with its source
AGE_BAND_PCT = array("population.age_band_pct")
FEMALE_SHARE = array("population.female_share")
MOBILITY = array("population.mobility_by_band")  # relative chance of moving into/out of the area by age band
DEATH_RATE = param("population.death_rate")
MOVE_OUT_RATE = param("population.move_out_rate")
BIRTH_RATE = param("population.birth_rate")
MOVE_IN_RATE = param("population.move_in_rate")
PRACTICE_SWITCH_SHARE = param("population.practice_switch_share")
OUT_OF_DISTRICT_SHARE = param("population.out_of_district_share")
OPT_OUT_SHARE = param("population.opt_out_share")
LSOA_MISSING_SHARE = param("population.lsoa_missing_share")

ETHNIC_CATEGORIES = ("A", "B", "C", "D", "E", "F", "G", "H", "J", "K", "L", "M", "N", "P", "R", "S", "Z")
# share by district (order of DISTRICTS): Cambridge, East Cambs, Fenland, Huntingdonshire, Peterborough, South Cambs
_ETHNIC_BY_DISTRICT = array("population.ethnicity_by_district")
ETHNICITY_NOT_RECORDED = param("population.ethnicity_not_recorded")
SOUTH_ASIAN = (7, 8, 9, 10)  # H J K L
BLACK = (11, 12, 13)  # M N P
MIXED_OR_OTHER = (3, 4, 5, 6, 14, 15)

PRESENT, PAST_DECEASED, PAST_MOVED, FUTURE_ENTRANT = 0, 1, 2, 3
SEX_CODES = ("1", "2", "9", "X")


@dataclass
class Universe:
    seed: int
    patients: int
    group: np.ndarray
    dob: np.ndarray
    sex: np.ndarray  # index into SEX_CODES
    lsoa: np.ndarray
    lsoa_missing: np.ndarray
    district: np.ndarray
    imd: np.ndarray
    ethnicity: np.ndarray  # index into ETHNIC_CATEGORIES, -1 = not recorded
    practice1: np.ndarray
    practice2: np.ndarray
    switch_day: np.ndarray
    entry_day: np.ndarray  # first registration start
    exit_day: np.ndarray  # death or moving away (NEVER if neither before HORIZON_END)
    died: np.ndarray
    opt_out: np.ndarray
    latent: np.ndarray  # shared multimorbidity factor
    nhs: np.ndarray  # int64 NHS numbers
    clinical: Clinical = field(init=False)  # set by conditions.assign_clinical
    extras: dict[str, Any] = field(default_factory=dict)
    first_serial: int = 0  # serial of person 0 in the whole population (shards: draw_people)

    @property
    def n(self) -> int:
        return self.dob.size

    @property
    def male(self) -> np.ndarray:
        return self.sex == 0

    @property
    def female(self) -> np.ndarray:
        return self.sex == 1

    def age_at(self, day: npt.ArrayLike, idx: np.ndarray | None = None) -> np.ndarray:
        dob = self.dob if idx is None else self.dob[idx]
        return cal.age_years(dob, day)

    def practice_at(self, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        return np.where(day >= self.switch_day[idx], self.practice2[idx], self.practice1[idx])

    def serial(self, person: npt.ArrayLike) -> np.ndarray:
        """Serials in the whole population of persons of this universe: what event ids are made from."""
        return self.first_serial + np.asarray(person, dtype=np.int64)

    def active_between(self, lo: int, hi: int) -> np.ndarray:
        """Persons registered at some point in [lo, hi]."""
        return np.flatnonzero((self.entry_day <= hi) & (self.exit_day > lo))


def _sample_ages(rng: np.random.Generator, n: int, weights: np.ndarray) -> np.ndarray:
    band = rng.choice(weights.size, size=n, p=weights / weights.sum())
    return band * 5 + rng.random(n) * 5


def deprivation_log_hazard(imd_decile: np.ndarray) -> np.ndarray:
    """Log relative hazard of dying by national IMD quintile (sized to the life-expectancy gap)."""
    by_quintile = array("mortality.deprivation_log_hazard_by_imd_quintile")
    return by_quintile[((np.asarray(imd_decile, dtype=np.int64) + 1) // 2).clip(1, 5) - 1]


def _sample_ages_between(rng: np.random.Generator, n: int, lo: float, hi: float) -> np.ndarray:
    """Ages in [lo, hi) with the England pyramid's shape inside the range (single years)."""
    years = np.arange(int(lo), int(hi))
    w = AGE_BAND_PCT[np.minimum(years // 5, AGE_BAND_PCT.size - 1)]
    return rng.choice(years, size=n, p=w / w.sum()) + rng.random(n)


def _present_ages(rng: np.random.Generator, lsoa: np.ndarray) -> np.ndarray:
    """Ages of the people registered on ANCHOR: the broad 0-15 / 16-59 / 60+ split of their own LSOA
    (seeds/imd2019_lsoa.csv), the England pyramid within each (so Fenland is older, Core20 areas younger)."""
    geo = geography()
    shares = geo.lsoa_age_shares[lsoa]
    cum = np.cumsum(shares, axis=1)
    group = (rng.random(lsoa.size)[:, None] > cum[:, :-1]).sum(axis=1)
    age = np.empty(lsoa.size)
    for g, (lo, hi) in enumerate(((0, 16), (16, 60), (60, 105))):
        m = group == g
        age[m] = _sample_ages_between(rng, int(m.sum()), lo, hi)
    return age


def _band(age: npt.ArrayLike) -> np.ndarray:
    return np.clip((np.asarray(age) // 5).astype(np.int64), 0, AGE_BAND_PCT.size - 1)


def _sex_for_age(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    female = rng.random(age.size) < FEMALE_SHARE[_band(age)]
    sex = np.where(female, 1, 0).astype(np.int8)
    u = rng.random(age.size)  # a handful of indeterminate (9) / not known (X)
    other = param("population.sex_other_cumulative")
    sex[u < other["indeterminate"]] = 2
    sex[(u >= other["indeterminate"]) & (u < other["not_known"])] = 3
    return sex


def _ethnicity(rng: np.random.Generator, district: np.ndarray, age: np.ndarray) -> np.ndarray:
    n = district.size
    probs = _ETHNIC_BY_DISTRICT / _ETHNIC_BY_DISTRICT.sum(axis=1, keepdims=True)
    p_white_british = probs[district, 0]
    # younger people are more diverse than older people
    t = param("population.ethnicity_age_tilt")
    tilt = np.where(age < 40, t["under_40"], np.where(age >= 65, t["age_65_plus"], 1.0))
    p_minority = np.clip((1 - p_white_british) * tilt, 0, t["minority_max"])
    minority = rng.random(n) < p_minority
    cum = np.cumsum(probs[:, 1:], axis=1)
    cum /= cum[:, -1:]
    u = rng.random(n)
    cat = 1 + (u[:, None] > cum[district]).sum(axis=1)
    eth = np.where(minority, cat, 0).astype(np.int8)
    eth[rng.random(n) < ETHNICITY_NOT_RECORDED] = -1
    return eth


def _practices(rng: np.random.Generator, seed: int, district: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    geo = geography()
    n_prac = geo.practice_codes.size
    # practice list sizes vary (lognormal weights, fixed per seed) within PCNs of similar size: a PCN is
    # formed to serve 30-50k people, so each PCN's share of its district is about equal
    sizes = stream_rng(seed, "practice-size")
    weight = np.exp(sizes.normal(0, param("population.practice_size_sd"), n_prac))
    pcn_total = np.bincount(geo.practice_pcn, weights=weight)
    pcn_weight = np.exp(sizes.normal(0, param("population.pcn_size_sd"), pcn_total.size))
    weight = weight / pcn_total[geo.practice_pcn] * pcn_weight[geo.practice_pcn]
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


def group_sizes(patients: int) -> list[int]:
    """People per group (present, past deceased, past moved, births, arrivals) of the world of `patients`."""
    years_before = (cal.ANCHOR - cal.HISTORY_START) / cal.DAYS_PER_YEAR
    years_after = (cal.HORIZON_END - cal.ANCHOR) / cal.DAYS_PER_YEAR
    return [
        patients,
        round(DEATH_RATE * patients * years_before),
        round(MOVE_OUT_RATE * patients * years_before),
        round(BIRTH_RATE * patients * years_after),
        round(MOVE_IN_RATE * patients * years_after),
    ]


def universe_size(patients: int) -> int:
    """Everyone in the world of `patients` (about 1.5 times `patients`): the serials one shard takes."""
    return sum(group_sizes(patients))


def draw_people(patients: int, seed: int, shard: int = 0) -> tuple[Universe, np.random.Generator]:
    """Everyone in the synthetic world for (patients, seed), before conditions and future exits (world.py
    adds those); returns the population stream, which future exits continue.

    shard K > 0: one of several worlds of `patients` that together form a larger population: its draws are
    keyed by shard_seed(seed, K) (its own people), its person serials are K * universe_size(patients)
    onwards and its NHS numbers come from those serials and `seed`, so shards of one seed never share an
    NHS number or an event id. Shard 0 is the unsharded world."""
    if patients < 1:
        raise ValueError("patients must be >= 1")
    world_seed = shard_seed(seed, shard)
    rng = stream_rng(world_seed, "population")
    n_present, n_dead, n_moved, n_births, n_arrivals = group_sizes(patients)
    group = np.repeat(
        np.array([PRESENT, PAST_DECEASED, PAST_MOVED, FUTURE_ENTRANT, FUTURE_ENTRANT], dtype=np.int8),
        [n_present, n_dead, n_moved, n_births, n_arrivals],
    )
    n = group.size

    # --- where they live: LSOAs by population; the people who died before ANCHOR lived, more often, where
    # mortality is higher (the same deprivation hazard that future deaths get in world.py)
    geo = geography()
    lsoa = rng.choice(geo.lsoa_codes.size, size=n, p=geo.lsoa_population / geo.lsoa_population.sum()).astype(np.int16)
    dead_w = geo.lsoa_population * np.exp(deprivation_log_hazard(geo.lsoa_imd_decile))
    dead = group == PAST_DECEASED
    lsoa[dead] = rng.choice(geo.lsoa_codes.size, size=int(dead.sum()), p=dead_w / dead_w.sum())

    # --- ages and key dates per group ------------------------------------------------------------
    dob = np.empty(n, dtype=np.int64)
    entry = np.empty(n, dtype=np.int64)
    exit_ = np.full(n, cal.NEVER, dtype=np.int64)
    h = param("population.registration_history")
    died = np.zeros(n, dtype=bool)
    age_ref = np.empty(n)  # age at the group's reference moment (anchor / exit / entry)

    s = slice(0, n_present)
    age = _present_ages(rng, lsoa[s])
    age_ref[s] = age
    dob[s] = cal.ANCHOR - np.round(age * cal.DAYS_PER_YEAR).astype(np.int64)
    # registration start: born here since HISTORY_START, arrived since then (the mobile more often), or
    # registered from some point before HISTORY_START (long-standing residents)
    arrived_recently = rng.random(n_present) < np.clip(
        MOVE_IN_RATE * h["arrived_recently_years"] * MOBILITY[_band(age)] / h["mobility_normaliser"],
        0,
        h["arrived_recently_max"],
    )
    before_history = np.maximum(cal.HISTORY_START - dob[s] - h["min_age_days"], 1)
    long_standing = dob[s] + h["min_age_days"] + (rng.random(n_present) * before_history).astype(np.int64)
    recent_lo = np.maximum(dob[s] + h["min_age_days"], cal.HISTORY_START)
    recent = recent_lo + (rng.random(n_present) * np.maximum(cal.ANCHOR - recent_lo, 1)).astype(np.int64)
    born_since = dob[s] >= cal.HISTORY_START
    born_here = born_since & (rng.random(n_present) < h["born_here_share"])
    entry[s] = np.where(
        born_here,
        dob[s] + rng.integers(h["registered_after_birth_days"][0], h["registered_after_birth_days"][1], n_present),
        np.where(arrived_recently | born_since, recent, long_standing),
    )
    entry[s] = np.minimum(entry[s], cal.ANCHOR - 1)

    s = slice(n_present, n_present + n_dead)
    death_w = AGE_BAND_PCT * np.exp(GOMPERTZ_SLOPE * (np.arange(AGE_BAND_PCT.size) * 5 + 2.5))
    death_w[0] += AGE_BAND_PCT[0] * param("mortality.infant_death_weight")  # infant deaths
    age = np.minimum(_sample_ages(rng, n_dead, death_w), 106)
    exit_[s] = cal.HISTORY_START + (rng.random(n_dead) * (cal.ANCHOR - cal.HISTORY_START)).astype(np.int64)
    died[s] = True
    age_ref[s] = age
    dob[s] = exit_[s] - np.round(age * cal.DAYS_PER_YEAR).astype(np.int64)
    entry[s] = np.maximum(
        dob[s] + h["min_age_days"],
        exit_[s]
        - (rng.exponential(h["past_deceased_registered_mean_years"], n_dead) * cal.DAYS_PER_YEAR).astype(np.int64),
    )

    s = slice(n_present + n_dead, n_present + n_dead + n_moved)
    age = _sample_ages(rng, n_moved, AGE_BAND_PCT * MOBILITY)
    exit_[s] = cal.HISTORY_START + (rng.random(n_moved) * (cal.ANCHOR - cal.HISTORY_START)).astype(np.int64)
    age_ref[s] = age
    dob[s] = exit_[s] - np.round(age * cal.DAYS_PER_YEAR).astype(np.int64)
    entry[s] = np.maximum(
        dob[s] + h["min_age_days"],
        exit_[s]
        - h["past_movers_min_days"]
        - (rng.exponential(h["past_movers_registered_mean_years"], n_moved) * cal.DAYS_PER_YEAR).astype(np.int64),
    )

    s = slice(n_present + n_dead + n_moved, n_present + n_dead + n_moved + n_births)
    dob[s] = cal.ANCHOR + (rng.random(n_births) * (cal.HORIZON_END - cal.ANCHOR)).astype(np.int64)
    entry[s] = dob[s] + rng.integers(h["registered_after_birth_days"][0], h["registered_after_birth_days"][1], n_births)
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
    sex = _sex_for_age(rng, age_ref)
    district = geo.lsoa_district[lsoa]
    imd = geo.lsoa_imd_decile[lsoa]
    ethnicity = _ethnicity(rng, district, age_ref)
    practice1, practice2 = _practices(rng, world_seed, district)
    sw = h["practice_switch_after_years"]
    switch = entry + ((sw["min"] + rng.random(n) * sw["span"]) * cal.DAYS_PER_YEAR).astype(np.int64)
    switch = np.where(rng.random(n) < PRACTICE_SWITCH_SHARE, switch, cal.NEVER)
    opt_out = rng.random(n) < OPT_OUT_SHARE
    lsoa_missing = rng.random(n) < LSOA_MISSING_SHARE
    # the shared multimorbidity factor; people who died are, on average, the sicker ones
    latent = rng.normal(0, 1, n) + np.where(group == PAST_DECEASED, param("mortality.past_deceased_latent_shift"), 0.0)

    u = Universe(
        seed=world_seed,
        patients=patients,
        group=group,
        dob=dob,
        sex=sex,
        lsoa=lsoa,
        lsoa_missing=lsoa_missing,
        district=district,
        imd=imd,
        ethnicity=ethnicity,
        practice1=practice1,
        practice2=practice2,
        switch_day=switch,
        entry_day=entry,
        exit_day=exit_,
        died=died,
        opt_out=opt_out,
        latent=latent.astype(np.float32),
        nhs=make_nhs_numbers(shard * n + np.arange(n), seed),
        first_serial=shard * n,
    )
    u.extras["age_ref"] = age_ref
    u.extras["ref_day"] = np.where(group == PRESENT, cal.ANCHOR, np.where(group == FUTURE_ENTRANT, entry, exit_))

    return u, rng


GOMPERTZ_SLOPE = param("mortality.gompertz_slope")


def future_exits(u: Universe, rng: np.random.Generator, multiplier: np.ndarray) -> None:
    """Deaths (Gompertz hazard x personal multiplier, calibrated to DEATH_RATE) and moves for people
    registered on or after ANCHOR; past leavers already have their exit."""
    future = np.flatnonzero((u.group == PRESENT) | (u.group == FUTURE_ENTRANT))
    start = np.maximum(u.entry_day[future], cal.ANCHOR)
    a0 = np.maximum(cal.age_years(u.dob[future], start), 0.0)
    present = u.group[future] == PRESENT
    # calibrate the baseline so the crude death rate among the present population is DEATH_RATE, cancer
    # deaths (which come from the tumour's own survival) included; solve on P(death in year 1), not the
    # summed hazard, because the frailest have hazards near or above 1
    cancer_deaths = (u.clinical.cancer_death_day[future][present] < cal.ANCHOR + 5 * cal.DAYS_PER_YEAR).sum() / 5.0
    wanted = max(DEATH_RATE * present.sum() - cancer_deaths, 0.3 * DEATH_RATE * present.sum())
    first_year = (
        np.exp(GOMPERTZ_SLOPE * a0[present])
        * multiplier[future][present]
        * (np.exp(GOMPERTZ_SLOPE) - 1)
        / GOMPERTZ_SLOPE
    )
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

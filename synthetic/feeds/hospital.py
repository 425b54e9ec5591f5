"""Secondary care: admitted patient care (SUS APC), A&E (ECDS), outpatients (SUS OP), the RTT waiting list
and cancer registrations.

Emergency admissions depend on risk and history: a person-year rate from age, conditions, frailty,
uncontrolled BP/HbA1c, smoking, deprivation and a persistent gamma-distributed personal factor, so the
people admitted last year are the ones likely to be admitted next year; activity rises in the last
year of life. Volumes are scaled on the ANCHOR-year population to England-like rates per 1M people.
Draws are per calendar year (or per person for life events), never per extract date.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..core import calendar as cal
from ..core import codes
from ..core.accepted import draw_codes, require_accepted, shares_by_code
from ..core.parameters import group, param
from ..core.randomness import Keyed, stream_rng
from ..core.schedule import episodes, expand, yearly_counts
from ..model.activity import Rates
from ..model.population import Universe
from ..model.yearly import YearState, rate_by_age
from .gp import HOSPITAL_LOOKBACK_YEARS, Vocab, window_start

YEAR = cal.DAYS_PER_YEAR
CALIBRATION_YEAR = 2026

PROVIDERS = ("RGT", "RGN", "RGM", "RYV", "RT1")
# district -> acute trust: Cambridge, East Cambs, South Cambs -> CUH (RGT); Fenland, Hunts, Peterborough -> NWAFT (RGN)
DISTRICT_TRUST = np.array([0, 0, 1, 1, 1, 0])
CONDITION_BITS = tuple(codes.COMORBIDITY_ICD)
EMERGENCY_METHOD_SHARES = param("activity.admission_method.emergency_shares")
H = group("hospital")
# Discharge destinations with a fixed role (NHS Data Dictionary): died, usual place of residence, NHS other
# hospital (general ward), temporary place of residence. discharge_destination() checks them against the seed.
DEST_DIED, DEST_HOME, DEST_OTHER_HOSPITAL, DEST_TEMPORARY = 79, 19, 51, 29


def local_trust(u: Universe, persons: np.ndarray, u01: np.ndarray) -> np.ndarray:
    """The person's local acute trust; a few go to the other one."""
    t = DISTRICT_TRUST[u.district[persons]]
    return np.where(u01 < H["other_trust_share"], 1 - t, t).astype(np.int8)


@dataclass
class SpellParts:
    """Accumulated APC spells (before windowing)."""

    person: list
    admit: list
    los: list
    method: list
    primary: list
    procedure: list
    provider: list
    kind: list
    seq: list
    bits: list
    fall: list
    dest: list
    ae_minute: list  # A&E arrival minute-of-day (-1: not via A&E)
    ae_duration: list  # minutes in A&E
    cause: list  # emergency cause index (-1 otherwise), for the ECDS diagnosis

    @classmethod
    def empty(cls) -> SpellParts:
        return cls(*([] for _ in range(15)))

    def add(self, **cols: Any) -> None:
        n = cols["person"].size
        defaults = dict(procedure=-1, fall=-1, dest=-1, ae_minute=-1, ae_duration=0, cause=-1, bits=0)
        for name in self.__dataclass_fields__:
            v = cols.get(name, defaults.get(name))
            getattr(self, name).append(np.broadcast_to(np.asarray(v), (n,)).copy())

    def concat(self) -> dict:
        return {
            k: np.concatenate(getattr(self, k)) if getattr(self, k) else np.zeros(0, dtype=np.int64)
            for k in self.__dataclass_fields__
        }


class Hospital:
    """Builds the hospital feeds for one extract from the year states."""

    def __init__(
        self,
        u: Universe,
        extract_day: int,
        states: dict[int, YearState],
        bookings: tuple[np.ndarray, np.ndarray, np.ndarray],
    ) -> None:
        self.u, self.c, self.E = u, u.clinical, extract_day
        self.lo = window_start(extract_day, HOSPITAL_LOOKBACK_YEARS)
        self.states = states
        self.icd, self.opcs, self.snomed = Vocab(), Vocab(), Vocab()
        self.bookings = bookings
        self.rates = Rates(u, states[CALIBRATION_YEAR])
        self.cause_names = tuple(codes.EMERGENCY_CAUSE)

    # ------------------------------------------------------------------ helpers
    def years(self, back: int = 0) -> range:
        return range(int(cal.year_of(self.lo)) - back, int(cal.year_of(self.E)) + 1)

    def _days_in_active(self, rng: np.random.Generator, st: YearState, rows_local: np.ndarray) -> np.ndarray:
        lo, hi = st.lo[rows_local], st.hi[rows_local]
        return lo + np.floor(rng.random(rows_local.size) * (hi - lo + 1)).astype(np.int64)

    def _comorbidity_bits(
        self, persons: np.ndarray, day: int | np.ndarray, exclude: np.ndarray | None = None
    ) -> np.ndarray:
        c = self.c
        bits = np.zeros(persons.size, dtype=np.int64)
        for b, name in enumerate(CONDITION_BITS):
            if name == "frailty":
                on = c.frailty_level(persons, day) >= 2
            elif name == "smoker":
                on = (c.smoking[persons] == 2) & (cal.age_years(self.u.dob[persons], day) >= 16)
            elif name == "palliative":
                on = c.palliative_day[persons] <= day
            else:
                on = c.has(name, persons, day)
            bits |= on.astype(np.int64) << b
        if exclude is not None:
            bits &= ~exclude
        return bits

    def _icd_ids(self, choices: Sequence[str], u01: np.ndarray) -> np.ndarray:
        ids = np.array([self.icd(x) for x in choices], dtype=np.int32)
        return ids[np.minimum((u01 * len(choices)).astype(int), len(choices) - 1)]

    # ------------------------------------------------------------------ emergency admissions
    def emergency(self, parts: SpellParts) -> None:
        u, c = self.u, self.c
        causes = codes.EMERGENCY_CAUSE
        names = self.cause_names
        generic_weights = H["emergency_cause_weights_by_age_band"]
        generic = np.array([[generic_weights.get(n, (0,) * 5)[b] for n in names] for b in range(5)])
        cond_weight = H["emergency_cause_weight_with_condition"]
        falls = H["falls"]
        site_icd = [v[1] for v in codes.CANCER_SITES.values()]
        for year in self.years(back=1):
            st = self.states[year]
            counts, rng = yearly_counts(u.seed, "emergency", year, self.rates("emergency", st))
            counts = np.minimum(counts, param("activity.caps.emergency_spells_per_year"))
            local, seq = expand(np.arange(st.idx.size), counts)
            person = st.idx[local]
            day = self._days_in_active(rng, st, local)
            band = st.band5()[local]
            w = generic[band].copy()
            for j, name in enumerate(names):
                cond = causes[name][2]
                if cond is not None and name in cond_weight:
                    w[:, j] += cond_weight[name] * c.has(cond, person, day)
            age = st.age[local]
            frail = c.frailty_level(person, day)
            old = age >= 65
            w[:, names.index("hip_fracture")] += (
                old
                * (falls["hip_fracture_65_plus"] + falls["hip_fracture_per_frailty_level"] * frail)
                * np.where(u.sex[person] == 1, falls["hip_fracture_female_ratio"], 1.0)
            )
            w[:, names.index("fall_injury")] += np.where(
                old,
                falls["fall_injury_65_plus"] + falls["fall_injury_per_frailty_level"] * frail,
                falls["fall_injury_under_65"],
            )
            cum = np.cumsum(w, axis=1)
            pick = (rng.random(person.size)[:, None] * cum[:, -1:] > cum).sum(axis=1).clip(0, len(names) - 1)
            self._add_emergency(parts, rng, person, day, pick, kind=1, seq=seq, site_icd=site_icd)

    def _add_emergency(
        self,
        parts: SpellParts,
        rng: np.random.Generator,
        person: np.ndarray,
        day: np.ndarray,
        cause: np.ndarray,
        kind: int,
        seq: npt.ArrayLike,
        site_icd: list[tuple[str, ...]],
        force_los: np.ndarray | None = None,
        dest: int | None = None,
    ) -> None:
        u, c = self.u, self.c
        names = self.cause_names
        n = person.size
        u1, u2, u3, u4, u5 = (rng.random(n) for _ in range(5))
        primary = np.full(n, -1, dtype=np.int32)
        for j, name in enumerate(names):
            m = cause == j
            if not m.any():
                continue
            icds = codes.EMERGENCY_CAUSE[name][0]
            if icds is None:  # cancer: the person's tumour site
                sites = c.cancer_site[person[m]]
                primary[m] = np.array([self.icd(site_icd[s][0]) for s in sites], dtype=np.int32)
            else:
                primary[m] = self._icd_ids(icds, u1[m])
        age = cal.age_years(u.dob[person], day)
        los_model = group("activity.length_of_stay")
        band = np.searchsorted([18, 65, 80], age, side="right")
        p_zero = np.asarray(los_model["same_day_share_by_age"])[band]
        median = np.asarray(los_model["median_days_by_age"])[band]
        stay = H["length_of_stay"]
        factor = np.ones(n)
        for name, fct in H["length_of_stay_by_cause"].items():
            factor = np.where(cause == names.index(name), fct, factor)
        los = np.where(
            u2 < p_zero * np.where(factor > stay["long_cause_factor"], stay["same_day_ratio_long_causes"], 1.0),
            0,
            np.ceil(
                median
                * factor
                * np.exp(
                    stay["log_sd"] * rng.standard_normal(n)
                    + los_model["frailty_log_per_level"] * c.frailty_level(person, day)
                )
            ),
        ).astype(np.int64)
        los = np.minimum(los, stay["max_days"]) if force_los is None else force_los
        # codes from seeds/code_values.csv, shares from parameters.yaml; kept as numbers here (21 = via A&E)
        method = draw_codes("sus_apc_spells", "admission_method", EMERGENCY_METHOD_SHARES, u3).astype(np.int64)
        provider = local_trust(u, person, u4)
        cardiac = np.isin(cause, [names.index("mi"), names.index("angina")])
        provider = np.where(cardiac & (u5 < H["papworth"]["emergency_cardiac"]), 2, provider)
        proc = np.full(n, -1, dtype=np.int32)
        procedure_share = H["emergency_procedure_share"]
        for name, opcs in (
            ("hip_fracture", ("W461", "W191", "W241")),
            ("mi", ("K751", "K752")),
            ("appendicitis", ("H011",)),
            ("gallstones", ("J183",)),
        ):
            m = (cause == names.index(name)) & (u5 < procedure_share[name])
            ids = np.array([self.opcs(x) for x in opcs], dtype=np.int32)
            proc[m] = ids[(u1[m] * len(opcs)).astype(int).clip(0, len(opcs) - 1)]
        fall_cause = np.isin(cause, [names.index("hip_fracture"), names.index("fall_injury")])
        fall_ids = np.array([self.icd(x) for x in codes.FALL_ICD], dtype=np.int32)
        fall = np.where(
            fall_cause | ((age >= 65) & (u2 > 1 - H["falls"]["fall_code_on_other_spells_65_plus"])),
            fall_ids[(u4 * len(fall_ids)).astype(int).clip(0, 5)],
            -1,
        )
        excl = np.zeros(n, dtype=np.int64)
        for j, name in enumerate(names):
            cond = codes.EMERGENCY_CAUSE[name][2]
            if cond in CONDITION_BITS:
                excl |= np.where(cause == j, 1 << CONDITION_BITS.index(cond), 0)
        bits = self._comorbidity_bits(person, day, excl)
        via_ae = method == 21
        minute = np.where(via_ae, _arrival_minutes(rng, n), -1)
        stay_ae = H["ae_department_minutes"]
        in_department = np.exp(np.log(stay_ae["admitted_median"]) + stay_ae["admitted_log_sd"] * rng.standard_normal(n))
        duration = np.where(via_ae, np.minimum(in_department, stay_ae["admitted_max"]).astype(np.int64), 0)
        # admitted through A&E: the spell starts the day the patient leaves the department
        admit = day + np.where(via_ae, (minute + duration) // 1440, 0)
        parts.add(
            person=person,
            admit=admit,
            los=los,
            method=method,
            primary=primary,
            procedure=proc,
            provider=provider,
            kind=kind,
            seq=seq,
            bits=bits,
            fall=fall,
            dest=-1 if dest is None else dest,
            ae_minute=minute,
            ae_duration=duration,
            cause=cause,
        )

    def life_events(self, parts: SpellParts) -> None:
        """Admissions tied to a person's own dates: first stroke / MI / heart failure, the last year of life,
        and dying in hospital."""
        u, c = self.u, self.c
        names = self.cause_names
        site_icd = [v[1] for v in codes.CANCER_SITES.values()]
        kr = Keyed(u.seed, "life-events")
        # the people concerned are chosen over the whole simulated period (not the extract window), so a
        # generator's draws for a given person never depend on the extract date
        lo_bound, hi_bound = cal.HISTORY_START - 400, cal.HORIZON_END
        onset_share = H["onset_admission_share"]
        for slot, (cond, cause, share) in enumerate(
            (
                ("stroke_tia", "stroke", None),
                ("chd", "mi", None),
                ("heart_failure", "heart_failure", onset_share["heart_failure"]),
                ("af", "af", onset_share["af"]),
            )
        ):
            onset = c.onset[cond]
            who = np.flatnonzero(
                (onset >= lo_bound) & (onset <= hi_bound) & (onset >= u.entry_day) & (onset <= u.exit_day)
            )
            if share is None:  # strokes (not TIAs) and MIs (not angina) are admitted
                code_idx = c.code_choice[cond][who]
                who = (
                    who[code_idx != (2 if cond == "stroke_tia" else 1)] if cond == "stroke_tia" else who[code_idx == 0]
                )
            else:
                who = who[kr.uniform(who, slot) < share]
            rng = stream_rng(u.seed, "onset-spells", slot)
            pr = np.random.default_rng(rng.integers(1 << 62))
            cause_idx = np.full(who.size, names.index(cause))
            self._add_emergency(
                parts, pr, who, onset[who], cause_idx, kind=6, seq=np.full(who.size, slot), site_icd=site_icd
            )
        # last year of life: extra emergency admissions; and the spell in which people die in hospital
        dead = np.flatnonzero(u.died & (u.exit_day < cal.NEVER) & (u.exit_day >= lo_bound) & (u.exit_day <= hi_bound))
        eol = group("activity.end_of_life")
        n_extra = np.minimum(
            (kr.uniform(dead, 10) * (eol["extra_spells_max"] + eol["extra_spells_top_weight"])).astype(np.int64),
            eol["extra_spells_max"],
        ) * (kr.uniform(dead, 11) < eol["share_with_extra_spells"])
        rows, seq = expand(dead, n_extra)
        rng = np.random.default_rng(stream_rng(u.seed, "eol-spells").integers(1 << 62))
        # admissions crowd into the last months of life (C&P: most last-two-years bed-days in the last 3 months)
        back = (
            H["timing"]["eol_spell_min_days_before_death"]
            + np.minimum(
                -eol["days_before_death_mean"] * np.log1p(-kr.uniform(rows, 20 + seq) * 0.999),
                H["timing"]["eol_spell_max_extra_days"],
            )
        ).astype(np.int64)
        day = np.maximum(u.exit_day[rows] - back, u.entry_day[rows])
        eol_cause = self._eol_cause(rows, day, kr.uniform(rows, 40 + seq))
        self._add_emergency(parts, rng, rows, day, eol_cause, kind=7, seq=seq, site_icd=site_icd)
        in_hosp = dead[c.died_in_hospital[dead]]
        los = np.minimum(
            (kr.uniform(in_hosp, 30) ** 2 * eol["death_spell_los_max"]).astype(np.int64) + 1,
            u.exit_day[in_hosp] - u.entry_day[in_hosp],
        )
        admit_day = u.exit_day[in_hosp] - los
        eol_cause = self._eol_cause(in_hosp, admit_day, kr.uniform(in_hosp, 31))
        rng = np.random.default_rng(stream_rng(u.seed, "death-spells").integers(1 << 62))
        self._add_emergency(
            parts,
            rng,
            in_hosp,
            admit_day,
            eol_cause,
            kind=8,
            seq=np.zeros(in_hosp.size, dtype=np.int64),
            site_icd=site_icd,
            force_los=los,
            dest=79,
        )

    def _eol_cause(self, persons: np.ndarray, day: np.ndarray, u01: np.ndarray) -> np.ndarray:
        c, names = self.c, self.cause_names
        cands = list(H["eol_cause_weights"].items())
        w = np.zeros((persons.size, len(cands)))
        for j, (name, wt) in enumerate(cands):
            cond = codes.EMERGENCY_CAUSE[name][2]
            w[:, j] = wt * (c.has(cond, persons, day) if cond else 1.0)
        cum = np.cumsum(w, axis=1)
        j = (u01[:, None] * cum[:, -1:] > cum).sum(axis=1).clip(0, len(cands) - 1)
        return np.array([names.index(n) for n, _ in cands])[j]

    # ------------------------------------------------------------------ elective, day case and maternity
    def elective(self, parts: SpellParts) -> None:
        u, c = self.u, self.c
        procs = codes.ELECTIVE_PROCEDURES
        keys = tuple(procs)
        mix, el = H["elective_procedures"], H["elective"]
        site_icd = [v[1] for v in codes.CANCER_SITES.values()]
        for year in self.years(back=1):
            st = self.states[year]
            counts, rng = yearly_counts(u.seed, "elective", year, self.rates("elective", st))
            local, seq = expand(np.arange(st.idx.size), counts)
            person = st.idx[local]
            day = self._days_in_active(rng, st, local)
            band = st.band5()[local]
            sex = u.sex[person]
            w = np.array([[mix[k]["weights"][b] for k in keys] for b in range(5)])[band]
            for j, k in enumerate(keys):
                sex_code = procs[k][2]
                if sex_code is not None:
                    w[:, j] *= sex == sex_code - 1
            w[:, keys.index("cataract")] *= np.where(c.has("diabetes", person, day), el["cataract_diabetes_ratio"], 1.0)
            cum = np.cumsum(w, axis=1) + 1e-12
            pick = (rng.random(person.size)[:, None] * cum[:, -1:] > cum).sum(axis=1).clip(0, len(keys) - 1)
            opcs_ids = np.array([self.opcs(procs[k][0]) for k in keys], dtype=np.int32)
            icd_ids = np.array([self.icd(procs[k][1]) for k in keys], dtype=np.int32)
            daycase = np.array([mix[k]["day_case"] for k in keys])[pick]
            r1, r2, r3 = rng.random(person.size), rng.random(person.size), rng.random(person.size)
            los = np.where(
                r1 < daycase,
                0,
                1
                + (
                    r2
                    * np.where(
                        np.isin(pick, [keys.index("hip_replacement"), keys.index("knee_replacement")]),
                        el["joint_replacement_max_nights"],
                        el["other_max_nights"],
                    )
                ).astype(np.int64),
            )
            method = np.select([r3 < el["waiting_list_cumulative"], r3 < el["booked_cumulative"]], [11, 12], 13)
            parts.add(
                person=person,
                admit=day,
                los=los,
                method=method,
                primary=icd_ids[pick],
                procedure=opcs_ids[pick],
                provider=local_trust(u, person, r2),
                kind=2,
                seq=seq,
                bits=self._comorbidity_bits(person, day),
            )
            # children's dental extractions under general anaesthetic (more in deprived areas)
            child = (st.age < 11) & (st.age >= 2)
            dental = H["child_dental_extraction"]
            lam = np.where(
                child,
                dental["rate_age_2_10"] * (1 + dental["per_imd_decile_below_10"] * (10 - u.imd[st.idx])) * st.frac,
                0.0,
            )
            n_teeth = rng.poisson(lam)
            local, seq = expand(np.arange(st.idx.size), n_teeth)
            person = st.idx[local]
            day = self._days_in_active(rng, st, local)
            opcs_ids = np.array([self.opcs(x) for x in codes.TOOTH_EXTRACTION[0]], dtype=np.int32)
            parts.add(
                person=person,
                admit=day,
                los=0,
                method=11,
                primary=self.icd(codes.TOOTH_EXTRACTION[1]),
                procedure=opcs_ids[(rng.random(person.size) < dental["surgical_share"]).astype(int)],
                provider=local_trust(u, person, rng.random(person.size)),
                kind=2,
                seq=seq + 500,
                bits=0,
            )
        # chemotherapy day cases in the months after a cancer diagnosis; cardiac procedures at Royal Papworth
        kr = Keyed(u.seed, "planned")
        cancer = np.flatnonzero((c.cancer_day >= self.lo - 365) & (c.cancer_day <= self.E))
        ct = H["chemotherapy"]
        chemo = cancer[(kr.uniform(cancer, 1) < ct["share"]) & (c.cancer_stage[cancer] != 0)]
        n = (ct["min_cycles"] + kr.uniform(chemo, 2) * ct["extra_cycles_max"]).astype(np.int64)
        rows, seq = expand(chemo, n)
        day = c.cancer_day[rows] + ct["first_days"] + seq * ct["cycle_days"]
        icd = np.array([self.icd(s[0]) for s in site_icd], dtype=np.int32)[c.cancer_site[rows]]
        parts.add(
            person=rows,
            admit=day,
            los=0,
            method=13,
            primary=icd,
            procedure=self.opcs(codes.CHEMOTHERAPY),
            provider=np.where(kr.uniform(rows, 3) < ct["at_cuh"], 0, local_trust(u, rows, kr.uniform(rows, 4))),
            kind=3,
            seq=seq,
            bits=self._comorbidity_bits(rows, day),
        )
        cardiac = H["cardiac_procedures"]
        for slot, (cond, share, proc) in enumerate(
            (("chd", cardiac["pci_after_chd"], codes.PCI), ("af", cardiac["pacemaker_after_af"], codes.PACEMAKER))
        ):
            on = c.onset[cond]
            who = np.flatnonzero((on >= self.lo - 400) & (on <= self.E))
            who = who[kr.uniform(who, 10 + slot) < share]
            day = on[who] + (
                kr.uniform(who, 20 + slot) * H["timing"]["cardiac_procedure_after_onset_spread_days"]
                + H["timing"]["cardiac_procedure_after_onset_min_days"]
            ).astype(np.int64)
            parts.add(
                person=who,
                admit=day,
                los=(kr.uniform(who, 30 + slot) < cardiac["overnight_share"]).astype(np.int64),
                method=11,
                primary=self.icd(proc[1]),
                procedure=self.opcs(proc[0]),
                provider=2,
                kind=9,
                seq=slot,
                bits=self._comorbidity_bits(who, day),
            )

    def maternity(self, parts: SpellParts) -> None:
        """Deliveries about 30 weeks after booking (most bookings), antenatal and postnatal admissions."""
        u = self.u
        person, booked, gestation = self.bookings
        kr = Keyed(u.seed, "maternity")
        u1, u2, u3, u4, u5 = kr.uniforms(5, person, booked)
        mat = H["maternity"]
        delivered = u1 < mat["delivered"]
        day = booked + (280 - gestation + (u2 - 0.5) * H["timing"]["delivery_spread_days"]).astype(np.int64)
        kind_pick = np.select(
            [u3 < mat[f"{k}_cumulative"] for k in ("normal", "caesarean_elective", "caesarean_emergency")], [0, 1, 2], 3
        )
        delivery = list(codes.DELIVERY.values())
        proc = np.array([self.opcs(d[0]) for d in delivery], dtype=np.int32)[kind_pick]
        icd = np.array([self.icd(d[1]) for d in delivery], dtype=np.int32)[kind_pick]
        los = np.where(kind_pick == 0, (u4 * 2).astype(np.int64), 2 + (u4 * 3).astype(np.int64))
        m = delivered
        parts.add(
            person=person[m],
            admit=day[m],
            los=los[m],
            method=31,
            primary=icd[m],
            procedure=proc[m],
            provider=local_trust(u, person[m], u5[m]),
            kind=4,
            seq=0,
            bits=0,
        )
        ante = u5 < mat["antenatal_admission"]
        aday = (
            booked
            + H["timing"]["antenatal_admission_after_booking_min_days"]
            + (u4 * H["timing"]["antenatal_admission_after_booking_spread_days"]).astype(np.int64)
        )
        aicd = self._icd_ids(codes.ANTENATAL_ADMISSION, u2)
        parts.add(
            person=person[ante],
            admit=aday[ante],
            los=(u3[ante] * 3).astype(np.int64),
            method=31,
            primary=aicd[ante],
            provider=local_trust(u, person[ante], u1[ante]),
            kind=5,
            seq=1,
            bits=0,
        )
        post = delivered & (u4 < mat["postnatal_readmission"])
        pday = (
            day
            + H["timing"]["postnatal_readmission_min_days"]
            + (u2 * H["timing"]["postnatal_readmission_spread_days"]).astype(np.int64)
        )
        picd = self._icd_ids(codes.POSTNATAL_ADMISSION, u3)
        parts.add(
            person=person[post],
            admit=pday[post],
            los=1 + (u5[post] * 3).astype(np.int64),
            method=32,
            primary=picd[post],
            provider=local_trust(u, person[post], u1[post]),
            kind=5,
            seq=2,
            bits=0,
        )

    # ------------------------------------------------------------------ assembling APC + ECDS
    def spells(self, in_drop: np.ndarray) -> dict[str, Any]:
        parts = SpellParts.empty()
        self.emergency(parts)
        self.life_events(parts)
        self.elective(parts)
        self.maternity(parts)
        s = parts.concat()
        u, E = self.u, self.E
        person = s["person"].astype(np.int64)
        admit = s["admit"].astype(np.int64)
        # spells admitted up to 200 days before the window are kept for what follows them (reablement);
        # the APC feed itself is the window (`in_window`)
        ok = (
            (admit >= self.lo - 200)
            & (admit <= E)
            & in_drop[person]
            & (admit >= u.entry_day[person])
            & (admit <= u.exit_day[person])
        )
        s = {k: v[ok] for k, v in s.items()}
        person, admit = s["person"].astype(np.int64), s["admit"].astype(np.int64)
        discharge = admit + s["los"].astype(np.int64)
        exit_ = u.exit_day[person]
        died_here = u.died[person] & (discharge >= exit_)
        discharge = np.minimum(discharge, exit_)
        spell_id = _ids(
            s["kind"],
            u.serial(person),
            s["admit"] - np.where(s["ae_minute"] >= 0, (s["ae_minute"] + s["ae_duration"]) // 1440, 0),
            s["seq"],
        )
        kr = Keyed(u.seed, "discharge")
        ud = kr.uniform(spell_id)
        emergency = (s["method"] >= 21) & (s["method"] <= 28)
        dest = discharge_destination(u, person, admit, discharge, died_here | (s["dest"] == 79), emergency, ud)
        open_spell = discharge > E
        return dict(
            spell_id=spell_id,
            person=person,
            admit=admit,
            discharge=discharge,
            open=open_spell,
            dest=dest,
            in_window=admit >= self.lo,
            method=s["method"],
            primary=s["primary"],
            procedure=s["procedure"],
            provider=s["provider"],
            bits=s["bits"],
            fall=s["fall"],
            ae_minute=s["ae_minute"],
            ae_duration=s["ae_duration"],
            cause=s["cause"],
            kind=s["kind"],
            seq=s["seq"],
        )

    def ae_attendances(self, in_drop: np.ndarray, spells: dict[str, Any]) -> dict[str, Any]:
        """ECDS: one attendance per spell admitted through A&E, plus attendances not ending in a spell."""
        u, E = self.u, self.E
        names = self.cause_names
        # (1) attendances that led to an admission (taken from the spells, before the spell window cut)
        via = spells["ae_minute"] >= 0
        p1 = spells["person"][via]
        arrive_day = spells["admit"][via] - (spells["ae_minute"][via] + spells["ae_duration"][via]) // 1440
        arr1 = arrive_day * 1440 + spells["ae_minute"][via]
        dep1 = arr1 + spells["ae_duration"][via]
        cause_snomed = np.array([self.snomed(codes.EMERGENCY_CAUSE[n][1]) for n in names], dtype=np.int32)
        diag1 = cause_snomed[spells["cause"][via]]
        id1 = _ids(spells["kind"][via], u.serial(p1), arrive_day, spells["seq"][via])
        adm1 = np.ones(p1.size, dtype=bool)
        # (2) attendances not followed by a spell, per calendar year
        minor_weights = H["ae_minor_diagnosis_weights_by_age_band"]
        minor = list(minor_weights)
        minor_w = np.array([minor_weights[k] for k in minor]).T  # band x diagnosis
        stay_ae, sdec_model = H["ae_department_minutes"], H["ae_same_day_emergency_care"]
        minor_ids = np.array([self.snomed(x) for x in minor], dtype=np.int32)
        out: dict[str, list[np.ndarray]] = {
            k: [] for k in ("person", "arr", "dep", "diag", "id", "admitted", "acuity_u", "mode_u")
        }
        for year in self.years():
            st = self.states[year]
            counts, rng = yearly_counts(u.seed, "ae", year, self.rates("ae", st))
            counts = np.minimum(counts, param("activity.caps.ae_attendances_per_year"))
            local, seq = expand(np.arange(st.idx.size), counts)
            person = st.idx[local]
            day = self._days_in_active(rng, st, local)
            band = st.band5()[local]
            cum = np.cumsum(minor_w[band], axis=1)
            pick = (rng.random(person.size)[:, None] * cum[:, -1:] > cum).sum(axis=1).clip(0, len(minor) - 1)
            minute = _arrival_minutes(rng, person.size)
            duration = np.minimum(
                np.exp(np.log(stay_ae["other_median"]) + stay_ae["other_log_sd"] * rng.standard_normal(person.size)),
                stay_ae["other_max"],
            ).astype(np.int64)
            sdec = rng.random(person.size) < sdec_model["share"]
            out["person"].append(person)
            out["arr"].append(day * 1440 + minute)
            out["dep"].append(day * 1440 + minute + duration + sdec * sdec_model["extra_minutes"])
            out["diag"].append(minor_ids[pick])
            out["id"].append(_ids(np.full(person.size, 2), u.serial(person), day, seq))
            out["admitted"].append(sdec)
        p2 = np.concatenate(out["person"])
        person = np.concatenate([p1, p2])
        arr = np.concatenate([arr1, np.concatenate(out["arr"])])
        dep = np.concatenate([dep1, np.concatenate(out["dep"])])
        diag = np.concatenate([diag1, np.concatenate(out["diag"])])
        att_id = np.concatenate([id1, np.concatenate(out["id"])])
        admitted = np.concatenate([adm1, np.concatenate(out["admitted"])])
        arrive_day = arr // 1440
        ok = (
            (arrive_day >= self.lo)
            & (arrive_day <= E)
            & in_drop[person]
            & (arrive_day >= u.entry_day[person])
            & (arrive_day <= u.exit_day[person])
        )
        person, arr, dep, diag, att_id, admitted = person[ok], arr[ok], dep[ok], diag[ok], att_id[ok], admitted[ok]
        departed = dep // 1440 <= E
        admitted = admitted & departed
        kr = Keyed(u.seed, "ecds")
        v1, v2, v3, v4 = kr.uniforms(4, att_id)
        age = cal.age_years(u.dob[person], arr // 1440)
        amb, acu = H["ae_ambulance_share"], H["ae_acuity_shares"]
        p_amb = np.where(
            admitted,
            np.where(age >= 80, amb["admitted_80_plus"], amb["admitted"]),
            np.select(
                [age < 18, age < 65, age < 80],
                [amb["under_18"], amb["age_18_64"], amb["age_65_79"]],
                amb["age_80_plus"],
            ),
        )
        mode = np.where(v1 < p_amb, 1, 2)
        acuity_cum_adm = np.cumsum(acu["admitted"])
        acuity_cum_oth = np.cumsum(acu["not_admitted"])
        acuity = 1 + (v2[:, None] > np.where(admitted[:, None], acuity_cum_adm, acuity_cum_oth)).sum(axis=1)
        acuity = np.where(v3 < acu["not_recorded"], 0, np.minimum(acuity, 5))
        diag = np.where(v4 < H["ae_diagnosis_not_recorded"], -1, diag)
        provider = local_trust(u, person, kr.uniform(person, 7))
        return dict(
            id=att_id,
            person=person,
            provider=provider,
            arr=arr,
            dep=np.where(departed, dep, -1),
            mode=mode,
            acuity=acuity,
            diag=diag,
            admitted=admitted,
        )

    # ------------------------------------------------------------------ outpatients and RTT
    def outpatients(self, in_drop: np.ndarray) -> dict[str, Any]:
        u, c, E = self.u, self.c, self.E
        tfc = codes.TFC
        spec = tuple(tfc)
        base = H["outpatient_specialty_weights_by_age_band"]
        boosts = {k: tuple(v.items()) for k, v in H["outpatient_specialty_boosts"].items()}
        per_course, gap = H["outpatient_attendances_per_course"], H["outpatient_days_between_attendances"]
        follow_mean = np.array([per_course.get(k, per_course["other"]) for k in spec])
        gap_mean = np.array([gap.get(k, gap["other"]) for k in spec])
        base_w = np.array([[base[k][b] for k in spec] for b in range(5)])

        def in_extract(person: np.ndarray, day: np.ndarray) -> np.ndarray:
            return (
                (day >= self.lo)
                & (day <= E)
                & in_drop[person]
                & (day >= u.entry_day[person])
                & (day <= u.exit_day[person])
            )

        out: dict[str, list[np.ndarray]] = {k: [] for k in ("person", "day", "spec", "first", "id")}
        for year in self.years(back=1):
            st = self.states[year]
            counts, rng = yearly_counts(u.seed, "outpatients", year, self.rates("outpatient", st))
            local, seq = expand(np.arange(st.idx.size), counts)
            person = st.idx[local]
            start = self._days_in_active(rng, st, local)
            pick = _choose_specialty(
                rng,
                st.band5()[local],
                base_w,
                [(spec.index(k), b, st.flags[cond][local]) for k, items in boosts.items() for cond, b in items],
            )
            female_only = pick == spec.index("gynaecology")
            pick = np.where(female_only & (u.sex[person] != 1), spec.index("general_surgery"), pick)
            rows, k, day = episodes(rng, person, start, follow_mean[pick], gap_mean[pick])
            if k.size and k.max() >= 100:
                raise OverflowError("too many follow-ups for the appointment id")
            # only rows the drop shows are kept, year by year, so the whole history is never held at once
            keep = (day <= u.exit_day[person[rows]]) & in_extract(person[rows], day)
            rows, k, day = rows[keep], k[keep], day[keep]
            out["person"].append(person[rows])
            out["day"].append(day)
            out["spec"].append(pick[rows])
            out["first"].append(k == 0)
            out["id"].append(_ids(np.full(rows.size, 3), u.serial(person[rows]), start[rows], seq[rows] * 100 + k, 4))
        # antenatal clinics for women who booked
        person_b, booked, _ = self.bookings
        kr = Keyed(u.seed, "antenatal-op")
        clinic = H["antenatal_clinics"]
        n_visits = (clinic["min_visits"] + kr.uniform(person_b, booked) * clinic["extra_visits_max"]).astype(np.int64)
        rows, k = expand(np.arange(person_b.size), n_visits)
        day = booked[rows] + clinic["first_after_booking_days"] + k * clinic["every_days"]
        keep = in_extract(person_b[rows], day)
        rows, k, day = rows[keep], k[keep], day[keep]
        out["person"].append(person_b[rows])
        out["day"].append(day)
        out["spec"].append(np.full(rows.size, spec.index("obstetrics")))
        out["first"].append(k == 0)
        out["id"].append(_ids(np.full(rows.size, 4), u.serial(person_b[rows]), booked[rows], k, 4))
        person, day, sp, first, app_id = (np.concatenate(out[k]) for k in ("person", "day", "spec", "first", "id"))
        del out
        kr = Keyed(u.seed, "op-status")
        v1, v2 = kr.uniforms(2, app_id)
        age = cal.age_years(u.dob[person], day)
        status_model = H["outpatient_status"]
        dna = np.clip(
            status_model["dna_base"]
            * c.propensity["dna"][person]
            * (1 + param("activity.deprivation.dna_per_decile") * (10 - u.imd[person]))
            * np.where((age >= 18) & (age < 35), status_model["dna_age_18_34_ratio"], 1.0),
            0,
            status_model["dna_max"],
        )
        status = np.select(
            [
                v1 < dna,
                v1 < dna + status_model["patient_cancelled_cumulative"],
                v1 < dna + status_model["hospital_cancelled_cumulative"],
                v1 < dna + status_model["late_cumulative"],
            ],
            [3, 2, 4, 7],
            np.where(v2 < status_model["arrived_late_seen"], 6, 5),
        )
        cardio_resp = np.isin(sp, [spec.index("cardiology"), spec.index("respiratory")])
        provider = np.where(
            cardio_resp & (v2 < H["papworth"]["outpatient_cardio_respiratory"]), 2, local_trust(u, person, v2)
        )
        return dict(
            id=app_id,
            person=person,
            provider=provider,
            day=day,
            tfc=sp,
            tfc_values=[tfc[k] for k in spec],
            first=first,
            status=status,
        )

    def waiting_list(self, in_drop: np.ndarray) -> dict[str, Any]:
        """Open RTT pathways on the extract date: clock starts per year, each with a wait by priority."""
        u, E = self.u, self.E
        band_weights = H["rtt_specialty_weights_by_age_band"]
        tfc_keys = tuple(band_weights)
        band_w = np.array([band_weights[k] for k in tfc_keys]).T  # band x specialty
        ages, prio_model = H["rtt_age_rates"], H["rtt_priority"]
        out: dict[str, list[np.ndarray]] = {k: [] for k in ("person", "start", "tfc", "prio", "id")}
        first_year = int(cal.year_of(E)) - 3
        for year in range(first_year, int(cal.year_of(E)) + 1):
            st = self.states[year]
            lam = (
                param("activity.volumes.rtt_start_rate")
                * st.frac
                * rate_by_age(st.age, ages["knots"], ages["rates"])
                * np.exp(ages["per_condition"] * st.n_conditions.clip(0, 5))
                * (1 - ages["care_home_reduction"] * st.care_home)
            )
            counts, rng = yearly_counts(u.seed, "rtt", year, lam)
            local, seq = expand(np.arange(st.idx.size), counts)
            person = st.idx[local]
            start = self._days_in_active(rng, st, local)
            cum = np.cumsum(band_w[st.band5()[local]], axis=1)
            pick = (rng.random(person.size)[:, None] * cum[:, -1:] > cum).sum(axis=1).clip(0, len(tfc_keys) - 1)
            r = rng.random(person.size)
            prio = np.select(
                [r < prio_model[f"p{i}_cumulative"] for i in (1, 2, 3, 4)], [1, 2, 3, 4], 0
            )  # 0 = not recorded
            medians = prio_model["wait_median_days"]
            wait_median = np.array([medians[k] for k in ("not_recorded", "p1", "p2", "p3", "p4")])[prio]
            wait = (
                np.exp(np.log(wait_median) + prio_model["wait_log_sd"] * rng.standard_normal(person.size)).astype(
                    np.int64
                )
                + 1
            )
            still_open = (start <= E) & (start + wait > E) & (u.exit_day[person] > E)
            out["person"].append(person[still_open])
            out["start"].append(start[still_open])
            out["tfc"].append(pick[still_open])
            out["prio"].append(prio[still_open])
            out["id"].append(
                _ids(np.full(still_open.sum(), 5), u.serial(person[still_open]), start[still_open], seq[still_open])
            )
        person = np.concatenate(out["person"])
        ok = in_drop[person] & (np.concatenate(out["start"]) >= u.entry_day[person])
        pid = np.concatenate(out["id"])[ok]
        tfc = np.concatenate(out["tfc"])[ok]
        kr = Keyed(u.seed, "rtt-provider")
        provider = local_trust(u, person[ok], kr.uniform(pid, 1))
        provider = np.where(
            (tfc == tfc_keys.index("cardiology")) & (kr.uniform(pid, 2) < H["papworth"]["rtt_cardiology"]), 2, provider
        )  # Royal Papworth
        return dict(
            id=pid,
            person=person[ok],
            provider=provider,
            start=np.concatenate(out["start"])[ok],
            tfc=tfc,
            tfc_values=[codes.TFC[k] for k in tfc_keys],
            prio=np.concatenate(out["prio"])[ok],
        )

    def cancer_registrations(self, in_drop: np.ndarray) -> dict[str, Any]:
        u, c, E = self.u, self.c, self.E
        d = c.cancer_day
        who = np.flatnonzero((d >= self.lo) & (d <= E) & in_drop & (d <= u.exit_day) & (d >= u.entry_day - 365))
        sites = list(codes.CANCER_SITES.values())
        kr = Keyed(u.seed, "tumour")
        sub = kr.uniform(who)
        site_code = np.array(
            [
                s[1][min(int(x * len(s[1])), len(s[1]) - 1)]
                for s, x in zip((sites[i] for i in c.cancer_site[who]), sub, strict=False)
            ]
        )
        return dict(
            id=_ids(np.full(who.size, 6), u.serial(who), d[who], np.zeros(who.size, dtype=np.int64)),
            person=who,
            day=d[who],
            site=site_code,
            stage=c.cancer_stage[who],
        )


def care_home_code(u: Universe, person: np.ndarray) -> np.ndarray:
    """The discharge destination code of the person's own care home (a property of the person)."""
    share = param("activity.discharge.care_home_code_shares")
    codes_, p = shares_by_code("sus_apc_spells", "discharge_destination", share)
    pick = np.searchsorted(np.cumsum(p), Keyed(u.seed, "care-home-type").uniform(person), side="right")
    return np.array([int(c) for c in codes_])[pick.clip(0, len(codes_) - 1)]


def discharge_destination(
    u: Universe,
    person: np.ndarray,
    admit: np.ndarray,
    discharge: np.ndarray,
    died: np.ndarray,
    emergency: np.ndarray,
    ud: np.ndarray,
) -> np.ndarray:
    """Where a spell ends is a property of the person: a care-home resident goes back to their care home,
    which is their usual place of residence (19); someone moving into a care home at discharge goes to
    that home's code; people living at home go home, bar transfers, temporary stays and (after an emergency
    admission, from 65) step-down or respite care-home placements."""
    c, d = u.clinical, group("activity.discharge")
    require_accepted(
        "sus_apc_spells", "discharge_destination", (DEST_DIED, DEST_HOME, DEST_OTHER_HOSPITAL, DEST_TEMPORARY)
    )
    resident = c.care_home_day[person] <= admit
    moving_in = (c.care_home_day[person] > admit) & (
        c.care_home_day[person] <= discharge + H["timing"]["care_home_move_after_discharge_days"]
    )
    older = cal.age_years(u.dob[person], admit) >= 65
    temporary = d["other_hospital_share"] + d["temporary_residence_share"]
    step_down = emergency & older & (ud >= temporary) & (ud < temporary + d["older_emergency_to_care_home_share"])
    return np.select(
        [died, moving_in | step_down, resident, ud < d["other_hospital_share"], ud < temporary],
        [DEST_DIED, care_home_code(u, person), DEST_HOME, DEST_OTHER_HOSPITAL, DEST_TEMPORARY],
        DEST_HOME,
    )


def _choose_specialty(rng: np.random.Generator, band: np.ndarray, base_w: np.ndarray, boosts: list) -> np.ndarray:
    """Specialty of each episode: from the age band's base mix, or (in proportion to their weight) from the
    boosts of the person's conditions. Two stages, so no (episodes x specialties) matrix is needed."""
    n = band.size
    base_total = base_w.sum(axis=1)
    boost_total = np.zeros(n)
    for _, w, flag in boosts:
        boost_total += w * flag
    r = rng.random(n)
    # base mix: one searchsorted over the five bands' cumulative distributions laid end to end
    cdf = (np.cumsum(base_w, axis=1) / base_total[:, None] + np.arange(base_w.shape[0])[:, None]).ravel()
    pick = np.searchsorted(cdf, band + rng.random(n), side="right") - band * base_w.shape[1]
    pick = np.clip(pick, 0, base_w.shape[1] - 1)
    boosted = np.flatnonzero(r * (base_total[band] + boost_total) >= base_total[band])
    if boosted.size and boosts:
        w = np.stack([bw * flag[boosted] for _, bw, flag in boosts], axis=1)
        cum = np.cumsum(w, axis=1)
        j = (rng.random(boosted.size)[:, None] * cum[:, -1:] > cum).sum(axis=1).clip(0, len(boosts) - 1)
        pick[boosted] = np.array([b[0] for b in boosts])[j]
    return pick


def _arrival_minutes(rng: np.random.Generator, n: int) -> np.ndarray:
    hour_w = np.array(H["ae_arrival_hour_weights"])
    hour = np.searchsorted(np.cumsum(hour_w) / hour_w.sum(), rng.random(n), side="right").clip(0, 23)
    return hour * 60 + (rng.random(n) * 60).astype(np.int64)


# Event id layout (encoding widths, not parameters of the world): kind (1 digit) | person serial (7 digits) |
# day number since 1970 (5 digits) | sequence (seq_digits). Serials from 10^7 on (block b = serial // 10^7)
# keep the layout with the serial's last 7 digits and the block stored where the id has room, so the ids of
# serials below 10^7 never change and no two ids meet:
# * by default in the kind field, as kind + 10 * b (10 > the largest kind);
# * when the caller bounds its sequence (seq_limit, for 6-digit sequences, whose ids have no room for a larger
#   kind field in int64), in the sequence field, b % slots as a multiple of seq_limit (slots = 10^seq_digits //
#   seq_limit), and in the upper half of the day field, 50,000 * (b // slots) (days stay below 50,000: 2106).
ID_PERSON = 10**7
ID_DAY = 10**5
ID_KINDS = 10
ID_DAY_HALF = ID_DAY // 2
INT64_MAX = int(np.iinfo(np.int64).max)


def id_blocks(seq_digits: int, seq_limit: int | None = None, largest_kind: int = ID_KINDS - 1) -> int:
    """How many blocks of 10^7 person serials an id layout holds (0: not even block 0 fits int64)."""
    width = 10**seq_digits
    kind_values = (INT64_MAX + 1) // (ID_PERSON * ID_DAY * width)  # kind field values 0..kind_values-1 fit
    if seq_limit is None:
        return max((kind_values - 1 - largest_kind) // ID_KINDS + 1, 0)
    if largest_kind >= kind_values:
        return 0
    return (width // seq_limit) * (ID_DAY // ID_DAY_HALF)


MAX_SERIALS = min(id_blocks(3), id_blocks(4)) * ID_PERSON  # the layouts hospital and social care ids use


def _ids(
    kind: npt.ArrayLike,
    person: npt.ArrayLike,
    day: npt.ArrayLike,
    seq: npt.ArrayLike,
    seq_digits: int = 3,
    seq_limit: int | None = None,
) -> np.ndarray:
    """Stable numeric ids: kind | person serial (7 digits) | day number (5 digits) | sequence, from the
    person's serial in the whole population (Universe.serial), with larger serials laid out as described
    above. Derived from who and when, never from a running counter, so the same event has the same id in
    every extract. seq_limit: the caller's bound on seq (below 10^seq_digits), needed for 6-digit sequences."""
    k = np.asarray(kind, dtype=np.int64)
    p = np.asarray(person, dtype=np.int64)
    d = np.asarray(day, dtype=np.int64)
    q = np.asarray(seq, dtype=np.int64)
    width = 10**seq_digits
    limit = width if seq_limit is None else int(seq_limit)
    if not 0 < limit <= width:
        raise ValueError(f"seq_limit must be in 1..{width:,}")
    if q.size and not ((q < limit).all() and (q >= 0).all()):
        raise OverflowError("sequence number overflows its id field")
    day_limit = ID_DAY if seq_limit is None else ID_DAY_HALF
    if d.size and not ((d >= 0).all() and (d < day_limit).all()):
        raise OverflowError(f"day number outside 0..{day_limit - 1:,} overflows its id field")
    if k.size and not ((k >= 0).all() and (k < ID_KINDS).all()):
        raise ValueError("id kinds are one digit")
    if p.size and int(p.min()) < 0:
        raise ValueError("person serials are >= 0")
    top = int(p.max()) if p.size else 0
    blocks = id_blocks(seq_digits, seq_limit, int(k.max()) if k.size else 0)
    if top >= blocks * ID_PERSON:
        raise OverflowError(
            f"person serial {top:,} overflows the id layout with {seq_digits}-digit sequences"
            f"{'' if seq_limit is None else f' below {seq_limit:,}'}: serials up to {blocks * ID_PERSON - 1:,}"
        )
    if top >= ID_PERSON:
        block = p // ID_PERSON
        p = p - block * ID_PERSON
        if seq_limit is None:
            k = k + ID_KINDS * block
        else:
            slots = width // limit
            q = q + limit * (block % slots)
            d = d + ID_DAY_HALF * (block // slots)
    return ((k * ID_PERSON + p) * ID_DAY + d) * width + q

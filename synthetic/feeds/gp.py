"""GP feeds: registrations (gp_patients), the coded record (gp_events) and prescriptions (gp_medications).

Everything is read off the universe's absolute dates: a diagnosis row is the person's onset date, an
observation is the k-th repeat of a person's schedule (schedule.periodic) with a value that is a
function of the person, the date and k. The extract date only decides which rows are visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
import numpy.typing as npt

from ..core import calendar as cal
from ..core import codes
from ..core.parameters import group, param
from ..core.randomness import Keyed
from ..core.schedule import periodic
from ..model.care import DRUGS, Regimens, cha2ds2_vasc, qrisk_percent
from ..model.inequality import expit, log_shift, logit, probability
from ..model.population import SEX_CODES, Universe

YEAR = cal.DAYS_PER_YEAR
GP = group("gp_record")
SCHEDULES = group("gp_schedules")
TIMING = GP["timing"]
OBS_LOOKBACK_YEARS = 3  # observations and processes: the last 3 years
CASE_FINDING_LOOKBACK_YEARS = 5  # BP and QRISK: 5 years (the BP case-finding indicator looks back 5 years)
MEDS_LOOKBACK_YEARS = 2
HOSPITAL_LOOKBACK_YEARS = 5


def window_start(extract_day: int, years: int) -> int:
    """First day of the window (extract date - N years, extract date], in calendar years."""
    return cal.add_years(extract_day, -years) + 1


class Vocab:
    """String vocabulary: rows carry small integer codes, strings are materialised once per feed."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def __call__(self, s: str) -> int:
        i = self._index.get(s)
        if i is None:
            i = self._index[s] = len(self.items)
            self.items.append(s)
        return i


def pick(choices: Sequence[tuple[str, float]], u: np.ndarray) -> np.ndarray:
    """Index into weighted (code, weight) choices by uniforms."""
    w = np.cumsum([x[1] for x in choices])
    return np.searchsorted(w / w[-1], u, side="right").clip(0, len(choices) - 1)


class Events:
    """Accumulates gp_events rows as integer columns."""

    def __init__(self) -> None:
        self.codes, self.units = Vocab(), Vocab()
        self.person: list[np.ndarray] = []
        self.day: list[np.ndarray] = []
        self.code: list[np.ndarray] = []
        self.value: list[np.ndarray] = []
        self.unit: list[np.ndarray] = []

    def add(
        self,
        person: npt.ArrayLike,
        day: npt.ArrayLike,
        code: str | npt.ArrayLike,
        value: npt.ArrayLike | None = None,
        unit: str | None = None,
    ) -> None:
        person = np.asarray(person, dtype=np.int64)
        n = person.size
        if n == 0:
            return
        if isinstance(code, str):
            code = np.full(n, self.codes(code), dtype=np.int32)
        self.person.append(person)
        self.day.append(np.broadcast_to(np.asarray(day, dtype=np.int64), (n,)))
        self.code.append(np.asarray(code, dtype=np.int32))
        self.value.append(np.full(n, np.nan) if value is None else np.asarray(value, dtype=np.float64))
        self.unit.append(np.full(n, -1 if unit is None else self.units(unit), dtype=np.int16))

    def add_choice(
        self, person: npt.ArrayLike, day: npt.ArrayLike, choices: Sequence[tuple[str, float]], u: np.ndarray
    ) -> None:
        idx = np.array([self.codes(c) for c, _ in choices], dtype=np.int32)
        self.add(person, day, idx[pick(choices, u)])

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The rows as five arrays; the accumulated parts are released as each column is joined."""

        def cat(parts: list[np.ndarray], dt: type) -> np.ndarray:
            joined: np.ndarray = np.concatenate(parts).astype(dt, copy=False) if parts else np.zeros(0, dt)
            parts.clear()
            return joined

        return (
            cat(self.person, np.int64),
            cat(self.day, np.int64),
            cat(self.code, np.int32),
            cat(self.value, np.float64),
            cat(self.unit, np.int16),
        )


def _bday(u: Universe, idx: np.ndarray, years: float) -> np.ndarray:
    return u.dob[idx] + round(years * YEAR)


def _visible(u: Universe, idx: np.ndarray, day: np.ndarray, extract_day: int) -> np.ndarray:
    """Rows a GP extract on extract_day can see: dated on or before it and before the person left."""
    return (day <= extract_day) & (day <= u.exit_day[idx]) & (day >= cal.DATE_FLOOR)


def diagnoses(u: Universe, ev: Events, people: np.ndarray, extract_day: int) -> None:
    c = u.clinical
    kr = Keyed(u.seed, "diagnosis-codes")
    for name in c.code_choice:
        onset = c.onset[name][people]
        has = onset < cal.NEVER
        idx = people[has]
        choices = codes.DIAGNOSIS[name]
        code_ids = np.array([ev.codes(code) for code, _ in choices], dtype=np.int32)[c.code_choice[name][idx]]
        vis = _visible(u, idx, onset[has], extract_day)
        ev.add(idx[vis], onset[has][vis], code_ids[vis])
        if name in c.resolve:
            res = c.resolve[name][idx]
            concept = codes.RESOLVED_CONCEPT.get(name, name)
            resolved_code = codes.RESOLVED[concept]
            r = (res < cal.NEVER) & _visible(u, idx, res, extract_day)
            if name == "ckd":  # later CKD stage 1-2 codes also take people off the CKD 3-5 register
                alt = kr.uniform(idx[r], 1) < GP["ckd_resolved_as_stage_1_2_share"]
                ev.add(idx[r][alt], res[r][alt], "431856006")
                ev.add(idx[r][~alt], res[r][~alt], resolved_code)
            else:
                ev.add(idx[r], res[r], resolved_code)
            red = c.rediagnose[name][idx]
            rr = (red < cal.NEVER) & _visible(u, idx, red, extract_day)
            ev.add(idx[rr], red[rr], code_ids[rr])
    # frailty: the first coding records the highest severity reached; later progression is coded too
    for k, name in enumerate(("frailty_mild", "frailty_moderate", "frailty_severe")):
        d = c.frailty_code_day[k][people]
        vis = (d < cal.NEVER) & _visible(u, people, d, extract_day)
        ev.add(people[vis], d[vis], codes.FRAILTY[name])
    # cancer: the GP hears from the hospital a few weeks after diagnosis
    cd = c.cancer_day[people]
    lag = (kr.uniform(people, 2) * TIMING["cancer_letter_days_spread"] + TIMING["cancer_letter_days_min"]).astype(
        np.int64
    )
    site_code = np.array([ev.codes(v[0]) for v in codes.CANCER_SITES.values()], dtype=np.int32)[c.cancer_site[people]]
    vis = (cd < cal.NEVER) & _visible(u, people, cd + lag, extract_day)
    ev.add(people[vis], (cd + lag)[vis], site_code[vis])
    # palliative care register (and the odd "no longer indicated")
    pd = c.palliative_day[people]
    vis = (pd < cal.NEVER) & _visible(u, people, pd, extract_day)
    ev.add_choice(people[vis], pd[vis], codes.PALLIATIVE, kr.uniform(people[vis], 3))
    po = c.palliative_off_day[people]
    vis = (po < cal.NEVER) & _visible(u, people, po, extract_day)
    ev.add(people[vis], po[vis], codes.RESOLVED["palliative"])
    # social and PLUS-group codes
    for name, days in c.social.items():
        d = days[people]
        vis = (d < cal.NEVER) & _visible(u, people, d, extract_day)
        ev.add_choice(people[vis], d[vis], codes.PROCESS[name], kr.uniform(people[vis], 4))
    ce = c.carer_end_day[people]
    vis = (ce < cal.NEVER) & _visible(u, people, ce, extract_day)
    ev.add(people[vis], ce[vis], codes.RESOLVED["carer"])
    # care home: recorded on moving in
    ch = c.care_home_day[people]
    vis = (ch < cal.NEVER) & _visible(u, people, ch, extract_day)
    ev.add_choice(people[vis], ch[vis], codes.PROCESS["care_home"], kr.uniform(people[vis], 5))


def _round(x: np.ndarray, digits: int = 0) -> np.ndarray:
    return np.round(x, digits)


class Values:
    """Measurement values as functions of (person, date, reading key)."""

    def __init__(self, u: Universe):
        self.u, self.c, self.p = u, u.clinical, u.clinical.params
        self.kr = Keyed(u.seed, "measurement-values")
        self.m = group("measurement_values")

    def _noise(self, idx: np.ndarray, key: np.ndarray, salt: int) -> np.ndarray:
        return self.kr.normal(idx, key, salt)

    def bp(self, idx: np.ndarray, day: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, c, p = self.u, self.c, self.p
        s, d = self.m["systolic_bp"], self.m["diastolic_bp"]
        age = cal.age_years(u.dob[idx], day)
        htn = c.has("hypertension", idx, day)
        general = (
            s["intercept"]
            + s["per_year_over_20"] * np.clip(age - 20, 0, s["years_max"])
            + s["male"] * (u.sex[idx] == 0)
            + p["sbp_offset"][idx]
            + s["per_bmi_above_27"] * (c.bmi_adult[idx] - 27)
            + s["diabetes"] * c.has("diabetes", idx, day)
        )
        klass = p["bp_class"][idx]
        target_mean = np.where(age >= 80, s["to_target_mean_80_plus"], s["to_target_mean"])
        htn_mean = (
            np.select([klass == 0, klass == 1], [target_mean, s["above_target_mean"]], s["very_high_mean"])
            + s["own_offset_share"] * p["sbp_offset"][idx]
        )
        sbp = np.where(htn, htn_mean, general) + s["noise_sd"] * self._noise(idx, key, 1)
        dbp_mean = np.where(
            htn & (klass == 2),
            d["very_high_mean"],
            d["per_mmhg_systolic"] * np.where(htn, htn_mean, general)
            + d["intercept"]
            - d["per_year_over_60"] * np.clip(age - 60, 0, d["years_max"]),
        )
        dbp = dbp_mean + p["dbp_offset"][idx] + d["noise_sd"] * self._noise(idx, key, 2)
        # to-target hypertensives stay below 90 mmHg diastolic; very high ones reach 180/120 now and then
        dbp = np.where(htn & (klass == 0), np.minimum(dbp, d["to_target_max"]), dbp)
        return _round(np.clip(sbp, s["min"], s["max"])), _round(np.clip(dbp, d["min"], d["max"]))

    def hba1c(self, idx: np.ndarray, day: np.ndarray, key: np.ndarray) -> np.ndarray:
        c, p, h = self.c, self.p, self.m["hba1c"]
        dm = c.has("diabetes", idx, day)
        ndh = c.has("ndh", idx, day)
        v = np.where(
            dm,
            p["hba1c_dm"][idx] * np.exp(h["diabetes_log_sd"] * self._noise(idx, key, 3)),
            np.where(ndh, p["hba1c_ndh"][idx], p["hba1c_normal"][idx] + h["normal_sd"] * self._noise(idx, key, 3)),
        )
        v = np.where(
            dm,
            np.clip(v, h["diabetes_min"], h["diabetes_max"]),
            np.where(ndh, np.clip(v, h["ndh_min"], h["ndh_max"]), np.clip(v, h["normal_min"], h["normal_max"])),
        )
        return _round(v)

    def cholesterol(self, idx: np.ndarray, day: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, ch = self.p, self.m["cholesterol"]
        statin = p["statin_start"][idx] <= day
        total = np.clip(
            p["chol"][idx] - ch["statin_reduction"] * statin + ch["noise_sd"] * self._noise(idx, key, 4),
            ch["min"],
            ch["max"],
        )
        non_hdl = np.clip(total - p["hdl"][idx], ch["non_hdl_min"], ch["non_hdl_max"])
        return _round(total, 1), _round(non_hdl, 1)

    def bmi(self, idx: np.ndarray, day: np.ndarray, key: np.ndarray) -> np.ndarray:
        b = self.m["bmi"]
        age = cal.age_years(self.u.dob[idx], day)
        adult = self.c.bmi_adult[idx] * np.exp(b["adult_log_sd"] * self._noise(idx, key, 5))
        child = b["child_at_2"] + b["child_per_year"] * np.clip(age, 2, 17) + b["child_sd"] * self._noise(idx, key, 6)
        return _round(np.clip(np.where(age >= 18, adult, child), b["min"], b["max"]), 1)

    def egfr(self, idx: np.ndarray, day: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, c, p = self.u, self.c, self.p
        e, cr = self.m["egfr"], self.m["creatinine"]
        age = cal.age_years(u.dob[idx], day)
        ckd = c.has("ckd", idx, day)
        normal = np.clip(
            e["normal_at_30"]
            - e["per_year_over_30"] * np.clip(age - 30, 0, e["years_max"])
            + p["egfr_offset"][idx]
            + e["normal_sd"] * self._noise(idx, key, 7),
            e["normal_min"],
            e["normal_max"],
        )
        impaired = np.clip(p["egfr_ckd"][idx] + e["ckd_sd"] * self._noise(idx, key, 7), e["ckd_min"], e["ckd_max"])
        egfr = _round(np.where(ckd, impaired, normal))
        creat = _round(
            cr["at_egfr_90"]
            * (90 / egfr)
            * np.where(u.sex[idx] == 1, cr["female_ratio"], 1.0)
            * np.exp(cr["log_sd"] * self._noise(idx, key, 8))
        )
        return egfr, creat

    def acr(self, idx: np.ndarray, day: np.ndarray, key: np.ndarray) -> np.ndarray:
        a = self.m["urine_acr"]
        return _round(
            np.clip(self.p["acr"][idx] * np.exp(a["log_sd"] * self._noise(idx, key, 9)), a["min"], a["max"]), 1
        )

    def alcohol(self, idx: np.ndarray, day: np.ndarray, key: np.ndarray) -> np.ndarray:
        a = self.m["alcohol_units"]
        base = np.where(self.u.sex[idx] == 0, a["male_median"], a["female_median"])
        return _round(np.clip(base * np.exp(a["log_sd"] * self._noise(idx, key, 10)) - a["shift"], 0, a["max"]))


def observations(u: Universe, ev: Events, people: np.ndarray, extract_day: int, regimens: Regimens) -> None:
    c, p = u.clinical, u.clinical.params
    vals = Values(u)
    hi = extract_day
    lo3 = window_start(extract_day, OBS_LOOKBACK_YEARS)
    lo5 = window_start(extract_day, CASE_FINDING_LOOKBACK_YEARS)
    exit_ = u.exit_day[people]
    obs = codes.OBSERVATION

    def add_bp(idx: np.ndarray, day: np.ndarray, key: np.ndarray) -> None:
        sbp, dbp = vals.bp(idx, day, key)
        ev.add(idx, day, obs["systolic_bp"][0], sbp, "mmHg")
        ev.add(idx, day, obs["diastolic_bp"][0], dbp, "mmHg")

    entry = u.entry_day[people]

    def schedule(
        name: str,
        start: np.ndarray,
        end: np.ndarray,
        period: npt.ArrayLike,
        lo: int,
        jitter: float = GP["schedule_jitter"],
        skip: npt.ArrayLike = 0.0,
        who: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Repeats of a measurement while registered (the practice records what it does)."""
        start = np.maximum(start, entry)
        sel = people if who is None else people[who]
        st = start if who is None else start[who]
        en = end if who is None else end[who]
        per = period if np.ndim(period) == 0 or who is None else np.asarray(period)[who]
        sk = skip if np.ndim(skip) == 0 or who is None else np.asarray(skip)[who]
        rows, k, day = periodic(Keyed(u.seed, name), sel, st, en, per, lo, hi, jitter=jitter, skip=sk)
        return sel[rows], day, k

    def every(schedule_name: str) -> float:
        return float(SCHEDULES[schedule_name]["every_days"])

    def missed(schedule_name: str) -> float:
        return float(SCHEDULES[schedule_name]["missed_share"])

    def missed_share(process: str, schedule_name: str) -> np.ndarray:
        """Per-person chance a scheduled process is missed: the schedule's usual chance, moved by who they are."""
        usual = param(f"care.{process}.missed_share")[schedule_name]
        return 1.0 - probability(u, people, process, base=1.0 - usual)

    htn_on = c.onset["hypertension"][people]
    dm_on = c.onset["diabetes"][people]
    adult_gp = ~p["never_bp"][people]
    # --- blood pressure: hypertensives 1-3 times a year, diabetics twice, other adults every 3-5 years
    idx, day, k = schedule(
        "bp-htn",
        htn_on,
        exit_,
        every("bp_hypertension") / p["bp_per_year"][people],
        lo5,
        skip=missed_share("bp_recorded", "hypertension"),
    )
    add_bp(idx, day, k)
    idx, day, k = schedule(
        "bp-adult",
        _bday(u, people, 18),
        np.minimum(np.minimum(_bday(u, people, 45), htn_on), exit_),
        every("bp_adult_under_45"),
        lo5,
        skip=missed("bp_adult_under_45"),
        who=adult_gp,
    )
    add_bp(idx, day, k)
    idx, day, k = schedule(
        "bp-45",
        _bday(u, people, 45),
        np.minimum(htn_on, exit_),
        every("bp_45_plus"),
        lo5,
        skip=missed_share("bp_recorded", "age_45_plus"),
        who=adult_gp,
    )
    add_bp(idx, day, k)
    idx, day, k = schedule(
        "bp-dm",
        dm_on,
        np.minimum(htn_on, exit_),
        every("bp_diabetes"),
        lo3,
        skip=missed_share("diabetes_care_processes", "bp"),
    )
    add_bp(idx, day, k)
    # --- HbA1c: diabetes twice a year, NDH yearly, screening from 40
    ndh_on = c.onset["ndh"][people]
    idx, day, k = schedule(
        "hba1c-dm", dm_on, exit_, every("hba1c_diabetes"), lo3, skip=missed_share("diabetes_care_processes", "hba1c")
    )
    ev.add(idx, day, obs["hba1c"][0], vals.hba1c(idx, day, k), obs["hba1c"][1])
    idx, day, k = schedule(
        "hba1c-ndh", ndh_on, np.minimum(dm_on, exit_), every("hba1c_ndh"), lo3, skip=missed("hba1c_ndh")
    )
    ev.add(idx, day, obs["hba1c"][0], vals.hba1c(idx, day, k), obs["hba1c"][1])
    # the HbA1c that made the diagnosis (diabetes >= 48, non-diabetic hyperglycaemia 42-47)
    for name, onset in (("hba1c-dx-dm", dm_on), ("hba1c-dx-ndh", ndh_on)):
        seen = (onset >= np.maximum(lo3, entry)) & (onset <= np.minimum(hi, exit_))
        idx, day = people[seen], onset[seen]
        kdx = np.full(idx.size, -7)
        value = vals.hba1c(idx, day, kdx)
        if name == "hba1c-dx-dm":
            dx = GP["hba1c_at_diagnosis"]
            value = np.maximum(
                value, dx["diabetes_min"] + np.floor(Keyed(u.seed, name).uniform(idx) * dx["diabetes_spread"])
            )
            value = np.where(u.clinical.onset["diabetes_type1"][idx] == day, np.maximum(value, dx["type1_min"]), value)
        ev.add(idx, day, obs["hba1c"][0], value, obs["hba1c"][1])
    idx, day, k = schedule(
        "hba1c-screen",
        _bday(u, people, 40),
        np.minimum(np.minimum(dm_on, ndh_on), exit_),
        every("hba1c_screen_40_plus"),
        lo3,
        skip=missed("hba1c_screen_40_plus"),
    )
    ev.add(idx, day, obs["hba1c"][0], vals.hba1c(idx, day, k), obs["hba1c"][1])
    # --- lipids: yearly with a long-term condition, five-yearly from 40 otherwise
    chronic_on = np.minimum.reduce(
        [
            htn_on,
            dm_on,
            c.onset["chd"][people],
            c.onset["stroke_tia"][people],
            c.onset["pad"][people],
            c.onset["ckd"][people],
        ]
    )
    for name, start, end, period, skip in (
        (
            "chol-chronic",
            chronic_on,
            exit_,
            every("cholesterol_long_term_condition"),
            missed_share("cholesterol_recorded", "long_term_condition"),
        ),
        (
            "chol-screen",
            _bday(u, people, 40),
            np.minimum(chronic_on, exit_),
            every("cholesterol_screen_40_plus"),
            missed("cholesterol_screen_40_plus"),
        ),
    ):
        idx, day, k = schedule(name, start, end, period, lo3, skip=skip)
        total, non_hdl = vals.cholesterol(idx, day, k)
        ev.add(idx, day, obs["cholesterol"][0], total, "mmol/L")
        both = Keyed(u.seed, name + "-nonhdl").uniform(idx, k) < GP["non_hdl_with_cholesterol_share"]
        ev.add(idx[both], day[both], obs["non_hdl_cholesterol"][0], non_hdl[both], "mmol/L")
    # --- BMI and smoking status for most adults
    idx, day, k = schedule("bmi-adult", _bday(u, people, 18), exit_, every("bmi_adult"), lo3, skip=missed("bmi_adult"))
    ev.add(idx, day, obs["bmi"][0], vals.bmi(idx, day, k), "kg/m2")
    idx, day, k = schedule(
        "bmi-dm", dm_on, exit_, every("bmi_diabetes"), lo3, skip=missed_share("diabetes_care_processes", "bmi")
    )
    ev.add(idx, day, obs["bmi"][0], vals.bmi(idx, day, k), "kg/m2")
    idx, day, k = schedule("smoking", _bday(u, people, 16), exit_, every("smoking"), lo3, skip=missed("smoking"))
    status = c.smoking[idx]
    kr = Keyed(u.seed, "smoking-code")
    for s, name in ((2, "smoking_current"), (1, "smoking_ex"), (0, "smoking_never")):
        m = status == s
        ev.add_choice(idx[m], day[m], codes.PROCESS[name], kr.uniform(idx[m]))
    # --- QRISK for 25-84 without CVD: health checks 40-74, yearly with hypertension/diabetes
    cvd_on = np.minimum.reduce([c.onset["chd"][people], c.onset["stroke_tia"][people], c.onset["pad"][people]])
    idx, day, k = schedule(
        "qrisk-check",
        _bday(u, people, 40),
        np.minimum.reduce([_bday(u, people, 75), cvd_on, exit_]),
        every("qrisk_health_check"),
        lo5,
        skip=missed_share("qrisk_recorded", "health_check"),
    )
    ev.add(idx, day, obs["qrisk"][0], _round(np.clip(qrisk_percent(u, idx, day), 0.1, 99), 1), "%")
    idx, day, k = schedule(
        "qrisk-ltc",
        np.maximum(np.minimum(htn_on, dm_on), _bday(u, people, 25)),
        np.minimum.reduce([_bday(u, people, 85), cvd_on, exit_]),
        every("qrisk_long_term_condition"),
        lo5,
        skip=missed_share("qrisk_recorded", "long_term_condition"),
    )
    ev.add(idx, day, obs["qrisk"][0], _round(np.clip(qrisk_percent(u, idx, day), 0.1, 99), 1), "%")
    # --- kidney function: eGFR + creatinine, urine ACR
    ckd_on = c.onset["ckd"][people]
    kidney_on = np.minimum.reduce([ckd_on, dm_on, htn_on])
    for name, start, end, sched in (
        ("egfr-ltc", kidney_on, exit_, "egfr_long_term_condition"),
        ("egfr-ckd", ckd_on, exit_, "egfr_ckd"),
        ("egfr-screen", _bday(u, people, 50), np.minimum(kidney_on, exit_), "egfr_screen_50_plus"),
    ):
        idx, day, k = schedule(name, start, end, every(sched), lo3, skip=missed(sched))
        egfr, creat = vals.egfr(idx, day, k)
        ev.add(idx, day, obs["egfr"][0], egfr, obs["egfr"][1])
        ev.add(idx, day, obs["creatinine"][0], creat, obs["creatinine"][1])
    idx, day, k = schedule(
        "acr-dm-ckd",
        np.minimum(dm_on, ckd_on),
        exit_,
        every("acr_diabetes_or_ckd"),
        lo3,
        skip=missed_share("diabetes_care_processes", "urine_acr"),
    )
    ev.add(idx, day, obs["urine_acr"][0], vals.acr(idx, day, k), obs["urine_acr"][1])
    idx, day, k = schedule(
        "acr-htn",
        htn_on,
        np.minimum(np.minimum(dm_on, ckd_on), exit_),
        every("acr_hypertension"),
        lo3,
        skip=missed("acr_hypertension"),
    )
    ev.add(idx, day, obs["urine_acr"][0], vals.acr(idx, day, k), obs["urine_acr"][1])
    # --- AF: CHA2DS2-VASc recorded for most
    af_on = c.onset["af"][people]
    scored = Keyed(u.seed, "cha2ds2-recorded").uniform(people) < GP["cha2ds2_vasc_scored_share"]
    idx, day, k = schedule("cha2ds2", af_on, exit_, every("cha2ds2_vasc"), lo3, skip=missed("cha2ds2_vasc"), who=scored)
    ev.add(idx, day, obs["cha2ds2_vasc"][0], cha2ds2_vasc(u, idx, day).astype(np.float64), None)
    # --- reviews: asthma, COPD, medication, diabetic foot
    ast_end = np.where(
        (c.resolve["asthma"][people] < cal.NEVER) & (c.rediagnose["asthma"][people] >= cal.NEVER),
        c.resolve["asthma"][people],
        exit_,
    )
    for name, start, end, skip in (
        ("asthma_review", c.onset["asthma"][people], np.minimum(ast_end, exit_), missed("asthma_review")),
        ("copd_review", c.onset["copd"][people], exit_, missed("copd_review")),
        (
            "diabetes_foot_check",
            np.maximum(dm_on, _bday(u, people, 12)),
            exit_,
            missed_share("diabetes_care_processes", "foot_check"),
        ),
    ):
        idx, day, k = schedule(name, start, end, every(name), lo3, skip=skip)
        ev.add_choice(idx, day, codes.PROCESS[name], Keyed(u.seed, name + "-code").uniform(idx, k))
    first_med = np.full(u.n, cal.NEVER, dtype=np.int64)
    np.minimum.at(first_med, regimens.person, regimens.start)
    idx, day, k = schedule(
        "medication_review",
        first_med[people],
        exit_,
        every("medication_review"),
        lo3,
        skip=missed("medication_review"),
    )
    ev.add_choice(idx, day, codes.PROCESS["medication_review"], Keyed(u.seed, "medrvw-code").uniform(idx, k))
    # --- alcohol: units recorded every few years; some coded as drinking above limits
    idx, day, k = schedule("alcohol", _bday(u, people, 18), exit_, every("alcohol"), lo3, skip=missed("alcohol"))
    units = vals.alcohol(idx, day, k)
    ev.add(idx, day, obs["alcohol"][0], units, obs["alcohol"][1])
    heavy = units > vals.m["alcohol_units"]["above_limit"]
    ev.add_choice(
        idx[heavy], day[heavy], codes.PROCESS["alcohol_excess"], Keyed(u.seed, "alc-code").uniform(idx[heavy], k[heavy])
    )
    # --- care home residents: a visit code most years
    idx, day, k = schedule(
        "care-home-visit",
        c.care_home_day[people] + TIMING["care_home_visit_after_move_days"],
        exit_,
        every("care_home_visit"),
        lo3,
        skip=missed("care_home_visit"),
    )
    ev.add(idx, day, codes.PROCESS["care_home_visit"][0][0])
    # --- SMI annual physical health check: six elements, complete for a minority
    smi_on = c.onset["smi"][people]
    smi_end = np.where((c.resolve["smi"][people] < cal.NEVER), c.resolve["smi"][people], exit_)
    idx, day, k = schedule(
        "smi-check",
        smi_on + TIMING["smi_check_after_diagnosis_days"],
        np.minimum(smi_end, exit_),
        every("smi_health_check"),
        lo3,
        skip=missed("smi_health_check"),
    )
    kr = Keyed(u.seed, "smi-check-elements")
    complete = kr.uniform(idx, k, 0) < probability(u, idx, "smi_health_check")
    element = probability(u, idx, "smi_element_without_full_check")
    el = [complete | (kr.uniform(idx, k, j) < element) for j in range(1, 7)]
    add_bp(idx[el[0]], day[el[0]], k[el[0]] + 10_000)
    ev.add(idx[el[1]], day[el[1]], obs["bmi"][0], vals.bmi(idx[el[1]], day[el[1]], k[el[1]] + 10_000), "kg/m2")
    tot, _ = vals.cholesterol(idx[el[2]], day[el[2]], k[el[2]] + 10_000)
    ev.add(idx[el[2]], day[el[2]], obs["cholesterol"][0], tot, "mmol/L")
    ev.add(idx[el[3]], day[el[3]], obs["hba1c"][0], vals.hba1c(idx[el[3]], day[el[3]], k[el[3]] + 10_000), "mmol/mol")
    m = el[4]
    st = c.smoking[idx[m]]
    code_idx = np.where(
        st == 2,
        ev.codes(codes.PROCESS["smoking_current"][0][0]),
        np.where(st == 1, ev.codes(codes.PROCESS["smoking_ex"][0][0]), ev.codes(codes.PROCESS["smoking_never"][0][0])),
    )
    ev.add(idx[m], day[m], code_idx)
    m = el[5]
    ev.add(idx[m], day[m], obs["alcohol"][0], vals.alcohol(idx[m], day[m], k[m] + 10_000), obs["alcohol"][1])
    # --- learning disability annual health check from 14
    ld_on = np.maximum(c.onset["learning_disability"][people], _bday(u, people, 14))
    idx, day, k = schedule(
        "ld-health-check",
        ld_on,
        exit_,
        every("ld_health_check"),
        lo3,
        skip=1.0 - probability(u, people, "ld_health_check"),
    )
    ev.add_choice(idx, day, codes.PROCESS["ld_health_check"], Keyed(u.seed, "ld-health-check-code").uniform(idx, k))
    flu_vaccinations(u, ev, people, extract_day, lo3)


_P_GRID = np.linspace(1e-6, 1 - 1e-6, 4001)
_Z_GRID = np.array([NormalDist().inv_cdf(x) for x in _P_GRID])


def flu_vaccinations(u: Universe, ev: Events, people: np.ndarray, extract_day: int, lo: int) -> None:
    """Seasonal flu vaccination (1 Sep - 31 Mar) for 65+ and at-risk groups; uptake is a persistent habit."""
    c = u.clinical
    kr = Keyed(u.seed, "flu")
    habit = kr.normal(people, -1)
    p_older = probability(u, people, "flu_vaccination_65plus")
    p_child = probability(u, people, "flu_vaccination_child")
    at_risk_shift = log_shift(u, people, "flu_vaccination_at_risk")
    group_base = param("care.flu_vaccination_at_risk.base_by_group")
    habit_w = GP["flu_habit_weights"]
    first = cal.year_of(lo) - 1
    last = cal.year_of(extract_day)
    for season in range(int(first), int(last) + 1):
        start = cal.day(season, 9, 1)
        end = cal.day(season + 1, 3, 31)
        if end < lo or start > extract_day:
            continue
        age = cal.age_years(u.dob[people], end)
        at_risk_copd = c.has("copd", people, start)
        at_risk = (
            c.has("diabetes", people, start)
            | c.has("chd", people, start)
            | c.has("heart_failure", people, start)
            | c.has("ckd", people, start)
            | c.has("stroke_tia", people, start)
            | c.has("cancer", people, start)
            | c.has("learning_disability", people, start)
            | c.in_care_home(people, start)
        )
        asthma = c.has("asthma", people, start) & (age >= 18)
        at_risk_base = np.select(
            [at_risk_copd, at_risk, asthma], [group_base["copd"], group_base["other"], group_base["asthma_adult"]], 0.0
        )
        p = np.where(age >= 65, p_older, np.where(at_risk_base > 0, expit(logit(at_risk_base) + at_risk_shift), 0.0))
        child = (age < 65) & (age >= 2) & (age < 11)  # children's programme
        p = np.where(child, np.maximum(p, p_child), p)
        # uptake is a persistent habit: the person's habit and the season's draw against their own threshold
        z = habit_w["person"] * habit + habit_w["season"] * kr.normal(people, season)
        zq = np.interp(p, _P_GRID, _Z_GRID)
        vacc = (p > 0) & (z < zq)
        # an exponential tail, truncated (the draw is capped below 1 so the log stays finite)
        offset = (
            TIMING["flu_days_after_1_sep_min"]
            - TIMING["flu_days_after_1_sep_mean"] * np.log1p(-np.minimum(kr.uniform(people, season, 1), 0.997))
        ).astype(np.int64)
        day = start + offset
        ok = (
            vacc
            & (day <= end)
            & (day >= lo)
            & (day <= extract_day)
            & (day <= u.exit_day[people])
            & (day >= u.entry_day[people])
        )
        ev.add_choice(people[ok], day[ok], codes.PROCESS["flu_vaccination"], kr.uniform(people[ok], season, 2))


FERTILITY = tuple((band["from"], band["to"], band["rate"]) for band in param("fertility_by_age"))


def antenatal_bookings(u: Universe, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Antenatal bookings (women 16-45) per calendar year, keyed by (person, year): (person, day, gestation days)."""
    kr = Keyed(u.seed, "antenatal")
    g = GP["antenatal_booking_gestation_days"]
    out_p: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    out_g: list[np.ndarray] = []
    for year in range(int(cal.year_of(lo)), int(cal.year_of(hi)) + 1):
        y0, y1 = cal.year_start(year), cal.year_start(year + 1) - 1
        mid = (y0 + y1) // 2
        women = np.flatnonzero(
            (u.sex == 1)
            & (u.entry_day <= y1)
            & (u.exit_day > y0)
            & (u.dob <= mid - 16 * YEAR)
            & (u.dob > mid - 46 * YEAR)
        )
        age = cal.age_years(u.dob[women], mid)
        rate = np.zeros(women.size)
        for a0, a1, r in FERTILITY:
            rate = np.where((age >= a0) & (age < a1), r, rate)
        u1, u2, u3, u4 = kr.uniforms(4, women, year)
        yes = u1 < rate
        w = women[yes]
        day = y0 + (u2[yes] * (y1 - y0 + 1)).astype(np.int64)
        early = u3[yes] < probability(u, w, "antenatal_booking_by_10_weeks", day=day)
        # by 10+0 weeks: 7+3 to 10+0; later: mostly 10-14 weeks, a tail to 22 weeks
        gest = np.where(
            early,
            g["early_min"] + np.floor(g["early_span"] * u4[yes]),
            g["late_min"] + np.floor(g["late_span"] * u4[yes] ** g["late_skew"]),
        )
        ok = (day >= u.entry_day[w]) & (day < u.exit_day[w]) & (day >= lo) & (day <= hi)
        out_p.append(w[ok])
        out_d.append(day[ok])
        out_g.append(gest[ok])
    return np.concatenate(out_p), np.concatenate(out_d), np.concatenate(out_g)


def gp_events(u: Universe, people: np.ndarray, extract_day: int, regimens: Regimens) -> Events:
    ev = Events()
    diagnoses(u, ev, people, extract_day)
    observations(u, ev, people, extract_day, regimens)
    lo3 = window_start(extract_day, OBS_LOOKBACK_YEARS)
    in_drop = np.zeros(u.n, dtype=bool)
    in_drop[people] = True
    p, d, g = antenatal_bookings(u, lo3, extract_day)
    keep = in_drop[p]
    ev.add(p[keep], d[keep], codes.OBSERVATION["antenatal_booking"][0], g[keep], "days")
    return ev


def medication_issues(
    u: Universe, regimens: Regimens, people_mask: np.ndarray, extract_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Repeat issues in the last MEDS_LOOKBACK_YEARS: every `interval` days from the regimen start."""
    from ..core.codes import MEDICINE

    r = regimens
    sel = np.flatnonzero(people_mask[r.person])
    lo = window_start(extract_day, MEDS_LOOKBACK_YEARS)
    key = r.person[sel] * 64 + r.slot[sel]
    # issued by the practice while registered; the schedule itself runs from the regimen start
    first = np.maximum(r.start[sel], u.entry_day[r.person[sel]])
    rows, k, day = periodic(
        Keyed(u.seed, "issues"),
        r.person[sel],
        first,
        r.stop[sel] - 1,
        r.interval[sel],
        lo,
        extract_day,
        jitter=param("prescribing.issue_jitter"),
        skip=r.skip[sel],
        phase=r.start[sel],
        key=key,
    )
    rows = sel[rows]
    drug = r.drug[rows]
    per28 = np.array([MEDICINE[d][2] for d in DRUGS], dtype=np.float64)[drug]
    unit_pack = np.isin(drug, [DRUGS.index(x) for x in DRUGS if MEDICINE[x][2] <= 5])
    qty = np.where(
        unit_pack, np.where(r.interval[rows] >= 56, per28 * 2, per28), per28 * np.round(r.interval[rows] / 28)
    )
    qty = np.where(
        DRUGS.index("salbutamol_inhaler") == drug,
        np.where(Keyed(u.seed, "saba-qty").uniform(rows, k) < param("prescribing.saba_two_inhalers_share"), 2.0, 1.0),
        qty,
    )
    return r.person[rows], day, drug, qty


def registrations(
    u: Universe, people: np.ndarray, extract_day: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """gp_patients rows: one per registration episode started on or before the extract date."""
    switch = u.switch_day[people]
    exit_ = u.exit_day[people]
    two = switch <= extract_day
    # episode 1: from first registration to the switch (ended the day before) or to exit
    p1 = people
    start1 = u.entry_day[people]
    end1 = np.where(two, switch - 1, np.where(exit_ <= extract_day, exit_, cal.NEVER))
    prac1 = u.practice1[people]
    p2 = people[two]
    start2 = switch[two]
    end2 = np.where(exit_[two] <= extract_day, exit_[two], cal.NEVER)
    prac2 = u.practice2[people][two]
    person = np.concatenate([p1, p2])
    start = np.concatenate([start1, start2])
    end = np.concatenate([end1, end2])
    practice = np.concatenate([prac1, prac2])
    death = np.where(
        u.died[person] & (u.exit_day[person] <= extract_day) & (end == u.exit_day[person]),
        u.exit_day[person],
        cal.NEVER,
    )
    order = np.lexsort((start, person))
    return person[order], practice[order], start[order], end[order], death[order]


SEX = np.array(SEX_CODES)

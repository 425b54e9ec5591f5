"""Repeat prescribing: which person takes which medicine from when to when (absolute dates).

Regimens follow the conditions: antihypertensives for ~75% of hypertensives (1-3 classes, NICE-like
order), statins for established CVD / diabetes / QRISK >= 10, anticoagulation for most AF with
CHA2DS2-VASc >= 2, antiplatelets, antidiabetics by type, inhalers for asthma and COPD (including some
children relying on their reliever with no preventer), heart failure medicines, antidepressants.
Issues are then laid on the calendar every 28 or 56 days (see primary_care.medication_issues).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..core import calendar as cal
from ..core.parameters import group, param
from ..core.randomness import stream_rng
from .inequality import probability
from .population import BLACK, SOUTH_ASIAN, Universe

YEAR = cal.DAYS_PER_YEAR


@dataclass
class Regimens:
    person: np.ndarray
    slot: np.ndarray  # unique per person: keys the issue randomness
    drug: np.ndarray  # index into DRUGS
    start: np.ndarray
    stop: np.ndarray
    interval: np.ndarray  # days between issues
    skip: np.ndarray  # chance an issue is missed


DRUGS = (
    "ramipril_5",
    "ramipril_10",
    "lisinopril_10",
    "losartan_50",
    "candesartan_8",
    "amlodipine_5",
    "amlodipine_10",
    "indapamide_2_5",
    "bendroflumethiazide_2_5",
    "bisoprolol_2_5",
    "bisoprolol_5",
    "doxazosin_4",
    "furosemide_40",
    "spironolactone_25",
    "atorvastatin_20",
    "atorvastatin_40",
    "atorvastatin_80",
    "simvastatin_40",
    "rosuvastatin_10",
    "apixaban_5",
    "rivaroxaban_20",
    "edoxaban_60",
    "warfarin_1",
    "warfarin_3",
    "aspirin_75",
    "clopidogrel_75",
    "metformin_500",
    "metformin_mr_500",
    "gliclazide_80",
    "sitagliptin_100",
    "empagliflozin_10",
    "dapagliflozin_10",
    "linagliptin_5",
    "insulin_glargine",
    "insulin_aspart",
    "insulin_detemir",
    "salbutamol_inhaler",
    "beclometasone_inhaler",
    "beclometasone_formoterol",
    "budesonide_formoterol",
    "fluticasone_vilanterol",
    "trimbow",
    "citalopram_20",
    "sertraline_50",
    "paracetamol_500",
    "omeprazole_20",
    "lansoprazole_30",
)
D = {name: i for i, name in enumerate(DRUGS)}


def qrisk_logit_constant(u: Universe, idx: np.ndarray, day: int | np.ndarray) -> np.ndarray:
    """QRISK-like 10-year risk on the logit scale, without the age term (added by the caller)."""
    c, p, t = u.clinical, u.clinical.params, QRISK_TERMS
    x = (
        t["intercept"]
        + t["male"] * (u.sex[idx] == 0)
        + t["current_smoker"] * (c.smoking[idx] == 2)
        + t["ex_smoker"] * (c.smoking[idx] == 1)
        + t["diabetes"] * c.ever("diabetes", idx, day)
        + t["hypertension"] * c.ever("hypertension", idx, day)
        + t["af"] * c.ever("af", idx, day)
        + t["ckd"] * c.ever("ckd", idx, day)
        + t["per_mmhg_sbp_offset"] * (p["sbp_offset"][idx])
        + t["per_mmol_cholesterol_above_5_2"] * (p["chol"][idx] - 5.2)
        + t["per_bmi_above_27"] * (c.bmi_adult[idx] - 27)
        + t["per_imd_decile_below_10"] * (10 - u.imd[idx])
        + t["south_asian"] * np.isin(u.ethnicity[idx], SOUTH_ASIAN)
        + t["latent"] * u.latent[idx]
    )
    return x


QRISK_TERMS = param("qrisk.logit_terms")
QRISK_AGE_SLOPE = param("qrisk.age_slope_per_year")


def qrisk_percent(u: Universe, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
    age = cal.age_years(u.dob[idx], day)
    z = qrisk_logit_constant(u, idx, day) + QRISK_AGE_SLOPE * (age - 55)
    return 100 / (1 + np.exp(-z))


def cha2ds2_vasc(u: Universe, idx: np.ndarray, day: int | np.ndarray) -> np.ndarray:
    c = u.clinical
    age = cal.age_years(u.dob[idx], day)
    return (
        (age >= 75) * 2
        + ((age >= 65) & (age < 75))
        + (u.sex[idx] == 1)
        + c.has("heart_failure", idx, day)
        + c.has("hypertension", idx, day)
        + 2 * c.has("stroke_tia", idx, day)
        + (c.has("chd", idx, day) | c.has("pad", idx, day))
        + c.has("diabetes", idx, day)
    ).astype(np.int64)


def build_regimens(u: Universe) -> Regimens:
    c, p, n = u.clinical, u.clinical.params, u.n
    rng = stream_rng(u.seed, "regimens")
    rx = group("prescribing")
    tm = group("prescribing_timing")
    days, years, offset = tm["start_days_after"], tm["start_years_after"], tm["offset_days"]
    standard, long = tm["issue_days"]["standard"], tm["issue_days"]["long"]

    def after_days(name: str) -> np.ndarray:
        return rng.integers(days[name][0], days[name][1], n)

    def after_years(name: str) -> np.ndarray:
        return (rng.uniform(years[name][0], years[name][1], n) * YEAR).astype(np.int64)

    htn_rx, hf_rx, statin_rx, dm_rx = rx["hypertension"], rx["heart_failure"], rx["statin"], rx["diabetes"]
    parts: list[tuple] = []
    everyone = np.arange(n)
    R: Callable[[int | None], np.ndarray] = lambda k: rng.random(n) if k is None else rng.random(k)  # noqa: E731

    def add(
        mask: np.ndarray,
        slot: int,
        drug: npt.ArrayLike,
        start: np.ndarray,
        stop: np.ndarray,
        interval: npt.ArrayLike = standard,
        skip: npt.ArrayLike = rx["issue_missed_share"],
    ) -> None:
        who = np.flatnonzero(mask & (start < stop) & (start < cal.NEVER))
        if who.size == 0:
            return
        take = lambda a: np.broadcast_to(a, (n,))[who]  # noqa: E731
        parts.append((who, np.full(who.size, slot), take(drug), take(start), take(stop), take(interval), take(skip)))

    exit_ = u.exit_day
    u_interval = R(None)
    interval = np.where(u_interval < rx["issue_every_28_days_share"], standard, long)
    # --- hypertension: 1-3 classes, A (ACEi/ARB) or C (CCB) first by age/ethnicity, then D, then B
    htn = c.onset["hypertension"]
    htn_stop = np.where(
        (c.resolve["hypertension"] < cal.NEVER) & (c.rediagnose["hypertension"] >= cal.NEVER),
        c.resolve["hypertension"],
        exit_,
    )
    treated = p["htn_treated"] & (htn < cal.NEVER)
    age_dx = cal.age_years(u.dob, np.minimum(htn, cal.NEVER - 1))
    c_first = (age_dx >= 55) | np.isin(u.ethnicity, BLACK)
    arb = R(None) < htn_rx["arb"]
    a_drug = np.where(
        arb,
        np.where(R(None) < htn_rx["losartan_of_arb"], D["losartan_50"], D["candesartan_8"]),
        np.select(
            [R(None) < htn_rx["ramipril_5"], R(None) < htn_rx["then_lisinopril_10"]],
            [D["ramipril_5"], D["lisinopril_10"]],
            D["ramipril_10"],
        ),
    )
    c_drug = np.where(R(None) < htn_rx["amlodipine_5"], D["amlodipine_5"], D["amlodipine_10"])
    d_drug = np.where(R(None) < htn_rx["indapamide"], D["indapamide_2_5"], D["bendroflumethiazide_2_5"])
    n_classes = p["htn_classes"]
    start1 = htn + after_days("hypertension_first")
    start2 = htn + after_years("hypertension_second")
    start3 = htn + after_years("hypertension_third")
    add(treated, 1, np.where(c_first, c_drug, a_drug), start1, htn_stop, interval)
    add(treated & (n_classes >= 2), 2, np.where(c_first, a_drug, c_drug), start2, htn_stop, interval)
    bb_third = R(None) < htn_rx["beta_blocker_as_third"]
    add(treated & (n_classes >= 3) & ~bb_third, 3, d_drug, start3, htn_stop, interval)
    add(treated & (n_classes >= 3) & bb_third, 3, D["bisoprolol_5"], start3, htn_stop, interval)
    add(
        treated & (n_classes >= 3) & (R(None) < htn_rx["doxazosin_as_fourth"]),
        4,
        D["doxazosin_4"],
        start3 + offset["doxazosin_after_third_class"],
        htn_stop,
        interval,
    )
    on_a = treated & (c_first & (n_classes >= 2) | ~c_first)
    # --- heart failure
    hf = c.onset["heart_failure"]
    hf_start = hf + after_days("heart_failure")
    add(
        (hf < cal.NEVER) & ~on_a & (R(None) < hf_rx["ace_or_arb"]),
        5,
        np.where(R(None) < hf_rx["ramipril_of_ace_or_arb"], D["ramipril_5"], D["candesartan_8"]),
        hf_start,
        exit_,
        interval,
    )
    add((hf < cal.NEVER) & (R(None) < hf_rx["beta_blocker"]), 6, D["bisoprolol_2_5"], hf_start, exit_, interval)
    add((hf < cal.NEVER) & (R(None) < hf_rx["loop_diuretic"]), 7, D["furosemide_40"], hf_start, exit_, interval)
    add(
        (hf < cal.NEVER) & (R(None) < hf_rx["mra"]),
        8,
        D["spironolactone_25"],
        hf_start + offset["mra_after_heart_failure_start"],
        exit_,
        interval,
    )
    # --- anticoagulation for AF (most with CHA2DS2-VASc >= 2)
    af = c.onset["af"]
    af_idx = np.flatnonzero(af < cal.NEVER)
    score = np.zeros(n, dtype=np.int64)
    score[af_idx] = cha2ds2_vasc(u, af_idx, np.maximum(af[af_idx], cal.ANCHOR - 365))
    anticoag = (af < cal.NEVER) & (
        R(None)
        < np.where(
            score >= 2, probability(u, everyone, "anticoagulation"), param("care.anticoagulation.low_score_share")
        )
    )
    ac_pick = R(None)
    ac_cum = rx["anticoagulant_cumulative"]
    ac_drug = np.select(
        [ac_pick < ac_cum["apixaban_5"], ac_pick < ac_cum["rivaroxaban_20"], ac_pick < ac_cum["edoxaban_60"]],
        [D["apixaban_5"], D["rivaroxaban_20"], D["edoxaban_60"]],
        D["warfarin_3"],
    )
    add(anticoag, 9, ac_drug, af + after_days("anticoagulant"), exit_, interval)
    add(anticoag & (ac_drug == D["warfarin_3"]), 10, D["warfarin_1"], af + after_days("anticoagulant"), exit_, long)
    # --- statins: CVD, diabetes 40+, QRISK >= 10 (whichever comes first)
    cvd = np.minimum(np.minimum(c.onset["chd"], c.onset["stroke_tia"]), c.onset["pad"])
    dm = c.onset["diabetes"]
    statin_cvd = np.where(
        (cvd < cal.NEVER) & (R(None) < probability(u, everyone, "statin_secondary_prevention")),
        cvd + after_days("statin_cvd"),
        cal.NEVER,
    )
    dm40 = np.maximum(dm, u.dob + int(40 * YEAR))
    # primary prevention is one personal decision (accepting a statin), whichever route offers it first
    accepts_statin = R(None) < probability(u, everyone, "statin_uptake")
    statin_dm = np.where((dm < cal.NEVER) & accepts_statin, dm40 + after_days("statin_diabetes_from_40"), cal.NEVER)
    k = qrisk_logit_constant(u, everyone, cal.ANCHOR + int(tm["qrisk_assessed_years_after_anchor"] * YEAR))
    offer = param("qrisk.statin_offer_risk")
    cross_age = 55 + (np.log(offer / (1 - offer)) - k) / QRISK_AGE_SLOPE
    cross_day = u.dob + (np.clip(cross_age, 25, 120) * YEAR).astype(np.int64)
    statin_q = np.where((cross_age < 85) & accepts_statin, cross_day + after_days("statin_qrisk"), cal.NEVER)
    statin_start = np.minimum(np.minimum(statin_cvd, statin_dm), statin_q)
    statin_drug = np.where(
        statin_start == statin_cvd,
        np.where(R(None) < statin_rx["atorvastatin_80_secondary"], D["atorvastatin_80"], D["atorvastatin_40"]),
        np.select(
            [R(None) < statin_rx["atorvastatin_20_primary"], R(None) < statin_rx["then_simvastatin_40"]],
            [D["atorvastatin_20"], D["simvastatin_40"]],
            D["rosuvastatin_10"],
        ),
    )
    statin_stop = np.where(R(None) < statin_rx["stop"], statin_start + after_years("statin_stop"), exit_)
    add(statin_start < cal.NEVER, 11, statin_drug, statin_start, np.minimum(statin_stop, exit_), interval)
    p["statin_start"] = np.where(statin_start < statin_stop, statin_start, cal.NEVER)
    # --- antiplatelets for CHD / stroke / PAD when not anticoagulated
    ap = (cvd < cal.NEVER) & ~anticoag & (R(None) < rx["antiplatelet"]["cvd_not_anticoagulated"])
    ap_drug = np.where(
        (c.onset["stroke_tia"] == cvd)
        | (c.onset["pad"] == cvd)
        | (R(None) < rx["antiplatelet"]["clopidogrel_when_chd_first"]),
        D["clopidogrel_75"],
        D["aspirin_75"],
    )
    add(ap, 12, ap_drug, cvd + after_days("antiplatelet"), exit_, interval)
    # --- diabetes
    t1, t2 = c.onset["diabetes_type1"], c.onset["diabetes_type2"]
    dm_stop = np.where(c.resolve["diabetes_type2"] < cal.NEVER, c.resolve["diabetes_type2"], exit_)
    add(
        (t2 < cal.NEVER) & (R(None) < dm_rx["metformin"]),
        13,
        np.where(R(None) < dm_rx["metformin_immediate_release"], D["metformin_500"], D["metformin_mr_500"]),
        t2 + after_days("metformin"),
        dm_stop,
        interval,
    )
    second = R(None)
    second_cum = rx["diabetes_second_line_cumulative"]
    second_drug = np.select(
        [second < second_cum[k] for k in ("gliclazide_80", "sitagliptin_100", "empagliflozin_10", "dapagliflozin_10")],
        [D["gliclazide_80"], D["sitagliptin_100"], D["empagliflozin_10"], D["dapagliflozin_10"]],
        D["linagliptin_5"],
    )
    add(
        (t2 < cal.NEVER) & (R(None) < dm_rx["second_line"]),
        14,
        second_drug,
        t2 + after_years("diabetes_second_line"),
        dm_stop,
        interval,
    )
    add(
        (t2 < cal.NEVER) & (R(None) < dm_rx["insulin_type2"]),
        15,
        D["insulin_glargine"],
        t2 + after_years("insulin_type2"),
        dm_stop,
        long,
    )
    add(
        t1 < cal.NEVER,
        16,
        np.where(R(None) < dm_rx["glargine_type1"], D["insulin_glargine"], D["insulin_detemir"]),
        t1 + after_days("insulin_type1"),
        exit_,
        long,
    )
    add(t1 < cal.NEVER, 17, D["insulin_aspart"], t1 + after_days("insulin_type1"), exit_, long)
    # --- asthma (and COPD) inhalers; some children rely on their reliever with no preventer
    ast = c.onset["asthma"]
    ast_stop = np.where(
        (c.resolve["asthma"] < cal.NEVER) & (c.rediagnose["asthma"] >= cal.NEVER), c.resolve["asthma"], exit_
    )
    child = cal.age_years(u.dob, cal.ANCHOR) < 18
    over_reliant = child & (R(None) < probability(u, everyone, "cyp_reliever_over_reliance"))
    reliever = rx["reliever_issues_per_year"]
    saba_per_year = np.where(
        over_reliant,
        rng.uniform(reliever["over_reliant_min"], reliever["over_reliant_max"], n),
        np.exp(np.log(reliever["asthma_median"]) + rng.normal(0, reliever["asthma_log_sd"], n)),
    )
    p["saba_per_year"] = saba_per_year
    add(
        (ast < cal.NEVER) & (R(None) < rx["asthma"]["reliever"]),
        18,
        D["salbutamol_inhaler"],
        ast + after_days("asthma_reliever"),
        ast_stop,
        365.25 / saba_per_year,
        0.0,
    )
    ics = (ast < cal.NEVER) & (
        R(None)
        < np.where(
            over_reliant,
            0.0,
            np.where(
                child, probability(u, everyone, "cyp_asthma_preventer"), param("care.adult_asthma_preventer_share")
            ),
        )
    )
    ics_pick = R(None)
    ics_cum = rx["adult_preventer_cumulative"]
    ics_drug = np.where(
        child,
        D["beclometasone_inhaler"],
        np.select(
            [ics_pick < ics_cum[k] for k in ("beclometasone", "beclometasone_formoterol", "budesonide_formoterol")],
            [D["beclometasone_inhaler"], D["beclometasone_formoterol"], D["budesonide_formoterol"]],
            D["fluticasone_vilanterol"],
        ),
    )
    add(
        ics,
        19,
        ics_drug,
        ast + after_days("asthma_preventer"),
        ast_stop,
        np.where(R(None) < rx["asthma"]["preventer_28_day"], standard, long),
        rx["asthma"]["preventer_missed"],
    )
    copd = c.onset["copd"]
    add(
        (copd < cal.NEVER) & (R(None) < rx["copd"]["reliever"]),
        20,
        D["salbutamol_inhaler"],
        copd + after_days("copd_reliever"),
        exit_,
        365.25 / np.exp(np.log(reliever["copd_median"]) + rng.normal(0, reliever["copd_log_sd"], n)),
        0.0,
    )
    add(
        (copd < cal.NEVER) & (R(None) < rx["copd"]["inhaled_maintenance"]),
        21,
        np.where(R(None) < rx["copd"]["trimbow_of_maintenance"], D["trimbow"], D["fluticasone_vilanterol"]),
        copd + after_days("copd_maintenance"),
        exit_,
        standard,
        rx["copd"]["maintenance_missed"],
    )
    # --- depression: antidepressant courses (some long-term)
    dep = c.onset["depression"]
    dep_rx = rx["depression"]
    long_term = R(None) < dep_rx["long_term"]  # drawn before the course lengths (the stream's order)
    course_years = np.exp(rng.normal(np.log(dep_rx["course_median_years"]), dep_rx["course_log_sd"], n))
    course = np.where(long_term, cal.NEVER, (course_years * YEAR).astype(np.int64))
    add(
        (dep < cal.NEVER) & (R(None) < dep_rx["antidepressant"]),
        22,
        np.where(R(None) < dep_rx["citalopram"], D["citalopram_20"], D["sertraline_50"]),
        dep + after_days("antidepressant"),
        np.minimum(dep + course, exit_),
        interval,
    )
    # --- SGLT2 inhibitor for heart failure / CKD (cardio-renal protection)
    ckd = c.onset["ckd"]
    cr = np.minimum(
        np.where(R(None) < hf_rx["sglt2"], hf, cal.NEVER), np.where(R(None) < rx["ckd_sglt2"], ckd, cal.NEVER)
    )
    add(
        (cr < cal.NEVER) & (t2 >= cal.NEVER),
        24,
        D["dapagliflozin_10"],
        cr + after_days("sglt2_cardio_renal"),
        exit_,
        interval,
    )
    # --- frail older people: regular paracetamol
    mod = c.frailty_day[1]
    add(
        (mod < cal.NEVER) & (R(None) < rx["frail_paracetamol"]),
        23,
        D["paracetamol_500"],
        mod + after_days("frail_paracetamol"),
        exit_,
        standard,
    )
    # --- gastroprotection alongside antiplatelets / anticoagulants in older people, and for reflux
    age_a = cal.age_years(u.dob, cal.ANCHOR)
    gp_start = np.minimum(
        np.where(ap, cvd + offset["ppi_after_antiplatelet"], cal.NEVER),
        np.where(anticoag, af + offset["ppi_after_af"], cal.NEVER),
    )
    gastro = rx["gastroprotection"]
    gp_start = np.where((age_a >= 65) & (R(None) < gastro["older_on_antithrombotic"]), gp_start, cal.NEVER)
    reflux = np.where(
        (age_a >= 30)
        & (
            R(None)
            < gastro["reflux_at_30"]
            + gastro["reflux_per_year_after_30"] * np.clip(age_a - 30, 0, gastro["reflux_years_max"])
        ),
        u.dob + ((30 + R(None) * tm["reflux_onset_age_span_years"]) * YEAR).astype(np.int64),
        cal.NEVER,
    )
    # multimorbid older people collect more repeat medicines (the polypharmacy tail)
    n_ltc = np.zeros(n, dtype=np.int16)
    for name in (
        "hypertension",
        "diabetes",
        "chd",
        "heart_failure",
        "af",
        "copd",
        "ckd",
        "stroke_tia",
        "depression",
        "asthma",
    ):
        n_ltc += c.onset[name] <= cal.ANCHOR
    multi = (age_a >= 65) & (n_ltc >= 3)
    multi_start = cal.ANCHOR - (R(None) * tm["polypharmacy_window_years"] * YEAR).astype(np.int64)
    poly = rx["polypharmacy"]
    add(multi & (R(None) < poly["paracetamol"]), 26, D["paracetamol_500"], multi_start, exit_, standard)
    add(
        multi & (R(None) < poly["furosemide"]),
        27,
        D["furosemide_40"],
        multi_start + offset["polypharmacy_furosemide"],
        exit_,
        interval,
    )
    add(
        multi & (R(None) < poly["sertraline"]),
        28,
        D["sertraline_50"],
        multi_start + offset["polypharmacy_sertraline"],
        exit_,
        interval,
    )
    add(
        multi & treated & (R(None) < poly["doxazosin"]),
        29,
        D["doxazosin_4"],
        multi_start + offset["polypharmacy_doxazosin"],
        htn_stop,
        interval,
    )
    reflux = np.where(multi & (R(None) < poly["ppi"]), np.minimum(reflux, multi_start), reflux)
    ppi_start = np.minimum(gp_start, reflux)
    add(
        ppi_start < cal.NEVER,
        25,
        np.where(R(None) < poly["omeprazole_of_ppi"], D["omeprazole_20"], D["lansoprazole_30"]),
        ppi_start,
        exit_,
        interval,
    )

    cols = [np.concatenate(x) for x in zip(*parts, strict=False)]
    person, slot, drug, start, stop, inter, skip = cols
    order = np.lexsort((slot, person))
    return Regimens(
        person[order],
        slot[order].astype(np.int64),
        drug[order].astype(np.int16),
        start[order].astype(np.int64),
        np.minimum(stop[order], exit_[person[order]]).astype(np.int64),
        inter[order].astype(np.float64),
        skip[order].astype(np.float64),
    )

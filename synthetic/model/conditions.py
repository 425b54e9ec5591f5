"""Who has what, and since when: long-term conditions, risk factors, frailty, cancer, care homes.

Each condition is a cumulative-incidence curve in age (logistic in a per-condition age shape, shifted by
sex, deprivation, ethnicity, smoking, BMI, a shared multimorbidity factor and causal links such as
hypertension -> CHD). A person's uniform draw u is inverted through that curve into an onset AGE, so
the diagnosis date is dob + onset age: an absolute date, the same in every extract. Each curve's
intercept is solved by bisection so that the register prevalence among the people registered on
ANCHOR hits a QOF-like target. Resolved codes (asthma especially) and re-diagnoses sit on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ..core import calendar as cal
from ..core.codes import CANCER_SITES, CKD_STAGE_EGFR, DIAGNOSIS
from ..core.parameters import array, group, param
from ..core.randomness import stream_rng
from .clinical import Clinical
from .inequality import expit, log_shift, logit, probability
from .population import BLACK, PAST_DECEASED, PRESENT, SOUTH_ASIAN, Universe, deprivation_log_hazard

YEAR = cal.DAYS_PER_YEAR


@dataclass(frozen=True)
class ConditionSpec:
    name: str
    target: float  # register prevalence on ANCHOR
    knots: tuple  # ((age, logit shape), ...) strictly increasing in both
    adults_only_target: bool = False
    male: float = 0.0
    imd: float = 0.0  # per decile below 10 (more deprived)
    latent: float = 0.0  # per sd of the shared multimorbidity factor
    bmi: float = 0.0  # per kg/m2 above 27
    smoker: float = 0.0
    ex_smoker: float = 0.0
    south_asian: float = 0.0
    black: float = 0.0
    cohort: float = 0.0  # per year of birth after 1970
    links: tuple = ()  # ((condition, log-odds), ...)
    resolve_share: float = 0.0
    resolve_mean_years: float = 5.0
    rediagnose_share: float = 0.0


# the order conditions are drawn in: links refer to conditions drawn earlier
CONDITION_ORDER = (
    "diabetes_type1",
    "diabetes_type2",
    "ndh",
    "hypertension",
    "af",
    "chd",
    "stroke_tia",
    "heart_failure",
    "ckd",
    "pad",
    "copd",
    "asthma",
    "smi",
    "depression",
    "learning_disability",
    "autism",
    "epilepsy",
    "dementia",
)


def _condition_specs() -> tuple[ConditionSpec, ...]:
    """Targets (QOF-like crude register prevalence on ANCHOR) and curve shapes from parameters.yaml."""
    specs = []
    for name in CONDITION_ORDER:
        model = dict(param(f"conditions.{name}.model"))
        model["knots"] = tuple(tuple(k) for k in model["knots"])
        model["links"] = tuple(tuple(k) for k in model["links"])
        specs.append(ConditionSpec(name, param(f"conditions.{name}.target"), **model))
    return tuple(specs)


CONDITIONS = _condition_specs()
CONDITION_NAMES = tuple(c.name for c in CONDITIONS)
CANCER_TARGET_5Y = param(
    "conditions.cancer_5_year"
)  # diagnosed in the 5 years to ANCHOR, among the registered population

# Cancer site mix (%) by sex, and each site's (stage-1/2 share, unstaged share, lethality factor)
_SITE_KEYS = tuple(CANCER_SITES)
_SITE_MALE = param("cancer.site_mix_male")
_SITE_FEMALE = param("cancer.site_mix_female")
_SITE_STAGE = param("cancer.site_stage")
_STAGE_HAZARD = array("cancer.stage_hazard")  # per year, stages 1, 2, 3, 4, U (x site factor)
STAGES = ("1", "2", "3", "4", "U")
TIMING = param("conditions.timing")


def _logit(p: npt.ArrayLike) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def _covariates(u: Universe, spec: ConditionSpec, c: Clinical, age_ref: np.ndarray, bmi: np.ndarray) -> np.ndarray:
    x = spec.male * (u.sex == 0) + spec.imd * (10 - u.imd) + spec.latent * u.latent
    if spec.bmi:
        x = x + spec.bmi * (bmi - 27.0)
    if spec.smoker or spec.ex_smoker:
        x = x + spec.smoker * (c.smoking == 2) + spec.ex_smoker * (c.smoking == 1)
    if spec.south_asian:
        x = x + spec.south_asian * np.isin(u.ethnicity, SOUTH_ASIAN)
    if spec.black:
        x = x + spec.black * np.isin(u.ethnicity, BLACK)
    if spec.cohort:
        birth_year = 1970 + u.dob / YEAR
        x = x + spec.cohort * np.clip(birth_year - 1970, -40, 30)
    ref = u.extras["ref_day"]
    for cause, w in spec.links:
        x = x + w * (c.onset[cause] <= ref)
    return x.astype(np.float64)


def _onset_day(spec: ConditionSpec, t: np.ndarray, u_spread: np.ndarray, dob: np.ndarray) -> np.ndarray:
    ages = np.array([k[0] for k in spec.knots], dtype=np.float64)
    shape = np.array([k[1] for k in spec.knots], dtype=np.float64)
    onset_age = np.interp(t, shape, ages)
    onset_age = np.where(t < shape[0], ages[0] + u_spread * TIMING["onset_spread_years_before_first_knot"], onset_age)
    day = dob + np.round(onset_age * YEAR).astype(np.int64)
    return np.where(t > shape[-1], cal.NEVER, day)


def _calibrate(
    spec: ConditionSpec,
    xlin: np.ndarray,
    logit_u: np.ndarray,
    u_spread: np.ndarray,
    dob: np.ndarray,
    resolve_delay: np.ndarray,
    resolved: np.ndarray,
    rediag_delay: np.ndarray,
    rediag: np.ndarray,
    sample: np.ndarray,
    denominator: np.ndarray,
) -> float:
    """Intercept b0 such that register prevalence on ANCHOR among the sample's denominator = target."""
    s_x, s_l, s_sp, s_dob = xlin[sample], logit_u[sample], u_spread[sample], dob[sample]
    s_rd, s_r, s_dd, s_d = resolve_delay[sample], resolved[sample], rediag_delay[sample], rediag[sample]
    den = denominator[sample]

    def prevalence(b0: float) -> np.floating:
        onset = _onset_day(spec, s_l - b0 - s_x, s_sp, s_dob)
        on = onset <= cal.ANCHOR
        res_day = onset + s_rd
        off = s_r & (res_day <= cal.ANCHOR) & ~(s_d & (res_day + s_dd <= cal.ANCHOR))
        return (on & ~off)[den].mean()

    lo, hi = -12.0, 12.0
    for _ in range(22):
        mid = (lo + hi) / 2
        if prevalence(mid) < spec.target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _risk_factors(u: Universe, c: Clinical, rng: np.random.Generator) -> None:
    n = u.n
    age = u.extras["age_ref"]
    band = np.clip(((np.maximum(age, 16) - 15) // 10).astype(int), 0, 6)  # 16-24 ... 75+
    p_current = array("risk_factors.current_smoker_by_age")[band]
    p_ex = array("risk_factors.ex_smoker_by_age")[band]
    deprivation = array("risk_factors.smoking_ratio_by_imd_decile")[u.imd - 1]
    sm, b = param("risk_factors.current_smoker_model"), param("risk_factors.bmi_model")
    p_current = np.clip(
        sm["scale"]
        * p_current
        * deprivation
        * np.where(u.sex == 0, sm["male_ratio"], sm["female_ratio"])
        * np.exp(sm["log_per_latent"] * u.latent),
        0,
        sm["max"],
    )
    draw = rng.random(n)
    c.smoking = np.where(draw < p_current, 2, np.where(draw < p_current + p_ex, 1, 0)).astype(np.int8)
    log_bmi = (
        np.log(b["median"])
        + b["log_per_year"] * (np.clip(age, b["age_min"], b["age_max"]) - b["age_ref"])
        + b["log_per_imd_decile_below_10"] * (10 - u.imd)
        + b["log_per_latent"] * u.latent
        + rng.normal(0, b["log_sd"], n)
        - b["current_smoker_log_reduction"] * (c.smoking == 2)
    )
    c.bmi_adult = np.exp(log_bmi).astype(np.float32)


def _conditions(u: Universe, c: Clinical, seed: int) -> None:
    n = u.n
    present = np.flatnonzero(u.group == PRESENT)
    step = max(1, present.size // 30000)
    sample = present[::step]
    age_anchor = cal.age_years(u.dob, cal.ANCHOR)
    for spec in CONDITIONS:
        rng = stream_rng(seed, f"condition-{spec.name}")
        u_onset = rng.random(n)
        u_spread = rng.random(n)
        resolved = rng.random(n) < spec.resolve_share
        resolve_delay = np.maximum(
            TIMING["resolve_min_days"], rng.exponential(spec.resolve_mean_years * YEAR, n)
        ).astype(np.int64)
        rediag = rng.random(n) < spec.rediagnose_share
        rediag_delay = np.maximum(
            TIMING["rediagnose_min_days"], rng.exponential(TIMING["rediagnose_mean_years"] * YEAR, n)
        ).astype(np.int64)
        code_u = rng.random(n)
        xlin = _covariates(u, spec, c, u.extras["age_ref"], c.bmi_adult)
        denominator = (age_anchor >= 18) if spec.adults_only_target else np.ones(n, dtype=bool)
        logit_u = _logit(u_onset)
        b0 = _calibrate(
            spec, xlin, logit_u, u_spread, u.dob, resolve_delay, resolved, rediag_delay, rediag, sample, denominator
        )
        onset = _onset_day(spec, logit_u - b0 - xlin, u_spread, u.dob)
        if spec.name == "diabetes_type2":
            onset = np.where(c.onset["diabetes_type1"] < cal.NEVER, cal.NEVER, onset)
        if spec.name == "ndh":  # non-diabetic hyperglycaemia precedes (or replaces) type 2 diabetes
            onset = np.where(c.onset["diabetes_type2"] <= onset, cal.NEVER, onset)
            onset = np.where(c.onset["diabetes_type1"] < cal.NEVER, cal.NEVER, onset)
        c.onset[spec.name] = onset
        if spec.resolve_share:
            res = np.where(resolved & (onset < cal.NEVER), onset + resolve_delay, cal.NEVER)
            c.resolve[spec.name] = res
            c.rediagnose[spec.name] = np.where(rediag & (res < cal.NEVER), res + rediag_delay, cal.NEVER)
        weights = np.cumsum([w for _, w in DIAGNOSIS[spec.name]])
        c.code_choice[spec.name] = np.searchsorted(weights / weights[-1], code_u, side="right").astype(np.int8)
    # diabetes resolved code: "diabetes" resolution applies to whichever type the person has
    c.onset["diabetes"] = np.minimum(c.onset["diabetes_type1"], c.onset["diabetes_type2"])


def _cancer(u: Universe, c: Clinical, seed: int) -> None:
    n = u.n
    rng = stream_rng(seed, "cancer")
    model = dict(param("cancer.onset_model"))
    knots = tuple(tuple(k) for k in model.pop("knots"))
    spec = ConditionSpec("cancer", CANCER_TARGET_5Y, knots, **model)
    timing = param("cancer.timing")
    xlin = _covariates(u, spec, c, u.extras["age_ref"], c.bmi_adult)
    logit_u = _logit(rng.random(n))
    spread = rng.random(n)
    present = np.flatnonzero(u.group == PRESENT)
    sample = present[:: max(1, present.size // 40000)]

    def five_year(b0: float) -> np.floating:
        d = _onset_day(spec, logit_u[sample] - b0 - xlin[sample], spread[sample], u.dob[sample])
        return ((d <= cal.ANCHOR) & (d > cal.ANCHOR - 5 * YEAR)).mean()

    lo, hi = -16.0, 16.0
    for _ in range(28):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if five_year(mid) < spec.target else (lo, mid)
    day = _onset_day(spec, logit_u - (lo + hi) / 2 - xlin, spread, u.dob)
    # some of the people who died before ANCHOR died of a cancer diagnosed shortly before
    fatal = (u.group == PAST_DECEASED) & (rng.random(n) < param("cancer.fatal_share_of_past_deaths"))
    fatal_day = u.exit_day - np.maximum(
        timing["fatal_diagnosis_min_days"], rng.exponential(timing["fatal_diagnosis_mean_years"] * YEAR, n)
    ).astype(np.int64)
    day = np.where(fatal, fatal_day, day)
    # site by sex (children: leukaemia, brain, lymphoma)
    male_w = np.array([_SITE_MALE[s] for s in _SITE_KEYS], dtype=float)
    female_w = np.array([_SITE_FEMALE[s] for s in _SITE_KEYS], dtype=float)
    child_sites = param("cancer.child_site_weights")
    child_w = np.array([child_sites.get(s, child_sites["other"]) for s in _SITE_KEYS], dtype=float)
    age_dx = cal.age_years(u.dob, np.minimum(day, cal.NEVER - 1))
    um = rng.random(n)
    site_m = np.searchsorted(np.cumsum(male_w) / male_w.sum(), um, side="right")
    site_f = np.searchsorted(np.cumsum(female_w) / female_w.sum(), um, side="right")
    site_c = np.searchsorted(np.cumsum(child_w) / child_w.sum(), um, side="right")
    site = np.where(age_dx < 18, site_c, np.where(u.sex == 1, site_f, site_m)).clip(0, len(_SITE_KEYS) - 1)
    # stage: early less likely in deprived areas (screening uptake, later presentation)
    early_share = expit(
        logit(np.array([_SITE_STAGE[s][0] for s in _SITE_KEYS])[site])
        + np.log(param("care.cancer_early_stage.odds_ratio_all_sites"))
        + log_shift(u, np.arange(n), "cancer_early_stage")
    )
    unstaged = np.array([_SITE_STAGE[s][1] for s in _SITE_KEYS])[site]
    us, ue = rng.random(n), rng.random(n)
    split = param("cancer.stage_split")
    stage = np.where(
        us < unstaged,
        4,
        np.where(
            ue < early_share,
            np.where(rng.random(n) < split["stage_1_of_early"], 0, 1),
            np.where(rng.random(n) < split["stage_3_of_late"], 2, 3),
        ),
    )
    lethality = np.array([_SITE_STAGE[s][2] for s in _SITE_KEYS])[site]
    hazard = _STAGE_HAZARD[stage] * lethality
    survival = (rng.exponential(1.0, n) / hazard * YEAR).astype(np.int64)
    death = day + survival
    # lethal within a few years of diagnosis only; people alive on ANCHOR survived their earlier cancer so far
    death = np.where(
        (death <= day + timing["lethal_window_years"] * YEAR) & ~((u.group == PRESENT) & (death < cal.ANCHOR)),
        death,
        cal.NEVER,
    )
    has = day < cal.NEVER
    c.cancer_day = np.where(has, day, cal.NEVER)
    c.cancer_site = site.astype(np.int8)
    c.cancer_stage = stage.astype(np.int8)
    c.cancer_death_day = np.where(
        has & (u.group != PAST_DECEASED), np.maximum(death, day + timing["death_min_days"]), cal.NEVER
    )


FRAILTY_SHARE_65 = tuple(param("frailty.share_65_plus"))  # at least mild / moderate / severe among 65+ on ANCHOR
CARE_HOME_SHARE_65 = param("frailty.care_home_share_65_plus")
FRAILTY_SLOPE = param("frailty.index_slope_per_year")


def _frailty(u: Universe, c: Clinical, seed: int) -> None:
    """A frailty index rising linearly with age from a personal level; thresholds give mild/moderate/
    severe. Coded in primary care from 65 (at the first review after crossing), latest severity wins."""
    n = u.n
    rng = stream_rng(seed, "frailty")
    ref = u.extras["ref_day"]
    morbidity = np.zeros(n)
    for name in ("diabetes_type2", "copd", "heart_failure", "ckd", "stroke_tia", "dementia", "chd", "af", "pad"):
        morbidity += c.onset[name] <= ref
    t, coding, ch = param("frailty.index_terms"), param("frailty.coding"), param("frailty.care_home_terms")
    z = (
        rng.normal(0, 1, n)
        + t["latent"] * u.latent
        + t["per_condition"] * morbidity
        + t["per_imd_decile_below_10"] * (10 - u.imd)
    )
    z = z + np.where(u.group == PAST_DECEASED, t["died_before_anchor"], 0.0)
    age_a = cal.age_years(u.dob, cal.ANCHOR)
    f_anchor = z + FRAILTY_SLOPE * age_a
    old = (u.group == PRESENT) & (age_a >= 65)
    thresholds = [np.quantile(f_anchor[old], 1 - s) for s in FRAILTY_SHARE_65]
    frail_day = np.empty((3, n), dtype=np.int64)
    code_day = np.empty((3, n), dtype=np.int64)
    first_review = coding["first_review_age"] + rng.random(n) * coding["first_review_spread_years"]
    coded = rng.random(n) < coding["coded_share"]
    for k, th in enumerate(thresholds):
        cross_age = (th - z) / FRAILTY_SLOPE
        frail_day[k] = np.where(
            cross_age < 110,
            u.dob + np.round(np.maximum(cross_age, coding["earliest_age"]) * YEAR).astype(np.int64),
            cal.NEVER,
        )
        code_age = np.maximum(cross_age, first_review)
        code_day[k] = np.where(coded & (cross_age < 110), u.dob + np.round(code_age * YEAR).astype(np.int64), cal.NEVER)
    # the first coding records only the highest severity reached by then
    for k in range(2):
        code_day[k] = np.where(code_day[k + 1] <= code_day[k], cal.NEVER, code_day[k])
    c.frailty_day, c.frailty_code_day = frail_day, code_day
    # care home: the frailest (dementia counts double), from 65
    f_ch = (
        z
        + ch["dementia"] * (c.onset["dementia"] <= ref)
        + ch["learning_disability"] * (c.onset["learning_disability"] <= ref)
    )
    th_ch = np.quantile((f_ch + FRAILTY_SLOPE * age_a)[old], 1 - CARE_HOME_SHARE_65)
    ch_age = (th_ch - f_ch) / FRAILTY_SLOPE
    c.care_home_day = np.where(
        ch_age < 110, u.dob + np.round(np.maximum(ch_age, ch["min_age"]) * YEAR).astype(np.int64), cal.NEVER
    )
    c.params["frailty_z"] = z.astype(np.float32)


def _social(u: Universe, c: Clinical, seed: int) -> None:
    n = u.n
    rng = stream_rng(seed, "social")
    age = u.extras["age_ref"]
    minority = (u.ethnicity > 0) & (u.ethnicity != 16)

    def code_at(min_age: float, max_age: float) -> np.ndarray:
        a = min_age + rng.random(n) * (max_age - min_age)
        return u.dob + np.round(a * YEAR).astype(np.int64)

    social = group("social")
    # carers: a share of adults, coded at some point in the years around ANCHOR
    cr = social["carer"]
    carer = (age >= cr["min_age"]) & (
        rng.random(n) < cr["adult_share"] * np.where(u.sex == 1, cr["female_ratio"], cr["male_ratio"])
    )
    lo_day = np.maximum(
        u.dob + cr["coded_from_age"] * 365,
        np.maximum(u.entry_day, cal.ANCHOR - cr["coded_from_years_before_anchor"] * 365),
    )
    carer_day = lo_day + (
        rng.random(n) * np.maximum(cal.ANCHOR + cr["coded_to_years_after_anchor"] * 365 - lo_day, 1)
    ).astype(np.int64)
    c.social["carer"] = np.where(carer, carer_day, cal.NEVER)
    c.carer_end_day = np.where(
        carer & (rng.random(n) < cr["stops_share"]),
        c.social["carer"] + rng.integers(cr["stops_after_days"][0], cr["stops_after_days"][1], n),
        cal.NEVER,
    )
    hl = social["homeless"]
    homeless = (
        (age >= hl["min_age"])
        & (age < hl["max_age"])
        & (
            rng.random(n)
            < hl["base"] * (1 + hl["per_imd_decile_below_10"] * (10 - u.imd)) * np.exp(hl["log_per_latent"] * u.latent)
        )
    )
    c.social["homeless"] = np.where(
        homeless,
        np.maximum(
            u.entry_day,
            np.minimum(
                code_at(hl["coded_age_min"], hl["coded_age_max"]),
                cal.ANCHOR + hl["coded_by_years_after_anchor"] * 365,
            ),
        ),
        cal.NEVER,
    )
    vt = social["veteran"]
    older = age >= vt["age_split"]
    vet_p = np.where(
        u.sex == 0,
        np.where(older, vt["male_50_plus"], vt["male_under_50"]),
        np.where(older, vt["female_50_plus"], vt["female_under_50"]),
    )
    c.social["veteran"] = np.where(
        (age >= vt["min_age"]) & (rng.random(n) < vet_p),
        u.entry_day + rng.integers(0, vt["coded_within_days"], n),
        cal.NEVER,
    )
    gr = social["gypsy_roma_traveller"]
    grt = (rng.random(n) < gr["share"]) & (u.imd <= gr["max_imd_decile"])
    c.social["gypsy_roma_traveller"] = np.where(
        grt, u.entry_day + rng.integers(0, gr["coded_within_days"], n), cal.NEVER
    )
    ar = social["asylum_refugee"]
    asylum = (age >= ar["min_age"]) & (rng.random(n) < np.where(minority, ar["minority_share"], ar["other_share"]))
    c.social["asylum_refugee"] = np.where(asylum, u.entry_day + rng.integers(0, ar["coded_within_days"], n), cal.NEVER)
    for k, v in c.social.items():
        c.social[k] = np.where(v < cal.NEVER, np.maximum(v, u.dob + 365), cal.NEVER)


def _measurement_params(u: Universe, c: Clinical, seed: int) -> None:
    """Persistent personal levels (BP, HbA1c, lipids, kidney) and treatment choices."""
    n = u.n
    rng = stream_rng(seed, "measurement")
    p = c.params
    levels = group("person_levels")
    bp, gl, lp, kd, pr = (levels[k] for k in ("blood_pressure", "glycaemia", "lipids", "kidney", "propensity"))
    # blood pressure: non-hypertensive personal offset; hypertensive control class
    p["sbp_offset"] = rng.normal(0, bp["sbp_offset_sd"], n).astype(np.float32)
    p["dbp_offset"] = rng.normal(0, bp["dbp_offset_sd"], n).astype(np.float32)
    everyone = np.arange(n)
    treated = rng.random(n) < probability(u, everyone, "antihypertensive_treated")
    u_class = rng.random(n)
    to_target = np.where(
        treated,
        probability(u, everyone, "htn_to_target", day=cal.ANCHOR),
        probability(u, everyone, "htn_to_target", base=param("care.htn_to_target.base_untreated"), day=cal.ANCHOR),
    )
    very_high = param("care.htn_to_target.very_high_share")
    p["htn_treated"] = treated
    p["bp_class"] = np.where(u_class < to_target, 0, np.where(u_class < 1 - very_high, 1, 2)).astype(np.int8)
    p["htn_classes"] = np.searchsorted(bp["drug_classes_cumulative"], rng.random(n), side="right").astype(np.int8) + 1
    # glycaemia (mmol/mol): log-normal personal mean for diabetes, with a poorly controlled tail
    poor = rng.random(n) >= probability(u, everyone, "diabetes_hba1c_controlled")
    t2 = np.exp(
        np.log(np.where(poor, gl["type2_poor_median"], gl["type2_controlled_median"]))
        + rng.normal(0, np.where(poor, gl["type2_poor_log_sd"], gl["type2_controlled_log_sd"]), n)
    )
    t1 = np.exp(np.log(gl["type1_median"]) + rng.normal(0, gl["type1_log_sd"], n))
    p["hba1c_dm"] = np.where(c.onset["diabetes_type1"] < cal.NEVER, t1, t2).astype(np.float32)
    p["hba1c_ndh"] = (gl["ndh_min"] + rng.integers(0, gl["ndh_levels"], n)).astype(np.float32)
    p["hba1c_normal"] = (
        (gl["normal_mean"] + rng.normal(0, gl["normal_sd"], n))
        .clip(gl["normal_min"], gl["normal_max"])
        .astype(np.float32)
    )
    p["chol"] = (
        (lp["cholesterol_mean"] + rng.normal(0, lp["cholesterol_sd"], n) + lp["cholesterol_per_latent"] * u.latent)
        .clip(lp["cholesterol_min"], lp["cholesterol_max"])
        .astype(np.float32)
    )
    p["hdl"] = (
        (np.where(u.sex == 1, lp["hdl_female"], lp["hdl_male"]) + rng.normal(0, lp["hdl_sd"], n))
        .clip(lp["hdl_min"], lp["hdl_max"])
        .astype(np.float32)
    )
    # kidney: CKD stage from the chosen code; personal eGFR within the stage
    stage = c.code_choice["ckd"].astype(int)
    lo = np.array([r[0] for r in CKD_STAGE_EGFR])[stage]
    hi = np.array([r[1] for r in CKD_STAGE_EGFR])[stage]
    p["egfr_ckd"] = (lo + rng.random(n) * (hi - lo)).astype(np.float32)
    p["egfr_offset"] = rng.normal(0, kd["egfr_offset_sd"], n).astype(np.float32)
    base_acr = np.where(
        c.onset["ckd"] < cal.NEVER,
        kd["acr_median_ckd"],
        np.where(c.onset["diabetes"] < cal.NEVER, kd["acr_median_diabetes"], kd["acr_median_other"]),
    )
    p["acr"] = np.exp(np.log(base_acr) + rng.normal(0, kd["acr_log_sd"], n)).astype(np.float32)
    # how often this person is seen for blood pressure when hypertensive (1-3 times a year)
    p["bp_per_year"] = (
        np.searchsorted(bp["visits_per_year_cumulative"], rng.random(n), side="right").astype(np.int8) + 1
    )
    p["never_bp"] = rng.random(n) < bp["never_measured_share"]

    # persistent personal utilisation factors (gamma, mean 1): last year's users are next year's users
    # the heaviest users are capped: no one is admitted every month for years on end
    def gamma_mean_1(shape: float) -> np.ndarray:
        return rng.gamma(shape, 1 / shape, n)

    p_em = np.minimum(gamma_mean_1(pr["emergency_shape"]), param("activity.caps.emergency_propensity_max"))
    c.propensity["emergency"] = p_em.astype(np.float32)
    shape = param("activity.ae_propensity_shape")
    c.propensity["ae"] = (np.sqrt(p_em) * gamma_mean_1(shape) / pr["ae_normaliser"]).astype(np.float32)
    c.propensity["elective"] = gamma_mean_1(pr["elective_shape"]).astype(np.float32)
    c.propensity["outpatient"] = gamma_mean_1(pr["outpatient_shape"]).astype(np.float32)
    c.propensity["community"] = gamma_mean_1(pr["community_shape"]).astype(np.float32)
    c.propensity["dna"] = gamma_mean_1(pr["dna_shape"]).astype(np.float32)


def end_of_life(u: Universe, c: Clinical) -> None:
    """Palliative care coding before death and place of death (needs the death dates)."""
    rng = stream_rng(u.seed, "end-of-life")
    n = u.n
    dead = u.died & (u.exit_day < cal.NEVER)
    cancer_death = dead & (c.cancer_day <= u.exit_day) & (c.cancer_day > u.exit_day - 5 * YEAR)
    frail = c.frailty_day[1] <= u.exit_day
    dementia = c.onset["dementia"] <= u.exit_day
    eol = group("end_of_life")
    p_pal = np.where(
        cancer_death,
        eol["palliative_register_cancer"],
        np.where(frail | dementia, eol["palliative_register_frail_or_dementia"], eol["palliative_register_other"]),
    )
    pal = dead & (rng.random(n) < p_pal)
    lead_cancer, lead_other = eol["palliative_lead_days"]["cancer"], eol["palliative_lead_days"]["other"]
    lead = np.where(
        cancer_death, rng.uniform(lead_cancer[0], lead_cancer[1], n), rng.uniform(lead_other[0], lead_other[1], n)
    ).astype(np.int64)
    c.palliative_day = np.where(pal, np.maximum(u.exit_day - lead, u.entry_day), cal.NEVER)
    # a few long-term palliative patients later coded "not currently indicated"
    c.palliative_off_day = np.where(
        pal & (rng.random(n) < eol["palliative_not_indicated_share"]),
        c.palliative_day + eol["palliative_not_indicated_after_days"],
        cal.NEVER,
    )
    # care home stays are bounded: people who die entered a care home at most a few years before
    stay = np.maximum(
        eol["care_home_stay_min_days"], rng.exponential(eol["care_home_stay_mean_years"] * YEAR, n)
    ).astype(np.int64)
    c.care_home_day = np.where(dead, np.maximum(c.care_home_day, u.exit_day - stay), c.care_home_day)
    c.care_home_day = np.where(c.care_home_day > u.exit_day, cal.NEVER, c.care_home_day)
    in_care_home = c.care_home_day <= u.exit_day
    p_hosp = np.where(
        in_care_home,
        eol["hospital_death_care_home"],
        np.where(cancer_death, eol["hospital_death_cancer"], eol["hospital_death_other"]),
    )
    c.died_in_hospital = dead & (rng.random(n) < p_hosp)


def assign_clinical(u: Universe) -> None:
    c = Clinical()
    u.clinical = c
    _risk_factors(u, c, stream_rng(u.seed, "risk-factors"))
    _conditions(u, c, u.seed)
    _cancer(u, c, u.seed)
    _frailty(u, c, u.seed)
    _social(u, c, u.seed)
    _measurement_params(u, c, u.seed)


def death_multiplier(u: Universe) -> np.ndarray:
    """Relative hazard of dying (on top of age): frailty, the shared factor and serious conditions,
    judged a few years ahead of the reference date so people who fall ill later are not 'immortal'."""
    c = u.clinical
    ref = u.extras["ref_day"] + np.where(
        u.group == PAST_DECEASED, 0, int(param("mortality.conditions_lookahead_years") * YEAR)
    )
    person = param("mortality.person_log_hazard")
    m = person["latent"] * u.latent + person["frailty_index"] * (c.params["frailty_z"] - c.params["frailty_z"].mean())
    for name, w in param("mortality.condition_log_hazard").items():
        m = m + w * (c.onset[name] <= ref)
    m = (
        m
        + param("mortality.current_smoker_log_hazard") * (c.smoking == 2)
        + param("mortality.care_home_log_hazard") * (c.care_home_day <= ref)
    )
    m = m + deprivation_log_hazard(u.imd)
    return np.exp(np.minimum(m, np.log(param("mortality.max_relative_hazard"))))

"""Calibration report: every figure of synthetic/calibration_targets.csv computed from one landing drop.

The figures are computed from the drop's files directly (polars), not through the pipeline, following the
clinical spec v2 definitions where the figure is one of the pipeline's indicators (registers, hypertension
treated to target, QRISK >= 20% on lipid-lowering therapy, SMI and LD health checks, BCF metrics), so the
generator can be calibrated without a warehouse. Targets, tolerances and sources live only in the seed.

Tolerances: "N pts" absolute; "N%" relative to the target; "range" (target "lo-hi"); "factor N" a gap of the
same sign within N times of the published one; "ratio factor N" the same on ratio - 1.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Collection
from dataclasses import dataclass
from functools import reduce
from pathlib import Path
from typing import cast

import polars as pl

from .core.parameters import param
from .core.reference import SEEDS, concept_codes

TARGETS_FILE = Path(__file__).resolve().parent / "calibration_targets.csv"
ICB_SCALE = 1_030_000  # the registered population the C&P volume figures refer to
PETERBOROUGH_LA = "E06000031"
LA_NAMES = {"E06000031": "Peterborough", "E10000003": "Cambridgeshire"}


@dataclass
class Row:
    figure: str
    target: str
    tolerance: str
    source: str
    value: float | None
    detail: str = ""

    @property
    def verdict(self) -> str:
        if self.value is None or (isinstance(self.value, float) and math.isnan(self.value)):
            return "not computed"
        return "ok" if within(self.value, self.target, self.tolerance) else "OUT"


def within(value: float, target: str, tolerance: str) -> bool:
    tol = tolerance.strip()
    if tol == "range":
        lo, hi = (float(x) for x in target.split("-"))
        return lo <= value <= hi
    t = float(target)
    if tol.endswith("pts"):
        return abs(value - t) <= float(tol.split()[0])
    if tol.endswith("%"):
        return abs(value - t) <= abs(t) * float(tol[:-1]) / 100
    if tol.startswith("ratio factor"):
        factor, v, t = float(tol.split()[-1]), value - 1, t - 1
    elif tol.startswith("factor"):
        factor, v = float(tol.split()[-1]), value
    else:
        raise ValueError(f"unknown tolerance {tolerance!r}")
    return v * t > 0 and abs(t) / factor <= abs(v) <= abs(t) * factor


def load_targets() -> pl.DataFrame:
    return pl.read_csv(TARGETS_FILE, infer_schema_length=0)


# ----------------------------------------------------------------------------- dates and reading
def months_before(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    m += 1
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(y, m, d)
        except ValueError:
            continue
    raise ValueError(day)


def threshold(rule_id: str) -> float:
    """A spec threshold from the pipeline's own seed (the value; v2 comparisons are applied in the code)."""
    t = pl.read_csv(SEEDS / "thresholds.csv", infer_schema_length=0).filter(pl.col("rule_id") == rule_id)
    return float(t["value"][0])


def _read(drop: Path, feed: str) -> pl.DataFrame:
    path = drop / f"{feed}.parquet"
    if path.exists():
        return pl.read_parquet(path)
    return pl.read_csv(drop / f"{feed}.csv", try_parse_dates=True, infer_schema_length=100_000)


def _in(col: str, lo: dt.date, hi: dt.date) -> pl.Expr:
    """Date column in (lo, hi]."""
    return (pl.col(col) > lo) & (pl.col(col) <= hi)


def _num(value: object) -> float:
    """An aggregate (mean, sum, min, max) of a numeric or boolean column: polars types every aggregate as any
    Python value, whatever the column's type."""
    return cast(float, value)


def _codes(*concepts: str, roles: Collection[str] | None = None) -> list[str]:
    out: set[str] = set()
    for (concept, role), codes in concept_codes().items():
        if concept in concepts and (roles is None or role in roles):
            out |= codes
    return sorted(out)


# ----------------------------------------------------------------------------- the drop as people
class Drop:
    def __init__(self, drop_dir: Path):
        self.dir = Path(drop_dir)
        manifest = json.loads((self.dir / "manifest.json").read_text())
        self.E = dt.date.fromisoformat(manifest["extract_date"])
        self.y1, self.m6 = months_before(self.E, 12), months_before(self.E, 6)
        self.patients = _read(self.dir, "gp_patients")
        self.events = _read(self.dir, "gp_events").drop_nulls("nhs_number")
        self.meds = _read(self.dir, "gp_medications").drop_nulls("nhs_number")
        self.people = self._registered()
        self.n = self.people.height

    def _registered(self) -> pl.DataFrame:
        E = self.E
        lsoa = pl.read_csv(SEEDS / "imd2019_lsoa.csv", infer_schema_length=0).select(
            "lsoa_code", pl.col("imd_decile").cast(pl.Int64), pl.col("lad_name").alias("district")
        )
        practices = pl.read_csv(SEEDS / "practice_map.csv", infer_schema_length=0).select(
            "practice_code", "pcn_code", "place"
        )
        current = (
            self.patients.filter(
                (pl.col("registration_start_date") <= E)
                & (pl.col("registration_end_date").is_null() | (pl.col("registration_end_date") > E))
                & (pl.col("date_of_death").is_null() | (pl.col("date_of_death") > E))
            )
            .sort("registration_start_date")
            .group_by("nhs_number")
            .last()
        )
        age = (
            pl.lit(E.year)
            - pl.col("date_of_birth").dt.year()
            - (
                (pl.col("date_of_birth").dt.month() * 100 + pl.col("date_of_birth").dt.day()) > E.month * 100 + E.day
            ).cast(pl.Int64)
        )
        return (
            current.join(lsoa, on="lsoa_code", how="left")
            .join(practices, on="practice_code", how="left")
            .with_columns(
                age=age,
                quintile=((pl.col("imd_decile") + 1) // 2),
                la=pl.when(pl.col("district") == "Peterborough")
                .then(pl.lit(PETERBOROUGH_LA))
                .otherwise(pl.lit("E10000003")),
            )
            .select(
                "nhs_number",
                "sex",
                "age",
                "date_of_birth",
                "practice_code",
                "pcn_code",
                "place",
                "district",
                "imd_decile",
                "quintile",
                "la",
            )
        )

    # ---- primary care helpers
    def coded(self, *concepts: str, roles: Collection[str] | None = None, since: dt.date | None = None) -> pl.DataFrame:
        codes = _codes(*concepts, roles=roles)
        ev = self.events.filter(pl.col("snomed_code").is_in(codes) & (pl.col("event_date") <= self.E))
        return ev.filter(pl.col("event_date") > since) if since else ev

    def register(self, concept: str, min_age: int = 0) -> pl.DataFrame:
        """QOF-style: latest diagnosis code not followed by a later resolved code (as of E)."""
        dx = self.coded(concept, roles={"diagnosis"}).group_by("nhs_number").agg(pl.col("event_date").max().alias("dx"))
        res = (
            self.coded(concept, roles={"resolved"}).group_by("nhs_number").agg(pl.col("event_date").max().alias("res"))
        )
        on = dx.join(res, on="nhs_number", how="left").filter(pl.col("res").is_null() | (pl.col("res") <= pl.col("dx")))
        return self.people.join(on.select("nhs_number"), on="nhs_number", how="semi").filter(pl.col("age") >= min_age)

    def issued(self, concept: str, since: dt.date) -> pl.DataFrame:
        codes = _codes(concept, roles={"medication"})
        return (
            self.meds.filter(
                pl.col("dmd_code").is_in(codes) & (pl.col("issue_date") > since) & (pl.col("issue_date") <= self.E)
            )
            .select("nhs_number")
            .unique()
        )

    def with_flag(self, frame: pl.DataFrame, hits: pl.DataFrame, name: str) -> pl.DataFrame:
        return frame.with_columns(pl.col("nhs_number").is_in(hits["nhs_number"].implode()).alias(name))


def _share(frame: pl.DataFrame, flag: str) -> float:
    return 100.0 * _num(frame[flag].mean()) if frame.height else float("nan")


def _gap(frame: pl.DataFrame, flag: str) -> tuple[float, str]:
    """Most minus least deprived quintile (points), with both values and denominators as detail."""
    q = frame.group_by("quintile").agg(pl.col(flag).mean().alias("v"), pl.len().alias("n"))
    get = {r["quintile"]: (100 * r["v"], r["n"]) for r in q.iter_rows(named=True)}
    (v1, n1), (v5, n5) = get.get(1, (float("nan"), 0)), get.get(5, (float("nan"), 0))
    se = 100 * math.sqrt(
        max(v1 / 100 * (1 - v1 / 100), 1e-9) / max(n1, 1) + max(v5 / 100 * (1 - v5 / 100), 1e-9) / max(n5, 1)
    )
    return v1 - v5, f"Q1 {v1:.1f}% (n={n1}) vs Q5 {v5:.1f}% (n={n5}); 95% CI +-{1.96 * se:.1f}"


# ----------------------------------------------------------------------------- figures
def population_rows(d: Drop) -> dict:
    p = d.people
    out = {}
    for place in ("North", "South"):
        out[f"registered share {place} (%)"] = 100 * _num((p["place"] == place).mean())
    known = p.filter(pl.col("imd_decile").is_not_null())
    out["Core20 share of registered (%)"] = 100 * _num((known["imd_decile"] <= 2).mean())
    pcn = p.group_by("pcn_code").len()["len"].cast(pl.Float64) * ICB_SCALE / d.n
    out["smallest PCN list at 1.03M"] = float(_num(pcn.min()))
    out["largest PCN list at 1.03M"] = float(_num(pcn.max()))
    for district, share in known.group_by("district").agg((pl.col("age") >= 60).mean()).iter_rows():
        out[f"aged 60+ {district} (%)"] = 100 * share
    core20 = known.group_by(pl.col("imd_decile") <= 2).agg((pl.col("age") >= 60).mean()).to_dict(as_series=False)
    by = dict(zip(core20["imd_decile"], core20["age"], strict=False))
    out["aged 60+ Core20 minus rest (pts)"] = 100 * (by[True] - by[False])
    return out


def prevalence_rows(d: Drop) -> dict:
    p = d.people
    adults = lambda a: p.filter(pl.col("age") >= a).height  # noqa: E731
    asthma_meds = reduce(lambda a, b: a.vstack(b), [d.issued(c, d.y1) for c in ("saba", "ics")]).unique()
    asthma = d.register("asthma", 6).join(asthma_meds, on="nhs_number", how="semi")
    rows = {
        "prevalence hypertension (%)": (d.register("hypertension").height, d.n),
        "prevalence diabetes 17+ (%)": (d.register("diabetes", 17).height, adults(17)),
        "prevalence asthma (%)": (asthma.height, d.n),
        "prevalence COPD (%)": (d.register("copd").height, d.n),
        "prevalence AF (%)": (d.register("af").height, d.n),
        "prevalence CHD (%)": (d.register("chd").height, d.n),
        "prevalence CKD 18+ (%)": (d.register("ckd", 18).height, adults(18)),
        "prevalence SMI (%)": (d.register("smi").height, d.n),
        "prevalence dementia (%)": (d.register("dementia").height, d.n),
        "prevalence depression 18+ (%)": (d.register("depression", 18).height, adults(18)),
        "prevalence learning disability (%)": (d.register("learning_disability").height, d.n),
    }
    return {k: 100 * a / b for k, (a, b) in rows.items()}


def hypertension_to_target(d: Drop) -> pl.DataFrame:
    """CVDP007HYP: register 18+, last BP date in 12 months with both values (lowest of each that day),
    <= 140/90 under 80, <= 150/90 at 80+; no BP = not to target."""
    reg = d.register("hypertension", int(threshold("register_min_age_hypertension")))
    bp = (
        d.coded("systolic_bp", "diastolic_bp", since=d.y1)
        .drop_nulls("value")
        .with_columns(
            kind=pl.when(pl.col("snomed_code").is_in(_codes("systolic_bp"))).then(pl.lit("s")).otherwise(pl.lit("d"))
        )
        .group_by("nhs_number", "event_date")
        .agg(
            pl.col("value").filter(pl.col("kind") == "s").min().alias("sbp"),
            pl.col("value").filter(pl.col("kind") == "d").min().alias("dbp"),
        )
        .drop_nulls()
        .sort("event_date")
        .group_by("nhs_number")
        .last()
    )
    older = pl.col("age") >= threshold("htn_age_older")
    sbp_max = pl.when(older).then(threshold("htn_target_sbp_80plus")).otherwise(threshold("htn_target_sbp_under80"))
    dbp_max = pl.when(older).then(threshold("htn_target_dbp_80plus")).otherwise(threshold("htn_target_dbp_under80"))
    return reg.join(bp, on="nhs_number", how="left").with_columns(  # inclusive, as spec v2 (CVDP007HYP)
        to_target=((pl.col("sbp") <= sbp_max) & (pl.col("dbp") <= dbp_max)).fill_null(False)
    )


def qrisk20_on_llt(d: Drop) -> pl.DataFrame:
    """CVDP003CHOL-like: 18+, no CHD / stroke-TIA / PAD, latest QRISK >= 20; numerator LLT in 6 months."""
    cvd = pl.concat([d.register(c).select("nhs_number") for c in ("chd", "stroke_tia", "pad")]).unique()
    q = d.coded("qrisk").drop_nulls("value").sort("event_date").group_by("nhs_number").last()
    den = (
        d.people.filter(pl.col("age") >= 18)
        .join(cvd, on="nhs_number", how="anti")
        .join(
            q.filter(pl.col("value") >= threshold("lipid_qrisk_high")).select("nhs_number"), on="nhs_number", how="semi"
        )
    )
    return d.with_flag(den, d.issued("lipid_lowering", d.m6), "on_llt")


def smi_health_check(d: Drop) -> pl.DataFrame:
    """All six elements in 12 months: BMI, BP, cholesterol, HbA1c or glucose, smoking status, alcohol (any record)."""
    reg = d.register("smi")
    elements = {
        "bmi": ("bmi",),
        "bp": ("systolic_bp",),
        "chol": ("cholesterol", "non_hdl_cholesterol"),
        "glycaemia": ("hba1c", "blood_glucose"),
        "smoking": ("smoking_current", "smoking_ex", "smoking_never"),
        "alcohol": ("alcohol", "alcohol_consumption"),
    }
    for name, concepts in elements.items():
        reg = d.with_flag(reg, d.coded(*concepts, since=d.y1).select("nhs_number").unique(), name)
    return reg.with_columns(complete=pl.all_horizontal(list(elements)))


def ld_health_check(d: Drop) -> pl.DataFrame | None:
    if not _codes("ld_health_check"):
        return None  # the codelist is not in seeds/codelists yet
    reg = d.register("learning_disability", 14)
    return d.with_flag(reg, d.coded("ld_health_check", since=d.y1).select("nhs_number").unique(), "checked")


def dementia_diagnosis_rate(d: Drop) -> float:
    """65+ on the register / expected 65+ with dementia (CFAS II age-sex prevalence on the registered 65+)."""
    rates = param("calibration.dementia_prevalence_cfas2")
    old = d.people.filter(pl.col("age") >= 65)
    bands = [(b["from"], b.get("to", 200), b["male"], b["female"]) for b in rates]
    expected = 0.0
    for lo, hi, male, female in bands:
        band = old.filter((pl.col("age") >= lo) & (pl.col("age") < hi))
        expected += (band["sex"] == "1").sum() * male / 100 + (band["sex"] == "2").sum() * female / 100
    return 100 * d.register("dementia", 65).height / expected


def copd_flu(d: Drop) -> pl.DataFrame:
    season_start = dt.date(d.E.year if d.E.month >= 9 else d.E.year - 1, 9, 1)
    reg = d.register("copd")
    flu = d.coded("flu_vaccination").filter(pl.col("event_date") >= season_start).select("nhs_number").unique()
    return d.with_flag(reg, flu, "vaccinated")


def bookings(d: Drop, months: int) -> pl.DataFrame:
    """Antenatal bookings in the last `months`, by 10+0 weeks (70 days; weeks converted), with the person."""
    b = d.coded("antenatal_booking", since=months_before(d.E, months)).drop_nulls("value")
    days = (
        pl.when(pl.col("unit").str.to_lowercase().str.starts_with("week"))
        .then(pl.col("value") * 7)
        .otherwise(pl.col("value"))
    )
    b = b.with_columns(early=days <= threshold("maternity_gestation_days"))
    return b.join(d.people.select("nhs_number", "quintile"), on="nhs_number", how="inner")


def cancer_stage(d: Drop) -> pl.DataFrame:
    """Tumours in the drop's window (5 years: the generator is stationary, so a longer window only cuts noise)."""
    t = _read(d.dir, "cancer_registrations").filter(pl.col("stage").is_in(["1", "2", "3", "4"]))
    t = t.with_columns(early=pl.col("stage").is_in(["1", "2"]))
    return t.join(d.people.select("nhs_number", "quintile"), on="nhs_number", how="left")


def activity_rows(d: Drop) -> dict:
    scale = ICB_SCALE / d.n
    ae = _read(d.dir, "ecds_attendances").filter(_in("arrival_datetime", d.y1, d.E))
    ae = ae.filter(pl.col("arrival_datetime").dt.date() > d.y1)
    apc = _read(d.dir, "sus_apc_spells")
    nel = apc.filter(pl.col("admission_method").str.starts_with("2") & _in("admission_date", d.y1, d.E))
    op = _read(d.dir, "sus_op_appointments").filter(
        _in("appointment_date", d.y1, d.E) & pl.col("attendance_status").is_in(["5", "6"])
    )
    heavy = ae.drop_nulls("nhs_number").group_by("nhs_number").len().filter(pl.col("len") >= 20).height
    return {
        "A&E attendances a year at 1.03M": ae.height * scale,
        "non-elective spells a year at 1.03M": nel.height * scale,
        "outpatient attendances a year at 1.03M": op.height * scale,
        "people with 20+ A&E attendances a year at 1.03M": heavy * scale,
    }


def bcf_rows(d: Drop) -> dict:
    out = {}
    apc = _read(d.dir, "sus_apc_spells").join(d.people.select("nhs_number", "la"), on="nhs_number", how="inner")
    emergency = apc.filter(pl.col("admission_method").str.starts_with("2"))
    # spec v2 (seeds/bcf_metric_definitions.csv): every discharged spell, any admission method
    discharged = apc.filter(
        _in("discharge_date", d.y1, d.E)
        & pl.col("discharge_destination").is_not_null()
        & (pl.col("discharge_destination") != "79")
    )
    definitions = pl.read_csv(SEEDS / "bcf_metric_definitions.csv", infer_schema_length=0)
    prefixes = definitions.filter(pl.col("metric_id") == "avoidable_admissions")["icd10_prefixes"][0].split()
    acsc = emergency.filter(
        _in("admission_date", d.y1, d.E)
        & pl.any_horizontal([pl.col("primary_diagnosis_icd10").str.starts_with(x) for x in prefixes])
    )
    asc = (
        _read(d.dir, "asc_services")
        .drop_nulls("nhs_number")
        .join(d.patients.select("nhs_number", "date_of_birth").unique("nhs_number"), on="nhs_number")
    )
    reablement = asc.filter(
        (pl.col("service_type") == "Reablement")
        & pl.col("still_at_home_91_days").is_not_null()
        & ((pl.col("service_start_date") - pl.col("date_of_birth")).dt.total_days() >= 65 * 365.25)
    )
    for la, name in LA_NAMES.items():
        out[f"BCF discharge to usual residence {name} (%)"] = 100 * _num(
            (discharged.filter(pl.col("la") == la)["discharge_destination"] == "19").mean()
        )
        residents = d.people.filter(pl.col("la") == la).height
        out[f"BCF avoidable admissions per 100k a quarter {name}"] = (
            acsc.filter(pl.col("la") == la).height / residents * 100_000 / 4
        )
        out[f"BCF still at home 91 days after reablement {name} (%)"] = 100 * _num(
            reablement.filter(pl.col("la_code") == la)["still_at_home_91_days"].mean()
        )
    return out


def end_of_life_rows(d: Drop) -> dict:
    """Bed-days of spells admitted in the year ending two years before E, and whether the person died within
    two years (and three months) of the admission."""
    lo, hi = months_before(d.E, 36), months_before(d.E, 24)
    deaths = d.patients.drop_nulls("date_of_death").group_by("nhs_number").agg(pl.col("date_of_death").max())
    s = (
        _read(d.dir, "sus_apc_spells")
        .drop_nulls(["nhs_number", "discharge_date"])
        .filter(_in("admission_date", lo, hi))
        .join(deaths, on="nhs_number", how="left")
        .with_columns(
            bed_days=(pl.col("discharge_date") - pl.col("admission_date")).dt.total_days(),
            to_death=(pl.col("date_of_death") - pl.col("admission_date")).dt.total_days(),
        )
    )
    total = _num(s["bed_days"].sum())
    last2 = _num(s.filter(pl.col("to_death") <= 730)["bed_days"].sum())
    last3m = _num(s.filter(pl.col("to_death") <= 91)["bed_days"].sum())
    return {
        "bed-days in the last two years of life (%)": 100 * last2 / total,
        "of those: in the last 3 months of life (%)": 100 * last3m / max(last2, 1),
    }


def _age_standardised_ratio(events: pl.DataFrame, population: pl.DataFrame) -> tuple[float, str]:
    """Indirectly standardised ratio, most / least deprived quintile: observed / expected events per quintile,
    expected from the whole population's rates by 5-year age band and sex."""
    rates = (
        population.group_by("band", "sex")
        .agg(pl.col("time").sum())
        .join(events.group_by("band", "sex").agg(pl.col("events").sum()), on=["band", "sex"], how="left")
        .with_columns(rate=pl.col("events").fill_null(0) / pl.col("time"))
    )
    exp = population.join(rates.select("band", "sex", "rate"), on=["band", "sex"]).with_columns(
        expected=pl.col("time") * pl.col("rate")
    )
    e = exp.group_by("quintile").agg(pl.col("expected").sum())
    o = events.group_by("quintile").agg(pl.col("events").sum())
    q = e.join(o, on="quintile", how="left").with_columns(ratio=pl.col("events").fill_null(0) / pl.col("expected"))
    r = dict(zip(q["quintile"], q["ratio"], strict=False))
    n = dict(zip(o["quintile"], o["events"], strict=False))
    return r[1] / r[5], f"Q1 {n.get(1, 0)} events, SR {r[1]:.2f}; Q5 {n.get(5, 0)} events, SR {r[5]:.2f}"


def inequality_rows(d: Drop) -> dict:
    out = {}
    out["gap SMI health check most - least deprived quintile (pts)"] = _gap(smi_health_check(d), "complete")
    out["gap hypertension treated to target most - least deprived quintile (pts)"] = _gap(
        hypertension_to_target(d), "to_target"
    )
    out["gap QRISK >= 20% on LLT most - least deprived quintile (pts)"] = _gap(qrisk20_on_llt(d), "on_llt")
    out["gap COPD flu vaccination most - least deprived quintile (pts)"] = _gap(copd_flu(d), "vaccinated")
    out["gap booked by 10 weeks most - least deprived quintile (pts)"] = _gap(bookings(d, 36), "early")
    out["gap cancer stage 1-2 most - least deprived quintile (pts)"] = _gap(
        cancer_stage(d).drop_nulls("quintile"), "early"
    )
    band = (pl.col("age") // 5).clip(0, 18).alias("band")
    people = d.people.drop_nulls("quintile").with_columns(band, time=pl.lit(1.0))
    nel = (
        _read(d.dir, "sus_apc_spells")
        .filter(pl.col("admission_method").str.starts_with("2") & _in("admission_date", d.y1, d.E))
        .group_by("nhs_number")
        .len("events")
        .join(people, on="nhs_number")
    )
    out["ratio emergency admissions most / least deprived quintile (age-standardised)"] = _age_standardised_ratio(
        nel, people
    )
    out["ratio mortality most / least deprived quintile (age-standardised)"] = _age_standardised_ratio(
        *_deaths_and_time(d)
    )
    return out


def _deaths_and_time(d: Drop) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Deaths in the 5-year window and person-years registered in it, by age band at the window's middle."""
    lo = months_before(d.E, 60)
    lsoa = pl.read_csv(SEEDS / "imd2019_lsoa.csv", infer_schema_length=0).select(
        "lsoa_code", pl.col("imd_decile").cast(pl.Int64)
    )
    reg = (
        d.patients.drop_nulls("nhs_number")
        .join(lsoa, on="lsoa_code", how="inner")
        .with_columns(
            start=pl.max_horizontal(pl.col("registration_start_date"), pl.lit(lo)),
            end=pl.min_horizontal(
                pl.col("registration_end_date").fill_null(d.E), pl.col("date_of_death").fill_null(d.E), pl.lit(d.E)
            ),
        )
        .filter(pl.col("end") > pl.col("start"))
        .with_columns(
            time=(pl.col("end") - pl.col("start")).dt.total_days() / 365.25,
            band=((pl.lit(lo + (d.E - lo) / 2) - pl.col("date_of_birth")).dt.total_days() / 365.25 // 5)
            .clip(0, 18)
            .cast(pl.Int64),
            quintile=(pl.col("imd_decile") + 1) // 2,
        )
    )
    person = reg.group_by("nhs_number").agg(
        pl.col("time").sum(), pl.col("band").first(), pl.col("sex").first(), pl.col("quintile").first()
    )
    deaths = (
        reg.filter(_in("date_of_death", lo, d.E))
        .unique("nhs_number")
        .select("nhs_number", "band", "sex", "quintile")
        .with_columns(events=pl.lit(1))
    )
    return deaths, person


# ----------------------------------------------------------------------------- report
def compute(drop_dir: Path) -> list[Row]:
    d = Drop(drop_dir)
    values: dict = {}
    values.update(population_rows(d))
    values.update(prevalence_rows(d))
    values["hypertension treated to target (%)"] = _share(hypertension_to_target(d), "to_target")
    values["QRISK >= 20% on lipid-lowering therapy (%)"] = _share(qrisk20_on_llt(d), "on_llt")
    values["SMI health check all six elements (%)"] = _share(smi_health_check(d), "complete")
    ld = ld_health_check(d)
    values["LD annual health check (%)"] = None if ld is None else _share(ld, "checked")
    values["dementia diagnosis rate (%)"] = dementia_diagnosis_rate(d)
    values["cancers diagnosed at stage 1-2 (%)"] = _share(cancer_stage(d), "early")
    values.update(activity_rows(d))
    values.update(bcf_rows(d))
    values.update(end_of_life_rows(d))
    values.update(inequality_rows(d))
    rows = []
    for t in load_targets().iter_rows(named=True):
        v = values.get(t["figure"])
        detail = ""
        if isinstance(v, tuple):
            v, detail = v
        rows.append(Row(t["figure"], t["target"], t["tolerance"], t["source"], None if v is None else float(v), detail))
    missing = set(values) - {r.figure for r in rows}
    if missing:
        raise KeyError(f"figures computed but not in {TARGETS_FILE.name}: {sorted(missing)}")
    return rows


def _fmt(v: float | None) -> str:
    if v is None or math.isnan(v):
        return "-"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def markdown(rows: list[Row], title: str) -> str:
    lines = [f"### {title}", "", "| figure | target | tolerance | value | verdict |", "|---|---|---|---|---|"]
    for r in rows:
        extra = f" ({r.detail})" if r.detail else ""
        lines.append(f"| {r.figure} | {r.target} | {r.tolerance} | {_fmt(r.value)}{extra} | {r.verdict} |")
    return "\n".join(lines) + "\n"


def write_report(rows: list[Row], out_dir: Path, title: str, meta: dict) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    md, js = out_dir / "calibration.md", out_dir / "calibration.json"
    md.write_text(markdown(rows, title))
    js.write_text(
        json.dumps(
            {
                **meta,
                "rows": [
                    {
                        "figure": r.figure,
                        "target": r.target,
                        "tolerance": r.tolerance,
                        "value": r.value,
                        "verdict": r.verdict,
                        "detail": r.detail,
                        "source": r.source,
                    }
                    for r in rows
                ],
            },
            indent=2,
        )
        + "\n"
    )
    return md, js

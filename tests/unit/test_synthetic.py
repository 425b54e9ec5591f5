"""Tests of the synthetic source systems (synthetic/).

Drops are generated once per module into tmp_path_factory and checked independently of the generator:
contract shape with Polars, the quality-gate rules re-implemented in DuckDB SQL (mod-11 check digits,
plausible ranges per codelist concept, future dates, duplicated keys, unknown practices), registers
computed from the codelists, volumes and risk gradients computed from the feeds.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from contracts.extracts import load_contract
from synthetic import generate_drop
from synthetic.core.codes import check_codes
from synthetic.core.nhs_number import invalidate, is_valid, make_nhs_numbers
from synthetic.feeds.drop import universe

ROOT = Path(__file__).resolve().parents[2]
CODELISTS = ROOT / "seeds" / "codelists"
PRACTICE_MAP = ROOT / "seeds" / "practice_map.csv"
E1, E2 = dt.date(2026, 10, 25), dt.date(2026, 11, 25)
SMALL, SEED = 3000, 11
MEDIUM = 20000
DEFECT_RATE = 0.01
POLARS_TYPES = {
    "string": pl.String,
    "date": pl.Date,
    "timestamp": pl.Datetime("us"),
    "int": pl.Int32,
    "double": pl.Float64,
    "bool": pl.Boolean,
}

# ---------------------------------------------------------------------------------------------------
# independent re-implementation of the gate's rules; the plausible ranges are the seed's (the gate reads the same file)
with open(ROOT / "seeds" / "plausible_ranges.csv", newline="") as _f:
    RANGES = {r["concept"]: (float(r["min_value"]), float(r["max_value"])) for r in csv.DictReader(_f)}
FUTURE_DATE_COLUMNS = {
    "gp_events": "event_date",
    "ecds_attendances": "arrival_datetime",
    "gp_medications": "issue_date",
}
NHS_FEEDS = ("gp_patients", "gp_events", "sus_apc_spells", "ecds_attendances")
PRACTICE_FEEDS = ("gp_events", "gp_medications", "gp_patients")
DUPLICATE_FEEDS = ("sus_apc_spells", "gp_patients", "ecds_attendances")


def valid_nhs_sql(col: str = "nhs_number") -> str:
    """10 digits and a correct modulus-11 check digit."""
    weighted = " + ".join(f"{11 - i} * cast(substr({col}, {i}, 1) as integer)" for i in range(1, 10))
    check = f"(11 - (({weighted}) % 11))"
    return (
        f"(regexp_full_match({col}, '[0-9]{{10}}') and "
        f"(case when {check} = 11 then 0 else {check} end) = cast(substr({col}, 10, 1) as integer))"
    )


def connect(drop: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    contract = load_contract()
    for feed in contract:
        path = next(drop.glob(f"{feed}.*"))
        if path.suffix == ".csv":
            types = {c.name: c.sql_type for c in contract[feed].columns}
            con.execute(f"create view {feed} as select * from read_csv('{path}', header=true, columns={types!r})")
        else:
            con.execute(f"create view {feed} as select * from read_parquet('{path}')")
    index = con.execute(
        f"select concept, file, code_column, role from read_csv('{CODELISTS / 'codelist_concepts.csv'}', all_varchar=true)"
    ).fetchall()
    parts = [
        f"select '{concept}' as concept, '{role}' as role, trim(\"{col}\") as code from read_csv('{CODELISTS / (file + '.csv')}', all_varchar=true)"
        for concept, file, col, role in index
        if (CODELISTS / f"{file}.csv").exists()
    ]
    con.execute("create table codelists as " + " union all ".join(parts))
    con.execute(f"create table practices as select practice_code from read_csv('{PRACTICE_MAP}', all_varchar=true)")
    return con


def rule_counts(con, extract_date: str) -> dict[tuple[str, str], int]:
    """(feed, rule_id) -> rows breaking the rule (duplicate_key: number of extra copies)."""
    contract = load_contract()
    out = {}
    for feed in NHS_FEEDS:
        out[(feed, "nhs_number_invalid")] = con.execute(
            f"select count(*) from {feed} where nhs_number is not null and not {valid_nhs_sql()}"
        ).fetchone()[0]
    for feed in contract:
        if contract[feed].column("nhs_number").nullable:
            out[(feed, "unlinkable")] = con.execute(f"select count(*) from {feed} where nhs_number is null").fetchone()[
                0
            ]
    ranges = " or ".join(
        f"(c.concept = '{k}' and (e.value < {lo} or e.value > {hi}))" for k, (lo, hi) in RANGES.items()
    )
    out[("gp_events", "implausible_value")] = con.execute(
        f"select count(*) from gp_events e where e.value is not null and exists (select 1 from codelists c where c.code = e.snomed_code and ({ranges}))"
    ).fetchone()[0]
    for feed, col in FUTURE_DATE_COLUMNS.items():
        out[(feed, "future_date")] = con.execute(
            f"select count(*) from {feed} where cast({col} as date) > date '{extract_date}'"
        ).fetchone()[0]
    for feed in DUPLICATE_FEEDS:
        key = ", ".join(contract[feed].key)
        out[(feed, "duplicate_key")] = con.execute(
            f"select coalesce(sum(n - 1), 0) from (select count(*) n from {feed} group by {key})"
        ).fetchone()[0]
    for feed in contract:
        if contract[feed].key is None:  # exact repeats of a whole row (the gate's duplicate_row)
            out[(feed, "duplicate_row")] = con.execute(
                f"select count(*) - (select count(*) from (select distinct * from {feed})) from {feed}"
            ).fetchone()[0]
    for feed in PRACTICE_FEEDS:
        out[(feed, "unknown_practice")] = con.execute(
            f"select count(*) from {feed} where practice_code not in (select practice_code from practices)"
        ).fetchone()[0]
    return out


def structural_problems(con, extract_date: str) -> list[str]:
    """What must hold in every drop: non-nullable columns non-null, unique keys where no duplicate rule
    applies, no date before 1900, no date after the extract date outside the future_date columns, ordered
    date pairs, and the cross-column rules of registrations and social care."""
    problems = []
    for feed, spec in load_contract().items():
        for col in spec.columns:
            if not col.nullable and (
                n := con.execute(f"select count(*) from {feed} where {col.name} is null").fetchone()[0]
            ):
                problems.append(f"{feed}.{col.name}: {n} nulls")
            if col.type in ("date", "timestamp"):
                if n := con.execute(
                    f"select count(*) from {feed} where cast({col.name} as date) < date '1900-01-01'"
                ).fetchone()[0]:
                    problems.append(f"{feed}.{col.name}: {n} before 1900")
                future_ok = FUTURE_DATE_COLUMNS.get(feed) == col.name or (feed, col.name) == (
                    "ecds_attendances",
                    "departure_datetime",
                )
                if not future_ok and (
                    n := con.execute(
                        f"select count(*) from {feed} where cast({col.name} as date) > date '{extract_date}'"
                    ).fetchone()[0]
                ):
                    problems.append(f"{feed}.{col.name}: {n} after the extract date")
        if spec.key and feed not in DUPLICATE_FEEDS:
            key = ", ".join(spec.key)
            if n := con.execute(
                f"select count(*) from (select {key} from {feed} group by {key} having count(*) > 1)"
            ).fetchone()[0]:
                problems.append(f"{feed}: {n} duplicated keys")
    for name, sql in {
        "registration ends before it starts": "select count(*) from gp_patients where registration_end_date < registration_start_date",
        "registration or death before birth": "select count(*) from gp_patients where registration_start_date < date_of_birth or date_of_death < date_of_birth",
        "code formats": """select count(*) from sus_apc_spells where not regexp_full_match(primary_diagnosis_icd10, '[A-Z][0-9]{2}[0-9A-Z]{0,2}')
            or not regexp_full_match(coalesce(secondary_diagnoses_icd10, 'A00'), '[A-Z][0-9]{2}[0-9A-Z]{0,2}(;[A-Z][0-9]{2}[0-9A-Z]{0,2})*')
            or not regexp_full_match(coalesce(primary_procedure_opcs4, 'A011'), '[A-Z][0-9]{2}[0-9]?')
            or admission_method not in ('11','12','13','21','22','23','24','25','26','27','28','31','32','81','82','83')
            or discharge_destination not in ('19','29','54','65','85','79','51')""",
        "snomed / dm+d formats": """select (select count(*) from gp_events where not regexp_full_match(snomed_code, '[0-9]{6,18}'))
            + (select count(*) from gp_medications where not regexp_full_match(dmd_code, '[0-9]{6,20}') or quantity <= 0)
            + (select count(*) from ecds_attendances where not regexp_full_match(coalesce(diagnosis_snomed, '123456'), '[0-9]{6,18}')
               or arrival_mode not in ('1', '2') or acuity not between 1 and 5)""",
        "other accepted values": """select (select count(*) from sus_op_appointments where attendance_status not in ('5','6','7','2','3','4')
                or not regexp_full_match(treatment_function_code, '[0-9]{3}'))
            + (select count(*) from csds_contacts where attendance_status not in ('5','6','3','2') or duration_minutes not between 0 and 1440)
            + (select count(*) from mhsds_contacts where attendance_status not in ('5','6','3','2') or provider_code <> 'RT1')
            + (select count(*) from rtt_waiting_list where priority not in ('P1','P2','P3','P4'))
            + (select count(*) from cancer_registrations where stage not in ('1','2','3','4','U') or not regexp_full_match(site_icd10, 'C[0-9]{2}[0-9A-Z]{0,2}'))
            + (select count(*) from gp_patients where sex not in ('1','2','9','X') or not regexp_full_match(coalesce(lsoa_code, 'E01000001'), 'E01[0-9]{6}'))""",
        "death without registration end = death": "select count(*) from gp_patients where date_of_death is not null and registration_end_date is distinct from date_of_death",
        "discharge before admission": "select count(*) from sus_apc_spells where discharge_date < admission_date",
        "departure before arrival": "select count(*) from ecds_attendances where departure_datetime < arrival_datetime",
        "service ends before it starts": "select count(*) from asc_services where service_end_date < service_start_date",
        "still_at_home outside reablement": "select count(*) from asc_services where still_at_home_91_days is not null and service_type <> 'Reablement'",
        "unknown provider": "select count(*) from (select provider_code from sus_apc_spells union all select provider_code from ecds_attendances union all select provider_code from sus_op_appointments union all select provider_code from csds_contacts union all select provider_code from mhsds_contacts) where provider_code not in ('RGT','RGN','RGM','RYV','RT1')",
        "la code": "select count(*) from asc_services where la_code not in ('E10000003','E06000031')",
    }.items():
        if n := con.execute(sql).fetchone()[0]:
            problems.append(f"{name}: {n}")
    return problems


def registered(con, extract_date: str) -> None:
    """Registered population on the date: alive, open registration, latest registration start wins."""
    con.execute(f"""create or replace table reg as select * exclude (rn) from (
        select *, row_number() over (partition by nhs_number order by registration_start_date desc) rn from gp_patients
        where registration_start_date <= date '{extract_date}' and (registration_end_date is null or registration_end_date > date '{extract_date}')
          and date_of_death is null) where rn = 1""")
    # QOF-style registers: latest diagnosis code not followed by a later resolved code
    con.execute(f"""create or replace table registers as
        select e.nhs_number, c.concept, max(case when c.role = 'diagnosis' then e.event_date end) diagnosed,
               max(case when c.role = 'resolved' then e.event_date end) resolved
        from gp_events e join codelists c on e.snomed_code = c.code
        where c.role in ('diagnosis', 'resolved') and e.event_date <= date '{extract_date}' group by 1, 2""")


# ---------------------------------------------------------------------------------------------------
# drops, generated once for the module
@pytest.fixture(scope="module")
def drops(tmp_path_factory):
    base = tmp_path_factory.mktemp("synthetic")
    out = {}
    out["m1"] = generate_drop(SMALL, SEED, E1, base / "clean", defect_rate=0.0)
    out["m2"] = generate_drop(SMALL, SEED, E2, base / "clean", defect_rate=0.0)
    out["dirty_manifest"] = generate_drop(SMALL, SEED, E2, base / "dirty", defect_rate=DEFECT_RATE)
    out["csv_manifest"] = generate_drop(SMALL, SEED, E2, base / "csv", defect_rate=0.0, file_format="csv")
    universe.cache_clear()  # the repeat starts from scratch: determinism of the whole pipeline
    out["again_manifest"] = generate_drop(SMALL, SEED, E2, base / "again", defect_rate=0.0)
    out["other_seed_manifest"] = generate_drop(SMALL, SEED + 1, E2, base / "other", defect_rate=0.0)
    out["medium_manifest"] = generate_drop(MEDIUM, 5, E2, base / "medium", defect_rate=0.0)
    out.update(
        clean1=base / "clean" / E1.isoformat(),
        clean2=base / "clean" / E2.isoformat(),
        dirty=base / "dirty" / E2.isoformat(),
        csv=base / "csv" / E2.isoformat(),
        again=base / "again" / E2.isoformat(),
        other=base / "other" / E2.isoformat(),
        medium=base / "medium" / E2.isoformat(),
    )
    return out


@pytest.fixture(scope="module")
def medium(drops):
    con = connect(drops["medium"])
    registered(con, E2.isoformat())
    return con


# ---------------------------------------------------------------------------------------------------
# shape
def test_every_feed_matches_the_contract(drops):
    for feed, spec in load_contract().items():
        df = pl.read_parquet(drops["clean2"] / f"{feed}.parquet")
        assert df.columns == spec.column_names, feed
        for col in spec.columns:
            assert df.schema[col.name] == POLARS_TYPES[col.type], (feed, col.name, df.schema[col.name])
        assert df.height > 0, feed


def test_manifest_describes_the_files(drops):
    m = drops["m2"]
    assert m["extract_date"] == E2.isoformat()
    assert m["generator"] == {
        "name": "phm-synthetic",
        "version": "1",
        "seed": SEED,
        "patients": SMALL,
        "defect_rate": 0.0,
    }
    assert list(m["feeds"]) == list(load_contract())
    assert json.loads((drops["clean2"] / "manifest.json").read_text()) == m
    for feed, info in m["feeds"].items():
        path = drops["clean2"] / info["file"]
        assert info["file"] == f"{feed}.parquet"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == info["sha256"]
        assert pl.read_parquet(path).height == info["rows"]
    assert not list(drops["clean2"].glob(".*tmp")), "temporary files left behind"


def test_csv_drop_follows_the_contract(drops):
    m = drops["csv_manifest"]
    for feed, spec in load_contract().items():
        path = drops["csv"] / f"{feed}.csv"
        header = path.open().readline().strip().split(",")
        assert header == spec.column_names, feed
        assert m["feeds"][feed]["rows"] == m["feeds"][feed]["rows"] == drops["m2"]["feeds"][feed]["rows"]
    text = (drops["csv"] / "ecds_attendances.csv").read_text().splitlines()[1]
    assert dt.datetime.strptime(text.split(",")[3], "%Y-%m-%d %H:%M:%S")
    assert text.split(",")[-1] in ("true", "false")
    dob = (drops["csv"] / "gp_patients.csv").read_text().splitlines()[1].split(",")[2]
    assert dt.date.fromisoformat(dob)
    con = connect(drops["csv"])
    assert structural_problems(con, E2.isoformat()) == []


# ---------------------------------------------------------------------------------------------------
# rules and defects
def test_clean_drop_breaks_no_rule(drops):
    con = connect(drops["clean2"])
    assert structural_problems(con, E2.isoformat()) == []
    counts = rule_counts(con, E2.isoformat())
    broken = {k: v for k, v in counts.items() if v and k[1] != "unlinkable"}
    listed = {(d["feed"], d["rule_id"]): d["rows"] for d in drops["m2"]["defects"]}
    # nothing injected: only the simulation's own exact repeats in keyless feeds, declared with their counts
    repeats = {k: v for k, v in listed.items() if k[1] == "duplicate_row"}
    assert broken == repeats
    assert {feed for feed, _ in repeats} <= {"gp_events", "gp_medications"}
    assert all(rule in ("unlinkable", "duplicate_row") for _, rule in listed)
    unlinkable = {k: v for k, v in counts.items() if k[1] == "unlinkable" and v}
    assert unlinkable == {k: v for k, v in listed.items() if k[1] == "unlinkable"}
    rows = drops["m2"]["feeds"]
    assert 0.03 <= counts[("asc_services", "unlinkable")] / rows["asc_services"]["rows"] <= 0.13  # ~7%, small sample
    for feed in ("sus_apc_spells", "ecds_attendances", "sus_op_appointments"):
        assert 0.0005 <= counts[(feed, "unlinkable")] / rows[feed]["rows"] <= 0.01, feed


def test_defects_are_listed_with_exact_counts(drops):
    m = drops["dirty_manifest"]
    con = connect(drops["dirty"])
    counts = rule_counts(con, E2.isoformat())
    listed = {(d["feed"], d["rule_id"]): d["rows"] for d in m["defects"]}
    expected_rules = {
        ("gp_patients", "nhs_number_invalid"),
        ("gp_events", "nhs_number_invalid"),
        ("sus_apc_spells", "nhs_number_invalid"),
        ("ecds_attendances", "nhs_number_invalid"),
        ("gp_events", "implausible_value"),
        ("gp_events", "future_date"),
        ("ecds_attendances", "future_date"),
        ("gp_medications", "future_date"),
        ("sus_apc_spells", "duplicate_key"),
        ("gp_patients", "duplicate_key"),
        ("ecds_attendances", "duplicate_key"),
        ("gp_events", "unknown_practice"),
        ("gp_medications", "unknown_practice"),
        ("gp_patients", "unknown_practice"),
    }
    assert expected_rules <= set(listed)
    for key, n in counts.items():
        assert listed.get(key, 0) == n, key
    clean_rows = drops["m2"]["feeds"]
    for (feed, rule), n in listed.items():
        if rule not in ("unlinkable", "duplicate_row"):  # counted, not injected at the defect rate
            assert n == max(1, round(DEFECT_RATE * clean_rows[feed]["rows"])), (feed, rule)
    extra = {feed: sum(n for (f, r), n in listed.items() if f == feed and r == "duplicate_key") for feed in clean_rows}
    for feed, info in m["feeds"].items():
        assert info["rows"] == clean_rows[feed]["rows"] + extra[feed], feed
    assert structural_problems(con, E2.isoformat()) == []
    # each damaged row breaks exactly one rule
    ranges = " or ".join(
        f"(c.concept = '{k}' and (e.value < {lo} or e.value > {hi}))" for k, (lo, hi) in RANGES.items()
    )
    flags = con.execute(f"""select count(*) from (select
        (not {valid_nhs_sql()})::int + (practice_code not in (select practice_code from practices))::int
        + (event_date > date '{E2}')::int
        + (exists (select 1 from codelists c where c.code = e.snomed_code and ({ranges})))::int as k from gp_events e) where k > 1""").fetchone()[
        0
    ]
    assert flags == 0
    n_bad_events = sum(n for (f, r), n in listed.items() if f == "gp_events")
    differing = con.execute(f"""select count(*) from (select * from read_parquet('{drops["dirty"] / "gp_events.parquet"}')
        except all select * from read_parquet('{drops["clean2"] / "gp_events.parquet"}'))""").fetchone()[0]
    assert differing == n_bad_events


def test_drop_with_defects_keeps_clean_rows_and_clean_drop_is_unchanged(drops):
    a = pl.read_parquet(drops["dirty"] / "cancer_registrations.parquet")
    b = pl.read_parquet(drops["clean2"] / "cancer_registrations.parquet")
    assert a.equals(b)


# ---------------------------------------------------------------------------------------------------
# determinism and consistency
def test_same_arguments_give_byte_identical_files(drops):
    for feed in load_contract():
        assert drops["again_manifest"]["feeds"][feed]["sha256"] == drops["m2"]["feeds"][feed]["sha256"], feed
    assert (drops["again"] / "manifest.json").read_bytes() == (drops["clean2"] / "manifest.json").read_bytes()


def test_different_seeds_differ(drops):
    for feed in load_contract():
        assert drops["other_seed_manifest"]["feeds"][feed]["sha256"] != drops["m2"]["feeds"][feed]["sha256"], feed
    a = pl.read_parquet(drops["clean2"] / "gp_patients.parquet")["nhs_number"]
    b = pl.read_parquet(drops["other"] / "gp_patients.parquet")["nhs_number"]
    assert len(set(a) & set(b)) < 0.01 * len(a)


def _both(drops, feed, where):
    """Rows matching `where` only in the first / only in the second drop, among people registered in both."""
    con = duckdb.connect()
    a = drops["clean1"] / f"{feed}.parquet"
    b = drops["clean2"] / f"{feed}.parquet"
    people = drops["clean1"] / "gp_patients.parquet"
    where = f"({where}) and (nhs_number is null or nhs_number in (select nhs_number from '{people}'))"
    only_a = con.execute(
        f"select count(*) from (select * from '{a}' where {where} except all select * from '{b}' where {where})"
    ).fetchone()[0]
    only_b = con.execute(
        f"select count(*) from (select * from '{b}' where {where} except all select * from '{a}' where {where})"
    ).fetchone()[0]
    n = con.execute(f"select count(*) from '{a}' where {where}").fetchone()[0]
    return only_a, only_b, n


def test_two_extract_dates_describe_the_same_world(drops):
    """A month apart: the same people, and every row dated inside both windows is identical."""
    e1, e2 = E1.isoformat(), E2.isoformat()
    con = duckdb.connect()
    p1, p2 = drops["clean1"] / "gp_patients.parquet", drops["clean2"] / "gp_patients.parquet"
    diff = con.execute(f"""select count(*) from (select distinct nhs_number, date_of_birth, sex, ethnic_category, lsoa_code, type1_opt_out from '{p1}') a
        join (select distinct nhs_number, date_of_birth, sex, ethnic_category, lsoa_code, type1_opt_out from '{p2}') b using (nhs_number)
        where a.date_of_birth <> b.date_of_birth or a.sex <> b.sex or a.ethnic_category is distinct from b.ethnic_category
           or a.lsoa_code is distinct from b.lsoa_code or a.type1_opt_out <> b.type1_opt_out""").fetchone()[0]
    assert diff == 0
    shared = con.execute(
        f"select count(distinct nhs_number) from '{p1}' where nhs_number in (select nhs_number from '{p2}')"
    ).fetchone()[0]
    total = con.execute(f"select count(distinct nhs_number) from '{p1}'").fetchone()[0]
    assert shared / total > 0.97
    # registration episodes already ended or started by E1 are the same in both
    ended = f"registration_start_date <= date '{e1}' and registration_end_date is not null and registration_end_date <= date '{e1}'"
    assert _both(drops, "gp_patients", ended + f" and registration_end_date > date '{e2}' - interval 5 year")[:2] == (
        0,
        0,
    )
    windows = {
        "gp_events": f"event_date > date '{e2}' - interval 3 year and event_date <= date '{e1}'",
        "gp_medications": f"issue_date > date '{e2}' - interval 2 year and issue_date <= date '{e1}'",
        "sus_apc_spells": f"admission_date > date '{e2}' - interval 5 year and discharge_date <= date '{e1}'",
        "ecds_attendances": f"cast(arrival_datetime as date) > date '{e2}' - interval 5 year and departure_datetime < date '{e1}' + interval 1 day",
        "sus_op_appointments": f"appointment_date > date '{e2}' - interval 5 year and appointment_date <= date '{e1}'",
        "cancer_registrations": f"diagnosis_date > date '{e2}' - interval 5 year and diagnosis_date <= date '{e1}'",
        "csds_contacts": f"contact_date > date '{e2}' - interval 5 year and contact_date <= date '{e1}'",
        "mhsds_contacts": f"contact_date > date '{e2}' - interval 5 year and contact_date <= date '{e1}'",
        "asc_services": f"service_start_date > date '{e2}' - interval 5 year and service_end_date <= date '{e1}' and (service_type <> 'Reablement' or service_start_date <= date '{e1}' - interval 95 day)",
    }
    for feed, where in windows.items():
        only1, only2, n = _both(drops, feed, where)
        assert n > 0, feed
        assert (only1, only2) == (0, 0), (feed, only1, only2, n)
    # the later drop has more recent activity, ids are stable
    for feed, col in (("gp_events", "event_date"), ("sus_op_appointments", "appointment_date")):
        newer = con.execute(
            f"select count(*) from '{drops['clean2'] / (feed + '.parquet')}' where {col} > date '{e1}'"
        ).fetchone()[0]
        assert newer > 0


# ---------------------------------------------------------------------------------------------------
# realism (20k patients)
def test_population_shape(drops, medium):
    n = medium.execute("select count(*) from reg").fetchone()[0]
    assert abs(n - MEDIUM) / MEDIUM < 0.03
    sex = dict(medium.execute("select sex, count(*) from reg group by 1").fetchall())
    assert 0.46 < sex["2"] / n < 0.54 and sex.get("9", 0) + sex.get("X", 0) > 0
    old = medium.execute(
        f"select avg((date_of_birth <= date '{E2}' - interval 65 year)::int), avg((date_of_birth > date '{E2}' - interval 18 year)::int) from reg"
    ).fetchone()
    assert 0.15 < old[0] < 0.23 and 0.17 < old[1] < 0.25
    eth = dict(
        medium.execute(
            "select coalesce(ethnic_category, 'null'), count(*) / sum(count(*)) over () from reg group by 1"
        ).fetchall()
    )
    assert 0.03 < eth["null"] < 0.07 and 0.65 < eth["A"] < 0.85 and len(eth) >= 15
    assert 0.02 < medium.execute("select avg(type1_opt_out::int) from reg").fetchone()[0] < 0.04
    two = medium.execute(
        "select count(*) from (select nhs_number from gp_patients group by 1 having count(*) = 2)"
    ).fetchone()[0]
    assert two > 0.03 * n
    deaths = medium.execute(
        f"select count(distinct nhs_number) from gp_patients where date_of_death > date '{E2}' - interval 1 year"
    ).fetchone()[0]
    assert 0.006 < deaths / n < 0.013
    practices = medium.execute("select count(distinct practice_code) from reg").fetchone()[0]
    assert practices >= 80


REGISTER_BOUNDS = {  # (low, high) % of the registered population
    "hypertension": (11.5, 16.5),
    "diabetes": (6.0, 9.0),
    "asthma": (5.0, 8.0),
    "copd": (1.4, 2.7),
    "af": (1.4, 2.6),
    "chd": (2.2, 3.8),
    "stroke_tia": (1.2, 2.4),
    "heart_failure": (0.6, 1.4),
    "ckd": (3.0, 5.2),
    "pad": (0.3, 0.9),
    "smi": (0.6, 1.4),
    "learning_disability": (0.25, 0.8),
    "autism": (0.6, 1.5),
    "dementia": (0.5, 1.3),
    "epilepsy": (0.5, 1.2),
    "ndh": (3.5, 6.5),
    "palliative": (0.2, 0.7),
}


def test_register_prevalence_is_realistic(medium):
    n = medium.execute("select count(*) from reg").fetchone()[0]
    prevalence = dict(
        medium.execute("""select concept, count(*) * 100.0 / (select count(*) from reg) from registers join reg using (nhs_number)
        where diagnosed is not null and (resolved is null or diagnosed > resolved) group by 1""").fetchall()
    )
    for concept, (lo, hi) in REGISTER_BOUNDS.items():
        assert lo <= prevalence.get(concept, 0) <= hi, (concept, prevalence.get(concept))
    adults = medium.execute(
        f"select count(*) from reg where date_of_birth <= date '{E2}' - interval 18 year"
    ).fetchone()[0]
    depression = medium.execute(f"""select count(*) from registers join reg using (nhs_number) where concept = 'depression'
        and diagnosed is not null and (resolved is null or diagnosed > resolved) and date_of_birth <= date '{E2}' - interval 18 year""").fetchone()[
        0
    ]
    assert 0.095 < depression / adults < 0.145
    cancer = medium.execute(f"""select count(*) from registers join reg using (nhs_number) where concept = 'cancer'
        and diagnosed > date '{E2}' - interval 5 year""").fetchone()[0]
    assert 0.015 < cancer / n < 0.035
    # asthma: about 30% of people ever diagnosed carry a later resolved code
    ever, resolved = medium.execute(
        "select count(*), count(*) filter (where resolved > diagnosed) from registers where concept = 'asthma'"
    ).fetchone()
    assert 0.15 < resolved / ever < 0.45
    # type 1 is a minority of diabetes; some children have it
    t1 = medium.execute(
        "select count(*) from registers join reg using (nhs_number) where concept = 'diabetes_type1'"
    ).fetchone()[0]
    dm = prevalence["diabetes"] * n / 100
    assert 0.04 < t1 / dm < 0.14
    # frailty, latest coded severity among 65+
    frail = dict(
        medium.execute(f"""with f as (select e.nhs_number, c.concept, row_number() over (partition by e.nhs_number order by e.event_date desc, c.concept desc) rn
        from gp_events e join codelists c on e.snomed_code = c.code where c.concept like 'frailty%')
        select concept, count(*) / (select count(*) from reg where date_of_birth <= date '{E2}' - interval 65 year)
        from f join reg using (nhs_number) where rn = 1 and date_of_birth <= date '{E2}' - interval 65 year group by 1""").fetchall()
    )
    assert (
        0.14 < frail["frailty_mild"] < 0.26
        and 0.06 < frail["frailty_moderate"] < 0.14
        and 0.02 < frail["frailty_severe"] < 0.07
    )


def test_measurements_are_plausible_and_coherent(medium):
    # treated hypertensives: most to target, a few very high; diabetics' HbA1c median ~55 with ~35% above 58
    to_target = medium.execute(f"""with bp as (select e.nhs_number, e.event_date, min(case when c.concept = 'systolic_bp' then value end) s,
            min(case when c.concept = 'diastolic_bp' then value end) d from gp_events e join codelists c on e.snomed_code = c.code
            where c.concept in ('systolic_bp', 'diastolic_bp') and e.event_date > date '{E2}' - interval 12 month group by 1, 2),
        last as (select *, row_number() over (partition by nhs_number order by event_date desc) rn from bp)
        select avg((s < case when date_diff('year', date_of_birth, date '{E2}') >= 80 then 150 else 140 end and d < 90)::int)
        from registers join reg using (nhs_number) join last using (nhs_number)
        where concept = 'hypertension' and diagnosed is not null and (resolved is null or diagnosed > resolved) and rn = 1""").fetchone()[
        0
    ]
    assert 0.55 < to_target < 0.75
    median, above = (
        medium.execute("""with last as (select e.nhs_number, arg_max(value, event_date) v from gp_events e join codelists c on e.snomed_code = c.code
        where c.concept = 'hba1c' group by 1) select median(v), avg((v > 58)::int) from last join registers using (nhs_number)
        where concept = 'diabetes' and diagnosed is not null and (resolved is null or diagnosed > resolved)""").fetchone()
    )
    assert 50 <= median <= 60 and 0.25 < above < 0.45
    ndh = medium.execute("""select avg((v between 42 and 47)::int) from (select e.nhs_number, arg_max(value, event_date) v from gp_events e
        join codelists c on e.snomed_code = c.code where c.concept = 'hba1c' group by 1) join registers using (nhs_number)
        where concept = 'ndh' and resolved is null and nhs_number not in (select nhs_number from registers where concept = 'diabetes')""").fetchone()[
        0
    ]
    assert ndh > 0.95
    obese = medium.execute(f"""select avg((v >= 30)::int) from (select e.nhs_number, arg_max(value, event_date) v from gp_events e
        join codelists c on e.snomed_code = c.code where c.concept = 'bmi' group by 1) join reg using (nhs_number)
        where date_of_birth <= date '{E2}' - interval 18 year""").fetchone()[0]
    assert 0.2 < obese < 0.35
    booking = medium.execute("""select avg((value <= 70)::int), count(*) filter (where value between 56 and 84) / count(*)
        from gp_events e join codelists c on e.snomed_code = c.code where c.concept = 'antenatal_booking'""").fetchone()
    assert 0.5 < booking[0] < 0.7 and booking[1] > 0.6
    units = dict(
        medium.execute("""select c.concept, any_value(unit) from gp_events e join codelists c on e.snomed_code = c.code
        where c.role = 'observation' and value is not null group by 1""").fetchall()
    )
    assert (
        units["systolic_bp"] == "mmHg"
        and units["hba1c"] == "mmol/mol"
        and units["bmi"] == "kg/m2"
        and units["egfr"] == "mL/min/1.73m2"
    )
    # medicines follow the registers
    on = dict(
        medium.execute(f"""select concept, avg(treated::int) from (
        select r.concept, exists (select 1 from gp_medications m join codelists c on m.dmd_code = c.code
            where m.nhs_number = r.nhs_number and m.issue_date > date '{E2}' - interval 6 month
              and c.concept = case r.concept when 'hypertension' then 'antihypertensive' when 'af' then 'oral_anticoagulant'
                                             when 'chd' then 'lipid_lowering' else 'saba' end) treated
        from registers r join reg using (nhs_number) where r.concept in ('hypertension', 'af', 'chd', 'asthma')
          and diagnosed is not null and (resolved is null or diagnosed > resolved)) group by 1""").fetchall()
    )
    assert 0.65 < on["hypertension"] < 0.85 and 0.6 < on["af"] < 0.9 and 0.6 < on["chd"] < 0.9 and on["asthma"] > 0.7


def test_activity_volumes_per_1000(medium):
    n = medium.execute("select count(*) from reg").fetchone()[0]

    def per_1000(sql):
        return medium.execute(sql).fetchone()[0] * 1000 / n

    last_year = f"date '{E2}' - interval 1 year"
    assert 380 < per_1000(f"select count(*) from ecds_attendances where arrival_datetime > {last_year}") < 560
    assert (
        95
        < per_1000(
            f"select count(*) from sus_apc_spells where admission_method between '21' and '28' and admission_date > {last_year}"
        )
        < 145
    )
    assert (
        100
        < per_1000(
            f"select count(*) from sus_apc_spells where admission_method between '11' and '13' and admission_date > {last_year}"
        )
        < 165
    )
    assert (
        5
        < per_1000(
            f"select count(*) from sus_apc_spells where admission_method in ('31', '32') and admission_date > {last_year}"
        )
        < 25
    )
    assert 1500 < per_1000(f"select count(*) from sus_op_appointments where appointment_date > {last_year}") < 2300
    assert 40 < per_1000("select count(*) from rtt_waiting_list") < 100
    assert 3 < per_1000(f"select count(*) from cancer_registrations where diagnosis_date > {last_year}") < 9
    ambulance, admitted = medium.execute(
        "select avg((arrival_mode = '1')::int), avg(admitted::int) from ecds_attendances"
    ).fetchone()
    assert 0.2 < ambulance < 0.4 and 0.2 < admitted < 0.4
    dna = medium.execute("select avg((attendance_status = '3')::int) from sus_op_appointments").fetchone()[0]
    assert 0.04 < dna < 0.1
    long_wait = medium.execute(
        f"select avg((clock_start_date < date '{E2}' - interval 126 day)::int) from rtt_waiting_list"
    ).fetchone()[0]
    assert 0.25 < long_wait < 0.65
    teams = {r[0] for r in medium.execute("select distinct team_type from csds_contacts").fetchall()}
    assert len(teams) == 12
    services = {r[0] for r in medium.execute("select distinct service_type from mhsds_contacts").fetchall()}
    assert len(services) == 7
    types = {r[0] for r in medium.execute("select distinct service_type from asc_services").fetchall()}
    assert types == {
        "Residential",
        "Nursing",
        "Home care",
        "Direct payment",
        "Supported living",
        "Reablement",
        "Carer support",
    }
    home = medium.execute(
        "select avg(still_at_home_91_days::int) from asc_services where service_type = 'Reablement'"
    ).fetchone()[0]
    assert 0.7 < home < 0.9
    extractions = medium.execute("""select count(*) from sus_apc_spells a join gp_patients p using (nhs_number)
        where substr(primary_procedure_opcs4, 1, 3) in ('F09', 'F10') and date_diff('year', p.date_of_birth, a.admission_date) <= 10""").fetchone()[
        0
    ]
    assert extractions > 0


def test_emergency_admissions_follow_risk_and_history(medium):
    e2 = E2.isoformat()
    rows = medium.execute(f"""with em as (select nhs_number, count(*) k from sus_apc_spells where admission_method between '21' and '28'
            and admission_date > date '{e2}' - interval 1 year group by 1),
        frail as (select distinct e.nhs_number from gp_events e join codelists c on e.snomed_code = c.code
            where c.concept in ('frailty_moderate', 'frailty_severe'))
        select (date_diff('year', date_of_birth, date '{e2}') >= 80 or frail.nhs_number is not null) high, avg(coalesce(k, 0))
        from reg left join em using (nhs_number) left join frail using (nhs_number) group by 1""").fetchall()
    rate = dict(rows)
    assert rate[True] > 3 * rate[False]
    # beyond age: within an age band, people with COPD or heart failure, and people admitted last year,
    # are admitted more this year (the persistent personal factor makes history predictive)
    sick = dict(
        medium.execute(f"""with em as (select nhs_number, count(*) k from sus_apc_spells where admission_method between '21' and '28'
            and admission_date > date '{e2}' - interval 1 year group by 1),
        sick as (select distinct nhs_number from registers where concept in ('copd', 'heart_failure')
            and diagnosed is not null and (resolved is null or diagnosed > resolved))
        select sick.nhs_number is not null, avg(coalesce(k, 0)) from reg left join em using (nhs_number) left join sick using (nhs_number)
        where date_diff('year', date_of_birth, date '{e2}') between 50 and 79 group by 1""").fetchall()
    )
    assert sick[True] > 2.5 * sick[False]
    prior = dict(
        medium.execute(f"""with y1 as (select distinct nhs_number from sus_apc_spells where admission_method between '21' and '28'
            and admission_date between date '{e2}' - interval 2 year and date '{e2}' - interval 1 year),
        y2 as (select nhs_number, count(*) k from sus_apc_spells where admission_method between '21' and '28' and admission_date > date '{e2}' - interval 1 year group by 1)
        select y1.nhs_number is not null, avg(coalesce(k, 0)) from reg left join y1 using (nhs_number) left join y2 using (nhs_number)
        where date_diff('year', date_of_birth, date '{e2}') between 18 and 64 group by 1""").fetchall()
    )
    assert prior[True] > 2.0 * prior[False]
    # activity rises in the last year of life
    eol = medium.execute(f"""with dead as (select distinct nhs_number, date_of_death from gp_patients where date_of_death is not null
            and date_of_death > date '{e2}' - interval 3 year)
        select count(*) filter (where admission_date > date_of_death - interval 1 year) / count(distinct dead.nhs_number)
        from dead left join sus_apc_spells a using (nhs_number)""").fetchone()[0]
    assert eol > 1.0
    died = medium.execute("select count(*) from sus_apc_spells where discharge_destination = '79'").fetchone()[0]
    assert died > 0


def test_codes_are_the_projects_codelists():
    assert check_codes() == []


def test_nhs_numbers():
    numbers = make_nhs_numbers(np.arange(200_000), 3)
    assert np.unique(numbers).size == numbers.size
    assert is_valid([str(x) for x in numbers[:5000]]).all()
    assert not is_valid([str(x) for x in invalidate(numbers[:5000], np.arange(5000) % 9 + 1)]).any()
    assert not is_valid(["123", None, "abcdefghij", "9434765918"]).any()
    assert is_valid(["9434765919"]).all()  # NHS Digital's documented example

"""Per-patient tests of the dbt person spine (ehrQL style): raw tables written by hand -> `dbt build` -> marts.

One dbt build per module (a fixture) on a tiny raw DuckDB in a tmp dir: all 11 contract feeds created empty with
their contract columns and types, plus hand-written gp_patients rows and raw.person_key. Each patient below says
which boundary it tests; `expected_in_population` and `expected_columns` are checked against marts.person.
Reference date 2025-02-28 (a non-leap year: the 29 February birthday is not reached yet on it). Age cases on
other reference dates (1 March, a leap 29 February) are dbt unit tests in
dbt_project/models/intermediate/person/_int_person__models.yml, run by the same build.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"
CONTRACT = REPO / "contracts" / "extracts.yaml"
REFERENCE_DATE = "2025-02-28"
SQL_TYPES = {
    "string": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "int": "INTEGER",
    "double": "DOUBLE",
    "bool": "BOOLEAN",
}

SOUTH, NORTH = "D81028", "D81023"  # practice_map: South (PCN U09738) and North (PCN U11694)
LSOA_DECILE_10 = "E01017955"  # Cambridge, IMD decile 10, county E10000003
LSOA_DECILE_1 = "E01015593"  # Peterborough, IMD decile 1, unitary E06000031
LSOA_DECILE_3 = "E01015618"  # Peterborough, IMD decile 3

DEFAULT_REGISTRATION = dict(
    practice_code=SOUTH,
    date_of_birth="1980-06-15",
    sex="2",
    ethnic_category="A",
    lsoa_code=LSOA_DECILE_10,
    registration_start_date="2010-01-01",
    registration_end_date=None,
    date_of_death=None,
    type1_opt_out=False,
)

# patient id -> registrations (overrides of DEFAULT_REGISTRATION), expected_in_population, expected_columns.
PATIENTS: dict[str, dict] = {
    # Baseline: open registration, alive, every column resolved.
    "baseline": dict(
        registrations=[{}],
        expected_in_population=True,
        expected_columns=dict(
            practice_code=SOUTH,
            pcn_code="U09738",
            place="South",
            age=44,
            age_band="40-59",
            sex="Female",
            ethnicity_group="White",
            lsoa_code=LSOA_DECILE_10,
            imd_decile=10,
            imd_quintile=5,
            district_code="E07000008",
            la_code="E10000003",
            type1_opt_out=False,
        ),
    ),
    # Died the day before the reference date: not alive on it.
    "dead_before_ref": dict(registrations=[dict(date_of_death="2025-02-27")], expected_in_population=False),
    # Died on the reference date: alive means death after it (ehrQL is_alive_on), so excluded.
    "dead_on_ref": dict(registrations=[dict(date_of_death="2025-02-28")], expected_in_population=False),
    # Died the day after (a point-in-time rebuild sees later deaths): alive on the reference date.
    "dead_after_ref": dict(registrations=[dict(date_of_death="2025-03-01")], expected_in_population=True),
    # Death recorded only on an older, closed registration still counts.
    "dead_on_old_registration": dict(
        registrations=[
            dict(
                practice_code=NORTH,
                registration_start_date="2000-01-01",
                registration_end_date="2015-01-01",
                date_of_death="2024-06-01",
            ),
            dict(registration_start_date="2015-01-01"),
        ],
        expected_in_population=False,
    ),
    # Registration ended the day before: not registered.
    "ended_before_ref": dict(registrations=[dict(registration_end_date="2025-02-27")], expected_in_population=False),
    # Registration ended on the reference date: the end day is not a registered day (end must be after it).
    "ended_on_ref": dict(registrations=[dict(registration_end_date="2025-02-28")], expected_in_population=False),
    # Registration ends the day after: registered.
    "ended_after_ref": dict(registrations=[dict(registration_end_date="2025-03-01")], expected_in_population=True),
    # Registration starts on the reference date: registered (start <= reference date).
    "starts_on_ref": dict(registrations=[dict(registration_start_date="2025-02-28")], expected_in_population=True),
    # Registration starts the day after: not yet registered.
    "starts_after_ref": dict(registrations=[dict(registration_start_date="2025-03-01")], expected_in_population=False),
    # Two open registrations: the latest start wins, and demographics come from it.
    "two_registrations_latest_wins": dict(
        registrations=[
            dict(practice_code=SOUTH, registration_start_date="2015-01-01", lsoa_code=LSOA_DECILE_10),
            dict(practice_code=NORTH, registration_start_date="2020-05-01", lsoa_code=LSOA_DECILE_3),
        ],
        expected_in_population=True,
        expected_columns=dict(practice_code=NORTH, place="North", pcn_code="U11694", imd_decile=3, imd_quintile=2),
    ),
    # A later registration that starts after the reference date does not displace the current one.
    "future_registration_ignored": dict(
        registrations=[
            dict(practice_code=SOUTH, registration_start_date="2015-01-01"),
            dict(practice_code=NORTH, registration_start_date="2025-03-05"),
        ],
        expected_in_population=True,
        expected_columns=dict(practice_code=SOUTH),
    ),
    # Same start date at two practices: the open-ended one wins over one with a (future) end date.
    "tie_open_ended_wins": dict(
        registrations=[
            dict(practice_code=NORTH, registration_start_date="2018-01-01", registration_end_date="2026-01-01"),
            dict(practice_code=SOUTH, registration_start_date="2018-01-01"),
        ],
        expected_in_population=True,
        expected_columns=dict(practice_code=SOUTH),
    ),
    # Same start, both open: the lower practice code wins, so rebuilds agree.
    "tie_practice_code_breaks": dict(
        registrations=[
            dict(practice_code=SOUTH, registration_start_date="2018-01-01"),
            dict(practice_code=NORTH, registration_start_date="2018-01-01"),
        ],
        expected_in_population=True,
        expected_columns=dict(practice_code=NORTH),
    ),
    # 18th birthday on the reference date: age increments on the day -> 18, band 18-39 (17/18 boundary).
    "eighteen_today": dict(
        registrations=[dict(date_of_birth="2007-02-28")],
        expected_in_population=True,
        expected_columns=dict(age=18, age_band="18-39"),
    ),
    # 18th birthday tomorrow: 17, band 0-17.
    "eighteen_tomorrow": dict(
        registrations=[dict(date_of_birth="2007-03-01")],
        expected_in_population=True,
        expected_columns=dict(age=17, age_band="0-17"),
    ),
    # 80th birthday on the reference date: 80, band 80+ (79/80 boundary).
    "eighty_today": dict(
        registrations=[dict(date_of_birth="1945-02-28")],
        expected_in_population=True,
        expected_columns=dict(age=80, age_band="80+"),
    ),
    # 80th birthday tomorrow: 79, band 60-79.
    "eighty_tomorrow": dict(
        registrations=[dict(date_of_birth="1945-03-01")],
        expected_in_population=True,
        expected_columns=dict(age=79, age_band="60-79"),
    ),
    # Born 29 Feb 2008: on 28 Feb of a non-leap year the 17th birthday is not reached yet -> 16.
    "leap_day_birth": dict(
        registrations=[dict(date_of_birth="2008-02-29")],
        expected_in_population=True,
        expected_columns=dict(age=16, age_band="0-17"),
    ),
    # Born on the reference date: age 0, youngest band.
    "newborn": dict(
        registrations=[dict(date_of_birth="2025-02-28", registration_start_date="2025-02-28")],
        expected_in_population=True,
        expected_columns=dict(age=0, age_band="0-17"),
    ),
    # No ethnic category recorded -> Not recorded (SQL, not the seed).
    "ethnicity_null": dict(
        registrations=[dict(ethnic_category=None)],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="Not recorded", is_white_non_british=False),
    ),
    # Category Z is a recorded refusal -> Not stated.
    "ethnicity_z": dict(
        registrations=[dict(ethnic_category="Z")],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="Not stated"),
    ),
    # White Irish: White group, and a White non-British PLUS-group member.
    "ethnicity_b": dict(
        registrations=[dict(ethnic_category="B")],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="White", is_white_non_british=True),
    ),
    # Chinese (R) is in the Other group in the NHS 2001 categories; Indian (H) in Asian.
    "ethnicity_r": dict(
        registrations=[dict(ethnic_category="R")],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="Other"),
    ),
    "ethnicity_h": dict(
        registrations=[dict(ethnic_category="H", sex="1")],
        expected_in_population=True,
        expected_columns=dict(ethnicity_group="Asian", sex="Male", sex_code="1"),
    ),
    # IMD decile 1 -> quintile 1; residence in Peterborough (unitary) -> la_code E06000031.
    "imd_decile_1": dict(
        registrations=[dict(lsoa_code=LSOA_DECILE_1)],
        expected_in_population=True,
        expected_columns=dict(imd_decile=1, imd_quintile=1, district_code="E06000031", la_code="E06000031"),
    ),
    # No LSOA: no deprivation or residence geography, still in the population.
    "lsoa_null": dict(
        registrations=[dict(lsoa_code=None, sex="X")],
        expected_in_population=True,
        expected_columns=dict(imd_decile=None, imd_quintile=None, district_code=None, la_code=None, sex="Not known"),
    ),
    # Type 1 opt-out stays in the person mart (direct care) and is carried through.
    "type1_opt_out": dict(
        registrations=[dict(type1_opt_out=True)], expected_in_population=True, expected_columns=dict(type1_opt_out=True)
    ),
}

# Persons present only in raw.person_key (an A&E attender never registered here) must not appear.
NHS_NUMBERS = {pid: f"9{n:09d}" for n, pid in enumerate(PATIENTS, start=1)}


def dbt_executable() -> str:
    """The venv's dbt: beside the running interpreter, else the repo venv, else PATH."""
    for candidate in (Path(sys.executable).parent / "dbt", REPO / ".venv" / "bin" / "dbt"):
        if candidate.exists():
            return str(candidate)
    found = shutil.which("dbt")
    if not found:
        pytest.skip("dbt executable not found")
    return found


def create_raw(db_path: Path, extra_gp_patients: list[dict] | None = None) -> None:
    """Every contract feed as an empty raw table with the contract's types, then the hand-written patients."""
    contract = yaml.safe_load(CONTRACT.read_text())
    con = duckdb.connect(str(db_path))
    try:
        con.execute("create schema raw")
        for feed, spec in contract["feeds"].items():
            cols = ", ".join(f"{name} {SQL_TYPES[c['type']]}" for name, c in spec["columns"].items())
            con.execute(f"create table raw.{feed} ({cols})")
        con.execute("create table raw.person_key (nhs_number varchar primary key, person_id varchar)")
        gp_columns = list(contract["feeds"]["gp_patients"]["columns"])
        rows = []
        for pid, patient in PATIENTS.items():
            for overrides in patient["registrations"]:
                row = {**DEFAULT_REGISTRATION, **overrides, "nhs_number": NHS_NUMBERS[pid]}
                rows.append([row[c] for c in gp_columns])
        for row in extra_gp_patients or []:
            rows.append([{**DEFAULT_REGISTRATION, **row}[c] for c in gp_columns])
        placeholders = ", ".join("?" for _ in gp_columns)
        con.executemany(f"insert into raw.gp_patients ({', '.join(gp_columns)}) values ({placeholders})", rows)
        keys = [(nhs, f"pid_{pid}") for pid, nhs in NHS_NUMBERS.items()] + [("9999999999", "pid_unregistered")]
        # A person may have several registrations (rows): one key each.
        keys += [(nhs, f"pid_{nhs}") for nhs in dict.fromkeys(r["nhs_number"] for r in extra_gp_patients or [])]
        con.executemany("insert into raw.person_key values (?, ?)", keys)
    finally:
        con.close()


def run_dbt(db_path: Path, work: Path, *args: str, reference_date: str = REFERENCE_DATE) -> subprocess.CompletedProcess:
    # PHM_BUILD_DB is the bare file name, run from its folder: the rendered profile is then the same for every
    # build here, so a later build can reuse the module build's parse (dbt re-parses fully when the profile changes).
    env = {**os.environ, "PHM_BUILD_DB": db_path.name, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}
    cmd = [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
        "--vars",
        json.dumps({"reference_date": reference_date}),
    ]
    return subprocess.run(cmd, env=env, cwd=db_path.parent, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One `dbt build` for the module; yields (db path, work dir, completed process)."""
    work = tmp_path_factory.mktemp("dbt_person_spine")
    db_path = work / "build.duckdb"
    create_raw(db_path)
    result = run_dbt(db_path, work, "build")
    if result.returncode != 0:
        pytest.fail(f"dbt build failed ({result.returncode}):\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}")
    return db_path, work, result


def query(db_path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def person_rows(db_path: Path) -> dict[str, dict]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        cur = con.execute("select * from marts.person")
        names = [d[0] for d in cur.description]
        return {row[0]: dict(zip(names, row, strict=False)) for row in cur.fetchall()}
    finally:
        con.close()


def test_test_patients_are_well_formed():
    # Failures of the test rows themselves, reported apart from wrong outputs (ehrQL).
    for pid, patient in PATIENTS.items():
        assert patient["registrations"], pid
        unknown = {k for reg in patient["registrations"] for k in reg} - set(DEFAULT_REGISTRATION)
        assert not unknown, f"{pid}: unknown gp_patients columns {unknown}"
        if patient.get("expected_columns"):
            assert patient["expected_in_population"], f"{pid}: expected columns for a person not in the population"


@pytest.mark.parametrize("pid", list(PATIENTS))
def test_patient(built, pid):
    db_path, _, _ = built
    people = person_rows(db_path)
    patient = PATIENTS[pid]
    person_id = f"pid_{pid}"
    assert (person_id in people) == patient["expected_in_population"], f"{pid}: in population"
    for column, expected in patient.get("expected_columns", {}).items():
        assert people[person_id][column] == expected, f"{pid}.{column}"


def test_population_is_exactly_the_expected_people(built):
    db_path, _, _ = built
    expected = {f"pid_{pid}" for pid, p in PATIENTS.items() if p["expected_in_population"]}
    # pid_unregistered is in person_key only (e.g. an A&E attender): never in the registered population.
    assert set(person_rows(db_path)) == expected


def test_contract_columns_and_no_identifiers_in_marts(built):
    db_path, _, _ = built
    columns = [
        r[0]
        for r in query(
            db_path,
            "select column_name from information_schema.columns "
            "where table_schema = 'marts' and table_name = 'person' order by ordinal_position",
        )
    ]
    contract = [
        "person_id",
        "practice_code",
        "pcn_code",
        "neighbourhood",
        "place",
        "age",
        "age_band",
        "sex",
        "ethnicity_group",
        "lsoa_code",
        "imd_decile",
        "imd_quintile",
        "type1_opt_out",
    ]
    assert columns[: len(contract)] == contract
    assert "nhs_number" not in columns and "date_of_birth" not in columns
    # No NHS number column anywhere in marts.
    leaked = query(
        db_path,
        "select table_name from information_schema.columns "
        "where table_schema = 'marts' and column_name in ('nhs_number', 'date_of_birth')",
    )
    assert leaked == []


def test_person_identity_has_the_nhs_number_of_each_registered_person(built):
    db_path, _, _ = built
    identity = {
        r[0]: (r[1], r[2])
        for r in query(db_path, "select person_id, nhs_number, practice_code from restricted.person_identity")
    }
    people = person_rows(db_path)
    assert set(identity) == set(people)
    for person_id, (nhs_number, practice_code) in identity.items():
        assert nhs_number == NHS_NUMBERS[person_id.removeprefix("pid_")]
        assert practice_code == people[person_id]["practice_code"]


def test_only_stg_gp_patients_keeps_the_nhs_number(built):
    db_path, _, _ = built
    holders = {
        r[0]
        for r in query(
            db_path,
            "select table_schema || '.' || table_name from information_schema.columns "
            "where column_name = 'nhs_number' and table_schema not in ('raw')",
        )
    }
    assert holders == {"staging.stg_gp_patients", "restricted.person_identity"}


def test_models_land_in_their_schemas(built):
    db_path, _, _ = built
    tables = {(r[0], r[1]) for r in query(db_path, "select table_schema, table_name from information_schema.tables")}
    for schema, name in [
        ("staging", "stg_gp_patients"),
        ("staging", "stg_asc_services"),
        ("intermediate", "int_person__registered_population"),
        ("marts", "person"),
        ("restricted", "person_identity"),
        ("reference", "practice_map"),
        ("reference", "age_bands"),
        ("reference", "ethnicity_groups"),
    ]:
        assert (schema, name) in tables, (schema, name)
    staging = {n for s, n in tables if s == "staging"}
    assert len({n for n in staging if n.startswith("stg_")}) == 11


def test_reference_code_columns_are_text(built):
    # A 10-18 digit SNOMED / dm+d code loaded as an integer silently breaks every join: declare column_types.
    db_path, _, _ = built
    bad = query(
        db_path,
        """
        select table_name, column_name, data_type from information_schema.columns
        where table_schema = 'reference'
          and (lower(column_name) in ('code', 'id', 'dmd_id', 'icd', 'ctv3code', 'bnf_code', 'snomed_code')
               or lower(column_name) like '%\\_code' escape '\\')
          and data_type <> 'VARCHAR'""",
    )
    assert bad == []


def test_every_data_test_records_its_severity(built):
    # Tuva/OHDSI style: each test says whether it blocks publish (dq_sev_1, error) or warns (dq_sev_3).
    _, work, _ = built
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n["package_name"] == "phm"]
    assert tests
    for node in tests:
        severity = node["config"]["severity"].lower()
        tags = set(node["tags"])
        expected_tag = {"error": "dq_sev_1", "warn": "dq_sev_3"}[severity]
        assert expected_tag in tags and not ({"dq_sev_1", "dq_sev_3"} - {expected_tag}) & tags, node["unique_id"]


def test_every_model_and_column_is_described(built):
    _, work, _ = built
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["package_name"] != "phm":
            continue
        assert node["description"].strip(), node["unique_id"]
        assert "grain" in node["description"].lower(), f"{node['unique_id']}: description should state the grain"
        con = duckdb.connect(str(built[0]), read_only=True)
        try:
            actual = {
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
                    [node["schema"], node["alias"]],
                ).fetchall()
            }
        finally:
            con.close()
        documented = {c for c, spec in node["columns"].items() if spec.get("description", "").strip()}
        assert actual <= documented, f"{node['unique_id']}: undocumented {sorted(actual - documented)}"


def test_bad_data_fails_the_build(built, tmp_path):
    # A practice code that is not in practice_map reaching raw must stop the build (relationships test,
    # severity error), so nothing is published. Same file name as the module build keeps the DuckDB catalog
    # name, so the copied staging views still resolve; a copy of the module's target dir allows a partial parse.
    db_path, work, _ = built
    bad_db = tmp_path / db_path.name
    shutil.copy(db_path, bad_db)
    shutil.copytree(work / "target", tmp_path / "target")
    con = duckdb.connect(str(bad_db))
    try:
        con.execute(
            "insert into raw.gp_patients (nhs_number, practice_code, date_of_birth, sex, ethnic_category, "
            "lsoa_code, registration_start_date, registration_end_date, date_of_death, type1_opt_out) values "
            "('9111111111', 'Z99999', date '1970-01-01', '1', 'A', null, date '2010-01-01', null, null, false)"
        )
        con.execute("insert into raw.person_key values ('9111111111', 'pid_unknown_practice')")
    finally:
        con.close()
    result = run_dbt(bad_db, tmp_path, "build", "--select", "stg_gp_patients+", "--exclude-resource-type", "unit_test")
    assert result.returncode != 0, result.stdout[-3000:]
    assert "relationships_person_practice_code" in result.stdout

"""Per-patient tests of the dbt person spine (ehrQL style): raw tables written by hand -> `dbt build` -> marts.

The patients are in tests/helpers/spine_patients.py: each says which boundary it tests; `expected_in_population`
and `expected_columns` are checked against marts.person. They are built by the session's one `dbt build` of the
hand-written raw DuckDB (the `hand_built` fixture of tests/conftest.py: all 11 contract feeds created empty with their
contract columns and types, the spine's gp_patients rows and raw.person_key, beside the golden patients, whose person
ids are pid_<NHS number>). Reference date 2025-02-28 (a non-leap year: the 29 February birthday is not reached yet
on it). Age cases on other reference dates (1 March, a leap 29 February) are dbt unit tests in
dbt_project/models/intermediate/person/_int_person__models.yml, run by the same build.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from tests.helpers.dbt_build import REFERENCE_DATE, query, run_dbt
from tests.helpers.spine_patients import DEFAULT_REGISTRATION, NHS_NUMBERS, PATIENTS


@pytest.fixture(scope="module")
def built(hand_built):
    """The session's build of the spine's reference date: (db path, work dir with dbt's target/)."""
    build = hand_built(REFERENCE_DATE)
    return build.db_path, build.work


def spine_people(people) -> set[str]:
    """The spine's person ids among `people` (the golden and disclosure people are pid_<NHS number>)."""
    return {p for p in people if not p.removeprefix("pid_").isdigit()}


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
    db_path, _ = built
    people = person_rows(db_path)
    patient = PATIENTS[pid]
    person_id = f"pid_{pid}"
    assert (person_id in people) == patient["expected_in_population"], f"{pid}: in population"
    for column, expected in patient.get("expected_columns", {}).items():
        assert people[person_id][column] == expected, f"{pid}.{column}"


def test_population_is_exactly_the_expected_people(built):
    db_path, _ = built
    expected = {f"pid_{pid}" for pid, p in PATIENTS.items() if p["expected_in_population"]}
    # pid_unregistered is in person_key only (e.g. an A&E attender): never in the registered population.
    assert spine_people(person_rows(db_path)) == expected


def test_contract_columns_and_no_identifiers_in_marts(built):
    db_path, _ = built
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
    db_path, _ = built
    identity = {
        r[0]: (r[1], r[2])
        for r in query(db_path, "select person_id, nhs_number, practice_code from restricted.person_identity")
    }
    people = person_rows(db_path)
    assert set(identity) == set(people)
    for person_id, (nhs_number, practice_code) in identity.items():
        key = person_id.removeprefix("pid_")
        assert nhs_number == NHS_NUMBERS.get(key, key)  # a golden person's id is pid_<NHS number>
        assert practice_code == people[person_id]["practice_code"]


def test_only_stg_gp_patients_keeps_the_nhs_number(built):
    db_path, _ = built
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
    db_path, _ = built
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
    db_path, _ = built
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
    _, work = built
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    tests = [n for n in manifest["nodes"].values() if n["resource_type"] == "test" and n["package_name"] == "phm"]
    assert tests
    for node in tests:
        severity = node["config"]["severity"].lower()
        tags = set(node["tags"])
        expected_tag = {"error": "dq_sev_1", "warn": "dq_sev_3"}[severity]
        assert expected_tag in tags and not ({"dq_sev_1", "dq_sev_3"} - {expected_tag}) & tags, node["unique_id"]


def test_every_model_and_column_is_described(built):
    _, work = built
    manifest = json.loads((work / "target" / "manifest.json").read_text())
    columns: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in query(
        built[0], "select table_schema, table_name, column_name from information_schema.columns"
    ):
        columns.setdefault((schema, table), set()).add(column)
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or node["package_name"] != "phm":
            continue
        assert node["description"].strip(), node["unique_id"]
        assert "grain" in node["description"].lower(), f"{node['unique_id']}: description should state the grain"
        actual = columns.get((node["schema"], node["alias"]), set())
        documented = {c for c, spec in node["columns"].items() if spec.get("description", "").strip()}
        assert actual <= documented, f"{node['unique_id']}: undocumented {sorted(actual - documented)}"


def test_bad_data_fails_the_build(built, tmp_path):
    # A practice code that is not in practice_map reaching raw must stop the build (relationships test,
    # severity error), so nothing is published. Same file name as the module build keeps the DuckDB catalog
    # name, so the copied staging views still resolve; a copy of the session build's target dir allows a partial
    # parse. Only the path from stg_gp_patients to marts.person is rebuilt (the models the bad row flows through
    # to the failing test, and their tests), not the whole DAG downstream of it.
    db_path, work = built
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
    result = run_dbt(
        bad_db, tmp_path, "build", "--select", "stg_gp_patients+,+person", "--exclude-resource-type", "unit_test"
    )
    assert result.returncode != 0, result.stdout[-3000:]
    assert "relationships_person_practice_code" in result.stdout

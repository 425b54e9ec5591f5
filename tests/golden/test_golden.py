"""Per-patient golden tests of the clinical and activity intermediate models (OpenSAFELY ehrQL `assure` style).

Every `tests/golden/<area>/*.yaml` file holds patients: patient id -> the boundary it tests, its raw rows per
contract feed, and the expected registers / model columns. All patients go into ONE raw DuckDB (beside the person
spine's patients: tests/helpers/golden.py), dbt builds once per test run (the session fixture `hand_built` of
tests/conftest.py, shared with the spine and disclosure tests), and each patient is checked.

Two kinds of failure are reported apart (as ehrQL does):
  * test_golden_data[...]    : the YAML itself is wrong (unknown feed or column, a row breaking the contract's
                               types or non-nullable columns, an unknown register or model in `expected`);
                               the patient's output test is then skipped, not failed.
  * test_golden_outputs[...] : the data was valid and the models computed something else.

A file may set its own `reference_date: 2025-04-15` beside `patients:` (e.g. a flu season seen from April); its
patients are built apart, one dbt build per distinct reference date (the default is the spine's REFERENCE_DATE).
The loading and checking of the YAML live in tests/helpers/golden.py.

Patient YAML (see tests/golden/registers/registers.yaml for examples):
    <patient id>:
      boundary: what this patient tests (required)
      registration: {date_of_birth: 1970-01-01, sex: "1", ...}   # overrides of the spine's DEFAULT_REGISTRATION
      other_registrations: [{practice_code: D81023, registration_start_date: 2005-01-01, ...}]   # more episodes
      registered: false        # optional: no GP registration (person_key only), e.g. an A&E attender
      linked: false            # optional: NHS number unknown to person_key (rows are unlinkable)
      gp_events: [{event_date: 2024-06-01, snomed_code: "271649006", value: 139}, ...]   # any contract feed
      expected:
        registers: [hypertension]                        # exact set of int_clinical__registers.register
        register_details: {diabetes: {register_detail: type2}}
        int_clinical__latest_values: {last_bp_systolic: 139}   # any intermediate model with person_id; null = no row
        marts.core20plus5_person: {htn_treated_to_target_numerator: true}   # a mart (schema marts) likewise
        int_indicators__person_long:             # a list: the person's exact rows, each compared on its given columns
          - {indicator_id: copd_emergency_admissions, numerator_count: 2}
nhs_number, practice_code and ids are filled in; codes must be quoted strings (a YAML integer would lose leading
zeros, the contract says string).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from tests.helpers.golden import CASE_REFERENCE_DATES, CASES, DATA_ERRORS, MODEL_PREFIXES, person_id


def _rows(db_path: Path, relation: str, key: str) -> dict[str, list[dict]]:
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        cursor = con.execute(f"select * from {relation}")
        names = [d[0] for d in cursor.description]
        out: dict[str, list[dict]] = {}
        for row in cursor.fetchall():
            record = dict(zip(names, row, strict=False))
            out.setdefault(record[key], []).append(record)
        return out
    finally:
        con.close()


@pytest.fixture(scope="module")
def outputs(hand_built):
    """Lazily loaded (reference date, model) -> person_id -> rows."""
    cache: dict[tuple[str, str], dict[str, list[dict]]] = {}

    def get(reference_date: str, model: str) -> dict[str, list[dict]]:
        if (reference_date, model) not in cache:
            relation = model if model.startswith("marts.") else f"intermediate.{model}"
            cache[(reference_date, model)] = _rows(hand_built(reference_date).db_path, relation, "person_id")
        return cache[(reference_date, model)]

    return get


def _same(expected, actual) -> bool:
    if isinstance(expected, float) or isinstance(actual, float):
        return expected is not None and actual is not None and actual == pytest.approx(expected, abs=1e-9)
    if isinstance(expected, str) and isinstance(actual, dt.date):
        return actual.isoformat() == expected
    return expected == actual


def _compare_rows(model: str, expected_rows: list[dict], rows: list[dict]) -> list[str]:
    """A person's rows of a multi-row model: as many rows as expected, each expected row matching a distinct one."""
    problems = []
    if len(rows) != len(expected_rows):
        problems.append(f"{model}: expected {len(expected_rows)} rows for the person, got {len(rows)}")
    unmatched = list(rows)
    for expected_row in expected_rows:
        match = next(
            (r for r in unmatched if all(_same(v, r.get(c, "<no such column>")) for c, v in expected_row.items())), None
        )
        if match is None:
            problems.append(f"{model}: no row matches {expected_row}")
        else:
            unmatched.remove(match)
    return problems


# ------------------------------------------------------------------------------------------------------------ tests
def test_golden_files_exist():
    assert CASES, "no golden patients found under tests/golden/<area>/*.yaml"


@pytest.mark.parametrize("case_id", sorted(set(CASES) | set(DATA_ERRORS)))
def test_golden_data(case_id):
    """The test data itself: reported apart from wrong outputs."""
    if DATA_ERRORS.get(case_id):
        pytest.fail("invalid golden test data:\n  " + "\n  ".join(DATA_ERRORS[case_id]), pytrace=False)


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_golden_outputs(case_id, outputs):
    if case_id in DATA_ERRORS:
        pytest.skip("test data invalid (see test_golden_data); outputs not checked")
    patient = CASES[case_id]
    pid = person_id(case_id)
    reference_date = CASE_REFERENCE_DATES[case_id]
    expected = patient.get("expected") or {}
    mismatches: list[str] = []

    if "registers" in expected or "register_details" in expected:
        rows = {r["register"]: r for r in outputs(reference_date, "int_clinical__registers").get(pid, [])}
        if "registers" in expected and set(rows) != set(expected["registers"] or []):
            mismatches.append(f"registers: expected {sorted(expected['registers'] or [])}, got {sorted(rows)}")
        for register, columns in (expected.get("register_details") or {}).items():
            if register not in rows:
                mismatches.append(f"register_details.{register}: not on the register")
                continue
            for column, value in columns.items():
                if not _same(value, rows[register].get(column, "<no such column>")):
                    mismatches.append(
                        f"{register}.{column}: expected {value!r}, got {rows[register].get(column, '<no such column>')!r}"
                    )

    for model, columns in expected.items():
        if not model.startswith(MODEL_PREFIXES):
            continue
        rows = outputs(reference_date, model).get(pid, [])
        if columns is None:
            if rows:
                mismatches.append(f"{model}: expected no row, got {len(rows)}")
            continue
        if isinstance(columns, list):
            mismatches += _compare_rows(model, columns, rows)
            continue
        if len(rows) != 1:
            mismatches.append(f"{model}: expected one row for the person, got {len(rows)}")
            continue
        for column, value in columns.items():
            actual = rows[0].get(column, "<no such column>")
            if not _same(value, actual):
                mismatches.append(f"{model}.{column}: expected {value!r}, got {actual!r}")

    if mismatches:
        pytest.fail(f"{case_id} ({patient.get('boundary')}):\n  " + "\n  ".join(mismatches), pytrace=False)

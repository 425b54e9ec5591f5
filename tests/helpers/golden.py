"""The golden patients of tests/golden/<area>/*.yaml: loading, checking against the contract, and writing them into
one raw DuckDB per reference date (beside the spine's patients). tests/golden/test_golden.py says the format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import yaml

from tests.helpers.dbt_build import CONTRACT, REFERENCE_DATE, create_raw
from tests.helpers.spine_patients import DEFAULT_REGISTRATION

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CONTRACT_FEEDS: dict[str, dict] = yaml.safe_load(CONTRACT.read_text())["feeds"]
EVENT_FEEDS = sorted(set(CONTRACT_FEEDS) - {"gp_patients"})
REGISTERS = {
    "hypertension",
    "diabetes",
    "ndh",
    "copd",
    "asthma",
    "af",
    "chd",
    "stroke_tia",
    "heart_failure",
    "ckd",
    "pad",
    "smi",
    "learning_disability",
    "autism",
    "dementia",
    "cancer",
    "epilepsy",
    "palliative",
    "frailty_mild",
    "frailty_moderate",
    "frailty_severe",
}
# Expected-output keys naming a model: intermediate models by name, marts as marts.<model>.
MODEL_PREFIXES = ("int_clinical__", "int_activity__", "int_indicators__", "marts.")
PATIENT_KEYS = {"boundary", "registration", "other_registrations", "registered", "linked", "expected", *EVENT_FEEDS}
# Filled in when a row leaves them out: the feed's id column, provider and a few flags.
FEED_DEFAULTS = {
    "sus_apc_spells": {"provider_code": "RGT"},
    "ecds_attendances": {"provider_code": "RGT", "admitted": False},
    "sus_op_appointments": {"provider_code": "RGT", "treatment_function_code": "100", "first_attendance": False},
    "rtt_waiting_list": {"provider_code": "RGT", "treatment_function_code": "100"},
    "csds_contacts": {"provider_code": "RYV"},
    "mhsds_contacts": {"provider_code": "RT1"},
    "asc_services": {"la_code": "E10000003"},
}
ID_COLUMNS = {
    "sus_apc_spells": "spell_id",
    "ecds_attendances": "attendance_id",
    "sus_op_appointments": "appointment_id",
    "rtt_waiting_list": "pathway_id",
    "cancer_registrations": "tumour_id",
    "csds_contacts": "contact_id",
    "mhsds_contacts": "contact_id",
    "asc_services": "service_id",
}


# ---------------------------------------------------------------------------------------------- loading + checking
def _check_value(column: str, spec: dict, value) -> str | None:
    """None if `value` fits the contract column, else why not. Dates / timestamps may be YAML dates or ISO text."""
    if value is None:
        return None if spec.get("nullable", True) else f"{column} is not nullable"
    kind = spec["type"]
    if kind == "string":
        return None if isinstance(value, str) else f"{column} must be a quoted string, got {value!r}"
    if kind == "bool":
        return None if isinstance(value, bool) else f"{column} must be true/false, got {value!r}"
    if kind == "int":
        return None if isinstance(value, int) and not isinstance(value, bool) else f"{column} must be an integer"
    if kind == "double":
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else f"{column} must be a number"
    if kind in ("date", "timestamp"):
        if isinstance(value, dt.date):
            return None
        try:
            (dt.date if kind == "date" else dt.datetime).fromisoformat(str(value))
            return None
        except ValueError:
            return f"{column} must be an ISO {kind}, got {value!r}"
    return f"{column}: unknown contract type {kind}"


def _validate(patient_id: str, patient) -> list[str]:
    """Every way the test data breaks the contract or this runner's format."""
    if not isinstance(patient, dict):
        return [f"{patient_id}: a patient must be a mapping"]
    errors = [f"unknown key {k!r} (feeds: {', '.join(EVENT_FEEDS)})" for k in sorted(set(patient) - PATIENT_KEYS)]
    if not str(patient.get("boundary") or "").strip():
        errors.append("boundary: say which boundary this patient tests")
    gp_patient_columns = CONTRACT_FEEDS["gp_patients"]["columns"]
    other_registrations = patient.get("other_registrations") or []
    if not isinstance(other_registrations, list):
        errors.append("other_registrations: must be a list of registrations")
        other_registrations = []
    for label, registration in [("registration", patient.get("registration") or {})] + [
        (f"other_registrations[{n}]", r) for n, r in enumerate(other_registrations, start=1)
    ]:
        if not isinstance(registration, dict):
            errors.append(f"{label}: must be a mapping")
            continue
        for column, value in registration.items():
            if column not in DEFAULT_REGISTRATION:
                errors.append(f"{label}: unknown gp_patients column {column!r}")
            else:
                problem = _check_value(column, gp_patient_columns[column], value)
                errors += [f"{label}: {problem}"] if problem else []
    for feed in EVENT_FEEDS:
        rows = patient.get(feed) or []
        if not isinstance(rows, list):
            errors.append(f"{feed}: must be a list of rows")
            continue
        columns = CONTRACT_FEEDS[feed]["columns"]
        for n, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                errors.append(f"{feed}[{n}]: a row must be a mapping")
                continue
            errors += [f"{feed}[{n}]: unknown column {c!r}" for c in sorted(set(row) - set(columns))]
            full = _complete_row(feed, row, "x", "9000000000", n)
            for column, spec in columns.items():
                problem = _check_value(column, spec, full.get(column))
                errors += [f"{feed}[{n}]: {problem}"] if problem else []
    expected = patient.get("expected") or {}
    if not isinstance(expected, dict):
        return [*errors, "expected: must be a mapping"]
    for key, value in expected.items():
        if key == "registers":
            unknown = set(value or []) - REGISTERS
            errors += [f"expected.registers: unknown register ids {sorted(unknown)}"] if unknown else []
        elif key == "register_details":
            unknown = set(value or {}) - REGISTERS
            errors += [f"expected.register_details: unknown register ids {sorted(unknown)}"] if unknown else []
        elif key.startswith(MODEL_PREFIXES):
            if isinstance(value, list):
                if not all(isinstance(row, dict) for row in value):
                    errors.append(f"expected.{key}: a list must hold one mapping of column -> value per expected row")
            elif value is not None and not isinstance(value, dict):
                errors.append(f"expected.{key}: a mapping of column -> value, a list of them, or null for no row")
        else:
            errors.append(
                f"expected: unknown key {key!r} (registers, register_details, "
                f"{', '.join(p + '*' for p in MODEL_PREFIXES)})"
            )
    return errors


def _complete_row(feed: str, row: dict, patient_id: str, nhs_number: str, n: int) -> dict:
    full = {**FEED_DEFAULTS.get(feed, {}), **row}
    columns = CONTRACT_FEEDS[feed]["columns"]
    if "nhs_number" in columns:
        full.setdefault("nhs_number", nhs_number)
    if "practice_code" in columns:
        full.setdefault("practice_code", DEFAULT_REGISTRATION["practice_code"])
    if feed in ID_COLUMNS:
        full.setdefault(ID_COLUMNS[feed], f"{patient_id}-{feed}-{n}")
    return full


def load_cases() -> tuple[dict[str, dict], dict[str, list[str]], dict[str, str]]:
    """case id ('<area>/<patient>') -> patient; case id -> data errors (file-level errors under '<file>'); and
    case id -> the reference date its file asks for."""
    cases: dict[str, dict] = {}
    errors: dict[str, list[str]] = {}
    reference_dates: dict[str, str] = {}
    for path in sorted(GOLDEN.glob("*/*.yaml")):
        area = path.parent.name
        try:
            document = yaml.safe_load(path.read_text()) or {}
        except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError on an impossible date (2024-13-01)
            errors[str(path.relative_to(GOLDEN))] = [f"YAML does not load: {exc}"]
            continue
        patients = document.get("patients") if isinstance(document, dict) else None
        if not isinstance(patients, dict) or not patients:
            errors[str(path.relative_to(GOLDEN))] = ["a golden file needs a non-empty `patients:` mapping"]
            continue
        unknown = set(document) - {"patients", "reference_date"}
        reference_date = document.get("reference_date", REFERENCE_DATE)
        if isinstance(reference_date, dt.date):
            reference_date = reference_date.isoformat()
        try:
            dt.date.fromisoformat(str(reference_date))
        except ValueError:
            unknown.add(f"reference_date {reference_date!r} (not an ISO date)")
        if unknown:
            errors[str(path.relative_to(GOLDEN))] = [
                f"unknown top-level keys: {sorted(unknown)} (patients, reference_date)"
            ]
            continue
        for patient_id, patient in patients.items():
            case_id = f"{area}/{patient_id}"
            if case_id in cases:
                errors.setdefault(case_id, []).append(f"patient id repeated in {path.name}")
                continue
            cases[case_id] = patient
            reference_dates[case_id] = str(reference_date)
            problems = _validate(case_id, patient)
            if problems:
                errors[case_id] = problems
    return cases, errors, reference_dates


CASES, DATA_ERRORS, CASE_REFERENCE_DATES = load_cases()
# Stable pseudo NHS numbers (8xxxxxxxxx: apart from the spine's 9xxxxxxxxx) and person ids, in case order.
NHS_NUMBERS = {case_id: f"8{n:09d}" for n, case_id in enumerate(sorted(CASES), start=1)}


def person_id(case_id: str) -> str:
    return f"pid_{NHS_NUMBERS[case_id]}"


# --------------------------------------------------------------------------------------------------- the one build
def write_raw(db_path: Path, cases: dict[str, dict], extra_gp_patients: list[dict] | None = None) -> None:
    """A raw DuckDB with the spine's patients, `cases` and any other gp_patients rows (create_raw's)."""
    registered = {cid: p for cid, p in cases.items() if p.get("registered", True) and p.get("linked", True)}
    create_raw(
        db_path,
        extra_gp_patients=[
            {**registration, "nhs_number": NHS_NUMBERS[cid]}
            for cid, p in registered.items()
            for registration in [p.get("registration") or {}, *list(p.get("other_registrations") or [])]
        ]
        + list(extra_gp_patients or []),
    )
    con = duckdb.connect(str(db_path))
    try:
        for case_id, patient in cases.items():
            nhs_number = NHS_NUMBERS[case_id]
            if not patient.get("registered", True) and patient.get("linked", True):
                con.execute("insert into raw.person_key values (?, ?)", [nhs_number, person_id(case_id)])
            for feed in EVENT_FEEDS:
                columns = list(CONTRACT_FEEDS[feed]["columns"])
                for n, row in enumerate(patient.get(feed) or [], start=1):
                    full = _complete_row(feed, row, case_id, nhs_number, n)
                    con.execute(
                        f"insert into raw.{feed} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
                        [full.get(c) for c in columns],
                    )
    finally:
        con.close()

"""The disclosure-control people of tests/unit/test_marts_disclosure.py (which says what each group tests).

They are built with the golden patients of DISCLOSURE_REFERENCE_DATE in one session build (tests/conftest.py), at
practices and in a Peterborough falls period no other patient of that build uses (the module checks it). At
2025-04-15 (the flu-season golden file's date) the current BCF period is 2024-04-16..2025-04-15 and the previous one
2023-04-16..2024-04-15; every age below is the same as at 2025-02-28."""

from __future__ import annotations

from pathlib import Path

import duckdb

DISCLOSURE_REFERENCE_DATE = "2025-04-15"
NHS_PREFIX = "7"  # 7xxxxxxxxx: apart from the spine's 9xxxxxxxxx and the golden 8xxxxxxxxx
SYSTOLIC, DIASTOLIC = "271649006", "271650006"
LSOA_CAMBRIDGE_DECILE_10 = "E01017955"
LSOA_PETERBOROUGH_DECILE_1 = "E01015593"

# practice -> (people, with a BP, opted out)
CASE_FINDING_GROUPS = {
    "D81014": (3, 3, 0),
    "D81057": (8, 8, 0),
    "D81002": (13, 12, 0),
    "D81030": (20, 3, 0),
    "D81021": (16, 16, 6),
}
FALLS_PRACTICE = "D81065"


def people() -> tuple[list[dict], list[tuple], list[tuple]]:
    """gp_patients overrides, gp_events rows and sus_apc_spells rows of the synthetic people."""
    patients, events, spells = [], [], []
    n = 0

    def nhs() -> str:
        nonlocal n
        n += 1
        return f"{NHS_PREFIX}{n:09d}"

    for practice, (people, with_bp, opted_out) in CASE_FINDING_GROUPS.items():
        for i in range(people):
            number = nhs()
            patients.append(
                dict(
                    nhs_number=number,
                    practice_code=practice,
                    date_of_birth="1975-01-01",
                    lsoa_code=LSOA_CAMBRIDGE_DECILE_10,
                    type1_opt_out=i < opted_out,
                )
            )
            if i < with_bp:
                events += [
                    (number, practice, "2023-05-01", SYSTOLIC, 128.0, "mmHg"),
                    (number, practice, "2023-05-01", DIASTOLIC, 78.0, "mmHg"),
                ]

    def faller(date_of_birth: str, opted_out: bool, admissions: list[str]) -> None:
        number = nhs()
        patients.append(
            dict(
                nhs_number=number,
                practice_code=FALLS_PRACTICE,
                date_of_birth=date_of_birth,
                lsoa_code=LSOA_PETERBOROUGH_DECILE_1,
                type1_opt_out=opted_out,
            )
        )
        for k, admitted in enumerate(admissions):
            spells.append(
                (f"FALL-{number}-{k}", number, "RGN", admitted, admitted, "21", "S720", "W010;I10X", None, "19")
            )

    for i in range(12):
        faller("1954-06-15", False, ["2024-09-01"] + (["2023-06-01"] if i == 0 else []))
    faller("1960-06-15", False, ["2024-09-01"])  # 64 at admission and at the period end
    faller("1954-06-15", True, ["2024-09-01"])
    faller("1954-06-15", True, ["2024-10-01"])
    return patients, events, spells


def write_people(db_path: Path) -> None:
    """Add the disclosure people's gp_events and sus_apc_spells to a raw DuckDB (their gp_patients rows go
    through create_raw's extra_gp_patients)."""
    _, events, spells = people()
    con = duckdb.connect(str(db_path))
    try:
        con.executemany(
            "insert into raw.gp_events (nhs_number, practice_code, event_date, snomed_code, value, unit) "
            "values (?, ?, ?, ?, ?, ?)",
            events,
        )
        con.executemany(
            "insert into raw.sus_apc_spells (spell_id, nhs_number, provider_code, admission_date, "
            "discharge_date, admission_method, primary_diagnosis_icd10, secondary_diagnoses_icd10, "
            "primary_procedure_opcs4, discharge_destination) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            spells,
        )
    finally:
        con.close()

"""Hand-made landing drops that obey the contract, for gate, ingest and refresh tests."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from assets.gate import quarantine_feed, write_gate_reference
from assets.ingest import Drop, load_feed
from contracts.extracts import file_sha256, load_contract

ARROW_TYPES = {
    "string": pa.string(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "int": pa.int32(),
    "double": pa.float64(),
    "bool": pa.bool_(),
}


def nhs_check_digit(nine: str) -> int | None:
    total = sum(int(d) * (10 - i) for i, d in enumerate(nine))
    check = 11 - total % 11
    return 0 if check == 11 else (None if check == 10 else check)


def valid_nhs_numbers(n: int, start: int = 900000000) -> list[str]:
    out, base = [], start
    while len(out) < n:
        nine = f"{base:09d}"
        check = nhs_check_digit(nine)
        if check is not None:
            out.append(nine + str(check))
        base += 1
    return out


def write_feed(drop: Path, feed_name: str, rows: list[dict], fmt: str = "parquet") -> Path:
    feed = load_contract()[feed_name]
    schema = pa.schema([(c.name, ARROW_TYPES[c.type]) for c in feed.columns])
    table = pa.Table.from_pylist(rows, schema=schema)
    path = drop / f"{feed_name}.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    return path


def digest(path: Path) -> str:
    """A file's sha256, as a drop's manifest gives it: a warehouse left byte-identical keeps it."""
    return file_sha256(path)


def write_manifest(drop: Path, extract_date: date) -> None:
    feeds = {}
    for path in sorted(drop.iterdir()):
        if path.suffix in (".parquet", ".csv"):
            entry = {"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
            try:
                if path.suffix == ".parquet":
                    entry["rows"] = pq.read_metadata(path).num_rows
                else:
                    with open(path) as lines:
                        entry["rows"] = sum(1 for _ in lines) - 1
            except (OSError, pa.ArrowInvalid):
                entry.pop("rows", None)  # a deliberately unreadable file: the manifest can only vouch for its bytes
            feeds[path.stem] = entry
    (drop / "manifest.json").write_text(json.dumps({"extract_date": extract_date.isoformat(), "feeds": feeds}))


def minimal_rows(extract_date: date) -> dict[str, list[dict]]:
    """Two people and one row per activity feed: every value valid under every rule."""
    a, b = valid_nhs_numbers(2)
    d = date(extract_date.year - 1, 6, 1)
    ts = datetime(d.year, d.month, d.day, 10, 30)
    return {
        "gp_patients": [
            dict(
                nhs_number=a,
                practice_code="D81001",
                date_of_birth=date(1950, 3, 1),
                sex="1",
                ethnic_category="A",
                lsoa_code="E01017943",
                registration_start_date=date(2000, 1, 1),
                registration_end_date=None,
                date_of_death=None,
                type1_opt_out=False,
            ),
            dict(
                nhs_number=b,
                practice_code="D81002",
                date_of_birth=date(1990, 7, 9),
                sex="2",
                ethnic_category=None,
                lsoa_code="E01017944",
                registration_start_date=date(2010, 1, 1),
                registration_end_date=None,
                date_of_death=None,
                type1_opt_out=True,
            ),
        ],
        "gp_events": [
            dict(nhs_number=a, practice_code="D81001", event_date=d, snomed_code="72313002", value=135.0, unit="mmHg")
        ],
        "gp_medications": [
            dict(nhs_number=a, practice_code="D81001", issue_date=d, dmd_code="320018007", quantity=28.0)
        ],
        "sus_apc_spells": [
            dict(
                spell_id="S1",
                nhs_number=a,
                provider_code="RGT",
                admission_date=d,
                discharge_date=d,
                admission_method="21",
                primary_diagnosis_icd10="J441",
                secondary_diagnoses_icd10="I10;E119",
                primary_procedure_opcs4=None,
                discharge_destination="19",
            )
        ],
        "ecds_attendances": [
            dict(
                attendance_id="E1",
                nhs_number=a,
                provider_code="RGN",
                arrival_datetime=ts,
                departure_datetime=ts,
                arrival_mode="1",
                acuity=3,
                diagnosis_snomed="195967001",
                admitted=True,
            )
        ],
        "sus_op_appointments": [
            dict(
                appointment_id="O1",
                nhs_number=b,
                provider_code="RGT",
                appointment_date=d,
                treatment_function_code="320",
                first_attendance=True,
                attendance_status="5",
            )
        ],
        "rtt_waiting_list": [
            dict(
                pathway_id="P1",
                nhs_number=b,
                provider_code="RGT",
                treatment_function_code="100",
                clock_start_date=d,
                priority="P3",
            )
        ],
        "cancer_registrations": [dict(tumour_id="T1", nhs_number=a, diagnosis_date=d, site_icd10="C509", stage="2")],
        "csds_contacts": [
            dict(
                contact_id="C1",
                nhs_number=a,
                provider_code="RYV",
                contact_date=d,
                team_type="district nursing",
                attendance_status="5",
                duration_minutes=30,
            )
        ],
        "mhsds_contacts": [
            dict(
                contact_id="M1",
                nhs_number=b,
                provider_code="RT1",
                contact_date=d,
                service_type="Talking therapies",
                attendance_status="5",
            )
        ],
        "asc_services": [
            dict(
                service_id="A1",
                nhs_number=b,
                la_code="E10000003",
                service_type="Home care",
                service_start_date=d,
                service_end_date=None,
                primary_support_reason="Physical support",
                weekly_cost_gbp=250.0,
                still_at_home_91_days=None,
            )
        ],
    }


def land_and_quarantine(con, landing: Path, extract_date: date, feed_name: str):
    """Ingest one feed of a drop into `con` and run the gate's quarantine pass on it, as a refresh does."""
    write_gate_reference(con)
    feed = load_contract()[feed_name]
    load_feed(con, Drop.open(landing, extract_date), feed)
    return quarantine_feed(con, feed, extract_date.isoformat())

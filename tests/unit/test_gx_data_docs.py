"""The gates keep GX's own validation results without the sample values GX copies out of the data (patient values),
beside the warehouse, and GX's site builder makes data docs of them again with no database."""

from __future__ import annotations

import json
import os
from datetime import date

import duckdb

from expectations.data_docs import KEPT_RUNS, STORE, VALUE_KEYS, build_site, load_validations, save_validations
from expectations.mart_checks import load_registry
from expectations.mart_suites import validate_marts
from expectations.suites import validate_feed
from tests.helpers.drops import land_and_quarantine, minimal_rows, valid_nhs_numbers
from tests.helpers.marts import BREAKAGES, clean_marts

EXTRACT = date(2026, 11, 25)


def keys(value):
    """Every key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys(v)}
    return set()


def test_gate1_keeps_its_validation_without_sample_values_and_the_data_docs_build(make_drop, tmp_path):
    base = minimal_rows(EXTRACT)["gp_events"][0]
    rows = [{**base, "nhs_number": n} for n in valid_nhs_numbers(100)]
    rows[:3] = [{**r, "practice_code": "Z99999"} for r in rows[:3]]  # GX would list the unknown codes
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        land_and_quarantine(con, make_drop({"gp_events": rows}), EXTRACT, "gp_events")
    validations: list[dict] = []
    results = validate_feed(str(db), "gp_events", EXTRACT.isoformat(), validations=validations)

    (record,) = validations
    assert record["suite_name"] == "gate1_gp_events" and not record["success"]
    assert len(record["results"]) == len(results)
    assert not keys(record) & set(VALUE_KEYS) and "Z99999" not in json.dumps(record)
    practice = next(
        r for r in record["results"] if r["expectation_config"]["meta"].get("rule_id") == "unknown_practice"
    )
    assert practice["result"]["unexpected_count"] == 3 and "patient data" in practice["meta"]["phm"]

    save_validations(tmp_path, "run-1", "gate1", validations)
    assert load_validations(tmp_path, "run-1") == validations and load_validations(tmp_path, "run-2") == []
    index = build_site(load_validations(tmp_path, "run-1"), "run-1", tmp_path / "site")
    assert "gate1_gp_events" in index.read_text()
    (page,) = (tmp_path / "site" / "validations" / "gate1_gp_events" / "run-1").rglob("gp_events.html")
    assert "run-1" in page.read_text() and (tmp_path / "site" / "expectations" / "gate1_gp_events.html").exists()


def test_gate2_keeps_its_failing_checks_rows(tmp_path):
    db = tmp_path / "build.duckdb"
    with duckdb.connect(str(db)) as con:
        clean_marts(con)
        con.execute(BREAKAGES["target_lists_own_neighbourhood"][0])
    validations: list[dict] = []
    validate_marts(str(db), load_registry(), ["target_lists"], validations)
    (record,) = validations
    assert record["suite_name"] == "gate2_target_lists" and not record["success"]
    (result,) = record["results"]
    assert [(r["check_id"], r["rows_failing"]) for r in result["result"]["details"]["unexpected_rows"]] == [
        ("target_lists_own_neighbourhood", 2)
    ]


def test_only_the_latest_refreshes_results_are_kept(tmp_path):
    record = {"suite_name": "gate1_gp_patients", "results": []}
    for night in range(KEPT_RUNS + 3):
        save_validations(tmp_path, f"run{night:02d}", "gate1", [record])
        os.utime(tmp_path / STORE / f"run{night:02d}", (1_000_000 + night, 1_000_000 + night))
    kept = sorted(p.name for p in (tmp_path / STORE).iterdir())
    assert kept == [f"run{night:02d}" for night in range(3, KEPT_RUNS + 3)]
    # The run being written is never removed, however old its folder looks.
    os.utime(tmp_path / STORE / "run03", (1, 1))
    save_validations(tmp_path, "run03", "gate2", [record])
    assert (tmp_path / STORE / "run03" / "gate2" / "gate1_gp_patients.json").is_file()

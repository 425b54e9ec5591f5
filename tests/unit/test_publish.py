"""Publish refuses on its own when any blocking check of this run failed or did not run, whichever gate it
belongs to (defence in depth: it does not rely on Dagster skipping it), and it never touches the warehouse
when it refuses. Gate 1: every feed; gate 2: every check of seeds/mart_checks.csv; dbt: every error-severity
test of the manifest, a skipped test counting as not run."""
from __future__ import annotations

import json

import duckdb
import pytest

from assets import dbt_results
from assets.contract import load_contract
from assets.publish import PublishRefused, publish, verify_gates
from assets.run_meta import create_meta, record_checks
from expectations.mart_checks import load_registry
from expectations.results import CheckResult

# A small manifest in dbt's format: two error tests (one a unit test), one warn test, on marts.person.
MANIFEST = {
    "nodes": {
        "model.phm.person": {"resource_type": "model", "name": "person", "schema": "marts", "config": {"schema": "marts"}},
        "test.phm.unique_person_person_id.1": {
            "resource_type": "test", "unique_id": "test.phm.unique_person_person_id.1", "name": "unique_person_person_id",
            "attached_node": "model.phm.person", "column_name": "person_id", "config": {"severity": "ERROR"},
            "test_metadata": {"name": "unique"}, "depends_on": {"nodes": ["model.phm.person"]}},
        "test.phm.accepted_range_person_age.2": {
            "resource_type": "test", "unique_id": "test.phm.accepted_range_person_age.2",
            "name": "accepted_range_person_age", "attached_node": "model.phm.person", "column_name": "age",
            "config": {"severity": "warn"}, "test_metadata": {"name": "accepted_range"},
            "depends_on": {"nodes": ["model.phm.person"]}},
    },
    "unit_tests": {
        "unit_test.phm.person.age_on_leap_day": {
            "unique_id": "unit_test.phm.person.age_on_leap_day", "name": "age_on_leap_day",
            "depends_on": {"nodes": ["model.phm.person"]}}},
}
ALL_PASS = {"results": [{"unique_id": uid, "status": "pass", "failures": 0, "message": None}
                        for uid in ("test.phm.unique_person_person_id.1", "test.phm.accepted_range_person_age.2",
                                    "unit_test.phm.person.age_on_leap_day")]}


@pytest.fixture(autouse=True)
def manifest(tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(MANIFEST))
    monkeypatch.setattr(dbt_results, "MANIFEST_PATH", path)


def gate1_pass(feed):
    return CheckResult(feed, "not_null", "nhs_number", "expect_column_values_to_not_be_null", "block", 0.01, True,
                       0, 0.0, 10, "passed")


def gate2_results(skip: str | None = None, fail: str | None = None):
    return [CheckResult(c.table, c.check_id, ",".join(c.columns), c.check_type, c.severity, c.threshold,
                        c.check_id != fail, 0 if c.check_id != fail else 7, None, None,
                        "passed" if c.check_id != fail else c.description)
            for c in load_registry() if c.check_id != skip]


def with_status(unique_id, status, failures=None, message=None):
    return {"results": [r if r["unique_id"] != unique_id else
                        {**r, "status": status, "failures": failures, "message": message} for r in ALL_PASS["results"]]}


def build_file(tmp_path, gate1=None, gate2=None, run_results=ALL_PASS, extra=()):
    path = tmp_path / "build.duckdb"
    with duckdb.connect(str(path)) as con:
        create_meta(con)
        record_checks(con, "run1", "gate1", gate1 if gate1 is not None else [gate1_pass(f) for f in load_contract()])
        record_checks(con, "run1", "gate2", gate2 if gate2 is not None else gate2_results())
        if run_results is not None:
            record_checks(con, "run1", "dbt", dbt_results.check_results(MANIFEST, run_results))
        record_checks(con, "run1", "gate1", list(extra))
    return path


def refusal(path) -> str:
    with duckdb.connect(str(path), read_only=True) as con, pytest.raises(PublishRefused) as refused:
        verify_gates(con, "run1")
    return str(refused.value)


def test_every_blocking_check_ran_and_passed_so_the_gates_open(tmp_path):
    with duckdb.connect(str(build_file(tmp_path)), read_only=True) as con:
        verify_gates(con, "run1")


def test_refuses_when_a_gate1_check_failed(tmp_path):
    failed = CheckResult("gp_events", "nhs_number_invalid", "nhs_number", "unexpected_rows_expectation", "block",
                         0.01, False, 50, 0.5, 100, "50% of rows break it")
    path = build_file(tmp_path, extra=[failed])
    warehouse = tmp_path / "warehouse.duckdb"
    with pytest.raises(PublishRefused, match="gate 1 feed gp_events rule nhs_number_invalid"):
        publish(path, warehouse, "run1", "2026-11-25", "2026-11-25")
    assert not warehouse.exists()


def test_a_failed_warning_does_not_block_but_a_missing_feed_does(tmp_path):
    warning = CheckResult("gp_events", "unlinkable", "nhs_number", "x", "warn", 0.0, False, 1, 0.1, 10, "warn only")
    feeds = [f for f in load_contract() if f != "asc_services"]
    path = build_file(tmp_path, gate1=[gate1_pass(f) for f in feeds] + [warning])
    assert "no gate-1 results in this run for feed(s) asc_services" in refusal(path)


def test_refuses_on_a_failed_dbt_error_test(tmp_path):
    path = build_file(tmp_path, run_results=with_status("test.phm.unique_person_person_id.1", "fail", 3,
                                                        "Got 3 results, configured to fail if != 0"))
    message = refusal(path)
    assert "dbt test table marts.person rule unique_person_person_id column person_id (3 rows failing): fail: Got 3" \
        in message


def test_a_failed_dbt_warn_test_does_not_block(tmp_path):
    path = build_file(tmp_path, run_results=with_status("test.phm.accepted_range_person_age.2", "warn", 2))
    with duckdb.connect(str(path), read_only=True) as con:
        verify_gates(con, "run1")


@pytest.mark.parametrize("run_results, expected", [
    (with_status("unit_test.phm.person.age_on_leap_day", "skipped"), "rule age_on_leap_day: skipped"),
    ({"results": ALL_PASS["results"][1:]}, "rule unique_person_person_id column person_id: did not run"),
    (None, "did not run in this run, first: dbt test table marts.person test age_on_leap_day"),  # nothing recorded
])
def test_refuses_when_a_dbt_error_test_was_skipped_or_did_not_run(tmp_path, run_results, expected):
    assert expected in refusal(build_file(tmp_path, run_results=run_results))


def test_refuses_on_a_failed_gate2_check(tmp_path):
    message = refusal(build_file(tmp_path, gate2=gate2_results(fail="person_risk_tier_shares")))
    assert "gate 2 table marts.person_risk rule person_risk_tier_shares column risk_tier (7 rows failing): Each tier" \
        in message


def test_refuses_on_a_missing_gate2_result(tmp_path):
    message = refusal(build_file(tmp_path, gate2=gate2_results(skip="target_lists_own_neighbourhood")))
    assert "did not run in this run, first: gate 2 table marts.target_lists check target_lists_own_neighbourhood" \
        in message


def test_dbt_results_map_every_declared_test():
    results = {r.rule_id: r for r in dbt_results.check_results(MANIFEST, with_status(
        "test.phm.unique_person_person_id.1", "error", None, "Catalog Error: Table marts.person does not exist"))}
    assert set(results) == {"unique_person_person_id", "accepted_range_person_age", "age_on_leap_day"}
    broken = results["unique_person_person_id"]
    assert (broken.feed, broken.severity, broken.passed, broken.expectation_type) == ("marts.person", "block", False, "unique")
    assert broken.message.startswith("error: Catalog Error")
    assert results["accepted_range_person_age"].severity == "warn"
    assert results["age_on_leap_day"].expectation_type == "unit_test" and results["age_on_leap_day"].passed
    assert [t.name for t in dbt_results.blocking_tests(MANIFEST)] == ["age_on_leap_day", "unique_person_person_id"]


def test_the_project_manifest_declares_blocking_tests_on_the_marts():
    import orchestration.dbt  # noqa: F401  (prepares the manifest when it is stale)

    blocking = dbt_results.blocking_tests(dbt_results.load_manifest(orchestration.dbt.dbt_project.manifest_path))
    assert any(t.table == "marts.person" and t.name == "unique_person_person_id" for t in blocking)
    assert any(t.kind == "unit_test" for t in blocking)

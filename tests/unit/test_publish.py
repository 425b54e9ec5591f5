"""Publish refuses on its own when any blocking check of this run failed or did not run, whichever gate it
belongs to (defence in depth: it does not rely on Dagster skipping it), and it never touches the warehouse
when it refuses. Gate 1: every feed; gate 2: every check of seeds/mart_checks.csv; dbt: every error-severity
test of the manifest, a skipped test counting as not run."""

from __future__ import annotations

import duckdb
import pytest

from assets import dbt_results
from assets.publish import PublishRefused, publish, verify_gates
from assets.run_meta import create_meta, record_checks
from contracts.extracts import load_contract
from expectations.mart_checks import load_registry
from expectations.results import CheckResult


@pytest.fixture(scope="module")
def manifest():
    from orchestration.dbt_project import prepare_if_stale

    prepare_if_stale()

    return dbt_results.load_manifest()


@pytest.fixture(scope="module")
def tests(manifest):
    declared = dbt_results.declared_tests(manifest)
    return {
        "unique": next(t for t in declared if t.name == "unique_person_person_id"),
        "warn": next(t for t in declared if t.severity == "warn"),
        "unit": next(t for t in declared if t.kind == "unit_test"),
        "all": declared,
    }


def run_results(tests, changed=None, status="pass", failures=0, message=None, dropped=None):
    """run_results.json of a build where every test passed but `changed` (given status) and `dropped` (absent)."""
    return {
        "results": [
            {
                "unique_id": t.unique_id,
                "status": status if t == changed else "pass",
                "failures": failures if t == changed else 0,
                "message": message if t == changed else None,
            }
            for t in tests["all"]
            if t != dropped
        ]
    }


def gate1_pass(feed):
    return CheckResult(
        feed, "not_null", "nhs_number", "expect_column_values_to_not_be_null", "block", 0.01, True, 0, 0.0, 10, "passed"
    )


def gate2_results(skip: str | None = None, fail: str | None = None):
    return [
        CheckResult(
            c.table,
            c.check_id,
            ",".join(c.columns),
            c.check_type,
            c.severity,
            c.threshold,
            c.check_id != fail,
            0 if c.check_id != fail else 7,
            None,
            None,
            "passed" if c.check_id != fail else c.description,
        )
        for c in load_registry()
        if c.check_id != skip
    ]


@pytest.fixture
def build_file(tmp_path, manifest, tests):
    def _build(gate1=None, gate2=None, dbt="all pass", extra=()):
        path = tmp_path / "build.duckdb"
        with duckdb.connect(str(path)) as con:
            create_meta(con)
            record_checks(
                con, "run1", "gate1", gate1 if gate1 is not None else [gate1_pass(f) for f in load_contract()]
            )
            record_checks(con, "run1", "gate2", gate2 if gate2 is not None else gate2_results())
            if dbt is not None:  # None: the dbt step recorded nothing
                record_checks(
                    con,
                    "run1",
                    "dbt",
                    dbt_results.check_results(manifest, run_results(tests) if dbt == "all pass" else dbt),
                )
            record_checks(con, "run1", "gate1", list(extra))
        return path

    return _build


def refusal(path) -> str:
    with duckdb.connect(str(path), read_only=True) as con, pytest.raises(PublishRefused) as refused:
        verify_gates(con, "run1")
    return str(refused.value)


def test_every_blocking_check_ran_and_passed_so_the_gates_open(build_file):
    with duckdb.connect(str(build_file()), read_only=True) as con:
        verify_gates(con, "run1")


def test_refuses_when_a_gate1_check_failed(build_file, tmp_path):
    failed = CheckResult(
        "gp_events",
        "nhs_number_invalid",
        "nhs_number",
        "unexpected_rows_expectation",
        "block",
        0.01,
        False,
        50,
        0.5,
        100,
        "50% of rows break it",
    )
    path = build_file(extra=[failed])
    warehouse = tmp_path / "warehouse.duckdb"
    with pytest.raises(PublishRefused, match="gate 1 feed gp_events rule nhs_number_invalid"):
        publish(path, warehouse, "run1", "2026-11-25", "2026-11-25")
    assert not warehouse.exists()


def test_a_failed_warning_does_not_block_but_a_missing_feed_does(build_file):
    warning = CheckResult("gp_events", "unlinkable", "nhs_number", "x", "warn", 0.0, False, 1, 0.1, 10, "warn only")
    feeds = [f for f in load_contract() if f != "asc_services"]
    path = build_file(gate1=[gate1_pass(f) for f in feeds] + [warning])
    assert "no gate-1 results in this run for feed(s) asc_services" in refusal(path)


def test_refuses_on_a_failed_dbt_error_test(build_file, tests):
    path = build_file(dbt=run_results(tests, tests["unique"], "fail", 3, "Got 3 results, configured to fail if != 0"))
    assert (
        "dbt test table marts.person rule unique_person_person_id column person_id (3 rows failing): fail: Got 3"
        in refusal(path)
    )


def test_a_failed_dbt_warn_test_does_not_block(build_file, tests):
    path = build_file(dbt=run_results(tests, tests["warn"], "warn", 2))
    with duckdb.connect(str(path), read_only=True) as con:
        verify_gates(con, "run1")


@pytest.mark.parametrize("case", ["skipped", "absent from run_results", "nothing recorded"])
def test_refuses_when_a_dbt_error_test_was_skipped_or_did_not_run(build_file, tests, case):
    unit = tests["unit"]
    dbt = {
        "skipped": run_results(tests, unit, "skipped"),
        "absent from run_results": run_results(tests, dropped=unit),
        "nothing recorded": None,
    }[case]
    expected = {
        "skipped": f"rule {unit.name}: skipped",
        "absent from run_results": f"rule {unit.name}: did not run",
        "nothing recorded": "did not run in this run, first: dbt test table",
    }[case]
    assert expected in refusal(build_file(dbt=dbt))


def test_refuses_on_a_failed_gate2_check(build_file):
    message = refusal(build_file(gate2=gate2_results(fail="person_risk_tier_shares")))
    assert (
        "gate 2 table marts.person_risk rule person_risk_tier_shares column risk_tier (7 rows failing): Each tier"
        in message
    )


def test_refuses_on_a_missing_gate2_result(build_file):
    message = refusal(build_file(gate2=gate2_results(skip="target_lists_own_neighbourhood")))
    assert (
        "did not run in this run, first: gate 2 table marts.target_lists check target_lists_own_neighbourhood"
        in message
    )


def test_dbt_results_map_every_test_the_nightly_build_selects(manifest, tests):
    results = {
        r.rule_id: r
        for r in dbt_results.check_results(
            manifest,
            run_results(tests, tests["unique"], "error", None, "Catalog Error: Table marts.person does not exist"),
        )
    }
    assert len(results) == len(tests["all"])
    broken = results["unique_person_person_id"]
    assert (broken.feed, broken.severity, broken.passed, broken.expectation_type) == (
        "marts.person",
        "block",
        False,
        "unique",
    )
    assert broken.message.startswith("error: Catalog Error")
    assert results[tests["warn"].name].severity == "warn"
    assert results[tests["unit"].name].expectation_type == "unit_test" and results[tests["unit"].name].passed
    blocking = dbt_results.blocking_tests(manifest)
    assert tests["unique"] in blocking and tests["unit"] in blocking and tests["warn"] not in blocking
    assert any(t.table == "raw.person_key" for t in blocking)  # source tests, named by their source table


def published_warehouse(tmp_path, extract_date):
    """A warehouse whose last refresh holds `extract_date`."""
    path = tmp_path / "warehouse" / "phm.duckdb"
    path.parent.mkdir(exist_ok=True)
    con = duckdb.connect(str(path))
    create_meta(con)
    con.execute("INSERT INTO meta.refresh_log (run_id, extract_date) VALUES ('old', ?)", [extract_date])
    con.close()
    return path


def test_an_older_drop_is_refused_and_nothing_changes(build_file, tmp_path):
    warehouse = published_warehouse(tmp_path, "2026-10-31")
    before = warehouse.read_bytes()
    path = build_file()
    with pytest.raises(PublishRefused, match="older than the published refresh"):
        publish(path, warehouse, "run1", "2026-09-30", "2026-09-30")
    assert warehouse.read_bytes() == before


def test_leftovers_of_a_killed_publish_are_removed(tmp_path):
    from assets.publish import remove_leftovers

    warehouse = published_warehouse(tmp_path, "2026-10-31")
    leftovers = [warehouse.parent / ".phm.duckdb.deadrun.tmp", warehouse.parent / ".phm.duckdb.deadrun.tmp.wal"]
    for path in leftovers:
        path.write_text("NHS numbers")
    unrelated = warehouse.parent / "notes.txt"
    unrelated.write_text("keep")
    assert sorted(remove_leftovers(warehouse)) == sorted(leftovers)
    assert not any(p.exists() for p in leftovers) and unrelated.exists() and warehouse.exists()


def test_a_corrupt_published_warehouse_is_set_aside_and_never_an_unrelated_file(tmp_path):
    from assets.publish import PublishRefused, set_aside_if_corrupt

    warehouse = tmp_path / "phm.duckdb"
    assert set_aside_if_corrupt(warehouse) is None  # nothing published yet
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA meta; CREATE TABLE meta.refresh_log (extract_date DATE)")
    assert set_aside_if_corrupt(warehouse) is None  # a healthy warehouse stays where it is
    good = warehouse.read_bytes()
    warehouse.write_bytes(good[: len(good) // 3])  # a half-copied file
    aside = set_aside_if_corrupt(warehouse)
    assert aside is not None and not warehouse.exists() and aside.read_bytes() == good[: len(good) // 3]
    assert aside.name.startswith("phm.duckdb.corrupt-")
    # a DuckDB file that is not a PHM warehouse is someone else's: refused, never moved
    other = tmp_path / "analysis.duckdb"
    with duckdb.connect(str(other)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    with pytest.raises(PublishRefused, match="not a published PHM warehouse"):
        set_aside_if_corrupt(other)
    assert other.exists()

"""Publish refuses on its own when a blocking check failed or a feed was never gated (defence in depth:
it does not rely on Dagster skipping it), and it never touches the warehouse when it refuses."""
from __future__ import annotations

import duckdb
import pytest

from assets.contract import load_contract
from assets.publish import PublishRefused, publish
from assets.run_meta import create_meta, record_checks
from expectations.suites import CheckResult


def build_file(tmp_path, checks):
    path = tmp_path / "build.duckdb"
    con = duckdb.connect(str(path))
    create_meta(con)
    record_checks(con, "run1", "gate1", checks)
    con.close()
    return path


def passed(feed):
    return CheckResult(feed, "not_null", "nhs_number", "expect_column_values_to_not_be_null", "block", 0.01, True,
                       0, 0.0, 10, "passed")


def test_refuses_when_a_blocking_check_failed(tmp_path):
    failed = CheckResult("gp_events", "nhs_number_invalid", "nhs_number", "unexpected_rows_expectation", "block",
                         0.01, False, 50, 0.5, 100, "50% of rows break it")
    path = build_file(tmp_path, [passed(f) for f in load_contract()] + [failed])
    warehouse = tmp_path / "warehouse.duckdb"
    with pytest.raises(PublishRefused, match="gp_events rule nhs_number_invalid"):
        publish(path, warehouse, "run1", "2026-11-25", "2026-11-25")
    assert not warehouse.exists()


def test_a_failed_warning_does_not_block_but_a_missing_feed_does(tmp_path):
    warning = CheckResult("gp_events", "unlinkable", "nhs_number", "x", "warn", 0.0, False, 1, 0.1, 10, "warn only")
    feeds = [f for f in load_contract() if f != "asc_services"]
    path = build_file(tmp_path, [passed(f) for f in feeds] + [warning])
    with pytest.raises(PublishRefused, match="asc_services"):
        publish(path, tmp_path / "warehouse.duckdb", "run1", "2026-11-25", "2026-11-25")


def published_warehouse(tmp_path, extract_date):
    """A warehouse whose last refresh holds `extract_date`."""
    path = tmp_path / "warehouse" / "phm.duckdb"
    path.parent.mkdir(exist_ok=True)
    con = duckdb.connect(str(path))
    create_meta(con)
    con.execute("INSERT INTO meta.refresh_log (run_id, extract_date) VALUES ('old', ?)", [extract_date])
    con.close()
    return path


def test_an_older_drop_is_refused_and_nothing_changes(tmp_path):
    warehouse = published_warehouse(tmp_path, "2026-10-31")
    before = warehouse.read_bytes()
    path = build_file(tmp_path, [passed(f) for f in load_contract()])
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

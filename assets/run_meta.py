"""What a refresh records about itself in the build file's `meta` schema; publish carries it into the warehouse.

Tables (one row per run and item; publish keeps the history of earlier published refreshes):
  meta.run_context        the drop a run resolved at its start (build file only: every stage reads the same drop)
  meta.run_settings       settings a stage used that the refresh log records (e.g. which pseudonym key; build only)
  meta.feed_counts        rows received / quarantined / accepted / unlinkable per feed
  meta.quarantine_summary rows breaking each rule per feed and column
  meta.check_results      every gate check: rule, severity, threshold, observed, passed, message
  meta.stage_timings      seconds per stage
  meta.risk_validation    how well the risk score a year ago ranked the following year's emergency admissions
  meta.refresh_log        one row per published refresh (written by publish)
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

if TYPE_CHECKING:
    from assets.gate import QuarantineOutcome
    from expectations.results import CheckResult

DDL = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.run_context (
    run_id VARCHAR, extract_date DATE, reference_date DATE, drop_path VARCHAR, manifest JSON);
CREATE TABLE IF NOT EXISTS meta.run_settings (
    run_id VARCHAR, setting VARCHAR, value VARCHAR);
CREATE TABLE IF NOT EXISTS meta.feed_counts (
    run_id VARCHAR, extract_date DATE, feed VARCHAR, file_name VARCHAR, rows_received BIGINT,
    rows_quarantined BIGINT, rows_accepted BIGINT, rows_unlinkable BIGINT);
CREATE TABLE IF NOT EXISTS meta.quarantine_summary (
    run_id VARCHAR, feed VARCHAR, rule_id VARCHAR, column_name VARCHAR, quarantined BOOLEAN, rows BIGINT);
CREATE TABLE IF NOT EXISTS meta.check_results (
    run_id VARCHAR, stage VARCHAR, feed VARCHAR, rule_id VARCHAR, column_name VARCHAR, check_type VARCHAR,
    severity VARCHAR, threshold DOUBLE, passed BOOLEAN, observed_count BIGINT, observed_rate DOUBLE,
    element_count BIGINT, message VARCHAR, checked_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS meta.stage_timings (
    run_id VARCHAR, stage VARCHAR, started_at TIMESTAMP, seconds DOUBLE);
CREATE TABLE IF NOT EXISTS meta.refresh_log (
    run_id VARCHAR, extract_date DATE, reference_date DATE, started_at TIMESTAMP, published_at TIMESTAMP,
    rows_received BIGINT, rows_quarantined BIGINT, rows_accepted BIGINT, checks_run BIGINT, checks_failed BIGINT,
    feed_counts JSON, check_summary JSON, stage_timings JSON, reference_versions JSON, source_generator JSON,
    storage_version VARCHAR, contract_version VARCHAR, pseudonym_key VARCHAR);
CREATE TABLE IF NOT EXISTS meta.risk_validation (
    run_id VARCHAR, reference_date DATE, prior_reference_date DATE, population_size BIGINT, people_admitted BIGINT,
    emergency_admissions BIGINT, emergency_bed_days BIGINT, top_percent DOUBLE,
    auc_risk_score DOUBLE, top5_admissions_share_risk_score DOUBLE, top5_bed_days_share_risk_score DOUBLE,
    auc_age DOUBLE, top5_admissions_share_age DOUBLE, top5_bed_days_share_age DOUBLE,
    auc_admitted_last_year DOUBLE, top5_admissions_share_admitted_last_year DOUBLE,
    top5_bed_days_share_admitted_last_year DOUBLE);
"""
HISTORY_TABLES = (
    "refresh_log",
    "feed_counts",
    "quarantine_summary",
    "check_results",
    "stage_timings",
    "risk_validation",
)


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def create_meta(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DDL)


# DuckDB's own default is 80% of the machine's memory, which a 1M-person refresh filled (6.8 GB for dbt alone);
# with this cap it spills to a temporary file beside the build file instead: the whole refresh peaked at 3.2 GB,
# and its dbt build took 172 s against 152 s uncapped (1M, 2 cores).
DEFAULT_MEMORY_LIMIT = "2GB"


def duckdb_memory_limit() -> str:
    """Each DuckDB of a refresh (this process's and dbt's) may use this much: PHM_DUCKDB_MEMORY_LIMIT (a DuckDB size
    such as 3GB or 50%), read when a run opens its files, else DEFAULT_MEMORY_LIMIT."""
    return os.environ.get("PHM_DUCKDB_MEMORY_LIMIT", "").strip() or DEFAULT_MEMORY_LIMIT


@contextmanager
def connect(path: Path | str, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(str(path), read_only=read_only, config={"memory_limit": duckdb_memory_limit()})
    try:
        yield con
    finally:
        con.close()


def run_setting(con: duckdb.DuckDBPyConnection, run_id: str, setting: str) -> str | None:
    """A setting this run recorded in meta.run_settings, or None."""
    rows = con.execute(
        "SELECT max(value) FROM meta.run_settings WHERE run_id = ? AND setting = ?", [run_id, setting]
    ).fetchall()
    return rows[0][0] if rows else None


def record_setting(con: duckdb.DuckDBPyConnection, run_id: str, setting: str, value: str) -> None:
    """Record (or, when a stage is re-executed, replace) one setting of this run in meta.run_settings."""
    con.execute("DELETE FROM meta.run_settings WHERE run_id = ? AND setting = ?", [run_id, setting])
    con.execute("INSERT INTO meta.run_settings VALUES (?, ?, ?)", [run_id, setting, value])


def record_stage(build_path: Path, run_id: str, stage: str, started: float) -> None:
    with connect(build_path) as con:
        con.execute(
            "INSERT INTO meta.stage_timings VALUES (?, ?, ?, ?)",
            [
                run_id,
                stage,
                datetime.fromtimestamp(started, UTC).replace(tzinfo=None),
                round(time.time() - started, 3),
            ],
        )


def record_checks(con: duckdb.DuckDBPyConnection, run_id: str, stage: str, results: Sequence[CheckResult]) -> None:
    """One row per check, inserted as one Arrow table: the dbt stage alone records some 400 tests, which took
    4 s through executemany on this machine and 0.04 s this way."""
    if not results:
        return
    checked_at = now()
    rows = pa.Table.from_pylist(
        [
            {
                "run_id": run_id,
                "stage": stage,
                "feed": r.feed,
                "rule_id": r.rule_id,
                "column_name": r.column,
                "check_type": r.expectation_type,
                "severity": r.severity,
                "threshold": r.threshold,
                "passed": r.passed,
                "observed_count": r.observed_count,
                "observed_rate": r.observed_rate,
                "element_count": r.element_count,
                "message": r.message,
                "checked_at": checked_at,
            }
            for r in results
        ]
    )
    con.register("new_check_results", rows)
    try:
        # A stage re-executed in the same refresh (re-execution from failure) replaces what it said before.
        con.execute(
            "DELETE FROM meta.check_results WHERE run_id = ? AND stage = ? "
            "AND feed IN (SELECT DISTINCT feed FROM new_check_results)",
            [run_id, stage],
        )
        con.execute("INSERT INTO meta.check_results BY NAME SELECT * FROM new_check_results")
    finally:
        con.unregister("new_check_results")


def record_quarantine(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    extract_date: str,
    file_name: str,
    outcome: QuarantineOutcome,
    quarantining: dict[tuple[str, str | None], bool],
) -> None:
    con.execute("DELETE FROM meta.feed_counts WHERE run_id = ? AND feed = ?", [run_id, outcome.feed])
    con.execute("DELETE FROM meta.quarantine_summary WHERE run_id = ? AND feed = ?", [run_id, outcome.feed])
    con.execute(
        "INSERT INTO meta.feed_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            extract_date,
            outcome.feed,
            file_name,
            outcome.rows_received,
            outcome.rows_quarantined,
            outcome.rows_accepted,
            outcome.rows_unlinkable,
        ],
    )
    rows = [
        [run_id, outcome.feed, rule_id, column, quarantining[(rule_id, column)], n]
        for (rule_id, column), n in outcome.by_rule.items()
        if n
    ]
    if rows:
        con.executemany("INSERT INTO meta.quarantine_summary VALUES (?, ?, ?, ?, ?, ?)", rows)


def json_rows(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] | None = None) -> str:
    cur = con.execute(sql, params or [])
    names = [d[0] for d in cur.description]
    return json.dumps([dict(zip(names, row, strict=False)) for row in cur.fetchall()], default=str)

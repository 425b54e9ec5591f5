"""Publish: turn a build file that passed every blocking check into the readers' warehouse, atomically.

The published file is assembled beside the warehouse from the build file's publishable schemas (marts,
reference, and meta with the history of earlier refreshes), flushed to disk, then renamed over
warehouse/phm.duckdb in one step. Readers holding the old file keep reading it; a refresh that fails anywhere
before the rename leaves the published file byte-identical. The NHS number never leaves the build file except
in restricted.person_identity, which is published in a file of its own beside the warehouse (identity.duckdb,
owner-only permissions), attached only to export an identifiable list; the raw, landing, quarantine and gate_flags
schemas are never published.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from assets import dbt_results
from assets.failpoints import failpoint
from assets.mart_contract import contract_version
from assets.paths import identity_path
from assets.run_meta import HISTORY_TABLES, connect, json_rows, now
from assets.sql_text import sql_string
from contracts.extracts import load_contract
from expectations import mart_checks
from expectations.rules import SEEDS

PUBLISHED_SCHEMAS = ("marts", "reference")
IDENTITY_SCHEMA = "restricted"
# Pseudonymised patient-level data: owner and group (the analysts) read it; the identity file: its owner only.
WAREHOUSE_MODE = 0o640
IDENTITY_MODE = 0o600


# The on-disk format of the published file: v1.1.0 is read by DuckDB 1.1 and every later release (the 1.4 LTS
# line, R, DBeaver's driver), not only by the DuckDB that wrote it. PHM_STORAGE_VERSION overrides it.
DEFAULT_STORAGE_VERSION = "v1.1.0"


class PublishRefused(RuntimeError):
    pass


@contextmanager
def refresh_lock(warehouse_path: Path) -> Iterator[None]:
    """One refresh at a time per warehouse. flock is released by the kernel if the process dies: no stale lock."""
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = warehouse_path.parent / f".{warehouse_path.name}.lock"
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise RuntimeError(f"another refresh of {warehouse_path} is running (lock {lock_path})") from e
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def previous_feed_rows(warehouse_path: Path) -> dict[str, int]:
    """Rows received per feed in the last published refresh (empty if nothing is published yet)."""
    if not warehouse_path.exists():
        return {}
    with connect(warehouse_path, read_only=True) as con:
        rows = con.execute("""
            SELECT feed, rows_received FROM meta.feed_counts
            WHERE run_id = (SELECT run_id FROM meta.refresh_log ORDER BY published_at DESC LIMIT 1)""").fetchall()
    return dict(rows)


def published_extract_date(warehouse_path: Path) -> date | None:
    """The extract date of the last published refresh (None when nothing is published yet)."""
    if not warehouse_path.exists():
        return None
    with connect(warehouse_path, read_only=True) as con:
        rows = con.execute("SELECT max(extract_date) FROM meta.refresh_log").fetchall()
    return rows[0][0] if rows else None


def set_aside_if_corrupt(warehouse_path: Path) -> Path | None:
    """A published warehouse that no longer opens (a damaged disk, a half-copied file) would block every refresh
    after it: it is moved aside as <name>.corrupt-<UTC time> (kept for diagnosis, with its WAL) and this refresh
    publishes a fresh one. Returns where it went. A file locked by another program is not corrupt, and a DuckDB
    file that is not a PHM warehouse is never replaced: both are refused."""
    if not warehouse_path.exists():
        return None
    try:
        with connect(warehouse_path, read_only=True) as con:
            con.execute("SELECT count(*) FROM meta.refresh_log").fetchall()
        return None
    except duckdb.CatalogException as e:
        raise PublishRefused(
            f"{warehouse_path} opens but is not a published PHM warehouse (no meta.refresh_log): refusing to "
            "replace it; point the refresh at another warehouse path"
        ) from e
    except (duckdb.IOException, duckdb.SerializationException, duckdb.InternalException) as e:
        if "lock" in str(e).lower():
            raise PublishRefused(f"{warehouse_path} is locked by another program: {e}") from e
        aside = warehouse_path.with_name(f"{warehouse_path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
        os.replace(warehouse_path, aside)
        wal = warehouse_path.with_name(warehouse_path.name + ".wal")
        if wal.exists():
            os.replace(wal, aside.with_name(aside.name + ".wal"))
        return aside


def refuse_older_drop(warehouse_path: Path, extract_date: date) -> None:
    """A drop older than the published one would silently roll every figure back: refuse it."""
    published = published_extract_date(warehouse_path)
    if published is not None and extract_date < published:
        raise PublishRefused(
            f"the drop of {extract_date} is older than the published refresh ({published}): "
            f"refusing to roll {warehouse_path} back (publish into another warehouse to look at it)"
        )


def remove_leftovers(warehouse_path: Path) -> list[Path]:
    """Half-assembled files of killed publishes (they hold NHS numbers): removed under the refresh lock."""
    leftovers = [
        p
        for name in (warehouse_path.name, identity_path(warehouse_path).name)
        for p in warehouse_path.parent.glob(f".{name}.*.tmp*")
        if p.is_file()
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def reference_versions() -> dict[str, str]:
    """sha256 of each reference file the refresh read: codelists, thresholds, maps."""
    files = [
        "reference_manifest.csv",
        "quality_thresholds.csv",
        "mart_checks.csv",
        "plausible_ranges.csv",
        "code_values.csv",
        "practice_map.csv",
        "codelists/codelist_concepts.csv",
    ]
    return {f: hashlib.sha256((SEEDS / f).read_bytes()).hexdigest()[:16] for f in files}


STAGE_NAMES = {"gate1": "gate 1", "gate2": "gate 2", "dbt": "dbt test"}


def verify_gates(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Defence in depth: publish itself refuses unless every blocking check of every gate ran in this run and
    passed: gate 1 on every feed of the contract, every gate-2 check of the registry (seeds/mart_checks.csv),
    and every error-severity dbt test the nightly build selects (a skipped or missing test counts as not run)."""
    failed = con.execute(
        """SELECT stage, feed, rule_id, column_name, observed_count, message FROM meta.check_results
                            WHERE run_id = ? AND NOT passed AND severity = 'block'
                            ORDER BY CASE stage WHEN 'gate1' THEN 1 WHEN 'dbt' THEN 2 ELSE 3 END, feed, rule_id""",
        [run_id],
    ).fetchall()
    if failed:
        stage, table, rule, column, rows_failing, message = failed[0]
        where = "feed" if stage == "gate1" else "table"
        raise PublishRefused(
            f"{len(failed)} blocking check(s) failed, first: {STAGE_NAMES.get(stage, stage)} "
            f"{where} {table} rule {rule}"
            + (f" column {column}" if column else "")
            + (f" ({rows_failing:,} rows failing)" if rows_failing else "")
            + f": {message}"
        )
    # Nothing blocking failed, so every row left is a pass or a warning: what ran.
    ran: dict[str, set[tuple[str, str]]] = {stage: set() for stage in STAGE_NAMES}
    for stage, table, rule in con.execute(
        "SELECT DISTINCT stage, feed, rule_id FROM meta.check_results WHERE run_id = ?", [run_id]
    ).fetchall():
        ran.setdefault(stage, set()).add((table, rule))
    missing = sorted(set(load_contract()) - {table for table, _ in ran["gate1"]})
    if missing:
        raise PublishRefused(f"no gate-1 results in this run for feed(s) {', '.join(missing)}")
    not_run = [
        f"gate 2 table {c.table} check {c.check_id}"
        for c in mart_checks.load_registry()
        if (c.table, c.check_id) not in ran["gate2"]
    ]
    try:
        manifest = dbt_results.load_manifest()
    except (OSError, ValueError) as e:
        raise PublishRefused(f"cannot tell which dbt tests must have run: {e}") from e
    not_run += [
        f"dbt test table {t.table} test {t.name}"
        for t in dbt_results.blocking_tests(manifest)
        if (t.table, t.name) not in ran["dbt"]
    ]
    if not_run:
        raise PublishRefused(f"{len(not_run)} blocking check(s) did not run in this run, first: {not_run[0]}")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(
    build_path: Path,
    warehouse_path: Path,
    run_id: str,
    extract_date: str,
    reference_date: str,
    source_generator: dict | None = None,
    started: float | None = None,
    storage_version: str = DEFAULT_STORAGE_VERSION,
) -> dict:
    """Assemble and atomically publish; returns the refresh_log row. `started`: when the publish stage began;
    `storage_version`: the DuckDB storage format of the published file (older clients read older formats)."""
    started = started or time.time()
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    staging_path = warehouse_path.parent / f".{warehouse_path.name}.{run_id}.tmp"
    remove_leftovers(warehouse_path)
    refuse_older_drop(warehouse_path, date.fromisoformat(extract_date))
    with connect(build_path, read_only=True) as build:
        verify_gates(build, run_id)
    identity = identity_path(warehouse_path)
    identity_staging = warehouse_path.parent / f".{identity.name}.{run_id}.tmp"
    try:
        # The identity first: a reader that finds the new warehouse finds its people in the identity file (a
        # pseudonym maps to the same NHS number in every refresh under one key).
        _publish_identity(build_path, identity_staging, run_id, storage_version)
        _fsync(identity_staging)
        os.replace(identity_staging, identity)
        with connect(":memory:") as pub:
            pub.execute(
                f"ATTACH {sql_string(staging_path)} AS published (STORAGE_VERSION {sql_string(storage_version)})"
            )
            os.chmod(staging_path, WAREHOUSE_MODE)
            pub.execute("USE published")
            pub.execute(f"ATTACH {sql_string(build_path)} AS build (READ_ONLY)")
            tables = pub.execute(f"""SELECT table_schema, table_name FROM information_schema.tables
                                     WHERE table_catalog = 'build' AND table_schema IN {PUBLISHED_SCHEMAS}
                                     ORDER BY 1, 2""").fetchall()
            for schema, table in tables:
                pub.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
                pub.execute(f'CREATE TABLE "{schema}"."{table}" AS SELECT * FROM build."{schema}"."{table}"')
            pub.execute("CREATE SCHEMA meta")
            for table in HISTORY_TABLES:
                pub.execute(f"CREATE TABLE meta.{table} AS SELECT * FROM build.meta.{table} WHERE false")
            if warehouse_path.exists():
                pub.execute(f"ATTACH {sql_string(warehouse_path)} AS previous (READ_ONLY)")
                # A history table added since the last publish has no history yet.
                present = {
                    r[0]
                    for r in pub.execute(
                        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'previous' AND schema_name = 'meta'"
                    ).fetchall()
                }
                for table in HISTORY_TABLES:
                    if table in present:
                        pub.execute(f"INSERT INTO meta.{table} BY NAME SELECT * FROM previous.meta.{table}")
                pub.execute("DETACH previous")
            for table in HISTORY_TABLES:
                if table != "refresh_log":
                    pub.execute(f"INSERT INTO meta.{table} SELECT * FROM build.meta.{table} WHERE run_id = ?", [run_id])
            pub.execute(
                "INSERT INTO meta.stage_timings VALUES (?, 'publish', ?, ?)",
                [
                    run_id,
                    datetime.fromtimestamp(started, UTC).replace(tzinfo=None),
                    round(time.time() - started, 3),
                ],
            )
            log = _refresh_log_row(pub, run_id, extract_date, reference_date, source_generator)
            log.update(storage_version=storage_version, contract_version=contract_version())
            pub.execute(
                "INSERT INTO meta.refresh_log BY NAME SELECT * FROM (SELECT "
                + ", ".join(f"? AS {k}" for k in log)
                + ")",
                list(log.values()),
            )
            pub.execute("DETACH build")
            pub.execute("CHECKPOINT published")
            pub.execute("USE memory")
            pub.execute("DETACH published")
        _fsync(staging_path)
        failpoint("publish")
        os.replace(staging_path, warehouse_path)
        _fsync(warehouse_path.parent)
    finally:
        staging_path.unlink(missing_ok=True)
        identity_staging.unlink(missing_ok=True)
    return log


def _publish_identity(build_path: Path, staging: Path, run_id: str, storage_version: str) -> None:
    """restricted.person_identity (and the run it came from) into its own owner-only file. The umask covers the
    file DuckDB creates and its write-ahead log, which holds rows before the checkpoint."""
    previous_umask = os.umask(0o077)
    try:
        _copy_identity(build_path, staging, run_id, storage_version)
    finally:
        os.umask(previous_umask)


def _copy_identity(build_path: Path, staging: Path, run_id: str, storage_version: str) -> None:
    with connect(":memory:") as pub:
        pub.execute(f"ATTACH {sql_string(staging)} AS identity (STORAGE_VERSION {sql_string(storage_version)})")
        os.chmod(staging, IDENTITY_MODE)  # before any row is written
        pub.execute(f"ATTACH {sql_string(build_path)} AS build (READ_ONLY)")
        tables = pub.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'build' AND table_schema = ?",
            [IDENTITY_SCHEMA],
        ).fetchall()
        pub.execute(f"CREATE SCHEMA identity.{IDENTITY_SCHEMA}")
        for (table,) in tables:
            pub.execute(
                f'CREATE TABLE identity.{IDENTITY_SCHEMA}."{table}" AS SELECT * FROM build.{IDENTITY_SCHEMA}."{table}"'
            )
        pub.execute(f"CREATE TABLE identity.{IDENTITY_SCHEMA}.identity_refresh AS SELECT ? AS run_id", [run_id])
        pub.execute("DETACH build")
        pub.execute("CHECKPOINT identity")
        pub.execute("DETACH identity")


def _refresh_log_row(
    pub: duckdb.DuckDBPyConnection, run_id: str, extract_date: str, reference_date: str, source_generator: dict | None
) -> dict:
    totals = pub.execute(
        """SELECT sum(rows_received), sum(rows_quarantined), sum(rows_accepted)
                            FROM build.meta.feed_counts WHERE run_id = ?""",
        [run_id],
    ).fetchall()[0]
    checks = pub.execute(
        """SELECT count(*), count(*) FILTER (WHERE NOT passed)
                            FROM build.meta.check_results WHERE run_id = ?""",
        [run_id],
    ).fetchall()[0]
    started = pub.execute("SELECT min(started_at) FROM build.meta.stage_timings WHERE run_id = ?", [run_id]).fetchall()[
        0
    ][0]
    return {
        "run_id": run_id,
        "extract_date": extract_date,
        "reference_date": reference_date,
        "started_at": started,
        "published_at": now(),
        "rows_received": totals[0],
        "rows_quarantined": totals[1],
        "rows_accepted": totals[2],
        "checks_run": checks[0],
        "checks_failed": checks[1],
        "feed_counts": json_rows(
            pub,
            """SELECT feed, rows_received, rows_quarantined, rows_accepted, rows_unlinkable
                                         FROM build.meta.feed_counts WHERE run_id = ? ORDER BY feed""",
            [run_id],
        ),
        "check_summary": json_rows(
            pub,
            """SELECT stage, severity, count(*) AS checks,
                                                  count(*) FILTER (WHERE NOT passed) AS failed
                                           FROM build.meta.check_results WHERE run_id = ? GROUP BY ALL ORDER BY ALL""",
            [run_id],
        ),
        "stage_timings": json_rows(
            pub,
            """SELECT stage, seconds FROM meta.stage_timings
                                           WHERE run_id = ? ORDER BY started_at""",
            [run_id],
        ),
        "reference_versions": json.dumps(reference_versions()),
        "source_generator": json.dumps(source_generator) if source_generator else None,
        "pseudonym_key": (
            pub.execute(
                "SELECT max(value) FROM build.meta.run_settings WHERE run_id = ? AND setting = 'pseudonym_key'",
                [run_id],
            ).fetchall()
            or [(None,)]
        )[0][0],
    }

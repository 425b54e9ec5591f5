"""The refresh's Python assets and gate-1 checks. Wiring only: the work is in assets/ and expectations/."""

import json
import shutil
import time
from pathlib import Path

import dagster as dg

from assets import incremental, spark_ingest
from assets.exports import export_tables
from assets.failpoints import failpoint
from assets.gate import quarantine_feed, quarantine_outcome, write_gate_reference
from assets.ingest import Drop, FeedError, check_against_manifest, load_feed
from assets.previous_publication import copy_previous_target_lists
from assets.pseudonym import build_person_key, pseudonym_key
from assets.publish import previous_feed_rows, publish, refresh_lock, refuse_older_drop, set_aside_if_corrupt
from assets.run_lock import acquire_run_lock, release_run_lock
from assets.run_meta import (
    connect,
    create_meta,
    record_checks,
    record_quarantine,
    record_setting,
    record_stage,
    run_setting,
)
from contracts.extracts import load_contract
from expectations.data_docs import save_validations
from expectations.rules import row_rules
from expectations.suites import CheckResult, validate_feed
from orchestration.resources import RefreshSettings

BUILD_KEY = dg.AssetKey(["build", "database"])


def join_refresh(run: dg.DagsterRun, settings: RefreshSettings) -> str:
    """Every stage starts here: it takes the run lock (held until publish or the end of this process; a no-op when
    this process holds it), so no other refresh can start or delete this build file, and returns the refresh's id.
    That is the first run's id: a re-execution from failure (or of one step) in the Dagster UI finds the same build
    file, drop and meta rows, and finishes the same refresh."""
    acquire_run_lock(settings.warehouse)
    return run.root_run_id or run.run_id


def run_drop(settings: RefreshSettings, run_id: str) -> Drop:
    """The drop this run resolved when it started (a drop landing mid-run does not change it)."""
    with connect(settings.build_path(run_id), read_only=True) as con:
        extract_date, path = con.execute(
            "SELECT extract_date, drop_path FROM meta.run_context WHERE run_id = ?", [run_id]
        ).fetchall()[0]
    return Drop.open(Path(path).parent, extract_date)


def run_engine(settings: RefreshSettings, run_id: str) -> str:
    """The engine this run's dbt builds on, chosen when the run started (a re-execution keeps it)."""
    with connect(settings.build_path(run_id), read_only=True) as con:
        return run_setting(con, run_id, "engine") or "duckdb"


def run_spark_home(settings: RefreshSettings, run_id: str) -> Path | None:
    """The run's Spark home when it builds on Spark (assets/spark_raw.py), else None."""
    return settings.spark_home(run_id) if run_engine(settings, run_id) == "spark" else None


def run_reference_date(settings: RefreshSettings, run_id: str) -> str:
    """The date every clinical rule is evaluated at in this run (the extract date unless rebuilding the past)."""
    with connect(settings.build_path(run_id), read_only=True) as con:
        return (
            con.execute("SELECT reference_date FROM meta.run_context WHERE run_id = ?", [run_id])
            .fetchall()[0][0]
            .isoformat()
        )


@dg.asset(
    key=BUILD_KEY,
    group_name="ingest",
    description="A fresh build DuckDB file for this run (raw, quarantine and meta schemas, and the previously "
    "published target list membership; never read by users).",
)
def build_database(context: dg.AssetExecutionContext, settings: RefreshSettings) -> dg.MaterializeResult:
    started = time.time()
    run_id = join_refresh(context.run, settings)
    drop = settings.drop()
    reference_date = settings.reference_date_for(drop)
    engine = settings.engine_or_default
    corrupt = set_aside_if_corrupt(settings.warehouse)
    if corrupt is not None:
        context.log.warning(f"the published warehouse did not open: moved aside to {corrupt}; publishing a new one")
    refuse_older_drop(settings.warehouse, drop.extract_date)  # before any work: publish would refuse it anyway
    build_dir = settings.build_dir()
    path = settings.build_path(run_id)
    # An incremental refresh starts from the last published refresh's build file (assets/incremental.py).
    earlier = {p.parent.name: p for p in build_dir.glob(f"*/{path.name}")} if build_dir.exists() else {}
    earlier.pop(run_id, None)  # this run's own file, from an earlier attempt at this step: start afresh
    digest = incremental.pipeline_digest()
    base, full_reason = incremental.find_base(
        settings.warehouse, earlier, reference_date.isoformat(), engine, digest, settings.incremental_or_default
    )
    if build_dir.exists():  # earlier runs' build files (kept until now for diagnosis; none is running: the lock)
        if base is not None:
            incremental.adopt(base, path)
        for child in build_dir.iterdir():
            if child == path.parent:
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        if base is None and path.parent.exists():
            shutil.rmtree(path.parent)
    build_dir.mkdir(parents=True, mode=0o700, exist_ok=True)  # build files hold raw NHS numbers: their owner only
    path.parent.mkdir(mode=0o700, exist_ok=True)
    with connect(path) as con:
        create_meta(con)
        feeds = drop.manifest.get("feeds") or {}
        kept_feeds = incremental.plan(con, run_id, base, drop.extract_date.isoformat(), feeds) if base else []
        write_gate_reference(con)
        # Target lists compare themselves with the last published refresh (new / left since then).
        previous_members = copy_previous_target_lists(con, settings.warehouse)
        con.execute(
            "INSERT INTO meta.run_context VALUES (?, ?, ?, ?, ?)",
            [run_id, drop.extract_date, reference_date, str(drop.path), json.dumps(drop.manifest)],
        )
        record_setting(con, run_id, "engine", engine)
        record_setting(con, run_id, "pipeline_digest", digest)
        if base is None:
            record_setting(con, run_id, "full_refresh_reason", full_reason)
    record_stage(path, run_id, "build_database", started)
    return dg.MaterializeResult(
        metadata={
            "build_file": str(path),
            "extract_date": drop.extract_date.isoformat(),
            "engine": engine,
            "incremental_from": base.run_id if base else f"full refresh: {full_reason}",
            "kept_feeds": ", ".join(kept_feeds),
            "previous_target_list_rows": previous_members,
            **({"corrupt_warehouse_moved_to": str(corrupt)} if corrupt else {}),
        }
    )


def raw_feed_assets(feed_name: str) -> tuple[dg.AssetsDefinition, dg.AssetChecksDefinition]:
    feed = load_contract()[feed_name]
    key = dg.AssetKey(["raw", feed_name])

    @dg.asset(
        key=key,
        deps=[BUILD_KEY],
        group_name="ingest",
        description=f"{feed.setting}: rows accepted by gate 1 (quarantined rows in quarantine.{feed_name}).",
    )
    def ingest(context: dg.AssetExecutionContext, settings: RefreshSettings) -> dg.MaterializeResult:
        started = time.time()
        run_id = join_refresh(context.run, settings)
        build_path = settings.build_path(run_id)
        drop = run_drop(settings, run_id)
        extract_date = drop.extract_date.isoformat()
        spark_home = run_spark_home(settings, run_id)
        kept = False
        spark_metadata: dict[str, float] = {}
        try:
            if spark_home is not None:  # read, quarantined and judged by Spark (assets/spark_ingest.py)
                previous = previous_feed_rows(settings.warehouse)
                saved = spark_ingest.ingest_on_spark(build_path, drop, feed_name, spark_home, previous)
                failpoint("ingest")
                outcome = spark_ingest.read_outcome(saved)
                # the feed's own time in the Spark session (the first feed's step runs the session for every feed)
                spark_metadata["spark_seconds"] = saved["seconds"]
            else:
                with connect(build_path) as con:
                    kept = feed_name in incremental.kept_feeds(con, run_id)
                    if kept:  # the same file as the refresh this one started from: its rows and flags are here
                        check_against_manifest(drop, feed_name, drop.feed_file(feed_name))
                    else:
                        load_feed(con, drop, feed)
                    failpoint("ingest")
                    outcome = (quarantine_outcome if kept else quarantine_feed)(con, feed, extract_date)
        except FeedError as e:
            failed = CheckResult(
                feed_name, e.rule_id, e.column, "ingest", "block", 0.0, False, None, None, None, str(e)
            )
            with connect(build_path) as con:
                record_checks(con, run_id, "gate1", [failed])
            raise dg.Failure(
                description=str(e), metadata={"feed": feed_name, "rule": e.rule_id, "column": e.column or ""}
            ) from e
        quarantining = {(r.rule_id, r.column): r.quarantines for r in row_rules(feed, extract_date)}
        with connect(build_path) as con:
            record_quarantine(con, run_id, extract_date, drop.feed_file(feed_name).name, outcome, quarantining)
        record_stage(build_path, run_id, f"ingest:{feed_name}", started)
        return dg.MaterializeResult(
            metadata={
                "rows_received": outcome.rows_received,
                "rows_quarantined": outcome.rows_quarantined,
                "rows_accepted": outcome.rows_accepted,
                "rows_unlinkable": outcome.rows_unlinkable,
                "kept_from_last_refresh": kept,
                **spark_metadata,
            }
        )

    @dg.asset_check(
        asset=key,
        name="gate1",
        blocking=True,
        description=f"Great Expectations suite gate1_{feed_name}: contract rules with their thresholds "
        "(seeds/quality_thresholds.csv) and row count against the last published refresh. On the Spark engine the "
        "suite runs on GX's Spark datasource in the feed's ingest step; this check records and judges its results.",
    )
    def gate1(context: dg.AssetCheckExecutionContext, settings: RefreshSettings) -> dg.AssetCheckResult:
        started = time.time()
        run_id = join_refresh(context.run, settings)
        build_path = settings.build_path(run_id)
        drop = run_drop(settings, run_id)
        failpoint("gate1")
        spark_home = run_spark_home(settings, run_id)
        if spark_home is not None:  # the suite ran on Spark in the feed's ingest step, beside its data
            saved = spark_ingest.read_saved(spark_home, feed_name)
            results, validations = spark_ingest.read_results(saved), saved["validations"]
        else:
            previous = previous_feed_rows(settings.warehouse).get(feed_name)
            validations = []
            results = validate_feed(str(build_path), feed_name, drop.extract_date.isoformat(), previous, validations)
        with connect(build_path) as con:
            record_checks(con, run_id, "gate1", results)
        save_validations(settings.warehouse.parent, run_id, "gate1", validations)  # GX's own results, for the data docs
        record_stage(build_path, run_id, f"gate1:{feed_name}", started)
        blocking = [r for r in results if r.blocks]
        description = (
            "; ".join(f"rule {r.rule_id} column {r.column}: {r.message}" for r in blocking)
            or f"{len(results)} expectations passed"
        )
        return dg.AssetCheckResult(
            passed=not blocking,
            severity=dg.AssetCheckSeverity.ERROR,
            description=description,
            metadata={
                "expectations": len(results),
                "failed": len(blocking),
                "failed_rules": ", ".join(sorted({f"{r.rule_id}:{r.column}" for r in blocking})),
            },
        )

    return ingest, gate1


RAW_FEEDS = {name: raw_feed_assets(name) for name in load_contract()}
RAW_KEYS = [dg.AssetKey(["raw", name]) for name in RAW_FEEDS]


@dg.asset(
    key=["raw", "person_key"],
    deps=RAW_KEYS,
    group_name="ingest",
    description="Keyed pseudonym (HMAC-SHA256) of every valid NHS number in the accepted feeds. On the Spark "
    "engine the accepted rows go to Parquet tables of the run's Spark metastore first and the key is computed there.",
)
def person_key(context: dg.AssetExecutionContext, settings: RefreshSettings) -> dg.MaterializeResult:
    started = time.time()
    run_id = join_refresh(context.run, settings)
    build_path = settings.build_path(run_id)
    key = pseudonym_key()
    spark_home = run_spark_home(settings, run_id)
    if spark_home is not None:
        from assets.spark_raw import stage_raw_in_child

        people = stage_raw_in_child(build_path, spark_home)
    else:
        with connect(build_path) as con:
            base = incremental.base_run(con, run_id)
            known = incremental.remember_person_key(con, base, key.description) if base is not None else None
            people = build_person_key(con, key.key, known)
            if base is not None:
                incremental.record_person_key_change(con, run_id)
    with connect(build_path) as con:
        record_setting(con, run_id, "pseudonym_key", key.description)
    record_stage(build_path, run_id, "person_key", started)
    return dg.MaterializeResult(metadata={"people": people})


def published_warehouse_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    @dg.asset(
        key=["warehouse", "published"],
        deps=upstream,
        group_name="publish",
        description="Atomic swap of the checked build into the readers' warehouse (DuckDB storage format "
        "readable by DuckDB 1.1+), with a meta.refresh_log row, then the Parquet exports for BI "
        "tools (warehouse/exports, switched in one rename).",
    )
    def published_warehouse(context: dg.AssetExecutionContext, settings: RefreshSettings) -> dg.MaterializeResult:
        started = time.time()
        run_id = join_refresh(context.run, settings)
        build_path = settings.build_path(run_id)
        drop = run_drop(settings, run_id)
        with refresh_lock(settings.warehouse):
            log = publish(
                build_path,
                settings.warehouse,
                run_id,
                drop.extract_date.isoformat(),
                run_reference_date(settings, run_id),
                drop.manifest.get("generator"),
                started,
                storage_version=settings.storage,
            )
            exports = export_tables(settings.warehouse, run_id, settings.exports_patient_level)
        release_run_lock(settings.warehouse)
        return dg.MaterializeResult(
            metadata={
                "warehouse": str(settings.warehouse),
                "exports": str(exports),
                "rows_accepted": log["rows_accepted"],
                "rows_quarantined": log["rows_quarantined"],
            }
        )

    return published_warehouse

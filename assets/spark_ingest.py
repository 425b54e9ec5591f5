"""Ingest and gate 1 on Spark (issue 19): a feed read, quarantined and judged by Spark, so no single machine reads a
national feed.

The same steps as the DuckDB engine (assets/ingest.py, assets/gate.py, expectations/suites.py), from the same rule
registry: the manifest's sha256 and row count are checked, the file's columns and types are held to the contract,
the rows land typed with their position in the file (`_row_number`), one pass flags every row-level rule (the
registry's DuckDB SQL turned into Spark SQL by sqlglot; repeats by a window over the key), and Great Expectations
judges the feed with the same suite, on its Spark datasource. Each table is Parquet in the run's Spark home
(`landing/`, `gate_flags/`, `quarantine/`, `raw/<feed>`), registered in this session's own in-memory catalogue under
the DuckDB build's names, so the SQL strings are the same; the raw stage (assets/spark_raw.py) registers `raw/<feed>`
in the metastore dbt reads.

`phm refresh --engine spark` runs it in one child process for every feed (ingest_on_spark: started by the first
feed's ingest step, as a Spark session takes seconds to start whatever the data), which dies with the refresh:

    python -m assets.spark_ingest BUILD_DB DROP_DIR --feed NAME [--feed NAME ...] --home DIR [--previous-rows JSON]

writes <home>/gate1/<feed>.json for each feed: the quarantine counts, the suite's results and GX's validation result
(for the data docs), or the feed-level error that stopped it.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from assets.child_process import die_with_parent, run_module_child
from assets.gate import (
    QuarantineOutcome,
    accepted_rows_sql,
    flagged_rows_sql,
    is_repeat_rule,
    outcome_from_counts,
    outcome_sql,
    quarantined_rows_sql,
    repeat_key,
    rule_flag,
)
from assets.ingest import (
    Drop,
    FeedError,
    check_against_manifest,
    check_column_types,
    check_columns,
    csv_checks_sql,
    csv_typed_columns,
    read_csv_header,
    refuse_badly_written_values,
)
from assets.paths import PROJECT_ROOT, resolve
from assets.spark_raw import register_tables, spark_conf
from assets.sql_text import sql_string
from contracts.extracts import Feed, load_contract
from expectations.results import CheckResult
from expectations.rules import GATE_FLAGS, GATE_REF, row_rules
from expectations.suites import validate_feed_on_spark

# Contract type (DuckDB's name) -> Spark type. DuckDB's TIMESTAMP has no zone, as Spark's timestamp_ntz.
SPARK_TYPES = {
    "VARCHAR": "string",
    "DATE": "date",
    "TIMESTAMP": "timestamp_ntz",
    "INTEGER": "int",
    "DOUBLE": "double",
    "BOOLEAN": "boolean",
}
# Parquet types as Spark reads them, accepted for each contract type (as assets/ingest.py's ACCEPTED_PARQUET_TYPES).
ACCEPTED_SPARK_TYPES = {
    "VARCHAR": {"string"},
    "DATE": {"date"},
    "TIMESTAMP": {"timestamp", "timestamp_ntz"},
    "INTEGER": {"tinyint", "smallint", "int", "bigint"},
    "DOUBLE": {"float", "double", "decimal", "tinyint", "smallint", "int", "bigint"},
    "BOOLEAN": {"boolean"},
}


def to_spark_sql(duckdb_sql: str) -> str:
    """The registry's DuckDB SQL as Spark SQL. sqlglot translates casts, literals and string escapes; the two
    functions it leaves as they are become Spark's: regexp_full_match (an anchored RLIKE; the registry's patterns
    are plain character classes, read alike by RE2 and Java) and isfinite."""

    def rewrite(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.RegexpFullMatch):
            pattern = node.expression
            if not isinstance(pattern, exp.Literal):
                raise ValueError(f"regexp_full_match with a pattern that is not a literal: {node.sql('duckdb')}")
            return exp.RegexpLike(this=node.this, expression=exp.Literal.string(f"^(?:{pattern.this})$"))
        if isinstance(node, exp.Anonymous) and str(node.this).lower() == "isfinite":
            (value,) = node.expressions
            infinity = "CAST('Infinity' AS DOUBLE)"
            return sqlglot.parse_one(
                f"NOT (isnan({value.sql('spark')}) OR abs({value.sql('spark')}) = {infinity})", read="spark"
            )
        return node

    tree = sqlglot.parse_one(duckdb_sql, read="duckdb").transform(rewrite)
    return tree.sql(dialect="spark")


def ingest_conf(home: Path) -> dict[str, str]:
    """The dbt profile's `spark` settings (master, memory, time zone ...), with the catalogue in memory and its folder
    apart: the metastore under `home` belongs to the refresh's later Spark stages."""
    return {**spark_conf(home), "spark.sql.warehouse.dir": str(home / "ingest_catalogue")}


def ingest_session(home: Path) -> Any:
    """A Spark session configured by ingest_conf (a local one unless PHM_SPARK_MASTER names a cluster)."""
    from pyspark.sql import SparkSession  # only here: the DuckDB path never needs PySpark

    home.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName("phm-ingest")
    for key, value in ingest_conf(home).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def write_table(spark: Any, sql: str, home: Path, schema: str, name: str) -> None:
    """The result of one Spark SQL query as Parquet under <home>/<schema>/<name>, registered as <schema>.<name>."""
    location = home / schema / name
    spark.sql(sql).write.mode("overwrite").parquet(str(location))
    register_tables(spark, schema, {name: location})


def register_gate_reference(spark: Any, build_db: Path, home: Path) -> None:
    """The small tables rules join to (written into the build file by the refresh's first stage), as Spark tables."""
    with duckdb.connect(str(build_db), read_only=True) as con:
        for table in ("practice_map", "plausible_value_codes"):
            location = home / GATE_REF / table
            location.mkdir(parents=True, exist_ok=True)
            target = sql_string(location / "data.parquet")
            con.execute(f"COPY (SELECT * FROM {GATE_REF}.{table}) TO {target} (FORMAT parquet)")
            register_tables(spark, GATE_REF, {table: location})


def land_parquet(spark: Any, feed: Feed, path: Path) -> Any:
    """The feed's rows, typed as the contract says, with their position in the file (Spark's row index of the
    Parquet file: one file per feed)."""
    try:
        frame = spark.read.parquet(str(path))
        schema = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    except Exception as e:
        raise FeedError(feed.name, "unreadable", f"{path.name} is not a readable Parquet file: {_first_line(e)}") from e
    check_columns(feed, list(schema))
    check_column_types(feed, schema, ACCEPTED_SPARK_TYPES)
    typed = [f"CAST({c.name} AS {SPARK_TYPES[c.sql_type]}) AS {c.name}" for c in feed.columns]
    return frame.selectExpr(*typed, "CAST(_metadata.row_index + 1 AS BIGINT) AS _row_number")


def land_csv(spark: Any, feed: Feed, path: Path) -> Any:
    """A CSV feed: the header checked first (so a wrong delimiter reads as missing columns), every value read as text,
    each typed column held to how its type must be written (assets/ingest.py's CSV_TEXT_RULES, in Spark SQL), then
    cast. The position in the file is the line's index (zipWithIndex keeps the file's order)."""
    header = read_csv_header(feed, path)
    from pyspark.sql.types import LongType, StringType, StructField, StructType

    text_schema = StructType([StructField(h, StringType()) for h in header])
    try:
        frame = spark.read.csv(
            str(path),
            header=True,
            schema=text_schema,
            sep=",",
            quote='"',
            escape='"',
            encoding="UTF-8",
            mode="FAILFAST",
        )
        numbered = frame.rdd.zipWithIndex().map(lambda pair: (*pair[0], pair[1] + 1))
        text = spark.createDataFrame(
            numbered, StructType([*text_schema.fields, StructField("_row_number", LongType())])
        )
        text.createOrReplaceTempView("_csv")
        typed = csv_typed_columns(feed)
        found = spark.sql(to_spark_sql(f"SELECT {csv_checks_sql(typed)} FROM _csv")).collect()[0] if typed else []
    except Exception as e:
        raise FeedError(feed.name, "unreadable", f"{path.name} could not be parsed as CSV: {_first_line(e)}") from e
    refuse_badly_written_values(feed, typed, found)
    select = [f"CAST({c.name} AS {SPARK_TYPES[c.sql_type]}) AS {c.name}" for c in feed.columns]
    return text.selectExpr(*select, "_row_number")


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def load_feed_on_spark(spark: Any, drop: Drop, feed: Feed, home: Path) -> int:
    """landing.<feed> on Spark; returns the number of rows received (held to the manifest's)."""
    path = drop.feed_file(feed.name)
    entry = check_against_manifest(drop, feed.name, path)
    landed = land_parquet(spark, feed, path) if path.suffix == ".parquet" else land_csv(spark, feed, path)
    location = home / "landing" / feed.name
    try:
        landed.write.mode("overwrite").parquet(str(location))
    except Exception as e:
        raise FeedError(feed.name, "unreadable", f"{path.name} could not be read completely: {_first_line(e)}") from e
    register_tables(spark, "landing", {feed.name: location})
    rows = spark.table(f"landing.{feed.name}").count()
    if entry.get("rows") is None:
        raise FeedError(
            feed.name, "manifest_mismatch", f"{drop.path / 'manifest.json'} gives no row count for the feed (required)"
        )
    if int(entry["rows"]) != rows:
        raise FeedError(feed.name, "manifest_mismatch", f"{rows} rows read but the manifest says {entry['rows']}")
    return int(rows)


def quarantine_feed_on_spark(spark: Any, feed: Feed, extract_date: str, home: Path) -> QuarantineOutcome:
    """The quarantine pass of assets/gate.py on Spark: the same flags, quarantined rows and accepted rows."""
    rules = row_rules(feed, extract_date)
    flags = []
    for rule in rules:
        if is_repeat_rule(rule):
            key = ", ".join(repeat_key(feed))
            flags.append(f"row_number() OVER (PARTITION BY {key} ORDER BY _row_number) > 1")
        else:
            flags.append(to_spark_sql(rule_flag(rule)))
    write_table(spark, flagged_rows_sql(feed, flags), home, GATE_FLAGS, feed.name)
    write_table(spark, to_spark_sql(quarantined_rows_sql(feed, rules)), home, "quarantine", feed.name)
    write_table(spark, accepted_rows_sql(feed), home, "raw", feed.name)
    counts = spark.sql(to_spark_sql(outcome_sql(feed, rules))).collect()[0]
    return outcome_from_counts(feed, rules, [int(v) for v in counts])


def ingest_feeds(build_db: Path, drop: Drop, feeds: list[str], home: Path, previous_rows: dict[str, int]) -> None:
    """Ingest, quarantine and gate 1 of each feed on one Spark session, each feed's result saved (result_path) as
    soon as it is judged, with the seconds it took."""
    contract = load_contract()
    extract_date = drop.extract_date.isoformat()
    spark = ingest_session(home)
    try:
        register_gate_reference(spark, build_db, home)
        for name in feeds:
            started = time.time()
            feed = contract[name]
            try:
                load_feed_on_spark(spark, drop, feed, home)
            except FeedError as e:
                save_result(home, name, {"feed_error": {"rule_id": e.rule_id, "column": e.column, "detail": e.detail}})
                continue
            outcome = quarantine_feed_on_spark(spark, feed, extract_date, home)
            validations: list[dict] = []
            results = validate_feed_on_spark(spark, name, extract_date, previous_rows.get(name), validations)
            save_result(
                home,
                name,
                {
                    "outcome": {**asdict(outcome), "by_rule": [[k[0], k[1], n] for k, n in outcome.by_rule.items()]},
                    "results": [asdict(r) for r in results],
                    "validations": validations,
                    "seconds": round(time.time() - started, 3),
                },
            )
    finally:
        spark.stop()


def save_result(home: Path, feed: str, content: dict) -> None:
    path = result_path(home, feed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(content, default=str))
    partial.replace(path)  # whole or absent: a killed child leaves no half-written result


def result_path(home: Path, feed: str) -> Path:
    return home / "gate1" / f"{feed}.json"


def read_saved(home: Path, feed: str) -> dict:
    path = result_path(home, feed)
    if not path.is_file():
        raise RuntimeError(f"{path} is missing: the feed's Spark ingest did not finish")
    return json.loads(path.read_text())


def read_outcome(saved: dict) -> QuarantineOutcome:
    given = dict(saved["outcome"])
    given["by_rule"] = {(rule_id, column): n for rule_id, column, n in given["by_rule"]}
    return QuarantineOutcome(**given)


def read_results(saved: dict) -> list[CheckResult]:
    return [CheckResult(**r) for r in saved["results"]]


def ingest_on_spark(build_db: Path, drop: Drop, feed: str, home: Path, previous_rows: dict[str, int]) -> dict:
    """A feed's Spark ingest and gate 1; returns what was saved for it (result_path). The first feed to ask starts one
    child process (which dies with this one) for every feed of the contract not yet done in this run: a Spark session
    costs seconds to start whatever the data, so the refresh pays it once, not once per feed. A feed-level error
    comes back as FeedError, as from the DuckDB ingest."""
    if not result_path(home, feed).is_file():
        pending = [name for name in load_contract() if not result_path(home, name).is_file()]
        arguments = [str(build_db), str(drop.path), *[a for name in pending for a in ("--feed", name)]]
        arguments += ["--home", str(home), "--previous-rows", json.dumps(previous_rows)]
        run_module_child("assets.spark_ingest", arguments, PROJECT_ROOT, f"the Spark ingest ({', '.join(pending)})")
    saved = read_saved(home, feed)
    if "feed_error" in saved:
        e = saved["feed_error"]
        raise FeedError(feed, e["rule_id"], e["detail"], e["column"])
    return saved


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_db", type=Path, help="the refresh's build file (its gate_ref tables are read)")
    parser.add_argument("drop", type=Path, help="the landing drop's folder, <landing>/<YYYY-MM-DD>")
    parser.add_argument("--feed", action="append", required=True, help="a feed of the contract (repeatable)")
    parser.add_argument("--home", type=Path, required=True, help="the run's Spark home")
    parser.add_argument("--previous-rows", default="{}", help="JSON: feed -> rows in the last published refresh")
    parser.add_argument("--parent-pid", default="", help="the refresh's process id: exit when it dies")
    args = parser.parse_args(argv)
    die_with_parent(args.parent_pid, "the Spark ingest")
    drop_dir = resolve(args.drop)
    drop = Drop.open(drop_dir.parent, date.fromisoformat(drop_dir.name))
    home = resolve(args.home)
    ingest_feeds(resolve(args.build_db), drop, args.feed, home, json.loads(args.previous_rows))


if __name__ == "__main__":
    main()

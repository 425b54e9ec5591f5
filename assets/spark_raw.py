"""The raw layer on Spark (issue 19): the accepted rows of every feed as tables of the `raw` database in Spark's
metastore, and the person key computed there.

`phm refresh --engine spark` ingests and gates each feed on Spark (assets/spark_ingest.py), which writes its
accepted rows as Parquet under the run's Spark home (`raw/<feed>`). This stage (stage_raw_on_spark, in a child
process: stage_raw_in_child) registers each as an external table `raw.<feed>` in the metastore dbt's `spark`
target uses, so `dbt build --target spark` reads the same `source('raw', ...)` as the DuckDB build, and computes
`raw.person_key` in Spark SQL, so no NHS number passes through Python. The session is configured as the dbt
profile's `spark` target (same warehouse dir and Derby metastore home, see `spark_conf`) and stopped afterwards: the
embedded Derby metastore takes one JVM at a time, and dbt starts its own. The DuckDB path imports nothing of PySpark.

By hand, a DuckDB refresh's raw schema (person key included) can be copied to Parquet (DuckDB COPY) and registered
the same way, to build its marts on Spark:

    python -m assets.spark_raw /path/to/.build/<run_id>/build.duckdb [--home DIR] [--parquet-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import yaml

from assets.child_process import die_with_parent, run_module_child
from assets.paths import DBT_PROJECT_DIR, PROJECT_ROOT, resolve
from assets.previous_publication import PREVIOUS_SCHEMA
from assets.pseudonym import hmac_sha256_pads, pseudonym_key
from assets.sql_text import sql_string
from contracts.extracts import load_contract

RAW_SCHEMA = "raw"
PERSON_KEY_TABLE = "person_key"
SPARK_HOME_VARIABLE = "PHM_SPARK_HOME"


def spark_home() -> Path:
    """Spark's working files (Derby metastore, warehouse dir): PHM_SPARK_HOME, default the ignored .cache/spark.
    The dbt profile's `spark` target reads the same variable (relative to the working directory, so run dbt from
    the repo top or set it to an absolute path)."""
    return resolve(os.environ.get(SPARK_HOME_VARIABLE, PROJECT_ROOT / ".cache" / "spark"))


def spark_conf(home: Path) -> dict[str, str]:
    """The settings of the dbt profile's `spark` target (dbt_project/profiles.yml, the one place they are written),
    its PHM_SPARK_HOME rendered as `home`, plus what dbt-spark itself sets on its session (ANSI mode off)."""
    profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    given = profiles["phm"]["outputs"]["spark"]["server_side_parameters"]

    def env_var(name: str, default: str | None = None) -> str:
        return str(home) if name == SPARK_HOME_VARIABLE else os.environ.get(name, default or "")

    conf = {key: jinja2.Template(str(value)).render(env_var=env_var) for key, value in given.items()}
    return {**conf, "spark.sql.ansi.enabled": "false"}


def schema_tables(con: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """Every table and view of one schema of the build file."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", [schema]
    ).fetchall()
    return [name for (name,) in rows]


def export_schema(build_db: Path, schema: str, parquet_dir: Path) -> dict[str, Path]:
    """Copy each table of one schema of the build file to <parquet_dir>/<name>.parquet; return name -> file."""
    parquet_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    with duckdb.connect(str(build_db), read_only=True) as con:
        for name in schema_tables(con, schema):
            target = parquet_dir / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM {schema}.{name}) TO {sql_string(target)} (FORMAT parquet)")
            files[name] = target
    return files


def export_raw(build_db: Path, parquet_dir: Path) -> dict[str, Path]:
    """A DuckDB refresh's raw schema (the feeds that passed the gate and raw.person_key) as Parquet, for building its
    marts on Spark by hand; return name -> file."""
    files = export_schema(build_db, RAW_SCHEMA, parquet_dir)
    if PERSON_KEY_TABLE not in files:
        raise ValueError(f"{build_db} has no raw.person_key: not a build file of a refresh that passed ingest")
    return files


def register_tables(spark: Any, schema: str, files: dict[str, Path]) -> None:
    """Register each Parquet file as the external table <schema>.<name> (dropping only the table, never the file)."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {schema}")
    for name, path in sorted(files.items()):
        spark.sql(f"DROP TABLE IF EXISTS {schema}.{name}")
        spark.sql(f"CREATE TABLE {schema}.{name} USING parquet LOCATION {sql_string(path.resolve())}")


def register_raw(spark: Any, files: dict[str, Path]) -> None:
    register_tables(spark, RAW_SCHEMA, files)


def build_person_key_on_spark(spark: Any, key: bytes) -> int:
    """raw.person_key in Spark: every NHS number of the accepted feeds with its HMAC-SHA256 under `key`, the same
    person_id as assets.pseudonym.person_id, computed by Spark's sha2 over the padded keys (RFC 2104); the numbers
    never leave Spark. Returns the number of people."""
    from pyspark.sql import functions as F

    feeds = [f.name for f in load_contract().values() if "nhs_number" in f.column_names]
    numbers = None
    for feed in feeds:
        column = spark.table(f"{RAW_SCHEMA}.{feed}").select("nhs_number").where(F.col("nhs_number").isNotNull())
        numbers = column if numbers is None else numbers.union(column)
    if numbers is None:
        raise ValueError("the extracts contract has no feed with an nhs_number column")
    inner_pad, outer_pad = hmac_sha256_pads(key)
    inner = F.sha2(F.concat(F.lit(bytearray(inner_pad)), F.encode("nhs_number", "UTF-8")), 256)
    person_id = F.sha2(F.concat(F.lit(bytearray(outer_pad)), F.unhex(inner)), 256)
    spark.sql(f"DROP TABLE IF EXISTS {RAW_SCHEMA}.{PERSON_KEY_TABLE}")
    keyed = numbers.distinct().select("nhs_number", person_id.alias("person_id"))
    keyed.write.format("parquet").saveAsTable(f"{RAW_SCHEMA}.{PERSON_KEY_TABLE}")
    return int(spark.table(f"{RAW_SCHEMA}.{PERSON_KEY_TABLE}").count())


def stage_raw_on_spark(home: Path, build_db: Path, key: bytes) -> int:
    """What dbt reads on Spark, under `home`: the accepted rows each feed's Spark ingest wrote (<home>/raw/<feed>,
    assets/spark_ingest.py) as tables raw.<feed> of the metastore, raw.person_key computed in Spark, and the last
    publication's list members (schema previous, assets/previous_publication.py, from the build file). Returns the
    number of people keyed."""
    files = {name: home / RAW_SCHEMA / name for name in load_contract()}
    missing = [name for name, folder in files.items() if not any(folder.glob("*.parquet"))]
    if missing:
        raise FileNotFoundError(
            f"no accepted rows under {home / RAW_SCHEMA} for {', '.join(missing)}: not ingested on Spark"
        )
    previous = export_schema(build_db, PREVIOUS_SCHEMA, home / PREVIOUS_SCHEMA)
    spark = metastore_session(home)
    try:
        register_raw(spark, files)
        register_tables(spark, PREVIOUS_SCHEMA, previous)
        return build_person_key_on_spark(spark, key)
    finally:
        spark.stop()


def metastore_session(home: Path) -> Any:
    """A Spark session with Hive metastore support, configured as the dbt profile's `spark` target (local unless
    PHM_SPARK_MASTER names a cluster)."""
    from pyspark.sql import SparkSession  # only here: the DuckDB path never needs PySpark

    home.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.appName("phm-raw").enableHiveSupport()
    for key, value in spark_conf(home).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # Hive's "not Hive-compatible" warnings for Parquet data-source tables are expected here.
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def stage_raw_in_child(build_db: Path, home: Path) -> int:
    """stage_raw_on_spark in a child process (the pseudonym key read from the same environment), which dies with
    this one: Spark's embedded Derby metastore stays booted in a JVM until that JVM exits, and dbt's Spark session
    opens it next. Returns the number of people keyed."""
    arguments = [str(build_db), "--home", str(home), "--person-key-on-spark"]
    out = run_module_child("assets.spark_raw", arguments, PROJECT_ROOT, "the Spark raw stage")
    return int(json.loads(out.strip().splitlines()[-1])["people"])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_db", type=Path, help="a refresh's .build/<run_id>/build.duckdb")
    parser.add_argument("--home", type=Path, help="Spark's working folder (default PHM_SPARK_HOME, else .cache/spark)")
    parser.add_argument("--parquet-dir", type=Path, help="where the raw Parquet files go (default <home>/raw)")
    parser.add_argument(
        "--person-key-on-spark",
        action="store_true",
        help="a Spark refresh's raw stage: register the accepted rows its Spark ingest wrote under --home, compute "
        "raw.person_key in Spark (PHM_PSEUDONYM_KEY), and register the last publication's list members",
    )
    parser.add_argument("--parent-pid", default="", help="the refresh's process id: exit when it dies")
    args = parser.parse_args(argv)
    die_with_parent(args.parent_pid, "the Spark raw stage")
    home = resolve(args.home) if args.home else spark_home()
    build_db = resolve(args.build_db)
    if args.person_key_on_spark:
        people = stage_raw_on_spark(home, build_db, pseudonym_key().key)
        print(json.dumps({"people": people}))
        return
    files = export_raw(build_db, resolve(args.parquet_dir) if args.parquet_dir else home / RAW_SCHEMA)
    spark = metastore_session(home)
    try:
        register_raw(spark, files)
        for name in sorted(files):
            count = spark.table(f"{RAW_SCHEMA}.{name}").count()
            print(f"{RAW_SCHEMA}.{name}: {count} rows")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()

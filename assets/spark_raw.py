"""The raw layer on Spark (issue 19): a DuckDB build file's accepted rows as Spark tables in the `raw` database.

The DuckDB refresh ingests and gates each feed into `raw.<feed>` (the rows that passed gate 1) and writes
`raw.person_key`. This stage copies exactly those rows to Parquet (DuckDB COPY, one file per table) and registers
each file as an external table `raw.<name>` in the Spark metastore, so `dbt build --target spark` reads the same
`source('raw', ...)` as the DuckDB build. The Spark session is configured as the dbt profile's `spark` target
(same warehouse dir and Derby metastore home, see `spark_conf`) and stopped afterwards: the embedded Derby
metastore takes one JVM at a time, and dbt starts its own.

Nothing on the DuckDB path imports this module. A later `phm refresh --engine spark` can call `export_raw` +
`register_raw` between the gate and dbt, or replace `export_raw` by an ingest that writes Parquet itself.

    python -m assets.spark_raw /path/to/.build/<run_id>/build.duckdb [--parquet-dir DIR]
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import yaml

from assets.paths import DBT_PROJECT_DIR, PROJECT_ROOT, resolve
from assets.sql_text import sql_string

RAW_SCHEMA = "raw"
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


def raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every table and view of the build file's raw schema (the feeds that passed the gate, and person_key)."""
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", [RAW_SCHEMA]
    ).fetchall()
    return [name for (name,) in rows]


def export_raw(build_db: Path, parquet_dir: Path) -> dict[str, Path]:
    """Copy each raw table of the build file to <parquet_dir>/<name>.parquet; return name -> file."""
    parquet_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    with duckdb.connect(str(build_db), read_only=True) as con:
        for name in raw_tables(con):
            target = parquet_dir / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM {RAW_SCHEMA}.{name}) TO {sql_string(target)} (FORMAT parquet)")
            files[name] = target
    if "person_key" not in files:
        raise ValueError(f"{build_db} has no raw.person_key: not a build file of a refresh that passed ingest")
    return files


def register_raw(spark: Any, files: dict[str, Path]) -> None:
    """Register each Parquet file as the external table raw.<name> (dropping only the table, never the file)."""
    spark.sql(f"CREATE DATABASE IF NOT EXISTS {RAW_SCHEMA}")
    for name, path in sorted(files.items()):
        spark.sql(f"DROP TABLE IF EXISTS {RAW_SCHEMA}.{name}")
        spark.sql(f"CREATE TABLE {RAW_SCHEMA}.{name} USING parquet LOCATION {sql_string(path.resolve())}")


def local_session(home: Path) -> Any:
    """A local Spark session with Hive metastore support, configured as the dbt profile's `spark` target."""
    from pyspark.sql import SparkSession  # only here: the DuckDB path never needs PySpark

    home.mkdir(parents=True, exist_ok=True)
    builder = SparkSession.builder.master("local[*]").appName("phm-raw").enableHiveSupport()
    for key, value in spark_conf(home).items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # Hive's "not Hive-compatible" warnings for Parquet data-source tables are expected here.
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_db", type=Path, help="a refresh's .build/<run_id>/build.duckdb")
    parser.add_argument("--parquet-dir", type=Path, help="where the raw Parquet files go (default <home>/raw)")
    args = parser.parse_args(argv)
    home = spark_home()
    parquet_dir = resolve(args.parquet_dir) if args.parquet_dir else home / "raw"
    files = export_raw(resolve(args.build_db), parquet_dir)
    spark = local_session(home)
    try:
        register_raw(spark, files)
        for name in sorted(files):
            count = spark.table(f"{RAW_SCHEMA}.{name}").count()
            print(f"{RAW_SCHEMA}.{name}: {count} rows")
    finally:
        spark.stop()


if __name__ == "__main__":
    main()

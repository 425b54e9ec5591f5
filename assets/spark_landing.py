"""Spark's tables into the build file (issue 19): after `dbt build --target spark`, the tables the refresh publishes
land in the build DuckDB file under the names the DuckDB build gives them, so gate 2, publish, the exports and every
reader work unchanged whichever engine built the marts.

Spark writes each table as Parquet files in its warehouse folder (`<warehouse>/<schema>.db/<table>/`); DuckDB reads
those files directly, so nothing passes through Python or the Spark driver. Which tables, and their names on each
engine, come from dbt's manifest: every seed and table model of the landed schemas. A table the manifest lists but
Spark did not write is an error naming it (the build did not finish), never a silently missing mart.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.engine_compare import table_key
from assets.spark_raw import spark_conf
from assets.sql_text import sql_string

# What the refresh reads after dbt: the published marts, reference (seeds) and identity, and the risk validation.
LANDED_SCHEMAS = ("marts", "reference", "restricted")
VALIDATION_SCHEMAS = ("validation",)
TABLE_MATERIALIZATIONS = ("table", "incremental", "seed")


@dataclass(frozen=True)
class LandedTable:
    schema: str
    name: str  # as the DuckDB build names it (the seed's own name, hyphens kept)
    location: Path  # Spark's folder of Parquet files


class SparkTableMissing(RuntimeError):
    pass


def tables_to_land(manifest_path: Path, spark_home: Path, schemas: Iterable[str]) -> list[LandedTable]:
    """Every seed and table model of `schemas` in dbt's manifest, with the folder Spark keeps its data in: the
    profile's warehouse folder for this Spark home, where Spark's metastore lowercases names and the seeds' hyphens
    become underscores (assets.engine_compare.table_key)."""
    warehouse_dir = Path(spark_conf(spark_home)["spark.sql.warehouse.dir"])
    wanted = set(schemas)
    nodes = json.loads(manifest_path.read_text())["nodes"].values()
    found = []
    for node in nodes:
        materialized = node.get("config", {}).get("materialized")
        if node["resource_type"] not in ("model", "seed") or materialized not in TABLE_MATERIALIZATIONS:
            continue
        if node["schema"] not in wanted or not node.get("config", {}).get("enabled", True):
            continue
        name = node.get("alias") or node["name"]
        spark_schema, spark_name = table_key(node["schema"], name).split(".", 1)
        found.append(LandedTable(node["schema"], name, warehouse_dir / f"{spark_schema}.db" / spark_name))
    return sorted(found, key=lambda t: (t.schema, t.name))


def land_tables(build_path: Path, tables: list[LandedTable]) -> dict[str, int]:
    """Each Spark table as a table of the build file (replacing any of that name); returns rows per table."""
    missing = [t for t in tables if not any(t.location.glob("*.parquet"))]
    if missing:
        names = ", ".join(f"{t.schema}.{t.name}" for t in missing[:5])
        raise SparkTableMissing(
            f"Spark wrote no data files for {len(missing)} table(s) dbt should have built ({names}) under "
            f"{missing[0].location.parent.parent}: the Spark build did not finish"
        )
    rows = {}
    with duckdb.connect(str(build_path)) as con:
        for t in tables:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{t.schema}"')
            files = sql_string(t.location / "*.parquet")
            con.execute(f'CREATE OR REPLACE TABLE "{t.schema}"."{t.name}" AS SELECT * FROM read_parquet({files})')
            (rows[f"{t.schema}.{t.name}"],) = con.execute(f'SELECT count(*) FROM "{t.schema}"."{t.name}"').fetchall()[0]
    return rows

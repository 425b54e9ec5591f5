"""Are the tables one dbt build made on Spark the same as the DuckDB build's (issue 19)?

Per table: the row count and an order-independent content digest, the sum (mod 2**64) of one hash per row, over
values normalised so that the engines' type choices do not count: dates and timestamps as ISO text, every number
as text of at most 9 significant digits (an integer 3, a bigint 3 and a double 3.0 all give "3"; 0.1 + 0.2 and 0.3
agree), booleans as true/false, and the row as its columns sorted by name. Equal digests mean the same multiset of
rows up to that normalisation.

    python -m assets.engine_compare /path/to/build.duckdb [--schemas marts restricted]

reads the DuckDB side from the build file and the Spark side from the local metastore (assets.spark_raw's session).
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from assets.paths import resolve

SIGNIFICANT_DIGITS = 9


@dataclass(frozen=True)
class TableDigest:
    rows: int
    digest: int
    columns: tuple[str, ...]


def normalise(value: Any) -> str | None:
    """One value as engine-neutral text (None stays None)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | decimal.Decimal):
        number = float(value)
        if number != number:  # NaN
            return "nan"
        text = f"{number:.{SIGNIFICANT_DIGITS}g}"
        return "0" if text == "-0" else text
    return str(value)


def digest_rows(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> TableDigest:
    names = [c.lower() for c in columns]
    order = sorted(range(len(names)), key=names.__getitem__)
    total = count = 0
    for row in rows:
        text = json.dumps([normalise(row[i]) for i in order], separators=(",", ":"))
        total = (total + int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")) % 2**64
        count += 1
    return TableDigest(count, total, tuple(names[i] for i in order))


def table_key(schema: str, name: str) -> str:
    """The table's name on both engines: Spark's metastore lowercases, and the codelist seeds' hyphens become
    underscores there (dbt_project/macros/engine/spark.sql)."""
    return f"{schema}.{name}".lower().replace("-", "_")


def duckdb_digests(build_db: Path, schemas: Sequence[str]) -> dict[str, TableDigest]:
    out: dict[str, TableDigest] = {}
    with duckdb.connect(str(build_db), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN "
            f"({', '.join('?' for _ in schemas)}) ORDER BY 1, 2",
            list(schemas),
        ).fetchall()
        for schema, name in tables:
            cursor = con.execute(f'SELECT * FROM "{schema}"."{name}"')
            columns = [d[0] for d in cursor.description]
            out[table_key(schema, name)] = digest_rows(columns, cursor.fetchall())
    return out


def spark_digests(spark: Any, schemas: Sequence[str]) -> dict[str, TableDigest]:
    out: dict[str, TableDigest] = {}
    for schema in schemas:
        if not spark.catalog.databaseExists(schema):
            continue
        for table in spark.catalog.listTables(schema):
            frame = spark.table(f"{schema}.{table.name}")
            out[table_key(schema, table.name)] = digest_rows(frame.columns, frame.toLocalIterator())
    return out


def compare(duck: dict[str, TableDigest], spark: dict[str, TableDigest]) -> list[tuple[str, str, str]]:
    """(table, verdict, detail) for every table on either side."""
    report = []
    for name in sorted(set(duck) | set(spark)):
        d, s = duck.get(name), spark.get(name)
        if d is None or s is None:
            report.append((name, "missing", "not on DuckDB" if d is None else "not on Spark"))
        elif d.columns != s.columns:
            report.append((name, "columns differ", f"{sorted(set(d.columns) ^ set(s.columns))}"))
        elif d.rows != s.rows:
            report.append((name, "rows differ", f"DuckDB {d.rows}, Spark {s.rows}"))
        elif d.digest != s.digest:
            report.append((name, "content differs", f"{d.rows} rows"))
        else:
            report.append((name, "equal", f"{d.rows} rows"))
    return report


def main(argv: Sequence[str] | None = None) -> None:
    from assets.spark_raw import metastore_session, spark_home

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_db", type=Path)
    parser.add_argument("--schemas", nargs="+", default=["marts", "restricted"])
    args = parser.parse_args(argv)
    duck = duckdb_digests(resolve(args.build_db), args.schemas)
    spark = metastore_session(spark_home())
    try:
        theirs = spark_digests(spark, args.schemas)
    finally:
        spark.stop()
    for name, verdict, detail in compare(duck, theirs):
        print(f"{name:55s} {verdict:16s} {detail}")


if __name__ == "__main__":
    main()

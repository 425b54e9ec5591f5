"""A pseudonymisation defect, one person keyed twice in raw.person_key, injected into either engine's person key.

Every feed is clean, so gate 1 passes; dbt's error-severity uniqueness test on raw.person_key then fails on the
engine that built it, and the refresh names it as BLOCKED_BY (tests/e2e/test_refresh_gates.py on DuckDB,
tests/e2e/test_spark_engine.py on Spark).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

import assets.spark_raw
import orchestration.assets

BLOCKED_BY = (
    "dbt test blocked table raw.person_key: test source_unique_raw_person_key_person_id column person_id "
    "(1 rows failing)"
)


def key_one_person_twice_on_duckdb(monkeypatch: pytest.MonkeyPatch) -> None:
    build_person_key = orchestration.assets.build_person_key

    def faulty(con, key, known=None):
        people = build_person_key(con, key, known)
        con.execute("INSERT INTO raw.person_key SELECT * FROM raw.person_key LIMIT 1")
        return people

    monkeypatch.setattr(orchestration.assets, "build_person_key", faulty)


def key_one_person_twice_on_spark(monkeypatch: pytest.MonkeyPatch) -> None:
    """After the Spark raw stage (a child process), one more data file in raw.person_key's folder repeats a row."""
    stage_raw_in_child = assets.spark_raw.stage_raw_in_child

    def faulty(build_db, home):
        people = stage_raw_in_child(build_db, home)
        table = Path(assets.spark_raw.spark_conf(home)["spark.sql.warehouse.dir"]) / "raw.db" / "person_key"
        first = sorted(table.glob("*.parquet"))[0]
        with duckdb.connect() as con:
            con.execute(f"COPY (SELECT * FROM '{first}' LIMIT 1) TO '{table / 'part-repeat.parquet'}'")
        return people

    monkeypatch.setattr(assets.spark_raw, "stage_raw_in_child", faulty)

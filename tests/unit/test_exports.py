"""Parquet exports: aggregates only by default, a data dictionary, and a switch readers never see half-done."""

from __future__ import annotations

import csv
import os

import duckdb
import pyarrow.parquet as pq
import pytest

from assets.exports import EXPORTS_LINK, export_tables
from assets.mart_contract import load_contract


@pytest.fixture
def warehouse(tmp_path):
    """A published warehouse holding every contract table (one row each) and the identity, which is never exported."""
    path = tmp_path / "warehouse" / "phm.duckdb"
    path.parent.mkdir()
    con = duckdb.connect(str(path))
    for table, spec in load_contract()["tables"].items():
        schema = table.split(".")[0]
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        con.execute(f"CREATE TABLE {table} AS SELECT " + ", ".join(f"'x' AS {c}" for c in spec["columns"]))
    con.execute("CREATE SCHEMA restricted")
    con.execute("CREATE TABLE restricted.person_identity AS SELECT 'p1' AS person_id, '9000000009' AS nhs_number")
    con.close()
    return path


def exported(folder):
    return sorted(p.name for p in folder.glob("*.parquet"))


def test_aggregates_only_by_default_with_a_dictionary(warehouse):
    folder = export_tables(warehouse, "run1")
    link = warehouse.parent / EXPORTS_LINK
    assert link.is_symlink() and link.resolve() == folder.resolve()
    aggregates = [t for t, s in load_contract()["tables"].items() if s["level"] == "aggregate"]
    names = exported(link)
    assert len(names) == len(aggregates) and "core20plus5_indicators.parquet" in names
    assert "target_lists.parquet" not in names and not any("identity" in n for n in names)
    assert pq.read_table(link / "core20plus5_indicators.parquet").num_rows == 1
    with open(link / "data_dictionary.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["file"] for r in rows} == set(names)
    described = [r for r in rows if r["table"] == "marts.core20plus5_indicators" and r["column"] == "indicator_id"]
    assert described and described[0]["description"]


def test_patient_level_marts_only_when_asked_and_never_the_identity(warehouse):
    names = exported(export_tables(warehouse, "run1", include_patient_level=True))
    assert "target_lists.parquet" in names and "person.parquet" in names
    assert not any("identity" in n for n in names)


def test_the_switch_keeps_the_last_good_export_until_the_next_one(warehouse):
    first = export_tables(warehouse, "run1")
    second = export_tables(warehouse, "run2")
    link = warehouse.parent / EXPORTS_LINK
    assert os.readlink(link) == second.name and first.exists()  # a reader still in run1's folder keeps its files
    export_tables(warehouse, "run3")
    assert not first.exists() and second.exists()


def test_a_failed_export_leaves_the_last_good_one_in_place(warehouse):
    export_tables(warehouse, "run1")
    con = duckdb.connect(str(warehouse))
    con.execute("DROP TABLE marts.bcf_metrics")
    con.close()
    with pytest.raises(duckdb.Error):
        export_tables(warehouse, "run2")
    link = warehouse.parent / EXPORTS_LINK
    assert os.readlink(link) == "exports-run1" and "bcf_metrics.parquet" in exported(link)

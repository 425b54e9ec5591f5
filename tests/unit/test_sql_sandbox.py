"""`phm sql` and every reader open the warehouse read-only AND sandboxed: each way out is refused."""

from __future__ import annotations

import duckdb
import pytest
from typer.testing import CliRunner

from phm.cli import app
from phm.warehouse import PublishedReader, open_reader


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "phm.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA restricted")
    con.execute("CREATE TABLE restricted.person_identity AS SELECT 'p1' AS person_id, '9000000009' AS nhs_number")
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.person AS SELECT 'p1' AS person_id, '[/]' AS odd_text")
    con.close()
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()
    return path


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (SELECT * FROM restricted.person_identity) TO '{tmp}/x.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "ATTACH '{tmp}/other.duckdb' AS other (READ_WRITE)",
        "ATTACH '{tmp}/other.duckdb' AS other (READ_ONLY)",
        "COPY (SELECT 1) TO '{tmp}/other.duckdb'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "CREATE TABLE marts.x AS SELECT 1",
    ],
)
@pytest.mark.parametrize("opened_by", ["open_reader", "a cursor of PublishedReader (the web page)"])
def test_every_way_out_is_refused(warehouse, tmp_path, statement, opened_by):
    shared = PublishedReader(warehouse)
    con = open_reader(warehouse) if opened_by == "open_reader" else shared.cursor()
    try:
        with pytest.raises(duckdb.Error):
            con.execute(statement.format(tmp=tmp_path)).fetchall()
    finally:
        con.close()
        shared.close()
    assert not (tmp_path / "x.csv").exists()
    check = duckdb.connect(str(tmp_path / "other.duckdb"), read_only=True)
    assert check.execute("SELECT x FROM t").fetchall() == [(1,)]
    check.close()


def test_queries_still_work_and_data_is_never_read_as_markup(warehouse):
    result = CliRunner().invoke(
        app, ["sql", "SELECT person_id, odd_text FROM marts.person", "--warehouse", str(warehouse)]
    )
    assert result.exit_code == 0, result.output
    assert "[/]" in result.output


def test_a_refused_statement_exits_non_zero(warehouse, tmp_path):
    result = CliRunner().invoke(app, ["sql", f"COPY (SELECT 1) TO '{tmp_path}/y.csv'", "--warehouse", str(warehouse)])
    assert result.exit_code == 1 and not (tmp_path / "y.csv").exists()


def test_refresh_never_generates_into_a_configured_landing_zone(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("PHM_LANDING_DIR", str(landing))
    result = CliRunner().invoke(
        app, ["refresh", "--warehouse", str(tmp_path / "wh" / "phm.duckdb"), "--extract-date", "2026-11-25"]
    )
    assert result.exit_code == 1 and "nothing to refresh" in result.output
    assert list(landing.iterdir()) == []

"""A feed whose file or shape breaks the contract fails ingest with the feed, the rule and the column named."""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.ingest import Drop, FeedError, load_feed
from contracts.extracts import load_contract
from tests.drops import minimal_rows, write_manifest

EXTRACT = date(2026, 11, 25)


def ingest(landing, feed_name):
    con = duckdb.connect()
    return load_feed(con, Drop.open(landing, EXTRACT), load_contract()[feed_name])


def rewrite(landing, feed_name, table_or_text, suffix="parquet", refresh_manifest=True):
    drop = landing / EXTRACT.isoformat()
    for old in drop.glob(f"{feed_name}.*"):
        old.unlink()
    path = drop / f"{feed_name}.{suffix}"
    if isinstance(table_or_text, pa.Table):
        pq.write_table(table_or_text, path)
    else:
        path.write_text(table_or_text)
    if refresh_manifest:
        write_manifest(drop, EXTRACT)
    return path


def events_table(**overrides):
    rows = minimal_rows(EXTRACT)["gp_events"]
    table = pa.Table.from_pylist(rows)
    for name, column in overrides.items():
        if column is None:
            table = table.drop_columns([name])
        else:
            idx = table.column_names.index(name) if name in table.column_names else None
            table = table.set_column(idx, name, column) if idx is not None else table.append_column(name, column)
    return table


def expect_failure(landing, feed_name, rule_id, column=None):
    with pytest.raises(FeedError) as info:
        ingest(landing, feed_name)
    err = info.value
    assert (err.feed, err.rule_id, err.column) == (feed_name, rule_id, column), str(err)
    assert feed_name in str(err) and rule_id in str(err)
    return err


def test_valid_feed_loads(make_drop):
    assert ingest(make_drop(), "gp_events") == 1


def test_missing_column(make_drop):
    landing = make_drop()
    rewrite(landing, "gp_events", events_table(unit=None))
    expect_failure(landing, "gp_events", "schema", "unit")


def test_extra_column(make_drop):
    landing = make_drop()
    rewrite(landing, "gp_events", events_table(free_text=pa.array(["x"])))
    expect_failure(landing, "gp_events", "schema", "free_text")


def test_mistyped_column_dates_in_a_numeric_column(make_drop):
    landing = make_drop()
    rewrite(landing, "gp_events", events_table(value=pa.array([date(2025, 1, 1)])))
    err = expect_failure(landing, "gp_events", "schema", "value")
    assert "DATE" in str(err) and "double" in str(err)


def test_truncated_parquet_fails_the_manifest_checksum(make_drop):
    landing = make_drop()
    path = landing / EXTRACT.isoformat() / "gp_events.parquet"
    path.write_bytes(path.read_bytes()[:-40])
    expect_failure(landing, "gp_events", "manifest_mismatch")


def test_unreadable_parquet(make_drop):
    landing = make_drop()
    rewrite(landing, "gp_events", "this is not parquet")
    expect_failure(landing, "gp_events", "unreadable")


def test_csv_with_wrong_delimiter(make_drop):
    landing = make_drop(fmt="csv")
    path = landing / EXTRACT.isoformat() / "gp_events.csv"
    rewrite(landing, "gp_events", path.read_text().replace(",", ";"), suffix="csv")
    expect_failure(landing, "gp_events", "schema", "nhs_number")


def test_csv_with_unparseable_date(make_drop):
    landing = make_drop(fmt="csv")
    path = landing / EXTRACT.isoformat() / "gp_events.csv"
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index('"event_date"') if '"event_date"' in header else header.index("event_date")] = "2025-13-45"
    rewrite(landing, "gp_events", "\n".join([lines[0], ",".join(cells)]) + "\n", suffix="csv")
    err = expect_failure(landing, "gp_events", "schema", "event_date")
    assert "2025-13-45" in str(err)


def test_csv_drop_loads_like_parquet(make_drop):
    landing = make_drop(fmt="csv")
    con = duckdb.connect()
    drop = Drop.open(landing, EXTRACT)
    for feed in load_contract().values():
        assert load_feed(con, drop, feed) == len(minimal_rows(EXTRACT)[feed.name])
    got = con.execute("SELECT type1_opt_out, ethnic_category FROM landing.gp_patients ORDER BY _row_number").fetchall()
    assert got == [(False, "A"), (True, None)]


def test_missing_feed(make_drop):
    landing = make_drop()
    (landing / EXTRACT.isoformat() / "asc_services.parquet").unlink()
    expect_failure(landing, "asc_services", "missing_feed")


def test_manifest_from_another_extract_date(make_drop):
    landing = make_drop()
    write_manifest(landing / EXTRACT.isoformat(), date(2026, 11, 24))
    with pytest.raises(FeedError) as info:
        Drop.open(landing, EXTRACT)
    assert info.value.rule_id == "manifest_mismatch" and "2026-11-24" in str(info.value)


@pytest.mark.parametrize("dropped", ["sha256", "rows"])
def test_a_manifest_without_its_checks_is_refused(make_drop, dropped):
    """Removing sha256 or rows from the manifest must not turn the checks off (a truncated feed would pass)."""
    import json

    landing = make_drop()
    manifest_path = landing / EXTRACT.isoformat() / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["feeds"]["gp_events"][dropped]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(FeedError) as raised:
        ingest(landing, "gp_events")
    assert raised.value.rule_id == "manifest_mismatch" and ("sha256" if dropped == "sha256" else "row count") in str(
        raised.value
    )


def test_a_csv_with_a_byte_order_mark_is_read(make_drop):
    landing = make_drop(fmt="csv")
    path = landing / EXTRACT.isoformat() / "gp_events.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    write_manifest(landing / EXTRACT.isoformat(), EXTRACT)
    assert ingest(landing, "gp_events") == 1


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_a_landing_path_with_quotes_is_data_not_sql(make_drop, tmp_path, monkeypatch, fmt):
    """Paths go into SQL text only through assets.sql_text.sql_string: a quote in a folder name reads as a quote,
    and a folder named like an injection runs nothing."""
    monkeypatch.chdir(tmp_path)  # where an injected relative COPY would write
    planted = tmp_path / "pwned.txt"
    landing = make_drop(fmt=fmt)
    odd = tmp_path / "O'Brien x'); COPY (SELECT 'pwned') TO 'pwned.txt'; --"
    landing.rename(odd)
    assert ingest(odd, "gp_events") == 1
    assert not planted.exists()

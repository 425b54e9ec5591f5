"""A feed whose file or shape breaks the contract fails ingest with the feed, the rule and the column named."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assets.ingest import Drop, FeedError, load_feed
from contracts.extracts import load_contract
from tests.helpers.drops import minimal_rows, write_manifest

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


def test_an_invalid_json_manifest_is_named_with_what_is_wrong(make_drop):
    landing = make_drop()
    (landing / EXTRACT.isoformat() / "manifest.json").write_text('{"extract_date": "2026-11-25",')
    with pytest.raises(FeedError) as info:
        Drop.open(landing, EXTRACT)
    assert info.value.rule_id == "unreadable" and "manifest.json" in str(info.value)
    assert "Expecting" in str(info.value)  # json's own account of where it broke, not only JSONDecodeError


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


def _csv_with_cell(landing, feed_name, column, value):
    """The feed as CSV with one cell of its first row replaced (the rest of the drop unchanged)."""
    path = landing / EXTRACT.isoformat() / f"{feed_name}.csv"
    lines = path.read_text().splitlines()
    header = [h.strip('"') for h in lines[0].split(",")]
    cells = next(csv.reader([lines[1]]))
    cells[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    rewrite(landing, feed_name, lines[0] + "\n" + out.getvalue() + "\n".join(lines[2:]), suffix="csv")


@pytest.mark.parametrize(
    ("feed_name", "column", "value"),
    [
        ("ecds_attendances", "acuity", "2.6"),  # DuckDB alone would store 3
        ("ecds_attendances", "acuity", "0x1F"),  # ... or 31
        ("ecds_attendances", "arrival_datetime", "2026-10-01 10:15:00Z"),  # ... or read UTC as local time
        ("ecds_attendances", "arrival_datetime", "2026-10-01T10:15:00+01:00"),
        ("gp_events", "value", "0x10"),
    ],
)
def test_csv_values_must_be_written_as_the_contract_says(make_drop, feed_name, column, value):
    landing = make_drop(fmt="csv")
    _csv_with_cell(landing, feed_name, column, value)
    err = expect_failure(landing, feed_name, "schema", column)
    assert repr(value) in str(err)


def test_csv_values_written_plainly_still_load(make_drop):
    landing = make_drop(fmt="csv")
    _csv_with_cell(landing, "ecds_attendances", "acuity", " 3 ")
    _csv_with_cell(landing, "ecds_attendances", "arrival_datetime", "2026-10-01T10:15:00")
    _csv_with_cell(landing, "gp_events", "value", "-1.5e2")
    assert ingest(landing, "ecds_attendances") == 1 and ingest(landing, "gp_events") == 1


def test_a_file_the_manifest_does_not_list_is_refused(make_drop):
    landing = make_drop()
    (landing / EXTRACT.isoformat() / "notes.txt").write_text("left over from another drop")
    with pytest.raises(FeedError, match=r"does not list: notes\.txt"):
        Drop.open(landing, EXTRACT)


def test_a_feed_in_two_formats_is_refused(make_drop):
    landing = make_drop()
    drop = landing / EXTRACT.isoformat()
    (drop / "gp_events.csv").write_text("nhs_number\n")
    write_manifest(drop, EXTRACT)  # the manifest names one of them: the other is unlisted
    with pytest.raises(FeedError, match=r"does not list: gp_events\.(csv|parquet)"):
        ingest(landing, "gp_events")
    # a manifest that names no files cannot settle it either
    manifest = json.loads((drop / "manifest.json").read_text())
    for entry in manifest["feeds"].values():
        entry.pop("file")
    (drop / "manifest.json").write_text(json.dumps(manifest))
    err = expect_failure(landing, "gp_events", "manifest_mismatch")
    assert "gp_events.parquet and gp_events.csv" in str(err)


def test_a_feed_linked_from_outside_the_drop_is_refused(make_drop, tmp_path):
    landing = make_drop()
    drop = landing / EXTRACT.isoformat()
    outside = tmp_path / "elsewhere.parquet"
    (drop / "gp_events.parquet").rename(outside)
    (drop / "gp_events.parquet").symlink_to(outside)
    write_manifest(drop, EXTRACT)  # the checksum matches: only where the file lives is wrong
    err = expect_failure(landing, "gp_events", "unreadable")
    assert "outside the drop folder" in str(err)

"""Property (issue 16): a valid drop damaged at random never gets through gate 1 unnamed.

Hypothesis picks a feed of a small clean generated drop and a damage: bytes truncated or flipped in transit (the
manifest as sent), or a bad extract that came with a manifest of its own (a column dropped, renamed or retyped,
dates after the extract date, end dates before start dates, rows sent twice, blank values in a required column),
at a size the thresholds forbid. Gate 1 must refuse that feed by name: ingest raises FeedError for it, or its
Great Expectations suite blocks. That a blocked gate publishes nothing and leaves the warehouse byte-identical,
and that the next clean refresh works, is shown end to end in tests/e2e (test_refresh_gates, test_recovery).
"""

from __future__ import annotations

import random
import shutil
from datetime import date, datetime, time, timedelta

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assets.gate import quarantine_feed, write_gate_reference
from assets.ingest import Drop, FeedError, load_feed
from contracts.extracts import load_contract
from expectations.rules import DATE_ORDER
from expectations.suites import validate_feed
from synthetic import generate_drop
from tests.helpers.drops import write_manifest

EXTRACT = date(2026, 10, 31)
SHARE = 0.2  # of a feed's rows damaged: far above every row rule's threshold (at most 5%, 25% for untraced ASC)
IN_TRANSIT = ("truncate_file", "flip_bytes")
IN_EXTRACT = ("drop_column", "rename_column", "retype_column", "future_dates", "swap_dates", "repeat_rows", "blank")


@pytest.fixture(scope="module")
def clean_drop(tmp_path_factory):
    landing = tmp_path_factory.mktemp("clean") / "landing"
    generate_drop(300, 5, EXTRACT, landing, defect_rate=0.0)
    return landing


def damaged_rows(n: int, rng: random.Random) -> list[int]:
    return sorted(rng.sample(range(n), max(1, round(SHARE * n))))


def with_column(table: pa.Table, name: str, values: list) -> pa.Table:
    index = table.column_names.index(name)
    return table.set_column(index, name, pa.array(values, type=table.schema.field(name).type))


def damage(table: pa.Table, feed_name: str, kind: str, rng: random.Random) -> pa.Table:
    feed = load_contract()[feed_name]
    column = rng.choice(feed.column_names)
    if kind == "drop_column":
        return table.drop_columns([column])
    if kind == "rename_column":
        return table.rename_columns([f"{c}_renamed" if c == column else c for c in table.column_names])
    if kind == "retype_column":  # text where the contract has another type, numbers where it has text
        values = table.column(column)
        retyped = (
            pc.cast(values, pa.string())
            if feed.column(column).type != "string"
            else pa.array([rng.random() for _ in range(len(table))])
        )
        return table.set_column(table.column_names.index(column), column, retyped)
    rows = damaged_rows(len(table), rng)
    if kind == "repeat_rows":
        return pa.concat_tables([table, table.take(rows)])
    if kind == "blank":
        column = rng.choice([c.name for c in feed.columns if not c.nullable])
        values = table.column(column).to_pylist()
        for i in rows:
            values[i] = None
        return with_column(table, column, values)
    if kind == "future_dates":
        column = rng.choice([c.name for c in feed.columns if c.type in ("date", "timestamp")])
        values = table.column(column).to_pylist()
        later = EXTRACT + timedelta(days=400)
        for i in rows:
            values[i] = later if feed.column(column).type == "date" else datetime.combine(later, time(9, 30))
        return with_column(table, column, values)
    if kind == "swap_dates":  # end and start exchanged where both are known
        pairs = {}
        for end, start in DATE_ORDER[feed_name]:
            ends, starts = table.column(end).to_pylist(), table.column(start).to_pylist()
            known = [i for i in range(len(table)) if None not in (ends[i], starts[i]) and ends[i] != starts[i]]
            if len(known) >= max(1, round(SHARE * len(table))):
                pairs[(end, start)] = (ends, starts, known)
        end, start = rng.choice(sorted(pairs))  # a pair with both dates in enough rows
        ends, starts, known = pairs[(end, start)]
        for i in rng.sample(known, max(1, round(SHARE * len(table)))):
            ends[i], starts[i] = starts[i], ends[i]
        return with_column(with_column(table, end, ends), start, starts)
    raise AssertionError(kind)


def feeds_for(kind: str) -> list[str]:
    feeds = sorted(load_contract())
    if kind == "swap_dates":
        return sorted(DATE_ORDER)
    return feeds


@st.composite
def damages(draw):
    kind = draw(st.sampled_from(IN_TRANSIT + IN_EXTRACT))
    feed_name = draw(st.sampled_from(feeds_for(kind)))
    return kind, feed_name, draw(st.integers(0, 2**32 - 1))


def gate1_refuses(landing, feed_name: str, previous_rows: int, database) -> bool:
    """Ingest, the quarantine pass and the feed's suite, as a refresh runs them; True when the feed is refused by
    name (a FeedError for it, or a blocking expectation of its suite)."""
    feed = load_contract()[feed_name]
    with duckdb.connect(str(database)) as con:
        write_gate_reference(con)
        try:
            load_feed(con, Drop.open(landing, EXTRACT), feed)
        except FeedError as e:
            return e.feed == feed_name
        quarantine_feed(con, feed, EXTRACT.isoformat())
    results = validate_feed(str(database), feed_name, EXTRACT.isoformat(), previous_rows)
    return any(r.blocks and r.feed == feed_name for r in results)


@settings(max_examples=12, deadline=None, database=None)
@given(damages())
def test_a_damaged_feed_never_passes_gate_1_unnamed(clean_drop, tmp_path_factory, damage_case):
    kind, feed_name, seed = damage_case
    rng = random.Random(seed)
    work = tmp_path_factory.mktemp("damaged")
    landing = work / "landing"
    shutil.copytree(clean_drop, landing)
    path = landing / EXTRACT.isoformat() / f"{feed_name}.parquet"
    previous_rows = pq.read_metadata(path).num_rows
    if kind == "truncate_file":
        data = path.read_bytes()
        path.write_bytes(data[: rng.randrange(len(data))])
    elif kind == "flip_bytes":
        data = bytearray(path.read_bytes())
        for i in rng.sample(range(len(data)), 3):
            data[i] ^= 0xFF
        path.write_bytes(bytes(data))
    else:
        pq.write_table(damage(pq.read_table(path), feed_name, kind, rng), path)
        write_manifest(landing / EXTRACT.isoformat(), EXTRACT)  # the extract's own manifest vouches for it
    assert gate1_refuses(landing, feed_name, previous_rows, work / "build.duckdb"), (kind, feed_name, seed)

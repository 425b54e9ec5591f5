"""End to end on a generated population: the gate catches every injected defect exactly as the drop's manifest
lists it, publishes the person spine, and blocks (leaving the warehouse byte-identical) a drop with a corrupted
feed: a wrong column, all NHS numbers invalid, or half the volume of the last refresh."""
from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from synthetic import generate_drop
from phm.refresh import run_refresh
from tests.drops import write_manifest

PATIENTS, SEED = 3000, 11
FIRST, SECOND = date(2026, 10, 31), date(2026, 11, 30)


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    root = tmp_path_factory.mktemp("generated")
    landing, warehouse = root / "landing", root / "warehouse" / "phm.duckdb"
    manifest = generate_drop(PATIENTS, SEED, FIRST, landing, defect_rate=0.002)
    outcome = run_refresh(landing, warehouse, FIRST, Console(quiet=True))
    assert outcome.published, outcome.failures
    return root, warehouse, manifest, outcome


def test_gate_quarantines_exactly_the_injected_defects(refreshed):
    _, warehouse, manifest, outcome = refreshed
    injected = [d for d in manifest["defects"] if d["rule_id"] != "unlinkable"]
    assert {d["rule_id"] for d in injected} >= {"nhs_number_invalid", "implausible_value", "future_date",
                                               "duplicate_key", "unknown_practice"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        caught = dict(((feed, rule), rows) for feed, rule, rows in con.execute(
            "SELECT feed, rule_id, sum(rows) FROM meta.quarantine_summary WHERE run_id = ? AND quarantined "
            "GROUP BY ALL", [outcome.run_id]).fetchall())
        unlinkable = dict(con.execute("SELECT feed, rows_unlinkable FROM meta.feed_counts WHERE run_id = ?",
                                      [outcome.run_id]).fetchall())
    expected = {}
    for d in injected:
        expected[(d["feed"], d["rule_id"])] = expected.get((d["feed"], d["rule_id"]), 0) + d["rows"]
    assert caught == expected
    for d in manifest["defects"]:
        if d["rule_id"] == "unlinkable":
            assert unlinkable[d["feed"]] == d["rows"], d


def test_published_person_spine_is_the_registered_population(refreshed):
    _, warehouse, _, _ = refreshed
    with duckdb.connect(str(warehouse), read_only=True) as con:
        people, places, neighbourhoods, core20 = con.execute(
            "SELECT count(*), count(DISTINCT place), count(DISTINCT neighbourhood), "
            "avg(CASE WHEN imd_decile <= 2 THEN 1.0 ELSE 0 END) FROM marts.person").fetchall()[0]
    assert 0.9 * PATIENTS <= people <= 1.1 * PATIENTS
    assert places == 2 and neighbourhoods >= 20
    assert 0.05 < core20 < 0.25  # C&P: Peterborough and Fenland carry most of the Core20 population


def corrupt_and_refresh(refreshed, tmp_path, corrupt):
    root, warehouse, _, _ = refreshed
    landing = tmp_path / "landing"
    generate_drop(PATIENTS, SEED, SECOND, landing, defect_rate=0.0)
    drop = landing / SECOND.isoformat()
    corrupt(drop)
    write_manifest(drop, SECOND)  # the corruption happened at source: the manifest vouches for the new bytes
    before = digest(warehouse)
    outcome = run_refresh(landing, warehouse, SECOND, Console(quiet=True))
    assert not outcome.published
    assert digest(warehouse) == before
    return outcome


def rewrite(drop, feed, transform):
    path = drop / f"{feed}.parquet"
    table = transform(pq.read_table(path))
    pq.write_table(table, path)


def test_wrong_column_blocks(refreshed, tmp_path):
    outcome = corrupt_and_refresh(refreshed, tmp_path, lambda drop: rewrite(
        drop, "ecds_attendances", lambda t: t.rename_columns(["arrival_time" if c == "arrival_datetime" else c
                                                              for c in t.column_names])))
    assert any("feed ecds_attendances" in r and "schema" in r and "arrival_datetime" in r for r in outcome.failures)


def test_all_nhs_numbers_invalid_blocks(refreshed, tmp_path):
    import pyarrow as pa
    import pyarrow.compute as pc

    def break_numbers(t):
        numbers = t.column("nhs_number").cast(pa.string())
        flipped = pc.binary_join_element_wise(pc.utf8_slice_codeunits(numbers, 0, 9), "X", "")
        return t.set_column(t.column_names.index("nhs_number"), "nhs_number", flipped)

    outcome = corrupt_and_refresh(refreshed, tmp_path, lambda drop: rewrite(drop, "gp_events", break_numbers))
    assert any("feed gp_events" in r and "nhs_number_invalid" in r for r in outcome.failures), outcome.failures


def test_half_the_volume_of_the_last_refresh_blocks(refreshed, tmp_path):
    outcome = corrupt_and_refresh(refreshed, tmp_path, lambda drop: rewrite(
        drop, "sus_op_appointments", lambda t: t.slice(0, len(t) // 2)))
    assert any("feed sus_op_appointments" in r and "volume_change" in r for r in outcome.failures), outcome.failures

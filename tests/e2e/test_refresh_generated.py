"""End to end on a generated population: the gate catches every injected defect exactly as the drop's manifest
lists it, publishes the person spine, and blocks (leaving the warehouse byte-identical) a drop with a corrupted
feed: a wrong column, all NHS numbers invalid, or half the volume of the last refresh."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from assets.mart_contract import load_contract
from phm.refresh import run_refresh
from synthetic import generate_drop
from tests.helpers.drops import digest, write_manifest
from tests.helpers.generated import PATIENTS, SEED

pytestmark = pytest.mark.slow  # end to end: a refresh of a generated or hand-made drop (still in make test)

SECOND = date(2026, 11, 30)  # a month after the shared drop (tests/helpers/generated.py)


@pytest.fixture(scope="module")
def refreshed(generated_refresh):
    """The session's generated drop and its published refresh (shared with the interface tests: read only)."""
    generated = generated_refresh
    return generated.landing.parent, generated.warehouse, generated.manifest, generated.outcome


def test_gate_quarantines_exactly_the_injected_defects(refreshed):
    _, warehouse, manifest, outcome = refreshed
    injected = [d for d in manifest["defects"] if d["rule_id"] != "unlinkable"]
    assert {d["rule_id"] for d in injected} >= {
        "nhs_number_invalid",
        "implausible_value",
        "future_date",
        "duplicate_key",
        "unknown_practice",
    }
    with duckdb.connect(str(warehouse), read_only=True) as con:
        caught = dict(
            ((feed, rule), rows)
            for feed, rule, rows in con.execute(
                "SELECT feed, rule_id, sum(rows) FROM meta.quarantine_summary WHERE run_id = ? AND quarantined "
                "GROUP BY ALL",
                [outcome.run_id],
            ).fetchall()
        )
        unlinkable = dict(
            con.execute(
                "SELECT feed, rows_unlinkable FROM meta.feed_counts WHERE run_id = ?", [outcome.run_id]
            ).fetchall()
        )
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
            "avg(CASE WHEN imd_decile <= 2 THEN 1.0 ELSE 0 END) FROM marts.person"
        ).fetchall()[0]
    assert 0.9 * PATIENTS <= people <= 1.1 * PATIENTS
    assert places == 2 and neighbourhoods >= 20
    assert 0.05 < core20 < 0.25  # C&P: Peterborough and Fenland carry most of the Core20 population


@pytest.fixture(scope="module")
def second_drop(tmp_path_factory):
    """The clean drop a month later, generated once (generate_drop is deterministic): each test copies it."""
    landing = tmp_path_factory.mktemp("second_drop") / "landing"
    generate_drop(PATIENTS, SEED, SECOND, landing, defect_rate=0.0)
    return landing


def copy_of(second_drop, tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(second_drop, landing)
    return landing


def corrupt_and_refresh(refreshed, second_drop, tmp_path, corrupt):
    _root, warehouse, _, _ = refreshed
    landing = copy_of(second_drop, tmp_path)
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


def test_wrong_column_blocks(refreshed, second_drop, tmp_path):
    outcome = corrupt_and_refresh(
        refreshed,
        second_drop,
        tmp_path,
        lambda drop: rewrite(
            drop,
            "ecds_attendances",
            lambda t: t.rename_columns(["arrival_time" if c == "arrival_datetime" else c for c in t.column_names]),
        ),
    )
    assert any("feed ecds_attendances" in r and "schema" in r and "arrival_datetime" in r for r in outcome.failures)


def test_all_nhs_numbers_invalid_blocks(refreshed, second_drop, tmp_path):
    import pyarrow as pa
    import pyarrow.compute as pc

    def break_numbers(t):
        numbers = t.column("nhs_number").cast(pa.string())
        flipped = pc.binary_join_element_wise(pc.utf8_slice_codeunits(numbers, 0, 9), "X", "")
        return t.set_column(t.column_names.index("nhs_number"), "nhs_number", flipped)

    outcome = corrupt_and_refresh(
        refreshed, second_drop, tmp_path, lambda drop: rewrite(drop, "gp_events", break_numbers)
    )
    assert any("feed gp_events" in r and "nhs_number_invalid" in r for r in outcome.failures), outcome.failures


def test_half_the_volume_of_the_last_refresh_blocks(refreshed, second_drop, tmp_path):
    outcome = corrupt_and_refresh(
        refreshed,
        second_drop,
        tmp_path,
        lambda drop: rewrite(drop, "sus_op_appointments", lambda t: t.slice(0, len(t) // 2)),
    )
    assert any("feed sus_op_appointments" in r and "volume_change" in r for r in outcome.failures), outcome.failures


def list_rows(warehouse) -> dict[tuple[str, str], dict]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute("SELECT * FROM marts.target_lists")
        names = [d[0] for d in cursor.description]
        return {
            (r["list_name"], r["person_id"]): r
            for r in (dict(zip(names, row, strict=False)) for row in cursor.fetchall())
        }


def test_first_refresh_marks_every_list_row_new_and_validates_the_risk_score(refreshed):
    _, warehouse, _, outcome = refreshed
    rows = list_rows(warehouse)
    assert rows and all(r["new_since_last_refresh"] for r in rows.values())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        validation = con.execute(
            "SELECT auc_risk_score, auc_age, auc_admitted_last_year, "
            "top5_admissions_share_risk_score, people_admitted FROM meta.risk_validation "
            "WHERE run_id = ?",
            [outcome.run_id],
        ).fetchall()
    assert len(validation) == 1
    auc, auc_age, auc_last_year, top5_share, admitted = validation[0]
    assert admitted > 0 and all(0.0 <= v <= 1.0 for v in (auc, auc_age, auc_last_year, top5_share))
    assert auc > 0.5  # history predicts the next year in the synthetic world; a score no better than chance is a bug


def test_second_refresh_marks_exactly_who_entered_and_counts_who_left(refreshed, second_drop, tmp_path):
    """A month later, over a copy of the first warehouse: new = not on that list last time; left = the reverse."""
    _, first_warehouse, _, _ = refreshed
    warehouse = tmp_path / "warehouse" / "phm.duckdb"
    warehouse.parent.mkdir(parents=True)
    warehouse.write_bytes(first_warehouse.read_bytes())
    outcome = run_refresh(copy_of(second_drop, tmp_path), warehouse, SECOND, Console(quiet=True))
    assert outcome.published, outcome.failures

    before, after = list_rows(first_warehouse), list_rows(warehouse)
    entered = set(after) - set(before)
    left = set(before) - set(after)
    assert entered and left and set(after) & set(before), "a month should move some people on and off lists"
    for key, row in after.items():
        assert row["new_since_last_refresh"] == (key in entered), key

    with duckdb.connect(str(warehouse), read_only=True) as con:
        summary = con.execute("""SELECT list_name, sum(list_size), sum(new_since_last), sum(left_since_last)
                                 FROM marts.target_list_summary GROUP BY list_name""").fetchall()
        previous_practice = {
            (list_name, p): (n, pr)
            for list_name, p, n, pr in con.execute(
                "SELECT list_name, person_id, neighbourhood, practice_code FROM marts.target_lists"
            ).fetchall()
        }
    assert previous_practice  # the published lists carry neighbourhood and practice for the next comparison
    lists = {name for name, _ in set(before) | set(after)}
    expected = {
        name: (
            sum(1 for k in after if k[0] == name),
            sum(1 for k in entered if k[0] == name),
            sum(1 for k in left if k[0] == name),
        )
        for name in lists
    }
    assert {name: (size, new, gone) for name, size, new, gone in summary} == expected
    # "left" is counted at the practice the person was listed under last time.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        left_by_practice = dict(
            ((list_name, p), n)
            for list_name, p, n in con.execute(
                "SELECT list_name, practice_code, sum(left_since_last) FROM marts.target_list_summary "
                "WHERE left_since_last > 0 GROUP BY ALL"
            ).fetchall()
        )
    counted: dict[tuple[str, str], int] = {}
    for name, person in left:
        key = (name, before[(name, person)]["practice_code"])
        counted[key] = counted.get(key, 0) + 1
    assert left_by_practice == counted


OLDEST_DUCKDB = "1.1.3"  # the oldest DuckDB the README promises can open the published warehouse
READ_EVERY_TABLE = """
import json, sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('marts', 'meta')").fetchall()
print(json.dumps({f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchall()[0][0] for s, t in tables}))
"""


def oldest_duckdb_python() -> Path:
    """A throwaway environment with the oldest promised DuckDB (kept under .cache/ between runs)."""
    venv = Path(__file__).resolve().parents[2] / ".cache" / f"duckdb-{OLDEST_DUCKDB}"
    python = venv / "bin" / "python"
    if not (venv / ".ready").exists():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"duckdb=={OLDEST_DUCKDB}"],
            check=True,
        )
        (venv / ".ready").touch()
    return python


def test_published_warehouse_opens_in_the_oldest_promised_duckdb(refreshed):
    _, warehouse, _, outcome = refreshed
    result = subprocess.run(
        [str(oldest_duckdb_python()), "-c", READ_EVERY_TABLE, str(warehouse)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    old_counts = json.loads(result.stdout)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        counts = {
            f"{s}.{t}": con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchall()[0][0]
            for s, t in con.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE schema_name IN ('marts', 'meta')"
            ).fetchall()
        }
        storage, contract = con.execute(
            "SELECT storage_version, contract_version FROM meta.refresh_log WHERE run_id = ?", [outcome.run_id]
        ).fetchall()[0]
    assert old_counts == counts and "marts.target_lists" in counts
    assert storage == "v1.1.0" and contract == load_contract()["version"]


def test_exports_hold_the_published_aggregates(refreshed):
    _, warehouse, _, outcome = refreshed
    exports = warehouse.parent / "exports"
    assert exports.is_symlink() and exports.resolve().name == f"exports-{outcome.run_id}"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        published = con.execute("SELECT count(*) FROM marts.core20plus5_indicators").fetchall()[0][0]
    assert pq.read_table(exports / "core20plus5_indicators.parquet").num_rows == published
    assert not (exports / "target_lists.parquet").exists()  # patient-level: only when configured

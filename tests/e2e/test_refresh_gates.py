"""End to end on a hand-made drop: a clean drop publishes; a drop breaking a gate publishes nothing and leaves
the last good warehouse byte-identical; the CLI exits non-zero naming the feed and the rule. The same holds for
a failing dbt error-severity test (named with its table); a failing gate-2 check is in tests/e2e/test_recovery.py,
which then finishes that refresh by re-executing it."""

from __future__ import annotations

import json
import stat

import duckdb
import pytest
from rich.console import Console
from typer.testing import CliRunner

from assets.paths import identity_path
from phm.cli import app
from phm.refresh import run_refresh
from phm.warehouse import open_reader
from tests.helpers.drops import digest, minimal_rows, write_manifest
from tests.helpers.hand_drop import EARLIER, FIRST, SECOND, add_drop
from tests.helpers.person_key_faults import BLOCKED_BY, key_one_person_twice_on_duckdb

pytestmark = pytest.mark.slow  # end to end: a refresh of a generated or hand-made drop (still in make test)


def blocked_cli_refresh(landing, warehouse) -> str:
    """`phm refresh` exits 1 and leaves the warehouse byte-identical; its output with rich's wrapping undone."""
    before = digest(warehouse)
    result = CliRunner().invoke(app, ["refresh", "--landing", str(landing), "--warehouse", str(warehouse)])
    assert result.exit_code == 1, result.output
    assert digest(warehouse) == before
    return " ".join(result.output.split())


@pytest.fixture
def published(hand_drop_refresh):
    """The session's refresh of the first hand-made drop (tests/conftest.py), as (root, landing, warehouse, outcome)."""
    r = hand_drop_refresh
    return r.root, r.landing, r.warehouse, r.outcome


def test_clean_drop_publishes_marts_and_a_refresh_log(published):
    _, _, warehouse, outcome = published
    assert outcome.published, outcome.failures
    with duckdb.connect(str(warehouse), read_only=True) as con:
        log = con.execute(
            "SELECT run_id, extract_date, rows_received, rows_quarantined, checks_failed, stage_timings "
            "FROM meta.refresh_log"
        ).fetchall()
        assert [(r[0], r[1], r[2], r[3], r[4]) for r in log] == [(outcome.run_id, FIRST, 12, 0, 0)]
        stages = {t["stage"].split(":")[0] for t in json.loads(log[0][5])}
        assert {"ingest", "gate1", "dbt_build", "publish"} <= stages
        assert con.execute("SELECT count(*) FROM marts.person").fetchall()[0][0] == 2
        schemas = {r[0] for r in con.execute("SELECT DISTINCT schema_name FROM duckdb_tables()").fetchall()}
        assert schemas >= {"marts", "meta", "reference"}
        assert not schemas & {
            "restricted",
            "raw",
            "landing",
            "quarantine",
            "gate_flags",
            "staging",
            "intermediate",
            "gate_ref",
        }
        # no NHS number in the warehouse analysts read
        assert con.execute("SELECT count(*) FROM duckdb_columns() WHERE column_name = 'nhs_number'").fetchall() == [
            (0,)
        ]
    # the NHS number is published only in the identity file beside it, readable by its owner only
    identity = identity_path(warehouse)
    assert stat.S_IMODE(identity.stat().st_mode) == 0o600
    assert stat.S_IMODE(warehouse.stat().st_mode) == 0o640
    with duckdb.connect(str(identity), read_only=True) as con:
        nhs_columns = con.execute(
            "SELECT schema_name, table_name FROM duckdb_columns() WHERE column_name = 'nhs_number'"
        ).fetchall()
        assert nhs_columns == [("restricted", "person_identity")]
        assert con.execute("SELECT run_id FROM restricted.identity_refresh").fetchall() == [(outcome.run_id,)]
        assert con.execute("SELECT count(*) FROM restricted.person_identity").fetchall() == [(2,)]
    # readers see it only when they ask for an identifiable export
    with open_reader(warehouse) as con:
        assert "identity" not in {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    with open_reader(warehouse, identity=True) as con:
        assert con.execute("SELECT count(*) FROM identity.restricted.person_identity").fetchall() == [(2,)]


@pytest.mark.parametrize(
    "breakage, feed, rule",
    [
        (
            {"gp_events": [{**minimal_rows(SECOND)["gp_events"][0], "nhs_number": "9434765918"}]},
            "gp_events",
            "nhs_number_invalid",
        ),
        ({"sus_apc_spells": [minimal_rows(SECOND)["sus_apc_spells"][0]] * 2}, "sus_apc_spells", "duplicate_key"),
        ({"gp_patients": []}, "gp_patients", "empty_feed"),
    ],
)
def test_blocked_refresh_leaves_the_warehouse_byte_identical(published, breakage, feed, rule, tmp_path):
    _root, _, warehouse, _ = published
    landing = tmp_path / "landing"
    add_drop(landing, SECOND, breakage)
    before = digest(warehouse)
    outcome = run_refresh(landing, warehouse, SECOND, Console(quiet=True))
    assert not outcome.published
    assert any(f"feed {feed}" in r and rule in r for r in outcome.failures), outcome.failures
    assert digest(warehouse) == before


def test_cli_exits_non_zero_naming_feed_and_rule(published, tmp_path):
    _, _, warehouse, _ = published
    landing = tmp_path / "landing"
    drop = add_drop(landing, SECOND)
    (drop / "gp_medications.parquet").write_bytes(b"PAR1 broken")
    write_manifest(drop, SECOND)
    assert "feed gp_medications: rule unreadable" in blocked_cli_refresh(landing, warehouse)


def test_sql_is_read_only(published):
    _, _, warehouse, _ = published
    runner = CliRunner()
    ok = runner.invoke(app, ["sql", "SELECT count(*) AS people FROM marts.person", "--warehouse", str(warehouse)])
    assert ok.exit_code == 0 and "2" in ok.output
    before = digest(warehouse)
    denied = runner.invoke(app, ["sql", "DELETE FROM marts.person", "--warehouse", str(warehouse)])
    assert denied.exit_code == 1 and "read-only" in denied.output.lower()
    assert digest(warehouse) == before


def test_point_in_time_rebuild_uses_the_reference_date(published):
    """--reference-date rebuilds the figures as they stood on an earlier date from the same drop (the module's
    refresh is one); a reference date after the drop's extract date is refused and changes nothing."""
    _, landing, warehouse, _ = published
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT extract_date, reference_date FROM meta.refresh_log").fetchall() == [(FIRST, EARLIER)]
        assert con.execute("SELECT DISTINCT reference_date FROM marts.person").fetchall() == [(EARLIER,)]
    before = digest(warehouse)
    future = CliRunner().invoke(
        app, ["refresh", "--landing", str(landing), "--warehouse", str(warehouse), "--reference-date", "2027-01-01"]
    )
    assert future.exit_code == 1 and "after the drop's extract date" in " ".join(future.output.split())
    assert digest(warehouse) == before


def test_a_failing_dbt_error_test_blocks_naming_the_test(published, tmp_path, monkeypatch):
    """A pseudonymisation defect (one person keyed twice) passes gate 1, since every feed is clean, and breaks
    the error-severity uniqueness test dbt runs on raw.person_key."""
    _, _, warehouse, _ = published
    key_one_person_twice_on_duckdb(monkeypatch)
    landing = tmp_path / "landing"
    add_drop(landing, SECOND)
    before = digest(warehouse)
    outcome = run_refresh(landing, warehouse, SECOND, Console(quiet=True))
    assert not outcome.published
    assert any(r.startswith(BLOCKED_BY) for r in outcome.failures), outcome.failures
    assert digest(warehouse) == before
    with duckdb.connect(str(outcome.build_file), read_only=True) as con:
        gates = dict(
            con.execute(
                """SELECT stage, count(*) FROM meta.check_results WHERE run_id = ? AND passed
                                    GROUP BY stage""",
                [outcome.run_id],
            ).fetchall()
        )
    assert gates.get("gate1") and gates.get("dbt")  # gate 1 passed; the tests before the failure are recorded

"""An incremental refresh publishes exactly what a full refresh publishes (issue 15).

Over two copies of the session's generated refresh (its warehouse folder, build file included), the same drop is
re-sent the same day with the A&E feed corrected (phm.bench.resend_drop: the attendances of its last seven days
withdrawn) and refreshed twice: incrementally (the default: the refresh starts from the published refresh's build
file, assets/incremental.py) and in full (PHM_INCREMENTAL=0). Every published table, and every table of the two
build files but the run's own meta rows, is identical in row count and an order-independent content hash. The
incremental refresh read only the re-sent feed, dbt rebuilt only what lies downstream of it, the kept tests carry
their earlier results, and the correction did reach the marts (so the comparison is not of two unchanged copies).
"""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest
from rich.console import Console

from assets.incremental import INCREMENTAL_VARIABLE
from contracts.extracts import load_contract
from phm.bench import RESENT_FEED, resend_drop
from phm.refresh import run_refresh
from tests.helpers.generated import EXTRACT_DATE

pytestmark = pytest.mark.slow  # two refreshes of the generated drop (still in make test)


def table_hashes(path, leave_out=("meta",)) -> dict[str, tuple[int, int]]:
    """Row count and an order-independent hash of every row, per table of a DuckDB file."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
        return {
            f"{schema}.{table}": tuple(
                con.execute(f'SELECT count(*), sum(hash(r)) FROM (SELECT * FROM "{schema}"."{table}") AS r').fetchall()[
                    0
                ]
            )
            for schema, table in tables
            if schema not in leave_out
        }


@pytest.fixture(scope="module")
def both_ways(generated_refresh, tmp_path_factory):
    root = tmp_path_factory.mktemp("incremental")
    landing = resend_drop(generated_refresh.landing / EXTRACT_DATE.isoformat(), root / "resent")
    outcomes = {}
    for mode in ("incremental", "full"):
        folder = root / mode
        # the published file, its identity file and the build folder (not the exports, which it switches by a link)
        shutil.copytree(generated_refresh.warehouse.parent, folder, ignore=shutil.ignore_patterns("exports*", "logs"))
        with pytest.MonkeyPatch.context() as env:
            if mode == "full":
                env.setenv(INCREMENTAL_VARIABLE, "0")
            outcome = run_refresh(landing, folder / generated_refresh.warehouse.name, EXTRACT_DATE, Console(quiet=True))
        assert outcome.published, outcome.failures
        outcomes[mode] = outcome
    return generated_refresh, outcomes


def test_incremental_and_full_refresh_publish_identical_tables(both_ways):
    _, outcomes = both_ways
    incremental, full = (table_hashes(outcomes[m].warehouse) for m in ("incremental", "full"))
    assert len(incremental) > 100 and "marts.person_risk" in incremental
    assert incremental == full
    # and build the same tables on the way: landed, quarantined, staged, intermediate, prior-year, marts
    incremental_build, full_build = (table_hashes(outcomes[m].build_file) for m in ("incremental", "full"))
    assert {"landing.gp_events", "intermediate.int_clinical__latest_values"} <= set(incremental_build)
    assert incremental_build == full_build


def test_the_incremental_refresh_reads_only_the_resent_feed_and_rebuilds_what_lies_downstream(both_ways):
    generated, outcomes = both_ways
    outcome = outcomes["incremental"]
    with duckdb.connect(str(outcome.build_file), read_only=True) as con:
        settings = dict(
            con.execute("SELECT setting, value FROM meta.run_settings WHERE run_id = ?", [outcome.run_id]).fetchall()
        )
    assert settings["incremental_base"] == generated.outcome.run_id
    assert set(json.loads(settings["kept_feeds"])) == set(load_contract()) - {RESENT_FEED}
    assert settings["person_key_changed"] == "False"
    with duckdb.connect(str(outcomes["full"].build_file), read_only=True) as con:
        assert con.execute(
            "SELECT value FROM meta.run_settings WHERE run_id = ? AND setting = 'full_refresh_reason'",
            [outcomes["full"].run_id],
        ).fetchall() == [(f"a full refresh was asked for (--full or {INCREMENTAL_VARIABLE}=0)",)]

    def built(mode: str) -> set[str]:
        results = outcomes[mode].build_file.with_name("build.dbt") / "build" / "run_results.json"
        return {r["unique_id"].split(".")[-1] for r in json.loads(results.read_text())["results"]}

    rebuilt, everything = built("incremental"), built("full")
    assert {"stg_ecds_attendances", "int_activity__utilisation_12m", "person_risk", "target_lists"} <= rebuilt
    assert not {"stg_gp_events", "int_clinical__latest_values", "person_registers", "indicator_definitions"} & rebuilt
    assert rebuilt < everything

    with duckdb.connect(str(outcome.warehouse), read_only=True) as con:
        dbt_tests = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE message LIKE 'kept from refresh %'), count(*) FILTER (WHERE NOT passed"
            " AND severity = 'block') FROM meta.check_results WHERE run_id = ? AND stage = 'dbt'",
            [outcome.run_id],
        ).fetchall()[0]
    with duckdb.connect(str(outcomes["full"].warehouse), read_only=True) as con:
        full_tests = con.execute(
            "SELECT count(*) FROM meta.check_results WHERE run_id = ? AND stage = 'dbt'", [outcomes["full"].run_id]
        ).fetchall()[0][0]
    total, carried, failed = dbt_tests
    assert total == full_tests and 0 < carried < total and failed == 0

    # The correction reached the marts: the withdrawn attendances change risk scores against the first refresh.
    before = table_hashes(generated.warehouse)
    after = table_hashes(outcome.warehouse)
    assert before["marts.person_risk"] != after["marts.person_risk"]
    assert before["marts.person_registers"] == after["marts.person_registers"]

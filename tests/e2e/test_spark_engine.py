"""One drop refreshed on DuckDB and on Spark (`phm refresh --engine spark`) publishes the same tables (issue 19).

The Spark refresh builds every dbt node on a local Spark session (metastore and warehouse folder in the run's build
folder) and lands the published schemas in the build file, so gate 2, publish and the exports are the same code on
both engines. Every published table is compared by row count and an engine-neutral content digest
(assets/engine_compare.py). The population is small: Spark's cost here is per dbt node, not per row.

Also: a gate-1 fault (NHS numbers failing the modulus-11 check in one feed) blocks both engines' refreshes naming
the same feed and rule; ingest and gate 1 run on Spark for the Spark engine (tests/e2e/test_spark_ingest.py compares
them feed by feed).
"""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import pytest
from rich.console import Console

from assets.engine_compare import compare, duckdb_digests, normalise
from assets.paths import identity_path
from orchestration.resources import ENGINES, RefreshSettings
from phm.refresh import run_refresh
from tests.helpers.drops import digest, write_manifest

pytestmark = [pytest.mark.slow, pytest.mark.spark]

PATIENTS, SEED, EXTRACT_DATE = 300, 19, date(2026, 10, 31)
NEXT_DATE = date(2026, 11, 30)


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """engine -> (landing, warehouse, outcome) of the same generated drop."""
    from synthetic import generate_drop

    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    for extract_date in (EXTRACT_DATE, NEXT_DATE):  # the next night's drop is for the fault test (broken in a copy)
        generate_drop(PATIENTS, SEED, extract_date, landing, defect_rate=0.001)
    out = {}
    for engine in ENGINES:
        warehouse = root / engine / "phm.duckdb"
        outcome = run_refresh(landing, warehouse, EXTRACT_DATE, Console(quiet=True), engine=engine)
        assert outcome.published, (engine, outcome.failures)
        out[engine] = (landing, warehouse, outcome)
    return out


def published_digests(warehouse):
    digests = duckdb_digests(warehouse, ["marts", "reference"])
    digests.update(duckdb_digests(identity_path(warehouse), ["restricted"]))
    del digests["restricted.identity_refresh"]  # the run id the identity file belongs to: one per refresh
    return digests


def test_every_published_table_is_identical_on_both_engines(refreshed):
    duck, spark = (published_digests(refreshed[engine][1]) for engine in ("duckdb", "spark"))
    assert len(duck) > 100 and {"marts.person", "marts.target_lists", "restricted.person_identity"} <= set(duck)
    report = compare(duck, spark)
    different = [row for row in report if row[1] != "equal"]
    assert not different, different
    with duckdb.connect(str(refreshed["spark"][1]), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM marts.person").fetchone()[0] > PATIENTS * 0.9


def test_every_published_column_has_the_same_type_and_place_on_both_engines(refreshed):
    """Readers see one schema whichever engine built it (the SQL casts where the engines' defaults differ)."""
    columns = {}
    for engine in ENGINES:
        with duckdb.connect(str(refreshed[engine][1]), read_only=True) as con:
            columns[engine] = con.execute(
                "SELECT table_schema, table_name, ordinal_position, column_name, data_type "
                "FROM information_schema.columns ORDER BY ALL"
            ).fetchall()
    assert len(columns["duckdb"]) > 500
    assert columns["spark"] == columns["duckdb"]


def test_the_risk_validation_is_the_same_on_both_engines(refreshed):
    columns = "auc_risk_score, auc_age, auc_admitted_last_year, top5_admissions_share_risk_score"
    values = {}
    for engine in ENGINES:
        with duckdb.connect(str(refreshed[engine][1]), read_only=True) as con:
            values[engine] = con.execute(f"SELECT {columns} FROM meta.risk_validation").fetchall()
    assert len(values["duckdb"]) == 1 and values["duckdb"][0][0] is not None
    # to engine_compare's 9 significant digits: the engines may sum doubles in another order
    assert [[normalise(v) for v in row] for row in values["spark"]] == [
        [normalise(v) for v in row] for row in values["duckdb"]
    ]


def test_the_spark_refresh_records_its_engine_and_keeps_spark_files_in_the_build_folder(refreshed):
    _, _, outcome = refreshed["spark"]
    with duckdb.connect(str(outcome.build_file), read_only=True) as con:
        assert con.execute(
            "SELECT value FROM meta.run_settings WHERE run_id = ? AND setting = 'engine'", [outcome.run_id]
        ).fetchall() == [("spark",)]
    spark_home = RefreshSettings(warehouse_path=str(refreshed["spark"][1])).spark_home(outcome.run_id)
    assert spark_home.parent == outcome.build_file.parent
    assert (spark_home / "warehouse" / "marts.db" / "person").is_dir()
    assert oct(outcome.build_file.parent.stat().st_mode & 0o777) == oct(0o700)  # raw Parquet holds NHS numbers


def break_nhs_numbers(drop_folder, share_in_20: int = 1) -> None:
    """About share_in_20 / 20 of gp_events' NHS numbers get a wrong check digit (modulus 11), chosen by a hash of the
    row, and the manifest vouches for the new file (the fault is in the data, not in transit)."""
    events = drop_folder / "gp_events.parquet"
    broken = drop_folder / "gp_events_broken.parquet"
    wrong_digit = "substr(nhs_number, 1, 9) || CAST((CAST(substr(nhs_number, 10, 1) AS INTEGER) + 1) % 10 AS VARCHAR)"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * REPLACE (CASE WHEN hash(nhs_number, snomed_code, event_date) % 20 < {share_in_20} "
            f"THEN {wrong_digit} ELSE nhs_number END AS nhs_number) FROM '{events}') TO '{broken}' (FORMAT parquet)"
        )
    broken.replace(events)
    write_manifest(drop_folder, date.fromisoformat(drop_folder.name))


def test_a_gate1_fault_blocks_both_engines_naming_the_same_feed_and_rule(refreshed, tmp_path):
    """The next night's drop with about 5% of gp_events' NHS numbers failing the modulus-11 check (a rule judged from
    the quarantine pass's flags: its SQL runs on each engine, translated for Spark): each engine's refresh publishes
    nothing, leaves its warehouse byte-identical, and names feed gp_events and rule nhs_number_invalid."""
    landing = tmp_path / "landing"
    source = refreshed["duckdb"][0] / NEXT_DATE.isoformat()
    shutil.copytree(source, landing / NEXT_DATE.isoformat())
    break_nhs_numbers(landing / NEXT_DATE.isoformat())
    named = {}
    for engine in ENGINES:
        warehouse = refreshed[engine][1]
        before = digest(warehouse)
        outcome = run_refresh(landing, warehouse, NEXT_DATE, Console(quiet=True), engine=engine)
        assert not outcome.published, engine
        assert digest(warehouse) == before, engine
        named[engine] = sorted(r for r in outcome.failures if "feed gp_events" in r and "nhs_number_invalid" in r)
        assert named[engine], (engine, outcome.failures)
    assert named["spark"] == named["duckdb"]

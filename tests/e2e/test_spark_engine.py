"""One drop refreshed on DuckDB and on Spark (`phm refresh --engine spark`) publishes the same tables (issue 19).

The Spark refresh builds every dbt node on a local Spark session (metastore and warehouse folder in the run's build
folder) and lands the published schemas in the build file, so gate 2, publish and the exports are the same code on
both engines. Every published table is compared by row count and an engine-neutral content digest
(assets/engine_compare.py). The population is small: Spark's cost here is per dbt node, not per row.

Also: a pseudonymisation defect (one person keyed twice by the engine's person key) blocks a Spark refresh naming
the same table and test as it does on DuckDB (tests/e2e/test_refresh_gates.py; tests/helpers/person_key_faults.py
injects it into either engine).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from rich.console import Console

from assets.engine_compare import compare, duckdb_digests, normalise
from assets.paths import identity_path
from orchestration.resources import ENGINES, RefreshSettings
from phm.refresh import run_refresh
from tests.helpers.drops import digest
from tests.helpers.person_key_faults import BLOCKED_BY, key_one_person_twice_on_spark

pytestmark = [pytest.mark.slow, pytest.mark.spark]

PATIENTS, SEED, EXTRACT_DATE = 300, 19, date(2026, 10, 31)
NEXT_DATE = date(2026, 11, 30)


@pytest.fixture(scope="module")
def refreshed(tmp_path_factory):
    """engine -> (landing, warehouse, outcome) of the same generated drop."""
    from synthetic import generate_drop

    root = tmp_path_factory.mktemp("engines")
    landing = root / "landing"
    for extract_date in (EXTRACT_DATE, NEXT_DATE):  # the next night's drop is for the fault test
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


def test_a_fault_blocks_on_spark_naming_the_same_table_and_test_as_on_duckdb(refreshed, monkeypatch):
    """A pseudonymisation defect passes gate 1 (every feed is clean) and fails dbt's error-severity uniqueness test
    on raw.person_key, run on Spark; the next night's refresh publishes nothing and names what the DuckDB refresh
    names for the same defect (tests/e2e/test_refresh_gates.py, the same helper and expected text)."""
    landing, warehouse, _ = refreshed["spark"]
    key_one_person_twice_on_spark(monkeypatch)
    before = digest(warehouse)
    outcome = run_refresh(landing, warehouse, NEXT_DATE, Console(quiet=True), engine="spark")
    assert not outcome.published
    assert any(r.startswith(BLOCKED_BY) for r in outcome.failures), outcome.failures
    assert digest(warehouse) == before

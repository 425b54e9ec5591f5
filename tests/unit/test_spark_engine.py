"""The Spark engine's pure parts (issue 19), without starting Spark: the raw export from a build file, and the
engine-neutral table digest that compares a Spark build with the DuckDB build."""

from __future__ import annotations

import datetime as dt
import decimal

import duckdb
import pytest
import yaml

from assets.engine_compare import compare, digest_rows, normalise, table_key
from assets.paths import DBT_PROJECT_DIR
from assets.spark_raw import export_raw, spark_conf


def test_values_are_normalised_so_the_engines_type_choices_do_not_count():
    assert normalise(3) == normalise(3.0) == normalise(decimal.Decimal("3.00")) == "3"
    assert normalise(0.1 + 0.2) == normalise(0.3)
    assert normalise(True) == "true" and normalise(None) is None
    assert normalise(dt.date(2026, 10, 31)) == "2026-10-31"
    assert normalise(-0.0) == "0"
    assert normalise(1.5) != normalise(1.6)


def test_the_digest_ignores_row_and_column_order_but_not_content_or_duplicates():
    rows = [(1, "a", dt.date(2026, 1, 1)), (2, "b", None)]
    first = digest_rows(["id", "name", "day"], rows)
    shuffled = digest_rows(["day", "id", "name"], [(r[2], r[0], r[1]) for r in reversed(rows)])
    assert first == shuffled
    assert digest_rows(["id", "name", "day"], [*rows, rows[0]]).digest != first.digest
    assert digest_rows(["id", "name", "day"], [(1, "a", dt.date(2026, 1, 2)), rows[1]]).digest != first.digest
    assert compare({"marts.t": first}, {"marts.t": shuffled}) == [("marts.t", "equal", "2 rows")]
    assert compare({"marts.t": first}, {})[0][1] == "missing"


def test_table_names_match_across_engines():
    assert table_key("reference", "user-markdrussell-COPD_admission") == "reference.user_markdrussell_copd_admission"


def test_the_raw_export_copies_every_raw_table_of_a_build_file(tmp_path):
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as con:
        con.execute("CREATE SCHEMA raw")
        con.execute("CREATE TABLE raw.person_key AS SELECT '9434765919' AS nhs_number, 'p1' AS person_id")
        con.execute("CREATE TABLE landing_rows AS SELECT * FROM range(5) t(i)")
        con.execute("CREATE VIEW raw.gp_events AS SELECT i, DATE '2026-01-01' + i::INT AS event_date FROM landing_rows")
    files = export_raw(build, tmp_path / "parquet")
    assert sorted(files) == ["gp_events", "person_key"]
    with duckdb.connect() as con:
        assert con.execute(f"SELECT count(*) FROM '{files['gp_events']}'").fetchone() == (5,)
        assert con.execute(f"SELECT typeof(event_date) FROM '{files['gp_events']}' LIMIT 1").fetchone() == ("DATE",)


def test_the_raw_export_refuses_a_file_without_the_person_key(tmp_path):
    build = tmp_path / "build.duckdb"
    with duckdb.connect(str(build)) as con:
        con.execute("CREATE SCHEMA raw")
    with pytest.raises(ValueError, match="person_key"):
        export_raw(build, tmp_path / "parquet")


def test_the_raw_session_is_configured_from_the_dbt_profile_alone(tmp_path, monkeypatch):
    monkeypatch.setenv("PHM_SPARK_HOME", "/elsewhere")  # the home given is the one used, whatever the environment
    conf = spark_conf(tmp_path)
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["phm"]["outputs"]["spark"]
    assert set(profile["server_side_parameters"]) <= set(conf)
    assert conf["spark.sql.warehouse.dir"] == f"{tmp_path}/warehouse"
    assert conf["spark.driver.extraJavaOptions"] == f"-Dderby.system.home={tmp_path}/derby"
    assert conf["spark.driver.memory"] == profile["server_side_parameters"]["spark.driver.memory"]
    assert not any("{{" in value for value in conf.values())

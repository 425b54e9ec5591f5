"""The Spark engine's pure parts (issue 19), without starting Spark: the raw export from a build file, the
engine-neutral table digest that compares a Spark build with the DuckDB build, the person key's padded keys, landing
Spark's tables in the build file, the sessions' settings, gate 1's rules in Spark SQL, and the engine setting."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json

import duckdb
import pytest
import yaml

from assets.engine_compare import compare, digest_rows, normalise, table_key
from assets.paths import DBT_PROJECT_DIR
from assets.pseudonym import hmac_sha256_pads, person_id
from assets.spark_ingest import ingest_conf, to_spark_sql
from assets.spark_landing import LandedTable, SparkTableMissing, land_tables, tables_to_land
from assets.spark_raw import export_raw, spark_conf
from orchestration.resources import RefreshSettings


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
    monkeypatch.delenv("PHM_SPARK_JAVA_OPTIONS", raising=False)
    conf = spark_conf(tmp_path)
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())["phm"]["outputs"]["spark"]
    assert set(profile["server_side_parameters"]) <= set(conf)
    assert conf["spark.sql.warehouse.dir"] == f"{tmp_path}/warehouse"
    assert conf["spark.driver.extraJavaOptions"].split() == [f"-Dderby.system.home={tmp_path}/derby"]
    assert conf["spark.driver.memory"] == profile["server_side_parameters"]["spark.driver.memory"]
    assert not any("{{" in value for value in conf.values())
    monkeypatch.delenv("PHM_SPARK_MASTER", raising=False)
    assert conf["spark.master"] == "local[*]"
    monkeypatch.setenv("PHM_SPARK_MASTER", "spark://cluster.example:7077")
    assert spark_conf(tmp_path)["spark.master"] == "spark://cluster.example:7077"
    ingest = ingest_conf(tmp_path)  # the ingest sessions: the same settings, their catalogue apart from the metastore
    assert ingest["spark.master"] == "spark://cluster.example:7077"
    assert ingest["spark.sql.warehouse.dir"] == f"{tmp_path}/ingest_catalogue"
    monkeypatch.setenv("PHM_SPARK_JAVA_OPTIONS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")
    assert spark_conf(tmp_path)["spark.driver.extraJavaOptions"].split() == [
        f"-Dderby.system.home={tmp_path}/derby",
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
    ]


def test_the_rule_registrys_duckdb_sql_becomes_spark_sql():
    """Gate 1 on Spark runs the registry's predicates (expectations/rules.py) translated by sqlglot, with DuckDB's
    regexp_full_match and isfinite stated in Spark's terms; casts, literals and backslashes as Spark reads them."""
    assert to_spark_sql("lsoa_code IS NOT NULL AND NOT regexp_full_match(lsoa_code, 'E01[0-9]{6}')") == (
        "NOT lsoa_code IS NULL AND NOT lsoa_code RLIKE '^(?:E01[0-9]{6})$'"
    )
    assert to_spark_sql("NOT isfinite(value)") == ("NOT NOT (ISNAN(value) OR ABS(value) = CAST('Infinity' AS DOUBLE))")
    assert to_spark_sql("TRY_CAST(x AS TIMESTAMP) IS NULL OR x > DATE '2026-11-30'") == (
        "TRY_CAST(x AS TIMESTAMP_NTZ) IS NULL OR x > CAST('2026-11-30' AS DATE)"
    )
    assert to_spark_sql(r"regexp_matches(x, '^\s*0[xX]')") == r"x RLIKE '^\\s*0[xX]'"
    with pytest.raises(ValueError, match="not a literal"):
        to_spark_sql("regexp_full_match(x, y)")


def test_the_padded_keys_give_the_same_person_id_as_hmac():
    """Spark's person key is sha256(outer || sha256(inner || nhs_number)) over these pads (assets/spark_raw.py)."""
    for key in (b"short", b"k" * 64, b"a much longer key than one sha-256 block of sixty-four bytes, hashed first"):
        inner, outer = hmac_sha256_pads(key)
        assert len(inner) == len(outer) == 64
        for number in ("9434765919", "4010232137"):
            by_pads = hashlib.sha256(outer + hashlib.sha256(inner + number.encode()).digest()).hexdigest()
            assert by_pads == person_id(number, key)


def write_manifest(path, nodes):
    path.write_text(json.dumps({"nodes": {n["unique_id"]: n for n in nodes}}))
    return path


def node(kind, name, schema, materialized):
    return {
        "unique_id": f"{kind}.phm.{name}",
        "resource_type": kind,
        "name": name,
        "alias": name,
        "schema": schema,
        "config": {"materialized": materialized, "enabled": True},
    }


def test_the_tables_to_land_are_the_manifests_tables_of_the_landed_schemas_under_sparks_names(tmp_path):
    manifest = write_manifest(
        tmp_path / "manifest.json",
        [
            node("model", "person", "marts", "table"),
            node("model", "stg_gp_events", "staging", "view"),
            node("model", "int_registers", "intermediate", "table"),
            node("seed", "user-markdrussell-COPD_admission", "reference", "seed"),
        ],
    )
    tables = tables_to_land(manifest, tmp_path / "spark", ["marts", "reference"])
    warehouse = tmp_path / "spark" / "warehouse"
    assert [(t.schema, t.name, t.location) for t in tables] == [
        ("marts", "person", warehouse / "marts.db" / "person"),
        (
            "reference",
            "user-markdrussell-COPD_admission",
            warehouse / "reference.db" / "user_markdrussell_copd_admission",
        ),
    ]


def test_landing_copies_sparks_parquet_and_refuses_a_table_spark_did_not_write(tmp_path):
    location = tmp_path / "warehouse" / "marts.db" / "person"
    location.mkdir(parents=True)
    with duckdb.connect() as con:
        for part in range(2):  # Spark writes one file per partition
            con.execute(f"COPY (SELECT {part} AS n, 'p{part}' AS person_id) TO '{location}/part-{part}.parquet'")
    build = tmp_path / "build.duckdb"
    person = LandedTable("marts", "person", location)
    assert land_tables(build, [person]) == {"marts.person": 2}
    with duckdb.connect(str(build), read_only=True) as con:
        assert con.execute("SELECT person_id FROM marts.person ORDER BY n").fetchall() == [("p0",), ("p1",)]
    unbuilt = LandedTable("marts", "pathway_status", tmp_path / "warehouse" / "marts.db" / "pathway_status")
    with pytest.raises(SparkTableMissing, match=r"marts\.pathway_status"):
        land_tables(build, [person, unbuilt])


def test_the_engine_is_a_setting_with_a_checked_value(monkeypatch):
    monkeypatch.delenv("PHM_ENGINE", raising=False)
    assert RefreshSettings().engine_or_default == "duckdb"
    monkeypatch.setenv("PHM_ENGINE", "spark")
    assert RefreshSettings().engine_or_default == "spark"
    assert RefreshSettings(engine="duckdb").engine_or_default == "duckdb"
    with pytest.raises(ValueError, match="PHM_ENGINE"):
        _ = RefreshSettings(engine="postgres").engine_or_default


def test_the_command_line_refuses_an_unknown_engine_before_any_work(tmp_path):
    from typer.testing import CliRunner

    from phm.cli import app

    landing = tmp_path / "landing"  # never read: the engine is checked first
    refused = CliRunner().invoke(app, ["refresh", "--landing", str(landing), "--engine", "postgres"])
    assert refused.exit_code == 2 and "--engine must be one of duckdb, spark" in refused.output
    bench = CliRunner().invoke(app, ["bench", "--sizes", "10", "--out", str(tmp_path), "--engines", "duckdb,oracle"])
    assert bench.exit_code == 2 and not (tmp_path / "bench.json").exists()

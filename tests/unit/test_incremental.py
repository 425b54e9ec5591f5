"""When a refresh may start from the last published one, which feeds it keeps, and what its dbt build leaves out
(assets/incremental.py). The whole incremental refresh against a full one: tests/e2e/test_incremental.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assets import dbt_results, incremental, pseudonym
from assets.run_meta import connect, create_meta
from contracts.extracts import load_contract
from orchestration.resources import RefreshSettings

RUN, BASE = "new-run", "published-run"
FEEDS = {
    "gp_events": {"file": "gp_events.parquet", "sha256": "a" * 64, "rows": 10},
    "ecds_attendances": {"file": "ecds_attendances.parquet", "sha256": "b" * 64, "rows": 5},
}


def published(tmp_path: Path, reference_date: str = "2026-10-31", engine: str = "duckdb", digest: str = "d1") -> dict:
    """A published warehouse (its refresh log) and the build file of the refresh it names."""
    warehouse = tmp_path / "phm.duckdb"
    with connect(warehouse) as con:
        create_meta(con)
        con.execute(
            "INSERT INTO meta.refresh_log (run_id, reference_date, published_at) VALUES (?, ?, now())",
            [BASE, reference_date],
        )
    build = tmp_path / ".build" / BASE / "build.duckdb"
    build.parent.mkdir(parents=True)
    with connect(build) as con:
        create_meta(con)
        con.execute(
            "INSERT INTO meta.run_context VALUES (?, ?, ?, ?, ?)",
            [BASE, "2026-10-31", reference_date, "drop", json.dumps({"feeds": FEEDS})],
        )
        con.executemany(
            "INSERT INTO meta.run_settings VALUES (?, ?, ?)",
            [[BASE, "engine", engine], [BASE, "pipeline_digest", digest]],
        )
        con.execute("INSERT INTO meta.run_settings VALUES ('older-run', 'engine', 'duckdb')")
    return {"warehouse": warehouse, "build_path_of": {BASE: build}}


def test_a_refresh_starts_from_the_published_one_only_when_nothing_but_the_drop_differs(tmp_path, monkeypatch):
    monkeypatch.delenv(incremental.INCREMENTAL_VARIABLE, raising=False)
    given = published(tmp_path)
    base, reason = incremental.find_base(**given, reference_date="2026-10-31", engine="duckdb", digest="d1")
    assert base is not None and base.run_id == BASE and base.feeds == FEEDS and reason == ""

    def why_not(**changes: str | bool) -> str:
        arguments = {"reference_date": "2026-10-31", "engine": "duckdb", "digest": "d1", **changes}
        found, reason = incremental.find_base(**given, **arguments)
        assert found is None
        return reason

    assert "reference date moved" in why_not(reference_date="2026-11-01")
    assert "pipeline" in why_not(digest="d2")
    assert "spark engine" in why_not(engine="spark")
    assert "full refresh was asked for" in why_not(allowed=False)
    monkeypatch.setenv(incremental.INCREMENTAL_VARIABLE, "0")
    assert not RefreshSettings().incremental_or_default and RefreshSettings(incremental=True).incremental_or_default
    monkeypatch.delenv(incremental.INCREMENTAL_VARIABLE)
    assert RefreshSettings().incremental_or_default
    reason = incremental.find_base(tmp_path / "none.duckdb", {}, "2026-10-31", "duckdb", "d1")[1]
    assert reason == "nothing is published yet"
    assert "is gone" in incremental.find_base(given["warehouse"], {}, "2026-10-31", "duckdb", "d1")[1]


def test_a_published_refresh_built_on_spark_is_not_a_base(tmp_path):
    given = published(tmp_path, engine="spark")
    assert (
        "another engine" in incremental.find_base(**given, reference_date="2026-10-31", engine="duckdb", digest="d1")[1]
    )


def test_a_feed_is_kept_only_with_the_same_file_bytes_rows_and_extract_date(tmp_path):
    given = published(tmp_path)
    base, _ = incremental.find_base(**given, reference_date="2026-10-31", engine="duckdb", digest="d1")
    assert base is not None
    resent = {**FEEDS, "ecds_attendances": {**FEEDS["ecds_attendances"], "sha256": "c" * 64}}
    with connect(base.build_path) as con:
        assert incremental.plan(con, RUN, base, "2026-10-31", resent) == ["gp_events"]
        assert incremental.kept_feeds(con, RUN) == {"gp_events"} and incremental.base_run(con, RUN) == BASE
        # what the file said of runs before the base is gone; the base's rows stay (its test results are carried)
        runs = {r for (r,) in con.execute("SELECT DISTINCT run_id FROM meta.run_settings").fetchall()}
        assert runs == {BASE, RUN}
        assert incremental.plan(con, "later-run", base, "2026-11-01", FEEDS) == []  # another extract date


def test_the_person_key_hashes_only_new_numbers_under_the_same_key_and_equals_a_full_build(tmp_path, monkeypatch):
    feeds = [f.name for f in load_contract().values() if "nhs_number" in f.column_names]
    hashed: list[str] = []
    hmac_of = pseudonym.person_id
    monkeypatch.setattr(pseudonym, "person_id", lambda n, key: hashed.append(n) or hmac_of(n, key))
    with connect(tmp_path / "build.duckdb") as con:
        create_meta(con)
        con.execute("INSERT INTO meta.run_settings VALUES (?, 'pseudonym_key', 'key A')", [BASE])
        con.execute("CREATE SCHEMA raw")
        for feed in feeds:
            con.execute(f"CREATE TABLE raw.{feed} (nhs_number VARCHAR)")
        con.execute(f"INSERT INTO raw.{feeds[0]} VALUES ('9000000009'), ('9000000017'), (NULL)")
        assert pseudonym.build_person_key(con, b"k") == 2
        full_before = con.execute("SELECT * FROM raw.person_key").fetchall()

        # the next refresh: one person gone, one new in another feed; the same key
        con.execute(f"DELETE FROM raw.{feeds[0]} WHERE nhs_number = '9000000009'")
        con.execute(f"INSERT INTO raw.{feeds[-1]} VALUES ('9000000025'), ('9000000017')")
        known = incremental.remember_person_key(con, BASE, "key A")
        hashed.clear()
        assert pseudonym.build_person_key(con, b"k", known) == 2
        assert hashed == ["9000000025"]
        incremental_key = con.execute("SELECT * FROM raw.person_key").fetchall()
        assert incremental.record_person_key_change(con, RUN)
        assert pseudonym.build_person_key(con, b"k") == 2  # in full
        assert incremental_key == con.execute("SELECT * FROM raw.person_key").fetchall() != full_before

        # nothing changed: no row differs; another key: nothing is reused
        assert incremental.remember_person_key(con, BASE, "key A") == incremental.KEPT_PERSON_KEY
        pseudonym.build_person_key(con, b"k", incremental.KEPT_PERSON_KEY)
        assert not incremental.record_person_key_change(con, "later-run")
        assert incremental.remember_person_key(con, BASE, "key B") is None
        pseudonym.build_person_key(con, b"other key")
        assert incremental.record_person_key_change(con, "run-with-another-key")


@pytest.fixture(scope="module")
def manifest() -> dict:
    return dbt_results.load_manifest()


def plan_for(tmp_path: Path, manifest: dict, kept: set[str], person_key_changed: bool) -> incremental.DbtPlan:
    tmp_path.mkdir(exist_ok=True)
    build = tmp_path / "build.duckdb"
    with connect(build) as con:
        create_meta(con)
        con.executemany(
            "INSERT INTO meta.run_settings VALUES (?, ?, ?)",
            [
                [RUN, "incremental_base", BASE],
                [RUN, "kept_feeds", json.dumps(sorted(kept))],
                [RUN, "person_key_changed", str(person_key_changed)],
            ],
        )
    plan = incremental.dbt_plan(build, RUN, manifest, dbt_results.NIGHTLY_BUILD_EXCLUDE)
    assert plan is not None
    return plan


def names(manifest: dict, unique_ids: set[str] | frozenset[str]) -> set[str]:
    nodes = {**manifest["nodes"], **manifest.get("unit_tests", {})}
    return {nodes[u]["name"] for u in unique_ids}


def test_dbt_keeps_what_lies_downstream_of_nothing_that_changed(tmp_path, manifest):
    feeds = {s["name"] for s in manifest["sources"].values() if s["source_name"] == "raw"} - {"person_key"}
    plan = plan_for(tmp_path, manifest, feeds - {"ecds_attendances"}, person_key_changed=False)
    kept = names(manifest, plan.kept)
    assert {"stg_gp_events", "int_clinical__latest_values", "person_registers", "indicator_definitions"} <= kept
    assert not {"stg_ecds_attendances", "int_activity__utilisation_12m", "person_risk", "target_lists"} & kept
    # a test with a rebuilt parent runs, even when its other parent is kept (a relationship to a kept model)
    relationship = next(
        n
        for n in manifest["nodes"].values()
        if n["name"].startswith("relationships_person_risk_person_id__person_id__ref_person_")
    )
    assert relationship["unique_id"] not in plan.kept
    assert f"fqn:{'.'.join(relationship['fqn'])}" not in plan.build_exclude.split()
    # the exclusions name nodes, never a folder: each names exactly one node
    assert len(plan.kept_exclude.split()) == len(plan.kept)


def test_nothing_changed_rebuilds_the_target_lists_only_and_a_new_person_key_rebuilds_everything(tmp_path, manifest):
    feeds = {s["name"] for s in manifest["sources"].values() if s["source_name"] == "raw"} - {"person_key"}
    nightly = dbt_results.declared_tests(manifest)
    quiet = plan_for(tmp_path / "quiet", manifest, feeds, person_key_changed=False)
    models = {u for u, n in manifest["nodes"].items() if n["resource_type"] == "model"}
    assert names(manifest, models - quiet.kept) >= {"target_lists", "target_list_summary"}
    assert "person_risk" in names(manifest, quiet.kept)
    assert all(t.unique_id in quiet.kept for t in nightly if t.table.startswith("intermediate."))
    rekeyed = plan_for(tmp_path / "rekeyed", manifest, feeds, person_key_changed=True)
    assert "person_risk" not in names(manifest, rekeyed.kept)


def test_every_model_reading_the_previous_publication_is_tagged_so(manifest):
    readers = {
        n["name"] for n in manifest["nodes"].values() if "previous_target_list_members()" in n.get("raw_code", "")
    }
    tagged = {n["name"] for n in manifest["nodes"].values() if "previous_publication" in n.get("tags", [])}
    assert readers and readers <= tagged
